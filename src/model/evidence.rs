//! Exact conditioning on evidence. `given` is a SQL boolean expression over persona columns,
//! parsed and evaluated by DataFusion. We enumerate the joint distribution of the nodes the
//! expression mentions together with all their ancestors (pruning zero-probability branches),
//! keep the cells where the expression is true, and draw those nodes jointly from an alias
//! table over the surviving cells; every other node is then sampled forward from its parents.
//! Because the enumerated set is closed under ancestors and the evidence mentions no other
//! node, this is exactly the distribution of rejection sampling, without rejections.
//!
//! Kept whole (about 550 lines): enumeration, pruning and the cell alias table are one algorithm
//! whose invariants (ancestor closure, exactness) read best in one place.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::{DFSchema, DataFusionError, SchemaError};
use datafusion::prelude::SessionContext;

use super::alias::AliasTable;
use super::network::{ColumnSpec, ValueKind};
use super::LocaleModel;
use crate::error::{Error, Result};

/// Most joint cells we enumerate for one piece of evidence.
pub const MAX_EVIDENCE_CELLS: usize = 4_000_000;

/// Compiled evidence: the jointly drawn nodes and an alias table over their surviving cells.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The given expression, as written.
    pub given: String,
    /// Node indices drawn jointly (ancestor-closed, topological order).
    pub nodes: Vec<usize>,
    /// `fixed[node]`: whether the node is drawn jointly.
    pub fixed: Vec<bool>,
    /// Cell codes, row-major [cell][nodes.len()].
    pub combos: Vec<u32>,
    /// Posterior weights of the cells.
    pub alias: AliasTable,
    /// Probability mass of the evidence under the model (P(given)).
    pub probability: f64,
    /// Set when the evidence is sampled by rejection instead (see [`rejection`]).
    pub rejection: Option<Rejection>,
}

/// Rejection sampling: a row is kept when the mixed-radix key of its mentioned nodes' codes
/// is accepted.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub nodes: Vec<usize>,
    pub strides: Vec<u64>,
    pub accepted: std::collections::HashSet<u64>,
}

impl Rejection {
    /// Whether a row (node codes) satisfies the evidence.
    #[inline]
    pub fn accepts(&self, codes: &[u32]) -> bool {
        let key: u64 = self.nodes.iter().zip(&self.strides).map(|(n, s)| codes[*n] as u64 * s).sum();
        self.accepted.contains(&key)
    }
}

/// Compiles `given` for `model`; `Ok(None)` when it is empty.
pub fn compile(model: &LocaleModel, given: &str) -> Result<Option<Evidence>> {
    if given.trim().is_empty() {
        return Ok(None);
    }
    let joint = match joint(model, &[], given) {
        Ok(j) => j,
        Err(e) if is_too_large(&e) => return rejection(model, given).map(Some),
        Err(e) => return Err(e),
    };
    let kept: f64 = joint.weights.iter().sum();
    let alias = AliasTable::new(&joint.weights)
        .ok_or_else(|| Error::ImpossibleEvidence { locale: model.locale.clone(), given: given.to_string() })?;
    let mut fixed = vec![false; model.nodes.len()];
    joint.nodes.iter().for_each(|n| fixed[*n] = true);
    Ok(Some(Evidence {
        given: given.to_string(),
        nodes: joint.nodes,
        fixed,
        combos: joint.combos,
        alias,
        probability: kept / joint.total,
        rejection: None,
    }))
}

/// Most states forward elimination keeps at once (checked as they grow).
const MAX_ELIMINATION_STATES: usize = MAX_EVIDENCE_CELLS * 4;

/// Evidence rarer than this is refused when it has to be sampled by rejection.
pub const MIN_REJECTION_PROBABILITY: f64 = 1e-6;

const TOO_LARGE: &str = "joint cells";

fn is_too_large(e: &Error) -> bool {
    matches!(e, Error::InvalidArgument { reason, .. } if reason.contains(TOO_LARGE))
}

/// Evidence whose ancestors span too many joint cells to enumerate (e.g. an occupation,
/// whose ancestors include state × age × education): the exact probability of each value
/// combination of the mentioned nodes comes from forward elimination, and rows are drawn
/// forward and kept when their combination satisfies the evidence — rejection sampling,
/// exact by construction, and bounded in expectation by 1 / P(given).
fn rejection(model: &LocaleModel, given: &str) -> Result<Evidence> {
    let m = marginal(model, &[], given)?;
    let kept: f64 = m.weights.iter().sum();
    let probability = if m.total > 0.0 { kept / m.total } else { 0.0 };
    if kept <= 0.0 {
        return Err(Error::ImpossibleEvidence { locale: model.locale.clone(), given: given.to_string() });
    }
    if probability < MIN_REJECTION_PROBABILITY {
        return Err(Error::InvalidArgument {
            name: "given".into(),
            reason: format!(
                "`{given}` holds for a fraction {probability:.2e} of personas: the attributes it mentions depend on \
                 too many others to enumerate exactly, and it is too rare to sample by rejection (at least \
                 {MIN_REJECTION_PROBABILITY:e}); sample more broadly and filter the result instead"
            ),
        });
    }
    let mut strides = Vec::with_capacity(m.nodes.len());
    let mut radix: u64 = 1;
    for n in &m.nodes {
        strides.push(radix);
        radix = radix.checked_mul(model.nodes[*n].values.len() as u64).ok_or_else(|| Error::InvalidArgument {
            name: "given".into(),
            reason: "it mentions too many attributes at once".into(),
        })?;
    }
    let width = m.nodes.len();
    let accepted: std::collections::HashSet<u64> = m
        .weights
        .iter()
        .enumerate()
        .filter(|(_, w)| **w > 0.0)
        .map(|(cell, _)| (0..width).map(|j| m.combos[cell * width + j] as u64 * strides[j]).sum())
        .collect();
    Ok(Evidence {
        given: given.to_string(),
        nodes: Vec::new(),
        fixed: vec![false; model.nodes.len()],
        combos: Vec::new(),
        alias: AliasTable::new(&[1.0]).ok_or_else(|| Error::Unsupported("alias table".into()))?,
        probability,
        rejection: Some(Rejection { nodes: m.nodes, strides, accepted }),
    })
}

/// The model's exact joint distribution over some nodes, restricted to a predicate.
#[derive(Debug, Clone)]
pub struct Joint {
    /// Node indices (ancestor-closed, topological order).
    pub nodes: Vec<usize>,
    /// Cell codes, row-major [cell][nodes.len()].
    pub combos: Vec<u32>,
    /// Probability of each cell, zero where the predicate is false.
    pub weights: Vec<f64>,
    /// Probability of all enumerated cells before the predicate (1 up to rounding).
    pub total: f64,
}

/// Enumerates the joint of `include` plus the nodes `predicate` mentions, closed under
/// ancestors, with the cells where `predicate` (SQL; empty for none) is false weighted zero.
pub fn joint(model: &LocaleModel, include: &[usize], predicate: &str) -> Result<Joint> {
    distribution(model, include, predicate, true)
}

/// The model's exact marginal distribution over `include` plus the nodes `predicate`
/// mentions (no other ancestors: those are summed out as the enumeration goes, so it stays
/// small where the full joint would not), with cells where `predicate` is false weighted zero.
pub fn marginal(model: &LocaleModel, include: &[usize], predicate: &str) -> Result<Joint> {
    distribution(model, include, predicate, false)
}

fn distribution(model: &LocaleModel, include: &[usize], predicate: &str, ancestors: bool) -> Result<Joint> {
    let bad = |reason: String| Error::InvalidArgument { name: "given".into(), reason };
    // Quoted back in errors: cut short, a huge argument is not echoed whole.
    let quoted = crate::error::shorten(predicate, 80);
    let ctx = SessionContext::new();
    let full = DFSchema::try_from(model.schema().as_ref().clone())?;
    let expr = if predicate.trim().is_empty() {
        None
    } else {
        check_complexity("given", predicate)?;
        Some(ctx.parse_sql_expr(predicate, &full).map_err(|e| match e.find_root() {
            DataFusionError::SchemaError(schema_error, _) => match schema_error.as_ref() {
                SchemaError::FieldNotFound { field, .. } => {
                    bad(format!("unknown column `{}` (columns: {})", field.name, column_list(model, &field.name)))
                }
                other => bad(format!("cannot parse `{quoted}`: {other}")),
            },
            _ => bad(format!("cannot parse `{quoted}`: {}", first_line(&e.to_string()))),
        })?)
    };

    // Which nodes and constant columns does it mention?
    let mut mentioned = vec![false; model.nodes.len()];
    include.iter().for_each(|n| mentioned[*n] = true);
    let mut constants: Vec<(String, String)> = Vec::new();
    let mut lookups: Vec<(String, super::Lookup)> = Vec::new();
    if let Some(expr) = &expr {
        for col in expr.column_refs() {
            let name = col.name.as_str();
            match model.columns.iter().find(|c| c.name() == name) {
                Some(ColumnSpec::Node { .. }) => {
                    let (idx, _) = model.node(name).ok_or_else(|| bad(format!("unknown column `{name}`")))?;
                    mentioned[idx] = true;
                }
                Some(ColumnSpec::Constant { value, .. }) => constants.push((name.to_string(), value.clone())),
                Some(ColumnSpec::Lookup { .. }) => {
                    let c = model.columns.iter().position(|c| c.name() == name).unwrap_or(0);
                    if let Some(lookup) = &model.lookups[c] {
                        mentioned[lookup.node] = true;
                        if !lookups.iter().any(|(n, _)| n == name) {
                            lookups.push((name.to_string(), lookup.clone()));
                        }
                    }
                }
                Some(ColumnSpec::FirstOf { of, .. }) => {
                    return Err(bad(format!(
                        "cannot condition on `{name}`: condition on {} instead, or filter the result",
                        of.join(" or ")
                    )));
                }
                Some(ColumnSpec::Uuid { .. } | ColumnSpec::Normal { .. } | ColumnSpec::Label { .. }) => {
                    // Independent of every node: filtering the sample is already exact.
                    return Err(bad(format!(
                        "cannot condition on `{name}`: it is drawn independently for each row (filter the result instead)"
                    )));
                }
                None => return Err(bad(format!("unknown column `{name}` (columns: {})", column_list(model, name)))),
            }
        }
    }
    // Close under ancestors; nodes are in topological order, so walk backwards.
    let mut fixed = mentioned.clone();
    for i in (0..model.nodes.len()).rev() {
        if fixed[i] {
            for p in &model.nodes[i].parents {
                fixed[*p] = true;
            }
        }
    }
    let (nodes, combos, mut weights) = if ancestors {
        // Enumerate the joint of the closure depth-first, pruning zero-probability prefixes.
        let nodes: Vec<usize> = (0..model.nodes.len()).filter(|i| fixed[*i]).collect();
        let mut combos: Vec<u32> = Vec::new();
        let mut weights: Vec<f64> = Vec::new();
        let mut codes = vec![0u32; model.nodes.len()];
        enumerate(model, &nodes, 0, 1.0, &mut codes, &mut combos, &mut weights)?;
        (nodes, combos, weights)
    } else {
        eliminate(model, &fixed, &mentioned)?
    };
    let width = nodes.len();
    let total: f64 = weights.iter().sum();
    let Some(expr) = expr else {
        return Ok(Joint { nodes, combos, weights, total });
    };

    // Evaluate the predicate over the cells, in chunks to bound memory.
    let mut fields = Vec::new();
    for &n in &nodes {
        let node = &model.nodes[n];
        let t = if node.kind == ValueKind::Integer { DataType::Int64 } else { DataType::Utf8 };
        fields.push(Field::new(&node.name, t, true));
    }
    for (name, _) in &lookups {
        fields.push(Field::new(name, DataType::Utf8, true));
    }
    for (name, _) in &constants {
        if !fields.iter().any(|f| f.name() == name) {
            fields.push(Field::new(name, DataType::Utf8, true));
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
    let physical = ctx
        .create_physical_expr(expr, &df_schema)
        .map_err(|e| bad(format!("cannot evaluate `{quoted}`: {}", first_line(&e.to_string()))))?;
    let cells = weights.len();
    const CHUNK: usize = 65_536;
    for start in (0..cells).step_by(CHUNK) {
        let end = (start + CHUNK).min(cells);
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (j, &n) in nodes.iter().enumerate() {
            let node = &model.nodes[n];
            let codes = (start..end).map(|c| combos[c * width + j] as usize);
            columns.push(match node.kind {
                ValueKind::Integer => Arc::new(Int64Array::from_iter_values(codes.map(|c| node.int_values[c]))),
                ValueKind::Category => Arc::new(StringArray::from_iter_values(codes.map(|c| node.values[c].as_str()))),
            });
        }
        for (name, lookup) in &lookups {
            let pos = nodes.iter().position(|n| *n == lookup.node).unwrap_or(0);
            let values =
                (start..end).map(|c| lookup.values[lookup.codes[combos[c * width + pos] as usize] as usize].as_str());
            debug_assert!(schema.field_with_name(name).is_ok());
            columns.push(Arc::new(StringArray::from_iter_values(values)));
        }
        for f in schema.fields().iter().skip(width + lookups.len()) {
            let value = constants.iter().find(|(n, _)| n == f.name()).map(|(_, v)| v.as_str()).unwrap_or_default();
            columns.push(Arc::new(StringArray::from_iter_values(std::iter::repeat_n(value, end - start))));
        }
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        let result = physical
            .evaluate(&batch)
            .and_then(|v| v.into_array(end - start))
            .map_err(|e| bad(format!("cannot evaluate `{quoted}`: {}", first_line(&e.to_string()))))?;
        let mask = result
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| bad(format!("`{quoted}` is not a boolean expression (it is {})", result.data_type())))?;
        for i in 0..mask.len() {
            if !(mask.is_valid(i) && mask.value(i)) {
                weights[start + i] = 0.0;
            }
        }
    }
    Ok(Joint { nodes, combos, weights, total })
}

/// Forward elimination: walks the ancestor-closed `relevant` nodes in topological order,
/// keeping the distribution over a frontier of nodes still needed (as a later node's parent or
/// because `keep` names them) and summing every other node out as soon as it is done with.
/// Returns (kept nodes, cells, weights).
fn eliminate(model: &LocaleModel, relevant: &[bool], keep: &[bool]) -> Result<(Vec<usize>, Vec<u32>, Vec<f64>)> {
    use std::collections::HashMap;
    let n = model.nodes.len();
    // Last relevant node that reads each node as a parent.
    let mut last_use = vec![0usize; n];
    for (j, node) in model.nodes.iter().enumerate().filter(|(j, _)| relevant[*j]) {
        for p in &node.parents {
            last_use[*p] = last_use[*p].max(j);
        }
    }
    let too_many =
        || Error::InvalidArgument { name: "given".into(), reason: "it mentions too many attributes at once".into() };
    // A state is the codes of the frontier nodes packed into one number, the first node most
    // significant (so numeric order is the codes' lexicographic order).
    let strides_of = |nodes: &[usize]| -> Result<Vec<u64>> {
        let mut strides = vec![1u64; nodes.len()];
        let mut radix = 1u64;
        for (k, node) in nodes.iter().enumerate().rev() {
            strides[k] = radix;
            radix = radix.checked_mul(model.nodes[*node].values.len().max(1) as u64).ok_or_else(too_many)?;
        }
        Ok(strides)
    };
    let mut frontier: Vec<usize> = Vec::new();
    let mut strides: Vec<u64> = Vec::new();
    // A fixed hasher: iteration order, and so the order in which probabilities are summed, is
    // the same in every run.
    let mut states: HashMap<u64, f64, FixedState> = HashMap::with_hasher(FixedState);
    states.insert(0, 1.0);
    let mut codes = vec![0u32; n];
    for i in (0..n).filter(|i| relevant[*i]) {
        let node = &model.nodes[i];
        // Which frontier nodes survive after node i.
        let survivors: Vec<usize> =
            (0..frontier.len()).filter(|k| keep[frontier[*k]] || last_use[frontier[*k]] > i).collect();
        let keep_new = keep[i] || last_use[i] > i;
        let mut next_frontier: Vec<usize> = survivors.iter().map(|k| frontier[*k]).collect();
        if keep_new {
            next_frontier.push(i);
        }
        let next_strides = strides_of(&next_frontier)?;
        let mut next: HashMap<u64, f64, FixedState> = HashMap::with_capacity_and_hasher(states.len(), FixedState);
        for (&key, &p) in &states {
            for (k, f) in frontier.iter().enumerate() {
                codes[*f] = ((key / strides[k]) % model.nodes[*f].values.len().max(1) as u64) as u32;
            }
            let config = node.config(&codes);
            let (values, probs) = node.conditional(config);
            let base: u64 =
                survivors.iter().zip(&next_strides).map(|(k, stride)| u64::from(codes[frontier[*k]]) * stride).sum();
            for (v, q) in values.iter().zip(probs) {
                let key = if keep_new { base + u64::from(*v) * next_strides[next_strides.len() - 1] } else { base };
                *next.entry(key).or_default() += p * q;
            }
            // The budget is checked as the states grow, not after: memory stays bounded (a
            // few hundred MB) and a hopeless case fails in seconds.
            if next.len() > MAX_ELIMINATION_STATES {
                return Err(Error::InvalidArgument {
                    name: "given".into(),
                    reason: format!(
                        "the attributes it mentions, with those they depend on, span more than \
                         {MAX_ELIMINATION_STATES} {TOO_LARGE}: condition on fewer attributes, or sample more broadly \
                         and filter the result"
                    ),
                });
            }
        }
        frontier = next_frontier;
        strides = next_strides;
        states = next;
    }
    // The frontier is now exactly the kept nodes; order cells deterministically.
    let mut cells: Vec<(u64, f64)> = states.into_iter().collect();
    cells.sort_unstable_by_key(|c| c.0);
    let mut combos = Vec::with_capacity(cells.len() * frontier.len());
    let mut weights = Vec::with_capacity(cells.len());
    for (key, w) in cells {
        combos.extend(
            frontier
                .iter()
                .zip(&strides)
                .map(|(f, stride)| ((key / stride) % model.nodes[*f].values.len().max(1) as u64) as u32),
        );
        weights.push(w);
    }
    Ok((frontier, combos, weights))
}

fn enumerate(
    model: &LocaleModel,
    nodes: &[usize],
    depth: usize,
    p: f64,
    codes: &mut [u32],
    combos: &mut Vec<u32>,
    weights: &mut Vec<f64>,
) -> Result<()> {
    if depth == nodes.len() {
        if weights.len() >= MAX_EVIDENCE_CELLS {
            return Err(Error::InvalidArgument {
                name: "given".into(),
                reason: format!(
                    "the attributes it mentions span more than {MAX_EVIDENCE_CELLS} {TOO_LARGE}; condition on fewer attributes"
                ),
            });
        }
        combos.extend(nodes.iter().map(|n| codes[*n]));
        weights.push(p);
        return Ok(());
    }
    let node = &model.nodes[nodes[depth]];
    let config = node.config(codes);
    let (values, probs) = node.conditional(config);
    for (v, q) in values.iter().zip(probs) {
        codes[nodes[depth]] = *v;
        enumerate(model, nodes, depth + 1, p * q, codes, combos, weights)?;
    }
    Ok(())
}

/// Hashes packed states: a multiply-xorshift mix, fixed (no per-process random key).
#[derive(Clone, Copy, Default)]
struct FixedState;

#[derive(Default)]
struct FixedHasher(u64);

impl std::hash::BuildHasher for FixedState {
    type Hasher = FixedHasher;
    fn build_hasher(&self) -> FixedHasher {
        FixedHasher(0)
    }
}

impl std::hash::Hasher for FixedHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = crate::hash::splitmix64(self.0 ^ x);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Whether `token` is a comparison, arithmetic or concatenation operator (each one a level of
/// an expression tree; also counted by [`crate::session::check_statement_depth`]).
pub(crate) fn is_comparison_or_arithmetic(token: &datafusion::sql::sqlparser::tokenizer::Token) -> bool {
    use datafusion::sql::sqlparser::tokenizer::Token;
    matches!(
        token,
        Token::Eq
            | Token::DoubleEq
            | Token::Neq
            | Token::Lt
            | Token::Gt
            | Token::LtEq
            | Token::GtEq
            | Token::Plus
            | Token::Minus
            | Token::Mul
            | Token::Div
            | Token::Mod
            | Token::StringConcat
    )
}

fn column_list(model: &LocaleModel, near: &str) -> String {
    crate::error::name_list(&model.columns.iter().map(|c| c.name()).collect::<Vec<_>>(), Some(near))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Most operators an expression given by a user may hold (`given`, `--where`). Planning and
/// evaluating an expression recurses once per operator, so a chain of thousands overflows a
/// thread's stack: it is refused before it is parsed. Long lists of values belong in `IN (...)`,
/// which has no such limit.
pub const MAX_OPERATORS: usize = 500;
/// Deepest parenthesis nesting accepted in such an expression.
pub const MAX_NESTING: usize = 32;

/// Refuses an expression too large to plan safely (see [`MAX_OPERATORS`]); counts tokens
/// without building a tree, so the check itself cannot recurse.
pub fn check_complexity(what: &str, text: &str) -> Result<()> {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::keywords::Keyword;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let bad = |reason: String| Error::InvalidArgument {
        name: format!("{what} `{}`", crate::error::shorten(text, 60)),
        reason,
    };
    let tokens =
        Tokenizer::new(&GenericDialect {}, text).tokenize().map_err(|e| bad(format!("cannot read it: {e}")))?;
    let (mut operators, mut depth, mut deepest) = (0usize, 0usize, 0usize);
    for token in &tokens {
        match token {
            Token::LParen => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Word(w) if matches!(w.keyword, Keyword::AND | Keyword::OR | Keyword::NOT) => operators += 1,
            t if is_comparison_or_arithmetic(t) => operators += 1,
            _ => {}
        }
    }
    if operators > MAX_OPERATORS {
        return Err(bad(format!(
            "{operators} operators, more than the {MAX_OPERATORS} accepted; list many values with IN (...) instead of OR"
        )));
    }
    if deepest > MAX_NESTING {
        return Err(bad(format!("parentheses nested {deepest} deep, more than the {MAX_NESTING} accepted")));
    }
    Ok(())
}
