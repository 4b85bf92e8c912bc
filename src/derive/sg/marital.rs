//! Marital status by sex × age band, from the partial tables that exist (M810581, the resident
//! labour force by marital status, GHS 2015).

use std::collections::HashMap;
use std::path::Path;

use super::vocab::{band_index, sex_index, AGE_BANDS, MARITAL, SEXES};
use super::{number, Pack, Rows};
use crate::derive::{derr, field, read_csv, SourceSpec};
use crate::error::Result;

pub(super) const SINGLE_SHARE: SourceSpec<'static> = SourceSpec {
    id: "singstat_M810581",
    path: "singapore/marital/singstat_M810581_proportion_single_by_age_sex.csv",
    publisher: "Department of Statistics Singapore, Table Builder M810581",
    table: "Proportion single (never married) among residents by sex and age group 20-24 … 45-49 (%)",
    vintage: "Census 2020 (year 2020 of the series)",
    licence: "SingStat Table Builder terms (attribution)",
    carrier: "iannnlee/iannnlee.github.io@3ccb129798fd:M810581.csv (reshaped to long)",
};
pub(super) const MARITAL_LABOUR: SourceSpec<'static> = SourceSpec {
    id: "mom_labour_force_marital_age_sex",
    path: "datasets/sg/sources/mom/mom_resident_labour_force_by_marital_status_age_sex_2010_2015.csv",
    publisher: "Ministry of Manpower, Comprehensive Labour Force Survey, via data.gov.sg",
    table: "Resident labour force aged 15+ by marital status (single, married, widowed/divorced), age group and sex",
    vintage: "June 2015 (latest year in the file)",
    licence: "Singapore Open Data Licence",
    carrier: "cylim14/ds102-data@b01f848fbf99 (see datasets/sg/sources/PROVENANCE.md)",
};
pub(super) const MARITAL_GHS: SourceSpec<'static> = SourceSpec {
    id: "ghs2015_ct8319_marital_planning_area_sex",
    path: "datasets/sg/sources/ghs2015/ghs2015_resident-population-aged-15-years-and-over-by-planning-area-marital-status-and-sex.csv",
    publisher: "Department of Statistics Singapore, General Household Survey 2015, CT/8319",
    table: "Resident population aged 15+ by planning area, marital status (4 classes) and sex (thousands)",
    vintage: "GHS 2015",
    licence: "Singapore Open Data Licence",
    carrier: "weilu/cs5346@71d3834f6972 (see datasets/sg/sources/PROVENANCE.md)",
};

/// Writes the marital-status table and its choice.
pub(super) fn derive(raw_dir: &Path, pack: &mut Pack) -> Result<()> {
    // Marital status and education by sex × age band.
    let (marital_rows, marital_notes) = marital(raw_dir)?;
    pack.table(
        "marital_model.csv",
        &["sex", "age_band", "marital_status", "weight"],
        &marital_rows,
        &[SINGLE_SHARE.id, MARITAL_LABOUR.id, MARITAL_GHS.id],
        "Per sex and age band: the share single from M810581 (2020) for 20-49 and from the resident labour \
         force (2015) for 15-19 and 50+; the rest split married vs widowed/divorced as in the labour force of \
         that sex and band (2015); widowed vs divorced/separated split by the national ratio for that sex (GHS \
         2015). Weight = share (each sex × band sums to 1).",
    )?;
    pack.choices.push(marital_notes);
    Ok(())
}

/// Marital status shares by sex × band, and the manifest note.
fn marital(raw_dir: &Path) -> Result<(Rows, String)> {
    // Share single, 20-49 (2020).
    let path = SINGLE_SHARE.path;
    let mut single: HashMap<(usize, usize), f64> = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "year", path)? != "2020" {
            continue;
        }
        let series = field(&row, "series_path", path)?;
        let Some((ages, sex)) = series.split_once(" > ") else { continue };
        let Some(s) = sex_index(sex) else { continue };
        let Some(lo) = ages.split('-').next().and_then(|x| x.trim().parse::<u32>().ok()) else { continue };
        let Some(b) = AGE_BANDS.iter().position(|(_, l, _)| *l == lo) else { continue };
        single.insert((s, b), number(field(&row, "value", path)?) / 100.0);
    }
    // Labour force 2015: single / married / widowed_divorced by sex × band.
    let lpath = MARITAL_LABOUR.path;
    let mut labour: HashMap<(usize, usize, usize), f64> = HashMap::new();
    for row in read_csv(raw_dir, lpath)? {
        if field(&row, "year", lpath)? != "2015" {
            continue;
        }
        let Some(s) = sex_index(field(&row, "sex", lpath)?) else { continue };
        let m = match field(&row, "marital_status", lpath)? {
            "single" => 0,
            "married" => 1,
            "widowed_divorced" => 2,
            _ => continue,
        };
        let label = field(&row, "age_group", lpath)?;
        let lo: u32 =
            label.trim_end_matches("_and_over").split(['-', '_']).next().and_then(|x| x.parse().ok()).unwrap_or(0);
        let Some(b) = band_index(lo) else { continue };
        *labour.entry((s, b, m)).or_default() += number(field(&row, "labour_force", lpath)?);
    }
    // GHS 2015: widowed vs divorced/separated by sex, national.
    let gpath = MARITAL_GHS.path;
    let mut ghs: HashMap<(usize, &str), f64> = HashMap::new();
    for row in read_csv(raw_dir, gpath)? {
        // level_1 marital status, level_2 sex, level_3 `Total`, level_4 planning area (summed here).
        if field(&row, "level_3", gpath)? != "Total" {
            continue;
        }
        let Some(s) = sex_index(field(&row, "level_2", gpath)?) else { continue };
        let status = match field(&row, "level_1", gpath)? {
            "Widowed" => "Widowed",
            "Divorced/Separated" | "Divorced/ Separated" => "Divorced/Separated",
            _ => continue,
        };
        *ghs.entry((s, status)).or_default() += number(field(&row, "value", gpath)?);
    }
    let mut rows = Vec::new();
    for (s, sex) in SEXES.iter().enumerate() {
        let (w, d) = (
            ghs.get(&(s, "Widowed")).copied().unwrap_or(0.0),
            ghs.get(&(s, "Divorced/Separated")).copied().unwrap_or(0.0),
        );
        if w + d <= 0.0 {
            return Err(derr(gpath, format!("no national widowed and divorced counts for {sex}")));
        }
        let widowed_share = w / (w + d);
        for (b, (band, _, _)) in AGE_BANDS.iter().enumerate() {
            let lf: Vec<f64> = (0..3).map(|m| labour.get(&(s, b, m)).copied().unwrap_or(0.0)).collect();
            let lf_total: f64 = lf.iter().sum();
            if lf_total <= 0.0 {
                return Err(derr(lpath, format!("no 2015 labour force for {sex} {band}")));
            }
            let p_single = single.get(&(s, b)).copied().unwrap_or(lf[0] / lf_total);
            let not_single = lf[1] + lf[2];
            let p_married = if not_single > 0.0 { (1.0 - p_single) * lf[1] / not_single } else { 1.0 - p_single };
            let p_wd = 1.0 - p_single - p_married;
            let shares = [p_single, p_married, p_wd * widowed_share, p_wd * (1.0 - widowed_share)];
            for (m, status) in MARITAL.iter().enumerate() {
                if shares[m] > 0.0 {
                    rows.push(vec![sex.to_string(), band.to_string(), status.to_string(), format!("{:.5}", shares[m])]);
                }
            }
        }
    }
    let note = "Marital status: no table of the whole resident population by marital status, sex and age was found. \
                The share single is Census 2020's (M810581) for ages 20-49; for 15-19 and 50+ it is the resident \
                labour force's (2015), which understates widowhood among older women, who are mostly outside the \
                labour force. Married vs widowed/divorced follows the labour force by sex and age (2015), and \
                widowed vs divorced/separated the national ratio for each sex (GHS 2015), the same at every age."
        .to_string();
    Ok((rows, note))
}
