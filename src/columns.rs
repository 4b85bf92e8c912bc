//! Which columns of a table hold what: the text columns a narrative search reads, the embedding
//! columns (FixedSizeList of Float32) and the model each was written with. Shared by the
//! embedder, the indexes, generation and search, below all of them.

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

/// The embedding columns of a schema (FixedSizeList of Float32).
pub fn embedding_columns(schema: &Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .filter(|f| matches!(f.data_type(), DataType::FixedSizeList(item, _) if item.data_type() == &DataType::Float32))
        .map(|f| f.name().clone())
        .collect()
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
