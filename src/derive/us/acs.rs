//! Reading ACS detailed tables as published by the Census API: a `_DATA.csv` with one row per
//! geography and `<T>_nnnE` estimate columns, and a `_LEGEND.csv` giving each variable's label
//! path ("Estimate!!Total!!Male!!18 to 24 years!!Bachelor's degree"). We keep the leaf cells.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::vocab::STATES;
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
