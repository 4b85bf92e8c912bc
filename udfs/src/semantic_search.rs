//! `semantic_search(table, column, query, k)`: the `k` rows of a stored table whose embedding
//! column is nearest in meaning to a text, with WHERE filters applied before the search.

use std::sync::Arc;

use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::plan_err;
use datafusion::error::Result;

use crate::args::{check_arity, string_arg, u64_arg};
use crate::backends::{SearchRequest, TableSearcher};
use crate::doc::FunctionDoc;

/// The SQL name.
pub const NAME: &str = "semantic_search";
const SYNTAX: &str = "semantic_search(table, column, query, k)";
/// Largest `k` accepted.
pub const MAX_K: u64 = 100_000;

/// The function's documentation.
pub fn doc() -> FunctionDoc {
    FunctionDoc {
        name: NAME,
        kind: "table function",
        description: "The `k` rows of a stored table whose embedding column is nearest to the \
            embedding of `query` (the session's model, the one `embed` uses), with every column \
            of the table plus `_distance` (cosine distance, 0 = same direction, 2 = opposite), \
            nearest first. A WHERE clause on the table's columns (comparisons, AND/OR/NOT, IN, \
            BETWEEN, LIKE, IS NULL) is applied before the search, so \
            `... WHERE state = 'OH' AND age > 60` returns the k nearest rows among those that \
            match, not fewer. The search uses the column's vector index when there is one \
            (`personadb index`; rows appended since are searched exactly) and is exact \
            otherwise. A column whose recorded embedding model differs from the session's \
            is refused.",
        syntax: SYNTAX,
        arguments: &[
            ("table", "Name of a stored table, a string: `'personas'`."),
            ("column", "Its embedding column, e.g. `'persona_embedding'` (written by `personadb generate --embed`)."),
            ("query", "The text to search for."),
            ("k", "How many rows, 1 to 100000."),
        ],
        example: "SELECT first_name, state, round(_distance, 3) AS d \
                  FROM semantic_search('personas', 'persona_embedding', 'retired nurse who loves gardening', 5) \
                  WHERE state = 'OH';",
    }
}

/// The table function, over a [`TableSearcher`] backend.
#[derive(Debug)]
pub struct SemanticSearch {
    searcher: Arc<dyn TableSearcher>,
}

impl SemanticSearch {
    pub fn new(searcher: Arc<dyn TableSearcher>) -> Self {
        Self { searcher }
    }
}

impl TableFunctionImpl for SemanticSearch {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        check_arity(NAME, exprs, 4, 4, SYNTAX)?;
        let request = SearchRequest {
            table: string_arg(NAME, exprs, 0, "table")?,
            column: string_arg(NAME, exprs, 1, "column")?,
            query: string_arg(NAME, exprs, 2, "query")?,
            k: u64_arg(NAME, exprs, 3, "k")?,
        };
        if request.k == 0 || request.k > MAX_K {
            return plan_err!("{NAME}: argument `k` must be between 1 and {MAX_K}, got {}", request.k);
        }
        if request.query.trim().is_empty() {
            return plan_err!("{NAME}: argument `query` is empty");
        }
        self.searcher.search(&request)
    }
}
