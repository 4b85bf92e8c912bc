//! The engine's error type: one enum whose variants carry what went wrong and where,
//! so the CLI can print a one-line message that names the culprit.

use std::path::PathBuf;

/// Errors from the personadb engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path} is not a personadb database: {reason}")]
    NotADatabase { path: PathBuf, reason: String },

    #[error(
        "database {path} has schema version {found}, newer than this personadb supports ({supported}); upgrade personadb"
    )]
    NewerSchema { path: PathBuf, found: i64, supported: i64 },

    #[error("table '{name}' not found")]
    TableNotFound { name: String },

    #[error("table '{name}' already exists")]
    TableExists { name: String },

    #[error("invalid table name '{name}': use letters, digits and underscores, starting with a letter or underscore")]
    InvalidTableName { name: String },

    #[error("unknown locale '{locale}' (available: {available})")]
    UnknownLocale { locale: String, available: String },

    #[error("locale pack '{locale}' is invalid: {reason}")]
    InvalidLocalePack { locale: String, reason: String },

    #[error("evidence '{given}' is impossible: no persona of locale '{locale}' satisfies it")]
    ImpossibleEvidence { locale: String, given: String },

    #[error("invalid argument {name}: {reason}")]
    InvalidArgument { name: String, reason: String },

    #[error("derivation of {source_file} failed: {reason}")]
    Derivation { source_file: String, reason: String },

    #[error("unsupported statement: {0}")]
    Unsupported(String),

    #[error("catalog error in {path}: {source}")]
    Catalog { path: PathBuf, #[source] source: rusqlite::Error },

    #[error("{context}: {source}")]
    Io { context: String, #[source] source: std::io::Error },

    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),

    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),

    #[error("lance: {0}")]
    Lance(#[from] lance::Error),
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}

impl From<Error> for datafusion::error::DataFusionError {
    fn from(e: Error) -> Self {
        match e {
            Error::DataFusion(e) => e,
            other => datafusion::error::DataFusionError::External(Box::new(other)),
        }
    }
}
