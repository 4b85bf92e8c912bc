//! Firm size and executives of the Japan pack: the employers' share of the employed (経営) and the
//! share in small workplaces (中小) by sex from ILOSTAT, the rest split 中堅/大手 by
//! Nemotron-Personas-Japan's token counts.

use std::collections::BTreeMap;
use std::path::Path;

use super::industry::{INDUSTRIES, INDUSTRY_YEAR, UNSIZED};
use super::work::{WorkInputs, LABOUR, WORK_STATUSES};
use super::{ilo_sex, num, Rows, SEXES};
use crate::derive::{derr, field, read_csv, SourceSpec};
use crate::error::Result;

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

/// Shares, summing to one, of `parts`.
fn normalise(parts: &[f64]) -> Vec<f64> {
    let total: f64 = parts.iter().sum();
    parts.iter().map(|p| if total > 0.0 { p / total } else { 0.0 }).collect()
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
