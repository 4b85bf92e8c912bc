//! Writing query results as a pretty table, CSV, a JSON array, JSON lines or Parquet, to
//! stdout or a file. CSV has no nested values, so list, struct and map columns are written
//! there as JSON text (`["hiking", "chess"]`, a vector as `[0.12, -0.03, ...]`); Parquet keeps
//! every type as it is.

use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;

use crate::error::{Error, Result};

/// Output formats for query results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Jsonl,
    /// Parquet (to a file only).
    Parquet,
}

impl OutputFormat {
    /// The format a file's extension names (`.csv`, `.json`, `.jsonl`/`.ndjson`, `.parquet`,
    /// `.txt` for a table).
    pub fn from_extension(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "json" => Some(Self::Json),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "parquet" | "pq" => Some(Self::Parquet),
            "txt" => Some(Self::Table),
            _ => None,
        }
    }
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "table" => Ok(Self::Table),
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            "jsonl" => Ok(Self::Jsonl),
            "parquet" => Ok(Self::Parquet),
            other => {
                Err(format!("unknown format '{}' (table, csv, json, jsonl, parquet)", crate::error::shorten(other, 40)))
            }
        }
    }
}

fn io(e: std::io::Error) -> Error {
    Error::io("writing output", e)
}

/// Streams a result to `out` in `format`. Returns the number of rows written. A statement
/// with no columns (DDL) writes nothing.
pub async fn write_stream(
    mut stream: SendableRecordBatchStream,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<u64> {
    let schema = stream.schema();
    if schema.fields().is_empty() {
        while let Some(b) = stream.next().await {
            b?;
        }
        return Ok(0);
    }
    let mut rows = 0u64;
    match format {
        OutputFormat::Parquet => {
            return Err(Error::InvalidArgument {
                name: "-o parquet".into(),
                reason: "Parquet is written to a file: give --out FILE".into(),
            })
        }
        OutputFormat::Table => {
            // A table is for reading: it holds at most TABLE_MAX_ROWS rows or TABLE_MAX_BYTES of
            // values in memory; the rest are counted, and a last line says so.
            let mut batches: Vec<RecordBatch> = Vec::new();
            let (mut shown, mut bytes) = (0usize, 0usize);
            while let Some(b) = stream.next().await {
                let b = b?;
                rows += b.num_rows() as u64;
                if shown < TABLE_MAX_ROWS && bytes < TABLE_MAX_BYTES {
                    let part = printable(&b.slice(0, (TABLE_MAX_ROWS - shown).min(b.num_rows())))?;
                    shown += part.num_rows();
                    bytes += part.get_array_memory_size();
                    batches.push(part);
                }
            }
            if batches.is_empty() {
                batches.push(RecordBatch::new_empty(schema));
            }
            let table = arrow::util::pretty::pretty_format_batches(&batches)?;
            writeln!(out, "{table}").map_err(io)?;
            if (shown as u64) < rows {
                writeln!(
                    out,
                    "(the first {shown} of {rows} rows; -o csv|json|jsonl|parquet --out FILE writes them all)"
                )
                .map_err(io)?;
            }
        }
        OutputFormat::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(&mut *out);
            let mut wrote = false;
            while let Some(b) = stream.next().await {
                let b = b?;
                rows += b.num_rows() as u64;
                writer.write(&nested_as_json(&b)?)?;
                wrote = true;
            }
            if !wrote {
                writer.write(&nested_as_json(&RecordBatch::new_empty(schema))?)?;
            }
        }
        OutputFormat::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut *out);
            while let Some(b) = stream.next().await {
                let b = b?;
                rows += b.num_rows() as u64;
                writer.write(&b)?;
            }
            writer.finish()?;
            drop(writer);
            if rows == 0 {
                write!(out, "[]").map_err(io)?;
            }
            writeln!(out).map_err(io)?;
        }
        OutputFormat::Jsonl => {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut *out);
            while let Some(b) = stream.next().await {
                let b = b?;
                rows += b.num_rows() as u64;
                writer.write(&b)?;
            }
            writer.finish()?;
        }
    }
    out.flush().map_err(io)?;
    Ok(rows)
}

/// Streams a result into a Parquet file (zstd-compressed). Returns the number of rows.
pub async fn write_parquet<W: Write + Send>(stream: SendableRecordBatchStream, out: W) -> Result<u64> {
    // Plain strings, whatever reads the file.
    let mut stream = crate::columns::plain_text(stream);
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(out, stream.schema(), Some(props))
        .map_err(|e| Error::InvalidArgument { name: "parquet output".into(), reason: e.to_string() })?;
    let mut rows = 0u64;
    while let Some(b) = stream.next().await {
        let b = b?;
        rows += b.num_rows() as u64;
        writer
            .write(&b)
            .map_err(|e| Error::InvalidArgument { name: "parquet output".into(), reason: e.to_string() })?;
    }
    writer.close().map_err(|e| Error::InvalidArgument { name: "parquet output".into(), reason: e.to_string() })?;
    Ok(rows)
}

/// Where a command's results go: stdout in a format, or one file (written whole or not at
/// all: a temporary file beside it is renamed into place when the result is complete).
#[derive(Debug)]
pub struct ResultSink {
    format: OutputFormat,
    file: Option<PathBuf>,
    /// Whether a result with columns has been written (a file takes one).
    wrote: bool,
}

impl ResultSink {
    /// Results in `format` (default: a table, or the format `file`'s extension names) to
    /// `file` or stdout. A file inside the database directory `db` is refused, as is Parquet
    /// to stdout.
    pub fn new(format: Option<OutputFormat>, file: Option<PathBuf>, db: &Path) -> Result<Self> {
        if let Some(path) = file.as_ref().filter(|p| p.is_dir()) {
            return Err(Error::InvalidArgument {
                name: format!("--out '{}'", path.display()),
                reason: "it is a folder; name a file".into(),
            });
        }
        let format = match (&file, format) {
            (_, Some(f)) => f,
            (Some(path), None) => OutputFormat::from_extension(path).ok_or_else(|| Error::InvalidArgument {
                name: format!("--out '{}'", path.display()),
                reason: "its extension names no format (.csv, .json, .jsonl, .parquet, .txt); give -o FORMAT".into(),
            })?,
            (None, None) => OutputFormat::Table,
        };
        if let Some(path) = &file {
            crate::output_path::check_outside(db, &path.to_string_lossy(), "--out")?;
            if path.is_dir() {
                return Err(Error::InvalidArgument {
                    name: format!("--out '{}'", path.display()),
                    reason: "it is a folder; name a file".into(),
                });
            }
        } else if format == OutputFormat::Parquet {
            return Err(Error::InvalidArgument {
                name: "-o parquet".into(),
                reason: "Parquet is written to a file: give --out FILE".into(),
            });
        }
        Ok(ResultSink { format, file, wrote: false })
    }

    /// The format results are written in.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// Writes one result. Returns its number of rows. A file takes the result of one query:
    /// a second result with columns is refused (statements without columns, DDL, pass).
    pub async fn write(&mut self, stream: SendableRecordBatchStream) -> Result<u64> {
        let Some(path) = self.file.clone() else {
            return write_stream(stream, self.format, &mut std::io::stdout().lock()).await;
        };
        if stream.schema().fields().is_empty() {
            return write_stream(stream, self.format, &mut std::io::sink()).await;
        }
        if self.wrote {
            return Err(Error::InvalidArgument {
                name: format!("--out '{}'", path.display()),
                reason: "a file takes the result of one query, and an earlier statement already wrote it".into(),
            });
        }
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let temp = path.with_file_name(format!(".{name}.personadb-{}.partial", std::process::id()));
        let fail = |doing: &str, e: std::io::Error| Error::io(&format!("{doing} {}", path.display()), e);
        let file = std::fs::File::create(&temp).map_err(|e| fail("creating", e))?;
        let written = match self.format {
            OutputFormat::Parquet => write_parquet(stream, std::io::BufWriter::new(file)).await,
            format => write_stream(stream, format, &mut std::io::BufWriter::new(file)).await,
        };
        match written {
            Ok(rows) => {
                std::fs::rename(&temp, &path).map_err(|e| fail("writing", e))?;
                self.wrote = true;
                Ok(rows)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                Err(e)
            }
        }
    }
}

/// The most rows `-o table` prints.
pub const TABLE_MAX_ROWS: usize = 10_000;
/// The most bytes of values `-o table` holds in memory to print.
pub const TABLE_MAX_BYTES: usize = 64 << 20;

/// `batch` as text for the terminal: every column that is not a number, a boolean or a time
/// becomes its displayed text (lists and structs included) with every control character
/// escaped (`\x1b`), so data cannot drive the terminal; newlines stay. Column names are
/// escaped too. The result is compact (it holds no buffer of a larger parent batch).
fn printable(batch: &RecordBatch) -> Result<RecordBatch> {
    use std::sync::Arc;

    use arrow::array::{Array, ArrayRef, StringBuilder};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let schema = batch.schema();
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    let options = FormatOptions::default();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let t = field.data_type();
        let name = crate::error::escape_controls(field.name());
        if t.is_numeric() || t.is_temporal() || matches!(t, DataType::Boolean | DataType::Null) {
            let indices = arrow::array::UInt32Array::from_iter_values(0..column.len() as u32);
            fields.push(Field::new(name, t.clone(), field.is_nullable()));
            columns.push(arrow::compute::take(column.as_ref(), &indices, None)?);
            continue;
        }
        let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
        let mut out = StringBuilder::with_capacity(column.len(), column.len() * 16);
        for i in 0..column.len() {
            if column.is_null(i) {
                out.append_null();
            } else {
                out.append_value(crate::error::escape_controls(&formatter.value(i).to_string()));
            }
        }
        fields.push(Field::new(name, DataType::Utf8, field.is_nullable()));
        columns.push(Arc::new(out.finish()));
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// `text` with control characters other than newline escaped: `\x1b`, `\u{9b}`.
/// Whether a column type has no CSV form.
fn is_nested(t: &arrow::datatypes::DataType) -> bool {
    use arrow::datatypes::DataType::*;
    matches!(t, List(_) | LargeList(_) | FixedSizeList(_, _) | ListView(_) | LargeListView(_) | Struct(_) | Map(_, _))
}

/// `batch` with every nested column replaced by a Utf8 column of its values as JSON text
/// (NULL stays NULL).
fn nested_as_json(batch: &RecordBatch) -> Result<RecordBatch> {
    use std::sync::Arc;

    use arrow::array::{Array, ArrayRef, StringBuilder};
    use arrow::datatypes::{DataType, Field, Schema};
    let schema = batch.schema();
    if !schema.fields().iter().any(|f| is_nested(f.data_type())) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if !is_nested(field.data_type()) {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        }
        // One JSON object per row, {"v": <value>}, through arrow's JSON writer; the value kept.
        let one = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("v", field.data_type().clone(), true)])),
            vec![column.clone()],
        )?;
        let mut lines = Vec::new();
        {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut lines);
            writer.write(&one)?;
            writer.finish()?;
        }
        let mut out = StringBuilder::with_capacity(column.len(), lines.len());
        for (i, line) in lines.split(|b| *b == b'\n').take(column.len()).enumerate() {
            if column.is_null(i) {
                out.append_null();
                continue;
            }
            let value: serde_json::Value = serde_json::from_slice(line)
                .map_err(|e| Error::InvalidArgument { name: "output".into(), reason: e.to_string() })?;
            out.append_value(value.get("v").map(|v| v.to_string()).unwrap_or_default());
        }
        fields.push(Field::new(field.name(), DataType::Utf8, true));
        columns.push(Arc::new(out.finish()));
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, ListBuilder, StringBuilder};

    use super::*;

    #[test]
    fn tables_escape_control_characters_and_cap_rows() {
        let values: Vec<String> = (0..TABLE_MAX_ROWS + 5).map(|i| format!("\u{1b}[31mred{i}\u{7}")).collect();
        let batch =
            RecordBatch::try_from_iter(vec![("a", Arc::new(arrow::array::StringArray::from(values)) as ArrayRef)])
                .expect("batch");
        let schema = batch.schema();
        let stream = Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
            schema,
            futures::stream::iter(vec![Ok(batch)]),
        ));
        let mut out = Vec::new();
        let rows = futures::executor::block_on(write_stream(stream, OutputFormat::Table, &mut out)).expect("table");
        let text = String::from_utf8(out).expect("utf8");
        assert_eq!(rows, (TABLE_MAX_ROWS + 5) as u64);
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "raw control characters printed");
        assert!(text.contains("\\x1b[31mred0\\x07"), "{}", &text[..200]);
        assert!(!text.contains(&format!("red{TABLE_MAX_ROWS}")), "more rows than the cap printed");
        assert!(text.trim_end().ends_with(&format!(
            "(the first {TABLE_MAX_ROWS} of {} rows; -o csv|json|jsonl|parquet --out FILE writes them all)",
            TABLE_MAX_ROWS + 5
        )));
    }

    #[test]
    fn nested_values_and_names_are_escaped_too() {
        let mut list = ListBuilder::new(StringBuilder::new());
        list.values().append_value("chess\u{1b}]0;owned\u{7}");
        list.append(true);
        let batch =
            RecordBatch::try_from_iter(vec![("hobbies\u{1b}[2J", Arc::new(list.finish()) as ArrayRef)]).expect("batch");
        let shown = printable(&batch).expect("printable");
        let text = arrow::util::pretty::pretty_format_batches(&[shown]).expect("pretty").to_string();
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        assert!(text.contains("chess\\x1b]0;owned\\x07") && text.contains("hobbies\\x1b[2J"), "{text}");
    }

    #[test]
    fn lists_become_json_text_in_csv() {
        let mut list = ListBuilder::new(StringBuilder::new());
        list.values().append_value("hiking");
        list.values().append_value("chess, \"blitz\"");
        list.append(true);
        list.append(false);
        let batch = RecordBatch::try_from_iter(vec![
            ("n", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("hobbies", Arc::new(list.finish()) as ArrayRef),
        ])
        .expect("batch");
        let flat = nested_as_json(&batch).expect("flatten");
        let mut out = Vec::new();
        arrow::csv::WriterBuilder::new().with_header(true).build(&mut out).write(&flat).expect("csv");
        let text = String::from_utf8(out).expect("utf8");
        assert_eq!(text, "n,hobbies\n1,\"[\"\"hiking\"\",\"\"chess, \\\"\"blitz\\\"\"\"\"]\"\n2,\n");
    }
}
