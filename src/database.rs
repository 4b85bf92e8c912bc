//! The database directory: one Lance dataset per table (`<name>.lance`) and `catalog.sqlite`.
//! Every write is a Lance commit, so a write is either wholly visible or not at all. The same
//! layout can live on S3-compatible object storage (`s3://bucket/prefix`, see [`crate::remote`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::physical_plan::SendableRecordBatchStream;
use lance::dataset::{InsertBuilder, WriteMode, WriteParams};
use lance::Dataset;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::remote::{Remote, StorageOptions};

/// The default database directory.
pub const DEFAULT_DB: &str = "personadb";
/// The catalog's file name in the database directory.
pub const CATALOG_FILE: &str = "catalog.sqlite";
/// The suffix of a table's Lance dataset directory.
pub const TABLE_SUFFIX: &str = ".lance";

/// An open personadb database.
#[derive(Debug)]
pub struct Database {
    /// The directory, or the `s3://` location as a path (for messages).
    dir: PathBuf,
    /// Set for a database on object storage.
    remote: Option<Remote>,
    catalog: Mutex<Catalog>,
    /// Lance's caches (manifests, index structures) shared by every table this handle opens,
    /// so the statements of a long-lived session do not load a table's indexes again each time.
    lance: Arc<lance::session::Session>,
}

/// How a write treats an existing table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteKind {
    /// The table must not exist.
    Create,
    /// Add rows to an existing table.
    Append,
    /// Replace the table's rows (a new version; older versions remain until cleanup).
    Replace,
}

impl Database {
    /// Opens the database at `dir`, creating it when `dir` does not exist or is an empty
    /// directory. Anything else that is not a personadb database is refused.
    ///
    /// `s3://bucket/prefix` opens a database on object storage (credentials and endpoint from
    /// the `AWS_*` variables and the file named by `PERSONADB_STORAGE_OPTIONS`).
    pub fn open(dir: impl AsRef<Path>) -> Result<Arc<Self>> {
        if crate::remote::is_remote(dir.as_ref()) {
            let location = dir.as_ref().to_string_lossy().into_owned();
            return Self::open_remote(&location, StorageOptions::from_env()?);
        }
        let dir = dir.as_ref().to_path_buf();
        let catalog_path = dir.join(CATALOG_FILE);
        let not_db = |reason: &str| Error::NotADatabase { path: dir.clone(), reason: reason.into() };
        let catalog = if !dir.exists() {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating database {}", dir.display()), e))?;
            Catalog::create(&catalog_path)?
        } else if !dir.is_dir() {
            return Err(not_db("it is a file, not a directory"));
        } else if catalog_path.is_file() {
            Catalog::open(&catalog_path, &dir)?
        } else {
            let mut entries =
                std::fs::read_dir(&dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
            if entries.next().is_some() {
                return Err(not_db("the directory is not empty and has no catalog.sqlite"));
            }
            Catalog::create(&catalog_path)?
        };
        Ok(Arc::new(Database {
            dir,
            remote: None,
            catalog: Mutex::new(catalog),
            lance: Arc::new(lance::session::Session::default()),
        }))
    }

    /// Opens (or creates) the database at `s3://bucket/prefix` with these storage options.
    /// A prefix that holds other objects but no catalog is refused.
    pub fn open_remote(location: &str, options: StorageOptions) -> Result<Arc<Self>> {
        let remote = Remote::new(location, options)?;
        let names = remote.list_names()?;
        let create = names.is_empty() || names.iter().any(|n| n == CATALOG_FILE);
        let catalog = Catalog::open_remote(&remote, create)?;
        Ok(Arc::new(Database {
            dir: PathBuf::from(remote.uri()),
            remote: Some(remote),
            catalog: Mutex::new(catalog),
            lance: Arc::new(lance::session::Session::default()),
        }))
    }

    /// The database directory; for a database on object storage, its `s3://` location (not a
    /// local path: see [`Database::local_dir`]).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The local directory, or None for a database on object storage.
    pub fn local_dir(&self) -> Option<&Path> {
        self.remote.is_none().then_some(self.dir.as_path())
    }

    /// Another connection to the catalog (a process-local one for long runs that record progress
    /// while the shared one is in use).
    pub fn open_catalog(&self) -> Result<Catalog> {
        match &self.remote {
            Some(remote) => Catalog::open_remote(remote, false),
            None => Catalog::open(&self.dir.join(CATALOG_FILE), &self.dir),
        }
    }

    /// Lance's object store parameters for this database (storage options of a remote one).
    fn store_params(&self) -> Option<lance::io::ObjectStoreParams> {
        self.remote.as_ref().map(Remote::lance_params)
    }

    /// Whether this process may not write the database (it was opened read-only).
    pub fn is_read_only(&self) -> bool {
        self.catalog.lock().map(|c| c.is_read_only()).unwrap_or(false)
    }

    /// Refuses a change to a database opened read-only, before anything is attempted.
    pub fn require_writable(&self) -> Result<()> {
        if self.is_read_only() {
            Err(Error::ReadOnlyDatabase { path: self.dir.clone() })
        } else {
            Ok(())
        }
    }

    /// The catalog, locked for the caller.
    pub fn catalog(&self) -> Result<MutexGuard<'_, Catalog>> {
        let catalog = self.catalog.lock().map_err(|_| Error::NotADatabase {
            path: self.dir.clone(),
            reason: "catalog lock poisoned by an earlier panic".into(),
        })?;
        // A remote catalog may have been changed by another process since the last statement.
        catalog.refresh()?;
        Ok(catalog)
    }

    /// Checks a table name: letters, digits, underscores; not starting with a digit.
    pub fn validate_name(name: &str) -> Result<()> {
        let mut chars = name.chars();
        let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name.len() <= 128;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidTableName { name: crate::error::shorten(name, 60) })
        }
    }

    /// The dataset URI of a table.
    pub fn table_uri(&self, name: &str) -> String {
        match &self.remote {
            Some(remote) => format!("{}/{name}{TABLE_SUFFIX}", remote.uri()),
            None => self.dir.join(format!("{name}{TABLE_SUFFIX}")).to_string_lossy().into_owned(),
        }
    }

    /// Whether a table exists.
    pub fn table_exists(&self, name: &str) -> bool {
        if Self::validate_name(name).is_err() {
            return false;
        }
        match &self.remote {
            Some(remote) => remote.has_dataset(&format!("{name}{TABLE_SUFFIX}")).unwrap_or(false),
            None => Path::new(&self.table_uri(name)).is_dir(),
        }
    }

    /// The table names, sorted. (For a database on object storage, a listing that fails lists
    /// nothing; opening a table then reports the store's error.)
    pub fn table_names(&self) -> Vec<String> {
        if let Some(remote) = &self.remote {
            return remote
                .list_names()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|n| n.strip_suffix(TABLE_SUFFIX).map(str::to_string))
                .filter(|n| Self::validate_name(n).is_ok())
                .filter(|n| remote.has_dataset(&format!("{n}{TABLE_SUFFIX}")).unwrap_or(false))
                .collect();
        }
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(TABLE_SUFFIX)).map(str::to_string))
            .filter(|n| Self::validate_name(n).is_ok())
            .collect();
        names.sort();
        names
    }

    /// Opens a table's dataset at its latest committed version.
    pub async fn open_table(&self, name: &str) -> Result<Dataset> {
        if !self.table_exists(name) {
            return Err(Error::TableNotFound { name: name.into() });
        }
        let mut builder =
            lance::dataset::builder::DatasetBuilder::from_uri(&self.table_uri(name)).with_session(self.lance.clone());
        if let Some(params) = self.store_params() {
            builder = builder.with_store_params(params);
        }
        Ok(builder.load().await?)
    }

    /// Writes batches from a stream as one commit. Returns the new dataset and rows written.
    pub async fn write_stream(
        &self,
        name: &str,
        stream: SendableRecordBatchStream,
        kind: WriteKind,
        locale: Option<&str>,
    ) -> Result<(Dataset, u64)> {
        Self::validate_name(name)?;
        self.require_writable()?;
        let exists = self.table_exists(name);
        match (kind, exists) {
            (WriteKind::Create, true) => return Err(Error::TableExists { name: name.into() }),
            (WriteKind::Append, false) => return Err(Error::TableNotFound { name: name.into() }),
            _ => {}
        }
        // Text as Lance stores it (SQL reads it as views).
        let stream = crate::columns::plain_text(stream);
        let schema = stream.schema();
        // An append's table, opened once (on object storage each open is a listing and a manifest read).
        let table = match kind {
            WriteKind::Append => {
                let table = Arc::new(self.open_table(name).await?);
                check_append_schema(name, &SchemaRef::new(arrow::datatypes::Schema::from(table.schema())), &schema)?;
                Some(table)
            }
            _ => None,
        };
        let stream = match has_uuid_column(&schema) {
            true => {
                let existing = match &table {
                    Some(table) => existing_uuids(table).await?,
                    None => UuidSet::default(),
                };
                unique_uuids(name, stream, existing)
            }
            false => stream,
        };
        let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = counting(stream, counter.clone());
        let params = WriteParams {
            mode: match kind {
                WriteKind::Create => WriteMode::Create,
                WriteKind::Append => WriteMode::Append,
                WriteKind::Replace => WriteMode::Overwrite,
            },
            store_params: self.store_params(),
            session: Some(self.lance.clone()),
            ..Default::default()
        };
        let uri = self.table_uri(name);
        let dataset = match table {
            Some(existing) => InsertBuilder::new(existing).with_params(&params).execute_stream(counted).await?,
            None => InsertBuilder::new(uri.as_str()).with_params(&params).execute_stream(counted).await?,
        };
        if kind != WriteKind::Append {
            self.catalog()?.put_table(name, locale)?;
        }
        Ok((dataset, counter.load(std::sync::atomic::Ordering::Relaxed)))
    }

    /// Writes in-memory batches as one commit, creating, appending or replacing per `kind`.
    pub async fn write_batches(
        &self,
        name: &str,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        kind: WriteKind,
        locale: Option<&str>,
    ) -> Result<(Dataset, u64)> {
        let stream = datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
            schema,
            futures::stream::iter(batches.into_iter().map(Ok)),
        );
        self.write_stream(name, Box::pin(stream), kind, locale).await
    }

    /// One row per table: name, rows, Lance version, locale, created (for `personadb tables`).
    pub async fn summaries(&self) -> Result<RecordBatch> {
        use arrow::array::{StringArray, UInt64Array};
        let names = self.table_names();
        let (mut rows, mut versions, mut locales, mut created) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for name in &names {
            let dataset = self.open_table(name).await?;
            rows.push(dataset.count_rows(None).await? as u64);
            versions.push(dataset.version().version);
            let info = self.catalog()?.table(name)?;
            locales.push(info.as_ref().and_then(|i| i.locale.clone()));
            created.push(info.map(|i| i.created_at));
        }
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("name", arrow::datatypes::DataType::Utf8, false),
            arrow::datatypes::Field::new("rows", arrow::datatypes::DataType::UInt64, false),
            arrow::datatypes::Field::new("version", arrow::datatypes::DataType::UInt64, false),
            arrow::datatypes::Field::new("locale", arrow::datatypes::DataType::Utf8, true),
            arrow::datatypes::Field::new("created", arrow::datatypes::DataType::Utf8, true),
        ]));
        Ok(RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(names)),
                Arc::new(UInt64Array::from(rows)),
                Arc::new(UInt64Array::from(versions)),
                Arc::new(StringArray::from(locales)),
                Arc::new(StringArray::from(created)),
            ],
        )?)
    }

    /// Drops a table: removes its dataset and its catalog entry.
    pub async fn drop_table(&self, name: &str) -> Result<()> {
        self.require_writable()?;
        if !self.table_exists(name) {
            return Err(Error::TableNotFound { name: name.into() });
        }
        match &self.remote {
            Some(remote) => remote.remove_dir(&format!("{name}{TABLE_SUFFIX}"))?,
            None => {
                let uri = self.table_uri(name);
                std::fs::remove_dir_all(&uri).map_err(|e| Error::io(format!("removing {uri}"), e))?;
            }
        }
        self.catalog()?.remove_table(name)
    }
}

/// Refuses an append whose columns differ from the table's by name or type.
pub fn check_append_schema(table: &str, existing: &SchemaRef, incoming: &SchemaRef) -> Result<()> {
    fn names(s: &SchemaRef) -> Vec<&str> {
        s.fields().iter().map(|f| f.name().as_str()).collect()
    }
    let (ours, theirs) = (names(existing), names(incoming));
    let missing: Vec<&str> = ours.iter().filter(|n| !theirs.contains(n)).copied().collect();
    let extra: Vec<&str> = theirs.iter().filter(|n| !ours.contains(n)).copied().collect();
    let differ = existing
        .fields()
        .iter()
        .zip(incoming.fields())
        .position(|(a, b)| a.name() != b.name() || a.data_type() != b.data_type());
    let reason = if !missing.is_empty() || !extra.is_empty() {
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("missing {}", crate::error::name_list(&missing, None)));
        }
        if !extra.is_empty() {
            parts.push(format!("not in the table: {}", crate::error::name_list(&extra, None)));
        }
        format!("{} columns where the table has {}: {}", theirs.len(), ours.len(), parts.join("; "))
    } else if theirs.len() != ours.len() {
        format!("{} columns where the table has {} (a column repeated)", theirs.len(), ours.len())
    } else if let Some(i) = differ {
        let (a, b) = (&existing.fields()[i], &incoming.fields()[i]);
        if a.name() != b.name() {
            format!(
                "column {} is `{}` where the table has `{}` (same columns, another order)",
                i + 1,
                b.name(),
                a.name()
            )
        } else {
            format!("column `{}` is {} where the table has {}", a.name(), b.data_type(), a.data_type())
        }
    } else {
        return Ok(());
    };
    Err(Error::InvalidArgument { name: format!("rows for table '{table}'"), reason })
}

/// Whether rows of `schema` carry persona uuids (a string column `uuid`).
fn has_uuid_column(schema: &SchemaRef) -> bool {
    schema.field_with_name("uuid").is_ok_and(|f| matches!(f.data_type(), arrow::datatypes::DataType::Utf8))
}

/// The uuids of a table: parsed to 128 bits (16 bytes a row), or kept as text when a value is
/// not a UUID.
#[derive(Debug, Default)]
struct UuidSet {
    ids: std::collections::HashSet<u128>,
    other: std::collections::HashSet<String>,
}

impl UuidSet {
    /// Adds `value`; false when it was already there.
    fn insert(&mut self, value: &str) -> bool {
        match uuid::Uuid::try_parse(value) {
            Ok(u) => self.ids.insert(u.as_u128()),
            Err(_) => self.other.insert(value.to_string()),
        }
    }
}

/// Reads every uuid of `dataset` (one column, streamed).
async fn existing_uuids(dataset: &Dataset) -> Result<UuidSet> {
    use futures::TryStreamExt;
    let mut set = UuidSet::default();
    let mut scanner = dataset.scan();
    scanner.project(&["uuid"])?;
    let mut stream = scanner.try_into_stream().await?;
    while let Some(batch) = stream.try_next().await? {
        if let Some(values) = batch.column(0).as_any().downcast_ref::<arrow::array::StringArray>() {
            values.iter().flatten().for_each(|v| {
                set.insert(v);
            });
        }
    }
    Ok(set)
}

/// Passes a stream through, failing it at the first row whose uuid is already in the table or
/// earlier in the same write: a persona is one row, so a write that would repeat one commits
/// nothing. (Sampling with the seed of an earlier write gives the same personas again.)
fn unique_uuids(table: &str, stream: SendableRecordBatchStream, mut seen: UuidSet) -> SendableRecordBatchStream {
    use futures::StreamExt;
    let schema = stream.schema();
    let table = table.to_string();
    let checked = stream.map(move |batch| {
        let batch = batch?;
        if let Some(values) =
            batch.column_by_name("uuid").and_then(|c| c.as_any().downcast_ref::<arrow::array::StringArray>())
        {
            for value in values.iter().flatten() {
                if !seen.insert(value) {
                    return Err(datafusion::error::DataFusionError::External(Box::new(Error::DuplicateUuid {
                        table: table.clone(),
                        uuid: crate::error::shorten(value, 40),
                    })));
                }
            }
        }
        Ok(batch)
    });
    Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema, checked))
}

/// Wraps a stream to count the rows that pass through it.
fn counting(
    stream: SendableRecordBatchStream,
    counter: Arc<std::sync::atomic::AtomicU64>,
) -> SendableRecordBatchStream {
    use futures::StreamExt;
    let schema = stream.schema();
    let counted = stream.map(move |b| {
        if let Ok(batch) = &b {
            counter.fetch_add(batch.num_rows() as u64, std::sync::atomic::Ordering::Relaxed);
        }
        b
    });
    Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema, counted))
}
