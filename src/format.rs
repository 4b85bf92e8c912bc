//! Writing query results as a pretty table, CSV, a JSON array or JSON lines. CSV has no
//! nested values, so list, struct and map columns are written there as JSON text
//! (`["hiking", "chess"]`, a vector as `[0.12, -0.03, ...]`).

use std::io::Write;

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
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "table" => Ok(Self::Table),
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            "jsonl" => Ok(Self::Jsonl),
            other => Err(format!("unknown format '{other}' (table, csv, json, jsonl)")),
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
        OutputFormat::Table => {
            let mut batches: Vec<RecordBatch> = Vec::new();
            while let Some(b) = stream.next().await {
                let b = b?;
                rows += b.num_rows() as u64;
                batches.push(b);
            }
            if batches.is_empty() {
                batches.push(RecordBatch::new_empty(schema));
            }
            let table = arrow::util::pretty::pretty_format_batches(&batches)?;
            writeln!(out, "{table}").map_err(io)?;
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
