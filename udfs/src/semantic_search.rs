//! The search table functions over stored tables, one per [`SearchMode`]:
//! `semantic_search(table, column, query, k)` — the `k` rows whose embedding column is nearest
//! in meaning to a text; `text_search(table, column, query, k)` — the `k` rows whose text
//! column best matches the query's words (BM25); `hybrid_search(table, column, query, k)` —
//! both rankings fused by reciprocal rank. WHERE filters apply before the search in each.

use std::sync::Arc;

use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::plan_err;
use datafusion::error::Result;

use crate::args::{check_arity, string_arg, u64_arg};
use crate::backends::{SearchMode, SearchRequest, TableSearcher};
use crate::doc::FunctionDoc;

/// The SQL name of the vector search.
pub const NAME: &str = "semantic_search";
/// Every search function's name.
pub const NAMES: [&str; 3] = ["semantic_search", "text_search", "hybrid_search"];
/// Largest `k` accepted.
pub const MAX_K: u64 = 100_000;
/// Rank constant of reciprocal rank fusion: a row's fused score is the sum over the two
/// rankings of `1 / (RRF_K + rank)` (rank from 1), the constant of Cormack et al. (2009).
pub const RRF_K: f64 = 60.0;

/// The documentation of the search function of `mode`.
pub fn doc(mode: SearchMode) -> FunctionDoc {
    match mode {
        SearchMode::Vector => FunctionDoc {
            name: "semantic_search",
            kind: "table function",
            description: concat!(
                "The `k` rows of a stored table whose embedding column is nearest to the \
                 embedding of `query` (by the model the column was written with, recorded in \
                 the catalog), with every column of the table plus `_distance` (cosine \
                 distance, 0 = same direction, 2 = opposite), nearest first. ",
                "A WHERE clause on the table's columns (comparisons, AND/OR/NOT, IN, BETWEEN, \
                 LIKE, IS NULL) is applied before the search, so `... WHERE state = 'OH' AND age \
                 > 60` returns the k best rows among those that match, not fewer. ",
                "The search uses the column's vector index when there is one (`personadb \
                 index`; rows appended since are searched exactly) and is exact otherwise."
            ),
            syntax: "semantic_search(table, column, query, k)",
            arguments: &[
                ("table", "Name of a stored table, a string: `'personas'`."),
                ("column", "Its embedding column, e.g. `'persona_embedding'` (written by `personadb generate`)."),
                ("query", "The text to search for."),
                ("k", "How many rows, 1 to 100000."),
            ],
            example: "SELECT first_name, state, round(_distance, 3) AS d \
                      FROM semantic_search('personas', 'persona_embedding', 'retired nurse who loves gardening', 5) \
                      WHERE state = 'OH';",
        },
        SearchMode::Text => FunctionDoc {
            name: "text_search",
            kind: "table function",
            description: concat!(
                "The `k` rows of a stored table whose text column best matches the words of \
                 `query` by BM25 (through a full-text index, words are case-folded and stemmed and stop words dropped), with every column \
                 of the table plus `_score` (BM25, higher is better), best first. Rows without \
                 any of the query's words are not returned, so fewer than `k` rows may come back. ",
                "A WHERE clause on the table's columns (comparisons, AND/OR/NOT, IN, BETWEEN, \
                 LIKE, IS NULL) is applied before the search, so `... WHERE state = 'OH' AND age \
                 > 60` returns the k best rows among those that match, not fewer. ",
                "The search uses the column's full-text index when there is one (`personadb \
                 index`) and scans the column otherwise."
            ),
            syntax: "text_search(table, column, query, k)",
            arguments: &[
                ("table", "Name of a stored table, a string: `'personas'`."),
                ("column", "A text column, e.g. `'persona'`."),
                ("query", "The words to search for."),
                ("k", "How many rows, 1 to 100000."),
            ],
            example: "SELECT first_name, occupation, round(_score, 2) AS score \
                      FROM text_search('personas', 'persona', 'nurse gardening', 5) \
                      WHERE age > 60;",
        },
        SearchMode::Hybrid => FunctionDoc {
            name: "hybrid_search",
            kind: "table function",
            description: concat!(
                "The `k` rows of a stored table that rank best by meaning and by words together: \
                 the vector search of `semantic_search` and the BM25 search of `text_search` over \
                 a narrative field (its text column and its embedding column, e.g. `persona` and \
                 `persona_embedding`), fused by reciprocal rank (a row scores the sum of \
                 1 / (60 + rank) over the two rankings). Returns every column of the table plus \
                 `_score` (the fused score, higher is better), best first. ",
                "A WHERE clause on the table's columns (comparisons, AND/OR/NOT, IN, BETWEEN, \
                 LIKE, IS NULL) is applied before the search, so `... WHERE state = 'OH' AND age \
                 > 60` returns the k best rows among those that match, not fewer."
            ),
            syntax: "hybrid_search(table, column, query, k)",
            arguments: &[
                ("table", "Name of a stored table, a string: `'personas'`."),
                (
                    "column",
                    "A narrative field: its text column (`'persona'`) or its embedding column \
                     (`'persona_embedding'`); the table must have both.",
                ),
                ("query", "The text to search for."),
                ("k", "How many rows, 1 to 100000."),
            ],
            example: "SELECT first_name, occupation, round(_score, 4) AS score \
                      FROM hybrid_search('personas', 'persona', 'retired nurse who loves gardening', 5) \
                      WHERE state = 'OH';",
        },
    }
}

/// A search table function, over a [`TableSearcher`] backend.
#[derive(Debug)]
pub struct SemanticSearch {
    mode: SearchMode,
    searcher: Arc<dyn TableSearcher>,
}

impl SemanticSearch {
    pub fn new(mode: SearchMode, searcher: Arc<dyn TableSearcher>) -> Self {
        Self { mode, searcher }
    }
}

impl TableFunctionImpl for SemanticSearch {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        let name = self.mode.function();
        let doc = doc(self.mode);
        check_arity(name, exprs, 4, 4, doc.syntax)?;
        let request = SearchRequest {
            mode: self.mode,
            table: string_arg(name, exprs, 0, "table")?,
            column: string_arg(name, exprs, 1, "column")?,
            query: string_arg(name, exprs, 2, "query")?,
            k: u64_arg(name, exprs, 3, "k")?,
        };
        if request.k == 0 || request.k > MAX_K {
            return plan_err!("{name}: argument `k` must be between 1 and {MAX_K}, got {}", request.k);
        }
        if request.query.trim().is_empty() {
            return plan_err!("{name}: argument `query` is empty");
        }
        self.searcher.search(&request)
    }
}
