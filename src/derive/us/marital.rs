//! Marital status of the US pack: ACS B12002 by state, sex and age band, adults only.

use std::path::Path;

use super::acs::{acs_sources, acs_state_sex_band_value};
use crate::derive::{write_table, SourceRecord, TableRecord};
use crate::error::Result;

/// Records B12002 and writes `acs_b12002_marital.csv`.
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    sources: &mut Vec<SourceRecord>,
    tables: &mut Vec<TableRecord>,
) -> Result<()> {
    // Marital status: B12002 (sex × marital status × age, 15+, by state).
    let [b12002, b12002_legend] =
        acs_sources(raw_dir, "B12002", "Sex by marital status by age for the population 15 years and over")?;
    let published = acs_state_sex_band_value(raw_dir, "B12002", |path| {
        let (sex, age) = (path.first()?, path.last()?);
        Some((sex.clone(), age.clone(), marital_code(&path[1..path.len() - 1])?.to_string()))
    })?;
    tables.push(write_table(
        out_dir,
        "acs_b12002_marital.csv",
        &["state", "sex", "age_band", "marital_status", "weight"],
        &published,
        &[&b12002.id, &b12002_legend.id],
        "Leaf cells of B12002 for ages 18+ (the 15-17 band dropped), marital labels mapped to the Nemotron-Personas vocabulary.",
    )?);
    sources.extend([b12002, b12002_legend]);
    Ok(())
}

fn marital_code(path: &[String]) -> Option<&'static str> {
    let has = |s: &str| path.iter().any(|p| p == s);
    Some(if has("Never married") {
        "never_married"
    } else if has("Married, spouse present") {
        "married_present"
    } else if has("Separated") {
        "separated"
    } else if has("Married, spouse absent") {
        "married_absent"
    } else if has("Widowed") {
        "widowed"
    } else if has("Divorced") {
        "divorced"
    } else {
        return None;
    })
}
