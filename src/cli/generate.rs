//! `personadb generate` and `personadb runs`: the options of a run from the command line,
//! its summary (rows, speed, indexes, LLM usage, failures) on stderr, and the run ledger.

use std::path::Path;

use anyhow::Result;

use super::args::{GenerateArgs, RunsArgs};
use crate::database::{Database, WriteKind};
use crate::generate::GenerateReport;
use crate::GenerateOptions;

/// `personadb generate`: a new run, or `--resume` of an interrupted one; then the table's
/// automatic indexes.
pub async fn generate(db: &Path, args: GenerateArgs) -> Result<()> {
    let db = Database::open(db)?;
    let report = match args.resume {
        Some(run_id) => {
            eprintln!("resuming run {run_id}");
            crate::generate::resume(&db, run_id, !args.quiet, args.cluster.clone()).await?
        }
        None => crate::generate(&db, &options(args)?).await?,
    };
    print_report(&db, &report).await
}

/// The options of a new run, as the command line gives them.
fn options(args: GenerateArgs) -> Result<GenerateOptions> {
    let kind = if args.append {
        WriteKind::Append
    } else if args.replace {
        WriteKind::Replace
    } else {
        WriteKind::Create
    };
    let narrator: Option<crate::narrate::NarratorKind> = match args.narrator.as_str() {
        "none" => None,
        kind => Some(kind.parse()?),
    };
    let llm = narrator == Some(crate::narrate::NarratorKind::Llm);
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
        options = options.llm(crate::llm::LlmConfig::load(args.llm_config.as_deref())?).commit_rows(128);
    }
    let all =
        || -> anyhow::Result<Vec<String>> { Ok(crate::locale::model(&locale_name)?.persona.narrative.fields.clone()) };
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
    options = options.embed(embed).embed_model(args.embed_model).vector_type(args.vector_type);
    if llm && args.cluster.is_some() {
        // A commit's rows are spread over the executors: more than one shard per commit.
        options = options.commit_rows(65_536);
    }
    options = options.cluster(args.cluster);
    if let Some(rows) = args.commit_rows {
        options = options.commit_rows(rows);
    }
    Ok(options)
}

/// The run's summary on stderr, after building the table's automatic indexes.
async fn print_report(db: &Database, report: &GenerateReport) -> Result<()> {
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
    for o in crate::index::auto_index(db, &report.table).await? {
        eprintln!("index {} ({}): {} in {:.1}s", o.column, o.kind, o.action, o.seconds);
    }
    if let Some(u) = &report.usage {
        eprintln!(
            "LLM: {} requests, {} prompt + {} completion tokens, {} retries, {} rate-limited, {} timeouts",
            u.requests, u.prompt_tokens, u.completion_tokens, u.retries, u.rate_limited, u.timeouts
        );
        if report.endpoints.len() > 1 {
            for e in &report.endpoints {
                let u = &e.usage;
                eprintln!(
                    "  {}: {} requests, {} + {} tokens, {} errors, drained {} times",
                    e.url, u.requests, u.prompt_tokens, u.completion_tokens, u.errors, u.drains
                );
            }
        }
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

/// `personadb runs`: the run ledger, or the failed personas of one run.
pub fn runs(db: &Path, args: RunsArgs) -> Result<()> {
    let db = Database::open(db)?;
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
