//! `personadb check [--repair]`: is the database whole? The catalog must be a sound SQLite
//! file of ours, every table it records must have a Lance dataset with a committed version and
//! every dataset must be recorded, and every fragment of every table must read back with the
//! row count its metadata claims.
//!
//! With `repair`, what can be mended without losing a readable row is mended:
//! - a damaged catalog is set aside (`catalog.sqlite.damaged-<time>`) and rebuilt from the
//!   `.lance` directories found, each table's locale inferred from its columns (generation runs
//!   and embedding-model records are not recoverable from the datasets: `personadb embed
//!   --force` records a column's model again);
//! - a catalog entry without a dataset is removed;
//! - a dataset the catalog does not know is recorded;
//! - a dataset without any committed version (a `CREATE TABLE` killed midway) is set aside
//!   (`<name>.lance.broken-<time>`) and its entry removed;
//! - fragments that cannot be read are removed from the table in a new version (their rows were
//!   lost with their files; the readable rows stay, and older versions still reference them).
//!
//! What it cannot mend (a table whose latest version cannot be opened) is reported with the
//! reason.

use std::path::{Path, PathBuf};

use futures::TryStreamExt;

use crate::catalog::Catalog;
use crate::database::{Database, CATALOG_FILE, TABLE_SUFFIX};
use crate::error::{Error, Result};

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The table concerned, or None for the catalog.
    pub table: Option<String>,
    /// What is wrong.
    pub problem: String,
    /// What was done about it (with repair), or what would be done, or why nothing can be.
    pub action: Action,
}

/// What became of a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Mended, as described.
    Repaired(String),
    /// `--repair` would do this.
    Repairable(String),
    /// Nothing safe can be done automatically; why, and what the user can do.
    Unrepairable(String),
}

/// The outcome of a check.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Tables that were read whole: name, rows, fragments.
    pub healthy: Vec<(String, usize, usize)>,
    /// Problems, in the order found.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// Whether something is still wrong (found and not repaired).
    pub fn has_problems(&self) -> bool {
        self.findings.iter().any(|f| !matches!(f.action, Action::Repaired(_)))
    }

    fn add(&mut self, table: Option<&str>, problem: String, action: Action) {
        self.findings.push(Finding { table: table.map(str::to_string), problem, action });
    }
}

fn stamp() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The table directories in `dir`: (name, path).
fn table_dirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().and_then(|n| n.strip_suffix(TABLE_SUFFIX)).map(str::to_string)
        else {
            continue;
        };
        if path.is_dir() && Database::validate_name(&name).is_ok() {
            out.push((name, path));
        }
    }
    out.sort();
    Ok(out)
}

/// How long a table directory must have been left alone before a missing first version is
/// taken for an interrupted write rather than one in progress.
const WRITER_QUIET: std::time::Duration = std::time::Duration::from_secs(120);

/// The latest modification time of anything in `path` (one level of folders down).
fn newest_change(path: &Path) -> Option<std::time::SystemTime> {
    let mut newest = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
        let mut times = vec![entry.metadata().and_then(|m| m.modified()).ok()];
        if entry.path().is_dir() {
            for inner in std::fs::read_dir(entry.path()).into_iter().flatten().flatten() {
                times.push(inner.metadata().and_then(|m| m.modified()).ok());
            }
        }
        newest = times.into_iter().flatten().chain(newest).max();
    }
    newest
}

/// Whether opening the catalog failed because the file is not (or no longer) a catalog of
/// ours, as opposed to a catalog we must not touch (newer, busy, not permitted).
fn is_damage(error: &Error) -> bool {
    match error {
        Error::NewerSchema { .. } => false,
        other => {
            let text = crate::error::user_message(other).to_ascii_lowercase();
            ["not a database", "malformed", "not written by personadb", "corrupt"].iter().any(|m| text.contains(m))
        }
    }
}

/// Whether a dataset directory holds at least one committed version.
fn has_version(path: &Path) -> bool {
    std::fs::read_dir(path.join("_versions"))
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".manifest")))
        .unwrap_or(false)
}

/// The locale whose persona columns a table has, if one does.
fn infer_locale(schema: &arrow::datatypes::Schema) -> Option<String> {
    crate::locale::all_models()
        .into_iter()
        .filter(|m| m.schema().fields().iter().all(|f| schema.field_with_name(f.name()).is_ok()))
        .map(|m| m.locale.clone())
        .next()
}

/// Checks the database in `dir`; with `repair`, mends what it safely can.
pub async fn check(dir: &Path, repair: bool) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    if crate::remote::is_remote(dir) {
        return Err(Error::Unsupported(format!(
            "`personadb check` examines a local database directory, and {} is on object storage",
            dir.display()
        )));
    }
    if !dir.is_dir() {
        return Err(Error::NotADatabase { path: dir.into(), reason: "it does not exist or is not a directory".into() });
    }
    let catalog_path = dir.join(CATALOG_FILE);
    let dirs = table_dirs(dir)?;

    // 1. The catalog. Only a file that is not a sound catalog of ours is rebuilt: a catalog
    // from a newer personadb, one that is busy or one we may not read is an error, untouched.
    if !catalog_path.is_file() && dirs.is_empty() {
        return Err(Error::NotADatabase {
            path: dir.into(),
            reason: "it has neither catalog.sqlite nor table directories".into(),
        });
    }
    let opened = if catalog_path.is_file() {
        match Catalog::open(&catalog_path, dir) {
            Ok(c) => match c.integrity_problem() {
                None => Ok(c),
                Some(problem) => Err(format!("catalog.sqlite is damaged: {problem}")),
            },
            Err(e) if is_damage(&e) => Err(crate::error::user_message(&e)),
            Err(e) => return Err(e),
        }
    } else {
        Err("catalog.sqlite is missing".to_string())
    };
    let catalog = match opened {
        Ok(catalog) => catalog,
        Err(problem) => {
            let rebuild = format!("set it aside and rebuild the catalog from the {} table directories", dirs.len());
            if !repair {
                report.add(None, problem, Action::Repairable(rebuild));
                return Ok(report);
            }
            if catalog_path.exists() {
                let aside = dir.join(format!("{CATALOG_FILE}.damaged-{}", stamp()));
                std::fs::rename(&catalog_path, &aside)
                    .map_err(|e| Error::io(format!("moving {} aside", catalog_path.display()), e))?;
                for suffix in ["-wal", "-shm"] {
                    let side = dir.join(format!("{CATALOG_FILE}{suffix}"));
                    if side.exists() {
                        let _ = std::fs::rename(&side, dir.join(format!("{CATALOG_FILE}{suffix}.damaged-{}", stamp())));
                    }
                }
            }
            let catalog = Catalog::create(&catalog_path)?;
            report.add(
                None,
                problem,
                Action::Repaired(format!(
                    "{rebuild} (the old file is kept beside it; generation runs and embedding-model records are not \
                     recoverable: `personadb embed --force` records a column's model again)"
                )),
            );
            catalog
        }
    };
    if repair && catalog.is_read_only() {
        return Err(Error::ReadOnlyDatabase { path: dir.into() });
    }

    // 2. Catalog entries against directories.
    let recorded = catalog.table_names()?;
    for name in &recorded {
        if !dirs.iter().any(|(n, _)| n == name) {
            let problem = format!("the catalog records table '{name}' but its {name}{TABLE_SUFFIX} directory is gone");
            let action = if repair {
                catalog.remove_table(name)?;
                Action::Repaired("removed the catalog entry".into())
            } else {
                Action::Repairable("remove the catalog entry".into())
            };
            report.add(Some(name), problem, action);
        }
    }

    // 3. Every dataset: a committed version, recorded, every fragment readable.
    for (name, path) in &dirs {
        if !has_version(path) {
            let problem =
                format!("table '{name}' has no committed version (a CREATE TABLE or generate stopped midway)");
            let age = newest_change(path).and_then(|t| t.elapsed().ok()).unwrap_or_default();
            let action = if age < WRITER_QUIET {
                Action::Unrepairable(format!(
                    "it changed {} s ago: a writer may still be at work; check again when it is done",
                    age.as_secs()
                ))
            } else if repair {
                let aside = dir.join(format!("{name}{TABLE_SUFFIX}.broken-{}", stamp()));
                std::fs::rename(path, &aside).map_err(|e| Error::io(format!("moving {} aside", path.display()), e))?;
                catalog.remove_table(name)?;
                Action::Repaired(format!("moved it aside to {} and removed its catalog entry", aside.display()))
            } else {
                Action::Repairable("move the directory aside and remove its catalog entry".into())
            };
            report.add(Some(name), problem, action);
            continue;
        }
        let uri = path.to_string_lossy().into_owned();
        let dataset = match lance::Dataset::open(&uri).await {
            Ok(d) => d,
            Err(e) => {
                report.add(
                    Some(name),
                    format!("table '{name}' cannot be opened: {}", crate::error::user_message(&e)),
                    Action::Unrepairable(format!(
                        "its latest version is damaged; earlier versions are in {name}{TABLE_SUFFIX}/_versions"
                    )),
                );
                continue;
            }
        };
        if !recorded.contains(name) {
            let locale = infer_locale(&arrow::datatypes::Schema::from(dataset.schema()));
            let problem = format!("table '{name}' is not in the catalog");
            let what = format!(
                "record it{}",
                locale.as_deref().map(|l| format!(" (locale {l}, from its columns)")).unwrap_or_default()
            );
            let action = if repair {
                catalog.put_table(name, locale.as_deref())?;
                Action::Repaired(what)
            } else {
                Action::Repairable(what)
            };
            report.add(Some(name), problem, action);
        }
        let fragments = dataset.get_fragments();
        let mut damaged: Vec<(u64, String)> = Vec::new();
        let mut rows = 0usize;
        for fragment in &fragments {
            match read_fragment(fragment).await {
                Ok(n) => rows += n,
                Err(reason) => damaged.push((fragment.id() as u64, reason)),
            }
        }
        if damaged.is_empty() {
            report.healthy.push((name.clone(), rows, fragments.len()));
            continue;
        }
        let ids: Vec<String> = damaged.iter().map(|(id, _)| id.to_string()).collect();
        let problem = format!(
            "table '{name}': {} of {} fragments cannot be read (fragment {}: {})",
            damaged.len(),
            fragments.len(),
            ids.join(", "),
            damaged[0].1
        );
        let partial: Vec<&(u64, String)> = damaged.iter().filter(|(_, r)| r.ends_with(" expected")).collect();
        let action = if !partial.is_empty() {
            // Rows missing from a fragment that otherwise reads: deleting the fragment would
            // lose its readable rows, so it is left for a person to decide.
            Action::Unrepairable(format!(
                "fragment {} reads fewer rows than it claims; copy what reads (CREATE TABLE ... AS SELECT) and \
                 drop the table",
                partial[0].0
            ))
        } else if repair {
            let operation = lance::dataset::transaction::Operation::Delete {
                updated_fragments: Vec::new(),
                deleted_fragment_ids: damaged.iter().map(|(id, _)| *id).collect(),
                predicate: "personadb check --repair: unreadable fragments".into(),
            };
            let transaction =
                lance::dataset::transaction::TransactionBuilder::new(dataset.version().version, operation).build();
            match lance::dataset::CommitBuilder::new(std::sync::Arc::new(dataset.clone())).execute(transaction).await {
                Ok(committed) => Action::Repaired(format!(
                    "removed the unreadable fragments, whose rows are lost, in version {} ({rows} readable rows \
                     kept)",
                    committed.version().version
                )),
                Err(e) => Action::Unrepairable(format!(
                    "removing the unreadable fragments failed: {}",
                    crate::error::user_message(&e)
                )),
            }
        } else {
            Action::Repairable(format!(
                "remove the unreadable fragments, whose rows are lost ({rows} readable rows stay)"
            ))
        };
        report.add(Some(name), problem, action);
    }
    Ok(report)
}

/// Reads a fragment whole; its row count, or why it cannot be read.
async fn read_fragment(fragment: &lance::dataset::fragment::FileFragment) -> std::result::Result<usize, String> {
    fn message(e: &(dyn std::error::Error + 'static)) -> String {
        crate::error::shorten(&crate::error::user_message(e), 200)
    }
    let expected = fragment.count_rows(None).await.map_err(|e| message(&e))?;
    let stream = fragment.scan().try_into_stream().await.map_err(|e| message(&e))?;
    let read = stream
        .try_fold(0usize, |n, batch| futures::future::ready(Ok(n + batch.num_rows())))
        .await
        .map_err(|e| message(&e))?;
    if read != expected {
        return Err(format!("{read} rows read, {expected} expected"));
    }
    Ok(read)
}

/// The report as lines for people: one per problem, then a summary.
pub fn render(report: &CheckReport) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let (tag, what) = match &f.action {
            Action::Repaired(s) => ("repaired", s),
            Action::Repairable(s) => ("repairable", s),
            Action::Unrepairable(s) => ("cannot repair", s),
        };
        out.push_str(&format!("{}: {tag}: {what}\n", f.problem));
    }
    let rows: usize = report.healthy.iter().map(|(_, r, _)| r).sum();
    out.push_str(&format!(
        "{} table(s) read whole ({rows} rows); {} problem(s){}\n",
        report.healthy.len(),
        report.findings.len(),
        if report.has_problems() && report.findings.iter().any(|f| matches!(f.action, Action::Repairable(_))) {
            ": run `personadb check --repair` to mend the repairable ones"
        } else {
            ""
        }
    ));
    out
}
