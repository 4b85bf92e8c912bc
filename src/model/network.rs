//! A locale model as data plus a network: `network.json` names the nodes (attributes), their
//! parents and the derived table each conditional distribution is read from. Loading turns each
//! node into one alias table per parent configuration. Adding an attribute to a locale is a new
//! table and a new node in the spec — no code per column.
//!
//! Kept whole (about 730 lines, a tenth of them tests): the spec, its validation and the
//! compilation into alias tables are one loader.

use std::collections::HashMap;

use serde::Deserialize;

use super::alias::AliasTable;
use crate::error::{Error, Result};

/// How a node's values appear in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// A string category (dictionary-encoded while sampling).
    Category,
    /// An integer (e.g. age in years).
    Integer,
}

/// One node of the network spec.
#[derive(Debug, Clone, Deserialize)]
pub struct NodeSpec {
    pub name: String,
    pub kind: ValueKind,
    #[serde(default)]
    pub parents: Vec<String>,
    /// The derived table (a CSV in the locale pack) whose weights give P(node | parents):
    /// its columns must include the parents and the node, plus a `weight` column; other
    /// columns are summed out. Absent for band nodes.
    #[serde(default)]
    pub table: Option<String>,
    /// A deterministic banding of one integer parent (e.g. age groups of a census table),
    /// instead of a table. The node's single parent must be `bands.of`.
    #[serde(default)]
    pub bands: Option<BandSpec>,
    /// Table column names for this node or its parents where they differ from the node names
    /// (e.g. `{"age_marital": "age_band"}`), so published tables can be read as they are.
    #[serde(default)]
    pub columns: HashMap<String, String>,
    /// A parent whose values are the table's columns (a "wide" table: one row per value of
    /// the node and of its other parents, one weight column per value of this parent), as
    /// published cross-tables often are; more compact than one row per cell.
    #[serde(default)]
    pub wide: Option<String>,
    /// Further tables multiplied into the conditional: P(node | parents) ∝ table × factor₁ ×
    /// … Each factor's columns are the node, some of its parents and `weight` (other columns
    /// are summed out); a combination a factor has no row for weighs zero. A conditional that
    /// is a product of small published tables (a national distribution tilted by state) thus
    /// never has to be written out in full.
    #[serde(default)]
    pub factors: Vec<String>,
}

/// Integer ranges of a parent node, each mapped to a label.
#[derive(Debug, Clone, Deserialize)]
pub struct BandSpec {
    pub of: String,
    /// (label, min, max) inclusive.
    pub bands: Vec<(String, i64, i64)>,
}

impl BandSpec {
    /// The CSV text of the degenerate table P(band | of).
    fn table(&self, node: &str, of_values: &[i64]) -> Result<String, String> {
        let mut text = format!("{},{},weight\n", self.of, node);
        for v in of_values {
            let band = self
                .bands
                .iter()
                .find(|(_, lo, hi)| lo <= v && v <= hi)
                .ok_or_else(|| format!("value {v} of `{}` falls in no band", self.of))?;
            text.push_str(&format!("{v},{},1\n", band.0));
        }
        Ok(text)
    }
}

/// Where an output column's values come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ColumnSpec {
    /// A random version-4 UUID drawn from the row's random stream.
    Uuid { name: String },
    /// The value of the network node of the same name.
    Node { name: String },
    /// The same string on every row (e.g. country).
    Constant { name: String, value: String },
    /// A score drawn from a normal distribution, rounded to an integer and clipped to
    /// [min, max] (e.g. a Big Five T-score: N(50, 10) in [20, 80]).
    Normal { name: String, mean: f64, sd: f64, min: i64, max: i64 },
    /// A label of another column's integer score by ranges (label, lo, hi) inclusive.
    Label { name: String, of: String, bands: Vec<(String, i64, i64)> },
    /// A function of a category node, looked up in a two-column CSV (`of`, `name`) of the
    /// pack: e.g. the city of a ZIP code. Too many values for a conditional table, and no
    /// randomness.
    Lookup { name: String, of: String, table: String },
    /// The first non-empty value among category nodes, in order: e.g. a preferred name, the
    /// English name where a person has one and the given name otherwise.
    FirstOf { name: String, of: Vec<String> },
}

impl ColumnSpec {
    pub fn name(&self) -> &str {
        match self {
            ColumnSpec::Uuid { name }
            | ColumnSpec::Node { name }
            | ColumnSpec::Constant { name, .. }
            | ColumnSpec::Normal { name, .. }
            | ColumnSpec::Label { name, .. }
            | ColumnSpec::Lookup { name, .. }
            | ColumnSpec::FirstOf { name, .. } => name,
        }
    }
}

/// The whole `network.json` of a locale pack.
#[derive(Debug, Clone, Deserialize)]
pub struct NetworkSpec {
    pub locale: String,
    /// Other names of the locale (`en_US`, `pt_BR`), accepted wherever a locale is named.
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub description: String,
    /// Nodes in topological order: every parent is listed before its children.
    pub nodes: Vec<NodeSpec>,
    /// Output columns, in order.
    pub columns: Vec<ColumnSpec>,
    /// Published tables the fidelity report compares generated personas against.
    #[serde(default)]
    pub margins: Vec<MarginSpec>,
    /// Rules no persona may break, as SQL predicates that must match no row.
    #[serde(default)]
    pub plausibility: Vec<PlausibilityRule>,
    /// What the engine needs to know about the pack's columns (names, places, indexes,
    /// narrative fields and languages).
    pub persona: super::schema::PersonaSchema,
}

/// A published cross-table to compare against: `value` given `conditions`.
#[derive(Debug, Clone, Deserialize)]
pub struct MarginSpec {
    /// Publisher's table id, e.g. "ACS 2018 B12002".
    pub source: String,
    /// The derived CSV holding the published cells.
    pub table: String,
    /// Conditioning columns; `age_band` is matched against persona ages by its labels
    /// ("18-24", "65+").
    pub conditions: Vec<String>,
    /// The distributed column.
    pub value: String,
    /// Persona rows the table's universe covers (SQL predicate), if not all.
    #[serde(default)]
    pub filter: Option<String>,
}

/// A plausibility rule.
#[derive(Debug, Clone, Deserialize)]
pub struct PlausibilityRule {
    pub rule: String,
    /// Rows matching this predicate violate the rule.
    pub violation: String,
}

/// A loaded node: its vocabulary and one alias table per parent configuration.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub kind: ValueKind,
    /// The vocabulary, in table order (integers in ascending order).
    pub values: Vec<String>,
    /// For integer nodes, the parsed values (same order as `values`).
    pub int_values: Vec<i64>,
    /// Indices of the parent nodes.
    pub parents: Vec<usize>,
    /// Mixed-radix strides: config = sum(parent_code * stride).
    pub strides: Vec<usize>,
    /// Which conditional each parent configuration has (configurations the tables give no
    /// mass share the fallback: the node's marginal over all configurations).
    row_of: Vec<u32>,
    /// Sparse conditionals: row `r` is `row_values[offsets[r]..offsets[r + 1]]` with
    /// probabilities `row_probs[..]` over the same range (positive, summing to one).
    offsets: Vec<usize>,
    row_values: Vec<u32>,
    row_probs: Vec<f64>,
    /// The alias tables of all conditionals in one array, and each parent configuration's
    /// span of it: a draw touches one span and one column, nothing else.
    spans: Vec<(u32, u32)>,
    columns: Vec<AliasColumn>,
    /// When every configuration has a single possible value (bands, structural zeros), that
    /// value per configuration: sampling then consumes no randomness.
    pub deterministic: Option<Vec<u32>>,
}

impl Node {
    /// The parent configuration index of a row whose node codes are `codes`.
    #[inline(always)]
    pub fn config(&self, codes: &[u32]) -> usize {
        let mut c = 0;
        for (p, s) in self.parents.iter().zip(&self.strides) {
            c += codes[*p] as usize * s;
        }
        c
    }

    /// Draws this node's value given the codes of the row so far.
    #[inline(always)]
    pub fn draw(&self, codes: &[u32], rng: &mut impl rand::RngCore) -> u32 {
        let config = self.config(codes);
        match &self.deterministic {
            Some(values) => values[config],
            None => {
                let (start, len) = self.spans[config];
                let random = rng.next_u64();
                // As AliasTable::sample: high bits pick the column, low bits accept or alias.
                let column = &self.columns[start as usize + (((random >> 32) * len as u64) >> 32) as usize];
                if random & 0xFFFF_FFFF < column.threshold {
                    column.own
                } else {
                    column.alias
                }
            }
        }
    }

    /// Number of parent configurations.
    pub fn configs(&self) -> usize {
        self.row_of.len()
    }

    /// P(value | configuration), sparse: the values of positive probability and their
    /// probabilities.
    pub fn conditional(&self, config: usize) -> (&[u32], &[f64]) {
        let r = self.row_of[config] as usize;
        let range = self.offsets[r]..self.offsets[r + 1];
        (&self.row_values[range.clone()], &self.row_probs[range])
    }

    /// P(value | configuration) over the whole vocabulary.
    pub fn conditional_dense(&self, config: usize) -> Vec<f64> {
        let mut p = vec![0.0; self.values.len()];
        let (values, probs) = self.conditional(config);
        for (v, q) in values.iter().zip(probs) {
            p[*v as usize] = *q;
        }
        p
    }

    /// The code of a value, if in the vocabulary.
    pub fn code_of(&self, value: &str) -> Option<u32> {
        self.values.iter().position(|v| v == value).map(|i| i as u32)
    }
}

fn invalid(locale: &str, reason: impl Into<String>) -> Error {
    Error::InvalidLocalePack { locale: locale.to_string(), reason: reason.into() }
}

/// A derived table parsed from CSV: header and rows of strings plus the weight column.
pub struct WeightedTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub weights: Vec<f64>,
}

impl WeightedTable {
    /// Parses a CSV whose last column named `weight` holds non-negative numbers.
    pub fn parse(locale: &str, name: &str, text: &str) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
        let headers = reader.headers().map_err(|e| invalid(locale, format!("{name}: {e}")))?.clone();
        let weight_col = headers
            .iter()
            .position(|h| h == "weight")
            .ok_or_else(|| invalid(locale, format!("{name}: no `weight` column")))?;
        let columns: Vec<String> =
            headers.iter().enumerate().filter(|(i, _)| *i != weight_col).map(|(_, h)| h.to_string()).collect();
        let mut rows = Vec::new();
        let mut weights = Vec::new();
        for (line, record) in reader.records().enumerate() {
            let record = record.map_err(|e| invalid(locale, format!("{name}: {e}")))?;
            let w: f64 = record
                .get(weight_col)
                .and_then(|s| s.parse().ok())
                .filter(|w: &f64| w.is_finite() && *w >= 0.0)
                .ok_or_else(|| {
                    invalid(locale, format!("{name} row {}: weight is not a non-negative number", line + 2))
                })?;
            rows.push(
                record.iter().enumerate().filter(|(i, _)| *i != weight_col).map(|(_, v)| v.to_string()).collect(),
            );
            weights.push(w);
        }
        Ok(WeightedTable { columns, rows, weights })
    }

    /// Parses a wide CSV: `keys` name the leading key columns (the node and its other
    /// parents); every other column is a value of `wide_column` holding weights. Returns the
    /// long form with a `wide_column` column.
    pub fn parse_wide(locale: &str, name: &str, text: &str, keys: &[String], wide_column: &str) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
        let headers = reader.headers().map_err(|e| invalid(locale, format!("{name}: {e}")))?.clone();
        let key_cols: Vec<usize> = keys
            .iter()
            .map(|k| {
                headers
                    .iter()
                    .position(|h| h == k)
                    .ok_or_else(|| invalid(locale, format!("table {name} has no column `{k}`")))
            })
            .collect::<Result<_>>()?;
        let value_cols: Vec<(usize, String)> = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| !key_cols.contains(i))
            .map(|(i, h)| (i, h.to_string()))
            .collect();
        let mut columns: Vec<String> = keys.to_vec();
        columns.push(wide_column.to_string());
        let (mut rows, mut weights) = (Vec::new(), Vec::new());
        for (line, record) in reader.records().enumerate() {
            let record = record.map_err(|e| invalid(locale, format!("{name}: {e}")))?;
            let key: Vec<String> = key_cols.iter().map(|c| record.get(*c).unwrap_or("").to_string()).collect();
            for (c, value) in &value_cols {
                let w: f64 = record
                    .get(*c)
                    .and_then(|s| s.parse().ok())
                    .filter(|w: &f64| w.is_finite() && *w >= 0.0)
                    .ok_or_else(|| {
                    invalid(locale, format!("{name} row {}, column {value}: not a non-negative number", line + 2))
                })?;
                let mut row = key.clone();
                row.push(value.clone());
                rows.push(row);
                weights.push(w);
            }
        }
        Ok(WeightedTable { columns, rows, weights })
    }

    /// The index of a column by name.
    pub fn column(&self, locale: &str, table: &str, name: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| invalid(locale, format!("table {table} has no column `{name}`")))
    }
}

/// Loads the nodes of `spec`, reading tables through `read_table`.
pub fn load_nodes(spec: &NetworkSpec, read_table: &dyn Fn(&str) -> Result<String>) -> Result<Vec<Node>> {
    let locale = spec.locale.as_str();
    let mut parsed: HashMap<String, WeightedTable> = HashMap::new();
    let mut nodes: Vec<Node> = Vec::with_capacity(spec.nodes.len());
    for node_spec in &spec.nodes {
        if nodes.iter().any(|n| n.name == node_spec.name) {
            return Err(invalid(locale, format!("node `{}` is defined twice", node_spec.name)));
        }
        let mut parents = Vec::new();
        for p in &node_spec.parents {
            let idx = nodes.iter().position(|n| &n.name == p).ok_or_else(|| {
                invalid(locale, format!("node `{}`: parent `{p}` is not defined before it", node_spec.name))
            })?;
            parents.push(idx);
        }
        let table_name = match (&node_spec.table, &node_spec.bands) {
            (Some(t), None) => t.clone(),
            (None, Some(bands)) => {
                let key = format!("<bands of {} for {}>", bands.of, node_spec.name);
                let of = nodes
                    .iter()
                    .find(|n| n.name == bands.of && n.kind == ValueKind::Integer)
                    .filter(|_| node_spec.parents == [bands.of.clone()])
                    .ok_or_else(|| {
                        invalid(
                            locale,
                            format!("band node `{}` needs exactly one integer parent `{}`", node_spec.name, bands.of),
                        )
                    })?;
                let text = bands.table(&node_spec.name, &of.int_values).map_err(|e| invalid(locale, e))?;
                parsed.insert(key.clone(), WeightedTable::parse(locale, &key, &text)?);
                key
            }
            _ => {
                return Err(invalid(
                    locale,
                    format!("node `{}` needs exactly one of `table` and `bands`", node_spec.name),
                ))
            }
        };
        let column_of = |name: &str| node_spec.columns.get(name).map(String::as_str).unwrap_or(name).to_string();
        let table_name = match &node_spec.wide {
            Some(wide) => {
                if !node_spec.parents.contains(wide) {
                    return Err(invalid(
                        locale,
                        format!("node `{}`: wide column parent `{wide}` is not a parent", node_spec.name),
                    ));
                }
                let key = format!("{table_name}#wide:{}", node_spec.name);
                if !parsed.contains_key(&key) {
                    let text = read_table(&table_name)?;
                    let keys: Vec<String> = std::iter::once(&node_spec.name)
                        .chain(node_spec.parents.iter().filter(|p| *p != wide))
                        .map(|n| column_of(n))
                        .collect();
                    parsed.insert(
                        key.clone(),
                        WeightedTable::parse_wide(locale, &table_name, &text, &keys, &column_of(wide))?,
                    );
                }
                key
            }
            None => {
                if !parsed.contains_key(&table_name) {
                    let text = read_table(&table_name)?;
                    parsed.insert(table_name.clone(), WeightedTable::parse(locale, &table_name, &text)?);
                }
                table_name
            }
        };
        let table = &parsed[&table_name];
        let own_col = table.column(locale, &table_name, &column_of(&node_spec.name))?;
        // A parent the table lacks must come in through a factor: the table is then the same
        // for each of its values.
        let parent_cols: Vec<Option<usize>> = node_spec
            .parents
            .iter()
            .map(|p| match table.column(locale, &table_name, &column_of(p)) {
                Ok(c) => Ok(Some(c)),
                Err(_) if !node_spec.factors.is_empty() => Ok(None),
                Err(e) => Err(e),
            })
            .collect::<Result<_>>()?;

        // Vocabulary: table order for categories, ascending for integers.
        let mut values: Vec<String> = Vec::new();
        let mut index: HashMap<&str, u32> = HashMap::new();
        for row in &table.rows {
            let v = row[own_col].as_str();
            if !index.contains_key(v) {
                index.insert(v, values.len() as u32);
                values.push(v.to_string());
            }
        }
        let mut int_values = Vec::new();
        if node_spec.kind == ValueKind::Integer {
            let mut parsed_ints: Vec<(i64, String)> = values
                .iter()
                .map(|v| {
                    v.parse::<i64>().map(|i| (i, v.clone())).map_err(|_| {
                        invalid(locale, format!("node `{}`: value `{v}` is not an integer", node_spec.name))
                    })
                })
                .collect::<Result<_>>()?;
            parsed_ints.sort();
            values = parsed_ints.iter().map(|(_, s)| s.clone()).collect();
            int_values = parsed_ints.iter().map(|(i, _)| *i).collect();
            index = values.iter().enumerate().map(|(i, v)| (v.as_str(), i as u32)).collect();
        }
        let k = values.len();
        let mut strides = vec![0usize; parents.len()];
        let mut configs = 1usize;
        for i in (0..parents.len()).rev() {
            strides[i] = configs;
            configs = configs
                .checked_mul(nodes[parents[i]].values.len())
                .filter(|c| *c <= MAX_CONFIGS)
                .ok_or_else(|| invalid(locale, format!("node `{}`: too many parent configurations", node_spec.name)))?;
        }
        // Sparse accumulation: (config, value, weight), summed over duplicate cells.
        let mut cells: Vec<(usize, u32, f64)> = Vec::with_capacity(table.rows.len());
        for (row, w) in table.rows.iter().zip(&table.weights) {
            let mut config = 0usize;
            for ((pc, p), s) in parent_cols.iter().zip(&parents).zip(&strides) {
                let Some(pc) = pc else { continue };
                let code = nodes[*p].code_of(&row[*pc]).ok_or_else(|| {
                    invalid(
                        locale,
                        format!("table {table_name}: `{}` is not a value of parent `{}`", row[*pc], nodes[*p].name),
                    )
                })?;
                config += code as usize * s;
            }
            if *w > 0.0 {
                cells.push((config, index[row[own_col].as_str()], *w));
            }
        }
        cells.sort_unstable_by_key(|(c, v, _)| (*c, *v));
        cells.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0 && later.1 == earlier.1;
            if same {
                earlier.2 += later.2;
            }
            same
        });
        let factors: Vec<Factor> = node_spec
            .factors
            .iter()
            .map(|f| Factor::load(locale, f, node_spec, &nodes, &parents, &index, read_table))
            .collect::<Result<_>>()?;
        for (i, _) in parent_cols.iter().enumerate().filter(|(_, c)| c.is_none()) {
            if !factors.iter().any(|f| f.covered.iter().any(|(p, _)| *p == i)) {
                return Err(invalid(
                    locale,
                    format!(
                        "node `{}`: neither table {table_name} nor a factor has a column `{}`",
                        node_spec.name,
                        column_of(&node_spec.parents[i])
                    ),
                ));
            }
        }
        // Spread over the parents the table lacks.
        for (i, _) in parent_cols.iter().enumerate().filter(|(_, c)| c.is_none()) {
            let radix = nodes[parents[i]].values.len();
            let mut spread = Vec::with_capacity(cells.len() * radix);
            for (config, v, w) in &cells {
                spread.extend((0..radix).map(|code| (config + code * strides[i], *v, *w)));
            }
            cells = spread;
        }
        if parent_cols.iter().any(Option::is_none) {
            cells.sort_unstable_by_key(|(c, v, _)| (*c, *v));
        }
        for f in &factors {
            for cell in cells.iter_mut() {
                cell.2 *= f.weight(cell.0, cell.1, &strides, &nodes, &parents);
            }
            cells.retain(|c| c.2 > 0.0);
        }
        // Marginal over all configurations: stands in for configurations the table gives no mass.
        let mut marginal = vec![0.0f64; k];
        for (_, v, w) in &cells {
            marginal[*v as usize] += w;
        }
        let fallback = normalise(&marginal)
            .ok_or_else(|| invalid(locale, format!("node `{}`: table {table_name} has no mass", node_spec.name)))?;
        let (mut offsets, mut row_values, mut row_probs, mut row_spans, mut columns) =
            (vec![0usize], Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut push_row = |values: Vec<u32>, weights: Vec<f64>| -> Result<u32> {
            let total: f64 = weights.iter().sum();
            let table = AliasTable::sparse(&values, &weights, k).ok_or_else(|| invalid(locale, "bad weights"))?;
            let start = u32::try_from(columns.len()).map_err(|_| invalid(locale, "conditional tables too large"))?;
            columns.extend(table.columns().map(|(threshold, own, alias)| AliasColumn { threshold, own, alias }));
            row_spans.push((start, (columns.len() - start as usize) as u32));
            row_values.extend(values);
            row_probs.extend(weights.iter().map(|w| w / total));
            offsets.push(row_values.len());
            Ok(row_spans.len() as u32 - 1)
        };
        let support: Vec<u32> = (0..k as u32).filter(|v| fallback[*v as usize] > 0.0).collect();
        let fallback_row = push_row(support.clone(), support.iter().map(|v| fallback[*v as usize]).collect())?;
        let mut row_of = vec![fallback_row; configs];
        // Deterministic when every configuration has a single possible value.
        let mut single = vec![if support.len() == 1 { support[0] } else { u32::MAX }; configs];
        let mut start = 0;
        while start < cells.len() {
            let config = cells[start].0;
            let end = start + cells[start..].iter().take_while(|c| c.0 == config).count();
            let run = &cells[start..end];
            row_of[config] = push_row(run.iter().map(|c| c.1).collect(), run.iter().map(|c| c.2).collect())?;
            single[config] = if run.len() == 1 { run[0].1 } else { u32::MAX };
            start = end;
        }
        let deterministic = single.iter().all(|v| *v != u32::MAX).then_some(single);
        let spans: Vec<(u32, u32)> = row_of.iter().map(|r| row_spans[*r as usize]).collect();
        nodes.push(Node {
            deterministic,
            name: node_spec.name.clone(),
            kind: node_spec.kind,
            values,
            int_values,
            parents,
            strides,
            row_of,
            offsets,
            row_values,
            row_probs,
            spans,
            columns,
        });
    }
    Ok(nodes)
}

/// One column of an alias table (see [`AliasTable`]): accept `own` below `threshold`, else
/// fall through to `alias`.
#[derive(Debug, Clone, Copy)]
struct AliasColumn {
    threshold: u64,
    own: u32,
    alias: u32,
}

/// At most this many parent configurations per node.
const MAX_CONFIGS: usize = 50_000_000;

/// A factor table of a node (see [`NodeSpec::factors`]), dense over the parents it covers.
struct Factor {
    /// Positions (in the node's parent list) of the parents the factor covers, with the
    /// factor's own strides.
    covered: Vec<(usize, usize)>,
    k: usize,
    weights: Vec<f64>,
}

impl Factor {
    fn load(
        locale: &str,
        name: &str,
        spec: &NodeSpec,
        nodes: &[Node],
        parents: &[usize],
        index: &HashMap<&str, u32>,
        read_table: &dyn Fn(&str) -> Result<String>,
    ) -> Result<Factor> {
        let table = WeightedTable::parse(locale, name, &read_table(name)?)?;
        let column_of = |n: &str| spec.columns.get(n).map(String::as_str).unwrap_or(n).to_string();
        let own = table.column(locale, name, &column_of(&spec.name))?;
        let mut covered_cols = Vec::new();
        for (i, p) in spec.parents.iter().enumerate() {
            if let Some(c) = table.columns.iter().position(|c| *c == column_of(p)) {
                covered_cols.push((i, c));
            }
        }
        let k = index.len();
        let mut size = k;
        let mut covered = vec![(0, 0); covered_cols.len()];
        for (j, (i, _)) in covered_cols.iter().enumerate().rev() {
            covered[j] = (*i, size / k);
            size = size
                .checked_mul(nodes[parents[*i]].values.len())
                .filter(|s| *s <= MAX_CONFIGS)
                .ok_or_else(|| invalid(locale, format!("factor {name} of node `{}` is too large", spec.name)))?;
        }
        let mut weights = vec![0.0f64; size];
        for (row, w) in table.rows.iter().zip(&table.weights) {
            let Some(v) = index.get(row[own].as_str()) else {
                continue; // a value the node's table never gives: nothing to weigh
            };
            let mut at = 0usize;
            for ((i, stride), (_, c)) in covered.iter().zip(&covered_cols) {
                let code = nodes[parents[*i]].code_of(&row[*c]).ok_or_else(|| {
                    invalid(
                        locale,
                        format!("factor {name}: `{}` is not a value of parent `{}`", row[*c], spec.parents[*i]),
                    )
                })?;
                at += code as usize * stride;
            }
            weights[at * k + *v as usize] += w;
        }
        Ok(Factor { covered, k, weights })
    }

    /// The factor's weight for a cell of the node's conditional.
    fn weight(&self, config: usize, value: u32, strides: &[usize], nodes: &[Node], parents: &[usize]) -> f64 {
        let mut at = 0usize;
        for (i, stride) in &self.covered {
            let code = (config / strides[*i]) % nodes[parents[*i]].values.len();
            at += code * stride;
        }
        self.weights[at * self.k + value as usize]
    }
}

fn normalise(w: &[f64]) -> Option<Vec<f64>> {
    let total: f64 = w.iter().sum();
    (total > 0.0 && total.is_finite()).then(|| w.iter().map(|x| x / total).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(y: &str) -> NetworkSpec {
        serde_json::from_str(&format!(
            r#"{{"locale": "t", "nodes": [
                {{"name": "a", "kind": "category", "table": "a.csv"}},
                {{"name": "b", "kind": "category", "table": "b.csv"}},
                {y}
            ], "columns": [], "persona": {{"names": [], "places": [], "display": [],
                "narrative": {{"fields": [], "languages": [{{"code": "en", "embedding_model": "e5"}}]}}}}}}"#
        ))
        .expect("spec")
    }

    fn read(name: &str) -> Result<String> {
        Ok(match name {
            "a.csv" => "a,weight\na0,1\na1,1\n",
            "b.csv" => "b,weight\nb0,1\nb1,1\n",
            // P(y | a): the table; the factor tilts by b.
            "y.csv" => "a,y,weight\na0,y0,1\na0,y1,1\na1,y0,3\na1,y1,1\n",
            "tilt.csv" => "b,y,weight\nb0,y0,1\nb0,y1,1\nb1,y0,1\nb1,y1,4\n",
            other => return Err(invalid("t", format!("no file {other}"))),
        }
        .to_string())
    }

    #[test]
    fn factor_tables_multiply_into_the_conditional() {
        let nodes = load_nodes(
            &spec(r#"{"name": "y", "kind": "category", "parents": ["a", "b"], "table": "y.csv", "factors": ["tilt.csv"]}"#),
            &read,
        )
        .expect("load");
        let y = &nodes[2];
        // config = a * 2 + b; (a1, b1): 3 × 1 against 1 × 4.
        let p = y.conditional_dense(3);
        assert!((p[0] - 3.0 / 7.0).abs() < 1e-12 && (p[1] - 4.0 / 7.0).abs() < 1e-12, "{p:?}");
        let p = y.conditional_dense(0);
        assert!((p[0] - 0.5).abs() < 1e-12, "{p:?}");
    }

    #[test]
    fn a_parent_no_table_covers_is_an_error() {
        let err = load_nodes(
            &spec(
                r#"{"name": "y", "kind": "category", "parents": ["a", "b"], "table": "y.csv", "factors": ["y.csv"]}"#,
            ),
            &read,
        )
        .err()
        .expect("error");
        assert!(err.to_string().contains("nor a factor has a column `b`"), "{err}");
    }
}
