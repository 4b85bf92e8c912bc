//! Reading ACS detailed tables as published by the Census API: a `_DATA.csv` with one row per
//! geography and `<T>_nnnE` estimate columns, and a `_LEGEND.csv` giving each variable's label
//! path ("Estimate!!Total!!Male!!18 to 24 years!!Bachelor's degree"). We keep the leaf cells.
//! Also the manifest records of a state table's two files, and the aggregation of a state table
//! by sex and age band that the education and marital tables share.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::vocab::STATES;
use crate::derive::{SourceRecord, SourceSpec};
use crate::error::{Error, Result};

/// One leaf cell: the geography, the label path below "Total", and the estimate.
#[derive(Debug, Clone)]
pub struct Cell {
    /// USPS state abbreviation, or "US" for national tables.
    pub geo: String,
    pub path: Vec<String>,
    pub estimate: f64,
}

/// Path of a table's data or legend file under the raw data directory.
pub fn raw_path(level: &str, table: &str, kind: &str) -> String {
    format!("usa/acs1_2018/{level}/{table}_{kind}.csv")
}

/// Reads the leaf cells of ACS table `table` at `level` ("state" or "national"), per
/// geography in the table's line order.
pub fn leaf_cells(raw_dir: &Path, level: &str, table: &str) -> Result<Vec<Cell>> {
    let legend_path = raw_dir.join(raw_path(level, table, "LEGEND"));
    let data_path = raw_dir.join(raw_path(level, table, "DATA"));
    let err = |path: &Path, reason: String| Error::Derivation { source_file: path.display().to_string(), reason };
    // Legend: VARIABLE,TYPE,LABEL,GROUP.
    let mut reader = csv::Reader::from_path(&legend_path).map_err(|e| err(&legend_path, e.to_string()))?;
    let mut labels: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| err(&legend_path, e.to_string()))?;
        let (Some(var), Some(label)) = (rec.get(0), rec.get(2)) else { continue };
        if !var.ends_with('E') {
            continue;
        }
        let parts: Vec<String> = label.split("!!").map(|p| p.trim().trim_end_matches(':').to_string()).collect();
        // Drop "Estimate" and "Total".
        if parts.len() >= 2 && parts[0] == "Estimate" && parts[1] == "Total" {
            labels.insert(var.to_string(), parts[2..].to_vec());
        }
    }
    // Leaves: variables whose path is not a proper prefix of another's.
    let paths: Vec<&Vec<String>> = labels.values().collect();
    let leaves: HashMap<String, Vec<String>> = labels
        .iter()
        .filter(|(_, p)| !paths.iter().any(|q| q.len() > p.len() && q.starts_with(p)))
        .map(|(v, p)| (v.clone(), p.clone()))
        .collect();
    if leaves.is_empty() {
        return Err(err(&legend_path, "no estimate variables".into()));
    }
    let abbrev: HashMap<u32, &str> = STATES.iter().copied().collect();
    let mut reader = csv::Reader::from_path(&data_path).map_err(|e| err(&data_path, e.to_string()))?;
    let headers = reader.headers().map_err(|e| err(&data_path, e.to_string()))?.clone();
    let geo_col = headers.iter().position(|h| h == "GEO_ID").ok_or_else(|| err(&data_path, "no GEO_ID".into()))?;
    let mut cells = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| err(&data_path, e.to_string()))?;
        let geo_id = rec.get(geo_col).unwrap_or("");
        let geo = if level == "national" {
            "US".to_string()
        } else {
            let fips: u32 = geo_id.rsplit("US").next().and_then(|f| f.parse().ok()).unwrap_or(0);
            match abbrev.get(&fips) {
                Some(a) => a.to_string(),
                None => continue, // Puerto Rico and anything else outside the 50 states + DC
            }
        };
        // Variable order (the publisher's line order), whatever the file's column order.
        let mut columns: Vec<(usize, &str)> = headers.iter().enumerate().collect();
        columns.sort_by_key(|(_, h)| *h);
        for (i, h) in columns {
            if let Some(path) = leaves.get(h) {
                let raw = rec.get(i).unwrap_or("").trim();
                let estimate: f64 = if raw.is_empty() || raw == "null" {
                    continue;
                } else {
                    raw.parse().map_err(|_| err(&data_path, format!("{h}: bad estimate `{raw}`")))?
                };
                cells.push(Cell { geo: geo.clone(), path: path.clone(), estimate });
            }
        }
    }
    Ok(cells)
}

/// An ACS table is two raw files: the estimates and the legend that labels them. Their manifest
/// records, for a state table.
pub(super) fn acs_sources(raw_dir: &Path, table: &str, title: &str) -> Result<[SourceRecord; 2]> {
    let record = |kind: &str| {
        SourceSpec {
            id: &format!("acs_2018_1yr_{}_{}", table.to_lowercase(), kind.to_lowercase()),
            path: &raw_path("state", table, kind),
            publisher: "U.S. Census Bureau, American Community Survey",
            table: &format!("{table}: {title} ({} file)", kind.to_lowercase()),
            vintage: "ACS 2018 1-year estimates, 50 states + DC",
            licence: "Public domain (U.S. federal government work)",
            carrier: "gabrieljohndusing/NCNW-Project-Datasets@8b63f3f1b5b3:data-sets/census/bystate/acs-acs1/",
        }
        .record(raw_dir)
    };
    Ok([record("DATA")?, record("LEGEND")?])
}

/// Leaf cells of a state ACS table whose paths `map` turns into (sex, age label, value);
/// rows (state, sex, age band, value, weight) for adult bands, aggregated.
pub(super) fn acs_state_sex_band_value(
    raw_dir: &Path,
    table: &str,
    map: impl Fn(&[String]) -> Option<(String, String, String)>,
) -> Result<Vec<Vec<String>>> {
    let cells = leaf_cells(raw_dir, "state", table)?;
    let mut agg: BTreeMap<(String, String, (i64, i64), String), f64> = BTreeMap::new();
    for c in cells {
        let Some((sex, age, value)) = map(&c.path) else {
            return Err(Error::Derivation {
                source_file: table.into(),
                reason: format!("unrecognised label path {:?}", c.path),
            });
        };
        let Some(range) = crate::derive::bands::age_range(&age) else {
            return Err(Error::Derivation { source_file: table.into(), reason: format!("unrecognised age `{age}`") });
        };
        if range.1 < 18 {
            continue;
        }
        *agg.entry((c.geo, sex, range, value)).or_default() += c.estimate;
    }
    // Keep the table's own order of values within a band: sort by state, sex, band start.
    let mut rows: Vec<Vec<String>> = Vec::new();
    for ((state, sex, range, value), w) in agg {
        rows.push(vec![state, sex, crate::derive::bands::band_label(range), value, format!("{w}")]);
    }
    rows.sort_by(|a, b| (&a[0], &a[1], band_start(&a[2])).cmp(&(&b[0], &b[1], band_start(&b[2]))));
    Ok(rows)
}

/// The first age of a band label ("25-34" -> 25, "65+" -> 65; 0 when there is none).
pub(super) fn band_start(label: &str) -> i64 {
    label.split(['-', '+']).next().and_then(|s| s.parse().ok()).unwrap_or(0)
}
