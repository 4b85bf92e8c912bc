//! `cosine_distance(a, b)` and `l2_distance(a, b)`: distances between vectors (embedding
//! columns, `embed(...)` results, or array literals), row by row; either side may be a
//! constant.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float32Array, Float32Builder};
use arrow::datatypes::{DataType, Field};
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use crate::doc::FunctionDoc;

/// Which distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    Cosine,
    L2,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine_distance",
            Metric::L2 => "l2_distance",
        }
    }

    fn distance(self, a: &[f32], b: &[f32]) -> Option<f32> {
        match self {
            Metric::Cosine => {
                let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
                for (x, y) in a.iter().zip(b) {
                    dot += x * y;
                    na += x * x;
                    nb += y * y;
                }
                // Clamped: rounding can push identical directions just below 0.
                (na > 0.0 && nb > 0.0).then(|| (1.0 - dot / (na.sqrt() * nb.sqrt())).clamp(0.0, 2.0))
            }
            Metric::L2 => Some(a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()),
        }
    }
}

pub fn doc(metric: Metric) -> FunctionDoc {
    match metric {
        Metric::Cosine => FunctionDoc {
            name: "cosine_distance",
            kind: "scalar function",
            description: "The cosine distance (1 − cosine similarity, 0 for the same direction, up to 2) between \
                two vectors of the same length: embedding columns, `embed(...)` results or array literals. \
                NULL when either is NULL, has length zero or has a NULL element.",
            syntax: "cosine_distance(a, b)",
            arguments: &[("a, b", "Vectors (FixedSizeList or List of floats) of equal length.")],
            example: "SELECT cosine_distance(embed('retired nurse'), embed('nurse who has retired'));",
        },
        Metric::L2 => FunctionDoc {
            name: "l2_distance",
            kind: "scalar function",
            description: "The Euclidean (L2) distance between two vectors of the same length. NULL when either \
                is NULL or has a NULL element. For unit-length embeddings, l2² = 2 × cosine distance.",
            syntax: "l2_distance(a, b)",
            arguments: &[("a, b", "Vectors (FixedSizeList or List of floats) of equal length.")],
            example: "SELECT l2_distance([1.0, 0.0], [0.0, 1.0]);",
        },
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Distance {
    metric: Metric,
    signature: Signature,
}

impl Distance {
    pub fn new(metric: Metric) -> Self {
        Distance { metric, signature: Signature::any(2, Volatility::Immutable) }
    }
}

fn is_vector(t: &DataType) -> bool {
    match t {
        DataType::FixedSizeList(f, _) | DataType::List(f) | DataType::LargeList(f) => {
            matches!(f.data_type(), DataType::Float32 | DataType::Float64 | DataType::Float16)
        }
        _ => false,
    }
}

/// Any vector array as (offsets per row via a List<Float32>).
fn as_f32_lists(array: &ArrayRef) -> Result<arrow::array::ListArray> {
    let target = DataType::List(Arc::new(Field::new("item", DataType::Float32, true)));
    let cast = arrow::compute::cast(array, &target)?;
    Ok(cast.as_list::<i32>().clone())
}

impl ScalarUDFImpl for Distance {
    fn name(&self) -> &str {
        self.metric.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        for (i, t) in args.iter().enumerate() {
            if !is_vector(t) && *t != DataType::Null {
                return plan_err!(
                    "{}: argument {} must be a vector (a list of floats, e.g. an embedding column), got {t}",
                    self.metric.name(),
                    i + 1
                );
            }
        }
        Ok(DataType::Float32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays: Vec<ArrayRef> = args.args.iter().map(|a| a.to_array(rows)).collect::<Result<_>>()?;
        if arrays[0].data_type() == &DataType::Null || arrays[1].data_type() == &DataType::Null {
            let nulls: ArrayRef = Arc::new(Float32Array::new_null(rows));
            return Ok(ColumnarValue::Array(nulls));
        }
        let (a, b) = (as_f32_lists(&arrays[0])?, as_f32_lists(&arrays[1])?);
        let (av, bv) = (
            a.values().as_primitive::<arrow::datatypes::Float32Type>(),
            b.values().as_primitive::<arrow::datatypes::Float32Type>(),
        );
        let mut out = Float32Builder::with_capacity(rows);
        for i in 0..rows {
            if a.is_null(i) || b.is_null(i) {
                out.append_null();
                continue;
            }
            let (ra, rb) = (a.value_offsets(), b.value_offsets());
            let (x0, x1) = (ra[i] as usize, ra[i + 1] as usize);
            let (y0, y1) = (rb[i] as usize, rb[i + 1] as usize);
            if x1 - x0 != y1 - y0 {
                return exec_err!(
                    "{}: the vectors have different lengths ({} and {})",
                    self.metric.name(),
                    x1 - x0,
                    y1 - y0
                );
            }
            // An unknown component makes the distance unknown (it used to count as 0).
            let unknown = |v: &arrow::array::Float32Array, from: usize, to: usize| {
                v.nulls().is_some_and(|n| (from..to).any(|j| n.is_null(j)))
            };
            if x1 == x0 || unknown(av, x0, x1) || unknown(bv, y0, y1) {
                out.append_null();
                continue;
            }
            out.append_option(self.metric.distance(&av.values()[x0..x1], &bv.values()[y0..y1]));
        }
        let result: ArrayRef = Arc::new(out.finish());
        if all_scalar {
            return Ok(ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&result, 0)?));
        }
        Ok(ColumnarValue::Array(result))
    }
}
