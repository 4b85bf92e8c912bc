//! Derivation of the India pack (`in`; aliases `en_IN`, `hi_Deva_IN`, `hi_Latn_IN`) from the
//! Census of India 2011: population by district × residence × sex × age (C-14), marital status
//! by state × residence × sex × age (C-02), education by state × residence × sex × age (C-08),
//! religion by district (PCA) with its rural/urban split by state (RL-0000), mother tongue by
//! district × residence (C-16) and second and third languages given the mother tongue by state
//! and sex (C-17); surnames from SECC 2011 (state × birth year) and first names from the 2017
//! electoral rolls where they exist, else from the project's community name lists (written in
//! the manifest's choices, as every substitute is).
//!
//! One module per family of sources, each writing its tables and returning them with its
//! manifest choices; `derive` calls them in this order: `population` (C-14, with C-08's single
//! years), `marital` (C-02), `education` (C-08), `religion` (PCA and RL-0000), `language` (C-16
//! and C-17), `work` (PCA and B-24) and `names` (SECC, the electoral rolls and the curated
//! lists). `sources` holds the raw inputs, `vocab` the census labels; what several families use
//! (the number reader, name casing, the rule of name communities) stays here.

mod education;
mod language;
mod marital;
mod names;
mod population;
mod religion;
mod sources;
mod vocab;
mod work;

use std::path::Path;

pub use vocab::{AGE_BANDS, EDUCATION, FEMALE, MALE, MARITAL, MAX_AGE, MIN_AGE, RELIGIONS, RURAL, STATES, URBAN};

use super::{read_csv, write_manifest, DeriveReport, Manifest, TableRecord};
use crate::derive::number;
use crate::error::{Error, Result};
use sources::EDUCATION_LEVEL;

type Rows = Vec<Vec<String>>;

/// What one family of sources adds to the manifest: the tables it wrote and its modelling
/// choices, each in the order made.
struct Part {
    tables: Vec<TableRecord>,
    choices: Vec<String>,
}

/// Derives the India pack.
pub fn derive(raw_dir: &Path, out_dir: &Path) -> Result<DeriveReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    let sources = sources::ALL.iter().map(|s| s.record(raw_dir)).collect::<Result<Vec<_>>>()?;
    let mut parts: Vec<Part> = Vec::new();

    // Single years within 18-19 (C-08 gives them by state, residence and sex).
    let c08 = read_csv(raw_dir, EDUCATION_LEVEL.path)?;
    let (part, population) = population::derive(raw_dir, out_dir, &c08)?;
    parts.push(part);
    parts.push(marital::derive(raw_dir, out_dir)?);
    let (part, education_rows) = education::derive(out_dir, &c08)?;
    parts.push(part);
    let (part, religion) = religion::derive(raw_dir, out_dir, &population)?;
    parts.push(part);
    let (part, first) = language::derive(raw_dir, out_dir, &population)?;
    parts.push(part);
    parts.push(work::derive(raw_dir, out_dir, &population, &education_rows)?);
    parts.push(names::derive(raw_dir, out_dir, &first, &religion)?);

    let mut tables: Vec<TableRecord> = Vec::new();
    let mut choices: Vec<String> = Vec::new();
    for part in parts {
        tables.extend(part.tables);
        choices.extend(part.choices);
    }

    let manifest = Manifest {
        locale: "in".into(),
        generated_by: format!("personadb {} derive --locale in", env!("CARGO_PKG_VERSION")),
        sources,
        tables: tables.clone(),
        choices,
    };
    write_manifest(out_dir, &manifest)?;
    Ok(DeriveReport { out_dir: out_dir.to_path_buf(), tables })
}

/// "lakshmi" -> "Lakshmi", "d'souza" -> "D'Souza".
fn name_case(lower: &str) -> String {
    crate::derive::capitalize_words(lower.trim(), &['\'', ' ', '-'])
}

/// The community whose names a person bears, from religion, mother tongue and state: the key of
/// the community name lists (`datasets/in/sources/names/`).
pub fn community(religion: &str, language: &str, state: &str) -> &'static str {
    let northeast =
        matches!(state, "Mizoram" | "Meghalaya" | "Nagaland" | "Manipur" | "Arunachal Pradesh" | "Tripura" | "Sikkim");
    let tribal = matches!(
        language,
        "Santali"
            | "Mundari"
            | "Ho"
            | "Kurukh/Oraon"
            | "Gondi"
            | "Bhili/Bhilodi"
            | "Kharia"
            | "Halabi"
            | "Korku"
            | "Munda"
    );
    match religion {
        "Muslim" => match language {
            "Bengali" | "Assamese" => "muslim_bengal",
            "Malayalam" | "Tamil" | "Kannada" | "Tulu" | "Telugu" => "muslim_south",
            _ => "muslim_north",
        },
        "Sikh" => "sikh",
        "Jain" => "jain",
        "Christian" => match language {
            "Malayalam" => "christian_kerala",
            "Tamil" => "christian_tamil",
            "Konkani" | "Tulu" => "christian_goan_mangalorean",
            _ if northeast => "christian_northeast",
            _ if tribal => "christian_tribal_central",
            "Marathi" | "Kannada" => "christian_goan_mangalorean",
            "Telugu" => "christian_tamil",
            _ => "christian_tribal_central",
        },
        "Buddhist" => match state {
            "Jammu & Kashmir" | "Sikkim" | "Arunachal Pradesh" | "Himachal Pradesh" => "buddhist_himalayan",
            _ if northeast => "buddhist_himalayan",
            _ => "buddhist_marathi",
        },
        _ => match language {
            "Marathi" => "marathi_hindu",
            "Gujarati" => "gujarati_hindu",
            "Bengali" => "bengali_hindu",
            "Odia" => "odia_hindu",
            "Assamese" => "assamese_hindu",
            "Punjabi" => "punjabi_hindu",
            "Tamil" => "tamil_hindu",
            "Telugu" => "telugu_hindu",
            "Kannada" | "Tulu" => "kannada_hindu",
            "Malayalam" => "malayalam_hindu",
            "Konkani" => "konkani_hindu",
            "Kashmiri" => "kashmiri",
            _ if tribal => "tribal_central",
            _ if state == "Rajasthan" => "rajasthani_hindu",
            _ => "hindi_hindu",
        },
    }
}
