//! Education for the India pack: C-08's educational levels by state, residence, sex and age
//! group, as published.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::sources::EDUCATION_LEVEL;
use super::vocab::{band_of_age, residence, state_name, AGE_BANDS, EDUCATION, MIN_AGE, SEXES, ZONES};
use super::{number, Part, Rows};
use crate::derive::{derr, field, write_table, TableRecord};
use crate::error::Result;

/// The education family: C-08's ten levels by state, residence, sex and age group, and the
/// manifest's choice on what the census level leaves out. Returns the rows, which the
/// occupation tilt fits to.
pub(super) fn derive(out_dir: &Path, c08: &[HashMap<String, String>]) -> Result<(Part, Rows)> {
    let mut tables: Vec<TableRecord> = Vec::new();
    let mut choices: Vec<String> = Vec::new();
    let education_rows = education(c08)?;
    tables.push(write_table(
        out_dir,
        "education_model.csv",
        &["state", "zone", "sex", "age_band", "education_level", "weight"],
        &education_rows,
        &[EDUCATION_LEVEL.id],
        "State rows of C-08 by residence, sex and age (18 and 19 summed, then the five-year groups and \
         80+); the ten levels as published (Literate = literate without educational level; Graduate & \
         Above); `Unclassified` left out; weight = persons.",
    )?);
    choices.push(
        "Education: C-08 publishes `Graduate & above` as one level, so there is no Graduate / Post Graduate \
         split and no degree subject; the pack keeps the census level and has no `education_degree` \
         column (no table of degrees by subject was found). Nor has it a `middle_name`: no source gives \
         Indian middle names."
            .into(),
    );
    Ok((Part { tables, choices }, education_rows))
}

fn education(c08: &[HashMap<String, String>]) -> Result<Rows> {
    let path = EDUCATION_LEVEL.path;
    let mut cells: BTreeMap<(u32, usize, usize, usize), [f64; 10]> = BTreeMap::new();
    for row in c08 {
        if field(row, "district_code", path)? != "000" || field(row, "state_code", path)? == "00" {
            continue;
        }
        let Some(z) = residence(field(row, "residence", path)?) else { continue };
        let state = number(field(row, "state_code", path)?) as u32;
        let group = field(row, "age_group", path)?;
        let lo = match group.split_once('-') {
            Some((a, _)) => a.parse::<u32>().ok(),
            None if group == "80+" => Some(80),
            None => group.parse::<u32>().ok(),
        };
        let Some(band) = lo.filter(|a| *a >= MIN_AGE).and_then(band_of_age) else { continue };
        for (s, sex) in ["males", "females"].iter().enumerate() {
            let e = cells.entry((state, z, s, band)).or_default();
            for (i, (_, stem)) in EDUCATION.iter().enumerate() {
                e[i] += number(field(row, &format!("{stem}_{sex}"), path)?);
            }
        }
    }
    let mut rows = Rows::new();
    for ((state, z, s, band), counts) in cells {
        let name = state_name(state).ok_or_else(|| derr(path, format!("unknown state code {state}")))?;
        for (i, (label, _)) in EDUCATION.iter().enumerate() {
            if counts[i] > 0.0 {
                rows.push(vec![
                    name.to_string(),
                    ZONES[z].to_string(),
                    SEXES[s].to_string(),
                    AGE_BANDS[band].0.to_string(),
                    label.to_string(),
                    format!("{:.0}", counts[i]),
                ]);
            }
        }
    }
    if rows.len() < 35 * 2 * 2 * 14 {
        return Err(derr(path, format!("only {} education cells", rows.len())));
    }
    Ok(rows)
}
