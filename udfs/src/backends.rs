//! The backend traits the SQL functions call. The engine (the `personadb` crate)
//! implements them; the functions here only validate arguments and shape results.

use std::fmt::Debug;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::error::Result;
use datafusion::physical_plan::SendableRecordBatchStream;

/// What `sample_persona` asks the sampler for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleRequest {
    /// Number of personas.
    pub n: u64,
    /// Locale pack, e.g. `us`.
    pub locale: String,
    /// Random seed: the same seed gives the same rows.
    pub seed: u64,
    /// A SQL boolean expression over persona columns to condition on; empty for none.
    pub given: String,
}

/// Samples personas from a locale model.
pub trait PersonaSampler: Debug + Send + Sync {
    /// Validates the request (locale, evidence) and returns the output schema.
    /// Called at plan time, so every argument error surfaces before execution.
    fn plan(&self, request: &SampleRequest) -> Result<SchemaRef>;

    /// Streams the personas for a request already validated by [`PersonaSampler::plan`].
    fn execute(&self, request: &SampleRequest, batch_size: usize) -> Result<SendableRecordBatchStream>;
}

/// The backends available to the SQL functions. A function whose backend is `None`
/// is not registered.
#[derive(Debug, Clone, Default)]
pub struct Backends {
    /// Backs `sample_persona`.
    pub sampler: Option<Arc<dyn PersonaSampler>>,
}
