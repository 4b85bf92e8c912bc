//! Education of the US pack: educational attainment by state, sex and age (ACS B15001, its
//! 18-24 band split into single years) and the field of bachelor's degree (ACS B15011).

use std::collections::BTreeMap;
use std::path::Path;

use super::acs::{acs_sources, acs_state_sex_band_value, band_start};
use super::population::Population;
use super::vocab::{EDUCATION, MIN_AGE_ASSOCIATES, MIN_AGE_BACHELORS, MIN_AGE_GRADUATE};
use crate::derive::{write_table, SourceRecord, TableRecord};
use crate::error::Result;

/// Records B15001, writes `acs_b15001_education.csv` and `education_model.csv` and returns the
/// education model's rows.
pub(super) fn write_attainment(
    raw_dir: &Path,
    out_dir: &Path,
    population: &Population,
    sources: &mut Vec<SourceRecord>,
    tables: &mut Vec<TableRecord>,
) -> Result<Vec<Vec<String>>> {
    // Education: B15001 (sex × age × attainment, 18+, by state).
    let [b15001, b15001_legend] =
        acs_sources(raw_dir, "B15001", "Sex by age by educational attainment for the population 18 years and over")?;
    let published = acs_state_sex_band_value(raw_dir, "B15001", |path| {
        let [sex, age, level] = path else { return None };
        Some((sex.clone(), age.clone(), education_code(level)?.to_string()))
    })?;
    tables.push(write_table(
        out_dir,
        "acs_b15001_education.csv",
        &["state", "sex", "age_band", "education_level", "weight"],
        &published,
        &[&b15001.id, &b15001_legend.id],
        "Leaf cells of B15001 as published (estimates), attainment labels mapped to the Nemotron-Personas vocabulary.",
    )?);
    let education_rows = split_young_education(&published, population);
    tables.push(write_table(
        out_dir,
        "education_model.csv",
        &["state", "sex", "age_edu", "education_level", "weight"],
        &education_rows,
        &[&b15001.id, &b15001_legend.id, "census_pep_v2021_state_sex_age_civ"],
        "B15001 with its 18-24 band split into single years 18..24 by IPF: rows = PEP persons per single year, \
         columns = B15001 attainment counts of the band, structural zeros below the minimum ages (see choices).",
    )?);
    sources.extend([b15001, b15001_legend]);
    Ok(education_rows)
}

/// Records B15011 and writes `acs_b15011_field.csv` and `bachelors_field_model.csv`.
pub(super) fn write_field(
    raw_dir: &Path,
    out_dir: &Path,
    sources: &mut Vec<SourceRecord>,
    tables: &mut Vec<TableRecord>,
) -> Result<()> {
    // Field of bachelor's degree: B15011 (sex × age × field, 25+ with a bachelor's degree or higher).
    let [b15011, b15011_legend] =
        acs_sources(raw_dir, "B15011", "Sex by age by field of bachelor's degree for first major, 25 years and over")?;
    let published = acs_state_sex_band_value(raw_dir, "B15011", |path| {
        let [sex, age, field] = path else { return None };
        Some((sex.clone(), age.clone(), field_code(field)?.to_string()))
    })?;
    tables.push(write_table(
        out_dir,
        "acs_b15011_field.csv",
        &["state", "sex", "age_band", "bachelors_field", "weight"],
        &published,
        &[&b15011.id, &b15011_legend.id],
        "Leaf cells of B15011 as published, field labels mapped to short codes.",
    )?);
    tables.push(write_table(
        out_dir,
        "bachelors_field_model.csv",
        &["state", "sex", "age_field", "education_level", "bachelors_field", "weight"],
        &field_model(&published),
        &[&b15011.id, &b15011_legend.id],
        "P(field | state, sex, age band) from B15011 for bachelors and graduate attainment (the 18-24 band \
         takes the 25-39 distribution); every other attainment level has bachelors_field = no_degree.",
    )?);
    sources.extend([b15011, b15011_legend]);
    Ok(())
}

fn education_code(label: &str) -> Option<&'static str> {
    Some(match label {
        "Less than 9th grade" => "less_than_9th",
        "9th to 12th grade, no diploma" => "9th_12th_no_diploma",
        "High school graduate (includes equivalency)" => "high_school",
        "Some college, no degree" => "some_college",
        "Associate's degree" => "associates",
        "Bachelor's degree" => "bachelors",
        "Graduate or professional degree" => "graduate",
        _ => return None,
    })
}

fn field_code(label: &str) -> Option<&'static str> {
    Some(match label {
        "Science and Engineering" => "stem",
        "Science and Engineering Related Fields" => "stem_related",
        "Business" => "business",
        "Education" => "education",
        "Arts, Humanities and Other" => "arts_humanities",
        _ => return None,
    })
}

fn min_age(level: &str) -> i64 {
    match level {
        "associates" => MIN_AGE_ASSOCIATES,
        "bachelors" => MIN_AGE_BACHELORS,
        "graduate" => MIN_AGE_GRADUATE,
        _ => 18,
    }
}

/// The education model table: bands 25+ as published; 18-24 split into single years by IPF.
fn split_young_education(published: &[Vec<String>], population: &Population) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut young: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for r in published {
        let w: f64 = r[4].parse().unwrap_or(0.0);
        if r[2] == "18-24" {
            let level = EDUCATION.iter().position(|e| *e == r[3]).unwrap_or(0);
            young.entry((r[0].clone(), r[1].clone())).or_insert_with(|| vec![0.0; EDUCATION.len()])[level] += w;
        } else {
            out.push(vec![r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone(), r[4].clone()]);
        }
    }
    for ((state, sex), cols) in young {
        let ages: Vec<i64> = (18..=24).collect();
        let rows: Vec<f64> =
            ages.iter().map(|a| population.get(&(state.clone(), sex.clone(), *a)).copied().unwrap_or(0.0)).collect();
        let seed: Vec<f64> =
            ages.iter().flat_map(|a| EDUCATION.iter().map(move |e| if *a >= min_age(e) { 1.0 } else { 0.0 })).collect();
        let (fitted, _) = crate::derive::ipf::fit_2d(&seed, ages.len(), EDUCATION.len(), &rows, &cols, 500);
        for (i, a) in ages.iter().enumerate() {
            for (j, e) in EDUCATION.iter().enumerate() {
                let w = fitted[i * EDUCATION.len() + j];
                if w > 0.0 {
                    out.push(vec![state.clone(), sex.clone(), a.to_string(), e.to_string(), format!("{w:.3}")]);
                }
            }
        }
    }
    out.sort_by(|a, b| (&a[0], &a[1], band_start(&a[2])).cmp(&(&b[0], &b[1], band_start(&b[2]))));
    out
}

/// The bachelors_field model table over (state, sex, age_field band, education_level).
fn field_model(published: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut by_group: BTreeMap<(String, String), Vec<(String, String, String)>> = BTreeMap::new();
    for r in published {
        by_group.entry((r[0].clone(), r[1].clone())).or_default().push((r[2].clone(), r[3].clone(), r[4].clone()));
    }
    for ((state, sex), cells) in by_group {
        for band in ["18-24", "25-39", "40-64", "65+"] {
            let source_band = if band == "18-24" { "25-39" } else { band };
            for level in EDUCATION {
                if *level == "bachelors" || *level == "graduate" {
                    for (b, field, w) in cells.iter().filter(|(b, _, _)| b == source_band) {
                        let _ = b;
                        out.push(vec![
                            state.clone(),
                            sex.clone(),
                            band.into(),
                            level.to_string(),
                            field.clone(),
                            w.clone(),
                        ]);
                    }
                } else {
                    out.push(vec![
                        state.clone(),
                        sex.clone(),
                        band.into(),
                        level.to_string(),
                        "no_degree".into(),
                        "1".into(),
                    ]);
                }
            }
        }
    }
    out
}
