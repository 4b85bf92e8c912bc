//! Locale packs: the derived tables and network spec of each locale, embedded in the binary
//! so personadb works anywhere, loaded once per process into a [`LocaleModel`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::model::{LocaleModel, NetworkSpec};

/// The packs compiled in (`build.rs`): (locale, gzip archive).
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/packs.rs"));
}

/// A locale pack's files, embedded at build time from `datasets/<locale>/` (compressed;
/// unpacked on first use).
#[derive(Debug)]
pub struct LocalePack {
    /// The locale's name, the folder under `datasets/`.
    pub locale: &'static str,
    archive: &'static [u8],
    files: OnceLock<Result<HashMap<String, String>, String>>,
}

/// Every embedded pack, in name order.
fn packs() -> &'static [LocalePack] {
    static PACKS: OnceLock<Vec<LocalePack>> = OnceLock::new();
    PACKS.get_or_init(|| {
        embedded::EMBEDDED
            .iter()
            .map(|(locale, archive)| LocalePack { locale, archive, files: OnceLock::new() })
            .collect()
    })
}

/// The names of the available locales.
pub fn available() -> Vec<&'static str> {
    packs().iter().map(|p| p.locale).collect()
}

impl LocalePack {
    /// A file of the pack by name (a path inside the pack, e.g. `narrative/en/templates.json`):
    /// the embedded copy, or the one under `PERSONADB_DATASETS` when that is set.
    pub fn file(&self, name: &str) -> Result<&str> {
        let files = self
            .files
            .get_or_init(|| match std::env::var_os("PERSONADB_DATASETS") {
                Some(dir) => read_pack_dir(&PathBuf::from(dir).join(self.locale)),
                None => unpack(self.archive),
            })
            .as_ref()
            .map_err(|reason| Error::InvalidLocalePack { locale: self.locale.into(), reason: reason.clone() })?;
        files.get(name).map(String::as_str).ok_or_else(|| Error::InvalidLocalePack {
            locale: self.locale.into(),
            reason: format!("no file {name} in the pack"),
        })
    }

    /// The pack's file names, sorted.
    pub fn file_names(&self) -> Result<Vec<&str>> {
        self.file("network.json")?;
        let mut names: Vec<&str> = match self.files.get() {
            Some(Ok(files)) => files.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        names.sort_unstable();
        Ok(names)
    }
}

/// Every file of a pack directory (`PERSONADB_DATASETS`), as `build.rs` would embed them: paths
/// relative to the pack with `/`, hidden files and the top-level `sources/` left out.
fn read_pack_dir(root: &std::path::Path) -> Result<HashMap<String, String>, String> {
    fn walk(root: &std::path::Path, dir: &std::path::Path, files: &mut HashMap<String, String>) -> Result<(), String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || (dir == root && name == "sources") {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, files)?;
                continue;
            }
            let rel = path.strip_prefix(root).map_err(|_| format!("{} is outside the pack", path.display()))?;
            let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
            files.insert(rel, text);
        }
        Ok(())
    }
    let mut files = HashMap::new();
    walk(root, root, &mut files)?;
    Ok(files)
}

/// Unpacks an archive written by `build.rs`.
fn unpack(archive: &[u8]) -> Result<HashMap<String, String>, String> {
    use std::io::Read;
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(archive).read_to_end(&mut raw).map_err(|e| format!("embedded archive: {e}"))?;
    let mut files = HashMap::new();
    let mut rest = raw.as_slice();
    let mut take = |n: usize| -> Result<&[u8], String> {
        if rest.len() < n {
            return Err("embedded archive is truncated".into());
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    loop {
        let Ok(len) = take(4) else { break };
        let len = u32::from_le_bytes(len.try_into().map_err(|_| "bad length")?) as usize;
        let name = String::from_utf8(take(len)?.to_vec()).map_err(|_| "a file name is not UTF-8".to_string())?;
        let size = u64::from_le_bytes(take(8)?.try_into().map_err(|_| "bad length")?) as usize;
        let text = String::from_utf8(take(size)?.to_vec()).map_err(|_| format!("{name} is not UTF-8 text"))?;
        files.insert(name, text);
    }
    Ok(files)
}

/// The embedded pack of a locale, by name or alias (`pt_BR` for `br`).
pub fn pack(locale: &str) -> Result<&'static LocalePack> {
    let wanted = canonical(locale)?;
    packs().iter().find(|p| p.locale == wanted).ok_or_else(|| unknown(locale))
}

fn unknown(locale: &str) -> Error {
    let names: Vec<String> = describe_all()
        .map(|all| {
            all.iter()
                .map(|l| match l.aliases.is_empty() {
                    true => l.name.clone(),
                    false => format!("{} ({})", l.name, l.aliases.join(", ")),
                })
                .collect()
        })
        .unwrap_or_else(|_| available().iter().map(|s| s.to_string()).collect());
    Error::UnknownLocale { locale: crate::error::shorten(locale, 40), available: names.join(", ") }
}

/// The pack name a locale name or alias stands for (case-insensitive; `-` and `_` alike).
pub fn canonical(locale: &str) -> Result<&'static str> {
    let norm = |s: &str| s.trim().to_ascii_lowercase().replace('-', "_");
    let wanted = norm(locale);
    for pack in packs() {
        if norm(pack.locale) == wanted {
            return Ok(pack.locale);
        }
    }
    for info in describe_all()? {
        if info.aliases.iter().any(|a| norm(a) == wanted) {
            return Ok(packs().iter().find(|p| p.locale == info.name).map(|p| p.locale).unwrap_or(""));
        }
    }
    Err(unknown(locale))
}

/// The narrative language a locale name selects: an alias is a language tag and a region
/// (`hi_Deva_IN` → `hi-Deva`, `pt_BR` → `pt`), so naming it chooses that language where the
/// pack writes it; the pack's own name (`in`) selects none (its first language).
pub fn language_of(locale: &str) -> Option<String> {
    let canon = canonical(locale).ok()?;
    let norm = |s: &str| s.trim().to_ascii_lowercase().replace('-', "_");
    if norm(locale) == norm(canon) {
        return None;
    }
    let model = model(canon).ok()?;
    let (tag, _region) = norm(locale).rsplit_once('_').map(|(t, r)| (t.to_string(), r.to_string()))?;
    model.persona.narrative.languages.iter().find(|l| norm(&l.code) == tag).map(|l| l.code.clone())
}

/// The locale name that selects `language` of the pack `locale` names: the pack's alias for
/// that language (`in` + `hi-Deva` → `hi_Deva_IN`), or the pack's name for its first language
/// (`None`: the language `locale` itself selects). An unknown language is an error naming
/// the pack's.
pub fn name_for_language(locale: &str, language: Option<&str>) -> Result<String> {
    let canon = canonical(locale)?;
    let model = model(canon)?;
    let chosen = language.map(str::to_string).or_else(|| language_of(locale));
    let Some(code) = chosen.as_deref() else {
        return Ok(canon.to_string());
    };
    let spec = model.persona.language(canon, Some(code))?;
    if model.persona.narrative.languages.first().is_some_and(|f| f.code == spec.code) {
        return Ok(canon.to_string());
    }
    let info = describe_all()?.into_iter().find(|i| i.name == canon).ok_or_else(|| unknown(locale))?;
    info.aliases.iter().find(|a| language_of(a).as_deref() == Some(spec.code.as_str())).cloned().ok_or_else(|| {
        Error::InvalidArgument {
            name: "language".into(),
            reason: format!("locale '{canon}' has no alias for its narrative language '{}'", spec.code),
        }
    })
}

/// What `personadb locales` shows of a pack.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LocaleInfo {
    pub name: String,
    pub aliases: Vec<String>,
    pub description: String,
    /// Output columns, in order.
    pub columns: Vec<String>,
    /// Narrative fields (prose, then lists), in order.
    pub narrative_fields: Vec<String>,
    /// Narrative languages (the first is the default), each with its embedding model.
    pub languages: Vec<(String, String)>,
    /// (publisher and table, vintage) of each raw source, from the manifest.
    pub sources: Vec<(String, String)>,
}

/// The heading fields of a pack's network.json and manifest.json.
#[derive(serde::Deserialize)]
struct PackHeading {
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    columns: Vec<serde_json::Value>,
    persona: Option<crate::model::PersonaSchema>,
}

#[derive(serde::Deserialize)]
struct ManifestHeading {
    #[serde(default)]
    sources: Vec<ManifestSource>,
}

#[derive(serde::Deserialize)]
struct ManifestSource {
    #[serde(default)]
    publisher: String,
    #[serde(default)]
    table: String,
    #[serde(default)]
    vintage: String,
}

/// Every embedded locale, described (read once per process).
pub fn describe_all() -> Result<&'static [LocaleInfo]> {
    static INFO: OnceLock<Result<Vec<LocaleInfo>, String>> = OnceLock::new();
    let info = INFO.get_or_init(|| {
        packs().iter().map(|p| describe(p).map_err(|e| e.to_string())).collect::<Result<Vec<_>, String>>()
    });
    info.as_deref().map_err(|reason| Error::InvalidLocalePack { locale: "*".into(), reason: reason.clone() })
}

fn describe(pack: &LocalePack) -> Result<LocaleInfo> {
    let bad = |file: &str, e: serde_json::Error| Error::InvalidLocalePack {
        locale: pack.locale.into(),
        reason: format!("{file}: {e}"),
    };
    let heading: PackHeading = serde_json::from_str(pack.file("network.json")?).map_err(|e| bad("network.json", e))?;
    let manifest: ManifestHeading = match pack.file("manifest.json") {
        Ok(text) => serde_json::from_str(text).map_err(|e| bad("manifest.json", e))?,
        Err(_) => ManifestHeading { sources: Vec::new() },
    };
    let columns =
        heading.columns.iter().filter_map(|c| c.get("name").and_then(|n| n.as_str()).map(str::to_string)).collect();
    let sources = manifest.sources.into_iter().map(|s| (format!("{}: {}", s.publisher, s.table), s.vintage)).collect();
    let (narrative_fields, languages) = match &heading.persona {
        Some(p) => (
            p.narrative_columns().map(str::to_string).collect(),
            p.narrative
                .languages
                .iter()
                .map(|l| {
                    let model = crate::embed::spec(&l.embedding_model).map(|m| m.name).unwrap_or(&l.embedding_model);
                    (l.code.clone(), model.to_string())
                })
                .collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    Ok(LocaleInfo {
        name: pack.locale.to_string(),
        aliases: heading.aliases,
        description: heading.description,
        columns,
        narrative_fields,
        languages,
        sources,
    })
}

/// Loads (once per process) the model of a locale. When `PERSONADB_DATASETS` names a
/// directory, packs are read from `<dir>/<locale>/` instead of the embedded copies — for
/// people iterating on derived tables, narrative templates, lexicons and rules without
/// rebuilding (every file of the pack comes from there, see [`LocalePack::file`]).
pub fn model(locale: &str) -> Result<Arc<LocaleModel>> {
    let locale = canonical(locale)?;
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

/// The models whose persona schema applies to `table`: its locale's, as the catalog records
/// it, or every embedded pack's when the table's locale is unknown.
pub fn models_of_table(db: &crate::Database, table: &str) -> Vec<Arc<LocaleModel>> {
    let recorded = db.catalog().ok().and_then(|c| c.table(table).ok().flatten()).and_then(|t| t.locale);
    match recorded.and_then(|l| model(&l).ok()) {
        Some(m) => vec![m],
        None => available().iter().filter_map(|l| model(l).ok()).collect(),
    }
}

/// The persona schemas (`network.json`'s `persona`: column roles, narrative fields) that apply
/// to `table`, as [`models_of_table`] chooses them, read without building the models (which
/// takes about 0.6 s a locale): what a long-lived session's first scan of a table needs.
pub fn persona_schemas_of_table(db: &crate::Database, table: &str) -> Vec<Arc<crate::model::schema::PersonaSchema>> {
    let recorded = db.catalog().ok().and_then(|c| c.table(table).ok().flatten()).and_then(|t| t.locale);
    match recorded.and_then(|l| persona_schema(&l).ok()) {
        Some(s) => vec![s],
        None => available().iter().filter_map(|l| persona_schema(l).ok()).collect(),
    }
}

/// The `persona` object of a locale pack's `network.json`, parsed once per process.
fn persona_schema(locale: &str) -> Result<Arc<crate::model::schema::PersonaSchema>> {
    let locale = canonical(locale)?;
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<crate::model::schema::PersonaSchema>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(s) = cache.lock().map_err(|_| poisoned())?.get(locale) {
        return Ok(s.clone());
    }
    let schema = Arc::new(spec(locale)?.persona);
    cache.lock().map_err(|_| poisoned())?.insert(locale.to_string(), schema.clone());
    Ok(schema)
}

/// The `network.json` of a locale's pack, parsed.
fn spec(locale: &str) -> Result<NetworkSpec> {
    let locale = canonical(locale)?;
    let text = match std::env::var_os("PERSONADB_DATASETS") {
        Some(dir) => {
            let path = PathBuf::from(dir).join(locale).join("network.json");
            std::fs::read_to_string(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?
        }
        None => pack(locale)?.file("network.json")?.to_string(),
    };
    serde_json::from_str(&text)
        .map_err(|e| Error::InvalidLocalePack { locale: locale.into(), reason: format!("network.json: {e}") })
}

/// The model of each embedded pack, in name order (packs that fail to load are left out).
pub fn all_models() -> Vec<Arc<LocaleModel>> {
    available().iter().filter_map(|l| model(l).ok()).collect()
}

fn poisoned() -> Error {
    Error::InvalidLocalePack { locale: "*".into(), reason: "model cache poisoned by an earlier panic".into() }
}

/// Builds a model from an embedded pack.
pub fn load_embedded(pack: &LocalePack) -> Result<LocaleModel> {
    let spec: NetworkSpec = serde_json::from_str(pack.file("network.json")?)
        .map_err(|e| Error::InvalidLocalePack { locale: pack.locale.into(), reason: format!("network.json: {e}") })?;
    LocaleModel::from_spec(spec, &|name| pack.file(name).map(str::to_string))
}

/// Builds a model from a pack directory.
pub fn load_dir(dir: &std::path::Path, locale: &str) -> Result<LocaleModel> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| Error::io(format!("reading {}", dir.join(name).display()), e))
    };
    let spec: NetworkSpec = serde_json::from_str(&read("network.json")?)
        .map_err(|e| Error::InvalidLocalePack { locale: locale.into(), reason: format!("network.json: {e}") })?;
    LocaleModel::from_spec(spec, &read)
}
