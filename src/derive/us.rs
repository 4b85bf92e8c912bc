//! Derivation of the US pack from US Census Bureau files.

use std::collections::BTreeMap;
use std::path::Path;

use super::{source, write_manifest, write_table, DeriveReport, Manifest};
use crate::error::{Error, Result};

/// (FIPS code, USPS abbreviation) of the 50 states and DC.
pub const STATES: &[(u32, &str)] = &[
    (1, "AL"), (2, "AK"), (4, "AZ"), (5, "AR"), (6, "CA"), (8, "CO"), (9, "CT"), (10, "DE"), (11, "DC"),
    (12, "FL"), (13, "GA"), (15, "HI"), (16, "ID"), (17, "IL"), (18, "IN"), (19, "IA"), (20, "KS"),
    (21, "KY"), (22, "LA"), (23, "ME"), (24, "MD"), (25, "MA"), (26, "MI"), (27, "MN"), (28, "MS"),
    (29, "MO"), (30, "MT"), (31, "NE"), (32, "NV"), (33, "NH"), (34, "NJ"), (35, "NM"), (36, "NY"),
    (37, "NC"), (38, "ND"), (39, "OH"), (40, "OK"), (41, "OR"), (42, "PA"), (44, "RI"), (45, "SC"),
    (46, "SD"), (47, "TN"), (48, "TX"), (49, "UT"), (50, "VT"), (51, "VA"), (53, "WA"), (54, "WV"),
    (55, "WI"), (56, "WY"),
];

/// Oldest age the open-ended "85+" group is spread to.
pub const MAX_AGE: u32 = 104;

const POP_PATH: &str = "usa/population/sc-est2021-agesex-civ.csv";

/// Share of the 85+ population at each age 85..=MAX_AGE: person-years of a stationary
/// population under Gompertz mortality q(x) = 0.066·e^{0.1(x−85)} (close to recent US period
/// life tables at these ages). The census file has no single years past 85.
pub fn oldest_old_shares() -> Vec<f64> {
    let mut alive = 1.0f64;
    let mut years = Vec::new();
    for x in 85..=MAX_AGE {
        let q = (0.066 * (0.1 * (x as f64 - 85.0)).exp()).min(1.0);
        years.push(alive * (1.0 - q / 2.0));
        alive *= 1.0 - q;
    }
    let total: f64 = years.iter().sum();
    years.iter().map(|y| y / total).collect()
}

/// Derives `datasets/us/` from the raw data directory.
pub fn derive(raw_dir: &Path, out_dir: &Path) -> Result<DeriveReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    let pop_source = source(
        raw_dir,
        "census_pep_v2021_state_sex_age_civ",
        POP_PATH,
        "U.S. Census Bureau, Population Estimates Program",
        "SC-EST2021-AGESEX-CIV: civilian population by state, sex and single year of age",
        "Vintage 2021 estimates for July 1, 2021 (column POPEST2021_CIV)",
        "Public domain (U.S. federal government work)",
        "mckeont/TEDSA@2c47a6cc8e0c:sc-est2021-agesex-civ.csv",
    )?;
    let rows = population_rows(&raw_dir.join(POP_PATH))?;
    let pop = write_table(
        out_dir,
        "population_state_sex_age.csv",
        &["state", "sex", "age", "weight"],
        &rows,
        &[&pop_source.id],
        "State rows (SUMLEV 040), SEX 1/2 -> Male/Female, ages 18-84 as published; the open-ended 85 (85+) \
         group spread over ages 85-104 by Gompertz person-years (see choices); weight = persons (POPEST2021_CIV).",
    )?;
    let manifest = Manifest {
        locale: "us".into(),
        generated_by: "personadb derive --locale us".into(),
        sources: vec![pop_source],
        tables: vec![pop.clone()],
        choices: vec![
            "Population universe: civilian population 18+ of the 50 states and DC (no Puerto Rico, no armed forces), \
             July 1, 2021 (PEP vintage 2021)."
                .into(),
            format!(
                "Ages past 85: the census publishes one 85+ group per state and sex; we spread it over 85..={MAX_AGE} \
                 with a Gompertz mortality schedule q(x)=0.066*exp(0.1*(x-85)) (stationary person-years), preserving \
                 each state's and sex's 85+ total exactly."
            ),
        ],
    };
    write_manifest(out_dir, &manifest)?;
    Ok(DeriveReport { out_dir: out_dir.into(), tables: vec![pop] })
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
        let parse = |c: usize| field(c).trim().parse::<u64>().map_err(|_| err(format!("row {}: bad number `{}`", i + 2, field(c))));
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
