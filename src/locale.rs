//! Locale packs: the derived tables and network spec of each locale, embedded in the binary
//! so personadb works anywhere, loaded once per process into a [`LocaleModel`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::model::{LocaleModel, NetworkSpec};

/// A locale pack's files, embedded at build time from `datasets/<locale>/`.
#[derive(Debug)]
pub struct LocalePack {
    pub locale: &'static str,
    pub files: &'static [(&'static str, &'static str)],
}

/// The US pack.
pub static US: LocalePack = LocalePack {
    locale: "us",
    files: &[
        ("network.json", include_str!("../datasets/us/network.json")),
        ("manifest.json", include_str!("../datasets/us/manifest.json")),
        ("population_state_sex_age.csv", include_str!("../datasets/us/population_state_sex_age.csv")),
        ("acs_b12002_marital.csv", include_str!("../datasets/us/acs_b12002_marital.csv")),
        ("acs_b15001_education.csv", include_str!("../datasets/us/acs_b15001_education.csv")),
        ("education_model.csv", include_str!("../datasets/us/education_model.csv")),
        ("acs_b15011_field.csv", include_str!("../datasets/us/acs_b15011_field.csv")),
        ("bachelors_field_model.csv", include_str!("../datasets/us/bachelors_field_model.csv")),
        ("race_ethnicity_model.csv", include_str!("../datasets/us/race_ethnicity_model.csv")),
        ("acs_b23001_employment.csv", include_str!("../datasets/us/acs_b23001_employment.csv")),
        ("employment_model.csv", include_str!("../datasets/us/employment_model.csv")),
        ("labor_force.csv", include_str!("../datasets/us/labor_force.csv")),
        ("occupation_model.csv", include_str!("../datasets/us/occupation_model.csv")),
        ("occupation_group_tilt.csv", include_str!("../datasets/us/occupation_group_tilt.csv")),
        ("acs_b24010_occupation_group.csv", include_str!("../datasets/us/acs_b24010_occupation_group.csv")),
        ("acs_b2411x_occupation_sex.csv", include_str!("../datasets/us/acs_b2411x_occupation_sex.csv")),
        ("cps_11b_occupation_age.csv", include_str!("../datasets/us/cps_11b_occupation_age.csv")),
        ("ep_5_3_occupation_education.csv", include_str!("../datasets/us/ep_5_3_occupation_education.csv")),
        ("first_name_model.csv", include_str!("../datasets/us/first_name_model.csv")),
        ("last_name_model.csv", include_str!("../datasets/us/last_name_model.csv")),
        ("zipcode_model.csv", include_str!("../datasets/us/zipcode_model.csv")),
        ("zipcode_city.csv", include_str!("../datasets/us/zipcode_city.csv")),
        ("occupation_titles.csv", include_str!("../datasets/us/occupation_titles.csv")),
        ("narrative/templates.json", include_str!("../datasets/us/narrative/templates.json")),
        ("narrative/lexicon.json", include_str!("../datasets/us/narrative/lexicon.json")),
        ("narrative/occupations.json", include_str!("../datasets/us/narrative/occupations.json")),
        ("narrative/states.csv", include_str!("../datasets/us/narrative/states.csv")),
        ("narrative/prompts/system.txt", include_str!("../datasets/us/narrative/prompts/system.txt")),
        ("narrative/prompts/stage1.txt", include_str!("../datasets/us/narrative/prompts/stage1.txt")),
        ("narrative/prompts/stage2.txt", include_str!("../datasets/us/narrative/prompts/stage2.txt")),
        ("narrative/prompts/reask.txt", include_str!("../datasets/us/narrative/prompts/reask.txt")),
    ],
};

/// Every embedded pack.
pub static PACKS: &[&LocalePack] = &[&US];

/// The names of the available locales.
pub fn available() -> Vec<&'static str> {
    PACKS.iter().map(|p| p.locale).collect()
}

impl LocalePack {
    /// An embedded file by name.
    pub fn file(&self, name: &str) -> Result<&'static str> {
        self.files.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).ok_or_else(|| Error::InvalidLocalePack {
            locale: self.locale.into(),
            reason: format!("no file {name} in the pack"),
        })
    }
}

/// The embedded pack of a locale.
pub fn pack(locale: &str) -> Result<&'static LocalePack> {
    PACKS.iter().copied().find(|p| p.locale == locale).ok_or_else(|| Error::UnknownLocale {
        locale: locale.into(),
        available: available().join(", "),
    })
}

/// Loads (once per process) the model of a locale. When `PERSONADB_DATASETS` names a
/// directory, packs are read from `<dir>/<locale>/` instead of the embedded copies — for
/// people iterating on derived tables without rebuilding.
pub fn model(locale: &str) -> Result<Arc<LocaleModel>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<LocaleModel>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(m) = cache.lock().map_err(|_| poisoned())?.get(locale) {
        return Ok(m.clone());
    }
    let model = Arc::new(match std::env::var_os("PERSONADB_DATASETS") {
        Some(dir) => load_dir(&PathBuf::from(dir).join(locale), locale)?,
        None => load_embedded(pack(locale)?)?,
    });
    cache.lock().map_err(|_| poisoned())?.insert(locale.to_string(), model.clone());
    Ok(model)
}

fn poisoned() -> Error {
    Error::InvalidLocalePack { locale: "*".into(), reason: "model cache poisoned by an earlier panic".into() }
}

/// Builds a model from an embedded pack.
pub fn load_embedded(pack: &LocalePack) -> Result<LocaleModel> {
    let spec: NetworkSpec = serde_json::from_str(pack.file("network.json")?).map_err(|e| Error::InvalidLocalePack {
        locale: pack.locale.into(),
        reason: format!("network.json: {e}"),
    })?;
    LocaleModel::from_spec(spec, &|name| pack.file(name).map(str::to_string))
}

/// Builds a model from a pack directory.
pub fn load_dir(dir: &std::path::Path, locale: &str) -> Result<LocaleModel> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).map_err(|e| Error::io(format!("reading {}", dir.join(name).display()), e))
    };
    let spec: NetworkSpec = serde_json::from_str(&read("network.json")?)
        .map_err(|e| Error::InvalidLocalePack { locale: locale.into(), reason: format!("network.json: {e}") })?;
    LocaleModel::from_spec(spec, &read)
}
