//! Population of the US pack: the civilian population 18+ by state, sex and single year of age
//! (Census Bureau population estimates, vintage 2021), the persons every other table is
//! conditioned on or fitted to.

use std::collections::BTreeMap;
use std::path::Path;

use super::vocab::{MAX_AGE, STATES};
use crate::derive::{write_table, SourceRecord, SourceSpec, TableRecord};
use crate::error::{Error, Result};

const POP_PATH: &str = "usa/population/sc-est2021-agesex-civ.csv";

/// Share of the 85+ population at each age 85..=MAX_AGE (see
/// [`crate::derive::old_age_shares`]). The census file has no single years past 85.
pub fn oldest_old_shares() -> Vec<f64> {
    crate::derive::old_age_shares(85, MAX_AGE)
}

/// Persons by (state, sex, single year of age).
pub(super) type Population = BTreeMap<(String, String, i64), f64>;

/// Records the PEP file, writes `population_state_sex_age.csv` and returns the persons by state,
/// sex and age.
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    sources: &mut Vec<SourceRecord>,
    tables: &mut Vec<TableRecord>,
) -> Result<Population> {
    let pop_source = SourceSpec {
        id: "census_pep_v2021_state_sex_age_civ",
        path: POP_PATH,
        publisher: "U.S. Census Bureau, Population Estimates Program",
        table: "SC-EST2021-AGESEX-CIV: civilian population by state, sex and single year of age",
        vintage: "Vintage 2021 estimates for July 1, 2021 (column POPEST2021_CIV)",
        licence: "Public domain (U.S. federal government work)",
        carrier: "mckeont/TEDSA@2c47a6cc8e0c:sc-est2021-agesex-civ.csv",
    }
    .record(raw_dir)?;
    let rows = population_rows(&raw_dir.join(POP_PATH))?;
    let population: Population = rows
        .iter()
        .map(|r| ((r[0].clone(), r[1].clone(), r[2].parse::<i64>().unwrap_or(0)), r[3].parse::<f64>().unwrap_or(0.0)))
        .collect();
    tables.push(write_table(
        out_dir,
        "population_state_sex_age.csv",
        &["state", "sex", "age", "weight"],
        &rows,
        &[&pop_source.id],
        "State rows (SUMLEV 040), SEX 1/2 -> Male/Female, ages 18-84 as published; the open-ended 85 (85+) \
         group spread over ages 85-104 by Gompertz person-years (see choices); weight = persons (POPEST2021_CIV).",
    )?);
    sources.push(pop_source);
    Ok(population)
}

/// Reads the PEP file into (state, sex, age, weight) rows for adults.
fn population_rows(path: &Path) -> Result<Vec<Vec<String>>> {
    let err = |reason: String| Error::Derivation { source_file: path.display().to_string(), reason };
    let mut reader = csv::Reader::from_path(path).map_err(|e| err(e.to_string()))?;
    let headers = reader.headers().map_err(|e| err(e.to_string()))?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name).ok_or_else(|| err(format!("no column {name}")));
    let (sumlev, state, sex, age, pop) =
        (col("SUMLEV")?, col("STATE")?, col("SEX")?, col("AGE")?, col("POPEST2021_CIV")?);
    let abbrev: BTreeMap<u32, &str> = STATES.iter().copied().collect();
    let shares = oldest_old_shares();
    let mut rows = Vec::new();
    let mut seen_states = std::collections::BTreeSet::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| err(e.to_string()))?;
        let field = |c: usize| rec.get(c).unwrap_or("");
        if field(sumlev) != "040" {
            continue;
        }
        let parse = |c: usize| {
            field(c).trim().parse::<u64>().map_err(|_| err(format!("row {}: bad number `{}`", i + 2, field(c))))
        };
        let (fips, sex_code, age_value, persons) = (parse(state)? as u32, parse(sex)?, parse(age)? as u32, parse(pop)?);
        let Some(st) = abbrev.get(&fips) else { continue };
        let sex_label = match sex_code {
            1 => "Male",
            2 => "Female",
            _ => continue,
        };
        if !(18..=85).contains(&age_value) {
            continue;
        }
        seen_states.insert(fips);
        if age_value < 85 {
            rows.push(vec![st.to_string(), sex_label.into(), age_value.to_string(), persons.to_string()]);
        } else {
            for (k, share) in shares.iter().enumerate() {
                rows.push(vec![
                    st.to_string(),
                    sex_label.into(),
                    (85 + k as u32).to_string(),
                    format!("{:.3}", persons as f64 * share),
                ]);
            }
        }
    }
    if seen_states.len() != STATES.len() {
        return Err(err(format!("expected {} states, found {}", STATES.len(), seen_states.len())));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_old_shares_sum_to_one_and_decline() {
        let s = oldest_old_shares();
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(s.windows(2).all(|w| w[1] < w[0]));
        assert_eq!(s.len(), (MAX_AGE - 84) as usize);
    }
}
