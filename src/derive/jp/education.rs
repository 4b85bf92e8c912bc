//! Education of the Japan pack: WIC 2020's levels by sex × age, the tertiary-educated split into
//! 短大・高専卒 and 大学・大学院卒 by their cohort's progression rates (MEXT) and 文系/理系 by today's
//! entrants.

use std::collections::BTreeMap;
use std::path::Path;

use super::{num, Rows, FEMALE, MALE, SEXES};
use crate::derive::{derr, field, read_csv, write_table, SourceSpec, TableRecord};
use crate::error::Result;

pub const WIC: SourceSpec<'static> = SourceSpec {
    id: "wic2018_japan_education_sex_age5",
    path: "datasets/jp/sources/wic2018_v2_japan_education_by_sex_age5_1950_2020.csv",
    publisher: "Wittgenstein Centre for Demography and Global Human Capital (WIC 2018, v2)",
    table: "Population by sex, 5-year age and highest level of education (six ISCED-based levels), Japan",
    vintage: "2020 (reconstruction and SSP2 projection from the 2015 base)",
    licence: "CC BY 4.0",
    carrier: "see datasets/jp/sources/PROVENANCE.md §8.1",
};
pub const PROGRESSION: SourceSpec<'static> = SourceSpec {
    id: "mext_progression_rates_sex_year",
    path: "datasets/jp/sources/h6_mext_progression_rates_by_sex_year.csv",
    publisher: "文部科学省, 学校基本調査 年次統計 (e-Stat 0003147040)",
    table: "総括表 進学率: 大学（学部）・短期大学（本科）進学率 by sex and year (過年度卒を含む)",
    vintage: "1954-2016",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier: "visualizing-jp/japan-data-education@2863a03d62be:public/data/gender.json (see datasets/jp/sources/h6_PROVENANCE.md)",
};
pub const MEXT_FIELDS: SourceSpec<'static> = SourceSpec {
    id: "mext_university_entrants_field_sex",
    path: "datasets/jp/sources/mext_school_basic_survey_university_entrants_by_field_sex_2023_2025.csv",
    publisher: "文部科学省, 学校基本調査 (School Basic Survey)",
    table: "関係学科別 大学入学状況: university entrants by field of study and sex",
    vintage: "FY2023-FY2025",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier: "see datasets/jp/sources/PROVENANCE.md §3",
};

/// Education labels of the tertiary-educated: no table splits 短大 from 高専, nor 大学 from 大学院,
/// so each pair is one label.
pub const SHORT_TERTIARY: &str = "短大・高専卒";
pub const UNIVERSITY_ARTS: &str = "大学・大学院卒 文系";
pub const UNIVERSITY_SCIENCE: &str = "大学・大学院卒 理系";

/// The age bands of the education table: [`super::AGE_BANDS`] with 20-24 split at the age a four-year
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

/// Writes `education_model.csv` with its choice.
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    tables: &mut Vec<TableRecord>,
    choices: &mut Vec<String>,
) -> Result<()> {
    // Education: WIC's levels by sex × age, tertiary split by the cohort's progression rates.
    let university = university_share(raw_dir)?;
    let science = science_share(raw_dir)?;
    let tertiary = |sex: &str, band: &str| -> Vec<(&'static str, f64)> {
        let sex = if sex == MALE { MALE } else { FEMALE };
        let (lo, hi) =
            EDUCATION_BANDS.iter().find(|(b, _, _)| *b == band).map(|(_, lo, hi)| (*lo, *hi)).unwrap_or((85, 90));
        let year18 = 2020 - (lo + hi.min(90)) / 2 + 18;
        let u = share_at(&university, sex, year18);
        let sci = science.get(sex).copied().unwrap_or(0.0);
        vec![(SHORT_TERTIARY, 1.0 - u), (UNIVERSITY_ARTS, u * (1.0 - sci)), (UNIVERSITY_SCIENCE, u * sci)]
    };
    tables.push(write_table(
        out_dir,
        "education_model.csv",
        &["sex", "age_band", "education_level", "weight"],
        &education(raw_dir, &tertiary)?,
        &[WIC.id, PROGRESSION.id, MEXT_FIELDS.id],
        "WIC 2020 by sex × 5-year age: no education, primary and lower secondary -> 中学卒; upper secondary -> 高校卒; \
         post-secondary split by the cohort's progression rates (the year it turned 18; 1954 and 2016 outside the \
         series): 短大・高専卒 with the junior-college share of 大学 + 短大 progression, the rest 大学・大学院卒, \
         文系/理系 by the FY2023-2025 entrants' 理系 share by sex. Bands as WIC's, 20-24 split at 22: 18-19 take \
         20-24's rates with post-secondary as 高校卒, 20-21 with the university part as 高校卒 (a four-year degree \
         ends at 22); 85+ sums 85-89 … 100+. Weight = persons.",
    )?);
    choices.push(format!(
        "Education: Census 2020's 最終卒業学校 table by sex × age (第11-2表) was not reachable; WIC 2018 v2 (research, \
         CC BY 4.0) gives the levels by sex × age. No figure splits 短大 from 高専 or 専門学校, nor 大学 from 大学院, \
         so the labels are merged: 中学卒, 高校卒, {}, {}, {} (Nemotron-Personas-Japan has 短大卒, 高専卒, 大学卒 and \
         大学院卒 apart). 専門学校 graduates, whom WIC counts as post-secondary, are spread over both tertiary labels \
         by the university/junior-college ratio. 文系/理系 uses today's entrants (理系 {:.1} % of men, {:.1} % of \
         women) for every cohort: older women were less often in science, which this overstates.",
        SHORT_TERTIARY,
        UNIVERSITY_ARTS,
        UNIVERSITY_SCIENCE,
        science.get(MALE).copied().unwrap_or(0.0) * 100.0,
        science.get(FEMALE).copied().unwrap_or(0.0) * 100.0
    ));
    Ok(())
}

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
