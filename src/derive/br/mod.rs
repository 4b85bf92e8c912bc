//! Derivation of the Brazil pack (`br`, alias `pt_BR`) from IBGE statistics: population by
//! state × sex × age (2018 projection, year 2022), municipalities (Censo 2022), cor ou raça by
//! municipality × sex (Censo 2010), nível de instrução by sex × age and occupations (COD) by sex
//! (Censo 2010 Amostra), first names by birth decade and sex (Censo 2010 Nomes). What no
//! official table gives is written in the manifest's choices, with the substitute used.
//!
//! [`derive`] runs the families in order, each writing its tables and choices: population and
//! municipalities (`population`), cor ou raça (`race`), education (`education`), occupation
//! (`occupation`), names (`names`) and religion (`religion`).

use std::path::Path;

use super::{write_manifest, DeriveReport, Manifest, TableRecord};
use crate::error::{Error, Result};

mod education;
mod names;
mod occupation;
mod population;
mod race;
mod religion;

pub use education::EDUCATION_LEVELS;
pub use names::BIRTH_DECADES;
pub use race::RACES;

/// (sigla, full name) of the 26 states and the Federal District, in IBGE code order.
pub const UFS: &[(&str, &str)] = &[
    ("RO", "Rondônia"),
    ("AC", "Acre"),
    ("AM", "Amazonas"),
    ("RR", "Roraima"),
    ("PA", "Pará"),
    ("AP", "Amapá"),
    ("TO", "Tocantins"),
    ("MA", "Maranhão"),
    ("PI", "Piauí"),
    ("CE", "Ceará"),
    ("RN", "Rio Grande do Norte"),
    ("PB", "Paraíba"),
    ("PE", "Pernambuco"),
    ("AL", "Alagoas"),
    ("SE", "Sergipe"),
    ("BA", "Bahia"),
    ("MG", "Minas Gerais"),
    ("ES", "Espírito Santo"),
    ("RJ", "Rio de Janeiro"),
    ("SP", "São Paulo"),
    ("PR", "Paraná"),
    ("SC", "Santa Catarina"),
    ("RS", "Rio Grande do Sul"),
    ("MS", "Mato Grosso do Sul"),
    ("MT", "Mato Grosso"),
    ("GO", "Goiás"),
    ("DF", "Distrito Federal"),
];

/// The projection year taken (the year of Censo 2022, whose municipality totals are used).
pub const YEAR: f64 = 2022.0;
/// Oldest age the open-ended "90+" group is spread to.
pub const MAX_AGE: u32 = 104;
/// The sex labels of Nemotron-Personas-Brazil.
pub const FEMALE: &str = "Feminino";
pub const MALE: &str = "Masculino";
/// The occupation of a persona who has none (not occupied in the census week).
pub const NO_OCCUPATION: &str = "Sem ocupação";

/// Derives `datasets/br/` from the raw data directory.
pub fn derive(raw_dir: &Path, out_dir: &Path) -> Result<DeriveReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    let mut tables: Vec<TableRecord> = Vec::new();
    let mut choices: Vec<String> = Vec::new();
    let sources = [
        population::POPULATION,
        population::MUNICIPALITIES,
        race::RACE,
        education::EDUCATION,
        occupation::OCCUPATION,
        occupation::OCCUPIED_AGE,
        occupation::OCCUPIED_AGE_50,
        names::FIRST_NAMES,
        names::NAME_SEX,
        names::SURNAMES,
        religion::RELIGION,
    ]
    .iter()
    .map(|s| s.record(raw_dir))
    .collect::<Result<Vec<_>>>()?;

    let municipalities = population::write(raw_dir, out_dir, &mut tables, &mut choices)?;
    race::write(raw_dir, out_dir, &municipalities, &mut tables, &mut choices)?;
    let education = education::write(raw_dir, out_dir, &mut tables, &mut choices)?;
    occupation::write(raw_dir, out_dir, &education, &mut tables, &mut choices)?;
    names::write(raw_dir, out_dir, &mut tables, &mut choices)?;
    religion::write(out_dir, &mut tables, &mut choices)?;

    let manifest = Manifest {
        locale: "br".into(),
        generated_by: format!("personadb {} derive --locale br", env!("CARGO_PKG_VERSION")),
        sources,
        tables: tables.clone(),
        choices,
    };
    write_manifest(out_dir, &manifest)?;
    Ok(DeriveReport { out_dir: out_dir.to_path_buf(), tables })
}

fn uf_name(sigla: &str) -> Option<&'static str> {
    UFS.iter().find(|(s, _)| *s == sigla).map(|(_, n)| *n)
}
