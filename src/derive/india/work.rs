//! Work for the India pack: who works (PCA workers by district and sex), what non-workers do
//! (a rule), which occupation workers hold (PCA and B-24 NCO-2004 sub-divisions by district),
//! and which occupations each education level admits (a rule fitted per state by IPF).

use std::collections::HashMap;
use std::path::Path;

use super::population::{District, Population};
use super::sources::{DISTRICTS, EDUCATION_LEVEL, OCCUPATION, POPULATION};
use super::vocab::{AGE_BANDS, EDUCATION, FEMALE, MARITAL, SEXES, STATES};
use super::{name_case, number, Part, Rows};
use crate::derive::{derr, field, read_csv, write_table, TableRecord};
use crate::error::Result;

/// The labour family: the share working by district and sex (PCA), the activity rule, the
/// occupation mix by district (PCA and B-24), the occupation × education tilt by state, the
/// occupations' divisions, and the manifest's choices on them.
pub(super) fn derive(raw_dir: &Path, out_dir: &Path, population: &Population, education_rows: &Rows) -> Result<Part> {
    let mut tables: Vec<TableRecord> = Vec::new();
    let mut choices: Vec<String> = Vec::new();
    let work = work(raw_dir, population)?;
    tables.push(write_table(
        out_dir,
        "working_model.csv",
        &["state", "district", "sex", "working", "weight"],
        &work.working,
        &[DISTRICTS.id, POPULATION.id],
        "Workers (main and marginal) of each district by sex over the district's persons 18+ of that sex \
         (capped at 0.97): weight of `Yes` = that share, `No` = the rest.",
    )?);
    tables.push(write_table(
        out_dir,
        "activity_model.csv",
        &["working", "sex", "age_band", "marital_status", "education_level", "activity", "weight"],
        &activity_rules(),
        &[],
        "A rule, not a table: workers are `Working`; non-workers 60+ `Retired`, never-married 18-24 \
         with secondary schooling or more `Student`, other women `Homemaker`, other men `Not working`.",
    )?);
    tables.push(write_table(
        out_dir,
        "occupation_model.csv",
        &["working", "state", "district", "occupation", "weight"],
        &work.occupation,
        &[DISTRICTS.id, OCCUPATION.id],
        "Workers of each district: cultivators and agricultural labourers as the PCA counts them; \
         household-industry and other workers shared out over the NCO-2004 sub-divisions of B-24 (main \
         workers; `Workers Not Reporting Any Occupations` spread pro rata); non-workers have none.",
    )?);
    let (tilt, tilt_error) = occupation_tilt(&work, education_rows);
    tables.push(write_table(
        out_dir,
        "occupation_tilt.csv",
        &["state", "education_level", "occupation", "weight"],
        &tilt,
        &[OCCUPATION.id, DISTRICTS.id, EDUCATION_LEVEL.id],
        "A factor of the occupation node by state: which education levels an occupation admits (a rule; \
         the census crosses occupation with no education: professionals need a diploma or degree; \
         technicians, associate professionals and clerks Matric/Secondary or more; legislators, \
         officials and managers literacy), fitted by IPF so that the state's occupation mix (workers, PCA \
         and B-24) and the education of its adults (C-08) both hold; weight = fitted / independent.",
    )?);
    choices.push(format!(
        "Occupation × education: the admitted combinations are fitted per state to the state's occupation \
         mix and its adults' education (the education of workers alone is not published); largest \
         relative margin error after fitting {tilt_error:.4}."
    ));
    tables.push(write_table(
        out_dir,
        "occupation_divisions.csv",
        &["occupation", "occupation_division"],
        &work.divisions,
        &[OCCUPATION.id],
        "Each occupation's NCO-2004 division as B-24 nests them (cultivators and agricultural labourers \
         are their own groups).",
    )?);
    choices.push(
        "Work: the PCA gives workers by district and sex for all ages, B-24 the NCO-2004 sub-divisions of \
         main workers by district with neither sex nor age, and no table gives work by age: the share \
         working is the district's for the person's sex whatever the age, and the occupation mix is the \
         district's whatever the sex, within the occupations the person's education admits (a rule: \
         professionals need a diploma or degree, technicians and clerks secondary school, managers \
         literacy). Non-workers are named by rule (Student, Homemaker, Retired, Not working) from age, \
         sex, marital status and education, not from a table. The occupation is the NCO-2004 \
         sub-division (no official title list was found)."
            .into(),
    );
    Ok(Part { tables, choices })
}

struct Work {
    working: Rows,
    occupation: Rows,
    divisions: Rows,
}

/// "LEGISLATORS, SENIOR OFFICIALS AND MANAGERS" -> "Legislators, Senior Officials and Managers".
fn division_case(upper: &str) -> String {
    let words: Vec<String> = upper
        .split_whitespace()
        .enumerate()
        .map(|(i, w)| {
            let lower = w.to_lowercase();
            if i > 0 && ["and", "of", "by", "&"].contains(&lower.as_str()) {
                if lower == "&" {
                    "and".into()
                } else {
                    lower
                }
            } else {
                name_case(&lower)
            }
        })
        .collect();
    words.join(" ")
}

fn work(raw_dir: &Path, population: &Population) -> Result<Work> {
    let path = OCCUPATION.path;
    // B-24 sub-division counts per district, and each sub-division's division.
    let mut b24: HashMap<u32, Vec<(String, f64)>> = HashMap::new();
    let mut divisions: Vec<(String, String)> = Vec::new();
    let mut division = String::new();
    for row in read_csv(raw_dir, path)? {
        let code = number(field(&row, "District Code", path)?) as u32;
        let label = field(&row, "Occupation", path)?.trim().to_string();
        let v = number(field(&row, "Total Main Worker (Person)", path)?);
        if label == "TOTAL" {
            continue;
        }
        if label.chars().filter(|c| c.is_alphabetic()).all(|c| c.is_uppercase()) {
            division = division_case(&label);
            continue;
        }
        if label == "Workers Not Reporting Any Occupations" {
            continue;
        }
        if !divisions.iter().any(|(o, _)| *o == label) {
            divisions.push((label.clone(), division.clone()));
        }
        b24.entry(code).or_default().push((label, v));
    }
    let path = DISTRICTS.path;
    let mut working = Rows::new();
    let mut occupation = Rows::new();
    let by_code: HashMap<u32, &District> = population.districts.iter().map(|d| (d.code, d)).collect();
    for row in read_csv(raw_dir, path)? {
        let code = number(field(&row, "DistrictCode", path)?) as u32;
        let Some(d) = by_code.get(&code) else { continue };
        let adults = population.adults_by_sex(code);
        for (s, col) in ["WorkerMale", "WorkerFemale"].iter().enumerate() {
            let workers = number(field(&row, col, path)?);
            let share = if adults[s] > 0.0 { (workers / adults[s]).min(0.97) } else { 0.0 };
            for (label, w) in [("Yes", share), ("No", 1.0 - share)] {
                if w > 0.0 {
                    working.push(vec![
                        d.state.into(),
                        d.name.clone(),
                        SEXES[s].into(),
                        label.into(),
                        format!("{w:.6}"),
                    ]);
                }
            }
        }
        let cultivators = number(field(&row, "CultivatorWorker", path)?);
        let labourers = number(field(&row, "AgriculturalWorker", path)?);
        let rest = number(field(&row, "HouseholdWorker", path)?) + number(field(&row, "OtherWorkers", path)?);
        let subs = b24.get(&code).ok_or_else(|| derr(OCCUPATION.path, format!("no district {code}")))?;
        let sub_total: f64 = subs.iter().map(|s| s.1).sum();
        for (label, v) in [("Cultivators".to_string(), cultivators), ("Agricultural Labourers".to_string(), labourers)]
        {
            if v > 0.0 {
                occupation.push(vec!["Yes".into(), d.state.into(), d.name.clone(), label, format!("{v:.0}")]);
            }
        }
        for (label, v) in subs {
            let w = if sub_total > 0.0 { rest * v / sub_total } else { 0.0 };
            if w > 0.0 {
                occupation.push(vec!["Yes".into(), d.state.into(), d.name.clone(), label.clone(), format!("{w:.1}")]);
            }
        }
        occupation.push(vec!["No".into(), d.state.into(), d.name.clone(), String::new(), "1".into()]);
    }
    let mut division_rows: Rows = divisions.into_iter().map(|(o, d)| vec![o, d]).collect();
    division_rows.push(vec!["Cultivators".into(), "Cultivators".into()]);
    division_rows.push(vec!["Agricultural Labourers".into(), "Agricultural Labourers".into()]);
    division_rows.push(vec![String::new(), String::new()]);
    Ok(Work { working, occupation, divisions: division_rows })
}

/// Education levels from Matric/Secondary up (index into [`EDUCATION`]).
fn schooled(level: &str) -> bool {
    EDUCATION.iter().position(|(l, _)| *l == level).is_some_and(|i| i >= 5)
}

/// The activity of a person from whether they work, sex, age, marital status and education.
fn activity_rules() -> Rows {
    let mut rows = Rows::new();
    for working in ["Yes", "No"] {
        for sex in SEXES {
            for (band, lo, _) in AGE_BANDS {
                for (marital, _) in MARITAL {
                    for (education, _) in EDUCATION {
                        let activity = match (working, sex) {
                            ("Yes", _) => "Working",
                            _ if lo >= 60 => "Retired",
                            _ if lo < 25 && marital == "Never married" && schooled(education) => "Student",
                            (_, FEMALE) => "Homemaker",
                            _ => "Not working",
                        };
                        rows.push(vec![
                            working.into(),
                            sex.into(),
                            band.into(),
                            marital.into(),
                            education.into(),
                            activity.into(),
                            "1".into(),
                        ]);
                    }
                }
            }
        }
    }
    rows
}

/// Whether an occupation of NCO-2004 `division` admits education level `i` (index into
/// [`EDUCATION`]): professionals need a diploma or degree, technicians, associate
/// professionals and clerks at least secondary school, managers and officials literacy.
fn admits(division: &str, i: usize) -> bool {
    match division {
        "Professionals" => i >= 7,
        "Technicians and Associate Professionals" | "Clerks" => i >= 5,
        "Legislators, Senior Officials and Managers" => i >= 1,
        _ => true,
    }
}

/// The occupation × education tilt of each state: IPF of the admitted cells to the state's
/// occupation mix and its adults' education; weight = fitted / (P(e) · P(o)). Returns the
/// rows and the largest relative margin error.
fn occupation_tilt(work: &Work, education_rows: &Rows) -> (Rows, f64) {
    let division_of: HashMap<&str, &str> = work.divisions.iter().map(|d| (d[0].as_str(), d[1].as_str())).collect();
    let mut occupations: Vec<&str> = work.divisions.iter().map(|d| d[0].as_str()).filter(|o| !o.is_empty()).collect();
    occupations.sort_unstable();
    let mut rows = Rows::new();
    let mut worst = 0.0f64;
    for (_, state) in STATES {
        let mut edu = vec![0.0f64; EDUCATION.len()];
        for r in education_rows.iter().filter(|r| r[0] == state) {
            if let Some(i) = EDUCATION.iter().position(|(l, _)| *l == r[4]) {
                edu[i] += number(&r[5]);
            }
        }
        let mut occ = vec![0.0f64; occupations.len()];
        for r in work.occupation.iter().filter(|r| r[0] == "Yes" && r[1] == state) {
            if let Ok(j) = occupations.binary_search(&r[3].as_str()) {
                occ[j] += number(&r[4]);
            }
        }
        let (e_total, o_total): (f64, f64) = (edu.iter().sum(), occ.iter().sum());
        if e_total <= 0.0 || o_total <= 0.0 {
            continue;
        }
        let pe: Vec<f64> = edu.iter().map(|v| v / e_total).collect();
        let po: Vec<f64> = occ.iter().map(|v| v / o_total).collect();
        let (n_e, n_o) = (pe.len(), po.len());
        let mut seed = vec![0.0f64; n_e * n_o];
        for i in 0..n_e {
            for (j, o) in occupations.iter().enumerate() {
                if admits(division_of.get(o).copied().unwrap_or(""), i) {
                    seed[i * n_o + j] = pe[i] * po[j];
                }
            }
        }
        let (fitted, error) = crate::derive::ipf::fit_2d(&seed, n_e, n_o, &pe, &po, 200);
        worst = worst.max(error);
        for (level, _) in EDUCATION {
            // Non-workers' empty occupation, untilted.
            rows.push(vec![state.to_string(), level.to_string(), String::new(), "1".into()]);
        }
        for i in 0..n_e {
            for (j, o) in occupations.iter().enumerate() {
                let independent = pe[i] * po[j];
                let w = fitted[i * n_o + j];
                if w > 0.0 && independent > 0.0 {
                    rows.push(vec![
                        state.to_string(),
                        EDUCATION[i].0.to_string(),
                        o.to_string(),
                        format!("{:.6}", w / independent),
                    ]);
                }
            }
        }
    }
    (rows, worst)
}
