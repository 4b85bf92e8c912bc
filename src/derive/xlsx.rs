//! Reading spreadsheet inputs (BLS workbooks, the Census surname file) as rows of cells.

use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};

use super::derr;
use crate::error::Result;

/// All rows of sheet `name` (the first sheet when `None`) of the workbook at `path` under
/// `raw_dir`.
pub fn sheet(raw_dir: &Path, path: &str, name: Option<&str>) -> Result<Vec<Vec<Data>>> {
    let mut wb = open_workbook_auto(raw_dir.join(path)).map_err(|e| derr(path, e.to_string()))?;
    let sheet_name = match name {
        Some(n) => n.to_string(),
        None => wb.sheet_names().first().cloned().ok_or_else(|| derr(path, "no sheets"))?,
    };
    let range = wb.worksheet_range(&sheet_name).map_err(|e| derr(path, format!("sheet `{sheet_name}`: {e}")))?;
    Ok(range.rows().map(|r| r.to_vec()).collect())
}

/// A cell as a number (numeric strings included).
pub fn num(d: Option<&Data>) -> Option<f64> {
    match d? {
        Data::Int(i) => Some(*i as f64),
        Data::Float(f) => Some(*f),
        Data::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A cell as trimmed text, if it holds a string.
pub fn text(d: Option<&Data>) -> Option<String> {
    match d? {
        Data::String(s) => Some(s.trim().to_string()),
        _ => None,
    }
}
