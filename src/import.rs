//! `personadb import`: loads a persona dataset someone already has — a Nemotron-Personas
//! export (Parquet, or CSV) in any of the family's schemas we support — into a table, so that
//! `report`, `search` and SQL work on it as on our own.
//!
//! 1. Check, before anything is written: every file is read once (only the columns the locale
//!    knows, narrative prose aside); each value is cast to the locale's type (`age` as an
//!    integer) and each category checked against the locale's vocabulary (names excepted: they
//!    are open sets). A value that does not cast, or (unless `allow_unknown`) is outside the
//!    vocabulary, is an error naming the file, column, row and value. Files of a folder must
//!    have the same columns.
//! 2. Write: the files stream into one Lance write (bounded memory, one commit), columns the
//!    locale knows in its types, other columns as they are.
//! 3. Provenance in the catalog (file, SHA-256, bytes, rows, values outside the vocabulary),
//!    then the embedding of each narrative field present and the indexes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::database::{Database, WriteKind};
use crate::error::{Error, Result};

/// Rows per batch read.
const BATCH_ROWS: usize = 8192;

/// Values outside the vocabulary listed per column.
const LISTED_UNKNOWN: usize = 10;

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// A `.parquet` or `.csv` file, or a folder of them (read in name order).
    pub path: PathBuf,
    /// The locale (or alias) whose schema and vocabularies the files follow.
    pub locale: String,
    pub table: String,
    pub kind: WriteKind,
    /// Keep values outside the locale's vocabulary (listed in the report and the catalog)
    /// instead of refusing the import.
    pub allow_unknown: bool,
    /// Narrative fields to embed: `None` for every prose field present, empty for none.
    pub embed: Option<Vec<String>>,
    pub progress: bool,
}

impl ImportOptions {
    pub fn new(path: impl Into<PathBuf>, locale: impl Into<String>) -> Self {
        ImportOptions {
            path: path.into(),
            locale: locale.into(),
            table: "imported".into(),
            kind: WriteKind::Create,
            allow_unknown: false,
            embed: None,
            progress: false,
        }
    }
}

/// One file imported.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportedFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    pub rows: u64,
}

/// Values of a column outside the locale's vocabulary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UnknownValues {
    pub column: String,
    /// Rows with such a value.
    pub rows: u64,
    /// Distinct such values.
    pub distinct: usize,
    /// The most frequent, with their counts.
    pub values: Vec<(String, u64)>,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub table: String,
    pub locale: String,
    pub files: Vec<ImportedFile>,
    pub rows: u64,
    /// Columns the locale knows, found in the files.
    pub known_columns: Vec<String>,
    /// Other columns, kept as they are.
    pub other_columns: Vec<String>,
    pub unknown: Vec<UnknownValues>,
    /// Seconds to check and write the rows (before embedding).
    pub write_seconds: f64,
    pub embedded: Vec<crate::embed::column::EmbedColumnReport>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Format {
    Parquet,
    Csv,
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("parquet") => Some(Format::Parquet),
        Some("csv") => Some(Format::Csv),
        _ => None,
    }
}

/// The files to read: the file itself, or a folder's `.parquet` and `.csv` files by name.
fn files(path: &Path) -> Result<Vec<(PathBuf, Format)>> {
    let bad = |reason: String| Error::InvalidArgument { name: format!("import '{}'", path.display()), reason };
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let mut out: Vec<(PathBuf, Format)> =
            entries.filter_map(|e| e.ok().map(|e| e.path())).filter_map(|p| format_of(&p).map(|f| (p, f))).collect();
        out.sort();
        if out.is_empty() {
            return Err(bad("the folder holds no .parquet or .csv file".into()));
        }
        return Ok(out);
    }
    if !path.exists() {
        return Err(bad("no such file or folder".into()));
    }
    match format_of(path) {
        Some(f) => Ok(vec![(path.to_path_buf(), f)]),
        None => Err(bad("not a .parquet or .csv file (or a folder of them)".into())),
    }
}

/// A reader of one file's batches.
type Batches = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// The file's schema as read (CSV: every column text, from the header).
fn file_schema(path: &Path, format: Format) -> Result<SchemaRef> {
    let open = || std::fs::File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e));
    let bad = |e: &dyn std::fmt::Display| Error::InvalidArgument {
        name: format!("import '{}'", path.display()),
        reason: format!("unreadable: {e}"),
    };
    match format {
        Format::Parquet => {
            let builder =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(open()?).map_err(|e| bad(&e))?;
            Ok(builder.schema().clone())
        }
        Format::Csv => {
            let mut reader = csv::Reader::from_reader(open()?);
            let header = reader.headers().map_err(|e| bad(&e))?.clone();
            let mut seen = HashSet::new();
            let mut fields = Vec::new();
            for name in header.iter() {
                if name.is_empty() || !seen.insert(name.to_string()) {
                    return Err(bad(&format!("the header has an empty or repeated column name `{name}`")));
                }
                fields.push(Field::new(name, DataType::Utf8, true));
            }
            Ok(Arc::new(Schema::new(fields)))
        }
    }
}

/// Reads `columns` (all when `None`) of a file in batches.
fn read(path: &Path, format: Format, schema: &SchemaRef, columns: Option<&[usize]>) -> Result<Batches> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let shown = path.display().to_string();
    let bad = move |e: &dyn std::fmt::Display| Error::InvalidArgument {
        name: format!("import '{shown}'"),
        reason: format!("unreadable: {e}"),
    };
    match format {
        Format::Parquet => {
            let mut builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| bad(&e))?
                .with_batch_size(BATCH_ROWS);
            if let Some(c) = columns {
                let mask = parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), c.iter().copied());
                builder = builder.with_projection(mask);
            }
            let reader = builder.build().map_err(|e| bad(&e))?;
            Ok(Box::new(reader.map(move |b| b.map_err(|e| bad(&e)))))
        }
        Format::Csv => {
            let mut builder =
                arrow::csv::ReaderBuilder::new(schema.clone()).with_header(true).with_batch_size(BATCH_ROWS);
            if let Some(c) = columns {
                builder = builder.with_projection(c.to_vec());
            }
            let reader = builder.build(file).map_err(|e| bad(&e))?;
            Ok(Box::new(reader.map(move |b| b.map_err(|e| bad(&e)))))
        }
    }
}

/// How each column of the files is written.
struct Plan {
    /// The files' schema (the first file's; the others must have the same column names).
    source: SchemaRef,
    /// The table's schema: the locale's type for the columns it knows, the file's otherwise.
    target: SchemaRef,
    /// Columns the locale knows (indices into `source`).
    known: Vec<usize>,
    /// The known columns that are not narrative prose: read and checked before writing (prose
    /// is text whatever it says).
    checked: Vec<usize>,
    /// The vocabulary of each known category column, by source index.
    vocabulary: HashMap<usize, HashSet<String>>,
}

fn plan(model: &crate::model::LocaleModel, source: SchemaRef) -> Result<Plan> {
    let ours = model.schema();
    let prose: HashSet<&str> = model.persona.narrative.fields.iter().map(String::as_str).collect();
    let mut fields = Vec::new();
    let mut known = Vec::new();
    let mut checked = Vec::new();
    let mut vocabulary = HashMap::new();
    for (i, f) in source.fields().iter().enumerate() {
        let target = match ours.field_with_name(f.name()) {
            Ok(o) => {
                known.push(i);
                checked.push(i);
                // Names are open sets (a name outside the pack's lists is not an error).
                let is_name = model.persona.names.iter().any(|n| n == f.name());
                if let Some((_, node)) = model.node(f.name()).filter(|_| !is_name) {
                    if node.kind == crate::model::ValueKind::Category {
                        vocabulary.insert(i, node.values.iter().cloned().collect());
                    }
                }
                o.data_type().clone()
            }
            Err(_) if prose.contains(f.name().as_str()) => {
                known.push(i);
                DataType::Utf8
            }
            Err(_) => storable(f.data_type()),
        };
        fields.push(Field::new(f.name(), target, true));
    }
    if !source.fields().iter().any(|f| ours.field_with_name(f.name()).is_ok()) {
        let names: Vec<&str> = ours.fields().iter().map(|f| f.name().as_str()).collect();
        return Err(Error::InvalidArgument {
            name: "--locale".into(),
            reason: format!(
                "the files have none of locale '{}''s columns ({}); is it the right locale?",
                model.locale,
                crate::error::name_list(&names, None)
            ),
        });
    }
    Ok(Plan { source, target: Arc::new(Schema::new(fields)), known, checked, vocabulary })
}

/// A column's type as the table stores it: strings as `Utf8`, inside lists too.
fn storable(t: &DataType) -> DataType {
    match t {
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::List(item) | DataType::LargeList(item) | DataType::ListView(item) => {
            DataType::List(Arc::new(Field::new(item.name(), storable(item.data_type()), item.is_nullable())))
        }
        other => other.clone(),
    }
}

/// Casts the columns of a batch (all of `plan.source`, or the `projected` ones) to the
/// table's types; a value that does not cast is an error naming file, column, row and value.
fn cast(
    batch: &RecordBatch,
    plan: &Plan,
    projected: Option<&[usize]>,
    file: &Path,
    first_row: u64,
) -> Result<Vec<ArrayRef>> {
    let indices: Vec<usize> =
        projected.map(|p| p.to_vec()).unwrap_or_else(|| (0..plan.source.fields().len()).collect());
    let mut out = Vec::with_capacity(indices.len());
    for (c, source_index) in indices.iter().enumerate() {
        let column = batch.column(c);
        let target = plan.target.field(*source_index).data_type();
        if column.data_type() == target {
            out.push(column.clone());
            continue;
        }
        let options = arrow::compute::CastOptions { safe: true, ..Default::default() };
        let cast = arrow::compute::cast_with_options(column, target, &options).map_err(|e| Error::InvalidArgument {
            name: format!("import '{}'", file.display()),
            reason: format!("column `{}`: {e}", plan.target.field(*source_index).name()),
        })?;
        if cast.null_count() > column.null_count() {
            let row = (0..column.len()).find(|r| cast.is_null(*r) && !column.is_null(*r)).unwrap_or(0);
            let value = arrow::util::display::array_value_to_string(column, row).unwrap_or_default();
            return Err(Error::InvalidArgument {
                name: format!("import '{}'", file.display()),
                reason: format!(
                    "column `{}`, row {}: '{}' is not a {target} value",
                    plan.target.field(*source_index).name(),
                    first_row + row as u64 + 1,
                    crate::error::shorten(&value, 80)
                ),
            });
        }
        out.push(cast);
    }
    Ok(out)
}

/// SHA-256 and size of a file, read in blocks.
fn sha256(path: &Path) -> Result<(String, u64)> {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((format!("{:x}", hasher.finalize()), bytes))
}

/// Imports a file or folder into a table (see the module documentation).
pub async fn import(db: &Database, options: &ImportOptions) -> Result<ImportReport> {
    let start = Instant::now();
    Database::validate_name(&options.table)?;
    db.require_writable()?;
    let locale = crate::locale::name_for_language(&options.locale, None)?;
    let model = crate::locale::model(&locale)?;
    let files = files(&options.path)?;
    match (options.kind, db.table_exists(&options.table)) {
        (WriteKind::Create, true) => {
            return Err(Error::InvalidArgument {
                name: format!("table '{}'", options.table),
                reason: "it already exists; pass --append to add to it or --replace to overwrite it".into(),
            })
        }
        (WriteKind::Append, false) => return Err(Error::TableNotFound { name: options.table.clone() }),
        _ => {}
    }
    let (first, first_format) = &files[0];
    let plan = plan(&model, file_schema(first, *first_format)?)?;
    // The files' SHA-256, computed beside the reading.
    let hashing: Vec<std::thread::JoinHandle<Result<(String, u64)>>> = files
        .iter()
        .map(|(path, _)| {
            let path = path.clone();
            std::thread::spawn(move || sha256(&path))
        })
        .collect();

    // 1. Check every file before writing anything.
    let mut unknown: BTreeMap<usize, HashMap<String, u64>> = BTreeMap::new();
    let mut imported = Vec::new();
    for (path, format) in &files {
        let schema = file_schema(path, *format)?;
        let names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
        let expected: Vec<&String> = plan.source.fields().iter().map(|f| f.name()).collect();
        if names != expected {
            let differ = names
                .iter()
                .zip(&expected)
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("`{a}` where {} has `{b}`", first.display()))
                .unwrap_or_else(|| format!("{} columns where {} has {}", names.len(), first.display(), expected.len()));
            return Err(Error::InvalidArgument {
                name: format!("import '{}'", path.display()),
                reason: format!("its columns differ from the first file's: {differ}"),
            });
        }
        let mut rows = 0u64;
        for batch in read(path, *format, &schema, Some(&plan.checked))? {
            let batch = batch?;
            let columns = cast(&batch, &plan, Some(&plan.checked), path, rows)?;
            for (c, source_index) in plan.checked.iter().enumerate() {
                let Some(vocabulary) = plan.vocabulary.get(source_index) else { continue };
                let Some(text) = columns[c].as_string_opt::<i32>() else { continue };
                for v in text.iter().flatten() {
                    if vocabulary.contains(v) {
                        continue;
                    }
                    if !options.allow_unknown {
                        let row = text.iter().position(|x| x == Some(v)).unwrap_or(0) as u64 + rows + 1;
                        return Err(Error::InvalidArgument {
                            name: format!("import '{}'", path.display()),
                            reason: format!(
                                "column `{}`, row {row}: '{}' is not in locale '{}''s vocabulary (pass \
                                 --allow-unknown to keep such values; `personadb locales --json` lists them)",
                                plan.source.field(*source_index).name(),
                                crate::error::shorten(v, 80),
                                model.locale
                            ),
                        });
                    }
                    *unknown.entry(*source_index).or_default().entry(v.to_string()).or_default() += 1;
                }
            }
            rows += batch.num_rows() as u64;
        }
        imported.push(ImportedFile { path: path.display().to_string(), sha256: String::new(), bytes: 0, rows });
    }
    let unknown: Vec<UnknownValues> = unknown
        .into_iter()
        .map(|(c, values)| {
            let mut v: Vec<(String, u64)> = values.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            UnknownValues {
                column: plan.source.field(c).name().clone(),
                rows: v.iter().map(|x| x.1).sum(),
                distinct: v.len(),
                values: v.into_iter().take(LISTED_UNKNOWN).collect(),
            }
        })
        .collect();

    // 2. Write: a reader thread streams the files' batches, cast, into one Lance write.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(4);
    let reader_files = files.clone();
    let target = plan.target.clone();
    let plan = Arc::new(plan);
    let reader_plan = plan.clone();
    let reader = std::thread::spawn(move || {
        for (path, format) in &reader_files {
            let mut row = 0u64;
            let batches = match read(path, *format, &reader_plan.source, None) {
                Ok(b) => b,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            };
            for batch in batches {
                let batch = batch.and_then(|b| {
                    let columns = cast(&b, &reader_plan, None, path, row)?;
                    row += b.num_rows() as u64;
                    Ok(RecordBatch::try_new(reader_plan.target.clone(), columns)?)
                });
                let failed = batch.is_err();
                if tx.blocking_send(batch).is_err() || failed {
                    return;
                }
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
    let stream = datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
        target,
        futures::StreamExt::map(stream, |b| b.map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))),
    );
    let written = db.write_stream(&options.table, Box::pin(stream), options.kind, Some(&locale)).await;
    let _ = reader.join();
    let (_, rows) = written?;
    for ((file, (path, _)), hash) in imported.iter_mut().zip(&files).zip(hashing) {
        (file.sha256, file.bytes) = match hash.join() {
            Ok(result) => result?,
            Err(_) => sha256(path)?,
        };
    }
    let write_seconds = start.elapsed().as_secs_f64();

    // 3. Provenance, then embeddings and indexes.
    let unknown_json = serde_json::to_string(&unknown).unwrap_or_default();
    if options.kind == WriteKind::Replace {
        db.catalog()?.clear_imports(&options.table)?;
    }
    for f in &imported {
        db.catalog()?.record_import(&options.table, &locale, &f.path, &f.sha256, f.bytes, f.rows, &unknown_json)?;
    }
    let prose: Vec<String> =
        model.persona.narrative.fields.iter().filter(|f| plan.target.field_with_name(f).is_ok()).cloned().collect();
    let embed: Vec<String> = match &options.embed {
        None => prose.clone(),
        Some(fields) => {
            for f in fields {
                if !prose.contains(f) {
                    return Err(Error::InvalidArgument {
                        name: "--embed".into(),
                        reason: format!(
                            "`{f}` is not a narrative field of the imported files (fields present: {})",
                            if prose.is_empty() { "none".to_string() } else { prose.join(", ") }
                        ),
                    });
                }
            }
            fields.clone()
        }
    };
    let mut embedded = Vec::new();
    for field in embed {
        let mut o = crate::embed::column::EmbedColumnOptions::new(options.table.clone(), field);
        o.progress = options.progress;
        embedded.push(crate::embed::column::embed_column(db, &o).await?);
    }
    let names = |idx: &mut dyn Iterator<Item = usize>| -> Vec<String> {
        idx.map(|i| plan.source.field(i).name().clone()).collect()
    };
    let known_set: HashSet<usize> = plan.known.iter().copied().collect();
    Ok(ImportReport {
        table: options.table.clone(),
        locale,
        files: imported,
        rows,
        known_columns: names(&mut plan.known.iter().copied()),
        other_columns: names(&mut (0..plan.source.fields().len()).filter(|i| !known_set.contains(i))),
        unknown,
        write_seconds,
        embedded,
        seconds: start.elapsed().as_secs_f64(),
    })
}
