//! Which columns of a table hold what: the text columns a narrative search reads, the embedding
//! columns (FixedSizeList of Float16 or Float32) and the model each was written with, and how an
//! embedding column is stored. Shared by the embedder, the indexes, generation and search,
//! below all of them.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, FixedSizeListArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::database::Database;
use crate::error::{Error, Result};

/// Field metadata key naming the model of an embedding column (set by `embed` and `generate --embed`).
pub use personadb_udfs::embed::MODEL_KEY;

/// The model and dimension of an embedding column: the catalog's record, else the column's
/// field metadata. `None` when neither says.
pub fn column_model(db: &Database, table: &str, field: &Field) -> Result<Option<(String, usize)>> {
    if let Some(found) = db.catalog()?.embedding(table, field.name())? {
        return Ok(Some(found));
    }
    let DataType::FixedSizeList(_, dim) = field.data_type() else { return Ok(None) };
    Ok(field.metadata().get(MODEL_KEY).map(|m| (m.clone(), *dim as usize)))
}

/// The embedding columns of a schema (FixedSizeList of Float16 or Float32).
pub fn embedding_columns(schema: &Schema) -> Vec<String> {
    schema.fields().iter().filter(|f| VectorType::of(f.data_type()).is_some()).map(|f| f.name().clone()).collect()
}

/// How the numbers of an embedding column are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VectorType {
    /// Half precision: half the bytes, the same search results (benches/README.md, retrieval).
    #[default]
    Float16,
    /// Single precision, as the models compute them.
    Float32,
}

impl VectorType {
    /// The element type.
    pub fn item(self) -> DataType {
        match self {
            VectorType::Float16 => DataType::Float16,
            VectorType::Float32 => DataType::Float32,
        }
    }

    /// The column type of `dim`-dimensional vectors.
    pub fn column(self, dim: usize) -> DataType {
        DataType::FixedSizeList(Arc::new(Field::new("item", self.item(), true)), dim as i32)
    }

    /// The storage of an embedding column's type (`None`: not an embedding column).
    pub fn of(data_type: &DataType) -> Option<Self> {
        match data_type {
            DataType::FixedSizeList(item, d) if *d > 0 => match item.data_type() {
                DataType::Float16 => Some(VectorType::Float16),
                DataType::Float32 => Some(VectorType::Float32),
                _ => None,
            },
            _ => None,
        }
    }

    /// `dim`-dimensional vectors, `values` row after row, NULL where `nulls` says, stored as this type.
    pub fn array(
        self,
        dim: usize,
        values: Vec<f32>,
        nulls: Option<arrow::buffer::NullBuffer>,
    ) -> arrow::error::Result<ArrayRef> {
        let values: ArrayRef = match self {
            VectorType::Float32 => Arc::new(arrow::array::Float32Array::from(values)),
            VectorType::Float16 => {
                Arc::new(arrow::array::Float16Array::from_iter_values(values.into_iter().map(half::f16::from_f32)))
            }
        };
        Ok(Arc::new(FixedSizeListArray::try_new(
            Arc::new(Field::new("item", self.item(), true)),
            dim as i32,
            values,
            nulls,
        )?))
    }

    /// The name users give it.
    pub fn name(self) -> &'static str {
        match self {
            VectorType::Float16 => "float16",
            VectorType::Float32 => "float32",
        }
    }
}

/// An embedding column's vectors in single precision (cast when stored as float16).
pub fn as_float32(list: &FixedSizeListArray) -> arrow::error::Result<FixedSizeListArray> {
    match list.value_type() {
        DataType::Float32 => Ok(list.clone()),
        _ => {
            let target =
                DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), list.value_length());
            Ok(arrow::compute::cast(list, &target)?.as_fixed_size_list().clone())
        }
    }
}

/// The text columns of a schema (Utf8 or LargeUtf8).
pub fn text_columns(schema: &Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .filter(|f| matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8))
        .map(|f| f.name().clone())
        .collect()
}

/// Checks that `column` of `table` is a text column a BM25 search can read.
pub fn check_text_column(table: &str, schema: &Schema, column: &str) -> Result<()> {
    let invalid =
        |reason: String| Error::InvalidArgument { name: format!("column `{column}` of table '{table}'"), reason };
    let candidates = text_columns(schema);
    let list = |c: &[String]| crate::error::name_list(c, Some(column));
    match schema.field_with_name(column) {
        Err(_) => Err(invalid(format!("there is no such column; text columns: {}", list(&candidates)))),
        Ok(f) if !candidates.contains(f.name()) => {
            Err(invalid(format!("it is {}, not a text column; text columns: {}", f.data_type(), list(&candidates))))
        }
        Ok(_) => Ok(()),
    }
}

/// `stream` with its text views (`Utf8View`, as SQL reads tables) as plain `Utf8`: what Lance
/// stores, and what files written for other tools carry.
pub fn plain_text(
    stream: datafusion::physical_plan::SendableRecordBatchStream,
) -> datafusion::physical_plan::SendableRecordBatchStream {
    let given = stream.schema();
    if !given.fields().iter().any(|f| f.data_type() == &DataType::Utf8View) {
        return stream;
    }
    let fields: Vec<Field> = given
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8View => f.as_ref().clone().with_data_type(DataType::Utf8),
            _ => f.as_ref().clone(),
        })
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, given.metadata().clone()));
    let converted = futures::StreamExt::map(stream, move |batch| Ok(plain_text_batch(batch?)?));
    Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema, converted))
}

/// `batch` with its text views (`Utf8View`) as plain `Utf8` (see [`plain_text`]); other columns
/// as they are.
pub fn plain_text_batch(
    batch: arrow::record_batch::RecordBatch,
) -> std::result::Result<arrow::record_batch::RecordBatch, arrow::error::ArrowError> {
    let given = batch.schema();
    if !given.fields().iter().any(|f| f.data_type() == &DataType::Utf8View) {
        return Ok(batch);
    }
    let mut fields = Vec::with_capacity(given.fields().len());
    let mut columns = Vec::with_capacity(given.fields().len());
    for (f, c) in given.fields().iter().zip(batch.columns()) {
        match f.data_type() {
            DataType::Utf8View => {
                fields.push(f.as_ref().clone().with_data_type(DataType::Utf8));
                columns.push(arrow::compute::cast(c, &DataType::Utf8)?);
            }
            _ => {
                fields.push(f.as_ref().clone());
                columns.push(c.clone());
            }
        }
    }
    arrow::record_batch::RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, given.metadata().clone())),
        columns,
    )
}

/// `plan` with its text views (`Utf8View`) cast to plain `Utf8`, for files other tools read
/// (`COPY`): readers that do not know string views get ordinary strings.
pub fn plain_text_plan(
    plan: datafusion::logical_expr::LogicalPlan,
) -> datafusion::error::Result<datafusion::logical_expr::LogicalPlan> {
    use datafusion::logical_expr::{cast, Expr, LogicalPlanBuilder};
    let schema = plan.schema().clone();
    if !schema.fields().iter().any(|f| f.data_type() == &DataType::Utf8View) {
        return Ok(plan);
    }
    let columns: Vec<Expr> = schema
        .iter()
        .map(|(q, f)| {
            let column = Expr::Column(datafusion::common::Column::new(q.cloned(), f.name()));
            match f.data_type() {
                DataType::Utf8View => cast(column, DataType::Utf8).alias(f.name()),
                _ => column,
            }
        })
        .collect();
    LogicalPlanBuilder::from(plan).project(columns)?.build()
}
