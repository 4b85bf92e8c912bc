//! Work status of the Japan pack: employed, unemployed and outside the labour force by sex × age
//! (ILOSTAT's LFS series, past 65 shaped by the published rates), split into what
//! Nemotron-Personas-Japan folds into `occupation` ("製造業 大手 経営", "運輸業，郵便業 中堅
//! (現在は引退)", "学生"): 就業, 経営, 学生, 家事, 無職 and 引退. The family's [`write`] also writes the
//! industry, firm-size and occupation tables built on it (see `industry`, `firm` and
//! `occupation`).

use std::collections::BTreeMap;
use std::path::Path;

use super::{band_of, ilo_sex, num, Rows, AGE_BANDS, FEMALE, MALE, SEXES};
use super::{firm, industry, occupation};
use crate::derive::{derr, field, read_csv, write_table, SourceSpec, TableRecord};
use crate::error::Result;

/// The year of the labour-force tables (the latest complete year of ILOSTAT's LFS series).
pub const LFS_YEAR: &str = "2024";

/// Work statuses, in the order of the tables.
pub const WORK_STATUSES: [&str; 6] = ["就業", "経営", "学生", "家事", "無職", "引退"];

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
pub const ESS_BY_SEX: SourceSpec<'static> = SourceSpec {
    id: "ess2022_table1_work_status_by_sex",
    path: "datasets/jp/sources/ess_1956_2022_table1_population15plus_by_sex_work_status_national.csv",
    publisher: "総務省統計局, 就業構造基本調査 (Employment Status Survey)",
    table: "第1表 男女、就業状態別15歳以上人口 (有業者: 仕事が主・家事が主・通学が主…; 無業者: 家事・通学・その他)",
    vintage: "ESS 1956-2022 (2022 used)",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier: "see datasets/jp/sources/PROVENANCE.md §8.3",
};
pub const OLD_RATES: SourceSpec<'static> = SourceSpec {
    id: "lfs2023_employment_rate_65plus_by_age",
    path: "datasets/jp/sources/h5_lfs2023_employment_rate_65plus_by_age_published.csv",
    publisher: "総務省統計局, 労働力調査 (基本集計), as published in 統計からみた我が国の高齢者 (topics142)",
    table: "Employment rates 65+, 65-69, 70-74, 75+ (both sexes), 2023",
    vintage: "2023",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier: "https://www.stat.go.jp/data/topics/pdf/topics142.pdf (see datasets/jp/sources/h5_PROVENANCE.md)",
};

/// Writes `work_status_model.csv`, `industry_model.csv`, `firm_size_model.csv` and
/// `occupation_model.csv` with their choice; `population`: persons by (prefecture, sex, age).
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    population: &BTreeMap<(String, &'static str, u32), u64>,
    tables: &mut Vec<TableRecord>,
    choices: &mut Vec<String>,
) -> Result<()> {
    // Work status, industry, firm size and the occupation string.
    let labour = labour_status(raw_dir)?;
    let mut persons: BTreeMap<(&'static str, &'static str), f64> = BTreeMap::new();
    for ((_, sex, age), w) in population {
        *persons.entry((if *sex == MALE { MALE } else { FEMALE }, band_of(*age))).or_default() += *w as f64;
    }
    let inputs = WorkInputs {
        executive: firm::executive_share(raw_dir)?,
        small: firm::small_share(raw_dir)?,
        large_of_rest: firm::large_of_rest(raw_dir)?,
        old: Some(old_rates(raw_dir, &labour, &persons)?),
    };
    let ess = ess_by_sex(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "work_status_model.csv",
        &["sex", "age_band", "work_status", "weight"],
        &work_status_rows(&labour, &ess, &inputs, &persons)?,
        &[LABOUR.id, ESS_BY_SEX.id, OLD_RATES.id, firm::STATUS.id],
        "ILOSTAT LFS 2024 employed / unemployed / outside the labour force by sex × 5-year age (18-19 take \
         15-19); past 65 the sex's 65+ rates shaped by the published 2023 rates of 65-69, 70-74 and 75+ (both \
         sexes), keeping the 65+ employed total. Employed: 経営 with the employers' share by sex (ILOSTAT 2022), the \
         rest 就業; under 25 a share of the employed is 学生 (ESS 2022 通学が主な有業者 over the LFS's employed \
         15-24, by sex). Outside the labour force: under 25 学生; from 25 家事 with the ESS 2022 share of \
         家事をしている者 among the non-working not at school (by sex), the rest 無職 under 60 and 引退 from 60 \
         (men from 65 all 引退). Unemployed: 無職. Weight = the band's Census 2020 persons in these shares.",
    )?);
    let by_sex = industry::industry_by_sex(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "industry_model.csv",
        &["work_status", "sex", "industry", "weight"],
        &industry::industry_rows(&by_sex),
        &[industry::INDUSTRY.id],
        "ILOSTAT 2022 employment by sex × ISIC section, relabelled with the JSIC 大分類 each section holds in \
         ILOSTAT's Japan series (A = 農林漁業; D and E = 電気・ガス・熱供給・水道業; M = 学術研究，専門・技術サービス業; \
         N and U = サービス業（他に分類されないもの）; R and S = 生活関連サービス業，娯楽業; X, not classifiable, left \
         out). Every status but 学生 takes the employed's industries by sex (the retired \
         and the non-working their former one); 経営 never 公務; 学生 none. Weight = persons.",
    )?);
    let firm = firm::firm_size_rows(&inputs)?;
    tables.push(write_table(
        out_dir,
        "firm_size_model.csv",
        &["work_status", "industry", "sex", "firm_size", "weight"],
        &firm,
        &[firm::SIZE.id, firm::NEMOTRON_TOKENS.id],
        "中小 with the share of the employed in establishments of 1-49 persons by sex (ILOSTAT 2022, of those whose \
         size is stated); the rest 中堅 and 大手 in Nemotron-Personas-Japan's proportion of the two tokens; 公務 and \
         農林漁業 carry no size; 学生 none. Weight = share × 10^6.",
    )?);
    tables.push(write_table(
        out_dir,
        "occupation_model.csv",
        &["work_status", "industry", "firm_size", "occupation", "weight"],
        &occupation::occupation_rows(&firm),
        &[industry::INDUSTRY.id],
        "Deterministic: occupation = industry [+ firm size] [+ 経営] [+ (現在は引退) | (現在は離職) for 家事 and \
         無職], or 学生, as Nemotron-Personas-Japan writes it.",
    )?);
    choices.push(format!(
        "Occupation, built as Nemotron-Personas-Japan writes it (industry [+ size] [+ 経営] [+ (現在は引退) | \
         (現在は離職)], or 学生). Industries: the JSIC 大分類 groups ILOSTAT publishes for Japan by sex (17 labels; \
         Nemotron-Personas-Japan has 103 finer industries such as 鉄鋼業 or 介護福祉業, for which no table by sex was \
         found); industry does not vary by age (no sex × age × industry table exists for Japan in ILOSTAT). 経営: \
         the employers' share of the employed by sex ({:.2} % of men, {:.2} % of women; ILOSTAT 2022, ICSE-93 \
         'employers'; company directors count as employees in the LFS, so this is the owners with staff); not by \
         age. Firm size: establishments of 1-49 persons are 中小 ({:.1} % of men, {:.1} % of women with a stated \
         size); 50 and more are split 中堅/大手 {:.1}/{:.1} by Nemotron-Personas-Japan's token counts over \
         125,000 rows (declared substitute: no official table splits large workplaces by sex); size does not vary \
         by industry (ILOSTAT has industry × establishment size for Japan, EMP_TEMP_SEX_ECO_EST_NB, not yet taken). \
         Students: everyone outside the labour force under 25 (ESS 2022: 6.02 million non-working persons attend \
         school, the LFS's outside-the-labour-force 15-24 is of the same size) and the share of young workers who \
         mainly attend school. Past 65: the LFS's 65+ employment shaped by the published 2023 rates of 65-69 \
         (52.0 %), 70-74 (34.0 %) and 75+ (11.4 %), both sexes; 75-79, 80-84 and 85+ share one rate.",
        inputs.executive.get(MALE).copied().unwrap_or(0.0) * 100.0,
        inputs.executive.get(FEMALE).copied().unwrap_or(0.0) * 100.0,
        inputs.small.get(MALE).copied().unwrap_or(0.0) * 100.0,
        inputs.small.get(FEMALE).copied().unwrap_or(0.0) * 100.0,
        (1.0 - inputs.large_of_rest) * 100.0,
        inputs.large_of_rest * 100.0
    ));
    Ok(())
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
