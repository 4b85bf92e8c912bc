//! The command line's arguments (clap): every command and its options, with the help text
//! `personadb --help` prints. Parsing only; each command's work is in its own module of [`crate::cli`].
//! Kept whole (about 350 lines): one place to read every option of the tool.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::database::{Database, DEFAULT_DB};
use crate::format::{OutputFormat, ResultSink};

#[derive(Parser, Debug)]
#[command(
    name = "personadb",
    version,
    about = "An embedded database of census-grounded synthetic personas, queried with SQL."
)]
pub struct Cli {
    /// Database directory, or `s3://bucket/prefix` on S3-compatible object storage (created if
    /// absent; credentials and endpoint from the AWS_* variables and PERSONADB_STORAGE_OPTIONS).
    #[arg(long, global = true, env = "PERSONADB_DB", default_value = DEFAULT_DB)]
    pub db: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run SQL statements and print the result of each query.
    Sql(SqlArgs),
    /// Interactive SQL shell: statements end with `;`, `.help` for commands.
    Shell(ShellArgs),
    /// Serve the database over the PostgreSQL wire protocol (psql, psycopg, pandas, BI tools)
    /// until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Generate personas from a locale model into a table.
    Generate(GenerateArgs),
    /// List the database's tables with their row counts.
    Tables(FormatArg),
    /// Check that the database is whole: catalog and tables agree, every fragment reads back.
    /// Exit code 1 while a problem remains.
    Check {
        /// Mend what can be mended without losing a readable row (see the report).
        #[arg(long)]
        repair: bool,
    },
    /// List generation runs (newest first), or the failed personas of one run.
    Runs(RunsArgs),
    /// Find the personas whose narrative is nearest in meaning to a text.
    Search(SearchArgs),
    /// Add or replace the embedding column of a narrative field, resumably: e.g. upgrade
    /// `persona` from the static tier to the transformer in the background.
    Embed(EmbedArgs),
    /// Build or update a table's vector indexes (one per embedding column) and full-text
    /// indexes (one per narrative prose column).
    Index(IndexArgs),
    /// Import a persona dataset (a Nemotron-Personas export: .parquet or .csv, or a folder of
    /// them): values checked against the locale's vocabularies, narratives embedded, indexes
    /// built, provenance (files, SHA-256, rows) in the catalog; then `report --table T`.
    Import(ImportArgs),
    /// Report on a table (Markdown): fidelity to its locale's source statistics; with
    /// --narratives the narrative consistency checker; with --diversity the diversity audit.
    Report(ReportArgs),
    /// Derive a locale pack's tables from raw official statistics (the project's own tool).
    Derive(DeriveArgs),
    /// The embedding models: list them, or distill the static models from the transformers.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// List the locales compiled in: name and aliases, description, columns, sources.
    Locales {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run a cluster process: a scheduler, or an executor that joins one (Apache DataFusion
    /// Ballista, with personadb's tables, functions and locale packs).
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Print the reference of personadb's SQL functions.
    Functions {
        /// Print the Markdown reference (docs/sql-functions.md).
        #[arg(long)]
        markdown: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// The scheduler: plans queries and generation runs and hands their tasks to executors.
    Scheduler {
        /// Address to listen on (loopback by default; a cluster across machines binds an
        /// address the executors and clients reach).
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: std::net::SocketAddr,
        /// Seconds without a heartbeat after which an executor is taken for lost and its
        /// tasks (and the results it held) are run again elsewhere.
        #[arg(long, default_value_t = 180)]
        executor_timeout_s: u64,
    },
    /// An executor: runs tasks (table scans, persona sampling, narration, embedding, writing
    /// Lance fragments) for a scheduler.
    Executor {
        /// The scheduler, `df://HOST:PORT`.
        #[arg(long, default_value = "df://127.0.0.1:50050")]
        scheduler: String,
        /// Host to listen on and to give the scheduler (loopback by default).
        #[arg(long, default_value = "127.0.0.1")]
        bind_host: String,
        /// Port of its Arrow Flight service (task results, shuffle data).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// Port the scheduler sends tasks to.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Tasks it runs at once (default: its cores).
        #[arg(long, default_value_t = 0)]
        tasks: usize,
        /// Directory for its shuffle files (default: a temporary directory).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Seconds between its heartbeats to the scheduler (keep it well below the scheduler's
        /// --executor-timeout-s).
        #[arg(long, default_value_t = 60)]
        heartbeat_s: u64,
    },
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// What to look for, in plain words: "retired nurse who loves gardening".
    pub query: String,
    /// The narrative field to search (its text, its `<field>_embedding` column, or both by
    /// --mode), e.g. persona, professional_persona, culinary_persona.
    #[arg(long, default_value = "persona")]
    pub field: String,
    /// How to rank: vector (nearest in meaning, the field's embedding), text (BM25 over the
    /// field's words), or hybrid (both, fused by reciprocal rank).
    #[arg(long, default_value = "vector", value_parser = ["vector", "text", "hybrid"])]
    pub mode: String,
    /// How many personas.
    #[arg(short = 'k', long, default_value_t = 10)]
    pub k: u64,
    /// Only personas matching this SQL condition, e.g. "state = 'OH' AND age > 60"; the k
    /// best among them are returned.
    #[arg(long = "where")]
    pub filter: Option<String>,
    /// The table to search.
    #[arg(long, default_value = "personas")]
    pub table: String,
    /// Columns to show besides distance or score and the field (comma-separated; default: name, age,
    /// sex, state, occupation where present).
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Characters of the field's text to show (0: all of it).
    #[arg(long, default_value_t = 160)]
    pub width: usize,
    #[command(flatten)]
    pub format: FormatArg,
}

#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// The table.
    #[arg(long, default_value = "personas")]
    pub table: String,
    /// The text column to embed (a narrative field), e.g. persona, culinary_persona.
    #[arg(long)]
    pub field: String,
    /// The model, by name or alias (`personadb models list`); default: the static model of
    /// the table's narrative language.
    #[arg(long)]
    pub model: Option<String>,
    /// The embedding column to write (default: <field>_embedding).
    #[arg(long)]
    pub column: Option<String>,
    /// Recompute even when the column already holds this model's embeddings.
    #[arg(long)]
    pub force: bool,
    /// How the column stores its numbers: float16 (half the bytes) or float32. Default: as
    /// the column it replaces, float16 for a new one.
    #[arg(long, value_enum)]
    pub vector_type: Option<crate::columns::VectorType>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct IndexArgs {
    /// The table to index.
    #[arg(long, default_value = "personas")]
    pub table: String,
    /// Vector index kind: ivf-pq (default, chosen by measurement: benches/README.md) or ivf-hnsw-sq.
    #[arg(long, default_value = "ivf-pq")]
    pub kind: crate::index::VectorIndexKind,
    /// Retrain existing indexes from scratch instead of adding new rows to them.
    #[arg(long)]
    pub rebuild: bool,
    /// Build vector indexes even on small tables (below 5,000 rows exact search is as fast).
    #[arg(long)]
    pub force: bool,
    /// Skip the full-text indexes.
    #[arg(long)]
    pub no_full_text: bool,
}

#[derive(Args, Debug)]
pub struct FormatArg {
    /// Output format: table, csv, json, jsonl, parquet (default: table, or what --out's
    /// extension names; parquet needs --out).
    #[arg(long, short = 'o')]
    pub format: Option<OutputFormat>,
    /// Write the result to FILE instead of the terminal (written whole or not at all).
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl FormatArg {
    pub fn sink(&self, db: &Database) -> Result<ResultSink> {
        Ok(ResultSink::new(self.format, self.out.clone(), db.dir())?)
    }
}

#[derive(Args, Debug)]
pub struct SqlArgs {
    /// The SQL to run (one or more statements separated by `;`).
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub query: Option<String>,
    /// Read the SQL from a file instead.
    #[arg(long, short = 'f')]
    pub file: Option<PathBuf>,
    /// Leave protected attributes out of what is written, results and COPY files alike: the
    /// columns each locale pack lists (race, ethnicity, religion), plus any named here
    /// (`--drop-protected=sex,age`). Narrative fields are kept.
    #[arg(long, value_name = "COLUMNS", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub drop_protected: Option<String>,
    /// Run the statements on an Apache DataFusion Ballista cluster (`personadb cluster`),
    /// `df://HOST:PORT`: queries, SET and `INSERT INTO … SELECT` (the select runs on the executors,
    /// this process appends the rows). The database must be one every executor reaches.
    #[arg(long, value_name = "df://HOST:PORT", env = "PERSONADB_CLUSTER", conflicts_with = "drop_protected")]
    pub cluster: Option<String>,
    #[command(flatten)]
    pub format: FormatArg,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback needs a password.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// TCP port (0: any free port, printed at start).
    #[arg(long, default_value_t = 5432)]
    pub port: u16,
    /// Refuse every statement that would change the database.
    #[arg(long)]
    pub read_only: bool,
    /// Read the password clients must give (SCRAM-SHA-256, any user name) from the first line
    /// of this file. PERSONADB_PASSWORD sets it too; without either the server is loopback-only
    /// and open to every local user.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Seconds that statements in flight may run on after SIGTERM before connections close.
    #[arg(long, default_value_t = 10)]
    pub grace: u64,
    /// Run statements on an Apache DataFusion Ballista cluster (`personadb cluster`),
    /// `df://HOST:PORT`: queries, SET and `INSERT INTO … SELECT`; other statements are refused.
    /// The database must be one every executor reaches.
    #[arg(long, value_name = "df://HOST:PORT", env = "PERSONADB_CLUSTER")]
    pub cluster: Option<String>,
    #[command(flatten)]
    pub cache: CacheArg,
}

/// The decoded-column cache of a long-lived session.
#[derive(Args, Debug, Clone, Copy)]
pub struct CacheArg {
    /// Memory for decoded columns kept between statements, in MiB (least recently used out;
    /// 0: none). Persona attribute columns and the vectors of filtered searches are kept;
    /// narratives are read from disk. Default: a quarter of the machine's memory, at most 8 GiB.
    #[arg(long, value_name = "MB")]
    pub cache_mb: Option<u64>,
}

impl CacheArg {
    /// The cache these options ask for (none for 0).
    pub fn cache(&self) -> Option<std::sync::Arc<crate::hot::HotCache>> {
        let bytes = match self.cache_mb {
            Some(mb) => usize::try_from(mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
            None => crate::hot::HotCache::default_budget(),
        };
        (bytes > 0).then(|| crate::hot::HotCache::new(bytes))
    }
}

#[derive(Args, Debug)]
pub struct ShellArgs {
    #[command(flatten)]
    pub format: FormatArg,
    #[command(flatten)]
    pub cache: CacheArg,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Locale model to sample from.
    #[arg(long, default_value = "us")]
    pub locale: String,
    /// Number of personas.
    #[arg(short = 'n', long = "count", required_unless_present = "resume")]
    pub n: Option<u64>,
    /// Random seed: the same seed gives the same rows.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Target table.
    #[arg(long, default_value = "personas")]
    pub table: String,
    /// Condition on a SQL boolean expression over persona columns, e.g. "state = 'OH' AND age >= 65".
    #[arg(long, default_value = "")]
    pub given: String,
    /// Add to the table if it exists.
    #[arg(long, conflicts_with = "replace")]
    pub append: bool,
    /// Replace the table if it exists.
    #[arg(long)]
    pub replace: bool,
    /// Sampling threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Quota generation: give every combination of these columns its share of -n, e.g. state,sex.
    #[arg(long, value_delimiter = ',')]
    pub strata: Vec<String>,
    /// How -n is divided among strata: equal or proportional (to the population).
    #[arg(long, default_value = "equal", requires = "strata")]
    pub allocation: crate::generate::Allocation,
    /// Who writes the narrative fields (persona, professional_persona, ..., skills and hobbies
    /// lists): `template` (the default) is the offline narrator; `none` writes the structured
    /// columns only. `llm` asks an OpenAI-compatible server, configured by --llm-config or the
    /// environment (PERSONADB_LLM_BASE_URL, PERSONADB_LLM_MODEL, PERSONADB_LLM_API_KEY or
    /// OPENAI_API_KEY, ...).
    #[arg(long, default_value = "template", value_parser = ["none", "template", "llm"])]
    pub narrator: String,
    /// The narrative language, for a locale that writes several (`in`: en, hi-Deva, hi-Latn;
    /// `personadb locales`). The same seed gives the same persons in every language; only the
    /// narratives differ. Default: the language the locale name selects (`hi_Deva_IN`), else
    /// the pack's first.
    #[arg(long)]
    pub language: Option<String>,
    /// With a narrator, also store a `<field>_embedding` vector column for these narrative
    /// fields, e.g. persona,professional_persona; `all` (the default) embeds every prose
    /// field, `none` skips embedding.
    #[arg(long, value_delimiter = ',')]
    pub embed: Vec<String>,
    /// The embedding model of those columns (`personadb models list`). Default: the static
    /// model distilled from the language's transformer (256 dimensions, hundreds of thousands
    /// of texts per second), or the model a table's columns already hold when appending. A
    /// transformer (all-MiniLM-L6-v2 for English, multilingual-e5-small otherwise) embeds
    /// better but at ~50–250 texts/s on 2 cores: pick it for a few fields, or upgrade later.
    #[arg(long)]
    pub embed_model: Option<String>,
    /// How the embedding columns store their numbers: float16 (half the bytes, the same search
    /// results: benches/README.md) or float32. Appending keeps the table's.
    #[arg(long, value_enum, default_value_t = crate::columns::VectorType::Float16)]
    pub vector_type: crate::columns::VectorType,
    /// JSON config file of the LLM narrator (base_url, model, api_key_env, max_concurrency,
    /// timeout_s, max_retries, max_reasks, temperature, max_tokens, structured_output, prompts).
    #[arg(long, env = "PERSONADB_LLM_CONFIG")]
    pub llm_config: Option<PathBuf>,
    /// Rows per commit: a crash loses at most this much work (default 1,048,576; 128 with
    /// --narrator llm).
    #[arg(long)]
    pub commit_rows: Option<u64>,
    /// Finish an interrupted run (its id is printed when it starts and listed by
    /// `personadb runs`): committed rows are kept, the rest are generated as the run would
    /// have; every other option comes from the run.
    #[arg(long, value_name = "RUN_ID", conflicts_with_all = ["n", "append", "replace", "strata", "given"])]
    pub resume: Option<i64>,
    /// Make and write the rows on an Apache DataFusion Ballista cluster (`personadb cluster`),
    /// `df://HOST:PORT`; this process commits them. The database must be one every executor
    /// reaches (`--db s3://…`, or a directory they share). With --resume: resume there.
    #[arg(long, value_name = "df://HOST:PORT", env = "PERSONADB_CLUSTER")]
    pub cluster: Option<String>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct RunsArgs {
    /// Show the personas of this run whose narration failed, with the reasons.
    #[arg(long, value_name = "RUN_ID")]
    pub failures: Option<i64>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// A .parquet or .csv file, or a folder of them (read in name order, same columns).
    pub path: PathBuf,
    /// The locale whose columns and vocabularies the files follow (us, br, sg, in, jp or an
    /// alias such as hi_Deva_IN).
    #[arg(long)]
    pub locale: String,
    /// The table to write.
    #[arg(long, default_value = "imported")]
    pub table: String,
    /// Add the rows to an existing table.
    #[arg(long, conflicts_with = "replace")]
    pub append: bool,
    /// Overwrite the table if it exists.
    #[arg(long)]
    pub replace: bool,
    /// Keep values outside the locale's vocabulary (listed in the summary and the catalog)
    /// instead of refusing the import.
    #[arg(long)]
    pub allow_unknown: bool,
    /// Narrative fields to embed: comma-separated, `all` (the default: every prose field
    /// present) or `none`.
    #[arg(long, default_value = "all")]
    pub embed: String,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Table to examine.
    #[arg(long, default_value = "personas")]
    pub table: String,
    /// Locale the personas come from (default: the table's locale in the catalog).
    #[arg(long)]
    pub locale: Option<String>,
    /// Write the report (Markdown) to this file instead of standard output, with its plots
    /// (age pyramid, education by age, top occupations) as SVG files beside it; its folder is
    /// created if absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Check every row's narratives against its own attributes and the locale's rules
    /// (`narrative/<lang>/rules.json`) instead: violations per rule, with examples.
    #[arg(long)]
    pub narratives: bool,
    /// With --narratives: the narrative language of the table (default: detected from the
    /// text, else the locale's first).
    #[arg(long, requires = "narratives")]
    pub language: Option<String>,
    /// With --narratives: examples to show per rule.
    #[arg(long, default_value_t = 3, requires = "narratives")]
    pub examples: usize,
    /// Audit the diversity of one narrative field instead: per group, the share of rows whose
    /// nearest neighbour by the field's embedding is a near duplicate, the mean nearest-neighbour
    /// distance, distinct-n-gram ratios, repeated sentences (with --out, SVG plots beside it).
    #[arg(long, conflicts_with = "narratives")]
    pub diversity: bool,
    /// With --diversity: the narrative field (its embedding is <field>_embedding).
    #[arg(long, default_value = "persona", requires = "diversity")]
    pub field: String,
    /// With --diversity: group by these columns, comma-separated (`age_band`: ages in decades).
    #[arg(long, value_delimiter = ',', requires = "diversity")]
    pub by: Vec<String>,
    /// With --diversity: cosine similarity at or above which a nearest neighbour is a near duplicate.
    #[arg(long, default_value_t = personadb_udfs::near_duplicates::DEFAULT_THRESHOLD, requires = "diversity")]
    pub threshold: f64,
    /// With --diversity: texts per group for the text figures (a seeded sample).
    #[arg(long, default_value_t = 1000, requires = "diversity")]
    pub sample: usize,
    /// With --diversity: seed of the text samples and of the neighbour index.
    #[arg(long, default_value_t = 0, requires = "diversity")]
    pub seed: u64,
}

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// List the embedding models: name, kind, languages, whether installed.
    List,
    /// Distill the static embedding models (one per transformer) into the models folder:
    /// every vocabulary token embedded by the transformer, reduced by PCA, weighted by its
    /// frequency in template narratives. `./setup.sh` runs it.
    Distill {
        /// Only this static model (default: every one whose transformer is installed).
        #[arg(long)]
        model: Option<String>,
        /// Personas per locale language whose narratives give the token frequencies.
        #[arg(long, default_value_t = 20_000)]
        personas: usize,
        /// Distill again even if the model is there.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args, Debug)]
pub struct DeriveArgs {
    /// Locale to derive.
    #[arg(long, default_value = "us")]
    pub locale: String,
    /// Directory of raw official statistics.
    #[arg(long, default_value = "../shared/data")]
    pub raw: PathBuf,
    /// Output directory (default: datasets/<locale>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only check the embedded manifest's SHA-256 of each raw input against --raw.
    #[arg(long)]
    pub check: bool,
}
