//! Derivation of the US pack from US Census Bureau files.
//!
//! [`derive`] runs the families in order, each recording its sources and writing its tables:
//! population (`population`), educational attainment (`education`), marital status (`marital`),
//! field of bachelor's degree (`education`), race (`race`), employment and occupation (`labour`,
//! on the models of `occupation` and `groups`), names (`names`), ZIP codes and cities (`geo`),
//! the narratives' markets (`markets`) and jobs (`onet`). `acs` reads the ACS tables; `vocab`
//! holds the vocabularies they share.

use std::path::Path;

pub mod acs;
mod education;
pub mod geo;
pub mod groups;
mod labour;
mod marital;
pub mod markets;
pub mod names;
pub mod occupation;
pub mod onet;
mod population;
mod race;
pub mod vocab;

pub use population::oldest_old_shares;
pub use vocab::{EDUCATION, MAX_AGE, MIN_AGE_ASSOCIATES, MIN_AGE_BACHELORS, MIN_AGE_GRADUATE, STATES};

use super::{write_manifest, DeriveReport, Manifest};
use crate::error::{Error, Result};

/// Derives `datasets/us/` from the raw data directory.
pub fn derive(raw_dir: &Path, out_dir: &Path) -> Result<DeriveReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    let mut sources = Vec::new();
    let mut tables = Vec::new();
    let population = population::write(raw_dir, out_dir, &mut sources, &mut tables)?;
    let education_rows = education::write_attainment(raw_dir, out_dir, &population, &mut sources, &mut tables)?;
    marital::write(raw_dir, out_dir, &mut sources, &mut tables)?;
    education::write_field(raw_dir, out_dir, &mut sources, &mut tables)?;
    let race_rows = race::write(raw_dir, out_dir, &mut sources, &mut tables)?;
    let employment = labour::write_employment(raw_dir, out_dir, &mut sources, &mut tables)?;
    let labour_notes = labour::write_occupation(
        raw_dir,
        out_dir,
        &population,
        &education_rows,
        &employment,
        &mut sources,
        &mut tables,
    )?;
    let name_notes = names::write(raw_dir, out_dir, &race_rows, &mut sources, &mut tables)?;
    let geo = geo::write(raw_dir, out_dir, &mut sources, &mut tables)?;
    markets::write(raw_dir, out_dir, &geo.zips, &mut sources, &mut tables)?;
    onet::write(raw_dir, out_dir, &mut sources, &mut tables)?;

    let manifest = Manifest {
        locale: "us".into(),
        generated_by: "personadb derive --locale us".into(),
        sources,
        tables: tables.clone(),
        choices: census_choices().into_iter().chain(labour_notes).chain(name_notes).chain(geo.notes).collect(),
    };
    write_manifest(out_dir, &manifest)?;
    Ok(DeriveReport { out_dir: out_dir.into(), tables })
}

/// The manifest's first choices: the population universe and the census tables' assumptions.
fn census_choices() -> Vec<String> {
    vec![
        "Population universe: civilian population 18+ of the 50 states and DC (no Puerto Rico, no armed forces), \
         July 1, 2021 (PEP vintage 2021). Conditional tables come from ACS 2018 1-year estimates; where the \
         vintages' margins differ, the population estimates win and the ACS gives conditionals."
            .into(),
        format!(
            "Ages past 85: the census publishes one 85+ group per state and sex; we spread it over 85..={MAX_AGE} \
             with a Gompertz mortality schedule q(x)=0.066*exp(0.1*(x-85)) (stationary person-years), preserving \
             each state's and sex's 85+ total exactly."
        ),
        format!(
            "Education at 18-24: B15001 gives one 18-24 band. We split it into single years by IPF with \
             structural zeros below minimum ages (associates {}, bachelors {}, graduate {}), so there are no \
             graduate degrees at 19, while the band's attainment totals and each year's population are kept.",
            MIN_AGE_ASSOCIATES, MIN_AGE_BACHELORS, MIN_AGE_GRADUATE
        ),
        "Marital status and education are conditionally independent given state, sex and age (no published \
         table crosses them by state)."
            .into(),
        "Race and ethnicity: six groups (hispanic, white, black, asian incl. Pacific Islanders, aian, other incl. \
         two or more races), as in the Census surname file. The non-Hispanic share of each race comes from \
         B03002 by state and is applied uniformly across sex and age (no table crosses all four by state)."
            .into(),
        "Field of bachelor's degree: B15011 covers ages 25+; graduates aged 18-24 take the 25-39 distribution. \
         Bachelor's and graduate degree holders share one distribution (the table does not separate them). \
         People without a bachelor's degree have bachelors_field = no_degree."
            .into(),
    ]
}
