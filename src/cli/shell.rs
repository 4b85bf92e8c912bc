//! `personadb shell`: the interactive SQL shell (rustyline), its dot-commands and history.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Result;

use super::args::ShellArgs;
use super::query::run_sql;
use crate::database::Database;
use crate::format::{OutputFormat, ResultSink};
use crate::PersonaSession;

const SHELL_HELP: &str = "Statements end with ';' and may span lines.
  .tables          list tables
  .format FORMAT   table, csv, json or jsonl
  .cache           what the decoded-column cache holds (--cache-mb sets its size)
  .help            this help
  .quit            leave (or Ctrl-D)";

/// `personadb shell`: statements end with `;`, dot-commands for the rest; a script piped in
/// fails when any of its statements did.
pub async fn shell(db: &Path, args: ShellArgs) -> Result<()> {
    anyhow::ensure!(args.format.out.is_none(), "--out is for sql, search and tables, not the shell");
    let format = args.format.format.unwrap_or(OutputFormat::Table);
    anyhow::ensure!(format != OutputFormat::Parquet, "the shell prints to the terminal: -o parquet needs a file");
    interactive(Database::open(db)?, format, args.cache.cache()).await
}

async fn interactive(
    db: std::sync::Arc<Database>,
    mut format: OutputFormat,
    cache: Option<std::sync::Arc<crate::hot::HotCache>>,
) -> Result<()> {
    use rustyline::error::ReadlineError;
    let session = PersonaSession::with_cache(db.clone(), cache)?;
    let mut editor = rustyline::DefaultEditor::new()?;
    // Beside a local database; for one on object storage, in personadb's home.
    let history = match db.local_dir() {
        Some(dir) => Some(dir.join(".shell_history")),
        None => crate::env::home().map(|home| home.join("shell_history")),
    };
    if let Some(history) = &history {
        let _ = editor.load_history(history);
    }
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
                (Some(".cache"), _) => match session.cache().map(|c| c.stats()) {
                    Some(s) => println!(
                        "cache: {:.1} of {:.0} MiB in {} fragment columns; {} hits, {} reads, {} dropped",
                        s.bytes as f64 / 1048576.0,
                        s.budget as f64 / 1048576.0,
                        s.entries,
                        s.hits,
                        s.misses,
                        s.evictions
                    ),
                    None => println!("cache: off (--cache-mb 0)"),
                },
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
    if let Some(history) = &history {
        let _ = editor.save_history(history);
    }
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
            eprintln!("error: {}", crate::error::user_message(e.as_ref()));
            true
        }
    }
}
