//! Text embeddings: the [`Embedder`] trait, its fastembed implementation — ONNX Runtime
//! loaded dynamically (`ORT_DYLIB_PATH`), models from the registry packages laid out by
//! `./setup.sh`, mean pooling, unit-length vectors — and the registry of models by the name
//! the catalog records with every embedding column ([`by_name`]): all-MiniLM-L6-v2 for
//! English, multilingual-e5-small for the other languages (with its `query: ` / `passage: `
//! prefixes). Texts are embedded in batches sorted by length (less padding), off the async
//! runtime.

pub mod column;
pub mod distill;
pub mod static_model;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use fastembed::{InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel};

pub use static_model::StaticEmbedder;

use crate::error::{Error, Result};

/// Turns texts into vectors.
pub trait Embedder: Send + Sync {
    /// The model's name, recorded with every embedding column.
    fn model(&self) -> &str;
    /// Vector length.
    fn dimension(&self) -> usize;
    /// Embeds `texts`, documents to be searched (blocking: call from a blocking thread, or use
    /// [`embed_async`]).
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
    /// Embeds search queries (models trained with query and passage prefixes treat them
    /// differently; the others as documents).
    fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed(texts)
    }
}

/// A model the registry knows: its recorded name, other names, folder under the models
/// directory, prefixes and longest input.
#[derive(Debug, Clone, Copy)]
pub struct ModelSpec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub folder: &'static str,
    pub query_prefix: &'static str,
    pub passage_prefix: &'static str,
    pub max_length: usize,
    pub languages: &'static str,
    pub kind: ModelKind,
}

/// How a model embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// A transformer run by ONNX Runtime.
    Transformer,
    /// A static model distilled from the transformer named (token vectors, pooled): fast.
    Static { base: &'static str, dimension: usize },
}

/// The models `./setup.sh` installs: two transformers, and a static model distilled from each.
pub const MODELS: [ModelSpec; 4] = [
    ModelSpec {
        name: DEFAULT_MODEL,
        aliases: &["all-MiniLM-L6-v2", "all-minilm-l6-v2"],
        folder: "all-MiniLM-L6-v2",
        query_prefix: "",
        passage_prefix: "",
        max_length: 256,
        languages: "English",
        kind: ModelKind::Transformer,
    },
    ModelSpec {
        name: MULTILINGUAL_MODEL,
        aliases: &["multilingual-e5-small", "e5"],
        folder: "multilingual-e5-small",
        query_prefix: "query: ",
        passage_prefix: "passage: ",
        max_length: 512,
        languages: "about 100 languages (Portuguese, Japanese, Hindi, ...)",
        kind: ModelKind::Transformer,
    },
    ModelSpec {
        name: STATIC_MODEL,
        aliases: &["static-all-MiniLM-L6-v2", "static", "static-en"],
        folder: "static-all-MiniLM-L6-v2",
        query_prefix: "",
        passage_prefix: "",
        max_length: 0,
        languages: "English",
        kind: ModelKind::Static { base: DEFAULT_MODEL, dimension: STATIC_DIMENSION },
    },
    ModelSpec {
        name: STATIC_MULTILINGUAL_MODEL,
        aliases: &["static-multilingual-e5-small", "static-multilingual"],
        folder: "static-multilingual-e5-small",
        query_prefix: "",
        passage_prefix: "",
        max_length: 0,
        languages: "about 100 languages (Portuguese, Japanese, Hindi, ...)",
        kind: ModelKind::Static { base: MULTILINGUAL_MODEL, dimension: STATIC_DIMENSION },
    },
];

/// Name of the multilingual model.
pub const MULTILINGUAL_MODEL: &str = "intfloat/multilingual-e5-small";

/// Names of the static models distilled from each transformer.
pub const STATIC_MODEL: &str = "personadb/static-all-MiniLM-L6-v2";
pub const STATIC_MULTILINGUAL_MODEL: &str = "personadb/static-multilingual-e5-small";

/// The static models' dimension (after PCA).
pub const STATIC_DIMENSION: usize = 256;

/// The static model distilled from the transformer `base` (a name or alias).
pub fn static_of(base: &str) -> Result<&'static ModelSpec> {
    let base = spec(base)?;
    if let ModelKind::Static { .. } = base.kind {
        return Ok(base);
    }
    MODELS
        .iter()
        .find(|m| matches!(m.kind, ModelKind::Static { base: b, .. } if b == base.name))
        .ok_or_else(|| embed_error(format!("no static model is distilled from {}", base.name)))
}

/// The registry entry of a model name or alias.
pub fn spec(name: &str) -> Result<&'static ModelSpec> {
    MODELS
        .iter()
        .find(|m| m.name.eq_ignore_ascii_case(name) || m.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
        .ok_or_else(|| {
            embed_error(format!(
                "unknown embedding model '{}' (known: {})",
                crate::error::shorten(name, 60),
                MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
            ))
        })
}

/// The folder holding the models: `PERSONADB_MODELS`, else the parent of
/// `PERSONADB_MODEL_DIR` (environment, else the setup's env file).
fn models_dir() -> Result<PathBuf> {
    if let Some(dir) = crate::env::setting("PERSONADB_MODELS") {
        return Ok(PathBuf::from(dir));
    }
    let dir = crate::env::setting("PERSONADB_MODEL_DIR").ok_or_else(|| {
        embed_error("PERSONADB_MODELS is not set (run ./setup.sh, or point it at the models folder)".into())
    })?;
    Ok(Path::new(&dir).parent().map(Path::to_path_buf).unwrap_or_default())
}

/// The embedder of a model by name or alias (the name the catalog records), loaded once per
/// process: no global default, so a column is always embedded and searched by its own model.
pub fn by_name(name: &str) -> Result<Arc<dyn Embedder>> {
    let spec = spec(name)?;
    static LOADED: OnceLock<Mutex<Vec<(&'static str, std::result::Result<Arc<dyn Embedder>, String>)>>> =
        OnceLock::new();
    let loaded = LOADED.get_or_init(Default::default);
    let mut loaded = loaded.lock().map_err(|_| embed_error("the model registry is poisoned".into()))?;
    if let Some((_, m)) = loaded.iter().find(|(n, _)| *n == spec.name) {
        return m.clone().map_err(embed_error);
    }
    let load = || -> Result<Arc<dyn Embedder>> {
        if let ModelKind::Static { .. } = spec.kind {
            let dir = models_dir()?.join(spec.folder);
            return Ok(Arc::new(StaticEmbedder::load(&dir, spec.name)?));
        }
        let dir = model_dir(spec)?;
        Ok(Arc::new(FastEmbedder::load_spec(&ort_library()?, &dir, spec)?))
    };
    let model = load().map_err(|e| e.to_string());
    loaded.push((spec.name, model.clone()));
    model.map_err(embed_error)
}

/// The folder of a model of the registry.
pub fn model_dir(spec: &ModelSpec) -> Result<PathBuf> {
    Ok(match (spec.name, crate::env::setting("PERSONADB_MODEL_DIR")) {
        (DEFAULT_MODEL, Some(dir)) => PathBuf::from(dir),
        _ => models_dir()?.join(spec.folder),
    })
}

/// The ONNX Runtime library `./setup.sh` installed (`ORT_DYLIB_PATH`).
fn ort_library() -> Result<PathBuf> {
    crate::env::setting("ORT_DYLIB_PATH").map(PathBuf::from).ok_or_else(|| {
        embed_error("ORT_DYLIB_PATH is not set (run ./setup.sh, or point it at libonnxruntime.so)".into())
    })
}

/// The process's ONNX Runtime environment (ONNX Runtime allows one per process), shared by the
/// transformer embedders and the distiller.
pub(crate) fn ort_environment() -> Result<ort::environment::Environment> {
    ort_environment_from(&ort_library()?)
}

/// The process's ONNX Runtime environment, loading the library from `library` first.
fn ort_environment_from(library: &Path) -> Result<ort::environment::Environment> {
    static ENVIRONMENT: Mutex<Option<ort::environment::Environment>> = Mutex::new(None);
    init_ort(library)?;
    let mut env = ENVIRONMENT.lock().map_err(|_| embed_error("ONNX Runtime loading is poisoned".into()))?;
    if let Some(e) = env.as_ref() {
        return Ok(e.clone());
    }
    let built = std::panic::catch_unwind(|| ort::init().build())
        .map_err(|_| embed_error("ONNX Runtime failed to start".into()))?
        .map_err(|e| embed_error(format!("ONNX Runtime: {e}")))?;
    *env = Some(built.clone());
    Ok(built)
}

/// Embeds on a blocking thread, off the async runtime.
pub async fn embed_async(embedder: Arc<dyn Embedder>, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        embedder.embed(&refs)
    })
    .await
    .map_err(|e| embed_error(format!("the embedding task failed: {e}")))?
}

/// Embeds search queries on a blocking thread, off the async runtime.
pub async fn embed_queries_async(embedder: Arc<dyn Embedder>, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        embedder.embed_queries(&refs)
    })
    .await
    .map_err(|e| embed_error(format!("the embedding task failed: {e}")))?
}

pub(crate) fn embed_error(reason: String) -> Error {
    Error::InvalidArgument { name: "embedding model".into(), reason }
}

/// The fastembed embedder.
pub struct FastEmbedder {
    name: String,
    dimension: usize,
    batch_size: usize,
    query_prefix: &'static str,
    passage_prefix: &'static str,
    model: Mutex<TextEmbedding>,
}

/// Name of the default model (the one `./setup.sh` installs).
pub const DEFAULT_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";

impl FastEmbedder {
    /// The English model `./setup.sh` installed: ONNX Runtime from `ORT_DYLIB_PATH`, the model
    /// folder from `PERSONADB_MODEL_DIR` (environment, else the setup's env file). Loaded once
    /// per process.
    pub fn shared() -> Result<Arc<dyn Embedder>> {
        by_name(DEFAULT_MODEL)
    }

    /// Loads ONNX Runtime from `ort_library` and the model in `model_dir` (`model.onnx`,
    /// `tokenizer.json`, `config.json`, `special_tokens_map.json`, `tokenizer_config.json`).
    pub fn load(ort_library: &Path, model_dir: &Path) -> Result<FastEmbedder> {
        let name = model_dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let spec = MODELS.iter().find(|m| m.folder == name).unwrap_or(&MODELS[0]);
        FastEmbedder::load_spec(ort_library, model_dir, spec)
    }

    /// Loads a model of the registry from `model_dir`.
    pub fn load_spec(ort_library: &Path, model_dir: &Path, spec: &ModelSpec) -> Result<FastEmbedder> {
        init_ort(ort_library)?;
        let read = |name: &str| -> Result<Vec<u8>> {
            let path = model_dir.join(name);
            std::fs::read(&path).map_err(|e| embed_error(format!("cannot read {}: {e}", path.display())))
        };
        let tokenizer_files = TokenizerFiles {
            tokenizer_file: read("tokenizer.json")?,
            config_file: read("config.json")?,
            special_tokens_map_file: read("special_tokens_map.json")?,
            tokenizer_config_file: read("tokenizer_config.json")?,
        };
        let config: serde_json::Value = serde_json::from_slice(&tokenizer_files.config_file)
            .map_err(|e| embed_error(format!("{}: {e}", model_dir.join("config.json").display())))?;
        let dimension = config["hidden_size"]
            .as_u64()
            .filter(|d| *d > 0)
            .ok_or_else(|| embed_error(format!("{} has no hidden_size", model_dir.join("config.json").display())))?
            as usize;
        let name = spec.name.to_string();
        let model = UserDefinedEmbeddingModel::new(read("model.onnx")?, tokenizer_files).with_pooling(Pooling::Mean);
        let environment = ort_environment_from(ort_library)?;
        let options = InitOptionsUserDefined::new().with_max_length(spec.max_length).with_environment(environment);
        // A broken model file can make ONNX Runtime's bindings panic: contain it.
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            TextEmbedding::try_new_from_user_defined(model, options)
        }))
        .map_err(|_| embed_error(format!("ONNX Runtime failed on {}", model_dir.join("model.onnx").display())))?;
        let model = built.map_err(|e| embed_error(format!("{}: {e}", model_dir.display())))?;
        Ok(FastEmbedder {
            name,
            dimension,
            batch_size: 32,
            query_prefix: spec.query_prefix,
            passage_prefix: spec.passage_prefix,
            model: Mutex::new(model),
        })
    }
}

/// Loads the ONNX Runtime library once per process (a missing or wrong file is an error here,
/// not a panic at first use).
fn init_ort(library: &Path) -> Result<()> {
    static LOADED: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut loaded = LOADED.lock().map_err(|_| embed_error("ONNX Runtime loading is poisoned".into()))?;
    if let Some(path) = loaded.as_ref() {
        if path != library {
            return Err(embed_error(format!(
                "ONNX Runtime is already loaded from {} in this process; cannot switch to {}",
                path.display(),
                library.display()
            )));
        }
        return Ok(());
    }
    if !library.is_file() {
        return Err(embed_error(format!("ONNX Runtime library {} does not exist", library.display())));
    }
    let builder = std::panic::catch_unwind(|| ort::init_from(library))
        .map_err(|_| embed_error(format!("{} is not a usable ONNX Runtime library", library.display())))?
        .map_err(|e| embed_error(format!("cannot load ONNX Runtime from {}: {e}", library.display())))?;
    drop(builder);
    *loaded = Some(library.to_path_buf());
    Ok(())
}

impl Embedder for FastEmbedder {
    fn model(&self) -> &str {
        &self.name
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed_prefixed(texts, self.passage_prefix)
    }

    fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed_prefixed(texts, self.query_prefix)
    }
}

impl FastEmbedder {
    fn embed_prefixed(&self, texts: &[&str], prefix: &str) -> Result<Vec<Vec<f32>>> {
        let prefixed: Vec<String>;
        let texts: &[&str] = if prefix.is_empty() {
            texts
        } else {
            prefixed = texts.iter().map(|t| format!("{prefix}{t}")).collect();
            &prefixed.iter().map(String::as_str).collect::<Vec<_>>()
        };
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // Longest first, so each batch pads to similar lengths.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let sorted: Vec<&str> = order.iter().map(|&i| texts[i]).collect();
        let mut model = self.model.lock().map_err(|_| embed_error("the embedding model is poisoned".into()))?;
        let vectors =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.embed(&sorted, Some(self.batch_size))))
                .map_err(|_| embed_error("ONNX Runtime failed while embedding".into()))?
                .map_err(|e| embed_error(e.to_string()))?;
        if vectors.len() != texts.len() || vectors.iter().any(|v| v.len() != self.dimension) {
            return Err(embed_error(format!("the model returned {} vectors of the wrong shape", vectors.len())));
        }
        let mut out = vec![Vec::new(); texts.len()];
        for (v, &i) in vectors.into_iter().zip(&order) {
            out[i] = v;
        }
        Ok(out)
    }
}
