//! Protected attributes on export: each locale pack names its protected columns (race,
//! ethnicity, religion: `persona.protected` in `network.json`); `COPY` under
//! `SET personadb.drop_protected = 'protected'` and `personadb sql --drop-protected` write
//! files without them. Sex and other columns are dropped only when named.
//!
//! Narrative fields are kept: a narrative can still mention a person's religion or community
//! (the cultural background field does); leave those fields out too where policy requires.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};

use crate::error::{Error, Result};

/// The word that stands for every pack's protected columns.
pub const PROTECTED: &str = "protected";

/// The columns a `drop_protected` value names: `protected` expands to the union of the packs'
/// protected columns; other words are column names. Empty for ''.
pub fn columns(setting: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for word in setting.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if word.eq_ignore_ascii_case(PROTECTED) || word.eq_ignore_ascii_case("true") {
            for model in crate::locale::all_models() {
                out.extend(model.persona.protected.iter().cloned());
            }
        } else {
            out.insert(word.to_string());
        }
    }
    out
}

/// `plan` without the `dropped` columns in its output (a projection on top); the plan itself
/// when it has none of them.
pub fn without(plan: LogicalPlan, dropped: &BTreeSet<String>) -> Result<LogicalPlan> {
    let schema = plan.schema().clone();
    if !schema.fields().iter().any(|f| dropped.contains(f.name())) {
        return Ok(plan);
    }
    let kept: Vec<_> = schema
        .iter()
        .filter(|(_, f)| !dropped.contains(f.name()))
        .map(|(q, f)| datafusion::logical_expr::Expr::Column(datafusion::common::Column::new(q.cloned(), f.name())))
        .collect();
    if kept.is_empty() {
        return Err(Error::InvalidArgument {
            name: "drop_protected".into(),
            reason: "it would leave no column to write".into(),
        });
    }
    Ok(LogicalPlanBuilder::from(plan).project(kept)?.build()?)
}

/// A `COPY` plan whose input leaves out the `dropped` columns.
pub fn copy_without(plan: LogicalPlan, dropped: &BTreeSet<String>) -> Result<LogicalPlan> {
    match plan {
        LogicalPlan::Copy(mut copy) if !dropped.is_empty() => {
            let input = Arc::unwrap_or_clone(copy.input);
            copy.input = Arc::new(without(input, dropped)?);
            Ok(LogicalPlan::Copy(copy))
        }
        other => Ok(other),
    }
}

/// Record batches without the `dropped` columns (for results written by the command line).
pub fn batch_without(
    batch: arrow::record_batch::RecordBatch,
    dropped: &BTreeSet<String>,
) -> std::result::Result<arrow::record_batch::RecordBatch, arrow::error::ArrowError> {
    let schema = batch.schema();
    let keep: Vec<usize> = (0..schema.fields().len()).filter(|i| !dropped.contains(schema.field(*i).name())).collect();
    batch.project(&keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_expands_to_the_packs_lists() {
        let c = columns("protected, sex");
        for name in ["race_ethnicity", "religion", "ethnic_background", "race", "sex"] {
            assert!(c.contains(name), "{name} in {c:?}");
        }
        assert!(!c.contains("age"));
        assert!(columns("").is_empty());
        assert_eq!(columns(" sex ,"), BTreeSet::from(["sex".to_string()]));
    }
}
