//! The Census 2020 planning-area tables that religion and home language are read from (30
//! planning areas and an `Others` group), and their join to ethnic group: a fit of planning-area
//! group × ethnic group × category to the three two-way margins, expanded back to planning areas.

use std::path::Path;

use super::population::same_area;
use super::vocab::ETHNIC;
use super::{number, Rows};
use crate::derive::ipf::{fit_groups, GroupMargin};
use crate::derive::{derr, field, read_csv, SourceSpec};
use crate::error::Result;

/// Religion by planning area: its planning-area groups (30 areas and `Others`) are the census
/// area groups religion and language are fitted over.
pub(super) const RELIGION_AREA: SourceSpec<'static> = SourceSpec {
    id: "census2020_ct17592_religion_planning_area",
    path: "singapore/census2020/religion_by_planning_area_census2020.csv",
    publisher: "Department of Statistics Singapore, Census of Population 2020, via data.gov.sg",
    table: "Resident population aged 15+ by planning area and religion (30 planning areas + Others)",
    vintage: "Census 2020",
    licence: "Singapore Open Data Licence",
    carrier:
        "advaitsridhar/DemographicMap@b6a634016742:data/raw/singapore/religion_planning_area_census2020_datagovsg.csv",
};

/// The group of each planning area in the Census 2020 planning-area tables: its own row, or
/// the `Others` row (index = the number of named rows). Returns (group names, group of area).
pub(super) fn census_area_groups(raw_dir: &Path, areas: &[String]) -> Result<(Vec<String>, Vec<usize>)> {
    let path = RELIGION_AREA.path;
    let mut names: Vec<String> = Vec::new();
    for row in read_csv(raw_dir, path)? {
        let name = field(&row, "Number", path)?;
        if name != "Total" && name != "Others" {
            names.push(name.to_string());
        }
    }
    let others = names.len();
    let group_of = areas.iter().map(|a| names.iter().position(|n| same_area(n, a)).unwrap_or(others)).collect();
    names.push("Others".into());
    Ok((names, group_of))
}

/// A planning-area table of the census: per group (named rows then `Others`), the values of
/// `columns`.
pub(super) fn area_table(raw_dir: &Path, path: &str, groups: &[String], columns: &[&str]) -> Result<Vec<Vec<f64>>> {
    let mut out = vec![vec![0.0; columns.len()]; groups.len()];
    let mut found = vec![false; groups.len()];
    for row in read_csv(raw_dir, path)? {
        let name = field(&row, "Number", path)?;
        let Some(g) = groups.iter().position(|n| n == name) else { continue };
        for (c, col) in columns.iter().enumerate() {
            out[g][c] = number(field(&row, col, path)?);
        }
        found[g] = true;
    }
    if let Some(g) = found.iter().position(|f| !f) {
        return Err(derr(path, format!("no row for planning area `{}`", groups[g])));
    }
    Ok(out)
}

/// Fits group × ethnic × category to (group, category), (group, ethnic) and (ethnic,
/// category) and returns the table (group, ethnic, category), row-major.
pub(super) fn fit_area_ethnic(area_cat: &[Vec<f64>], area_ethnic: &[[f64; 4]], ethnic_cat: &[Vec<f64>]) -> Vec<f64> {
    let (ng, nc) = (area_cat.len(), ethnic_cat[0].len());
    let ne = 4;
    let cell = |g: usize, e: usize, c: usize| (g * ne + e) * nc + c;
    let cells = ng * ne * nc;
    let mut seed = vec![1.0f64; cells];
    for g in 0..ng {
        for e in 0..ne {
            for c in 0..nc {
                if ethnic_cat[e][c] <= 0.0 || area_cat[g][c] <= 0.0 || area_ethnic[g][e] <= 0.0 {
                    seed[cell(g, e, c)] = 0.0;
                }
            }
        }
    }
    // Every margin on the scale of the persons of the ethnic model.
    let total: f64 = area_ethnic.iter().flat_map(|r| r.iter()).sum();
    let mut m_gc = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; ng * nc] };
    let mut m_ge = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; ng * ne] };
    let mut m_ec = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; ne * nc] };
    for g in 0..ng {
        let persons: f64 = area_ethnic[g].iter().sum();
        let published: f64 = area_cat[g].iter().sum();
        for c in 0..nc {
            m_gc.targets[g * nc + c] = if published > 0.0 { persons * area_cat[g][c] / published } else { 0.0 };
        }
        for e in 0..ne {
            m_ge.targets[g * ne + e] = area_ethnic[g][e];
            for c in 0..nc {
                let i = cell(g, e, c);
                m_gc.group_of[i] = (g * nc + c) as u32;
                m_ge.group_of[i] = (g * ne + e) as u32;
                m_ec.group_of[i] = (e * nc + c) as u32;
            }
        }
    }
    let national: f64 = ethnic_cat.iter().flat_map(|r| r.iter()).sum();
    for e in 0..ne {
        for c in 0..nc {
            m_ec.targets[e * nc + c] = ethnic_cat[e][c] * total / national;
        }
    }
    fit_groups(&seed, &[m_ec, m_gc, m_ge], 300).0
}

/// Rows (ethnic, planning area, category, weight) from a group-level fit.
pub(super) fn expand_by_area(
    fit: &[f64],
    labels: &[&str],
    areas: &[String],
    group_of: &[usize],
    area_ethnic: &[[f64; 4]],
) -> Rows {
    let nc = labels.len();
    let mut rows = Vec::new();
    for (e, ethnic) in ETHNIC.iter().enumerate() {
        for (a, area) in areas.iter().enumerate() {
            if area_ethnic[a][e] <= 0.0 {
                continue;
            }
            let g = group_of[a];
            for (c, label) in labels.iter().enumerate() {
                let w = fit[(g * 4 + e) * nc + c];
                if w > 0.0 {
                    rows.push(vec![ethnic.to_string(), area.clone(), label.to_string(), format!("{w:.3}")]);
                }
            }
        }
    }
    rows
}

/// A published planning-area table as rows (area, category, weight) for every planning area:
/// a named area's own row, and for the areas of the `Others` group that group's distribution
/// scaled to the area's persons.
pub(super) fn published_by_area(
    table: &[Vec<f64>],
    labels: &[&str],
    areas: &[String],
    group_of: &[usize],
    area_ethnic: &[[f64; 4]],
) -> Rows {
    let mut group_persons = vec![0.0f64; table.len()];
    for (a, row) in area_ethnic.iter().enumerate() {
        group_persons[group_of[a]] += row.iter().sum::<f64>();
    }
    let mut rows = Vec::new();
    for (a, area) in areas.iter().enumerate() {
        let g = group_of[a];
        let persons: f64 = area_ethnic[a].iter().sum();
        let share = if group_persons[g] > 0.0 { persons / group_persons[g] } else { 0.0 };
        for (c, label) in labels.iter().enumerate() {
            let w = table[g][c] * share;
            if w > 0.0 {
                rows.push(vec![area.clone(), label.to_string(), format!("{w:.1}")]);
            }
        }
    }
    rows
}

/// Group-level (group, ethnic) persons from area-level ones.
pub(super) fn group_ethnic(area_ethnic: &[[f64; 4]], group_of: &[usize], groups: usize) -> Vec<[f64; 4]> {
    let mut out = vec![[0.0f64; 4]; groups];
    for (a, row) in area_ethnic.iter().enumerate() {
        for e in 0..4 {
            out[group_of[a]][e] += row[e];
        }
    }
    out
}
