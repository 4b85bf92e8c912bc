//! The labour tables of the US pack: employment status by state, sex and age (ACS B23001) and
//! its tilt by education, then the occupation tables built on the employed population — the
//! national occupation model (see `occupation`), its B24010 groups (see `groups`) and their
//! state tilt, titles for prose, and the labour force.

use std::collections::BTreeMap;
use std::path::Path;

use super::acs::{acs_sources, band_start};
use super::population::Population;
use super::vocab::{EDUCATION, STATES};
use super::{acs, groups, occupation};
use crate::derive::{write_table, SourceRecord, SourceSpec, TableRecord};
use crate::error::Result;

/// Records B23001, writes `acs_b23001_employment.csv` and returns its rows.
pub(super) fn write_employment(
    raw_dir: &Path,
    out_dir: &Path,
    sources: &mut Vec<SourceRecord>,
    tables: &mut Vec<TableRecord>,
) -> Result<Vec<Vec<String>>> {
    // Employment status: B23001 (sex × age × employment status, 16+, by state).
    let [b23001, b23001_legend] =
        acs_sources(raw_dir, "B23001", "Sex by age by employment status for the population 16 years and over")?;
    let employment = occupation::employment_rows(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "acs_b23001_employment.csv",
        &["state", "sex", "age_band", "employment_status", "weight"],
        &employment,
        &[&b23001.id, &b23001_legend.id],
        "Leaf cells of B23001 for civilians 18+ (armed forces dropped; the 16-19 band relabelled 18-19): \
         employed, unemployed, not_in_labor_force.",
    )?);
    sources.extend([b23001, b23001_legend]);
    Ok(employment)
}

/// Records the occupation sources (ACS B24115/B24116 and B24010, BLS CPS 11b and EP 5.3),
/// writes the employment model and the occupation tables, and returns the manifest's choices
/// about them (the occupation fit's notes, the occupation groups, employment by education).
pub(super) fn write_occupation(
    raw_dir: &Path,
    out_dir: &Path,
    population: &Population,
    education_rows: &[Vec<String>],
    employment: &[Vec<String>],
    sources: &mut Vec<SourceRecord>,
    tables: &mut Vec<TableRecord>,
) -> Result<Vec<String>> {
    // Occupation: national detailed tables fitted to the employed population of this pack.
    let occupation_data = occupation::load(raw_dir)?;
    let people = population_by_education(population, education_rows);
    let (employment_rows, employment_note) =
        employment_model(employment, &people, occupation_data.workers_by_education());
    tables.push(write_table(
        out_dir,
        "employment_model.csv",
        &["state", "sex", "age_band", "education_level", "employment_status", "weight"],
        &employment_rows,
        &["acs_2018_1yr_b23001_data", "acs_2018_1yr_b23001_legend", "acs_2018_1yr_b15001_data", "census_pep_v2021_state_sex_age_civ", "bls_ep_2019_table_5_3", "bls_cps_2025_table_11b"],
        "P(employment status | state, sex, B23001 age band, education): B23001 band shares tilted by education (see choices).",
    )?);
    let employed_by_state = employed_population(&people, &employment_rows);
    let mut employed = occupation::EmployedPopulation::new();
    for ((_, sex, age, level), w) in &employed_by_state {
        *employed.entry((sex.clone(), *age, level.clone())).or_default() += w;
    }
    let groups = groups::load(raw_dir, &occupation_data.titles_with_counts())?;
    let group_codes: Vec<String> =
        groups.of_occupation.iter().map(|g| occupation::occupation_code(&groups.names[*g])).collect();
    let mut occupation_ids: Vec<String> = Vec::new();
    for (table, title) in [
        ("B24115", "Detailed occupation for the civilian employed male population 16 years and over"),
        ("B24116", "Detailed occupation for the civilian employed female population 16 years and over"),
    ] {
        let record = |kind: &str| {
            SourceSpec {
                id: &format!("acs_2018_1yr_{}_{}", table.to_lowercase(), kind.to_lowercase()),
                path: &acs::raw_path("national", table, kind),
                publisher: "U.S. Census Bureau, American Community Survey",
                table: &format!("{table}: {title} ({} file)", kind.to_lowercase()),
                vintage: "ACS 2018 1-year estimates, United States",
                licence: "Public domain (U.S. federal government work)",
                carrier: "gabrieljohndusing/NCNW-Project-Datasets@8b63f3f1b5b3:data-sets/census/us/acs-acs1/",
            }
            .record(raw_dir)
        };
        for kind in ["DATA", "LEGEND"] {
            let r = record(kind)?;
            occupation_ids.push(r.id.clone());
            sources.push(r);
        }
    }
    let cps = SourceSpec {
        id: "bls_cps_2025_table_11b",
        path: occupation::CPS_PATH,
        publisher: "U.S. Bureau of Labor Statistics, Current Population Survey",
        table: "Table 11b: employed persons by detailed occupation and age",
        vintage: "2025 annual averages",
        licence: "Public domain (U.S. federal government work)",
        carrier: "yechansota/Skill-Distance-Explorer@22f66cd4da90:cpsaat11b.xlsx",
    }
    .record(raw_dir)?;
    let ep = SourceSpec {
        id: "bls_ep_2019_table_5_3",
        path: occupation::EP_PATH,
        publisher: "U.S. Bureau of Labor Statistics, Employment Projections",
        table: "Table 5.3: educational attainment for workers 25 years and older by detailed occupation",
        vintage: "2019 (Employment Projections 2019-29)",
        licence: "Public domain (U.S. federal government work)",
        carrier: "NassarNa/OccupyEvolution@5e0d501bfb34:occupation.xlsx",
    }
    .record(raw_dir)?;
    let occ = occupation_data.fit(&employed, &group_codes)?;
    let acs_ids: Vec<&str> = occupation_ids.iter().map(String::as_str).collect();
    tables.push(write_table(
        out_dir,
        "acs_b2411x_occupation_sex.csv",
        &["sex", "occupation", "weight"],
        &occ.by_sex,
        &acs_ids,
        "Leaf cells of B24115 (male) and B24116 (female), national; titles as snake_case codes.",
    )?);
    tables.push(write_table(
        out_dir,
        "cps_11b_occupation_age.csv",
        &["age_band", "occupation", "weight"],
        &occ.by_age,
        &[&acs_ids[0], &acs_ids[2], &cps.id],
        "Per ACS occupation: B24115+B24116 total × the CPS 11b age shares of the matching title (see choices).",
    )?);
    tables.push(write_table(
        out_dir,
        "ep_5_3_occupation_education.csv",
        &["education_level", "occupation", "weight"],
        &occ.by_education,
        &[&acs_ids[0], &acs_ids[2], &cps.id, &ep.id],
        "Per ACS occupation: employed 25+ (ACS total × CPS 25+ share) × the EP 5.3 attainment shares of the matching \
         title, zero below the licensing floor of the 22 occupations the choices list (the rest scaled up); the \
         less-than-high-school group repeated for both of our levels below high school.",
    )?);
    let mut model_ids = acs_ids.clone();
    model_ids.extend([cps.id.as_str(), ep.id.as_str(), "census_pep_v2021_state_sex_age_civ"]);
    let [b24010, b24010_legend] =
        acs_sources(raw_dir, "B24010", "Sex by occupation for the civilian employed population 16 years and over")?;
    let national_b24010 = |kind: &str| {
        SourceSpec {
            id: &format!("acs_2018_1yr_b24010_national_{}", kind.to_lowercase()),
            path: &acs::raw_path("national", "B24010", kind),
            publisher: "U.S. Census Bureau, American Community Survey",
            table: &format!(
                "B24010: Sex by occupation for the civilian employed population 16 years and over ({} file)",
                kind.to_lowercase()
            ),
            vintage: "ACS 2018 1-year estimates, United States",
            licence: "Public domain (U.S. federal government work)",
            carrier: "gabrieljohndusing/NCNW-Project-Datasets@8b63f3f1b5b3:data-sets/census/us/acs-acs1/",
        }
        .record(raw_dir)
    };
    let (b24010_us, b24010_us_legend) = (national_b24010("DATA")?, national_b24010("LEGEND")?);
    model_ids.extend([b24010_us.id.as_str(), b24010_us_legend.id.as_str()]);
    tables.push(write_table(
        out_dir,
        "occupation_model.csv",
        &["sex", "age_occ", "education_level", "labor_force", "occupation_group", "occupation", "weight"],
        &occ.model,
        &model_ids,
        "P(occupation | sex, age band, education, in/out of the labour force) from an IPF fit, with each occupation's \
         B24010 group (see choices). Summed over occupations it is the national P(group | ...) the state tilt multiplies.",
    )?);
    // The state tilt of occupation groups (B24010 by state).
    let group_index: BTreeMap<String, usize> =
        groups.names.iter().enumerate().map(|(g, n)| (occupation::occupation_code(n), g)).collect();
    let mut national_groups: BTreeMap<(String, String, String), Vec<f64>> = BTreeMap::new();
    for r in occ.model.iter().filter(|r| r[3] == "in") {
        let Some(g) = group_index.get(&r[4]) else { continue };
        let row = national_groups
            .entry((r[0].clone(), r[1].clone(), r[2].clone()))
            .or_insert_with(|| vec![0.0; groups.names.len()]);
        row[*g] += r[6].parse::<f64>().unwrap_or(0.0);
    }
    let mut employed_bands: BTreeMap<(String, String, String, String), f64> = BTreeMap::new();
    for ((state, sex, age, level), w) in &employed_by_state {
        if let Some((band, _, _)) = occupation::OCC_BANDS.iter().find(|(_, lo, hi)| lo <= age && age <= hi) {
            *employed_bands.entry((state.clone(), sex.clone(), band.to_string(), level.clone())).or_default() += w;
        }
    }
    let (mut tilt_rows, tilt_tvd) = groups::fit_tilt(&groups, &national_groups, &employed_bands);
    for (_, state) in STATES {
        for sex in ["Male", "Female"] {
            tilt_rows.push(vec![state.to_string(), sex.into(), occupation::NOT_IN_WORKFORCE.into(), "1".into()]);
        }
    }
    let b24010_ids =
        [b24010.id.as_str(), b24010_legend.id.as_str(), b24010_us.id.as_str(), b24010_us_legend.id.as_str()];
    tables.push(write_table(
        out_dir,
        "occupation_group_tilt.csv",
        &["state", "sex", "occupation_group", "weight"],
        &tilt_rows,
        &[&b24010_ids[..], &model_ids[..]].concat(),
        "Factor t(state, sex, occupation group) multiplied into the national P(group | sex, age band, education) so each \
         state's employed persons reproduce B24010's group shares (see choices); not_in_workforce weighs 1.",
    )?);
    let mut b24010_rows = Vec::new();
    for ((state, sex), counts) in &groups.by_state {
        for (g, persons) in counts.iter().enumerate() {
            b24010_rows.push(vec![
                state.clone(),
                sex.clone(),
                occupation::occupation_code(&groups.names[g]),
                format!("{persons}"),
            ]);
        }
    }
    tables.push(write_table(
        out_dir,
        "acs_b24010_occupation_group.csv",
        &["state", "sex", "occupation_group", "weight"],
        &b24010_rows,
        &b24010_ids[..2],
        "Leaf cells of B24010 by state (about 115 occupation groups per sex), civilian employed 16+; labels as snake_case codes.",
    )?);
    // Occupation titles for prose: code, group, the group's B24010 ancestors, singular title.
    let title_rows: Vec<Vec<String>> = occupation_data
        .titles_with_counts()
        .iter()
        .zip(&groups.of_occupation)
        .map(|((title, _), g)| {
            let path: Vec<String> = groups.ancestors[*g]
                .iter()
                .chain(std::iter::once(&groups.names[*g]))
                .map(|a| occupation::occupation_code(a))
                .collect();
            vec![
                occupation::occupation_code(title),
                occupation::occupation_code(&groups.names[*g]),
                path.join("/"),
                groups::singular_title(title),
            ]
        })
        .collect();
    tables.push(write_table(
        out_dir,
        "occupation_titles.csv",
        &["occupation", "occupation_group", "group_path", "title"],
        &title_rows,
        &[&acs_ids[0], &acs_ids[1], b24010_ids[2], b24010_ids[3]],
        "Per detailed occupation: its B24010 group, the group's place in B24010's hierarchy (codes, outermost first) and a \
         singular title for prose (rule: the part before the first comma when it ends in a plural, else the whole \
         title; lower case; 'X of Y' and 'X and Y' where X names people take X singular; else the last word made \
         singular). Read by the template narrator.",
    )?);
    let group_note = format!(
        "Occupation by state: B24010 gives {} occupation groups by state and sex (no detailed occupations by state). Each of \
         the 565 detailed occupations belongs to one group, found from the national counts: B24010's group totals are exact \
         sums of B24115/B24116's detailed counts for both sexes (same survey and universe), so where the two lists' running \
         totals meet a segment ends, and inside a segment each group takes the subset of occupations whose male and female \
         counts sum exactly to its own (titles sharing words preferred); all {} groups are matched exactly. The occupation \
         node is then two nodes: occupation_group ~ P(group | sex, age band, education, labour force) × t(state, sex, group) \
         (a factor table), with t fitted by iterative scaling (200 sweeps) to each state's employed persons by sex, age band \
         and education so the state's group shares are B24010's, moved nationally halfway (geometric mean) towards the \
         untilted model's group shares by sex, because CPS 11b and EP 5.3 disagree with B24010's national group totals and \
         the halfway point keeps every source table under 0.01 mean TVD (largest TVD left against those targets in any \
         state × sex: {tilt_tvd:.2e}); and \
         occupation ~ P(occupation | group, sex, age band, education), the national fit restricted to the group. The \
         unemployed draw like the employed. Groups B24010 reports as zero in a state and sex (small samples) are zero there.",
        groups.names.len(),
        groups.names.len()
    );
    sources.extend([b24010, b24010_legend, b24010_us, b24010_us_legend]);
    tables.push(write_table(
        out_dir,
        "labor_force.csv",
        &["employment_status", "labor_force", "weight"],
        &[["employed", "in", "1"], ["unemployed", "in", "1"], ["not_in_labor_force", "out", "1"]]
            .map(|r| r.map(String::from).to_vec()),
        &[],
        "Deterministic: employed and unemployed are in the labour force (BLS definition).",
    )?);
    sources.extend([cps, ep]);
    Ok(occ.notes.into_iter().chain(std::iter::once(group_note)).chain([employment_note]).collect())
}

/// The range of a band label; an unparsable label gets an empty range (matches no age).
fn band_range(label: &str) -> (i64, i64) {
    crate::derive::bands::parse_band_label(label).unwrap_or((0, -1))
}

/// Persons by (state, sex, single year of age, education level): PEP × P(level | state, sex, band).
fn population_by_education(
    population: &Population,
    education: &[Vec<String>],
) -> BTreeMap<(String, String, i64, String), f64> {
    let mut edu: BTreeMap<(String, String, (i64, i64)), Vec<(String, f64)>> = BTreeMap::new();
    for r in education {
        let w: f64 = r[4].parse().unwrap_or(0.0);
        edu.entry((r[0].clone(), r[1].clone(), band_range(&r[2]))).or_default().push((r[3].clone(), w));
    }
    let mut out = BTreeMap::new();
    for ((state, sex, age), persons) in population {
        let key = edu.keys().find(|(s, x, (lo, hi))| s == state && x == sex && lo <= age && age <= hi).cloned();
        let Some(key) = key else { continue };
        let levels = &edu[&key];
        let total: f64 = levels.iter().map(|(_, w)| w).sum();
        for (level, w) in levels.iter().filter(|_| total > 0.0) {
            *out.entry((state.clone(), sex.clone(), *age, level.clone())).or_default() += persons * w / total;
        }
    }
    out
}

/// The employment model P(status | state, sex, B23001 band, education) and its note.
///
/// B23001 gives employment by state, sex and age but not by education; workers by education
/// come from the occupation tables (EP 5.3 shares × ACS occupation totals, 25+). Employment
/// odds by education relative to all adults 25+ nationally give an odds ratio per level; in
/// each state × sex × band the base odds are solved (bisection) so the band's employed share
/// stays B23001's exactly. The unemployed / not-in-labour-force split of the rest is the band's.
fn employment_model(
    employment: &[Vec<String>],
    people: &BTreeMap<(String, String, i64, String), f64>,
    workers_by_group: [f64; 6],
) -> (Vec<Vec<String>>, String) {
    let mut bands: BTreeMap<(String, String, String), [f64; 3]> = BTreeMap::new();
    for r in employment {
        let w: f64 = r[4].parse().unwrap_or(0.0);
        let i = match r[3].as_str() {
            "employed" => 0,
            "unemployed" => 1,
            _ => 2,
        };
        bands.entry((r[0].clone(), r[1].clone(), r[2].clone())).or_default()[i] += w;
    }
    let band_of = |state: &str, sex: &str, age: i64| {
        bands.keys().find(|(s, x, b)| {
            s == state && x == sex && {
                let (lo, hi) = band_range(b);
                lo <= age && age <= hi
            }
        })
    };
    // National employment rate by attainment group among persons 25+.
    let mut pop_group = [0.0f64; 6];
    let mut employed_25 = 0.0;
    let mut band_people: BTreeMap<(String, String, String), BTreeMap<String, f64>> = BTreeMap::new();
    for ((state, sex, age, level), persons) in people {
        let Some(key) = band_of(state, sex, *age) else { continue };
        let [e, u, n] = bands[key];
        *band_people.entry(key.clone()).or_default().entry(level.clone()).or_default() += persons;
        if *age >= 25 {
            pop_group[occupation::education_group(level)] += persons;
            employed_25 += persons * e / (e + u + n).max(1.0);
        }
    }
    let workers_total: f64 = workers_by_group.iter().sum();
    let pop_25: f64 = pop_group.iter().sum();
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    let overall = employed_25 / pop_25;
    let rates: Vec<f64> = (0..6)
        .map(|g| (workers_by_group[g] / workers_total * employed_25 / pop_group[g].max(1.0)).clamp(0.02, 0.98))
        .collect();
    let log_or: Vec<f64> = rates.iter().map(|r| logit(*r) - logit(overall)).collect();
    let mut rows = Vec::new();
    for ((state, sex, band), [e, u, n]) in &bands {
        let total = e + u + n;
        let target = if total > 0.0 { e / total } else { 0.0 };
        let levels = band_people.get(&(state.clone(), sex.clone(), band.clone())).cloned().unwrap_or_default();
        let mass: f64 = levels.values().sum();
        let share = |beta: f64| -> f64 {
            levels.iter().map(|(l, p)| p * sigmoid(beta + log_or[occupation::education_group(l)])).sum::<f64>()
                / mass.max(1e-12)
        };
        let (mut lo, mut hi) = (-40.0f64, 40.0f64);
        for _ in 0..100 {
            let mid = (lo + hi) / 2.0;
            if share(mid) < target {
                lo = mid
            } else {
                hi = mid
            }
        }
        let beta = (lo + hi) / 2.0;
        let not_employed = u + n;
        for level in EDUCATION {
            let p_emp = if target <= 0.0 {
                0.0
            } else if target >= 1.0 {
                1.0
            } else {
                sigmoid(beta + log_or[occupation::education_group(level)])
            };
            let (p_u, p_n) = if not_employed > 0.0 {
                ((1.0 - p_emp) * u / not_employed, (1.0 - p_emp) * n / not_employed)
            } else {
                (0.0, 1.0 - p_emp)
            };
            for (status, p) in [("employed", p_emp), ("unemployed", p_u), ("not_in_labor_force", p_n)] {
                rows.push(vec![
                    state.clone(),
                    sex.clone(),
                    band.clone(),
                    level.to_string(),
                    status.into(),
                    format!("{p:.6}"),
                ]);
            }
        }
    }
    rows.sort_by(|a, b| (&a[0], &a[1], band_start(&a[2])).cmp(&(&b[0], &b[1], band_start(&b[2]))));
    let note = format!(
        "Employment by education: B23001 has no education, so workers 25+ by attainment (EP 5.3 shares × ACS occupation \
         totals × CPS 25+ shares) over the persons 25+ of each attainment give national employment rates ({}); their odds \
         ratios against all adults 25+ tilt each state × sex × B23001 age band, whose base odds are solved so the band's \
         employed share stays exactly B23001's (the same ratios at every age). The unemployed / not-in-labour-force split \
         of the rest is the band's.",
        ["less than high school", "high school", "some college", "associate's", "bachelor's", "graduate"]
            .iter()
            .zip(&rates)
            .map(|(g, r)| format!("{g} {:.0}%", r * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    (rows, note)
}

/// Employed civilians by (state, sex, single year of age, education level) under the
/// employment model.
fn employed_population(
    people: &BTreeMap<(String, String, i64, String), f64>,
    model: &[Vec<String>],
) -> BTreeMap<(String, String, i64, String), f64> {
    let mut p_emp: BTreeMap<(String, String, String), Vec<((i64, i64), f64)>> = BTreeMap::new();
    for r in model.iter().filter(|r| r[4] == "employed") {
        p_emp
            .entry((r[0].clone(), r[1].clone(), r[3].clone()))
            .or_default()
            .push((band_range(&r[2]), r[5].parse().unwrap_or(0.0)));
    }
    let mut out = BTreeMap::new();
    for ((state, sex, age, level), persons) in people {
        let Some(bands) = p_emp.get(&(state.clone(), sex.clone(), level.clone())) else { continue };
        if let Some((_, p)) = bands.iter().find(|((lo, hi), _)| lo <= age && age <= hi) {
            *out.entry((state.clone(), sex.clone(), *age, level.clone())).or_default() += persons * p;
        }
    }
    out
}
