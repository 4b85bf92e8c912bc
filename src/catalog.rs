//! `catalog.sqlite`: the database's own metadata beside the Lance datasets — which tables
//! exist and what they hold (locale, schema version), and the generation runs with their
//! ledger of committed batches, so an interrupted run can resume without loss or duplicates.
//!
//! Kept whole (about 580 lines): every statement against `catalog.sqlite` and its migrations in one
//! place, so the schema and the queries that rely on it are read together.

use std::cell::{Ref, RefCell};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::remote::{CatalogObject, Fetched, Remote};

/// How many times a change to a remote catalog is made again after another process published
/// first, before giving up.
const REMOTE_ATTEMPTS: usize = 20;

/// The catalog schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = 4;
/// Marks a SQLite file as a personadb catalog (PRAGMA application_id).
const APPLICATION_ID: i64 = 0x5045_5253; // "PERS"

/// Metadata of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    pub name: String,
    pub locale: Option<String>,
    pub created_at: String,
}

/// A generation run as recorded in the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub id: i64,
    pub table_name: String,
    pub locale: String,
    pub seed: u64,
    pub requested: u64,
    pub rows_written: u64,
    pub status: String,
    pub config_json: String,
    /// The table's version before the run's first commit (None: the table did not exist).
    pub base_version: Option<u64>,
    /// The process that last ran it.
    pub pid: Option<u32>,
    pub started_at: String,
    pub seconds: Option<f64>,
    pub error: Option<String>,
    /// Personas recorded as failed (narration).
    pub failed: u64,
}

/// One committed batch of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerEntry {
    pub batch_index: u64,
    pub rows: u64,
    pub dataset_version: u64,
}

/// A persona whose narration failed, as recorded in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRecord {
    /// Row of the run (0-based, in generation order).
    pub row: u64,
    pub uuid: String,
    pub reason: String,
}

/// An open catalog.
#[derive(Debug)]
pub struct Catalog {
    /// In a cell so that a remote catalog can swap in a newer copy between statements.
    conn: RefCell<Connection>,
    path: PathBuf,
    /// Opened without write access (the file or its directory is not writable): queries work,
    /// every write fails with [`Error::ReadOnlyDatabase`].
    read_only: bool,
    /// For a database on object storage: the catalog object this file is a working copy of.
    remote: Option<CatalogObject>,
}

impl Catalog {
    /// Creates a new catalog at `path` (the file must not exist).
    pub fn create(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(|source| Error::Catalog { path: path.into(), source })?;
        let catalog = Catalog { conn: RefCell::new(conn), path: path.into(), read_only: false, remote: None };
        catalog.exec_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = 1;
             PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS tables (
                 name TEXT PRIMARY KEY,
                 locale TEXT,
                 created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
             );
             CREATE TABLE IF NOT EXISTS embeddings (
                 table_name TEXT NOT NULL,
                 column_name TEXT NOT NULL,
                 model TEXT NOT NULL,
                 dimension INTEGER NOT NULL,
                 PRIMARY KEY (table_name, column_name)
             );
             CREATE TABLE IF NOT EXISTS runs (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 table_name TEXT NOT NULL,
                 locale TEXT NOT NULL,
                 seed INTEGER NOT NULL,
                 requested INTEGER NOT NULL,
                 rows_written INTEGER NOT NULL DEFAULT 0,
                 status TEXT NOT NULL,
                 config_json TEXT NOT NULL,
                 started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
                 finished_at TEXT,
                 seconds REAL,
                 error TEXT
             );
             CREATE TABLE IF NOT EXISTS run_batches (
                 run_id INTEGER NOT NULL REFERENCES runs(id),
                 batch_index INTEGER NOT NULL,
                 rows INTEGER NOT NULL,
                 dataset_version INTEGER NOT NULL,
                 PRIMARY KEY (run_id, batch_index)
             );"
        ))?;
        catalog.migrate(1)?;
        Ok(catalog)
    }

    /// Brings a catalog of schema version `from` up to [`SCHEMA_VERSION`].
    fn migrate(&self, from: i64) -> Result<()> {
        if from < 2 {
            // v2: run provenance for resuming, and per-persona failure records.
            self.exec_batch(
                "BEGIN;
                 ALTER TABLE runs ADD COLUMN base_version INTEGER;
                 ALTER TABLE runs ADD COLUMN pid INTEGER;
                 ALTER TABLE runs ADD COLUMN usage_json TEXT;
                 CREATE TABLE IF NOT EXISTS run_failures (
                     run_id INTEGER NOT NULL REFERENCES runs(id),
                     row_index INTEGER NOT NULL,
                     uuid TEXT NOT NULL,
                     reason TEXT NOT NULL,
                     PRIMARY KEY (run_id, row_index)
                 );
                 PRAGMA user_version = 2;
                 COMMIT;",
            )?;
        }
        if from < 3 {
            // v3: fragments an interrupted `personadb embed` finished, so a rerun resumes.
            self.exec_batch(
                "BEGIN;
                 CREATE TABLE IF NOT EXISTS embed_checkpoints (
                     table_name TEXT NOT NULL,
                     column_name TEXT NOT NULL,
                     model TEXT NOT NULL,
                     base_version INTEGER NOT NULL,
                     fragment_id INTEGER NOT NULL,
                     fragment_json TEXT NOT NULL,
                     PRIMARY KEY (table_name, column_name, fragment_id)
                 );
                 PRAGMA user_version = 3;
                 COMMIT;",
            )?;
        }
        if from < 4 {
            // v4: the provenance of imported files.
            self.exec_batch(
                "BEGIN;
                 CREATE TABLE IF NOT EXISTS imports (
                     id INTEGER PRIMARY KEY AUTOINCREMENT,
                     table_name TEXT NOT NULL,
                     locale TEXT NOT NULL,
                     file TEXT NOT NULL,
                     sha256 TEXT NOT NULL,
                     bytes INTEGER NOT NULL,
                     rows INTEGER NOT NULL,
                     unknown_json TEXT NOT NULL,
                     imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
                 );
                 PRAGMA user_version = 4;
                 COMMIT;",
            )?;
        }
        Ok(())
    }

    /// Records a file imported into `table`: its path, SHA-256, size, rows, and the values
    /// outside the locale's vocabulary it brought (JSON).
    #[allow(clippy::too_many_arguments)]
    pub fn record_import(
        &self,
        table: &str,
        locale: &str,
        file: &str,
        sha256: &str,
        bytes: u64,
        rows: u64,
        unknown_json: &str,
    ) -> Result<()> {
        self.write(|| {
            self.conn()
                .execute(
                    "INSERT INTO imports (table_name, locale, file, sha256, bytes, rows, unknown_json) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![table, locale, file, sha256, bytes as i64, rows as i64, unknown_json],
                )
                .map(|_| ())
                .map_err(|e| self.err(e))
        })
    }

    /// Forgets the import provenance of `table` (it was replaced).
    pub fn clear_imports(&self, table: &str) -> Result<()> {
        self.write(|| {
            self.conn()
                .execute("DELETE FROM imports WHERE table_name = ?1", params![table])
                .map(|_| ())
                .map_err(|e| self.err(e))
        })
    }

    /// The files imported into `table`: (file, SHA-256, bytes, rows, imported at), oldest first.
    pub fn imports(&self, table: &str) -> Result<Vec<(String, String, u64, u64, String)>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT file, sha256, bytes, rows, imported_at FROM imports WHERE table_name = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![table], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64, r.get::<_, i64>(3)? as u64, r.get(4)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Opens an existing catalog, checking that it is one of ours and not from a newer personadb.
    pub fn open(path: &Path, db_dir: &Path) -> Result<Self> {
        use rusqlite::OpenFlags;
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(|source| Error::Catalog { path: path.into(), source })?;
        let not_db = |reason: String| Error::NotADatabase { path: db_dir.into(), reason };
        let app_id = |conn: &Connection| conn.query_row("PRAGMA application_id", [], |r| r.get::<_, i64>(0));
        // A catalog we may not write (a file or directory without write permission, a read-only
        // mount) is opened read-only: first as is, then, when SQLite cannot make the WAL's
        // shared-memory file beside it, as immutable.
        let writable = !conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true);
        let (conn, read_only, found) = match app_id(&conn) {
            Ok(id) if writable => (conn, false, Ok(id)),
            first => {
                let flags =
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
                let mut attempts = ["mode=ro", "immutable=1"].into_iter().filter_map(|query| {
                    let conn = Connection::open_with_flags(format!("file:{}?{query}", uri_path(path)), flags).ok()?;
                    let id = app_id(&conn).ok()?;
                    Some((conn, true, Ok(id)))
                });
                match attempts.next() {
                    Some(opened) => opened,
                    None => (conn, !writable, first),
                }
            }
        };
        let app_id: i64 = found.map_err(|e| not_db(format!("catalog.sqlite is unreadable ({e})")))?;
        if app_id != APPLICATION_ID {
            return Err(not_db("catalog.sqlite was not written by personadb".into()));
        }
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|source| Error::Catalog { path: path.into(), source })?;
        if version > SCHEMA_VERSION {
            return Err(Error::NewerSchema { path: db_dir.into(), found: version, supported: SCHEMA_VERSION });
        }
        let catalog = Catalog { conn: RefCell::new(conn), path: path.into(), read_only, remote: None };
        if version < SCHEMA_VERSION {
            if read_only {
                return Err(not_db(format!(
                    "its catalog has schema version {version}, older than this personadb's ({SCHEMA_VERSION}), and \
                     it is read-only here: open it once with write permission to upgrade it"
                )));
            }
            catalog.migrate(version)?;
        }
        Ok(catalog)
    }

    /// Opens the catalog of a database on object storage, creating it when `create` and there is
    /// none: a working copy of the object, kept current by [`Catalog::refresh`].
    pub fn open_remote(remote: &Remote, create: bool) -> Result<Self> {
        let object = remote.catalog_object()?;
        match object.fetch()? {
            Fetched::Changed(path) => return Self::from_copy(remote, object, &path),
            Fetched::Missing if create => {}
            Fetched::Missing => {
                return Err(Error::NotADatabase {
                    path: remote.uri().into(),
                    reason: "there are objects under the prefix but no catalog.sqlite".into(),
                })
            }
            // A first fetch has no version to compare with.
            Fetched::Unchanged => {}
        }
        let path = object.new_file("new");
        let mut catalog = Catalog::create(&path)?;
        catalog.path = PathBuf::from(object.uri());
        catalog.remote = Some(object);
        if catalog.publish()? {
            return Ok(catalog);
        }
        // Another process created it first: open theirs.
        let vanished = || Error::NotADatabase {
            path: remote.uri().into(),
            reason: "the catalog object vanished while it was being created".into(),
        };
        let object = catalog.remote.take().ok_or_else(vanished)?;
        match object.fetch()? {
            Fetched::Changed(path) => Self::from_copy(remote, object, &path),
            _ => Err(vanished()),
        }
    }

    /// The catalog of a working copy at `path` of `object`; an older schema is upgraded and the
    /// upgrade published.
    fn from_copy(remote: &Remote, object: CatalogObject, path: &Path) -> Result<Self> {
        let shown = PathBuf::from(object.uri());
        let old = Connection::open(path)
            .and_then(|c| c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)))
            .map_err(|source| Error::Catalog { path: shown.clone(), source })?;
        let mut catalog = Catalog::open(path, Path::new(remote.uri()))?;
        catalog.path = shown.clone();
        catalog.remote = Some(object);
        if old < SCHEMA_VERSION && !catalog.publish()? {
            return Err(Error::NotADatabase {
                path: shown,
                reason: "another process changed the catalog while it was being upgraded: try again".into(),
            });
        }
        Ok(catalog)
    }

    /// The connection (a working copy's, for a remote catalog).
    fn conn(&self) -> Ref<'_, Connection> {
        self.conn.borrow()
    }

    /// For a remote catalog: brings the working copy up to the object's latest version (one
    /// HEAD request when nothing changed). A local catalog is always current.
    pub fn refresh(&self) -> Result<()> {
        let Some(object) = &self.remote else { return Ok(()) };
        if let Fetched::Changed(path) = object.fetch()? {
            let newer = match Catalog::open(&path, Path::new(object.uri())) {
                Ok(newer) => newer,
                Err(e) => {
                    object.forget();
                    return Err(e);
                }
            };
            let old = self.conn.replace(newer.conn.into_inner());
            if let Some(old_path) = old.path().map(PathBuf::from) {
                drop(old);
                let _ = std::fs::remove_file(&old_path);
            }
        }
        Ok(())
    }

    /// Makes a change: for a remote catalog, on the latest copy, then published with a
    /// conditional put, made again on a newer copy when another process published first.
    fn write<T>(&self, change: impl Fn() -> Result<T>) -> Result<T> {
        let Some(object) = &self.remote else { return change() };
        for _ in 0..REMOTE_ATTEMPTS {
            self.refresh()?;
            let out = match change() {
                Ok(out) => out,
                Err(e) => {
                    // The copy may hold part of the change: read it again next time.
                    object.forget();
                    return Err(e);
                }
            };
            if self.publish()? {
                return Ok(out);
            }
        }
        Err(Error::NotADatabase {
            path: self.path.clone(),
            reason: format!("other processes kept changing the catalog: {REMOTE_ATTEMPTS} attempts failed"),
        })
    }

    /// Publishes the working copy of a remote catalog over the version it came from; false
    /// when another process published first.
    fn publish(&self) -> Result<bool> {
        let Some(object) = &self.remote else { return Ok(true) };
        // A consistent, complete file (the copy may be in WAL mode).
        let snapshot = object.new_file("publish");
        let target = snapshot.to_string_lossy().replace('\'', "''");
        self.conn().execute(&format!("VACUUM INTO '{target}'"), []).map_err(|e| self.err(e))?;
        let bytes = std::fs::read(&snapshot).map_err(|e| Error::io(format!("reading {}", snapshot.display()), e));
        let _ = std::fs::remove_file(&snapshot);
        object.publish(bytes?)
    }

    /// Whether the catalog was opened without write access.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn err(&self, source: rusqlite::Error) -> Error {
        if source.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) {
            if let Some(dir) = self.path.parent() {
                return Error::ReadOnlyDatabase { path: dir.into() };
            }
        }
        Error::Catalog { path: self.path.clone(), source }
    }

    fn exec_batch(&self, sql: &str) -> Result<()> {
        self.conn().execute_batch(sql).map_err(|e| self.err(e))
    }

    /// Records a table (replacing any earlier record of the same name).
    pub fn put_table(&self, name: &str, locale: Option<&str>) -> Result<()> {
        self.write(|| {
            self.conn()
                .execute(
                    "INSERT INTO tables (name, locale) VALUES (?1, ?2)
                     ON CONFLICT(name) DO UPDATE SET locale = COALESCE(excluded.locale, tables.locale)",
                    params![name, locale],
                )
                .map(|_| ())
                .map_err(|e| self.err(e))
        })
    }

    /// Forgets a table, its embedding metadata and import provenance.
    pub fn remove_table(&self, name: &str) -> Result<()> {
        self.write(|| {
            self.conn()
                .execute("DELETE FROM tables WHERE name = ?1", params![name])
                .and_then(|_| self.conn().execute("DELETE FROM embeddings WHERE table_name = ?1", params![name]))
                .and_then(|_| self.conn().execute("DELETE FROM embed_checkpoints WHERE table_name = ?1", params![name]))
                .and_then(|_| self.conn().execute("DELETE FROM imports WHERE table_name = ?1", params![name]))
                .map(|_| ())
                .map_err(|e| self.err(e))
        })
    }

    /// The names of the recorded tables, sorted.
    pub fn table_names(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut statement = conn.prepare("SELECT name FROM tables ORDER BY name").map_err(|e| self.err(e))?;
        let names = statement
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(names)
    }

    /// SQLite's own check of the file: None when sound, else what it found (first lines).
    pub fn integrity_problem(&self) -> Option<String> {
        let result: std::result::Result<String, _> = self.conn().query_row("PRAGMA quick_check", [], |r| r.get(0));
        match result {
            Ok(ok) if ok == "ok" => None,
            Ok(problem) => Some(problem),
            Err(e) => Some(e.to_string()),
        }
    }

    /// Metadata of a table, if recorded.
    pub fn table(&self, name: &str) -> Result<Option<TableInfo>> {
        self.conn()
            .query_row("SELECT name, locale, created_at FROM tables WHERE name = ?1", params![name], |r| {
                Ok(TableInfo { name: r.get(0)?, locale: r.get(1)?, created_at: r.get(2)? })
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records that `column` of `table` holds embeddings by `model` of `dimension`; an existing
    /// record must agree (a table never mixes models in one column).
    pub fn put_embedding(&self, table: &str, column: &str, model: &str, dimension: usize) -> Result<()> {
        self.write(|| {
            if let Some((m, d)) = self.embedding(table, column)? {
                if m != model || d != dimension {
                    return Err(Error::InvalidArgument {
                        name: format!("column '{column}' of '{table}'"),
                        reason: format!("it holds embeddings by {m} ({d} dimensions), not {model} ({dimension})"),
                    });
                }
                return Ok(());
            }
            self.conn()
                .execute(
                    "INSERT INTO embeddings (table_name, column_name, model, dimension) VALUES (?1, ?2, ?3, ?4)",
                    params![table, column, model, dimension as i64],
                )
                .map(|_| ())
                .map_err(|e| self.err(e))
        })
    }

    /// Every recorded embedding column of `table`: (column, model, dimension), by column name.
    pub fn embeddings(&self, table: &str) -> Result<Vec<(String, String, usize)>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT column_name, model, dimension FROM embeddings WHERE table_name = ?1 ORDER BY column_name")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![table], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)? as usize))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Records (or replaces) the model of an embedding column whose embeddings were all
    /// rewritten by `model`.
    pub fn replace_embedding(&self, table: &str, column: &str, model: &str, dimension: usize) -> Result<()> {
        self.write(|| {
            self.conn()
                .execute(
                    "INSERT INTO embeddings (table_name, column_name, model, dimension) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(table_name, column_name) DO UPDATE SET model = excluded.model, dimension = excluded.dimension",
                    params![table, column, model, dimension as i64],
                )
                .map(|_| ())
                .map_err(|e| self.err(e))
        })
    }

    /// The fragments an interrupted embedding of `column` of `table` by `model` finished, when
    /// the table is still at `base_version` (checkpoints of any other run are dropped):
    /// (fragment id, the new fragment as JSON).
    pub fn embed_checkpoints(
        &self,
        table: &str,
        column: &str,
        model: &str,
        base_version: u64,
    ) -> Result<Vec<(u32, String)>> {
        self.write(|| {
            self.conn()
                .execute(
                    "DELETE FROM embed_checkpoints WHERE table_name = ?1 AND column_name = ?2
                     AND (model <> ?3 OR base_version <> ?4)",
                    params![table, column, model, base_version as i64],
                )
                .map_err(|e| self.err(e))?;
            let conn = self.conn();
            let mut stmt = conn
                .prepare(
                    "SELECT fragment_id, fragment_json FROM embed_checkpoints
                     WHERE table_name = ?1 AND column_name = ?2 ORDER BY fragment_id",
                )
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map(params![table, column], |r| Ok((r.get::<_, i64>(0)? as u32, r.get::<_, String>(1)?)))
                .map_err(|e| self.err(e))?;
            rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| self.err(e))
        })
    }

    /// Records a fragment an embedding run finished (see [`Catalog::embed_checkpoints`]).
    pub fn put_embed_checkpoint(
        &self,
        table: &str,
        column: &str,
        model: &str,
        base_version: u64,
        fragment_id: u32,
        fragment_json: &str,
    ) -> Result<()> {
        self.write(|| {
            self.conn()
                .execute(
                    "INSERT OR REPLACE INTO embed_checkpoints
                     (table_name, column_name, model, base_version, fragment_id, fragment_json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![table, column, model, base_version as i64, fragment_id as i64, fragment_json],
                )
                .map(|_| ())
                .map_err(|e| self.err(e))
        })
    }

    /// Forgets the checkpoints of an embedding run (it finished).
    pub fn clear_embed_checkpoints(&self, table: &str, column: &str) -> Result<()> {
        self.write(|| {
            self.conn()
                .execute(
                    "DELETE FROM embed_checkpoints WHERE table_name = ?1 AND column_name = ?2",
                    params![table, column],
                )
                .map(|_| ())
                .map_err(|e| self.err(e))
        })
    }

    /// The model and dimension recorded for an embedding column.
    pub fn embedding(&self, table: &str, column: &str) -> Result<Option<(String, usize)>> {
        self.conn()
            .query_row(
                "SELECT model, dimension FROM embeddings WHERE table_name = ?1 AND column_name = ?2",
                params![table, column],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Starts a run and returns its id. `base_version` is the table's version before the run
    /// (None when the table does not exist yet).
    pub fn start_run(
        &self,
        table: &str,
        locale: &str,
        seed: u64,
        requested: u64,
        config_json: &str,
        base_version: Option<u64>,
    ) -> Result<i64> {
        self.write(|| {
            self.conn()
                .execute(
                    "INSERT INTO runs (table_name, locale, seed, requested, status, config_json, base_version, pid)
                     VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6, ?7)",
                    params![
                        table,
                        locale,
                        seed as i64,
                        requested as i64,
                        config_json,
                        base_version.map(|v| v as i64),
                        std::process::id()
                    ],
                )
                .map_err(|e| self.err(e))?;
            Ok(self.conn().last_insert_rowid())
        })
    }

    /// Marks a run as running again in this process (resuming it).
    pub fn reopen_run(&self, run_id: i64) -> Result<()> {
        self.write(|| {
            self.conn()
                .execute(
                    "UPDATE runs SET status = 'running', pid = ?2, error = NULL, finished_at = NULL WHERE id = ?1",
                    params![run_id, std::process::id()],
                )
                .map(|_| ())
                .map_err(|e| self.err(e))
        })
    }

    /// Records a committed batch of a run in the ledger, with the personas of that batch whose
    /// narration failed, in one transaction (idempotent per batch index).
    pub fn record_batch(
        &self,
        run_id: i64,
        batch_index: u64,
        rows: u64,
        dataset_version: u64,
        failures: &[FailureRecord],
    ) -> Result<()> {
        self.write(|| {
            let conn = self.conn();
            let tx = conn.unchecked_transaction().map_err(|e| self.err(e))?;
            tx.execute(
                "INSERT OR REPLACE INTO run_batches (run_id, batch_index, rows, dataset_version) VALUES (?1, ?2, ?3, ?4);",
                params![run_id, batch_index as i64, rows as i64, dataset_version as i64],
            )
            .map_err(|e| self.err(e))?;
            for f in failures {
                tx.execute(
                    "INSERT OR REPLACE INTO run_failures (run_id, row_index, uuid, reason) VALUES (?1, ?2, ?3, ?4)",
                    params![run_id, f.row as i64, f.uuid, crate::error::redact(&f.reason)],
                )
                .map_err(|e| self.err(e))?;
            }
            tx.execute(
                "UPDATE runs SET rows_written = (SELECT COALESCE(SUM(rows),0) FROM run_batches WHERE run_id = ?1) WHERE id = ?1",
                params![run_id],
            )
            .map_err(|e| self.err(e))?;
            tx.commit().map_err(|e| self.err(e))
        })
    }

    /// The committed batches of a run, in order.
    pub fn ledger(&self, run_id: i64) -> Result<Vec<LedgerEntry>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT batch_index, rows, dataset_version FROM run_batches WHERE run_id = ?1 ORDER BY batch_index",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![run_id], |r| {
                Ok(LedgerEntry {
                    batch_index: r.get::<_, i64>(0)? as u64,
                    rows: r.get::<_, i64>(1)? as u64,
                    dataset_version: r.get::<_, i64>(2)? as u64,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// The failure records of a run, by row.
    pub fn failures(&self, run_id: i64) -> Result<Vec<FailureRecord>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT row_index, uuid, reason FROM run_failures WHERE run_id = ?1 ORDER BY row_index")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![run_id], |r| {
                Ok(FailureRecord { row: r.get::<_, i64>(0)? as u64, uuid: r.get(1)?, reason: r.get(2)? })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// Records the LLM traffic of a run (requests, tokens, retries), as JSON.
    pub fn set_usage(&self, run_id: i64, usage_json: &str) -> Result<()> {
        self.write(|| {
            self.conn()
                .execute("UPDATE runs SET usage_json = ?2 WHERE id = ?1", params![run_id, usage_json])
                .map(|_| ())
                .map_err(|e| self.err(e))
        })
    }

    /// The recorded LLM traffic of a run, if any.
    pub fn usage(&self, run_id: i64) -> Result<Option<String>> {
        self.conn()
            .query_row("SELECT usage_json FROM runs WHERE id = ?1", params![run_id], |r| r.get(0))
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    /// Every run, newest first.
    pub fn runs(&self) -> Result<Vec<RunInfo>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{RUN_SELECT} ORDER BY id DESC")).map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], run_from_row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// Marks a run finished (`status` = "done" or "failed").
    pub fn finish_run(&self, run_id: i64, status: &str, seconds: f64, error: Option<&str>) -> Result<()> {
        self.write(|| {
            self.conn()
                .execute(
                    "UPDATE runs SET status = ?2, seconds = ?3, error = ?4,
                         finished_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?1",
                    params![run_id, status, seconds, error.map(crate::error::redact)],
                )
                .map(|_| ())
                .map_err(|e| self.err(e))
        })
    }

    /// A run by id.
    pub fn run(&self, run_id: i64) -> Result<Option<RunInfo>> {
        self.conn()
            .query_row(&format!("{RUN_SELECT} WHERE id = ?1"), params![run_id], run_from_row)
            .optional()
            .map_err(|e| self.err(e))
    }
}

const RUN_SELECT: &str = "SELECT id, table_name, locale, seed, requested, rows_written, status, config_json,
    base_version, pid, started_at, seconds, error,
    (SELECT COUNT(*) FROM run_failures f WHERE f.run_id = runs.id) FROM runs";

fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunInfo> {
    Ok(RunInfo {
        id: r.get(0)?,
        table_name: r.get(1)?,
        locale: r.get(2)?,
        seed: r.get::<_, i64>(3)? as u64,
        requested: r.get::<_, i64>(4)? as u64,
        rows_written: r.get::<_, i64>(5)? as u64,
        status: r.get(6)?,
        config_json: r.get(7)?,
        base_version: r.get::<_, Option<i64>>(8)?.map(|v| v as u64),
        pid: r.get::<_, Option<i64>>(9)?.map(|v| v as u32),
        started_at: r.get(10)?,
        seconds: r.get(11)?,
        error: r.get(12)?,
        failed: r.get::<_, i64>(13)? as u64,
    })
}

/// A file path as the path of an SQLite `file:` URI (percent-encoded where URIs need it).
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'.' | b'_' | b'-' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
