//! Religion for the India pack: each district's religions (PCA) split by residence with the
//! state's rural and urban shares (RL-0000).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::population::Population;
use super::sources::{DISTRICTS, POPULATION, RELIGION_STATES};
use super::vocab::{residence, RELIGIONS, ZONES};
use super::{number, Part, Rows};
use crate::derive::{derr, field, read_csv, write_table, TableRecord};
use crate::error::Result;

/// The religion family: religion by district and residence (the district tables tilted by
/// RL-0000's rural/urban split by state), and the manifest's choice on it. Returns the rows,
/// which the name communities are built from.
pub(super) fn derive(raw_dir: &Path, out_dir: &Path, population: &Population) -> Result<(Part, Rows)> {
    let mut tables: Vec<TableRecord> = Vec::new();
    let mut choices: Vec<String> = Vec::new();
    let religion = religion(raw_dir, population)?;
    tables.push(write_table(
        out_dir,
        "religion_model.csv",
        &["state", "district", "zone", "religion", "weight"],
        &religion,
        &[DISTRICTS.id, RELIGION_STATES.id, POPULATION.id],
        "Religion of each district's persons (all ages), split by residence with the state's rural and \
         urban religion shares of RL-0000: w(d, z, r) ∝ P(r | d) · P(r | state, z) / P(r | state), \
         normalised within district and residence.",
    )?);
    choices.push(
        "Religion by district and residence: the district tables give religion for all residents, RL-0000 \
         gives its rural/urban split by state only; the district shares are tilted by the state's \
         rural/urban ratio (one raking step). No table crosses religion with age or language, so they are \
         drawn independently given district and residence."
            .into(),
    );
    Ok((Part { tables, choices }, religion))
}

/// Religion by district × zone.
fn religion(raw_dir: &Path, population: &Population) -> Result<Rows> {
    // State × zone shares (RL-0000, persons).
    let path = RELIGION_STATES.path;
    let mut state_zone: HashMap<(String, usize), [f64; 8]> = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        let name = field(&row, "Name", path)?;
        let Some(z) = residence(field(&row, "TRU", path)?) else { continue };
        let Some(r) = RELIGIONS.iter().position(|(_, _, l)| *l == field(&row, "Religion", path).unwrap_or("")) else {
            continue;
        };
        let key = name.to_ascii_uppercase().replace("STATE -", "").replace("STATE-", "").trim().to_string();
        state_zone.entry((key, z)).or_default()[r] += number(field(&row, "TOT_P", path)?);
    }
    let state_key = |s: &str| -> String {
        let upper = s.to_ascii_uppercase();
        match upper.as_str() {
            "NCT OF DELHI" => "NCT OF DELHI".into(),
            _ => upper,
        }
    };
    let lookup = |state: &str, z: usize| -> Option<[f64; 8]> {
        let key = state_key(state);
        state_zone
            .iter()
            .find(|((k, zz), _)| {
                *zz == z
                    && (k == &key
                        || k.replace(" AND ", " & ") == key
                        || k.replace('&', "AND") == key.replace('&', "AND"))
            })
            .map(|(_, v)| *v)
    };
    let path = DISTRICTS.path;
    let mut by_code: HashMap<u32, [f64; 8]> = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        let code = number(field(&row, "DistrictCode", path)?) as u32;
        let mut v = [0.0; 8];
        for (i, (_, col, _)) in RELIGIONS.iter().enumerate() {
            v[i] = number(field(&row, col, path)?);
        }
        by_code.insert(code, v);
    }
    let mut rows = Rows::new();
    let mut missing_states = HashSet::new();
    for d in &population.districts {
        let district = by_code.get(&d.code).ok_or_else(|| derr(path, format!("no district code {}", d.code)))?;
        let total: f64 = district.iter().sum();
        for z in 0..2 {
            if d.adults[z] <= 0.0 {
                continue;
            }
            let tilt = match (lookup(d.state, z), lookup(d.state, 0), lookup(d.state, 1)) {
                (Some(sz), Some(r), Some(u)) => {
                    let mut t = [1.0; 8];
                    for i in 0..8 {
                        let state_all = r[i] + u[i];
                        let zone_total: f64 = sz.iter().sum();
                        let all_total: f64 = r.iter().sum::<f64>() + u.iter().sum::<f64>();
                        if state_all > 0.0 && zone_total > 0.0 {
                            t[i] = (sz[i] / zone_total) / (state_all / all_total);
                        }
                    }
                    t
                }
                _ => {
                    missing_states.insert(d.state);
                    [1.0; 8]
                }
            };
            let w: Vec<f64> = (0..8).map(|i| district[i] / total.max(1.0) * tilt[i]).collect();
            let sum: f64 = w.iter().sum();
            for (i, (label, _, _)) in RELIGIONS.iter().enumerate() {
                if w[i] > 0.0 {
                    rows.push(vec![
                        d.state.to_string(),
                        d.name.clone(),
                        ZONES[z].to_string(),
                        label.to_string(),
                        format!("{:.1}", w[i] / sum * d.adults[z]),
                    ]);
                }
            }
        }
    }
    if !missing_states.is_empty() {
        let mut m: Vec<_> = missing_states.into_iter().collect();
        m.sort();
        return Err(derr(RELIGION_STATES.path, format!("no rural/urban rows for {}", m.join(", "))));
    }
    Ok(rows)
}
