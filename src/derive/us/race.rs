//! Race and Hispanic origin of the US pack by state, sex and age band: the ACS race iterations
//! of B01001 (B01001B-I) with each race's non-Hispanic share from B03002.

use std::collections::BTreeMap;
use std::path::Path;

use super::acs::{self, acs_sources, band_start};
use crate::derive::{write_table, SourceRecord, TableRecord};
use crate::error::{Error, Result};

/// Records B01001B-I and B03002, writes `race_ethnicity_model.csv` and returns its rows.
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    sources: &mut Vec<SourceRecord>,
    tables: &mut Vec<TableRecord>,
) -> Result<Vec<Vec<String>>> {
    // Race and Hispanic origin: B01001B-I (sex × age by race, by state) and B03002 (Hispanic
    // origin by race, by state) for the non-Hispanic share of each race.
    let mut race_ids: Vec<String> = Vec::new();
    for (table, title) in RACE_TABLES.iter().chain([&("B03002", "Hispanic or Latino origin by race")]) {
        let [data, legend] = acs_sources(raw_dir, table, title)?;
        race_ids.extend([data.id.clone(), legend.id.clone()]);
        sources.extend([data, legend]);
    }
    let race_rows = race_by_state_sex_age(raw_dir)?;
    let race_id_refs: Vec<&str> = race_ids.iter().map(String::as_str).collect();
    tables.push(write_table(
        out_dir,
        "race_ethnicity_model.csv",
        &["state", "sex", "age_band", "race_ethnicity", "weight"],
        &race_rows,
        &race_id_refs,
        "hispanic = B01001I; white = B01001H (white alone, not Hispanic); black, aian, asian (Asian + NHPI) \
         and other (some other race + two or more races) = the race-alone tables B01001B-G times the state's \
         non-Hispanic share of that race from B03002; ages 18+ in the tables' bands.",
    )?);
    Ok(race_rows)
}

/// The sex × age tables by race iteration 2018 ACS publishes, with titles.
const RACE_TABLES: &[(&str, &str)] = &[
    ("B01001B", "Sex by age (Black or African American alone)"),
    ("B01001C", "Sex by age (American Indian and Alaska Native alone)"),
    ("B01001D", "Sex by age (Asian alone)"),
    ("B01001E", "Sex by age (Native Hawaiian and Other Pacific Islander alone)"),
    ("B01001F", "Sex by age (Some other race alone)"),
    ("B01001G", "Sex by age (Two or more races)"),
    ("B01001H", "Sex by age (White alone, not Hispanic or Latino)"),
    ("B01001I", "Sex by age (Hispanic or Latino)"),
];

/// (state, sex, age band, race_ethnicity, persons) for adults.
fn race_by_state_sex_age(raw_dir: &Path) -> Result<Vec<Vec<String>>> {
    // Non-Hispanic share of each race alone (and of two or more races) per state.
    let mut by_origin: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
    for c in acs::leaf_cells(raw_dir, "state", "B03002")? {
        let (Some(origin), Some(race)) = (c.path.first(), c.path.get(1)) else { continue };
        let entry = by_origin.entry((c.geo.clone(), race.clone())).or_default();
        match origin.as_str() {
            "Not Hispanic or Latino" => entry.0 += c.estimate,
            "Hispanic or Latino" => entry.1 += c.estimate,
            _ => {}
        }
    }
    let nh_share = |state: &str, race: &str| {
        by_origin
            .get(&(state.to_string(), race.to_string()))
            .map(|(nh, h)| if nh + h > 0.0 { nh / (nh + h) } else { 0.0 })
    };
    let mut agg: BTreeMap<(String, String, (i64, i64), &'static str), f64> = BTreeMap::new();
    for (table, _) in RACE_TABLES {
        let (group, race_label): (&'static str, Option<&str>) = match *table {
            "B01001B" => ("black", Some("Black or African American alone")),
            "B01001C" => ("aian", Some("American Indian and Alaska Native alone")),
            "B01001D" => ("asian", Some("Asian alone")),
            "B01001E" => ("asian", Some("Native Hawaiian and Other Pacific Islander alone")),
            "B01001F" => ("other", Some("Some other race alone")),
            "B01001G" => ("other", Some("Two or more races")),
            "B01001H" => ("white", None),
            _ => ("hispanic", None),
        };
        for c in acs::leaf_cells(raw_dir, "state", table)? {
            let [sex, age] = c.path.as_slice() else {
                return Err(Error::Derivation {
                    source_file: table.to_string(),
                    reason: format!("unexpected path {:?}", c.path),
                });
            };
            let Some(range) = crate::derive::bands::age_range(age) else {
                return Err(Error::Derivation {
                    source_file: table.to_string(),
                    reason: format!("unrecognised age `{age}`"),
                });
            };
            if range.1 < 18 {
                continue;
            }
            let share = match race_label {
                Some(r) => nh_share(&c.geo, r).ok_or_else(|| Error::Derivation {
                    source_file: "B03002".into(),
                    reason: format!("no `{r}` row for {}", c.geo),
                })?,
                None => 1.0,
            };
            *agg.entry((c.geo.clone(), sex.clone(), range, group)).or_default() += c.estimate * share;
        }
    }
    let mut rows: Vec<Vec<String>> = agg
        .into_iter()
        .map(|((state, sex, range, group), w)| {
            vec![state, sex, crate::derive::bands::band_label(range), group.to_string(), format!("{w:.3}")]
        })
        .collect();
    rows.sort_by(|a, b| (&a[0], &a[1], band_start(&a[2])).cmp(&(&b[0], &b[1], band_start(&b[2]))));
    Ok(rows)
}
