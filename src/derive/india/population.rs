//! Population and age for the India pack: adults of each district by residence, sex and
//! five-year age group (C-14), the 15-19 group cut to ages 18-19 by C-08's single years, and
//! the single years within each band.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::sources::{EDUCATION_LEVEL, POPULATION};
use super::vocab::{band_of_age, residence, state_name, AGE_BANDS, MALE, MAX_AGE, MIN_AGE, SEXES, ZONES};
use super::{number, Part, Rows};
use crate::derive::{derr, field, read_csv, write_table, TableRecord};
use crate::error::Result;

/// The population family: C-14's adults by district, residence, sex and age group (its 15-19
/// group cut to ages 18-19 with C-08's single years), the single years within each band, and
/// the manifest's choice on coverage. Returns the population for the families that follow.
pub(super) fn derive(raw_dir: &Path, out_dir: &Path, c08: &[HashMap<String, String>]) -> Result<(Part, Population)> {
    let mut tables: Vec<TableRecord> = Vec::new();
    let mut choices: Vec<String> = Vec::new();
    let teen = teen_shares(c08)?;
    let population = population(raw_dir, &teen)?;
    let districts: Vec<&District> = population.districts.iter().collect();
    tables.push(write_table(
        out_dir,
        "population_district_zone_sex_age.csv",
        &["state", "district", "zone", "sex", "age_band", "weight"],
        &population.rows,
        &[POPULATION.id, EDUCATION_LEVEL.id],
        "Persons of each district by residence (Rural/Urban), sex and five-year age group, ages 18+; the \
         15-19 group scaled to ages 18-19 by the state's single-year shares of C-08 (same residence and \
         sex); `Age not stated` left out; district names from the C-14 area names; weight = persons.",
    )?);
    tables.push(write_table(
        out_dir,
        "age_model.csv",
        &["age_band", "age", "weight"],
        &age_model(c08)?,
        &[EDUCATION_LEVEL.id],
        "Single years within each band: 18 and 19 in India's C-08 proportions; 20-79 evenly within each \
         five-year band (the census' own single years heap on ages ending in 0 and 5); 80+ spread over \
         80-100 by Gompertz person-years.",
    )?);
    choices.push(format!(
        "Adults 18 and over in all {} districts of Census 2011 (35 states and union territories with \
         their 2011 boundaries: Telangana is part of Andhra Pradesh). District × residence × sex × age \
         group as C-14 counts them.",
        districts.len()
    ));
    Ok((Part { tables, choices }, population))
}

/// Shares of ages 18 and 19 within 15-19, by (state code, zone, sex): from C-08's single years.
type Teen = HashMap<(u32, usize, usize), f64>;

fn teen_shares(c08: &[HashMap<String, String>]) -> Result<Teen> {
    let path = EDUCATION_LEVEL.path;
    let mut sums: HashMap<(u32, usize, usize), [f64; 2]> = HashMap::new();
    for row in c08 {
        if field(row, "district_code", path)? != "000" {
            continue;
        }
        let Some(z) = residence(field(row, "residence", path)?) else { continue };
        let state: u32 = number(field(row, "state_code", path)?) as u32;
        let Ok(age) = field(row, "age_group", path)?.parse::<u32>() else { continue };
        if !(15..=19).contains(&age) {
            continue;
        }
        for (s, col) in ["total_males", "total_females"].iter().enumerate() {
            let v = number(field(row, col, path)?);
            let e = sums.entry((state, z, s)).or_default();
            e[0] += v;
            if age >= 18 {
                e[1] += v;
            }
        }
    }
    Ok(sums.into_iter().map(|(k, [all, adult])| (k, if all > 0.0 { adult / all } else { 0.4 })).collect())
}

pub(super) struct District {
    pub(super) code: u32,
    pub(super) state: &'static str,
    pub(super) name: String,
    /// Adults by zone.
    pub(super) adults: [f64; 2],
}

pub(super) struct Population {
    pub(super) districts: Vec<District>,
    pub(super) rows: Rows,
}

impl Population {
    /// Adults of a district by sex (both zones).
    pub(super) fn adults_by_sex(&self, code: u32) -> [f64; 2] {
        let Some(d) = self.districts.iter().find(|d| d.code == code) else { return [0.0; 2] };
        let mut out = [0.0; 2];
        for r in &self.rows {
            if r[0] == d.state && r[1] == d.name {
                let s = if r[3] == MALE { 0 } else { 1 };
                out[s] += number(&r[5]);
            }
        }
        out
    }
}

/// "District - Almora (09)" -> "Almora".
fn area_name(label: &str) -> String {
    let name = label.split_once(" - ").map(|(_, n)| n).unwrap_or(label);
    let name = match name.rfind(" (") {
        Some(i) if name.ends_with(')') => &name[..i],
        _ => name,
    };
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn population(raw_dir: &Path, teen: &Teen) -> Result<Population> {
    let path = POPULATION.path;
    let mut districts: Vec<District> = Vec::new();
    let mut rows: Rows = Vec::new();
    for row in read_csv(raw_dir, path)? {
        let code = number(field(&row, "District Code", path)?) as u32;
        if code == 0 {
            continue;
        }
        let state_code = number(field(&row, "State Code", path)?) as u32;
        let state = state_name(state_code).ok_or_else(|| derr(path, format!("unknown state code {state_code}")))?;
        let group = field(&row, "Age Group", path)?;
        let (lo, hi) = match group.split_once('-') {
            Some((a, b)) => (a.parse::<u32>().unwrap_or(0), b.parse::<u32>().unwrap_or(0)),
            None if group == "80+" => (80, MAX_AGE),
            None => continue,
        };
        if hi < MIN_AGE {
            continue;
        }
        let band = band_of_age(lo.max(MIN_AGE)).ok_or_else(|| derr(path, format!("age group {group}")))?;
        let name = area_name(field(&row, "Area Name", path)?);
        let d = match districts.iter().position(|d| d.code == code) {
            Some(i) => i,
            None => {
                districts.push(District { code, state, name: name.clone(), adults: [0.0; 2] });
                districts.len() - 1
            }
        };
        for (z, zone) in ZONES.iter().enumerate() {
            for (s, sex) in SEXES.iter().enumerate() {
                let col = format!("{} {}", zone, if s == 0 { "Males" } else { "Females" });
                let mut v = number(field(&row, &col, path)?);
                if lo < MIN_AGE {
                    v *= teen.get(&(state_code, z, s)).copied().unwrap_or(0.4);
                }
                if v <= 0.0 {
                    continue;
                }
                districts[d].adults[z] += v;
                rows.push(vec![
                    state.to_string(),
                    name.clone(),
                    zone.to_string(),
                    sex.to_string(),
                    AGE_BANDS[band].0.to_string(),
                    format!("{v:.1}"),
                ]);
            }
        }
    }
    if districts.len() < 600 {
        return Err(derr(path, format!("expected the 640 districts of 2011, found {}", districts.len())));
    }
    // District names repeat across states (Aurangabad, Bilaspur, Hamirpur, Pratapgarh), never
    // within one: the model keys districts by state.
    let mut seen = HashSet::new();
    for d in &districts {
        if !seen.insert((d.state, d.name.clone())) {
            return Err(derr(path, format!("district `{}` twice in {}", d.name, d.state)));
        }
    }
    Ok(Population { districts, rows })
}

fn age_model(c08: &[HashMap<String, String>]) -> Result<Rows> {
    let path = EDUCATION_LEVEL.path;
    let mut teen = [0.0f64; 2];
    for row in c08 {
        if field(row, "state_code", path)? != "00" || field(row, "residence", path)? != "Total" {
            continue;
        }
        match field(row, "age_group", path)? {
            "18" => teen[0] += number(field(row, "total_persons", path)?),
            "19" => teen[1] += number(field(row, "total_persons", path)?),
            _ => {}
        }
    }
    if teen[0] <= 0.0 || teen[1] <= 0.0 {
        return Err(derr(path, "no India rows for ages 18 and 19"));
    }
    let mut rows = vec![
        vec!["18-19".to_string(), "18".to_string(), format!("{:.0}", teen[0])],
        vec!["18-19".to_string(), "19".to_string(), format!("{:.0}", teen[1])],
    ];
    for (band, lo, hi) in &AGE_BANDS[1..AGE_BANDS.len() - 1] {
        for age in *lo..=*hi {
            rows.push(vec![band.to_string(), age.to_string(), "1".to_string()]);
        }
    }
    let old = crate::derive::old_age_shares(80, MAX_AGE);
    for (i, share) in old.iter().enumerate() {
        rows.push(vec!["80+".to_string(), (80 + i).to_string(), format!("{:.6}", share)]);
    }
    Ok(rows)
}
