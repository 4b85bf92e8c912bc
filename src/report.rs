//! The fidelity report: how closely a table of personas matches the published statistics its
//! locale model was built from (total variation distance per source table, worst cells),
//! whether plausibility rules hold, and how diverse each attribute is (entropy).
//!
//! Kept whole (about 690 lines): one report, computed and rendered as Markdown together; its plots
//! are in [`crate::plots`].

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};

use crate::error::{Error, Result};
use crate::locale;
use crate::model::{LocaleModel, MarginSpec};
use crate::session::PersonaSession;

/// Slices (conditioning cells) with fewer expected persons than this are left out of the
/// per-slice TVD figures: below it sampling noise alone dominates.
pub const MIN_SLICE_PERSONS: f64 = 1000.0;

/// Fidelity of one table against one source table.
#[derive(Debug, Clone)]
pub struct MarginFidelity {
    pub source: String,
    pub table: String,
    pub value: String,
    /// Persons of the table in the source's universe.
    pub persons: u64,
    /// TVD between the generated and published joint distributions over all cells.
    pub joint_tvd: f64,
    /// Mean (weighted by persons) and max TVD of the value's distribution within slices
    /// (combinations of the conditions) with at least [`MIN_SLICE_PERSONS`] expected persons.
    pub mean_slice_tvd: f64,
    pub max_slice_tvd: f64,
    pub slices: usize,
    /// The TVD pure sampling noise would give on average in those slices (multinomial).
    pub noise_slice_tvd: f64,
    /// Cells with the largest absolute difference: (cell, published share, generated share).
    pub worst: Vec<(String, f64, f64)>,
    /// The same comparison for the model's exact distribution (no sampling noise): joint TVD,
    /// and mean and max slice TVD over slices with at least [`MIN_SLICE_PERSONS`] persons per
    /// million.
    pub model_joint_tvd: f64,
    pub model_mean_slice_tvd: f64,
    pub model_max_slice_tvd: f64,
}

/// A plausibility rule and how many rows break it.
#[derive(Debug, Clone)]
pub struct RuleCheck {
    pub rule: String,
    pub violations: u64,
}

/// The full report.
#[derive(Debug, Clone)]
pub struct FidelityReport {
    pub table: String,
    pub locale: String,
    pub rows: u64,
    pub margins: Vec<MarginFidelity>,
    pub rules: Vec<RuleCheck>,
    /// (column, distinct values, entropy in bits)
    pub entropy: Vec<(String, u64, f64)>,
    /// Source tables and rules left out because the table lacks a column they need (an
    /// imported dataset): (what, the missing columns).
    pub skipped: Vec<(String, Vec<String>)>,
    /// Files the table was imported from: (file, SHA-256, bytes, rows, when).
    pub imports: Vec<(String, String, u64, u64, String)>,
    /// Whether shares were weighted by the table's `weight` column (a quota or stratified sample).
    pub weighted: bool,
}

async fn query(session: &PersonaSession, sql: &str) -> Result<Vec<RecordBatch>> {
    session.sql(sql).await
}

fn cell_text(batch: &RecordBatch, col: usize, row: usize) -> String {
    let c = batch.column(col);
    if c.is_null(row) {
        return "NULL".into();
    }
    match c.data_type() {
        DataType::Int64 => c.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Utf8 => c.as_string::<i32>().value(row).to_string(),
        DataType::Utf8View => c.as_string_view().value(row).to_string(),
        _ => arrow::util::display::array_value_to_string(c, row).unwrap_or_default(),
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Compares `table` with one published margin.
async fn margin_fidelity(
    session: &PersonaSession,
    model: &LocaleModel,
    table: &str,
    spec: &MarginSpec,
    weighted: bool,
) -> Result<MarginFidelity> {
    let pack = locale::pack(&model.locale)?;
    let published = crate::model::network::WeightedTable::parse(&model.locale, &spec.table, pack.file(&spec.table)?)?;
    let mut cols = Vec::new();
    for c in spec.conditions.iter().chain(std::iter::once(&spec.value)) {
        cols.push(published.column(&model.locale, &spec.table, c)?);
    }
    let band_col = spec.conditions.iter().position(|c| c == "age_band");
    let bands: Vec<(String, (i64, i64))> = match band_col {
        Some(i) => {
            let mut labels: Vec<String> = published.rows.iter().map(|r| r[cols[i]].clone()).collect();
            labels.sort();
            labels.dedup();
            labels
                .into_iter()
                .map(|l| {
                    crate::derive::bands::parse_band_label(&l).map(|r| (l.clone(), r)).ok_or_else(|| {
                        Error::InvalidLocalePack {
                            locale: model.locale.clone(),
                            reason: format!("{}: age band `{l}` is not of the form a-b or a+", spec.table),
                        }
                    })
                })
                .collect::<Result<_>>()?
        }
        None => Vec::new(),
    };
    let mut expected: HashMap<Vec<String>, f64> = HashMap::new();
    for (row, w) in published.rows.iter().zip(&published.weights) {
        *expected.entry(cols.iter().map(|c| row[*c].clone()).collect()).or_default() += w;
    }
    // Generated counts, grouped in SQL (age kept whole and banded here).
    let select: Vec<String> = spec
        .conditions
        .iter()
        .chain(std::iter::once(&spec.value))
        .map(|c| if c == "age_band" { "age".to_string() } else { quote_ident(c) })
        .collect();
    // A weighted sample (quota generation, stratified_sample) is compared by its weights.
    let sql = format!(
        "SELECT {cols}, count(*) AS \"__persons\", {weight} AS \"__weighted\" FROM {t}{w} GROUP BY {cols}",
        cols = select.join(", "),
        weight = if weighted { "sum(weight)" } else { "CAST(count(*) AS DOUBLE)" },
        t = quote_ident(table),
        w = spec.filter.as_ref().map(|f| format!(" WHERE {f}")).unwrap_or_default()
    );
    let mut generated: HashMap<Vec<String>, f64> = HashMap::new();
    let mut persons = 0.0;
    for batch in query(session, &sql).await? {
        let count_col = batch.num_columns() - 2;
        let counts = batch.column(count_col).as_primitive::<Int64Type>();
        let weights = batch.column(count_col + 1).as_primitive::<arrow::datatypes::Float64Type>();
        for r in 0..batch.num_rows() {
            let mut key: Vec<String> = (0..count_col).map(|c| cell_text(&batch, c, r)).collect();
            if let Some(i) = band_col {
                let age: i64 = key[i].parse().unwrap_or(-1);
                match bands.iter().find(|(_, (lo, hi))| *lo <= age && age <= *hi) {
                    Some((label, _)) => key[i] = label.clone(),
                    None => continue, // outside the table's universe
                }
            }
            *generated.entry(key).or_default() += weights.value(r);
            persons += counts.value(r) as f64;
        }
    }
    let n: f64 = persons;
    let sampled = compare(&expected, &generated, n);
    let exact = model_distribution(model, spec, band_col, &bands)?;
    let model = compare(&expected, &exact, 1_000_000.0);
    Ok(MarginFidelity {
        source: spec.source.clone(),
        table: spec.table.clone(),
        value: spec.value.clone(),
        persons: n as u64,
        joint_tvd: sampled.joint,
        mean_slice_tvd: sampled.mean_slice,
        max_slice_tvd: sampled.max_slice,
        slices: sampled.slices,
        noise_slice_tvd: sampled.noise,
        worst: sampled.worst,
        model_joint_tvd: model.joint,
        model_mean_slice_tvd: model.mean_slice,
        model_max_slice_tvd: model.max_slice,
    })
}

struct Comparison {
    joint: f64,
    mean_slice: f64,
    max_slice: f64,
    slices: usize,
    noise: f64,
    worst: Vec<(String, f64, f64)>,
}

/// Compares a published table (`expected`, any scale) with `observed` (any scale), treating
/// `observed` as `n` persons for the slice threshold and the noise estimate.
fn compare(expected: &HashMap<Vec<String>, f64>, observed: &HashMap<Vec<String>, f64>, n: f64) -> Comparison {
    let total_expected: f64 = expected.values().sum();
    let total_observed: f64 = observed.values().sum();
    let keys: std::collections::BTreeSet<&Vec<String>> = expected.keys().chain(observed.keys()).collect();
    let share = |m: &HashMap<Vec<String>, f64>, k: &Vec<String>, total: f64| {
        if total > 0.0 {
            m.get(k).copied().unwrap_or(0.0) / total
        } else {
            0.0
        }
    };
    let mut joint = 0.0;
    let mut diffs: Vec<(String, f64, f64)> = Vec::new();
    let mut slices: BTreeMap<Vec<String>, (f64, f64, Vec<(f64, f64)>)> = BTreeMap::new();
    for k in &keys {
        let (p, q) = (share(expected, k, total_expected), share(observed, k, total_observed));
        joint += (p - q).abs() / 2.0;
        diffs.push((k.join(" / "), p, q));
        let slice = slices.entry(k[..k.len() - 1].to_vec()).or_insert((0.0, 0.0, Vec::new()));
        slice.0 += p;
        slice.1 += q;
        slice.2.push((p, q));
    }
    diffs.sort_by(|a, b| (b.1 - b.2).abs().total_cmp(&(a.1 - a.2).abs()));
    diffs.truncate(5);
    let (mut weighted, mut weight, mut max_slice, mut counted, mut noise) = (0.0, 0.0, 0.0f64, 0usize, 0.0);
    for (p_slice, q_slice, cells) in slices.values() {
        let persons = p_slice * n;
        if persons < MIN_SLICE_PERSONS || *q_slice <= 0.0 {
            continue;
        }
        let tvd: f64 = cells.iter().map(|(p, q)| (p / p_slice - q / q_slice).abs()).sum::<f64>() / 2.0;
        // E|p̂ - p| ≈ sqrt(2 p (1-p) / (π n)) per cell under multinomial noise.
        let noise_tvd: f64 = cells
            .iter()
            .map(|(p, _)| {
                let c = p / p_slice;
                (2.0 * c * (1.0 - c) / (std::f64::consts::PI * persons)).sqrt()
            })
            .sum::<f64>()
            / 2.0;
        weighted += tvd * persons;
        noise += noise_tvd * persons;
        weight += persons;
        max_slice = max_slice.max(tvd);
        counted += 1;
    }
    Comparison {
        joint,
        mean_slice: if weight > 0.0 { weighted / weight } else { 0.0 },
        max_slice,
        slices: counted,
        noise: if weight > 0.0 { noise / weight } else { 0.0 },
        worst: diffs,
    }
}

/// The model's exact distribution over a margin's cells (conditions with ages banded, value).
fn model_distribution(
    model: &LocaleModel,
    spec: &MarginSpec,
    band_col: Option<usize>,
    bands: &[(String, (i64, i64))],
) -> Result<HashMap<Vec<String>, f64>> {
    let names: Vec<&str> = spec
        .conditions
        .iter()
        .chain(std::iter::once(&spec.value))
        .map(|c| if c == "age_band" { "age" } else { c.as_str() })
        .collect();
    let include: Vec<usize> = names
        .iter()
        .map(|n| {
            model.node(n).map(|(i, _)| i).ok_or_else(|| Error::InvalidLocalePack {
                locale: model.locale.clone(),
                reason: format!("margin {}: `{n}` is not a node", spec.table),
            })
        })
        .collect::<Result<_>>()?;
    let joint = crate::model::evidence::marginal(model, &include, spec.filter.as_deref().unwrap_or(""))?;
    let width = joint.nodes.len();
    let positions: Vec<usize> = include.iter().map(|n| joint.nodes.iter().position(|m| m == n).unwrap_or(0)).collect();
    let mut out: HashMap<Vec<String>, f64> = HashMap::new();
    for (cell, w) in joint.weights.iter().enumerate() {
        if *w <= 0.0 {
            continue;
        }
        let mut key: Vec<String> = include
            .iter()
            .zip(&positions)
            .map(|(n, pos)| model.nodes[*n].values[joint.combos[cell * width + pos] as usize].clone())
            .collect();
        if let Some(i) = band_col {
            let age: i64 = key[i].parse().unwrap_or(-1);
            match bands.iter().find(|(_, (lo, hi))| *lo <= age && age <= *hi) {
                Some((label, _)) => key[i] = label.clone(),
                None => continue,
            }
        }
        *out.entry(key).or_default() += w;
    }
    Ok(out)
}

/// Sums a pack table's weights by the given columns (skipping the rest).
fn pack_sums(model: &LocaleModel, file: &str, by: &[&str]) -> Result<HashMap<Vec<String>, f64>> {
    let pack = locale::pack(&model.locale)?;
    let t = crate::model::network::WeightedTable::parse(&model.locale, file, pack.file(file)?)?;
    let cols: Vec<usize> = by.iter().map(|c| t.column(&model.locale, file, c)).collect::<Result<_>>()?;
    let mut out: HashMap<Vec<String>, f64> = HashMap::new();
    for (row, w) in t.rows.iter().zip(&t.weights) {
        *out.entry(cols.iter().map(|c| row[*c].clone()).collect()).or_default() += w;
    }
    Ok(out)
}

async fn counts(session: &PersonaSession, sql: &str) -> Result<Vec<(Vec<String>, f64)>> {
    let mut out = Vec::new();
    for batch in query(session, sql).await? {
        let last = batch.num_columns() - 1;
        let c = batch.column(last).as_primitive::<Int64Type>();
        for r in 0..batch.num_rows() {
            out.push(((0..last).map(|i| cell_text(&batch, i, r)).collect(), c.value(r) as f64));
        }
    }
    Ok(out)
}

/// The report's plots as (file stem, SVG): age pyramid, education by age, top occupations,
/// each drawn from the locale's own published margins (the one of `age` given `sex`, of
/// `education_level` given `age_band`, of `occupation`). A plot whose margin the locale lacks
/// is left out.
pub async fn plots(session: &PersonaSession, table: &str, locale_name: &str) -> Result<Vec<(String, String)>> {
    let model = locale::model(locale_name)?;
    let has = |c: &str| model.columns.iter().any(|x| x.name() == c);
    let margin = |value: &str, given: &str| {
        model.margins.iter().find(|m| m.value == value && (given.is_empty() || m.conditions.iter().any(|c| c == given)))
    };
    let t = quote_ident(table);
    let mut out = Vec::new();
    let gender = model.persona.narrative.gender.as_ref();
    let sexes = gender.and_then(|g| Some((g.male.first()?.clone(), g.female.first()?.clone())));
    if let (true, Some(m), Some((male, female))) = (has("sex") && has("age"), margin("age", "sex"), sexes) {
        let generated = counts(session, &format!("SELECT sex, age, count(*) FROM {t} GROUP BY sex, age")).await?;
        let census = pack_sums(&model, &m.table, &["sex", "age"])?;
        let ages: Vec<i64> = census.keys().filter_map(|k| k[1].parse().ok()).collect();
        let (lo, hi) = (ages.iter().copied().min().unwrap_or(18), ages.iter().copied().max().unwrap_or(100));
        let pyramid = |m: &dyn Fn(&str, i64) -> f64| -> Vec<(i64, f64, f64)> {
            (lo..=hi).map(|a| (a, m(&male, a), m(&female, a))).collect()
        };
        let g_total: f64 = generated.iter().map(|(_, c)| c).sum();
        let c_total: f64 = census.values().sum();
        let g = pyramid(&|sex, a| {
            generated.iter().filter(|(k, _)| k[0] == sex && k[1] == a.to_string()).map(|(_, c)| c).sum::<f64>()
                / g_total.max(1.0)
        });
        let c = pyramid(&|sex, a| {
            census.get(&vec![sex.to_string(), a.to_string()]).copied().unwrap_or(0.0) / c_total.max(1.0)
        });
        out.push(("age_pyramid".to_string(), crate::plots::age_pyramid(&g, &c)?));
    }
    if let (true, Some(m)) = (has("education_level") && has("age"), margin("education_level", "age_band")) {
        let published = pack_sums(&model, &m.table, &["age_band", "education_level"])?;
        let mut bands: Vec<(String, (i64, i64))> = published
            .keys()
            .filter_map(|k| crate::derive::bands::parse_band_label(&k[0]).map(|r| (k[0].clone(), r)))
            .collect();
        bands.sort_by_key(|b| b.1);
        bands.dedup();
        let generated =
            counts(session, &format!("SELECT age, education_level, count(*) FROM {t} GROUP BY age, education_level"))
                .await?;
        let node = model.node("education_level").map(|(_, n)| n.values.clone()).unwrap_or_default();
        let mut series = Vec::new();
        for level in &node {
            let mut g = Vec::new();
            let mut p = Vec::new();
            for (label, (lo, hi)) in &bands {
                let in_band = |k: &Vec<String>| k[0].parse::<i64>().map(|a| *lo <= a && a <= *hi).unwrap_or(false);
                let band_total: f64 = generated.iter().filter(|(k, _)| in_band(k)).map(|(_, c)| c).sum();
                let level_total: f64 =
                    generated.iter().filter(|(k, _)| in_band(k) && &k[1] == level).map(|(_, c)| c).sum();
                g.push(if band_total > 0.0 { level_total / band_total } else { 0.0 });
                let pb: f64 = published.iter().filter(|(k, _)| &k[0] == label).map(|(_, w)| w).sum();
                p.push(published.get(&vec![label.clone(), level.clone()]).copied().unwrap_or(0.0) / pb.max(1.0));
            }
            series.push((level.clone(), g, p));
        }
        let labels: Vec<String> = bands.into_iter().map(|b| b.0).collect();
        out.push(("education_by_age".to_string(), crate::plots::education_by_age(&labels, &series)?));
    }
    if let (true, Some(m)) = (has("occupation"), margin("occupation", "")) {
        let published = pack_sums(&model, &m.table, &["occupation"])?;
        let p_total: f64 = published.values().sum();
        let filter = m.filter.as_deref().map(|f| format!("WHERE {f}")).unwrap_or_default();
        let generated =
            counts(session, &format!("SELECT occupation, count(*) FROM {t} {filter} GROUP BY occupation")).await?;
        let g_total: f64 = generated.iter().map(|(_, c)| c).sum();
        let mut rows: Vec<(String, f64, f64)> = generated
            .iter()
            .map(|(k, c)| {
                (k[0].clone(), c / g_total.max(1.0), published.get(k).copied().unwrap_or(0.0) / p_total.max(1.0))
            })
            .collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        rows.truncate(25);
        out.push(("top_occupations".to_string(), crate::plots::top_occupations(&rows)?));
    }
    Ok(out)
}

/// Writes the fidelity report of `table` to `path` (Markdown) with its plots beside it as SVG
/// files (`<stem>_<plot>.svg`), linked from the report. The files written, plots first.
pub async fn write(
    session: &PersonaSession,
    table: &str,
    locale_name: &str,
    path: &std::path::Path,
) -> Result<Vec<std::path::PathBuf>> {
    let report = fidelity(session, table, locale_name).await?;
    let plots = plots(session, table, locale_name).await?;
    write_with_plots(report.to_markdown(), plots, path)
}

/// Writes a Markdown report to `path` with its plots (file stem, SVG) beside it as
/// `<stem>_<plot>.svg`, linked from a last section; the files written, plots first.
pub fn write_with_plots(
    mut text: String,
    plots: Vec<(String, String)>,
    path: &std::path::Path,
) -> Result<Vec<std::path::PathBuf>> {
    let stem = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "report".into());
    let dir = path.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    if !plots.is_empty() {
        text.push_str("\n## Plots\n\n");
    }
    let mut written = Vec::new();
    for (name, svg) in plots {
        let file = format!("{stem}_{name}.svg");
        let target = dir.join(&file);
        std::fs::write(&target, svg).map_err(|e| Error::io(format!("writing {}", target.display()), e))?;
        text.push_str(&format!("![{name}]({file})\n\n"));
        written.push(target);
    }
    std::fs::write(path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    written.push(path.to_path_buf());
    Ok(written)
}

/// Builds the fidelity report of `table` (whose personas come from `locale`).
pub async fn fidelity(session: &PersonaSession, table: &str, locale_name: &str) -> Result<FidelityReport> {
    let model = locale::model(locale_name)?;
    if !session.database().table_exists(table) {
        return Err(Error::TableNotFound { name: table.into() });
    }
    let count_batches = query(session, &format!("SELECT count(*) FROM {}", quote_ident(table))).await?;
    let rows = count_batches.first().map(|b| b.column(0).as_primitive::<Int64Type>().value(0) as u64).unwrap_or(0);
    // An imported table may lack columns: what needs them is left out, and said.
    let dataset = session.database().open_table(table).await?;
    let present: std::collections::HashSet<String> =
        arrow::datatypes::Schema::from(dataset.schema()).fields().iter().map(|f| f.name().clone()).collect();
    let model_columns: Vec<String> = model.columns.iter().map(|c| c.name().to_string()).collect();
    let missing_in = |names: &mut dyn Iterator<Item = String>| -> Vec<String> {
        let mut m: Vec<String> = names.filter(|n| !present.contains(n)).collect();
        m.sort();
        m.dedup();
        m
    };
    let mentioned = |sql: &str| -> Vec<String> {
        model_columns
            .iter()
            .filter(|c| {
                sql.match_indices(c.as_str()).any(|(i, _)| {
                    let before = sql[..i].chars().next_back();
                    let after = sql[i + c.len()..].chars().next();
                    let word = |ch: Option<char>| ch.is_some_and(|ch| ch.is_alphanumeric() || ch == '_');
                    !word(before) && !word(after)
                })
            })
            .cloned()
            .collect()
    };
    let mut skipped = Vec::new();
    let mut margins = Vec::new();
    for spec in &model.margins {
        let needed = spec
            .conditions
            .iter()
            .chain(std::iter::once(&spec.value))
            .map(|c| if c == "age_band" { "age".to_string() } else { c.clone() })
            .chain(spec.filter.as_deref().map(mentioned).unwrap_or_default());
        let missing = missing_in(&mut needed.into_iter());
        if !missing.is_empty() {
            skipped.push((format!("{} ({})", spec.source, spec.table), missing));
            continue;
        }
        margins.push(margin_fidelity(session, &model, table, spec, present.contains("weight")).await?);
    }
    let mut rules = Vec::new();
    for rule in &model.plausibility {
        let missing = missing_in(&mut mentioned(&rule.violation).into_iter());
        if !missing.is_empty() {
            skipped.push((format!("rule: {}", rule.rule), missing));
            continue;
        }
        let b =
            query(session, &format!("SELECT count(*) FROM {} WHERE {}", quote_ident(table), rule.violation)).await?;
        let violations = b.first().map(|b| b.column(0).as_primitive::<Int64Type>().value(0) as u64).unwrap_or(0);
        rules.push(RuleCheck { rule: rule.rule.clone(), violations });
    }
    let mut entropy = Vec::new();
    for c in &model.columns {
        if matches!(c, crate::model::ColumnSpec::Uuid { .. }) || !present.contains(c.name()) {
            continue;
        }
        let col = quote_ident(c.name());
        let b = query(session, &format!("SELECT count(*) FROM {} GROUP BY {col}", quote_ident(table))).await?;
        let counts: Vec<f64> = b
            .iter()
            .flat_map(|b| {
                b.column(0).as_primitive::<Int64Type>().values().iter().map(|v| *v as f64).collect::<Vec<_>>()
            })
            .collect();
        let total: f64 = counts.iter().sum();
        let h: f64 = counts.iter().filter(|c| **c > 0.0).map(|c| -(c / total) * (c / total).log2()).sum();
        entropy.push((c.name().to_string(), counts.len() as u64, h));
    }
    let imports = session.database().catalog()?.imports(table)?;
    Ok(FidelityReport {
        table: table.into(),
        locale: locale_name.into(),
        rows,
        margins,
        rules,
        entropy,
        skipped,
        imports,
        weighted: present.contains("weight"),
    })
}

impl FidelityReport {
    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ =
            writeln!(s, "# Fidelity report: table `{}` (locale `{}`, {} rows)\n", self.table, self.locale, self.rows);
        let _ = writeln!(
            s,
            "TVD = total variation distance (0 = identical, 1 = disjoint). *Joint*: over all cells of the source \
             table. *Slice*: the distribution of the value within each combination of the conditions having at least \
             {MIN_SLICE_PERSONS} persons, weighted mean and max; *noise* is what multinomial sampling alone gives on \
             average in those slices.\n"
        );
        if self.weighted {
            let _ = writeln!(
                s,
                "The table is a weighted sample (column `weight`): its shares are weighted counts, so an equal \
                 allocation is compared with the population it stands for.\n"
            );
        }
        let _ = writeln!(s, "### Generated table\n");
        let _ =
            writeln!(s, "| source | value | persons | joint TVD | mean slice TVD | max slice TVD | slices | noise |");
        let _ = writeln!(s, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for m in &self.margins {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.4} | {:.4} | {:.4} | {} | {:.4} |",
                m.source,
                m.value,
                m.persons,
                m.joint_tvd,
                m.mean_slice_tvd,
                m.max_slice_tvd,
                m.slices,
                m.noise_slice_tvd
            );
        }
        let _ = writeln!(
            s,
            "\n### The model itself (exact, no sampling noise; slices with at least {MIN_SLICE_PERSONS} persons per million)\n"
        );
        let _ = writeln!(s, "| source | value | joint TVD | mean slice TVD | max slice TVD |");
        let _ = writeln!(s, "| --- | --- | ---: | ---: | ---: |");
        for m in &self.margins {
            let _ = writeln!(
                s,
                "| {} | {} | {:.4} | {:.4} | {:.4} |",
                m.source, m.value, m.model_joint_tvd, m.model_mean_slice_tvd, m.model_max_slice_tvd
            );
        }
        for m in &self.margins {
            let _ = writeln!(s, "\n## {} — worst cells ({})\n", m.source, m.table);
            let _ = writeln!(s, "| cell | published | generated |\n| --- | ---: | ---: |");
            for (cell, p, q) in &m.worst {
                let _ = writeln!(s, "| {cell} | {:.5} | {:.5} |", p, q);
            }
        }
        let _ = writeln!(s, "\n## Plausibility rules\n\n| rule | violations |\n| --- | ---: |");
        for r in &self.rules {
            let _ = writeln!(s, "| {} | {} |", r.rule, r.violations);
        }
        let _ = writeln!(s, "\n## Diversity\n\n| column | distinct values | entropy (bits) |\n| --- | ---: | ---: |");
        for (c, k, h) in &self.entropy {
            let _ = writeln!(s, "| {c} | {k} | {h:.3} |");
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(
                s,
                "\n## Left out (the table lacks their columns)\n\n| source or rule | missing |\n| --- | --- |"
            );
            for (what, missing) in &self.skipped {
                let _ = writeln!(s, "| {what} | {} |", missing.join(", "));
            }
        }
        if !self.imports.is_empty() {
            let _ = writeln!(
                s,
                "\n## Imported from\n\n| file | rows | bytes | SHA-256 | imported |\n| --- | ---: | ---: | --- | --- |"
            );
            for (file, sha, bytes, rows, at) in &self.imports {
                let _ = writeln!(s, "| {file} | {rows} | {bytes} | `{sha}` | {at} |");
            }
        }
        s
    }
}

/// What the narrative consistency checker found in a table: per rule, the rows it flags and a
/// few examples.
#[derive(Debug, Clone)]
pub struct NarrativeReport {
    pub table: String,
    pub locale: String,
    pub language: String,
    pub rows: u64,
    /// Rows with at least one violation.
    pub rows_flagged: u64,
    /// (rule, rows flagged by it, examples: (uuid, violation)), every rule of the checker.
    pub rules: Vec<(String, u64, Vec<(String, crate::narrate::check::Violation)>)>,
}

/// Runs the narrative checker of `locale` in `language` (`None`: the locale's first, or Hindi
/// in Devanagari when the table's text is written in it) over every row of `table`, keeping
/// `examples` examples per rule.
pub async fn narratives(
    session: &PersonaSession,
    table: &str,
    locale_name: &str,
    language: Option<&str>,
    examples: usize,
) -> Result<NarrativeReport> {
    use futures::StreamExt;
    let model = locale::model(locale_name)?;
    if !session.database().table_exists(table) {
        return Err(Error::TableNotFound { name: table.into() });
    }
    let fields: Vec<String> =
        crate::narrate::narrative_schema_for(&model.persona).fields().iter().map(|f| f.name().clone()).collect();
    let sql = format!("SELECT * FROM {}", quote_ident(table));
    let mut statements = session.parse(&sql)?;
    let mut stream = session.execute(statements.remove(0)).await?;
    let mut checker: Option<crate::narrate::check::Checker> = None;
    let mut language_code = language.map(str::to_string);
    let mut tally: std::collections::HashMap<String, (u64, Vec<(String, crate::narrate::check::Violation)>)> =
        Default::default();
    let (mut rows, mut rows_flagged) = (0u64, 0u64);
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        if batch.num_rows() == 0 {
            continue;
        }
        if !fields.iter().any(|f| batch.column_by_name(f).is_some()) {
            return Err(Error::InvalidArgument {
                name: "table".into(),
                reason: format!("table '{table}' has no narrative columns (generate it with a narrator)"),
            });
        }
        if checker.is_none() {
            if language_code.is_none() {
                language_code = detect_language(&model, &batch, &fields);
            }
            checker = Some(crate::narrate::check::Checker::for_locale(locale_name, language_code.as_deref())?);
        }
        let Some(c) = checker.as_ref() else { continue };
        let found = c.check_batch(&batch, &fields)?;
        let uuids = batch.column_by_name("uuid").map(|u| arrow::compute::cast(u, &arrow::datatypes::DataType::Utf8));
        let uuids = match uuids {
            Some(u) => Some(u?),
            None => None,
        };
        for (i, violations) in found.into_iter().enumerate() {
            rows += 1;
            if violations.is_empty() {
                continue;
            }
            rows_flagged += 1;
            let uuid = uuids
                .as_ref()
                .map(|u| u.as_string::<i32>())
                .filter(|u| u.is_valid(i))
                .map(|u| u.value(i).to_string())
                .unwrap_or_else(|| format!("row {rows}"));
            let mut seen = std::collections::HashSet::new();
            for v in violations {
                if !seen.insert(v.rule.clone()) {
                    continue;
                }
                let entry = tally.entry(v.rule.clone()).or_default();
                entry.0 += 1;
                if entry.1.len() < examples {
                    entry.1.push((uuid.clone(), v));
                }
            }
        }
    }
    let ids: Vec<String> = match &checker {
        Some(c) => c.rule_ids().to_vec(),
        None => crate::narrate::check::Checker::for_locale(locale_name, language_code.as_deref())?.rule_ids().to_vec(),
    };
    let rules = ids
        .into_iter()
        .map(|id| {
            let (n, ex) = tally.remove(&id).unwrap_or_default();
            (id, n, ex)
        })
        .collect();
    let language = match language_code {
        Some(l) => l,
        None => model.persona.narrative.languages.first().map(|l| l.code.clone()).unwrap_or_default(),
    };
    Ok(NarrativeReport { table: table.into(), locale: locale_name.into(), language, rows, rows_flagged, rules })
}

/// The language a table's narratives are written in, when the locale has several: the one
/// whose script the text uses (Devanagari), else `None` (the locale's first).
fn detect_language(model: &crate::model::LocaleModel, batch: &RecordBatch, fields: &[String]) -> Option<String> {
    let codes: Vec<&str> = model.persona.narrative.languages.iter().map(|l| l.code.as_str()).collect();
    if codes.len() < 2 {
        return None;
    }
    let column = fields.iter().find_map(|f| batch.column_by_name(f))?;
    let text = arrow::compute::cast(column, &arrow::datatypes::DataType::Utf8).ok()?;
    let text = text.as_string::<i32>();
    let sample: String = text.iter().flatten().take(20).collect();
    if sample.chars().any(|c| ('\u{0900}'..='\u{097F}').contains(&c)) {
        return codes.iter().find(|c| c.ends_with("Deva")).map(|c| c.to_string());
    }
    // Romanised Hindi: its everyday function words, which English prose does not use.
    let words: Vec<&str> = sample.split_whitespace().collect();
    let hindi = words.iter().filter(|w| ["hai", "aur", "ke", "ki", "ka", "mein", "se", "ko"].contains(w)).count();
    if hindi * 20 > words.len() {
        return codes.iter().find(|c| c.ends_with("Latn")).map(|c| c.to_string());
    }
    None
}

impl NarrativeReport {
    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Narrative check: table `{}` (locale `{}`, language `{}`, {} rows)\n",
            self.table, self.locale, self.language, self.rows
        );
        let share = |n: u64| if self.rows == 0 { 0.0 } else { n as f64 * 100.0 / self.rows as f64 };
        let _ = writeln!(
            s,
            "Rows with at least one violation: **{}** ({:.2} %).\n",
            self.rows_flagged,
            share(self.rows_flagged)
        );
        let _ = writeln!(s, "| rule | rows | share |\n|---|---:|---:|");
        for (rule, n, _) in &self.rules {
            let _ = writeln!(s, "| {rule} | {n} | {:.2} % |", share(*n));
        }
        let flagged: Vec<_> = self.rules.iter().filter(|r| !r.2.is_empty()).collect();
        if !flagged.is_empty() {
            let _ = writeln!(s, "\n## Examples\n");
            for (rule, _, examples) in flagged {
                let _ = writeln!(s, "**{rule}**\n");
                for (uuid, v) in examples {
                    let short: String = uuid.chars().take(8).collect();
                    let _ = writeln!(s, "- `{short}` {}: {}", v.field, v.evidence.replace('\n', " "));
                }
                let _ = writeln!(s);
            }
        }
        s
    }
}
