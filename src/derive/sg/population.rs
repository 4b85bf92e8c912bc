//! Population and geography: residents by planning area × sex × single age (June 2024), 15+.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::vocab::{AGE_BANDS, FEMALE, MALE, MAX_AGE, MIN_AGE, SEXES};
use super::{number, Pack, Rows};
use crate::derive::{derr, field, read_csv, SourceSpec};
use crate::error::Result;

pub(super) const POPULATION: SourceSpec<'static> = SourceSpec {
    id: "singstat_respopagesex2024",
    path: "singapore/respopagesex2024.csv",
    publisher: "Department of Statistics Singapore (SingStat), via data.gov.sg",
    table: "Singapore residents by planning area, subzone, single year of age and sex",
    vintage: "June 2024",
    licence: "Singapore Open Data Licence",
    carrier: "trangqd/ISSS608-VAA@58e03e228d69:Take-home_Ex/Take-home_Ex01/respopagesex2024.csv",
};

/// Residents aged 15 and over, as the other families use them.
pub(super) struct Residents {
    /// (planning area, sex, age, persons), planning areas in the source's order.
    pub rows: Vec<(String, String, u32, f64)>,
    /// The planning areas that have residents of these ages (the ones drawn).
    pub areas: Vec<String>,
    /// Persons by (planning area, sex, age band), as indices in `areas`, [`SEXES`], [`AGE_BANDS`].
    pub by_area_sex_band: HashMap<(usize, usize, usize), f64>,
}

/// Writes the population table and its choice; returns the residents.
pub(super) fn derive(raw_dir: &Path, pack: &mut Pack) -> Result<Residents> {
    // Population: planning area × sex × single age, 15+.
    let population = population(raw_dir)?;
    let areas: Vec<String> = {
        let mut seen: Vec<String> = Vec::new();
        for (area, _, _, _) in &population {
            if !seen.contains(area) {
                seen.push(area.clone());
            }
        }
        seen
    };
    pack.table(
        "population_area_sex_age.csv",
        &["planning_area", "sex", "age", "weight"],
        &population
            .iter()
            .map(|(a, s, g, w)| vec![a.clone(), s.clone(), g.to_string(), format!("{w:.3}")])
            .collect::<Rows>(),
        &[POPULATION.id],
        "Residents summed over the subzones of each planning area, ages 15-89 as published and the \
         `90_and_Over` group spread over 90-100 by Gompertz person-years; sex Males/Females -> Male/Female; \
         planning areas with no residents of these ages left out; weight = persons.",
    )?;
    pack.choices.push(format!(
        "Ages 15 and over (the youngest age of the labour-force tables and of the dataset's life stages). \
         Planning areas: {} of the 55 have residents aged 15+ in June 2024 and can be drawn; the others \
         (water catchments, islands, industrial estates) have none.",
        areas.len()
    ));
    let band_of = |age: u32| AGE_BANDS.iter().position(|(_, lo, hi)| age >= *lo && age <= *hi).unwrap_or(0);
    // Persons by (area, sex, band).
    let mut by_area_sex_band: HashMap<(usize, usize, usize), f64> = HashMap::new();
    for (area, sex, age, w) in &population {
        let a = areas.iter().position(|x| x == area).unwrap_or(0);
        let s = SEXES.iter().position(|x| x == sex).unwrap_or(0);
        *by_area_sex_band.entry((a, s, band_of(*age))).or_default() += w;
    }
    Ok(Residents { rows: population, areas, by_area_sex_band })
}

/// Rows (planning area, sex, age, persons) for ages 15+.
fn population(raw_dir: &Path) -> Result<Vec<(String, String, u32, f64)>> {
    let path = POPULATION.path;
    let old = crate::derive::old_age_shares(90, MAX_AGE);
    let mut sums: BTreeMap<(String, String, u32), f64> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for row in read_csv(raw_dir, path)? {
        let area = field(&row, "PA", path)?.to_string();
        if !order.contains(&area) {
            order.push(area.clone());
        }
        let sex = match field(&row, "Sex", path)? {
            "Males" => MALE,
            "Females" => FEMALE,
            other => return Err(derr(path, format!("unknown sex `{other}`"))),
        };
        let pop = number(field(&row, "Pop", path)?);
        let age = field(&row, "Age", path)?;
        if age == "90_and_Over" {
            for (a, s) in (90..=MAX_AGE).zip(&old) {
                *sums.entry((area.clone(), sex.into(), a)).or_default() += pop * s;
            }
            continue;
        }
        let age: u32 = age.parse().map_err(|_| derr(path, format!("age `{age}`")))?;
        if age >= MIN_AGE {
            *sums.entry((area, sex.into(), age)).or_default() += pop;
        }
    }
    let mut area_total: HashMap<String, f64> = HashMap::new();
    for ((a, _, _), w) in &sums {
        *area_total.entry(a.clone()).or_default() += w;
    }
    let mut rows = Vec::new();
    for area in order.iter().filter(|a| area_total.get(*a).copied().unwrap_or(0.0) > 0.0) {
        for sex in SEXES {
            for age in MIN_AGE..=MAX_AGE {
                let w = sums.get(&(area.clone(), sex.to_string(), age)).copied().unwrap_or(0.0);
                if w > 0.0 {
                    rows.push((area.clone(), sex.to_string(), age, w));
                }
            }
        }
    }
    if rows.is_empty() {
        return Err(derr(path, "no residents aged 15+"));
    }
    Ok(rows)
}

/// "ANG MO KIO" and "Ang Mo Kio" are the same planning area.
pub(super) fn same_area(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}
