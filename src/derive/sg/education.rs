//! Highest qualification by sex × age band: employed residents by five groups (MOM LFR 2024,
//! table G4) split into SingStat's eight by the national shares within each (GHS 2015).

use std::collections::HashMap;
use std::path::Path;

use super::vocab::{band_index, earliest_age, school_bands, sex_index, AGE_BANDS, EDUCATION, SEXES};
use super::{number, Pack, Rows};
use crate::derive::{derr, field, read_csv, SourceSpec};
use crate::error::Result;

pub(super) const EDUCATION_EMPLOYED: SourceSpec<'static> = SourceSpec {
    id: "mom_lfr2024_g4_hqa_age_sex",
    path: "datasets/sg/sources/mom/mom_lfr2024_G4_G5_G7_employed_residents_long.csv",
    publisher: "Ministry of Manpower, Labour Force in Singapore 2024, Section G, table G4",
    table: "Employed residents aged 15+ by highest qualification attained (5 groups), age group and sex (thousands)",
    vintage: "June 2024",
    licence: "Singapore Open Data Licence",
    carrier:
        "shnannans/AAI1001-SG-Employment-Education-Butterfly-Chart@c9117b342f86 (see datasets/sg/sources/PROVENANCE.md)",
};
pub(super) const EDUCATION_GHS: SourceSpec<'static> = SourceSpec {
    id: "ghs2015_ct9141_hqa_planning_area",
    path: "datasets/sg/sources/ghs2015/ghs2015_resident-population-aged-15-years-and-over-by-planning-area-and-hqa.csv",
    publisher: "Department of Statistics Singapore, General Household Survey 2015, CT/9141",
    table: "Resident non-student population aged 15+ by planning area and highest qualification attained (8 groups)",
    vintage: "GHS 2015",
    licence: "Singapore Open Data Licence",
    carrier: "weilu/cs5346@5c2f6baf09a7 (see datasets/sg/sources/PROVENANCE.md)",
};

/// Writes the education tables and their choice.
pub(super) fn derive(raw_dir: &Path, pack: &mut Pack) -> Result<()> {
    let (education_rows, education_notes) = education(raw_dir)?;
    let school_rows = by_school_age(&education_rows)?;
    pack.table(
        "education_model.csv",
        &["sex", "age_band", "education_level", "weight"],
        &education_rows,
        &[EDUCATION_EMPLOYED.id, EDUCATION_GHS.id],
        "Employed residents by five qualification groups × sex × age band (MOM LFR 2024 table G4, 65-69 and 70+ \
         merged), each group split into SingStat's eight by the national shares within it (GHS 2015 CT/9141). \
         Weight = thousands.",
    )?;
    pack.table(
        "education_school_age.csv",
        &["sex", "school_band", "education_level", "weight"],
        &school_rows,
        &[EDUCATION_EMPLOYED.id, EDUCATION_GHS.id],
        "The education table the model draws from: education_model.csv with its two youngest bands split at the \
         ages a qualification first becomes attainable (N/O levels 16, A-level and Nitec 18, polytechnic diploma \
         19, degree 21 for women and 23 for men; no 'No Qualification' before 18, as pupils of 15-17 have passed \
         the PSLE), each finer band keeping its band's weights for the levels it \
         allows. Weight = thousands (of the whole band).",
    )?;
    pack.choices.push(education_notes);
    Ok(())
}

/// `rows` (sex, age band, level, weight) on [`school_bands`]: each school band takes the weights
/// of the age band it lies in, for the levels attainable at its youngest age.
fn by_school_age(rows: &Rows) -> Result<Rows> {
    let mut out = Vec::new();
    for sex in SEXES {
        for (band, lo, hi) in school_bands() {
            let b = band_index(lo)
                .filter(|b| hi <= AGE_BANDS[*b].2)
                .ok_or_else(|| derr(EDUCATION_EMPLOYED.path, format!("school band {band} lies in no one age band")))?;
            for row in rows.iter().filter(|r| r[0] == sex && r[1] == AGE_BANDS[b].0) {
                if earliest_age(&row[2], sex) <= lo {
                    out.push(vec![sex.to_string(), band.to_string(), row[2].clone(), row[3].clone()]);
                }
            }
        }
    }
    Ok(out)
}

/// Education shares by sex × band, and the manifest note.
fn education(raw_dir: &Path) -> Result<(Rows, String)> {
    let path = EDUCATION_EMPLOYED.path;
    let groups: Vec<&str> = {
        let mut g: Vec<&str> = Vec::new();
        for (_, group) in EDUCATION {
            if !g.contains(&group) {
                g.push(group);
            }
        }
        g
    };
    let mut g4: HashMap<(usize, usize, usize), f64> = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "table", path)? != "G4" {
            continue;
        }
        let Some(s) = sex_index(field(&row, "sex", path)?) else { continue };
        let age = field(&row, "row", path)?;
        let lo: u32 = match age.split([' ', '-', '+']).next().and_then(|x| x.parse().ok()) {
            Some(lo) => lo,
            None => continue,
        };
        let Some(b) = band_index(lo) else { continue };
        let Some(q) = groups.iter().position(|g| *g == field(&row, "column", path).unwrap_or_default()) else {
            continue;
        };
        *g4.entry((s, b, q)).or_default() += number(field(&row, "thousands", path)?);
    }
    if g4.is_empty() {
        return Err(derr(path, "no G4 rows by sex, age and qualification"));
    }
    // GHS 2015: the eight groups nationally (non-students 15+).
    let gpath = EDUCATION_GHS.path;
    let mut eight: HashMap<String, f64> = HashMap::new();
    for row in read_csv(raw_dir, gpath)? {
        // level_1 qualification, level_2 `Total`, level_3 planning area (summed here).
        if field(&row, "level_2", gpath)? != "Total" {
            continue;
        }
        *eight.entry(field(&row, "level_1", gpath)?.to_string()).or_default() += number(field(&row, "value", gpath)?);
    }
    let within: Vec<f64> = EDUCATION
        .iter()
        .map(|(level, group)| {
            let own = eight.get(*level).copied().unwrap_or(0.0);
            let all: f64 =
                EDUCATION.iter().filter(|(_, g)| g == group).map(|(l, _)| eight.get(*l).copied().unwrap_or(0.0)).sum();
            if all > 0.0 {
                own / all
            } else {
                0.0
            }
        })
        .collect();
    if within.iter().all(|w| *w == 0.0) {
        return Err(derr(
            gpath,
            format!("no national totals by qualification (found {:?})", eight.keys().collect::<Vec<_>>()),
        ));
    }
    let mut rows = Vec::new();
    for (s, sex) in SEXES.iter().enumerate() {
        for (b, (band, _, _)) in AGE_BANDS.iter().enumerate() {
            for (l, (level, group)) in EDUCATION.iter().enumerate() {
                let q = groups.iter().position(|g| g == group).unwrap_or(0);
                let mut w = g4.get(&(s, b, q)).copied().unwrap_or(0.0) * within[l];
                // No university degree before 20 (the finer ages: `by_school_age`).
                if *level == "University" && b == 0 {
                    w = 0.0;
                }
                if w > 0.0 {
                    rows.push(vec![sex.to_string(), band.to_string(), level.to_string(), format!("{w:.3}")]);
                }
            }
        }
    }
    let note = "Education: no table of the whole resident population by qualification, sex and age was found \
                (Census 2020 and M850581 were looked for). The model uses employed residents by five qualification \
                groups, sex and age (MOM, June 2024), split into SingStat's eight groups by the national shares \
                within each group (GHS 2015). People outside the labour force — most students of 15-19, \
                homemakers and retirees, many of them older women with fewer qualifications — are assumed to be \
                qualified like the employed of their sex and age, which overstates qualifications at older ages. \
                Within 15-24 a qualification is drawn only from the age the school system allows it \
                (education_school_age.csv: no A-level at 15, no degree for a man of 21), so the model's education \
                of 15-24 departs from the employed residents' margin."
        .to_string();
    Ok((rows, note))
}
