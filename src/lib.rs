//! personadb: an embedded database of census-grounded synthetic personas.
//!
//! Data flow: a locale pack (`datasets/<locale>/`, embedded) loads into a [`model::LocaleModel`]
//! (a Bayesian network with alias tables) that samples Arrow batches; [`generate`] writes them to
//! Lance datasets in a [`database::Database`] directory; [`session::PersonaSession`] queries the
//! tables with DataFusion SQL plus personadb's functions (crate `personadb-udfs`).

pub mod backends;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod columns;
pub mod database;
pub mod derive;
pub mod diversity;
pub mod embed;
pub mod env;
pub mod error;
pub mod format;
pub mod generate;
pub mod hash;
pub mod hot;
pub mod import;
pub mod index;
pub mod llm;
pub mod locale;
pub mod model;
pub mod narrate;
pub mod output_path;
pub mod plots;
pub mod protected;
pub mod remote;
pub mod report;
pub mod search;
pub mod serve;
pub mod session;
pub mod storage;
pub mod stratify;
pub mod window_topk;

pub use database::{Database, WriteKind};
pub use error::{Error, Result};
pub use generate::{generate, GenerateOptions, GenerateReport};
pub use session::PersonaSession;
