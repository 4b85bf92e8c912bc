//! `sample_persona(n, locale, seed, given)`: a table function that samples personas from a
//! locale's census-grounded model, so that `INSERT INTO personas SELECT * FROM
//! sample_persona(...)` extends a dataset.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::physical_plan::SendableRecordBatchStream;

use crate::args::{check_arity, string_arg, u64_arg};
use crate::backends::{PersonaSampler, SampleRequest};
use crate::doc::FunctionDoc;

/// The SQL name.
pub const NAME: &str = "sample_persona";
const SYNTAX: &str = "sample_persona(n, locale [, seed [, given]])";

/// The function's documentation.
pub fn doc() -> FunctionDoc {
    FunctionDoc {
        name: NAME,
        kind: "table function",
        description: "Samples `n` personas from a locale's census-grounded model. The same seed \
            gives the same rows, whatever the batch size or thread count. `given` conditions \
            the sample exactly on a SQL boolean expression over persona columns: the attributes \
            it mentions and their ancestors are enumerated and drawn jointly (the distribution of \
            rejection sampling, without the rejections), or, where they span too many combinations \
            (e.g. an occupation), rows are drawn by rejection against the exact set of accepted \
            values. Evidence no persona can satisfy, or too rare to reject for (below 1e-6), is an \
            error; scores drawn per row (Big Five) cannot be conditioned on, filter instead.",
        syntax: SYNTAX,
        arguments: &[
            ("n", "Number of personas, a non-negative integer."),
            ("locale", "Locale pack: `'us'`."),
            ("seed", "Random seed, a non-negative integer. Default 0."),
            (
                "given",
                "SQL boolean expression over persona columns, e.g. `'state = ''OH'' AND age >= 65'`; \
                 `''` (the default) for none.",
            ),
        ],
        example: "SELECT state, count(*) FROM sample_persona(1000, 'us', 42, 'age BETWEEN 30 AND 45') \
                  GROUP BY state ORDER BY 2 DESC LIMIT 3;",
    }
}

/// The table function, over a [`PersonaSampler`] backend.
#[derive(Debug)]
pub struct SamplePersona {
    sampler: Arc<dyn PersonaSampler>,
}

impl SamplePersona {
    pub fn new(sampler: Arc<dyn PersonaSampler>) -> Self {
        Self { sampler }
    }
}

impl TableFunctionImpl for SamplePersona {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        check_arity(NAME, exprs, 2, 4, SYNTAX)?;
        let request = SampleRequest {
            n: u64_arg(NAME, exprs, 0, "n")?,
            locale: string_arg(NAME, exprs, 1, "locale")?,
            seed: if exprs.len() > 2 { u64_arg(NAME, exprs, 2, "seed")? } else { 0 },
            given: if exprs.len() > 3 { string_arg(NAME, exprs, 3, "given")? } else { String::new() },
        };
        let schema = self.sampler.plan(&request)?;
        let partition = SampledPartition { sampler: self.sampler.clone(), request, schema: schema.clone() };
        Ok(Arc::new(StreamingTable::try_new(schema, vec![Arc::new(partition)])?))
    }
}

/// One partition: the rows come out in a fixed order, so a query's result does not depend
/// on scheduling (the sampler parallelises inside each batch).
#[derive(Debug)]
struct SampledPartition {
    sampler: Arc<dyn PersonaSampler>,
    request: SampleRequest,
    schema: SchemaRef,
}

impl PartitionStream for SampledPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let batch_size = ctx.session_config().batch_size();
        match self.sampler.execute(&self.request, batch_size) {
            Ok(stream) => stream,
            Err(e) => Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), futures_once_error(e))),
        }
    }
}

fn futures_once_error(
    e: datafusion::error::DataFusionError,
) -> impl futures::Stream<Item = Result<arrow::record_batch::RecordBatch>> {
    futures::stream::once(async move { Err(e) })
}
