//! Marital status for the India pack: C-02's state rows by residence, sex and age group, ages
//! 18-19 derived from the published 15-19 and `Less than 18` rows.

use std::collections::HashMap;
use std::path::Path;

use super::sources::MARITAL_STATUS;
use super::vocab::{residence, AGE_BANDS, MARITAL, SEXES, STATES, ZONES};
use super::{number, Part, Rows};
use crate::derive::{derr, field, read_csv, write_table, TableRecord};
use crate::error::Result;

/// The marital family: C-02's marital status by state, residence, sex and age group, and the
/// manifest's note on the derived ages 18-19.
pub(super) fn derive(raw_dir: &Path, out_dir: &Path) -> Result<Part> {
    let mut tables: Vec<TableRecord> = Vec::new();
    let mut choices: Vec<String> = Vec::new();
    let (marital, marital_note) = marital(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "marital_model.csv",
        &["state", "zone", "sex", "age_band", "marital_status", "weight"],
        &marital,
        &[MARITAL_STATUS.id],
        "State rows of C-02 by residence, sex and age group; ages 18-19 = the 15-19 group less the ages \
         15-17 (`Less than 18` less 0-9 and 10-14); `Unspecified` left out; weight = persons.",
    )?);
    choices.push(marital_note);
    Ok(Part { tables, choices })
}

/// Marital status by state × zone × sex × band.
fn marital(raw_dir: &Path) -> Result<(Rows, String)> {
    let path = MARITAL_STATUS.path;
    // (state, zone, sex, group label) -> counts of the five statuses.
    let mut cells: HashMap<(u32, usize, usize, String), [f64; 5]> = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "district_code", path)? != "000" || field(&row, "state_code", path)? == "00" {
            continue;
        }
        let Some(z) = residence(field(&row, "residence", path)?) else { continue };
        let state = number(field(&row, "state_code", path)?) as u32;
        let group = field(&row, "age_group", path)?.to_string();
        for (s, sex) in ["males", "females"].iter().enumerate() {
            let mut v = [0.0; 5];
            for (i, (_, stem)) in MARITAL.iter().enumerate() {
                v[i] = number(field(&row, &format!("{stem}_{sex}"), path)?);
            }
            cells.insert((state, z, s, group.clone()), v);
        }
    }
    let mut rows = Rows::new();
    let mut negative = 0usize;
    for (code, state) in STATES {
        for z in 0..2 {
            for s in 0..2 {
                for (band, lo, _) in AGE_BANDS {
                    let get = |g: &str| cells.get(&(code, z, s, g.to_string())).copied();
                    let counts = if lo == 18 {
                        // 18-19 = 15-19 − (under 18 − 0-9 − 10-14).
                        let (Some(a), Some(u), Some(c), Some(t)) =
                            (get("15-19"), get("Less than 18"), get("0-9"), get("10-14"))
                        else {
                            return Err(derr(path, format!("{state}: missing age rows for 18-19")));
                        };
                        let mut v = [0.0; 5];
                        for i in 0..5 {
                            v[i] = a[i] - (u[i] - c[i] - t[i]);
                            if v[i] < 0.0 {
                                negative += 1;
                                v[i] = 0.0;
                            }
                        }
                        v
                    } else {
                        get(band).ok_or_else(|| derr(path, format!("{state}: no age group {band}")))?
                    };
                    for (i, (label, _)) in MARITAL.iter().enumerate() {
                        if counts[i] > 0.0 {
                            rows.push(vec![
                                state.to_string(),
                                ZONES[z].to_string(),
                                SEXES[s].to_string(),
                                band.to_string(),
                                label.to_string(),
                                format!("{:.0}", counts[i]),
                            ]);
                        }
                    }
                }
            }
        }
    }
    let note = format!(
        "Marital status by state, residence, sex and age group (C-02); ages 18-19 are derived from the \
         published 15-19 and `Less than 18` rows ({negative} cells came out negative by the census' own \
         rounding and were set to zero)."
    );
    Ok((rows, note))
}
