//! `embed(text)`: the embedding of a text by the engine's embedding model, as a
//! `FixedSizeList<Float32, dimension>` (unit length), computed in batches off the async runtime.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, FixedSizeListArray, Float32Array};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::async_udf::AsyncScalarUDFImpl;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::backends::TextEmbedder;
use crate::doc::FunctionDoc;

/// Field metadata key naming the model that wrote an embedding column.
pub const MODEL_KEY: &str = "personadb.embedding_model";

pub const NAME: &str = "embed";

pub fn doc() -> FunctionDoc {
    FunctionDoc {
        name: NAME,
        kind: "async scalar function",
        description: "The embedding of a text: a unit-length vector (`FixedSizeList<Float32, 384>` for the \
            default all-MiniLM-L6-v2 model, mean pooling) computed locally with ONNX Runtime, in batches. \
            NULL for NULL text. Compare vectors with `cosine_distance` or `l2_distance`.",
        syntax: "embed(text)",
        arguments: &[("text", "A string expression.")],
        example: "SELECT first_name, cosine_distance(embed(persona), embed('retired nurse who loves gardening')) AS d \
                  FROM narrated ORDER BY d LIMIT 5;",
    }
}

#[derive(Debug)]
pub struct Embed {
    embedder: Arc<dyn TextEmbedder>,
    signature: Signature,
}

impl Embed {
    pub fn new(embedder: Arc<dyn TextEmbedder>) -> Self {
        Embed { embedder, signature: Signature::any(1, Volatility::Volatile) }
    }

    fn vector_type(&self) -> Result<DataType> {
        let dim = self.embedder.dimension()?;
        Ok(DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), dim as i32))
    }
}

impl PartialEq for Embed {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.embedder, &other.embedder)
    }
}

impl Eq for Embed {}

impl std::hash::Hash for Embed {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        NAME.hash(state);
    }
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null)
        || matches!(t, DataType::Dictionary(_, v) if matches!(v.as_ref(), DataType::Utf8 | DataType::LargeUtf8))
}

impl ScalarUDFImpl for Embed {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        self.vector_type()
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let t = args.arg_fields[0].data_type();
        if !is_text(t) {
            return plan_err!("{NAME}: the argument must be text, got {t}");
        }
        // Name the model on the field, for engines that keep field metadata. (DataFusion 54
        // drops it for async functions, so personadb records the model of CREATE TABLE AS
        // embed(...) columns in its catalog instead.)
        let metadata = std::collections::HashMap::from([(MODEL_KEY.to_string(), self.embedder.model()?)]);
        Ok(Arc::new(Field::new(NAME, self.vector_type()?, true).with_metadata(metadata)))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        exec_err!("{NAME} can only be invoked asynchronously")
    }
}

#[async_trait::async_trait]
impl AsyncScalarUDFImpl for Embed {
    fn ideal_batch_size(&self) -> Option<usize> {
        Some(256)
    }

    async fn invoke_async_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let input = args.args[0].to_array(rows)?;
        let text = arrow::compute::cast(&input, &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let present: Vec<usize> = (0..rows).filter(|&i| text.is_valid(i)).collect();
        let vectors = self.embedder.embed(present.iter().map(|&i| text.value(i).to_string()).collect()).await?;
        let dim = self.embedder.dimension()?;
        if vectors.len() != present.len() || vectors.iter().any(|v| v.len() != dim) {
            return exec_err!("{NAME}: the model returned vectors of the wrong shape");
        }
        let mut values = vec![0f32; rows * dim];
        for (v, &i) in vectors.iter().zip(&present) {
            values[i * dim..(i + 1) * dim].copy_from_slice(v);
        }
        let field = Arc::new(Field::new("item", DataType::Float32, true));
        let array = FixedSizeListArray::try_new(
            field,
            dim as i32,
            Arc::new(Float32Array::from(values)),
            text.nulls().cloned(),
        )?;
        let array: ArrayRef = Arc::new(array);
        Ok(ColumnarValue::Array(array))
    }
}
