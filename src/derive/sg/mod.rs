//! Derivation of the Singapore pack (`sg`, alias `en_SG`) from SingStat, MOM and data.gov.sg
//! statistics: residents by planning area × sex × single age (June 2024); ethnic group by
//! planning area and sex (Census 2020) fitted to the national ethnic × age × sex series;
//! religion and home language by planning area (Census 2020) joined to ethnicity by fitting
//! their national ethnic cross-tables; employment, occupation (SSOC major groups) and industry
//! by sex × age (MOM labour force 2024); marital status and education from the partial tables
//! that exist. What no official table gives is written in the manifest's choices, with the
//! substitute used.
//!
//! One module per source family, each with its sources, its computation and the tables and
//! choices it writes: [`population`] (planning areas, residents by sex and age), [`ethnic`],
//! [`religion`] and [`language`] (joined to ethnicity through [`census_areas`]), [`labour`]
//! (employment, occupation, industry), [`marital`], [`education`] and [`names`] (with
//! [`name_tokens`]). [`vocab`] holds the labels and age bands they share.

use std::path::Path;

pub mod census_areas;
pub mod education;
pub mod ethnic;
pub mod labour;
pub mod language;
pub mod marital;
pub mod name_tokens;
pub mod names;
pub mod population;
pub mod religion;
pub mod vocab;

pub use names::NAME_GROUPS;
pub use vocab::{
    AGE_BANDS, EDUCATION, ETHNIC, FEMALE, LANGUAGES, MALE, MARITAL, MAX_AGE, MIN_AGE, NOT_WORKING, RELIGIONS,
    WORK_BANDS,
};

use super::{write_manifest, write_table, DeriveReport, Manifest, TableRecord};
use crate::derive::number;
use crate::error::{Error, Result};

type Rows = Vec<Vec<String>>;

/// What the families write to: the output directory, and the tables and manifest choices
/// written so far, in the order the manifest lists them.
struct Pack<'a> {
    out_dir: &'a Path,
    tables: Vec<TableRecord>,
    choices: Vec<String>,
}

impl Pack<'_> {
    /// Writes a derived table (see [`write_table`]) and records it.
    fn table(
        &mut self,
        file: &str,
        header: &[&str],
        rows: &[Vec<String>],
        sources: &[&str],
        transform: &str,
    ) -> Result<()> {
        self.tables.push(write_table(self.out_dir, file, header, rows, sources, transform)?);
        Ok(())
    }
}

/// Derives `datasets/sg/` from the raw data directory.
pub fn derive(raw_dir: &Path, out_dir: &Path) -> Result<DeriveReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    // Every raw input, in the manifest's order.
    let specs = [
        population::POPULATION,
        ethnic::ETHNIC_AREA,
        ethnic::ETHNIC_AGE,
        census_areas::RELIGION_AREA,
        religion::RELIGION_ETHNIC,
        religion::RELIGION_SHARES,
        language::LANGUAGE_AREA,
        language::LANGUAGE_ETHNIC,
        labour::EMPLOYED_INDUSTRY_MALE,
        labour::EMPLOYED_INDUSTRY_FEMALE,
        labour::EMPLOYED_OCCUPATION_MALE,
        labour::EMPLOYED_OCCUPATION_FEMALE,
        labour::OCCUPATION_INDUSTRY,
        marital::SINGLE_SHARE,
        marital::MARITAL_LABOUR,
        marital::MARITAL_GHS,
        education::EDUCATION_EMPLOYED,
        education::EDUCATION_GHS,
        names::CEA_SURNAMES,
        names::CEA_CHINESE_GIVEN,
        names::CEA_SYLLABLES,
        names::CEA_ENGLISH,
        names::CEA_MALAY,
        names::CEA_INDIAN,
        names::US_SURNAMES,
    ];
    let sources = specs.iter().map(|s| s.record(raw_dir)).collect::<Result<Vec<_>>>()?;
    let mut pack = Pack { out_dir, tables: Vec::new(), choices: Vec::new() };

    // Each family writes its tables and choices, in this order.
    let residents = population::derive(raw_dir, &mut pack)?;
    let ethnic_by_area = ethnic::derive(raw_dir, &mut pack, &residents.areas, &residents.by_area_sex_band)?;
    // Religion and home language given ethnic group and planning area.
    let area_groups = census_areas::census_area_groups(raw_dir, &residents.areas)?;
    religion::derive(raw_dir, &mut pack, &residents.areas, &area_groups, &ethnic_by_area)?;
    language::derive(raw_dir, &mut pack, &residents.areas, &area_groups, &ethnic_by_area)?;
    labour::derive(raw_dir, &mut pack, &residents.rows)?;
    marital::derive(raw_dir, &mut pack)?;
    education::derive(raw_dir, &mut pack)?;
    names::derive(raw_dir, &mut pack)?;

    let Pack { tables, choices, .. } = pack;
    let manifest = Manifest {
        locale: "sg".into(),
        generated_by: format!("personadb {} derive --locale sg", env!("CARGO_PKG_VERSION")),
        sources,
        tables: tables.clone(),
        choices,
    };
    write_manifest(out_dir, &manifest)?;
    Ok(DeriveReport { out_dir: out_dir.to_path_buf(), tables })
}
