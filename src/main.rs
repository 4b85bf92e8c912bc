//! The `personadb` command line: thin over the library. Parses arguments, calls the engine,
//! prints results. Errors are one line on stderr with exit code 1; a closed pipe is a clean exit.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use personadb::database::{Database, WriteKind, DEFAULT_DB};
use personadb::format::{OutputFormat, ResultSink};
use personadb::{GenerateOptions, PersonaSession};

#[derive(Parser, Debug)]
#[command(
    name = "personadb",
    version,
    about = "An embedded database of census-grounded synthetic personas, queried with SQL."
)]
struct Cli {
    /// Database directory (created if absent).
    #[arg(long, global = true, env = "PERSONADB_DB", default_value = DEFAULT_DB)]
    db: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
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
    /// Fidelity report of a table against its locale's source statistics (Markdown).
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
    /// Print the reference of personadb's SQL functions.
    Functions {
        /// Print the Markdown reference (docs/sql-functions.md).
        #[arg(long)]
        markdown: bool,
    },
}

#[derive(Args, Debug)]
struct SearchArgs {
    /// What to look for, in plain words: "retired nurse who loves gardening".
    query: String,
    /// The narrative field to search (its text, its `<field>_embedding` column, or both by
    /// --mode), e.g. persona, professional_persona, culinary_persona.
    #[arg(long, default_value = "persona")]
    field: String,
    /// How to rank: vector (nearest in meaning, the field's embedding), text (BM25 over the
    /// field's words), or hybrid (both, fused by reciprocal rank).
    #[arg(long, default_value = "vector", value_parser = ["vector", "text", "hybrid"])]
    mode: String,
    /// How many personas.
    #[arg(short = 'k', long, default_value_t = 10)]
    k: u64,
    /// Only personas matching this SQL condition, e.g. "state = 'OH' AND age > 60"; the k
    /// best among them are returned.
    #[arg(long = "where")]
    filter: Option<String>,
    /// The table to search.
    #[arg(long, default_value = "personas")]
    table: String,
    /// Columns to show besides distance or score and the field (comma-separated; default: name, age,
    /// sex, state, occupation where present).
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Characters of the field's text to show (0: all of it).
    #[arg(long, default_value_t = 160)]
    width: usize,
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Args, Debug)]
struct EmbedArgs {
    /// The table.
    #[arg(long, default_value = "personas")]
    table: String,
    /// The text column to embed (a narrative field), e.g. persona, culinary_persona.
    #[arg(long)]
    field: String,
    /// The model, by name or alias (`personadb models list`); default: the static model of
    /// the table's narrative language.
    #[arg(long)]
    model: Option<String>,
    /// The embedding column to write (default: <field>_embedding).
    #[arg(long)]
    column: Option<String>,
    /// Recompute even when the column already holds this model's embeddings.
    #[arg(long)]
    force: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct IndexArgs {
    /// The table to index.
    #[arg(long, default_value = "personas")]
    table: String,
    /// Vector index kind: ivf-pq (default, chosen by measurement: benches/README.md) or ivf-hnsw-sq.
    #[arg(long, default_value = "ivf-pq")]
    kind: personadb::index::VectorIndexKind,
    /// Retrain existing indexes from scratch instead of adding new rows to them.
    #[arg(long)]
    rebuild: bool,
    /// Build vector indexes even on small tables (below 5,000 rows exact search is as fast).
    #[arg(long)]
    force: bool,
    /// Skip the full-text indexes.
    #[arg(long)]
    no_full_text: bool,
}

#[derive(Args, Debug)]
struct FormatArg {
    /// Output format: table, csv, json, jsonl, parquet (default: table, or what --out's
    /// extension names; parquet needs --out).
    #[arg(long, short = 'o')]
    format: Option<OutputFormat>,
    /// Write the result to FILE instead of the terminal (written whole or not at all).
    #[arg(long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
}

impl FormatArg {
    fn sink(&self, db: &Database) -> Result<ResultSink> {
        Ok(ResultSink::new(self.format, self.out.clone(), db.dir())?)
    }
}

#[derive(Args, Debug)]
struct SqlArgs {
    /// The SQL to run (one or more statements separated by `;`).
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    query: Option<String>,
    /// Read the SQL from a file instead.
    #[arg(long, short = 'f')]
    file: Option<PathBuf>,
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Address to listen on. Anything but loopback needs a password.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// TCP port (0: any free port, printed at start).
    #[arg(long, default_value_t = 5432)]
    port: u16,
    /// Refuse every statement that would change the database.
    #[arg(long)]
    read_only: bool,
    /// Read the password clients must give (SCRAM-SHA-256, any user name) from the first line
    /// of this file. PERSONADB_PASSWORD sets it too; without either the server is loopback-only
    /// and open to every local user.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Seconds that statements in flight may run on after SIGTERM before connections close.
    #[arg(long, default_value_t = 10)]
    grace: u64,
}

#[derive(Args, Debug)]
struct ShellArgs {
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Args, Debug)]
struct GenerateArgs {
    /// Locale model to sample from.
    #[arg(long, default_value = "us")]
    locale: String,
    /// Number of personas.
    #[arg(short = 'n', long = "count", required_unless_present = "resume")]
    n: Option<u64>,
    /// Random seed: the same seed gives the same rows.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Target table.
    #[arg(long, default_value = "personas")]
    table: String,
    /// Condition on a SQL boolean expression over persona columns, e.g. "state = 'OH' AND age >= 65".
    #[arg(long, default_value = "")]
    given: String,
    /// Add to the table if it exists.
    #[arg(long, conflicts_with = "replace")]
    append: bool,
    /// Replace the table if it exists.
    #[arg(long)]
    replace: bool,
    /// Sampling threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Quota generation: give every combination of these columns its share of -n, e.g. state,sex.
    #[arg(long, value_delimiter = ',')]
    strata: Vec<String>,
    /// How -n is divided among strata: equal or proportional (to the population).
    #[arg(long, default_value = "equal", requires = "strata")]
    allocation: personadb::generate::Allocation,
    /// Who writes the narrative fields (persona, professional_persona, ..., skills and hobbies
    /// lists): `template` (the default) is the offline narrator; `none` writes the structured
    /// columns only. `llm` asks an OpenAI-compatible server, configured by --llm-config or the
    /// environment (PERSONADB_LLM_BASE_URL, PERSONADB_LLM_MODEL, PERSONADB_LLM_API_KEY or
    /// OPENAI_API_KEY, ...).
    #[arg(long, default_value = "template", value_parser = ["none", "template", "llm"])]
    narrator: String,
    /// The narrative language, for a locale that writes several (`in`: en, hi-Deva, hi-Latn;
    /// `personadb locales`). The same seed gives the same persons in every language; only the
    /// narratives differ. Default: the language the locale name selects (`hi_Deva_IN`), else
    /// the pack's first.
    #[arg(long)]
    language: Option<String>,
    /// With a narrator, also store a `<field>_embedding` vector column for these narrative
    /// fields, e.g. persona,professional_persona; `all` (the default) embeds every prose
    /// field, `none` skips embedding.
    #[arg(long, value_delimiter = ',')]
    embed: Vec<String>,
    /// The embedding model of those columns (`personadb models list`). Default: the static
    /// model distilled from the language's transformer (256 dimensions, hundreds of thousands
    /// of texts per second), or the model a table's columns already hold when appending. A
    /// transformer (all-MiniLM-L6-v2 for English, multilingual-e5-small otherwise) embeds
    /// better but at ~50–250 texts/s on 2 cores: pick it for a few fields, or upgrade later.
    #[arg(long)]
    embed_model: Option<String>,
    /// JSON config file of the LLM narrator (base_url, model, api_key_env, max_concurrency,
    /// timeout_s, max_retries, max_reasks, temperature, max_tokens, structured_output, prompts).
    #[arg(long, env = "PERSONADB_LLM_CONFIG")]
    llm_config: Option<PathBuf>,
    /// Rows per commit: a crash loses at most this much work (default 1,048,576; 128 with
    /// --narrator llm).
    #[arg(long)]
    commit_rows: Option<u64>,
    /// Finish an interrupted run (its id is printed when it starts and listed by
    /// `personadb runs`): committed rows are kept, the rest are generated as the run would
    /// have; every other option comes from the run.
    #[arg(long, value_name = "RUN_ID", conflicts_with_all = ["n", "append", "replace", "strata", "given"])]
    resume: Option<i64>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Args, Debug)]
struct RunsArgs {
    /// Show the personas of this run whose narration failed, with the reasons.
    #[arg(long, value_name = "RUN_ID")]
    failures: Option<i64>,
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// Table to examine.
    #[arg(long, default_value = "personas")]
    table: String,
    /// Locale the personas come from (default: the table's locale in the catalog).
    #[arg(long)]
    locale: Option<String>,
    /// Write the report (Markdown) to this file instead of standard output, with its plots
    /// (age pyramid, education by age, top occupations) as SVG files beside it; its folder is
    /// created if absent.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Check every row's narratives against its own attributes and the locale's rules
    /// (`narrative/<lang>/rules.json`) instead: violations per rule, with examples.
    #[arg(long)]
    narratives: bool,
    /// With --narratives: the narrative language of the table (default: detected from the
    /// text, else the locale's first).
    #[arg(long, requires = "narratives")]
    language: Option<String>,
    /// With --narratives: examples to show per rule.
    #[arg(long, default_value_t = 3, requires = "narratives")]
    examples: usize,
}

#[derive(Subcommand, Debug)]
enum ModelsCommand {
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
struct DeriveArgs {
    /// Locale to derive.
    #[arg(long, default_value = "us")]
    locale: String,
    /// Directory of raw official statistics.
    #[arg(long, default_value = "../shared/data")]
    raw: PathBuf,
    /// Output directory (default: datasets/<locale>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only check the embedded manifest's SHA-256 of each raw input against --raw.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: print as usual.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // A usage error is a user error like any other: one line, exit code 1.
            // clap lists what is missing on the lines after "...not provided:": keep them.
            let text = e.to_string();
            let mut lines = text.lines().map(str::trim);
            let mut first = lines.next().unwrap_or("invalid arguments").trim_start_matches("error: ").to_string();
            if first.ends_with(':') {
                let listed: Vec<&str> = lines.take_while(|l| !l.is_empty()).collect();
                first = format!("{} {}", first, listed.join(", "));
            }
            let _ = writeln!(std::io::stderr(), "error: {first} (see personadb --help)");
            return ExitCode::FAILURE;
        }
    };
    // Before the runtime starts any thread.
    personadb::env::lance_decode_on_every_core();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(&anyhow::Error::from(e)),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {}", personadb::error::user_message(e.as_ref()));
    ExitCode::FAILURE
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.to_string().contains("Broken pipe")
    })
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Sql(args) => {
            let sql = match (&args.query, &args.file) {
                (Some(q), _) => q.clone(),
                (None, Some(f)) => std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?,
                (None, None) => anyhow::bail!("give a query or -f FILE"),
            };
            let db = Database::open(&cli.db)?;
            let mut sink = args.format.sink(&db)?;
            let session = PersonaSession::new(db)?;
            run_sql(&session, &sql, &mut sink).await
        }
        Command::Shell(args) => {
            anyhow::ensure!(args.format.out.is_none(), "--out is for sql, search and tables, not the shell");
            let format = args.format.format.unwrap_or(OutputFormat::Table);
            anyhow::ensure!(
                format != OutputFormat::Parquet,
                "the shell prints to the terminal: -o parquet needs a file"
            );
            shell(Database::open(&cli.db)?, format).await
        }
        Command::Serve(args) => serve(&cli.db, args).await,
        Command::Check { repair } => {
            let report = personadb::check::check(&cli.db, repair).await?;
            print!("{}", personadb::check::render(&report));
            let left =
                report.findings.iter().filter(|f| !matches!(f.action, personadb::check::Action::Repaired(_))).count();
            anyhow::ensure!(left == 0, "{left} problem(s) remain in {}", cli.db.display());
            Ok(())
        }
        Command::Generate(args) => {
            let db = Database::open(&cli.db)?;
            let kind = if args.append {
                WriteKind::Append
            } else if args.replace {
                WriteKind::Replace
            } else {
                WriteKind::Create
            };
            let report = match args.resume {
                Some(run_id) => {
                    eprintln!("resuming run {run_id}");
                    personadb::generate::resume(&db, run_id, !args.quiet).await?
                }
                None => {
                    let narrator: Option<personadb::narrate::NarratorKind> = match args.narrator.as_str() {
                        "none" => None,
                        kind => Some(kind.parse()?),
                    };
                    let llm = narrator == Some(personadb::narrate::NarratorKind::Llm);
                    let locale_name = args.locale.clone();
                    let mut options = GenerateOptions::new(args.locale, args.n.unwrap_or(0))
                        .seed(args.seed)
                        .table(args.table)
                        .given(args.given)
                        .kind(kind)
                        .threads(args.threads)
                        .strata(args.strata, args.allocation)
                        .progress(!args.quiet)
                        .narrator(narrator);
                    options.language = args.language;
                    if llm {
                        options =
                            options.llm(personadb::llm::LlmConfig::load(args.llm_config.as_deref())?).commit_rows(128);
                    }
                    let all = || -> anyhow::Result<Vec<String>> {
                        Ok(personadb::locale::model(&locale_name)?.persona.narrative.fields.clone())
                    };
                    let embed: Vec<String> = if args.embed.iter().any(|f| f == "none") {
                        anyhow::ensure!(args.embed.len() == 1, "--embed none cannot be combined with fields");
                        Vec::new()
                    } else if args.embed.iter().any(|f| f == "all") {
                        all()?
                    } else if args.embed.is_empty() && narrator.is_some() {
                        all()?
                    } else {
                        args.embed
                    };
                    options = options.embed(embed).embed_model(args.embed_model);
                    if let Some(rows) = args.commit_rows {
                        options = options.commit_rows(rows);
                    }
                    personadb::generate(&db, &options).await?
                }
            };
            eprintln!(
                "generated {} personas into '{}' in {:.2}s ({:.0} rows/s); table now has {} rows (version {}, run {})",
                report.written_now,
                report.table,
                report.seconds,
                report.written_now as f64 / report.seconds.max(1e-9),
                report.table_rows,
                report.version,
                report.run_id
            );
            for o in personadb::index::auto_index(&db, &report.table).await? {
                eprintln!("index {} ({}): {} in {:.1}s", o.column, o.kind, o.action, o.seconds);
            }
            if let Some(u) = report.usage {
                eprintln!(
                    "LLM: {} requests, {} prompt + {} completion tokens, {} retries, {} rate-limited, {} timeouts",
                    u.requests, u.prompt_tokens, u.completion_tokens, u.retries, u.rate_limited, u.timeouts
                );
            }
            if report.failed > 0 {
                eprintln!(
                    "{} of {} personas could not be narrated (kept with null narratives; `personadb runs --failures {}` lists them):",
                    report.failed, report.rows, report.run_id
                );
                for (kind, count, example) in &report.failure_kinds {
                    eprintln!("  {count:>6}  {kind}  e.g. {example}");
                }
            }
            Ok(())
        }
        Command::Runs(args) => {
            let db = Database::open(&cli.db)?;
            let catalog = db.catalog()?;
            match args.failures {
                Some(run_id) => {
                    anyhow::ensure!(catalog.run(run_id)?.is_some(), "there is no run {run_id} in this database");
                    println!("row\tuuid\treason");
                    for f in catalog.failures(run_id)? {
                        println!("{}\t{}\t{}", f.row, f.uuid, f.reason);
                    }
                }
                None => {
                    println!("run\ttable\tstatus\trows\trequested\tfailed\tstarted\tseconds");
                    for r in catalog.runs()? {
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                            r.id,
                            r.table_name,
                            r.status,
                            r.rows_written,
                            r.requested,
                            r.failed,
                            r.started_at,
                            r.seconds.map(|s| format!("{s:.1}")).unwrap_or_default()
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Search(args) => {
            let db = Database::open(&cli.db)?;
            let mut sink = args.format.sink(&db)?;
            let session = PersonaSession::new(db)?;
            let query = personadb::search::SearchQuery {
                mode: args.mode.parse().map_err(anyhow::Error::msg)?,
                table: args.table,
                field: args.field,
                text: args.query,
                k: args.k,
                filter: args.filter,
                columns: args.columns,
                width: args.width,
            };
            let stream = query.execute(&session).await?;
            sink.write(stream).await?;
            Ok(())
        }
        Command::Embed(args) => {
            let db = Database::open(&cli.db)?;
            let mut options = personadb::embed::column::EmbedColumnOptions::new(args.table, args.field);
            options.model = args.model;
            options.column = args.column;
            options.force = args.force;
            options.progress = !args.quiet;
            let r = personadb::embed::column::embed_column(&db, &options).await?;
            eprintln!(
                "{}: {} by {} ({} dimensions), {} rows in {:.1}s ({:.0} rows/s){}",
                r.column,
                r.action,
                r.model,
                r.dimension,
                r.rows,
                r.seconds,
                r.rows as f64 / r.seconds.max(1e-9),
                match r.resumed_fragments {
                    0 => String::new(),
                    n => format!(", {n} fragment(s) reused from the interrupted run"),
                }
            );
            if r.action.starts_with("replaced") && r.rows as usize >= personadb::index::MIN_VECTOR_ROWS {
                eprintln!(
                    "its vector index went with the old column: `personadb index --table {}` builds it again",
                    options.table
                );
            }
            Ok(())
        }
        Command::Index(args) => {
            let db = Database::open(&cli.db)?;
            let options = personadb::index::IndexOptions {
                vector_kind: args.kind,
                rebuild: args.rebuild,
                force: args.force,
                full_text: !args.no_full_text,
                vector_columns: None,
            };
            let outcomes = personadb::index::index_table(&db, &args.table, &options).await?;
            if outcomes.is_empty() {
                eprintln!("table '{}' has no embedding or narrative columns to index", args.table);
            }
            for o in outcomes {
                println!("{}\t{}\t{}\t{} rows\t{:.1}s", o.column, o.kind, o.action, o.rows, o.seconds);
            }
            Ok(())
        }
        Command::Tables(f) => {
            let db = Database::open(&cli.db)?;
            let mut sink = f.sink(&db)?;
            let batch = db.summaries().await?;
            let stream = datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                batch.schema(),
                futures::stream::iter([Ok(batch)]),
            );
            sink.write(Box::pin(stream)).await?;
            Ok(())
        }
        Command::Report(args) => {
            let db = Database::open(&cli.db)?;
            let locale =
                match args.locale {
                    Some(l) => l,
                    None => db.catalog()?.table(&args.table)?.and_then(|t| t.locale).ok_or_else(|| {
                        anyhow::anyhow!("table '{}' has no recorded locale; pass --locale", args.table)
                    })?,
                };
            // The report's folder is created first, so a bad path fails before the work.
            if let Some(dir) = args.out.as_ref().and_then(|p| p.parent()).filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            let session = PersonaSession::new(db)?;
            if args.narratives {
                let report = personadb::report::narratives(
                    &session,
                    &args.table,
                    &locale,
                    args.language.as_deref(),
                    args.examples,
                )
                .await?;
                let text = report.to_markdown();
                match args.out {
                    Some(path) => {
                        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
                        eprintln!("wrote {}", path.display());
                    }
                    None => write!(std::io::stdout().lock(), "{text}")?,
                }
                return Ok(());
            }
            match args.out {
                Some(path) => {
                    for written in personadb::report::write(&session, &args.table, &locale, &path).await? {
                        eprintln!("wrote {}", written.display());
                    }
                }
                None => {
                    let report = personadb::report::fidelity(&session, &args.table, &locale).await?;
                    write!(std::io::stdout().lock(), "{}", report.to_markdown())?;
                }
            }
            Ok(())
        }
        Command::Derive(args) => derive(args),
        Command::Models(command) => models(command),
        Command::Locales { json } => {
            let locales = personadb::locale::describe_all()?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(locales)?)?;
                return Ok(());
            }
            for (i, l) in locales.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                let aliases = if l.aliases.is_empty() { String::new() } else { format!(" ({})", l.aliases.join(", ")) };
                writeln!(out, "{}{aliases}: {}", l.name, l.description)?;
                writeln!(out, "  columns: {}", l.columns.join(", "))?;
                writeln!(out, "  narratives: {}", l.narrative_fields.join(", "))?;
                let languages: Vec<String> =
                    l.languages.iter().map(|(c, m)| format!("{c} (embedded by {m})")).collect();
                writeln!(out, "  languages: {}", languages.join(", "))?;
                writeln!(out, "  sources:")?;
                for (table, vintage) in &l.sources {
                    writeln!(out, "    {table} ({vintage})")?;
                }
            }
            Ok(())
        }
        Command::Functions { markdown } => {
            let mut out = std::io::stdout().lock();
            if markdown {
                write!(out, "{}", personadb_udfs::sql_reference_markdown())?;
            } else {
                for d in personadb_udfs::all_docs() {
                    writeln!(out, "{:<20} {}", d.name, d.syntax)?;
                }
            }
            Ok(())
        }
    }
}

async fn serve(dir: &std::path::Path, args: ServeArgs) -> Result<()> {
    let password = match (&args.password_file, std::env::var("PERSONADB_PASSWORD")) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            Some(text.lines().next().unwrap_or("").to_string())
        }
        (None, Ok(password)) => Some(password),
        (None, Err(_)) => None,
    };
    let options = personadb::serve::ServeOptions {
        host: args.host,
        port: args.port,
        read_only: args.read_only,
        password,
        grace: std::time::Duration::from_secs(args.grace),
    };
    options.check()?;
    if args.read_only {
        anyhow::ensure!(dir.is_dir(), "database {} does not exist (--read-only serves an existing one)", dir.display());
    }
    let db = Database::open(dir)?;
    let (read_only, auth) = (options.read_only, options.password.is_some());
    let stop = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        eprintln!("personadb serve: stopping");
    };
    personadb::serve::serve(
        db.clone(),
        options,
        |address| {
            // The address line is what scripts and tests wait for: print it at once.
            println!("personadb serve: listening on {address}");
            eprintln!(
                "database {}{}{}",
                db.dir().display(),
                if read_only { ", read-only" } else { "" },
                if auth { ", password required" } else { ", no password (loopback only)" }
            );
            let _ = std::io::stdout().flush();
        },
        stop,
    )
    .await?;
    Ok(())
}

async fn run_sql(session: &PersonaSession, sql: &str, sink: &mut ResultSink) -> Result<()> {
    for statement in session.parse(sql)? {
        let stream = session.execute(statement).await?;
        sink.write(stream).await?;
    }
    Ok(())
}

fn models(command: ModelsCommand) -> Result<()> {
    use personadb::embed::{ModelKind, MODELS};
    match command {
        ModelsCommand::List => {
            let mut out = std::io::stdout().lock();
            for m in &MODELS {
                let kind = match m.kind {
                    ModelKind::Transformer => "transformer".to_string(),
                    ModelKind::Static { base, dimension } => format!("static, {dimension} dimensions, from {base}"),
                };
                let installed = personadb::embed::model_dir(m).map(|d| d.is_dir()).unwrap_or(false);
                let state = if installed { "installed" } else { "not installed" };
                writeln!(out, "{:<40} {kind}; {}; {state}", m.name, m.languages)?;
            }
            Ok(())
        }
        ModelsCommand::Distill { model, personas, force } => {
            let chosen: Vec<&personadb::embed::ModelSpec> = match &model {
                Some(name) => vec![personadb::embed::static_of(name)?],
                None => MODELS.iter().filter(|m| matches!(m.kind, ModelKind::Static { .. })).collect(),
            };
            for spec in chosen {
                let ModelKind::Static { base, dimension } = spec.kind else { continue };
                let base = personadb::embed::spec(base)?;
                let (base_dir, out_dir) = (personadb::embed::model_dir(base)?, personadb::embed::model_dir(spec)?);
                if out_dir.join("model.safetensors").is_file() && !force {
                    eprintln!("{}: already in {} (--force to distill again)", spec.name, out_dir.display());
                    continue;
                }
                if !base_dir.join("model.onnx").is_file() {
                    anyhow::ensure!(model.is_none(), "{} is not installed in {}", base.name, base_dir.display());
                    eprintln!("{}: skipped, {} is not installed", spec.name, base.name);
                    continue;
                }
                let corpus = personadb::embed::distill::corpus(base.name, personas, 42)?;
                let texts: Vec<&str> = corpus.iter().map(String::as_str).collect();
                let bar = indicatif::ProgressBar::new(0);
                if !std::io::stderr().is_terminal() {
                    bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
                }
                let progress = |done: usize, total: usize| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                };
                let report =
                    personadb::embed::distill::distill(base, &base_dir, &out_dir, dimension, &texts, &progress)?;
                bar.finish_and_clear();
                eprintln!(
                    "{}: {} tokens, {} dimensions ({:.1}% of the variance), weights from {} corpus tokens, {:.0} s -> {}",
                    spec.name,
                    report.tokens,
                    report.dimension,
                    report.explained_variance * 100.0,
                    report.corpus_tokens,
                    report.seconds,
                    out_dir.display()
                );
            }
            Ok(())
        }
    }
}

fn derive(args: DeriveArgs) -> Result<()> {
    if args.check {
        let pack = personadb::locale::pack(&args.locale)?;
        let manifest: personadb::derive::Manifest = serde_json::from_str(pack.file("manifest.json")?)?;
        let mut bad = 0;
        for (path, check) in personadb::derive::verify_sources(&manifest, &args.raw)? {
            println!("{:<10} {path}", format!("{check:?}").split_whitespace().next().unwrap_or(""));
            if check != personadb::derive::SourceCheck::Matches {
                bad += 1;
            }
        }
        anyhow::ensure!(bad == 0, "{bad} raw input(s) missing or changed since the pack was derived");
        return Ok(());
    }
    let out = args.out.unwrap_or_else(|| PathBuf::from("datasets").join(&args.locale));
    let report = personadb::derive::derive(&args.locale, &args.raw, &out)?;
    for t in &report.tables {
        eprintln!("wrote {} ({} rows)", out.join(&t.file).display(), t.rows);
    }
    eprintln!("wrote {}", out.join("manifest.json").display());
    Ok(())
}

const SHELL_HELP: &str = "Statements end with ';' and may span lines.
  .tables          list tables
  .format FORMAT   table, csv, json or jsonl
  .help            this help
  .quit            leave (or Ctrl-D)";

async fn shell(db: std::sync::Arc<Database>, mut format: OutputFormat) -> Result<()> {
    use rustyline::error::ReadlineError;
    let session = PersonaSession::new(db.clone())?;
    let mut editor = rustyline::DefaultEditor::new()?;
    let history = db.dir().join(".shell_history");
    let _ = editor.load_history(&history);
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        println!("personadb {} — database {} — .help for help", env!("CARGO_PKG_VERSION"), db.dir().display());
    }
    let mut buffer = String::new();
    let mut failed = 0usize;
    loop {
        let prompt = if buffer.is_empty() { "personadb> " } else { "       ...> " };
        let line = match editor.readline(prompt) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let trimmed = line.trim();
        if buffer.is_empty() && trimmed.starts_with('.') {
            let _ = editor.add_history_entry(trimmed);
            let mut parts = trimmed.split_whitespace();
            match (parts.next(), parts.next()) {
                (Some(".quit" | ".exit"), _) => break,
                (Some(".help"), _) => println!("{SHELL_HELP}"),
                (Some(".tables"), _) => {
                    failed += usize::from(report(
                        run_sql(&session, "SHOW TABLES", &mut ResultSink::new(Some(format), None, db.dir())?).await,
                    ))
                }
                (Some(".format"), Some(f)) => match f.parse() {
                    Ok(OutputFormat::Parquet) => eprintln!(
                        "error: the shell prints to the terminal; Parquet needs a file (COPY ... TO 'file.parquet')"
                    ),
                    Ok(f) => format = f,
                    Err(e) => eprintln!("error: {e}"),
                },
                _ => eprintln!("error: unknown command '{trimmed}' (.help lists them)"),
            }
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if trimmed.ends_with(';') {
            let sql = std::mem::take(&mut buffer);
            let _ = editor.add_history_entry(sql.trim());
            failed +=
                usize::from(report(run_sql(&session, &sql, &mut ResultSink::new(Some(format), None, db.dir())?).await));
        }
    }
    if !buffer.trim().is_empty() {
        failed +=
            usize::from(report(run_sql(&session, &buffer, &mut ResultSink::new(Some(format), None, db.dir())?).await));
    }
    let _ = editor.save_history(&history);
    // A script piped in fails when any statement did, so scripts and CI notice.
    if !interactive && failed > 0 {
        anyhow::bail!("{failed} statement(s) failed");
    }
    Ok(())
}

/// Prints a statement's error; true when there was one.
fn report(result: Result<()>) -> bool {
    match result {
        Ok(()) => false,
        Err(e) => {
            eprintln!("error: {}", personadb::error::user_message(e.as_ref()));
            true
        }
    }
}
