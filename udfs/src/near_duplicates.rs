//! `near_duplicates(table, column [, threshold])`: the rows of a stored table whose nearest
//! neighbour by an embedding column is a near duplicate.

use std::sync::Arc;

use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::plan_err;
use datafusion::error::Result;

use crate::args::{check_arity, f64_arg, string_arg};
use crate::backends::{DuplicateFinder, DuplicateRequest};
use crate::doc::FunctionDoc;

/// The SQL name.
pub const NAME: &str = "near_duplicates";
const SYNTAX: &str = "near_duplicates(table, column [, threshold])";

/// The similarity a near duplicate has when no threshold is given.
pub const DEFAULT_THRESHOLD: f64 = 0.95;

/// The function's documentation.
pub fn doc() -> FunctionDoc {
    FunctionDoc {
        name: NAME,
        kind: "table function",
        description: "The rows of a stored table whose nearest neighbour by an embedding column has a \
            cosine similarity at or above `threshold`, measured once the column's mean vector is \
            removed (embeddings share a common direction: with some models every pair has cosine \
            0.9 or more, and a threshold would mean nothing): every column of the table, then `_row` \
            (the row's position in the table), `_neighbor_row` (its nearest neighbour's) and \
            `_similarity` (their similarity). Neighbours are found through an inverted-file index built over \
            the column (two levels of spherical k-means, about 512 rows a cell, each row compared with \
            its own cell and the next nearest), not by comparing all pairs: a near duplicate split \
            from its pair by a cell boundary can be missed (2 of 8,002 in the engine's test set), \
            a more distant nearest neighbour more often. Tables of up to 4,096 rows are searched \
            exactly. Rows \
            without an embedding are skipped. The same table version gives the same rows. \
            `personadb report --diversity` reports the share per group of attributes.",
        syntax: SYNTAX,
        arguments: &[
            ("table", "Name of a stored table, a string: `'personas'`."),
            (
                "column",
                "An embedding column of it (fixed-size list of float16 or float32), e.g. `'persona_embedding'`.",
            ),
            ("threshold", "Cosine similarity from -1 to 1. Default 0.95."),
        ],
        example: "SELECT _row, _neighbor_row, round(_similarity, 3) AS similarity, persona \
                  FROM near_duplicates('personas', 'persona_embedding', 0.97) ORDER BY _similarity DESC LIMIT 5;",
    }
}

/// The table function, over a [`DuplicateFinder`] backend.
#[derive(Debug)]
pub struct NearDuplicates {
    finder: Arc<dyn DuplicateFinder>,
}

impl NearDuplicates {
    pub fn new(finder: Arc<dyn DuplicateFinder>) -> Self {
        Self { finder }
    }
}

impl TableFunctionImpl for NearDuplicates {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        check_arity(NAME, exprs, 2, 3, SYNTAX)?;
        let table = string_arg(NAME, exprs, 0, "table")?;
        let column = string_arg(NAME, exprs, 1, "column")?;
        let threshold = if exprs.len() > 2 { f64_arg(NAME, exprs, 2, "threshold")? } else { DEFAULT_THRESHOLD };
        if !(-1.0..=1.0).contains(&threshold) {
            return plan_err!("{NAME}: argument `threshold` is a cosine similarity from -1 to 1, got {threshold}");
        }
        self.finder.near_duplicates(&DuplicateRequest { table, column, threshold })
    }
}
