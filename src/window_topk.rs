//! Top rows per group without sorting the table: `row_number() OVER (PARTITION BY p ORDER BY o)`
//! filtered to `<= k` (or `< k`, or `= 1`), the usual way to take "the k oldest personas of each
//! state" or one persona per group, keeps a heap of k rows per group instead of sorting every row.
//!
//! DataFusion has the operator ([`PartitionedTopKExec`]) and a rule that plans it, off by default
//! (`datafusion.optimizer.enable_window_topn`). As of DataFusion 54 that rule accepts plans where
//! it is wrong: a window node that computes another function beside `row_number` (a `lead` needs
//! the rows the heap drops: with the option on, `lead(id)` of each group's last kept row came
//! back NULL, seen while writing the test below); and, from reading its source, a projection
//! between the filter and the window that moves columns (the filter's column is then taken for
//! another) and a sort that merges several input partitions (the heap would keep k rows per
//! input partition). This rule
//! plans the same operator where none of those holds, in the same place among the optimizer's
//! rules (after sorts are placed, before projections are pushed into filters). Measured on 1M
//! personas (`benches/README.md`): the top 2 of each state 250 ms → 38 ms; groups of 29,000 zip
//! codes, 48,000 surnames or one per persona no slower than the sort.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal};
use datafusion::physical_expr::window::StandardWindowExpr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::sorts::partitioned_topk::PartitionedTopKExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::windows::{BoundedWindowAggExec, WindowUDFExpr};
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};

/// Most rows kept per group (beyond it the sort is the better plan).
pub const MAX_ROWS_PER_GROUP: usize = 10_000;

/// The physical optimizer rule (see the module documentation).
#[derive(Debug, Default)]
pub struct WindowTopK;

impl WindowTopK {
    /// The session's physical optimizer rules: DataFusion's, with this one where DataFusion's
    /// own window top-k rule runs.
    pub fn with_default_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
        let mut rules = datafusion::physical_optimizer::optimizer::PhysicalOptimizer::new().rules;
        let at = rules.iter().position(|r| r.name() == "WindowTopN").map_or(rules.len(), |i| i + 1);
        rules.insert(at, Arc::new(WindowTopK));
        rules
    }
}

impl PhysicalOptimizerRule for WindowTopK {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        // DataFusion's own rule, when a user turns it on, has planned these already.
        if config.optimizer.enable_window_topn {
            return Ok(plan);
        }
        Ok(plan
            .transform_down(|node| {
                Ok(match rewrite(&node) {
                    Some(rewritten) => Transformed::yes(rewritten),
                    None => Transformed::no(node),
                })
            })?
            .data)
    }

    fn name(&self) -> &str {
        "personadb_window_topk"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `Filter(rn <= k) → [Projection] → Window(row_number) → Sort(partition, order) → input` as
/// `[Projection] → Window(row_number) → PartitionedTopK(k) → input`, when that is exact.
fn rewrite(plan: &Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
    let filter = plan.downcast_ref::<FilterExec>()?;
    if filter.projection().is_some() {
        return None;
    }
    let (column, k) = limit(filter.predicate())?;
    if k == 0 || k > MAX_ROWS_PER_GROUP {
        return None;
    }
    let (window, projection) = match filter.input().downcast_ref::<ProjectionExec>() {
        Some(p) => (p.input().downcast_ref::<BoundedWindowAggExec>()?, Some(p)),
        None => (filter.input().downcast_ref::<BoundedWindowAggExec>()?, None),
    };
    // The filtered column, followed through the projection, is the window's one output.
    let column = match projection {
        Some(p) => p.expr().get(column)?.expr.downcast_ref::<Column>()?.index(),
        None => column,
    };
    let exprs = window.window_expr();
    if exprs.len() != 1 || column != window.input().schema().fields().len() || !is_row_number(&exprs[0]) {
        return None;
    }
    let partition_by = exprs[0].partition_by();
    let order_by = exprs[0].order_by();
    if partition_by.is_empty() {
        return None;
    }
    // The sort is the window's: its partition keys (in any order) and then its order keys, over
    // input whose partitions each hold whole groups.
    let sort = window.input().downcast_ref::<SortExec>()?;
    let keys = sort.expr();
    if sort.fetch().is_some()
        || keys.len() != partition_by.len() + order_by.len()
        || !(sort.preserve_partitioning() || sort.input().output_partitioning().partition_count() <= 1)
    {
        return None;
    }
    let (by_partition, by_order) = keys.split_at(partition_by.len());
    if !by_partition.iter().all(|s| partition_by.iter().any(|p| p.as_ref() == s.expr.as_ref()))
        || !partition_by.iter().all(|p| by_partition.iter().any(|s| p.as_ref() == s.expr.as_ref()))
        || by_order.iter().zip(order_by).any(|(a, b)| a != b)
    {
        return None;
    }
    let topk = PartitionedTopKExec::try_new(sort.input().clone(), keys.clone(), partition_by.len(), k).ok()?;
    let window: Arc<dyn ExecutionPlan> = Arc::new(window.clone());
    let window = window.with_new_children(vec![Arc::new(topk)]).ok()?;
    match projection {
        Some(p) => {
            let projection: Arc<dyn ExecutionPlan> = Arc::new(p.clone());
            projection.with_new_children(vec![window]).ok()
        }
        None => Some(window),
    }
}

/// `(column, k)` of `column <= k`, `column < k + 1`, `k >= column`, `k + 1 > column` or
/// `column = 1` (k = 1).
fn limit(predicate: &Arc<dyn PhysicalExpr>) -> Option<(usize, usize)> {
    let binary = predicate.downcast_ref::<BinaryExpr>()?;
    let (left, right) = (binary.left(), binary.right());
    if let (Some(c), Some(l)) = (left.downcast_ref::<Column>(), right.downcast_ref::<Literal>()) {
        let n = positive(l.value())?;
        return match binary.op() {
            Operator::LtEq => Some((c.index(), n)),
            Operator::Lt => Some((c.index(), n - 1)),
            Operator::Eq if n == 1 => Some((c.index(), 1)),
            _ => None,
        };
    }
    if let (Some(l), Some(c)) = (left.downcast_ref::<Literal>(), right.downcast_ref::<Column>()) {
        let n = positive(l.value())?;
        return match binary.op() {
            Operator::GtEq => Some((c.index(), n)),
            Operator::Gt => Some((c.index(), n - 1)),
            Operator::Eq if n == 1 => Some((c.index(), 1)),
            _ => None,
        };
    }
    None
}

/// A positive integer literal.
fn positive(value: &ScalarValue) -> Option<usize> {
    if !value.data_type().is_integer() {
        return None;
    }
    match value.cast_to(&arrow::datatypes::DataType::UInt64).ok()? {
        ScalarValue::UInt64(Some(v)) if v > 0 => usize::try_from(v).ok(),
        _ => None,
    }
}

/// Whether a window function is `row_number`.
fn is_row_number(expr: &Arc<dyn datafusion::physical_expr::window::WindowExpr>) -> bool {
    expr.as_any()
        .downcast_ref::<StandardWindowExpr>()
        .and_then(|e| e.get_standard_func_expr().as_any().downcast_ref::<WindowUDFExpr>())
        .is_some_and(|f| f.fun().name() == "row_number")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::WindowTopK;

    /// Groups of 1 to 40 rows with repeated values, in two partitions.
    fn table() -> Arc<MemTable> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("g", DataType::Utf8, true),
            Field::new("v", DataType::Int64, true),
            Field::new("id", DataType::Int64, false),
        ]));
        let batch = |from: i64| {
            let ids: Vec<i64> = (from..from + 500).collect();
            let g: Vec<Option<String>> =
                ids.iter().map(|i| if i % 97 == 0 { None } else { Some(format!("g{}", (i * 7919) % 23)) }).collect();
            let v: Vec<Option<i64>> =
                ids.iter().map(|i| if i % 31 == 0 { None } else { Some((i * 104729) % 17) }).collect();
            RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(StringArray::from(g)), Arc::new(Int64Array::from(v)), Arc::new(Int64Array::from(ids))],
            )
            .expect("batch")
        };
        Arc::new(MemTable::try_new(schema.clone(), vec![vec![batch(0)], vec![batch(500)]]).expect("table"))
    }

    fn context(rule: bool) -> SessionContext {
        let config = SessionConfig::new().with_target_partitions(2);
        let mut builder = SessionStateBuilder::new().with_config(config).with_default_features();
        if rule {
            builder = builder.with_physical_optimizer_rules(WindowTopK::with_default_rules());
        }
        let ctx = SessionContext::new_with_state(builder.build());
        ctx.register_table("t", table()).expect("register");
        ctx
    }

    async fn run(ctx: &SessionContext, sql: &str) -> (String, String) {
        let frame = ctx.sql(sql).await.expect("plan");
        let plan = frame.clone().create_physical_plan().await.expect("physical plan");
        let shown = displayable(plan.as_ref()).indent(true).to_string();
        let batches = frame.collect().await.expect("run");
        (shown, arrow::util::pretty::pretty_format_batches(&batches).expect("format").to_string())
    }

    #[tokio::test]
    async fn top_rows_per_group_match_the_sort_and_unsafe_plans_keep_it() {
        let (with, without) = (context(true), context(false));
        let rewritten = [
            "SELECT g, id, v, r FROM (SELECT g, id, v, row_number() OVER (PARTITION BY g ORDER BY v DESC, id) AS r FROM t) WHERE r <= 3 ORDER BY g, r",
            "SELECT g, id, r FROM (SELECT g, id, row_number() OVER (PARTITION BY g ORDER BY v NULLS FIRST, id DESC) AS r FROM t) WHERE r < 3 ORDER BY g, r",
            "SELECT g, id FROM (SELECT g, id, row_number() OVER (PARTITION BY g ORDER BY id) AS r FROM t) WHERE 2 >= r ORDER BY g, id",
            "SELECT g, v, id FROM (SELECT g, v, id, row_number() OVER (PARTITION BY g, v ORDER BY id DESC) AS r FROM t) WHERE r = 1 ORDER BY g, v",
            "SELECT r, id, g FROM (SELECT row_number() OVER (PARTITION BY g ORDER BY id) AS r, id, g FROM t) WHERE r <= 40 ORDER BY g, r",
        ];
        for sql in rewritten {
            let (plan, rows) = run(&with, sql).await;
            assert!(plan.contains("PartitionedTopKExec"), "not rewritten: {sql}\n{plan}");
            assert_eq!(rows, run(&without, sql).await.1, "{sql}");
        }
        let kept = [
            // Another function in the same window needs the rows a heap would drop.
            "SELECT g, id, n FROM (SELECT g, id, row_number() OVER (PARTITION BY g ORDER BY id) AS r, lead(id) OVER (PARTITION BY g ORDER BY id) AS n FROM t) WHERE r <= 2 ORDER BY g, id",
            // Not a bound on row_number.
            "SELECT g, id FROM (SELECT g, id, rank() OVER (PARTITION BY g ORDER BY v) AS r FROM t) WHERE r <= 2 ORDER BY g, id",
            "SELECT g, id FROM (SELECT g, id, row_number() OVER (PARTITION BY g ORDER BY id) AS r FROM t) WHERE r >= 2 AND r <= 3 ORDER BY g, id",
            "SELECT g, id FROM (SELECT g, id, row_number() OVER (PARTITION BY g ORDER BY id) AS r FROM t) WHERE r = 2 ORDER BY g, id",
            "SELECT g, id, v FROM (SELECT g, id, v, row_number() OVER (PARTITION BY g ORDER BY id) AS r FROM t) WHERE v <= 2 ORDER BY g, id",
            // No groups: a plain top-k.
            "SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS r FROM t) WHERE r <= 2 ORDER BY id",
        ];
        for sql in kept {
            let (plan, rows) = run(&with, sql).await;
            assert!(!plan.contains("PartitionedTopKExec"), "rewritten: {sql}\n{plan}");
            assert_eq!(rows, run(&without, sql).await.1, "{sql}");
        }
    }
}
