//! `stratified_sample(table, strata, n, seed, allocation)`: a table function drawing a
//! stratified random sample (without replacement) from a stored table.

use std::sync::Arc;

use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::plan_err;
use datafusion::error::Result;

use crate::args::{check_arity, string_arg, u64_arg};
use crate::backends::{Allocation, StratifyRequest, TableStratifier};
use crate::doc::FunctionDoc;

/// The SQL name.
pub const NAME: &str = "stratified_sample";
const SYNTAX: &str = "stratified_sample(table, strata, n [, seed [, allocation]])";

/// The function's documentation.
pub fn doc() -> FunctionDoc {
    FunctionDoc {
        name: NAME,
        kind: "table function",
        description: "Draws a stratified random sample of `n` rows, without replacement, from a \
            stored table: the strata are the combinations of values of the `strata` columns \
            (NULL is a value of its own). 'proportional' gives each stratum its share of `n` by \
            largest-remainder rounding, so the counts add up to `n` exactly; 'equal' gives every \
            stratum the same count (the first strata in sort order take the remainder). Within a \
            stratum every row is equally likely. The same seed over the same version of the table \
            gives the same rows. A stratum with fewer rows than its quota is an error naming it. \
            Every row carries its survey weight in a last column `weight` (Float64): the inverse \
            of its chance of selection, `N_h / n_h` for a stratum of `N_h` rows that gave `n_h`, so \
            `sum(weight)` per stratum is the stratum's rows in the table and weighted counts \
            reproduce the table's distribution exactly, whatever the allocation (proportional: \
            about `rows / n` each). A table that has a `weight` column already (a sample of a \
            sample) gets the product of the two.",
        syntax: SYNTAX,
        arguments: &[
            ("table", "Name of a stored table, a string: `'personas'`."),
            ("strata", "Comma-separated column names, e.g. `'state, sex'`."),
            ("n", "Total rows to draw, a non-negative integer."),
            ("seed", "Random seed, a non-negative integer. Default 0."),
            ("allocation", "`'proportional'` (the default) or `'equal'`."),
        ],
        example: "SELECT sex, count(*) AS drawn, round(sum(weight)) AS persons \
                  FROM stratified_sample('personas', 'sex', 100, 7, 'equal') GROUP BY sex ORDER BY sex;",
    }
}

/// The table function, over a [`TableStratifier`] backend.
#[derive(Debug)]
pub struct StratifiedSample {
    stratifier: Arc<dyn TableStratifier>,
}

impl StratifiedSample {
    pub fn new(stratifier: Arc<dyn TableStratifier>) -> Self {
        Self { stratifier }
    }
}

impl TableFunctionImpl for StratifiedSample {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        check_arity(NAME, exprs, 3, 5, SYNTAX)?;
        let table = string_arg(NAME, exprs, 0, "table")?;
        let strata: Vec<String> = string_arg(NAME, exprs, 1, "strata")?
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if strata.is_empty() {
            return plan_err!("{NAME}: argument `strata` names no column; give e.g. 'state, sex'");
        }
        let allocation =
            if exprs.len() > 4 { string_arg(NAME, exprs, 4, "allocation")? } else { "proportional".into() };
        let allocation: Allocation = match allocation.parse() {
            Ok(a) => a,
            Err(_) => {
                return plan_err!("{NAME}: argument `allocation` must be 'proportional' or 'equal', got '{allocation}'")
            }
        };
        let request = StratifyRequest {
            table,
            strata,
            n: u64_arg(NAME, exprs, 2, "n")?,
            seed: if exprs.len() > 3 { u64_arg(NAME, exprs, 3, "seed")? } else { 0 },
            allocation,
        };
        self.stratifier.stratify(&request)
    }
}
