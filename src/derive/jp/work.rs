//! The Japan pack's work, industry, firm size, education and children tables: what
//! Nemotron-Personas-Japan folds into `occupation` ("卸売業，小売業 中小", "製造業 大手 経営",
//! "運輸業，郵便業 中堅 (現在は引退)", "学生") and `marital_status` ("既婚 (子供あり)"), built
//! from the official tables committed under `datasets/jp/sources/` and, where none exists, from
//! a declared substitute. Every step is written into the manifest's choices.

use std::collections::BTreeMap;
use std::path::Path;

use super::super::{derr, field, read_csv, SourceSpec};
use super::{AGE_BANDS, FEMALE, MALE, SEXES};
use crate::error::Result;

type Rows = Vec<Vec<String>>;

/// The year of the labour-force tables (the latest complete year of ILOSTAT's LFS series).
pub const LFS_YEAR: &str = "2024";
/// The latest year ILOSTAT has ISIC sections for Japan.
pub const INDUSTRY_YEAR: &str = "2022";

/// Work statuses, in the order of the tables.
pub const WORK_STATUSES: [&str; 6] = ["就業", "経営", "学生", "家事", "無職", "引退"];

/// ILOSTAT's ISIC sections for Japan (its re-coding of the JSIC tabulation) → the JSIC 大分類
/// label used in `occupation`. A holds farming, forestry and fishing together (no table splits
/// them); D and E (energy, water, sewerage and waste) are JSIC's 電気・ガス・熱供給・水道業; R and S
/// (arts and recreation, personal services) its 生活関連サービス業，娯楽業; N and U (U, "extraterritorial",
/// holds over a million persons in ILOSTAT's Japan series, a re-coding artefact) its サービス業（他に分類
/// されないもの）. X (not classifiable) is left out and the rest renormalised.
pub const INDUSTRIES: [(&str, &str); 20] = [
    ("A", "農林漁業"),
    ("B", "鉱業，採石業，砂利採取業"),
    ("C", "製造業"),
    ("D", "電気・ガス・熱供給・水道業"),
    ("E", "電気・ガス・熱供給・水道業"),
    ("F", "建設業"),
    ("G", "卸売業，小売業"),
    ("H", "運輸業，郵便業"),
    ("I", "宿泊業，飲食サービス業"),
    ("J", "情報通信業"),
    ("K", "金融業，保険業"),
    ("L", "不動産業，物品賃貸業"),
    ("M", "学術研究，専門・技術サービス業"),
    ("N", "サービス業（他に分類されないもの）"),
    ("U", "サービス業（他に分類されないもの）"),
    ("O", "公務"),
    ("P", "教育，学習支援業"),
    ("Q", "医療，福祉"),
    ("R", "生活関連サービス業，娯楽業"),
    ("S", "生活関連サービス業，娯楽業"),
];

/// Industries whose persons carry no firm size (as in Nemotron-Personas-Japan: "地方公務員",
/// "農業"): the public service and farming, forestry and fishing.
pub const UNSIZED: [&str; 2] = ["公務", "農林漁業"];

pub const LABOUR: SourceSpec<'static> = SourceSpec {
    id: "ilostat_jpn_labour_status_sex_age5",
    path: "datasets/jp/sources/h3_ilostat_jpn_labour_status_by_sex_age5_2015_2025.csv",
    publisher: "ILO (ILOSTAT) from the Statistics Bureau of Japan's Labour Force Survey",
    table: "Employed, unemployed and outside the labour force by sex and 5-year age (EMP_TEMP_SEX_AGE_NB, \
            UNE_TUNE_SEX_AGE_NB, EIP_TEIP_SEX_AGE_NB), thousands",
    vintage: "LFS annual averages 2015-2025 (2024 used)",
    licence: "CC BY 4.0 (ILOSTAT)",
    carrier: "open-numbers/ddf--ilo--ilostat (see datasets/jp/sources/h3_PROVENANCE.md)",
};
pub const INDUSTRY: SourceSpec<'static> = SourceSpec {
    id: "ilostat_jpn_employment_sex_isic4",
    path: "datasets/jp/sources/h3_ilostat_jpn_employment_by_sex_isic4_2018_2025.csv",
    publisher: "ILO (ILOSTAT) from the Statistics Bureau of Japan's Labour Force Survey",
    table: "Employment by sex and economic activity, ISIC Rev.4 sections (EMP_TEMP_SEX_ECO_NB), thousands",
    vintage: "LFS annual averages 2018-2022 (2022 used)",
    licence: "CC BY 4.0 (ILOSTAT)",
    carrier: "open-numbers/ddf--ilo--ilostat (see datasets/jp/sources/h3_PROVENANCE.md)",
};
pub const ESS_BY_SEX: SourceSpec<'static> = SourceSpec {
    id: "ess2022_table1_work_status_by_sex",
    path: "datasets/jp/sources/ess_1956_2022_table1_population15plus_by_sex_work_status_national.csv",
    publisher: "総務省統計局, 就業構造基本調査 (Employment Status Survey)",
    table: "第1表 男女、就業状態別15歳以上人口 (有業者: 仕事が主・家事が主・通学が主…; 無業者: 家事・通学・その他)",
    vintage: "ESS 1956-2022 (2022 used)",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier: "see datasets/jp/sources/PROVENANCE.md §8.3",
};
pub const WIC: SourceSpec<'static> = SourceSpec {
    id: "wic2018_japan_education_sex_age5",
    path: "datasets/jp/sources/wic2018_v2_japan_education_by_sex_age5_1950_2020.csv",
    publisher: "Wittgenstein Centre for Demography and Global Human Capital (WIC 2018, v2)",
    table: "Population by sex, 5-year age and highest level of education (six ISCED-based levels), Japan",
    vintage: "2020 (reconstruction and SSP2 projection from the 2015 base)",
    licence: "CC BY 4.0",
    carrier: "see datasets/jp/sources/PROVENANCE.md §8.1",
};
pub const CHILDLESS: SourceSpec<'static> = SourceSpec {
    id: "childlessness_japan_anchors",
    path: "datasets/jp/sources/h2_childlessness_japan_published_anchors.csv",
    publisher: "IPSS National Fertility Surveys (via PLOS ONE 2022) and the OECD Family Database (SF2.5)",
    table: "Share with no children at completed fertility by sex and birth cohort (published anchors)",
    vintage: "cohorts 1935-1975",
    licence: "CC BY 4.0 (PLOS ONE); OECD terms (figures quoted)",
    carrier: "see datasets/jp/sources/h2_PROVENANCE.md",
};
pub const MARITAL_SERIES: SourceSpec<'static> = SourceSpec {
    id: "census_ts_marital_status_sex_age5",
    path: "datasets/jp/sources/census_ts_0003410382_marital_status_by_sex_age5_national_1920_2020.csv",
    publisher: "総務省統計局, e-Stat DB 0003410382 (国勢調査 時系列)",
    table: "配偶関係（4区分），年齢（5歳階級），男女別15歳以上人口 － 全国, 1920-2020",
    vintage: "Censuses 1920-2020",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier: "see datasets/jp/sources/PROVENANCE.md §1",
};

fn num(path: &str, what: &str, value: &str) -> Result<f64> {
    let clean = value.trim().replace([',', ' '], "");
    clean.parse::<f64>().map_err(|_| derr(path, format!("{what}: `{value}` is not a number")))
}

fn ilo_sex(code: &str) -> Option<&'static str> {
    match code {
        "sex_m" => Some(MALE),
        "sex_f" => Some(FEMALE),
        _ => None,
    }
}

/// (employed, unemployed, outside) in thousands by (sex, ILOSTAT age group) for [`LFS_YEAR`].
pub fn labour_status(raw_dir: &Path) -> Result<BTreeMap<(&'static str, String), [f64; 3]>> {
    let path = LABOUR.path;
    let mut out: BTreeMap<(&'static str, String), [f64; 3]> = BTreeMap::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "year", path)? != LFS_YEAR {
            continue;
        }
        let Some(sex) = ilo_sex(field(&row, "sex", path)?) else { continue };
        let age = field(&row, "age_group", path)?;
        if age == "total" {
            continue;
        }
        let slot = match field(&row, "status", path)? {
            "employed" => 0,
            "unemployed" => 1,
            "outside_labour_force" => 2,
            other => return Err(derr(path, format!("unknown status `{other}`"))),
        };
        out.entry((sex, age.to_string())).or_default()[slot] =
            num(path, "value_thousands", field(&row, "value_thousands", path)?)?;
    }
    for sex in SEXES {
        for age in ["15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54", "55-59", "60-64", "65+"] {
            match out.get(&(sex, age.to_string())) {
                Some(v) if v.iter().all(|x| *x >= 0.0) && v[0] > 0.0 => {}
                _ => return Err(derr(path, format!("no {LFS_YEAR} figures for {sex} {age}"))),
            }
        }
    }
    Ok(out)
}

/// ESS 2022 table 1 by sex: (有業者 通学が主な者, 無業者 家事をしている者, 無業者 その他) in persons.
pub fn ess_by_sex(raw_dir: &Path) -> Result<BTreeMap<&'static str, [f64; 3]>> {
    let path = ESS_BY_SEX.path;
    let full = super::super::source_path(raw_dir, path);
    let bytes = std::fs::read(&full).map_err(|e| crate::error::Error::io(format!("reading {}", full.display()), e))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    // The 2022 rows of the absolute block, in order: total, male, female (the 男女 code 1, 2, 3).
    let mut found: BTreeMap<&'static str, [f64; 3]> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| derr(path, e.to_string()))?;
        let cells: Vec<&str> = record.iter().collect();
        if cells.len() < 25 || cells.get(12).map(|c| c.trim()) != Some("2022") || !cells[0].trim().starts_with("001") {
            continue;
        }
        let sex = match cells[5].trim() {
            "2" => MALE,
            "3" => FEMALE,
            _ => continue,
        };
        // Columns: 14 total, 15 有業者, 16 仕事が主, 17 仕事は従, 18 家事が主, 19 通学が主, 20 その他が主,
        // 21 無業者, 22 家事をしている者, 23 通学している者, 24 その他.
        let v = |i: usize| num(path, "ESS 2022 cell", cells[i]);
        let (total, working, not_working) = (v(14)?, v(15)?, v(21)?);
        if (working + not_working - total).abs() > 1000.0 {
            return Err(derr(path, format!("{sex} 2022: 有業者 + 無業者 ≠ 総数")));
        }
        found.insert(sex, [v(19)?, v(22)?, v(24)?]);
    }
    if found.len() != 2 {
        return Err(derr(path, "the 2022 rows for men and women were not found"));
    }
    Ok(found)
}

/// Employment in thousands by (sex, JSIC label) for [`INDUSTRY_YEAR`].
pub fn industry_by_sex(raw_dir: &Path) -> Result<BTreeMap<(&'static str, &'static str), f64>> {
    let path = INDUSTRY.path;
    let mut out: BTreeMap<(&'static str, &'static str), f64> = BTreeMap::new();
    let mut seen = 0;
    for row in read_csv(raw_dir, path)? {
        if field(&row, "year", path)? != INDUSTRY_YEAR || field(&row, "level", path)? != "isic4_section" {
            continue;
        }
        let Some(sex) = ilo_sex(field(&row, "sex", path)?) else { continue };
        let code = field(&row, "code", path)?;
        let value = num(path, "value_thousands", field(&row, "value_thousands", path)?)?;
        match INDUSTRIES.iter().find(|(c, _)| *c == code) {
            Some((_, label)) => {
                *out.entry((sex, label)).or_default() += value;
                seen += 1;
            }
            None if code == "X" || code == "total" => {}
            None => return Err(derr(path, format!("section `{code}` has no JSIC label in the mapping"))),
        }
    }
    if seen != INDUSTRIES.len() * 2 {
        return Err(derr(path, format!("expected every mapped section for both sexes in {INDUSTRY_YEAR}, got {seen}")));
    }
    Ok(out)
}

/// Bands of [`AGE_BANDS`] → the ILOSTAT age group whose rates they take.
pub fn lfs_group(band: &str) -> &'static str {
    match band {
        "18-19" => "15-19",
        "20-24" => "20-24",
        "25-29" => "25-29",
        "30-34" => "30-34",
        "35-39" => "35-39",
        "40-44" => "40-44",
        "45-49" => "45-49",
        "50-54" => "50-54",
        "55-59" => "55-59",
        "60-64" => "60-64",
        _ => "65+",
    }
}

/// The age bands of the education table: [`AGE_BANDS`] with 20-24 split at the age a four-year
/// degree is completed.
pub const EDUCATION_BANDS: [(&str, u32, u32); 16] = [
    ("18-19", 18, 19),
    ("20-21", 20, 21),
    ("22-24", 22, 24),
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
    ("85+", 85, super::MAX_AGE),
];

/// The education table: (sex, age band of [`EDUCATION_BANDS`], education_level, weight) from WIC 2020's six levels,
/// with tertiary split by `tertiary` (sex, age band) → shares of the tertiary labels.
pub fn education(raw_dir: &Path, tertiary: &dyn Fn(&str, &str) -> Vec<(&'static str, f64)>) -> Result<Rows> {
    let path = WIC.path;
    let mut cells: BTreeMap<(&'static str, String, String), f64> = BTreeMap::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "year", path)? != "2020" {
            continue;
        }
        let sex = match field(&row, "sex", path)? {
            "Male" => MALE,
            "Female" => FEMALE,
            _ => continue,
        };
        let age = field(&row, "age_group", path)?.to_string();
        let level = field(&row, "education", path)?.to_string();
        let v = num(path, "population_thousands", field(&row, "population_thousands", path)?)?;
        cells.insert((sex, age, level), v);
    }
    let get = |sex: &'static str, age: &str, level: &str| -> Result<f64> {
        cells
            .get(&(sex, age.to_string(), level.to_string()))
            .copied()
            .ok_or_else(|| derr(path, format!("no 2020 cell {sex} {age} {level}")))
    };
    let mut rows = Vec::new();
    for sex in SEXES {
        for (band, lo, hi) in EDUCATION_BANDS {
            // The WIC groups a band covers (85+ = 85-89 … 100+); 18-19 takes 20-24's rates with
            // tertiary moved to upper secondary (no one completes tertiary before 20), 20-21 and
            // 22-24 take 20-24's, with no university degree before 22.
            let groups: Vec<String> = match band {
                "18-19" | "20-21" | "22-24" => vec!["20-24".into()],
                "85+" => ["85-89", "90-94", "95-99", "100+"].iter().map(|s| s.to_string()).collect(),
                _ => vec![format!("{lo}-{hi}")],
            };
            let mut lower = 0.0;
            let mut upper = 0.0;
            let mut post = 0.0;
            for g in &groups {
                for level in ["No Education", "Incomplete Primary", "Primary", "Lower Secondary"] {
                    lower += get(sex, g, level)?;
                }
                upper += get(sex, g, "Upper Secondary")?;
                post += get(sex, g, "Post Secondary")?;
            }
            if band == "18-19" {
                upper += post;
                post = 0.0;
            }
            let scale = 1000.0;
            let tertiary_split = tertiary(sex, band);
            let tertiary_split: Vec<(&'static str, f64)> = if band == "20-21" {
                // A four-year degree takes until 22: at 20-21 only the short tertiary part stays.
                let short: f64 = tertiary_split.iter().filter(|(l, _)| *l == SHORT_TERTIARY).map(|(_, s)| s).sum();
                upper += post * (1.0 - short);
                vec![(SHORT_TERTIARY, short)]
            } else {
                tertiary_split
            };
            rows.push(vec![sex.into(), band.into(), "中学卒".into(), format!("{:.0}", lower * scale)]);
            rows.push(vec![sex.into(), band.into(), "高校卒".into(), format!("{:.0}", upper * scale)]);
            if post > 0.0 {
                for (label, share) in tertiary_split {
                    let w = post * scale * share;
                    if w > 0.0 {
                        rows.push(vec![sex.into(), band.into(), label.into(), format!("{w:.0}")]);
                    }
                }
            }
        }
    }
    Ok(rows)
}

/// Never-married share at 45-49 by (sex, census year) from the census time series.
pub fn never_married_45_49(raw_dir: &Path) -> Result<BTreeMap<(&'static str, u32), f64>> {
    let path = MARITAL_SERIES.path;
    let full = super::super::source_path(raw_dir, path);
    let text = std::fs::read_to_string(&full)
        .map_err(|e| crate::error::Error::io(format!("reading {}", full.display()), e))?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    // Persons of known status (the four statuses; 総数 may hold unknowns) and the never married.
    let mut known: BTreeMap<(&'static str, u32), f64> = BTreeMap::new();
    let mut never: BTreeMap<(&'static str, u32), f64> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| derr(path, e.to_string()))?;
        let c: Vec<&str> = record.iter().collect();
        // "1060","実数","110","男","<age code>","<age>","<marital code>","<marital>","<year code>","<year>","人","<value>"
        if c.len() < 12 || c[1] != "実数" || c[5] != "45〜49歳" {
            continue;
        }
        let sex = match c[3] {
            "男" => MALE,
            "女" => FEMALE,
            _ => continue,
        };
        // Plain census years only ("2015年"; the imputed series "2015年_不詳補完値" is left out).
        let Ok(year) = c[9].trim_end_matches('年').parse::<u32>() else { continue };
        let Ok(value) = c[11].replace(',', "").parse::<f64>() else { continue };
        match c[7] {
            "未婚" => {
                never.insert((sex, year), value);
                *known.entry((sex, year)).or_default() += value;
            }
            "有配偶" | "死別" | "離別" => *known.entry((sex, year)).or_default() += value,
            _ => {}
        }
    }
    let out: BTreeMap<(&'static str, u32), f64> =
        never.iter().filter_map(|(k, n)| known.get(k).filter(|t| **t > 0.0).map(|t| (*k, n / t))).collect();
    if out.is_empty() {
        return Err(derr(path, "no 45-49 rows with 総数 and 未婚"));
    }
    Ok(out)
}

/// Childlessness anchors from the research source (IPSS surveys): (sex, first birth year of
/// the cohort, last, share with no children).
pub fn childless_anchors(raw_dir: &Path) -> Result<Vec<(&'static str, u32, u32, f64)>> {
    let path = CHILDLESS.path;
    let mut out = Vec::new();
    for row in read_csv(raw_dir, path)? {
        if !field(&row, "quality", path)?.starts_with("research") {
            continue;
        }
        let sex = match field(&row, "sex", path)? {
            "男" => MALE,
            "女" => FEMALE,
            other => return Err(derr(path, format!("unknown sex `{other}`"))),
        };
        let cohort = field(&row, "birth_cohort", path)?;
        let (a, b) = cohort.split_once('-').ok_or_else(|| derr(path, format!("cohort `{cohort}`")))?;
        let a: u32 = a.parse().map_err(|_| derr(path, format!("cohort `{cohort}`")))?;
        let b: u32 = b.parse().map_err(|_| derr(path, format!("cohort `{cohort}`")))?;
        out.push((sex, a, b, num(path, "value_pct", field(&row, "value_pct", path)?)? / 100.0));
    }
    if out.len() != 4 {
        return Err(derr(path, format!("expected two cohorts per sex from the IPSS surveys, got {}", out.len())));
    }
    Ok(out)
}

/// Shares, summing to one, of `parts`.
fn normalise(parts: &[f64]) -> Vec<f64> {
    let total: f64 = parts.iter().sum();
    parts.iter().map(|p| if total > 0.0 { p / total } else { 0.0 }).collect()
}

/// What the work tables need beyond the labour-force status: the shares no single official
/// table gives, each from its declared source.
pub struct WorkInputs {
    /// Share of the employed who run a business (経営), by sex.
    pub executive: BTreeMap<&'static str, f64>,
    /// Share of the employed in small workplaces (中小), by sex.
    pub small: BTreeMap<&'static str, f64>,
    /// Share of 大手 among the not-small (大手 + 中堅).
    pub large_of_rest: f64,
    /// (employed, unemployed) shares by (sex, age band) for the bands past 65 ([`old_rates`]);
    /// `None`: the LFS's 65+ shares for every band past 65.
    pub old: Option<BTreeMap<(&'static str, &'static str), (f64, f64)>>,
}

/// The work-status table (sex, age_band, work_status, weight).
pub fn work_status_rows(
    labour: &BTreeMap<(&'static str, String), [f64; 3]>,
    ess: &BTreeMap<&'static str, [f64; 3]>,
    inputs: &WorkInputs,
    persons: &BTreeMap<(&'static str, &'static str), f64>,
) -> Result<Rows> {
    let path = LABOUR.path;
    let mut rows = Vec::new();
    for sex in SEXES {
        let [working_students, keeping_house, other] = ess[sex];
        // Of the young employed, the share mainly attending school (ESS 2022 通学が主な者 over the
        // LFS's employed 15-24).
        let young_employed = labour[&(sex, "15-19".to_string())][0] + labour[&(sex, "20-24".to_string())][0];
        let student_workers = (working_students / 1000.0 / young_employed).min(1.0);
        // Of the non-working who are not at school, the share keeping house.
        let house = keeping_house / (keeping_house + other);
        let executive =
            *inputs.executive.get(sex).ok_or_else(|| derr(path, format!("no executive share for {sex}")))?;
        for (band, lo, _) in AGE_BANDS {
            let group = lfs_group(band);
            let [mut employed, mut unemployed, mut outside] = labour[&(sex, group.to_string())];
            if let Some((rate, jobless)) = inputs.old.as_ref().and_then(|o| o.get(&(sex, band))) {
                // The band's own (employed, unemployed) shares, see [`old_rates`].
                let total = employed + unemployed + outside;
                employed = rate * total;
                unemployed = jobless * total;
                outside = (total - employed - unemployed).max(0.0);
            }
            let young = lo < 25;
            let students = if young { employed * student_workers + outside } else { 0.0 };
            let workers = if young { employed * (1.0 - student_workers) } else { employed };
            let (home, idle) = if young { (0.0, 0.0) } else { (outside * house, outside * (1.0 - house)) };
            // Men past 65 outside the labour force are retired: the ESS's 家事 share for men is
            // mostly retired men doing housework, which no table splits by age.
            let (home, retired, idle) = match (lo >= 60, sex == MALE && lo >= 65) {
                (true, true) => (0.0, home + idle, unemployed),
                (true, false) => (home, idle, unemployed),
                (false, _) => (home, 0.0, idle + unemployed),
            };
            let cells = [
                ("就業", workers * (1.0 - executive)),
                ("経営", workers * executive),
                ("学生", students),
                ("家事", home),
                ("無職", idle),
                ("引退", retired),
            ];
            // Weights are the band's census persons in these shares (the LFS group may span
            // several bands), so the table is also the joint distribution the report compares.
            let sum: f64 = cells.iter().map(|(_, w)| w).sum();
            let people = persons.get(&(sex, band)).copied().unwrap_or(0.0);
            for (status, w) in cells {
                if w > 0.0 && sum > 0.0 {
                    rows.push(vec![sex.into(), band.into(), status.into(), format!("{:.0}", w / sum * people)]);
                }
            }
        }
    }
    Ok(rows)
}

/// The industry table (work_status, sex, industry, weight): the employed's industries by sex
/// for every status but 学生 (none); 経営 never in the public service.
pub fn industry_rows(by_sex: &BTreeMap<(&'static str, &'static str), f64>) -> Rows {
    let mut rows = Vec::new();
    for status in WORK_STATUSES {
        for sex in SEXES {
            if status == "学生" {
                rows.push(vec![status.into(), sex.into(), String::new(), "1".into()]);
                continue;
            }
            for ((s, label), w) in by_sex {
                if *s != sex || (status == "経営" && *label == "公務") {
                    continue;
                }
                rows.push(vec![status.into(), sex.into(), label.to_string(), format!("{:.0}", w * 1000.0)]);
            }
        }
    }
    rows
}

/// The firm-size table (work_status, industry, sex, firm_size, weight).
pub fn firm_size_rows(inputs: &WorkInputs) -> Result<Rows> {
    let mut labels: Vec<&str> = INDUSTRIES.iter().map(|(_, l)| *l).collect();
    labels.sort_unstable();
    labels.dedup();
    let mut rows = Vec::new();
    for status in WORK_STATUSES {
        for sex in SEXES {
            if status == "学生" {
                rows.push(vec![status.into(), String::new(), sex.into(), String::new(), "1".into()]);
                continue;
            }
            let small =
                *inputs.small.get(sex).ok_or_else(|| derr(LABOUR.path, format!("no small-firm share for {sex}")))?;
            let shares =
                normalise(&[small, (1.0 - small) * (1.0 - inputs.large_of_rest), (1.0 - small) * inputs.large_of_rest]);
            for label in &labels {
                if UNSIZED.contains(label) {
                    rows.push(vec![status.into(), label.to_string(), sex.into(), String::new(), "1".into()]);
                    continue;
                }
                for (size, share) in ["中小", "中堅", "大手"].iter().zip(&shares) {
                    rows.push(vec![
                        status.into(),
                        label.to_string(),
                        sex.into(),
                        size.to_string(),
                        format!("{:.0}", share * 1e6),
                    ]);
                }
            }
        }
    }
    Ok(rows)
}

/// The occupation string of Nemotron-Personas-Japan for a status, industry and firm size.
pub fn occupation_of(status: &str, industry: &str, size: &str) -> String {
    if status == "学生" {
        return "学生".into();
    }
    let mut out = industry.to_string();
    if !size.is_empty() {
        out.push(' ');
        out.push_str(size);
    }
    match status {
        "経営" => out.push_str(" 経営"),
        "引退" => out.push_str(" (現在は引退)"),
        "家事" | "無職" => out.push_str(" (現在は離職)"),
        _ => {}
    }
    out
}

/// The deterministic occupation table (work_status, industry, firm_size, occupation, weight)
/// over every combination the firm-size table can produce.
pub fn occupation_rows(firm: &Rows) -> Rows {
    let mut seen = std::collections::BTreeSet::new();
    for r in firm {
        seen.insert((r[0].clone(), r[1].clone(), r[3].clone()));
    }
    seen.into_iter()
        .map(|(status, industry, size)| {
            let occ = occupation_of(&status, &industry, &size);
            vec![status, industry, size, occ, "1".into()]
        })
        .collect()
}

/// The children table (sex, age_band, marital, children, weight): never married persons have
/// none; of the ever married, the childless share of their birth cohort, from the IPSS anchors
/// net of the never married at 45-49 in the census nearest the cohort's late forties,
/// interpolated between the anchor cohorts by birth year and held outside them.
pub fn children_rows(
    anchors: &[(&'static str, u32, u32, f64)],
    never_married: &BTreeMap<(&'static str, u32), f64>,
) -> Result<(Rows, Vec<String>)> {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for sex in SEXES {
        let mut points: Vec<(f64, f64)> = Vec::new();
        for (s, a, b, childless) in anchors.iter().filter(|x| x.0 == sex) {
            let mid = (*a + *b) as f64 / 2.0;
            let census = ((mid + 47.0) / 5.0).round() as u32 * 5;
            let nm = *never_married
                .get(&(s, census))
                .ok_or_else(|| derr(MARITAL_SERIES.path, format!("no {census} never-married share for {s} 45-49")))?;
            let q = ((childless - nm) / (1.0 - nm)).clamp(0.0, 1.0);
            notes.push(format!(
                "{s} born {a}-{b}: {:.1} % childless, {:.1} % never married at 45-49 in {census} → {:.1} % of the ever married childless",
                childless * 100.0,
                nm * 100.0,
                q * 100.0
            ));
            points.push((mid, q));
        }
        points.sort_by(|x, y| x.0.total_cmp(&y.0));
        let [(x0, q0), (x1, q1)] = points.as_slice() else {
            return Err(derr(CHILDLESS.path, format!("expected two anchor cohorts for {sex}")));
        };
        for (band, lo, hi) in AGE_BANDS {
            let mid_age = if band == "85+" { 88.0 } else { (lo + hi) as f64 / 2.0 };
            let birth = 2020.0 - mid_age;
            let t = ((birth - x0) / (x1 - x0)).clamp(0.0, 1.0);
            let q = q0 + t * (q1 - q0);
            for (marital, _) in super::MARITAL {
                let (none, some) = if marital == "未婚" { (1.0, 0.0) } else { (q, 1.0 - q) };
                for (flag, w) in [("なし", none), ("あり", some)] {
                    if w > 0.0 {
                        rows.push(vec![
                            sex.into(),
                            band.into(),
                            marital.into(),
                            flag.into(),
                            format!("{:.0}", w * 1e6),
                        ]);
                    }
                }
            }
        }
    }
    Ok((rows, notes))
}

/// The deterministic marital_status table (marital, children, marital_status, weight), as
/// Nemotron-Personas-Japan writes it: "既婚 (子供あり)", "未婚".
pub fn marital_status_rows() -> Rows {
    let mut rows = Vec::new();
    for (marital, _) in super::MARITAL {
        for flag in ["なし", "あり"] {
            if marital == "未婚" && flag == "あり" {
                continue;
            }
            let label = if flag == "あり" { format!("{marital} (子供あり)") } else { marital.to_string() };
            rows.push(vec![marital.into(), flag.into(), label, "1".into()]);
        }
    }
    rows
}

pub const MEXT_FIELDS: SourceSpec<'static> = SourceSpec {
    id: "mext_university_entrants_field_sex",
    path: "datasets/jp/sources/mext_school_basic_survey_university_entrants_by_field_sex_2023_2025.csv",
    publisher: "文部科学省, 学校基本調査 (School Basic Survey)",
    table: "関係学科別 大学入学状況: university entrants by field of study and sex",
    vintage: "FY2023-FY2025",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier: "see datasets/jp/sources/PROVENANCE.md §3",
};

/// The science-and-engineering (理系) share of university entrants by sex over FY2023-2025:
/// 理系 = 理学, 工学, 農学, 保健, 商船 and 教養課程（理科）; 文系 = 人文科学, 社会科学, 教育, 芸術,
/// 教養課程（文科）, 人文・社会科学 and 国際関係学; 家政 and the other その他 rows are left out
/// (ambiguous).
pub fn science_share(raw_dir: &Path) -> Result<BTreeMap<&'static str, f64>> {
    let path = MEXT_FIELDS.path;
    let mut sci: BTreeMap<&'static str, f64> = BTreeMap::new();
    let mut all: BTreeMap<&'static str, f64> = BTreeMap::new();
    for row in read_csv(raw_dir, path)? {
        let major = field(&row, "field_major", path)?;
        let minor = field(&row, "field_minor", path)?;
        let science = match (major, minor) {
            ("理学" | "工学" | "農学" | "保健" | "商船", _) | ("その他", "教養課程（理科）") => {
                true
            }
            ("人文科学" | "社会科学" | "教育" | "芸術", _) => false,
            ("その他", "教養課程（文科）" | "人文・社会科学" | "国際関係学（国際関係学部）") => {
                false
            }
            _ => continue,
        };
        for (sex, column) in [(MALE, "entrants_male"), (FEMALE, "entrants_female")] {
            let v = num(path, column, field(&row, column, path)?)?;
            *all.entry(sex).or_default() += v;
            if science {
                *sci.entry(sex).or_default() += v;
            }
        }
    }
    let out: BTreeMap<&'static str, f64> =
        all.iter().filter(|(_, t)| **t > 0.0).map(|(s, t)| (*s, sci.get(s).unwrap_or(&0.0) / t)).collect();
    if out.len() != 2 {
        return Err(derr(path, "no entrants for men and women"));
    }
    Ok(out)
}

pub const OLD_RATES: SourceSpec<'static> = SourceSpec {
    id: "lfs2023_employment_rate_65plus_by_age",
    path: "datasets/jp/sources/h5_lfs2023_employment_rate_65plus_by_age_published.csv",
    publisher: "総務省統計局, 労働力調査 (基本集計), as published in 統計からみた我が国の高齢者 (topics142)",
    table: "Employment rates 65+, 65-69, 70-74, 75+ (both sexes), 2023",
    vintage: "2023",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier: "https://www.stat.go.jp/data/topics/pdf/topics142.pdf (see datasets/jp/sources/h5_PROVENANCE.md)",
};

/// (employed, unemployed) shares of each band past 65 by sex: the 65+ rates of the LFS for the
/// sex, shaped across the bands by the published rates of 65-69, 70-74 and 75+ (both sexes),
/// scaled so the sex's 65+ employed total is kept with the census's persons per band.
pub fn old_rates(
    raw_dir: &Path,
    labour: &BTreeMap<(&'static str, String), [f64; 3]>,
    persons: &BTreeMap<(&'static str, &'static str), f64>,
) -> Result<BTreeMap<(&'static str, &'static str), (f64, f64)>> {
    let path = OLD_RATES.path;
    let mut profile: BTreeMap<String, f64> = BTreeMap::new();
    for row in read_csv(raw_dir, path)? {
        profile.insert(
            field(&row, "age_group", path)?.to_string(),
            num(path, "value_pct", field(&row, "value_pct", path)?)? / 100.0,
        );
    }
    let shape = |band: &str| -> Result<f64> {
        let group = match band {
            "65-69" => "65-69",
            "70-74" => "70-74",
            _ => "75+",
        };
        profile.get(group).copied().ok_or_else(|| derr(path, format!("no rate for {group}")))
    };
    let old_bands: Vec<&'static str> = AGE_BANDS.iter().filter(|(_, lo, _)| *lo >= 65).map(|(b, _, _)| *b).collect();
    let mut out = BTreeMap::new();
    for sex in SEXES {
        let [employed, unemployed, outside] = labour[&(sex, "65+".to_string())];
        let total = employed + unemployed + outside;
        let (rate, jobless) = (employed / total, unemployed / total);
        let mut people = 0.0;
        let mut shaped = 0.0;
        for band in &old_bands {
            let p = *persons.get(&(sex, *band)).ok_or_else(|| derr(path, format!("no persons for {sex} {band}")))?;
            people += p;
            shaped += p * shape(band)?;
        }
        let k = rate * people / shaped;
        for band in &old_bands {
            let r = (k * shape(band)?).min(0.95);
            // The unemployed (looking for work) in proportion to the employed.
            out.insert((sex, *band), (r, jobless * r / rate));
        }
    }
    Ok(out)
}

pub const PROGRESSION: SourceSpec<'static> = SourceSpec {
    id: "mext_progression_rates_sex_year",
    path: "datasets/jp/sources/h6_mext_progression_rates_by_sex_year.csv",
    publisher: "文部科学省, 学校基本調査 年次統計 (e-Stat 0003147040)",
    table: "総括表 進学率: 大学（学部）・短期大学（本科）進学率 by sex and year (過年度卒を含む)",
    vintage: "1954-2016",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier: "visualizing-jp/japan-data-education@2863a03d62be:public/data/gender.json (see datasets/jp/sources/h6_PROVENANCE.md)",
};

/// Education labels of the tertiary-educated: no table splits 短大 from 高専, nor 大学 from 大学院,
/// so each pair is one label.
pub const SHORT_TERTIARY: &str = "短大・高専卒";
pub const UNIVERSITY_ARTS: &str = "大学・大学院卒 文系";
pub const UNIVERSITY_SCIENCE: &str = "大学・大学院卒 理系";

/// The university share of (university + junior college) entrants by (sex, year the cohort
/// turned 18), from the progression rates; years outside the series take its nearest year.
pub fn university_share(raw_dir: &Path) -> Result<BTreeMap<(&'static str, u32), f64>> {
    let path = PROGRESSION.path;
    let mut out = BTreeMap::new();
    for row in read_csv(raw_dir, path)? {
        let sex = match field(&row, "sex", path)? {
            "male" => MALE,
            "female" => FEMALE,
            _ => continue,
        };
        let (u, j) = (field(&row, "univ_gakubu_pct", path)?, field(&row, "jc_honka_pct", path)?);
        if u.is_empty() || j.is_empty() {
            continue;
        }
        let year: u32 = field(&row, "year", path)?.parse().map_err(|_| derr(path, "a year is not a number"))?;
        let (u, j) = (num(path, "univ_gakubu_pct", u)?, num(path, "jc_honka_pct", j)?);
        if u + j > 0.0 {
            out.insert((sex, year), u / (u + j));
        }
    }
    if out.len() < 100 {
        return Err(derr(path, format!("expected the 1954-2016 series for both sexes, got {} cells", out.len())));
    }
    Ok(out)
}

/// The share for a cohort that turned 18 in `year` (clamped to the series).
pub fn share_at(series: &BTreeMap<(&'static str, u32), f64>, sex: &'static str, year: u32) -> f64 {
    let years: Vec<u32> = series.keys().filter(|(s, _)| *s == sex).map(|(_, y)| *y).collect();
    let (first, last) = (years.iter().min().copied().unwrap_or(year), years.iter().max().copied().unwrap_or(year));
    series.get(&(sex, year.clamp(first, last))).copied().unwrap_or(0.5)
}

pub const SIZE: SourceSpec<'static> = SourceSpec {
    id: "ilostat_jpn_employment_sex_establishment_size",
    path: "datasets/jp/sources/h4_ilostat_jpn_employment_by_sex_establishment_size.csv",
    publisher: "ILO (ILOSTAT) from the Statistics Bureau of Japan's Labour Force Survey",
    table: "Employment by sex and establishment size (EMP_TEMP_SEX_EST_NB): 1-4, 5-49, 50+, not stated; thousands",
    vintage: "LFS annual averages 2015-2022 (2022 used)",
    licence: "CC BY 4.0 (ILOSTAT)",
    carrier: "open-numbers/ddf--ilo--ilostat@c50d06059527 (see datasets/jp/sources/h4_PROVENANCE.md)",
};
pub const STATUS: SourceSpec<'static> = SourceSpec {
    id: "ilostat_jpn_employment_sex_status",
    path: "datasets/jp/sources/h4_ilostat_jpn_employment_by_sex_status.csv",
    publisher: "ILO (ILOSTAT) from the Statistics Bureau of Japan's Labour Force Survey",
    table: "Employment by sex and status in employment, ICSE-93 (EMP_TEMP_SEX_STE_NB); thousands",
    vintage: "LFS annual averages 2015-2025 (2022 used, as for industry and size)",
    licence: "CC BY 4.0 (ILOSTAT)",
    carrier: "open-numbers/ddf--ilo--ilostat@c50d06059527 (see datasets/jp/sources/h4_PROVENANCE.md)",
};
pub const NEMOTRON_TOKENS: SourceSpec<'static> = SourceSpec {
    id: "nemotron_personas_japan_occupation_tokens",
    path: "datasets/jp/sources/h2_nemotron_personas_japan_occupation_token_counts_shard0.csv",
    publisher: "NVIDIA, Nemotron-Personas-Japan (synthetic; counts of occupation tokens over 125,000 rows)",
    table: "Firm-size tokens 大手 / 中堅 / 中小 / none in `occupation`",
    vintage: "shard 0 of the 2025 release",
    licence: "CC BY 4.0",
    carrier: "see datasets/jp/sources/h2_PROVENANCE.md",
};

/// A sex's cells of an ILOSTAT extract for one year: code → thousands.
fn ilo_cells(
    raw_dir: &Path,
    path: &str,
    code_column: &str,
    year: &str,
) -> Result<BTreeMap<(&'static str, String), f64>> {
    let mut out = BTreeMap::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "year", path)? != year {
            continue;
        }
        let Some(sex) = ilo_sex(field(&row, "sex", path)?) else { continue };
        let code = field(&row, code_column, path)?.to_string();
        out.insert((sex, code), num(path, "value_thousands", field(&row, "value_thousands", path)?)?);
    }
    Ok(out)
}

/// Employers' share of the employed by sex ([`INDUSTRY_YEAR`]).
pub fn executive_share(raw_dir: &Path) -> Result<BTreeMap<&'static str, f64>> {
    let path = STATUS.path;
    let cells = ilo_cells(raw_dir, path, "icse93_status", INDUSTRY_YEAR)?;
    let mut out = BTreeMap::new();
    for sex in SEXES {
        let get = |c: &str| {
            cells
                .get(&(sex, c.to_string()))
                .copied()
                .ok_or_else(|| derr(path, format!("no {sex} `{c}` in {INDUSTRY_YEAR}")))
        };
        out.insert(sex, get("2")? / get("total")?);
    }
    Ok(out)
}

/// Share of the employed in establishments of 1-49 persons by sex, of those whose size is
/// stated ([`INDUSTRY_YEAR`]).
pub fn small_share(raw_dir: &Path) -> Result<BTreeMap<&'static str, f64>> {
    let path = SIZE.path;
    let cells = ilo_cells(raw_dir, path, "size_class", INDUSTRY_YEAR)?;
    let mut out = BTreeMap::new();
    for sex in SEXES {
        let get = |c: &str| {
            cells
                .get(&(sex, c.to_string()))
                .copied()
                .ok_or_else(|| derr(path, format!("no {sex} `{c}` in {INDUSTRY_YEAR}")))
        };
        let (a, b, c) = (get("s1_4")?, get("s5_49")?, get("sge50")?);
        out.insert(sex, (a + b) / (a + b + c));
    }
    Ok(out)
}

/// 大手 among 大手 + 中堅 in Nemotron-Personas-Japan's occupations (no official table splits
/// large workplaces further).
pub fn large_of_rest(raw_dir: &Path) -> Result<f64> {
    let path = NEMOTRON_TOKENS.path;
    let mut large = None;
    let mut middle = None;
    for row in read_csv(raw_dir, path)? {
        if field(&row, "element", path)? != "scale" {
            continue;
        }
        let v = num(path, "count_in_125000_rows", field(&row, "count_in_125000_rows", path)?)?;
        match field(&row, "token", path)? {
            "大手" => large = Some(v),
            "中堅" => middle = Some(v),
            _ => {}
        }
    }
    match (large, middle) {
        (Some(l), Some(m)) if l + m > 0.0 => Ok(l / (l + m)),
        _ => Err(derr(path, "no 大手 and 中堅 counts")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occupation_is_written_as_nemotron_writes_it() {
        assert_eq!(occupation_of("就業", "製造業", "大手"), "製造業 大手");
        assert_eq!(occupation_of("経営", "建設業", "中小"), "建設業 中小 経営");
        assert_eq!(occupation_of("引退", "運輸業，郵便業", "中堅"), "運輸業，郵便業 中堅 (現在は引退)");
        assert_eq!(occupation_of("家事", "医療，福祉", "中小"), "医療，福祉 中小 (現在は離職)");
        assert_eq!(occupation_of("就業", "公務", ""), "公務");
        assert_eq!(occupation_of("学生", "", ""), "学生");
    }

    #[test]
    fn marital_status_labels_carry_the_children_flag() {
        let rows = marital_status_rows();
        assert!(rows.iter().any(|r| r[2] == "既婚 (子供あり)"));
        assert!(!rows.iter().any(|r| r[0] == "未婚" && r[1] == "あり"));
        assert_eq!(rows.len(), 7);
    }

    #[test]
    fn the_never_married_have_no_children_and_the_married_mostly_do() {
        let anchors = [
            (MALE, 1943, 1948, 0.143),
            (MALE, 1971, 1975, 0.399),
            (FEMALE, 1943, 1948, 0.116),
            (FEMALE, 1971, 1975, 0.276),
        ];
        let mut never = BTreeMap::new();
        for sex in SEXES {
            never.insert((sex, 1995), 0.1);
            never.insert((sex, 2020), 0.2);
        }
        let (rows, notes) = children_rows(&anchors, &never).unwrap();
        assert_eq!(notes.len(), 4);
        assert!(!rows.iter().any(|r| r[2] == "未婚" && r[3] == "あり"));
        let w = |sex: &str, band: &str, flag: &str| -> f64 {
            rows.iter()
                .find(|r| r[0] == sex && r[1] == band && r[2] == "既婚" && r[3] == flag)
                .map(|r| r[4].parse().unwrap())
                .unwrap()
        };
        // (0.399 - 0.2) / 0.8 of the married men of the younger cohort are childless.
        let share = w(MALE, "45-49", "なし") / (w(MALE, "45-49", "なし") + w(MALE, "45-49", "あり"));
        assert!((share - 0.24875).abs() < 1e-3, "{share}");
        assert!(w(FEMALE, "75-79", "あり") > w(FEMALE, "75-79", "なし"));
    }

    #[test]
    fn every_section_but_not_classifiable_has_a_label_and_unsized_industries_exist() {
        for code in ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S", "U"]
        {
            assert!(INDUSTRIES.iter().any(|(c, _)| *c == code), "{code}");
        }
        for label in UNSIZED {
            assert!(INDUSTRIES.iter().any(|(_, l)| *l == label), "{label}");
        }
    }
}
