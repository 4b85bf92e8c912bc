//! The derivation tool: turns raw official statistics (default `../shared/data`) into the
//! compact tables of a locale pack in `datasets/<locale>/`, with a manifest that records each
//! raw input's publisher, vintage, licence and SHA-256 and the transform applied, so anyone
//! can rebuild and audit the tables. Raw files never enter the repository.

pub mod bands;
pub mod br;
pub mod india;
pub mod ipf;
pub mod jp;
pub mod sg;
pub mod us;
pub mod xlsx;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// One raw input, as the manifest records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceRecord {
    pub id: String,
    /// Path relative to the raw data directory.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    pub publisher: String,
    pub table: String,
    pub vintage: String,
    pub licence: String,
    /// Where the file was obtained (repository or package), from the raw data's MANIFEST.md.
    pub carrier: String,
}

/// One derived table, as the manifest records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableRecord {
    pub file: String,
    pub sources: Vec<String>,
    pub transform: String,
    pub rows: usize,
    pub sha256: String,
}

/// A locale pack's `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub locale: String,
    pub generated_by: String,
    pub sources: Vec<SourceRecord>,
    pub tables: Vec<TableRecord>,
    /// Modelling choices and known gaps, in words.
    pub choices: Vec<String>,
}

/// What a derivation wrote.
#[derive(Debug)]
pub struct DeriveReport {
    pub out_dir: PathBuf,
    pub tables: Vec<TableRecord>,
}

/// A locale's derivation: raw data directory, output directory.
type Derive = fn(&Path, &Path) -> Result<DeriveReport>;

/// The locales that have a derivation, each in its own module (`src/derive/<locale>/`).
const DERIVATIONS: &[(&str, Derive)] =
    &[("br", br::derive), ("in", india::derive), ("jp", jp::derive), ("sg", sg::derive), ("us", us::derive)];

/// Derives the pack of `locale` from `raw_dir` into `out_dir`.
pub fn derive(locale: &str, raw_dir: &Path, out_dir: &Path) -> Result<DeriveReport> {
    match DERIVATIONS.iter().find(|(name, _)| *name == locale) {
        Some((_, derive)) => derive(raw_dir, out_dir),
        None => Err(Error::UnknownLocale {
            locale: crate::error::shorten(locale, 40),
            available: DERIVATIONS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// Share of an open-ended oldest age group (`from`+) at each age `from..=to`: person-years of
/// a stationary population under Gompertz mortality q(x) = 0.066·e^{0.1(x−85)} (close to
/// recent US period life tables at these ages), for census tables without single years there.
pub fn old_age_shares(from: u32, to: u32) -> Vec<f64> {
    let mut alive = 1.0f64;
    let mut years = Vec::new();
    for x in from..=to {
        let q = (0.066 * (0.1 * (x as f64 - 85.0)).exp()).min(1.0);
        years.push(alive * (1.0 - q / 2.0));
        alive *= 1.0 - q;
    }
    let total: f64 = years.iter().sum();
    years.iter().map(|y| y / total).collect()
}

/// A number as statistics offices print it in CSV, thousands separators dropped; anything that
/// is not a number (a blank, SingStat's `-` for nil) reads as zero.
pub fn number(v: &str) -> f64 {
    v.replace(',', "").trim().parse().unwrap_or(0.0)
}

/// Each word capitalised, the rest lower case: a word starts at the beginning and after any of
/// `starts` ("AI LING" -> "Ai Ling" with a space; "BHILI/BHILODI" -> "Bhili/Bhilodi" with `/`).
pub fn capitalize_words(text: &str, starts: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut start = true;
    for c in text.chars() {
        if c.is_alphabetic() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = starts.contains(&c);
        }
    }
    out
}

/// "MCDONALD" -> "McDonald", "SMITH" -> "Smith".
pub fn proper_case(upper: &str) -> String {
    let lower = upper.to_lowercase();
    let mut chars = lower.chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
    out.push_str(chars.as_str());
    if out.len() > 2 && out.starts_with("Mc") {
        let (head, rest) = out.split_at(2);
        let mut r = rest.chars();
        let cap: String = r.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
        out = format!("{head}{cap}{}", r.as_str());
    }
    out
}

/// Result of checking one manifest source against the raw data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceCheck {
    Matches,
    Differs { found: String },
    Missing,
}

/// Raw sources found outside `../shared/data` and committed with a pack (small official
/// tables, with their provenance beside them) are named by this prefix, relative to the
/// repository.
pub const COMMITTED_SOURCES: &str = "datasets/";

/// Where a manifest source path lies: under the raw data directory, or in the repository for
/// sources committed with a pack.
pub fn source_path(raw_dir: &Path, path: &str) -> PathBuf {
    match path.starts_with(COMMITTED_SOURCES) {
        true => Path::new(env!("CARGO_MANIFEST_DIR")).join(path),
        false => raw_dir.join(path),
    }
}

/// Checks each manifest source's SHA-256 against the file under `raw_dir`.
pub fn verify_sources(manifest: &Manifest, raw_dir: &Path) -> Result<Vec<(String, SourceCheck)>> {
    let mut out = Vec::new();
    for s in &manifest.sources {
        let path = source_path(raw_dir, &s.path);
        let check = if path.exists() {
            let found = sha256_file(&path)?;
            if found == s.sha256 {
                SourceCheck::Matches
            } else {
                SourceCheck::Differs { found }
            }
        } else {
            SourceCheck::Missing
        };
        out.push((s.path.clone(), check));
    }
    Ok(out)
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// SHA-256 of bytes, hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A derivation error about one raw input.
pub(crate) fn derr(source: &str, reason: impl Into<String>) -> Error {
    Error::Derivation { source_file: source.into(), reason: reason.into() }
}

/// A raw input described as data: what the manifest says of it besides its hash and size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SourceSpec<'a> {
    pub id: &'a str,
    /// Path relative to the raw data directory (or, for a committed source, to the
    /// repository: see [`COMMITTED_SOURCES`]).
    pub path: &'a str,
    pub publisher: &'a str,
    pub table: &'a str,
    pub vintage: &'a str,
    pub licence: &'a str,
    /// Where the file was obtained (repository or package).
    pub carrier: &'a str,
}

impl SourceSpec<'_> {
    /// Hashes the file under `raw_dir` and fills the manifest record.
    pub fn record(&self, raw_dir: &Path) -> Result<SourceRecord> {
        let full = source_path(raw_dir, self.path);
        let meta = std::fs::metadata(&full).map_err(|e| Error::io(format!("raw input {}", full.display()), e))?;
        Ok(SourceRecord {
            id: self.id.into(),
            path: self.path.into(),
            sha256: sha256_file(&full)?,
            bytes: meta.len(),
            publisher: self.publisher.into(),
            table: self.table.into(),
            vintage: self.vintage.into(),
            licence: self.licence.into(),
            carrier: self.carrier.into(),
        })
    }
}

/// Writes a derived CSV table and returns its manifest record.
pub(crate) fn write_table(
    out_dir: &Path,
    file: &str,
    header: &[&str],
    rows: &[Vec<String>],
    sources: &[&str],
    transform: &str,
) -> Result<TableRecord> {
    // Fields are quoted only where CSV needs it (a comma, quote or line break: Brazilian
    // occupation titles have commas), so tables without such fields are plain.
    let field = |f: &str| match f.contains([',', '"', '\n', '\r']) {
        true => format!("\"{}\"", f.replace('"', "\"\"")),
        false => f.to_string(),
    };
    let line = |cells: &mut dyn Iterator<Item = &str>| cells.map(field).collect::<Vec<_>>().join(",");
    let mut text = line(&mut header.iter().copied());
    text.push('\n');
    for r in rows {
        text.push_str(&line(&mut r.iter().map(String::as_str)));
        text.push('\n');
    }
    let path = out_dir.join(file);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    }
    std::fs::write(&path, &text).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    Ok(TableRecord {
        file: file.into(),
        sources: sources.iter().map(|s| s.to_string()).collect(),
        transform: transform.into(),
        rows: rows.len(),
        sha256: sha256_bytes(text.as_bytes()),
    })
}

/// Writes `manifest.json`.
pub(crate) fn write_manifest(out_dir: &Path, manifest: &Manifest) -> Result<()> {
    let path = out_dir.join("manifest.json");
    let mut text = serde_json::to_string_pretty(manifest)
        .map_err(|e| Error::Derivation { source_file: "manifest.json".into(), reason: e.to_string() })?;
    text.push('\n');
    std::fs::write(&path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// Reads a CSV file (plain, gzip or xz) under the raw directory, or committed with a pack, as
/// rows of header → trimmed value (a BOM on the first header is dropped).
pub(crate) fn read_csv(raw_dir: &Path, path: &str) -> Result<Vec<HashMap<String, String>>> {
    let full = source_path(raw_dir, path);
    let file = std::fs::File::open(&full).map_err(|e| Error::io(format!("opening {}", full.display()), e))?;
    let reader: Box<dyn std::io::Read> = if path.ends_with(".gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else if path.ends_with(".xz") {
        Box::new(liblzma::read::XzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut reader = csv::Reader::from_reader(reader);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| derr(path, e.to_string()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| derr(path, e.to_string()))?;
        rows.push(headers.iter().cloned().zip(record.iter().map(|v| v.trim().to_string())).collect());
    }
    Ok(rows)
}

/// A named field of a row from [`read_csv`], or an error naming the file and column.
pub(crate) fn field<'a>(row: &'a HashMap<String, String>, name: &str, path: &str) -> Result<&'a str> {
    row.get(name).map(String::as_str).ok_or_else(|| derr(path, format!("no column `{name}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capitalize_words_starts_words_only_after_the_given_characters() {
        assert_eq!(capitalize_words("AI LING", &[' ']), "Ai Ling");
        assert_eq!(capitalize_words("D'SOUZA TZE-HOU", &[' ', '-', '\'']), "D'Souza Tze-Hou");
        assert_eq!(capitalize_words("KURUKH/ORAON (TRIBAL)", &['/', ' ', '(']), "Kurukh/Oraon (Tribal)");
        assert_eq!(capitalize_words("d'souza", &[' ']), "D'souza");
        assert_eq!(capitalize_words("2ND LANE", &[' ']), "2nd Lane");
    }
}
