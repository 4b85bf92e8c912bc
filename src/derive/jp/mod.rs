//! Derivation of the Japan pack (`jp`, alias `ja_JP`): population by prefecture × sex × single
//! year of age (Census 2020, 第2-1表), the fixed prefecture → 地方 → 東日本/西日本 mapping,
//! marital status by sex × age (Census 2020, 不詳補完値), surnames with estimated bearers and
//! given-name readings with their spellings. Every value is written in Japanese, as
//! Nemotron-Personas-Japan writes it. What no official table gives is written in the manifest's
//! choices, with the substitute used.
//!
//! [`derive`] runs the families in order, each writing its tables and choices: population
//! (`population`), marital status and children (`marital`), education (`education`), work status
//! with the industry, firm size and occupation built on it (`work`, `industry`, `firm`,
//! `occupation`), and names (`names`).

use std::path::Path;

use super::{derr, write_manifest, DeriveReport, Manifest, TableRecord};
use crate::error::{Error, Result};

mod education;
mod firm;
mod industry;
mod marital;
mod names;
mod occupation;
mod population;
mod work;

pub const MALE: &str = "男";
pub const FEMALE: &str = "女";
pub const SEXES: [&str; 2] = [MALE, FEMALE];
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

type Rows = Vec<Vec<String>>;

/// A number of a source table, thousands separators and spaces dropped.
fn num(path: &str, what: &str, value: &str) -> Result<f64> {
    let clean = value.trim().replace([',', ' '], "");
    clean.parse::<f64>().map_err(|_| derr(path, format!("{what}: `{value}` is not a number")))
}

/// Our sex label of an ILOSTAT sex code (`None` for any other code, such as the total).
fn ilo_sex(code: &str) -> Option<&'static str> {
    match code {
        "sex_m" => Some(MALE),
        "sex_f" => Some(FEMALE),
        _ => None,
    }
}

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
    let specs = [
        population::POPULATION,
        marital::MARITAL_TABLE,
        names::SURNAMES,
        names::GIVEN_MALE,
        names::GIVEN_FEMALE,
        names::GIVEN_ALL_MALE,
        names::GIVEN_ALL_FEMALE,
        names::WIKIDATA_BIRTHS,
        work::LABOUR,
        industry::INDUSTRY,
        work::ESS_BY_SEX,
        work::OLD_RATES,
        firm::STATUS,
        firm::SIZE,
        firm::NEMOTRON_TOKENS,
        education::WIC,
        education::PROGRESSION,
        education::MEXT_FIELDS,
        marital::CHILDLESS,
        marital::MARITAL_SERIES,
    ];
    let sources = specs.iter().map(|s| s.record(raw_dir)).collect::<Result<Vec<_>>>()?;

    let population = population::write(raw_dir, out_dir, &mut tables, &mut choices)?;
    marital::write(raw_dir, out_dir, &mut tables, &mut choices)?;
    education::write(raw_dir, out_dir, &mut tables, &mut choices)?;
    work::write(raw_dir, out_dir, &population, &mut tables, &mut choices)?;
    names::write(raw_dir, out_dir, &mut tables, &mut choices)?;

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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::marital::marital;
    use super::names::{by_cohort, cohort_ratios, given_names, NAME_COHORTS, SPELLINGS_PER_READING};
    use super::population::{population, POPULATION};
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

    /// The era of given names, from the committed Wikidata extract: 子 is in far more of the
    /// names of women born in the 1940s than of those born in the 2000s, so 恵子 weighs more in
    /// the 1940s cohort and 陽菜 in the 2000s one; the cohorts cover every age once.
    #[test]
    fn given_names_follow_their_birth_decade() {
        for age in MIN_AGE..=MAX_AGE {
            let n = NAME_COHORTS.iter().filter(|(_, lo, hi, _)| age >= *lo && age <= *hi).count();
            assert_eq!(n, 1, "age {age}");
        }
        let table = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/jp/last_name_model.csv");
        let text = std::fs::read_to_string(table).expect("surnames");
        let surnames: std::collections::HashSet<String> =
            text.lines().skip(1).filter_map(|l| l.split(',').nth(1)).map(String::from).collect();
        let ratios = cohort_ratios(Path::new("/nonexistent"), &surnames).expect("ratios");
        let ko = |cohort: &'static str| ratios[&(FEMALE.to_string(), cohort)][&'子'];
        assert!(ko("1940s") > 1.5, "{}", ko("1940s"));
        assert!(ko("2000s") < 0.5, "{}", ko("2000s"));
        let s = |v: [&str; 3]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let readings = vec![s([FEMALE, "けいこ", "1"]), s([FEMALE, "はるな", "1"])];
        let spellings = vec![
            [FEMALE, "けいこ", "恵子", "100"].map(String::from).to_vec(),
            [FEMALE, "はるな", "陽菜", "100"].map(String::from).to_vec(),
        ];
        let (by_reading, by_spelling) = by_cohort(&readings, &spellings, &ratios);
        assert_eq!(by_reading.len(), 2 * NAME_COHORTS.len());
        assert_eq!(by_spelling.len(), 2 * NAME_COHORTS.len());
        let weight = |rows: &Vec<Vec<String>>, cohort: &str, reading: &str| -> f64 {
            let row = rows.iter().find(|r| r[1] == cohort && r[2] == reading).expect("row");
            row.last().expect("weight").parse().expect("number")
        };
        assert!(weight(&by_reading, "1940s", "けいこ") > 3.0 * weight(&by_reading, "2000s", "けいこ"));
        assert!(weight(&by_reading, "2000s", "はるな") > weight(&by_reading, "1940s", "はるな"));
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
                "children_model.csv",
                "marital_status_model.csv",
                "education_model.csv",
                "work_status_model.csv",
                "industry_model.csv",
                "firm_size_model.csv",
                "occupation_model.csv",
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
