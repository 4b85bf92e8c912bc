//! `personadb report` and `personadb check`: a table's fidelity to its census sources or its
//! narratives' consistency, and the database's integrity.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::args::ReportArgs;
use crate::database::Database;
use crate::PersonaSession;

/// `personadb check [--repair]`: exit code 1 while a problem remains.
pub async fn check(db: &Path, repair: bool) -> Result<()> {
    let report = crate::check::check(db, repair).await?;
    print!("{}", crate::check::render(&report));
    let left = report.findings.iter().filter(|f| !matches!(f.action, crate::check::Action::Repaired(_))).count();
    anyhow::ensure!(left == 0, "{left} problem(s) remain in {}", db.display());
    Ok(())
}

/// `personadb report`: the fidelity report (Markdown, with SVG plots beside `--out`), or with
/// `--narratives` the violations of the locale's narrative rules.
pub async fn report(db: &Path, args: ReportArgs) -> Result<()> {
    let db = Database::open(db)?;
    if args.diversity {
        return diversity(db, args).await;
    }
    let locale = match args.locale {
        Some(l) => l,
        None => db
            .catalog()?
            .table(&args.table)?
            .and_then(|t| t.locale)
            .ok_or_else(|| anyhow::anyhow!("table '{}' has no recorded locale; pass --locale", args.table))?,
    };
    // The report's folder is created first, so a bad path fails before the work.
    if let Some(dir) = args.out.as_ref().and_then(|p| p.parent()).filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let session = PersonaSession::new(db)?;
    if args.narratives {
        let report =
            crate::report::narratives(&session, &args.table, &locale, args.language.as_deref(), args.examples).await?;
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
            for written in crate::report::write(&session, &args.table, &locale, &path).await? {
                eprintln!("wrote {}", written.display());
            }
        }
        None => {
            let report = crate::report::fidelity(&session, &args.table, &locale).await?;
            write!(std::io::stdout().lock(), "{}", report.to_markdown())?;
        }
    }
    Ok(())
}

/// `personadb report --diversity`.
async fn diversity(db: std::sync::Arc<Database>, args: ReportArgs) -> Result<()> {
    if let Some(dir) = args.out.as_ref().and_then(|p| p.parent()).filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let session = PersonaSession::new(db)?;
    let options = crate::diversity::DiversityOptions {
        field: args.field,
        by: args.by.iter().map(|b| b.trim().to_string()).filter(|b| !b.is_empty()).collect(),
        threshold: args.threshold,
        sample: args.sample,
        seed: args.seed,
        ..Default::default()
    };
    let report = crate::diversity::audit(&session, &args.table, &options).await?;
    match args.out {
        Some(path) => {
            for written in crate::diversity::write(&report, &path)? {
                eprintln!("wrote {}", written.display());
            }
        }
        None => write!(std::io::stdout().lock(), "{}", report.to_markdown())?,
    }
    Ok(())
}
