//! personadb-udfs: personadb's SQL functions as a DataFusion plugin.
//!
//! The crate never builds a session of its own. An engine implements the small backend
//! traits in [`backends`] and calls [`register_all`] on its `SessionContext`; anyone can do
//! the same in their own DataFusion session. One file per SQL function, each carrying its
//! documentation as data ([`FunctionDoc`]), from which `docs/sql-functions.md` is generated.

pub mod args;
pub mod backends;
pub mod distance;
pub mod doc;
pub mod embed;
pub mod generate_narrative;
pub mod narrative_violations;
pub mod near_duplicates;
pub mod options;
pub mod sample_persona;
pub mod semantic_search;
pub mod stratified_sample;

use std::sync::Arc;

use datafusion::error::Result;
use datafusion::prelude::SessionContext;

pub use backends::{
    Allocation, Backends, DuplicateFinder, DuplicateRequest, NarrationSettings, NarrativeChecker, PersonaNarrator,
    PersonaSampler, SampleRequest, SearchMode, SearchRequest, StratifyRequest, TableSearcher, TableStratifier,
    TextEmbedder,
};
pub use doc::FunctionDoc;
pub use options::PersonadbOptions;

/// Registers every personadb SQL function whose backend is present in `backends`.
///
/// Functions whose backend is absent are not registered, so a query that uses them fails
/// at plan time with DataFusion's ordinary "function not found" error.
pub fn register_all(ctx: &SessionContext, backends: Backends) -> Result<()> {
    if let Some(sampler) = backends.sampler.clone() {
        ctx.register_udtf(sample_persona::NAME, Arc::new(sample_persona::SamplePersona::new(sampler)));
    }
    if let Some(stratifier) = backends.stratifier.clone() {
        ctx.register_udtf(stratified_sample::NAME, Arc::new(stratified_sample::StratifiedSample::new(stratifier)));
    }
    if let Some(finder) = backends.duplicates.clone() {
        ctx.register_udtf(near_duplicates::NAME, Arc::new(near_duplicates::NearDuplicates::new(finder)));
    }
    if let Some(searcher) = backends.searcher.clone() {
        for mode in [SearchMode::Vector, SearchMode::Text, SearchMode::Hybrid] {
            ctx.register_udtf(mode.function(), Arc::new(semantic_search::SemanticSearch::new(mode, searcher.clone())));
        }
    }
    if let Some(narrator) = backends.narrator.clone() {
        let udf = datafusion::logical_expr::async_udf::AsyncScalarUDF::new(Arc::new(
            generate_narrative::GenerateNarrative::new(narrator),
        ));
        ctx.register_udf(udf.into_scalar_udf());
    }
    if let Some(checker) = backends.checker.clone() {
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
            narrative_violations::NarrativeViolations::new(checker),
        ));
    }
    if let Some(embedder) = backends.embedder.clone() {
        let udf = datafusion::logical_expr::async_udf::AsyncScalarUDF::new(Arc::new(embed::Embed::new(embedder)));
        ctx.register_udf(udf.into_scalar_udf());
    }
    for metric in [distance::Metric::Cosine, distance::Metric::L2] {
        ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(distance::Distance::new(metric)));
    }
    Ok(())
}

/// The documentation of every function this crate defines, in reference order.
pub fn all_docs() -> Vec<FunctionDoc> {
    vec![
        sample_persona::doc(),
        stratified_sample::doc(),
        semantic_search::doc(SearchMode::Vector),
        semantic_search::doc(SearchMode::Text),
        semantic_search::doc(SearchMode::Hybrid),
        generate_narrative::doc(),
        narrative_violations::doc(),
        near_duplicates::doc(),
        embed::doc(),
        distance::doc(distance::Metric::Cosine),
        distance::doc(distance::Metric::L2),
    ]
}

/// The SQL function reference as Markdown (the content of `docs/sql-functions.md`).
pub fn sql_reference_markdown() -> String {
    doc::render_reference(&all_docs())
}
