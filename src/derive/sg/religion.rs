//! Religion given ethnic group and planning area: Census 2020 by planning area, joined to the
//! national ethnic × religion table rebuilt from CT/17459 and the published within-ethnic shares.

use std::collections::HashMap;
use std::path::Path;

use super::census_areas::{
    area_table, expand_by_area, fit_area_ethnic, group_ethnic, published_by_area, RELIGION_AREA,
};
use super::ethnic::ETHNIC_AREA;
use super::population::POPULATION;
use super::vocab::{ethnic_index, ETHNIC, RELIGIONS};
use super::{number, Pack, Rows};
use crate::derive::{derr, field, read_csv, SourceSpec};
use crate::error::Result;

pub(super) const RELIGION_ETHNIC: SourceSpec<'static> = SourceSpec {
    id: "census2020_ct17459_religion_ethnic_partial",
    path: "datasets/sg/sources/census2020/census2020_ct17459_religion_by_ethnic_sex_PARTIAL.csv",
    publisher: "Department of Statistics Singapore, Census of Population 2020, Table Builder CT/17459",
    table: "Resident population aged 15+ by religion, ethnic group and sex (rows Total, No Religion, With Religion, \
            Buddhism, Taoism)",
    vintage: "Census 2020",
    licence: "Singapore Open Data Licence",
    carrier: "data.gov.sg page d_4f6dc35cb00308f67bf9d429cfa30e65 (see datasets/sg/sources/PROVENANCE.md)",
};
pub(super) const RELIGION_SHARES: SourceSpec<'static> = SourceSpec {
    id: "census2020_religion_within_ethnic_published",
    path: "datasets/sg/sources/census2020/census2020_religion_within_ethnic_published_shares.csv",
    publisher: "Department of Statistics Singapore, Census of Population 2020 release (as reported)",
    table: "Published shares of the main religions within each ethnic group, residents 15+",
    vintage: "Census 2020 (released 16 June 2021)",
    licence: "facts reported from the official release",
    carrier: "datasets/sg/sources/PROVENANCE.md (sources of each figure listed in the file)",
};

/// Writes the religion tables and their choice.
pub(super) fn derive(
    raw_dir: &Path,
    pack: &mut Pack,
    areas: &[String],
    area_groups: &(Vec<String>, Vec<usize>),
    ethnic_by_area: &[[f64; 4]],
) -> Result<()> {
    let (religion_rows, religion_area) = religion(raw_dir, areas, area_groups, ethnic_by_area)?;
    pack.table(
        "religion_model.csv",
        &["ethnic_background", "planning_area", "religion", "weight"],
        &religion_rows,
        &[RELIGION_AREA.id, RELIGION_ETHNIC.id, RELIGION_SHARES.id, POPULATION.id, ETHNIC_AREA.id],
        "Iterative proportional fit of planning-area group × ethnic group × religion to: religion by planning \
         area (Census 2020, 15+; the 25 small planning areas form the published `Others` group); ethnic group by \
         planning area (ethnic_model.csv summed); the national ethnic × religion table built from CT/17459 \
         (No Religion, Buddhism, Taoism by ethnic group, exact) and the published within-ethnic shares of \
         Islam, Hinduism and Christianity (the rest fitted to the national religion totals). Each planning area \
         takes its group's table. Weight = persons 15+.",
    )?;
    pack.table(
        "religion_area.csv",
        &["planning_area", "religion", "weight"],
        &religion_area,
        &[RELIGION_AREA.id],
        "Census 2020 residents 15+ by planning area × religion as published; each planning area of the published \
         `Others` group (the 25 small ones) takes that group's distribution, scaled to its persons.",
    )?;
    pack.choices.push(
        "Religion depends on ethnic group and planning area. Census 2020 publishes religion × ethnic group only in \
         part (rows No Religion, Buddhism and Taoism were recovered); the within-ethnic shares of Islam (Malays \
         98.8%, Indians 23.4%, Chinese 0.5%), Hinduism (Indians 57.3%) and Christianity (Chinese 21.6%, Indians \
         12.6%) are the figures published with the census release, the Catholic/other-Christian split within \
         Christians is the national one, and Sikhs are Indians or Others only."
            .into(),
    );
    Ok(())
}

/// The religion model rows and the published (area, religion) table.
fn religion(
    raw_dir: &Path,
    areas: &[String],
    (groups, group_of): &(Vec<String>, Vec<usize>),
    area_ethnic: &[[f64; 4]],
) -> Result<(Rows, Rows)> {
    let columns: Vec<&str> = RELIGIONS.iter().map(|(_, c)| *c).collect();
    let area_rel = area_table(raw_dir, RELIGION_AREA.path, groups, &columns)?;
    let national: Vec<f64> = (0..RELIGIONS.len()).map(|c| area_rel.iter().map(|r| r[c]).sum()).collect();
    let ethnic_rel = religion_by_ethnic(raw_dir, &national)?;
    let ge = group_ethnic(area_ethnic, group_of, groups.len());
    let fit = fit_area_ethnic(&area_rel, &ge, &ethnic_rel);
    let labels: Vec<&str> = RELIGIONS.iter().map(|(l, _)| *l).collect();
    let rows = expand_by_area(&fit, &labels, areas, group_of, area_ethnic);
    Ok((rows, published_by_area(&area_rel, &labels, areas, group_of, area_ethnic)))
}

/// National religion × ethnic group (15+, 2020), rows in [`ETHNIC`] order and columns in
/// [`RELIGIONS`] order: the published rows of CT/17459, the published within-ethnic shares,
/// and a 2-D fit of the rest to the national religion totals.
fn religion_by_ethnic(raw_dir: &Path, national: &[f64]) -> Result<Vec<Vec<f64>>> {
    let path = RELIGION_ETHNIC.path;
    let mut partial: HashMap<(String, usize), f64> = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "sex", path)? != "Total" {
            continue;
        }
        let Some(e) = ethnic_index(field(&row, "ethnic_group", path)?) else { continue };
        partial.insert((field(&row, "religion", path)?.to_string(), e), number(field(&row, "residents_15plus", path)?));
    }
    let get = |religion: &str, e: usize| -> Result<f64> {
        partial
            .get(&(religion.to_string(), e))
            .copied()
            .ok_or_else(|| derr(path, format!("no row {religion} × {}", ETHNIC[e])))
    };
    let shares_path = RELIGION_SHARES.path;
    let mut shares: HashMap<(String, usize), f64> = HashMap::new();
    for row in read_csv(raw_dir, shares_path)? {
        let Some(e) = ethnic_index(field(&row, "ethnic_group", shares_path)?) else { continue };
        shares.insert(
            (field(&row, "religion", shares_path)?.to_string(), e),
            number(field(&row, "percent", shares_path)?) / 100.0,
        );
    }
    let nc = RELIGIONS.len();
    let mut table = vec![vec![0.0f64; nc]; 4];
    let christian_total = national[6] + national[7];
    let catholic_share = if christian_total > 0.0 { national[6] / christian_total } else { 0.5 };
    let mut rest_rows = vec![0.0f64; 4];
    let mut fixed = vec![vec![false; nc]; 4];
    for e in 0..4 {
        let total = get("Total", e)?;
        table[e][0] = get("No Religion", e)?;
        table[e][1] = get("Buddhism", e)?;
        table[e][2] = get("Taoism", e)?;
        for c in 0..3 {
            fixed[e][c] = true;
        }
        let mut rest = get("With Religion", e)? - table[e][1] - table[e][2];
        if let Some(s) = shares.get(&("Islam".to_string(), e)) {
            table[e][3] = s * total;
            fixed[e][3] = true;
            rest -= table[e][3];
        }
        if let Some(s) = shares.get(&("Hinduism".to_string(), e)) {
            table[e][4] = s * total;
            fixed[e][4] = true;
            rest -= table[e][4];
        }
        if let Some(s) = shares.get(&("Christianity".to_string(), e)) {
            table[e][6] = s * total * catholic_share;
            table[e][7] = s * total * (1.0 - catholic_share);
            fixed[e][6] = true;
            fixed[e][7] = true;
            rest -= table[e][6] + table[e][7];
        }
        rest_rows[e] = rest.max(0.0);
    }
    // The cells left open: fitted to each ethnic group's rest and each religion's national rest.
    let open = |e: usize, c: usize| {
        !fixed[e][c]
            && match c {
                // Hindus and Sikhs among Chinese and Malays are too few to publish: none.
                4 | 5 => e >= 2,
                _ => true,
            }
    };
    let col_rest: Vec<f64> = (0..nc)
        .map(|c| (national[c] - (0..4).filter(|&e| !open(e, c)).map(|e| table[e][c]).sum::<f64>()).max(0.0))
        .collect();
    let seed: Vec<f64> =
        (0..4).flat_map(|e| (0..nc).map(move |c| (e, c))).map(|(e, c)| if open(e, c) { 1.0 } else { 0.0 }).collect();
    let (fit, _) = crate::derive::ipf::fit_2d(&seed, 4, nc, &rest_rows, &col_rest, 500);
    for e in 0..4 {
        for c in 0..nc {
            if open(e, c) {
                table[e][c] = fit[e * nc + c];
            }
        }
    }
    Ok(table)
}
