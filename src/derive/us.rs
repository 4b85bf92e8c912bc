//! Derivation of the US pack from US Census Bureau files.

use std::collections::BTreeMap;
use std::path::Path;

use super::{source, write_manifest, write_table, DeriveReport, Manifest};
use crate::error::{Error, Result};

/// (FIPS code, USPS abbreviation) of the 50 states and DC.
pub const STATES: &[(u32, &str)] = &[
    (1, "AL"), (2, "AK"), (4, "AZ"), (5, "AR"), (6, "CA"), (8, "CO"), (9, "CT"), (10, "DE"), (11, "DC"),
    (12, "FL"), (13, "GA"), (15, "HI"), (16, "ID"), (17, "IL"), (18, "IN"), (19, "IA"), (20, "KS"),
    (21, "KY"), (22, "LA"), (23, "ME"), (24, "MD"), (25, "MA"), (26, "MI"), (27, "MN"), (28, "MS"),
    (29, "MO"), (30, "MT"), (31, "NE"), (32, "NV"), (33, "NH"), (34, "NJ"), (35, "NM"), (36, "NY"),
    (37, "NC"), (38, "ND"), (39, "OH"), (40, "OK"), (41, "OR"), (42, "PA"), (44, "RI"), (45, "SC"),
    (46, "SD"), (47, "TN"), (48, "TX"), (49, "UT"), (50, "VT"), (51, "VA"), (53, "WA"), (54, "WV"),
    (55, "WI"), (56, "WY"),
];

/// Oldest age the open-ended "85+" group is spread to.
pub const MAX_AGE: u32 = 104;

const POP_PATH: &str = "usa/population/sc-est2021-agesex-civ.csv";

/// Share of the 85+ population at each age 85..=MAX_AGE: person-years of a stationary
/// population under Gompertz mortality q(x) = 0.066·e^{0.1(x−85)} (close to recent US period
/// life tables at these ages). The census file has no single years past 85.
pub fn oldest_old_shares() -> Vec<f64> {
    let mut alive = 1.0f64;
    let mut years = Vec::new();
    for x in 85..=MAX_AGE {
        let q = (0.066 * (0.1 * (x as f64 - 85.0)).exp()).min(1.0);
        years.push(alive * (1.0 - q / 2.0));
        alive *= 1.0 - q;
    }
    let total: f64 = years.iter().sum();
    years.iter().map(|y| y / total).collect()
}

/// Derives `datasets/us/` from the raw data directory.
pub fn derive(raw_dir: &Path, out_dir: &Path) -> Result<DeriveReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    let mut sources = Vec::new();
    let mut tables = Vec::new();
    let pop_source = source(
        raw_dir,
        "census_pep_v2021_state_sex_age_civ",
        POP_PATH,
        "U.S. Census Bureau, Population Estimates Program",
        "SC-EST2021-AGESEX-CIV: civilian population by state, sex and single year of age",
        "Vintage 2021 estimates for July 1, 2021 (column POPEST2021_CIV)",
        "Public domain (U.S. federal government work)",
        "mckeont/TEDSA@2c47a6cc8e0c:sc-est2021-agesex-civ.csv",
    )?;
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
            source(
                raw_dir,
                &format!("acs_2018_1yr_{}_{}", table.to_lowercase(), kind.to_lowercase()),
                &super::acs::raw_path("state", table, kind),
                "U.S. Census Bureau, American Community Survey",
                &format!("{table}: {title} ({} file)", kind.to_lowercase()),
                "ACS 2018 1-year estimates, 50 states + DC",
                "Public domain (U.S. federal government work)",
                "gabrieljohndusing/NCNW-Project-Datasets@8b63f3f1b5b3:data-sets/census/bystate/acs-acs1/",
            )
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
    tables.push(write_table(
        out_dir,
        "education_model.csv",
        &["state", "sex", "age_edu", "education_level", "weight"],
        &split_young_education(&published, &population),
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
        ],
    };
    write_manifest(out_dir, &manifest)?;
    Ok(DeriveReport { out_dir: out_dir.into(), tables })
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
    for c in super::acs::leaf_cells(raw_dir, "state", "B03002")? {
        let (Some(origin), Some(race)) = (c.path.first(), c.path.get(1)) else { continue };
        let entry = by_origin.entry((c.geo.clone(), race.clone())).or_default();
        match origin.as_str() {
            "Not Hispanic or Latino" => entry.0 += c.estimate,
            "Hispanic or Latino" => entry.1 += c.estimate,
            _ => {}
        }
    }
    let nh_share = |state: &str, race: &str| {
        by_origin.get(&(state.to_string(), race.to_string())).map(|(nh, h)| if nh + h > 0.0 { nh / (nh + h) } else { 0.0 })
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
        for c in super::acs::leaf_cells(raw_dir, "state", table)? {
            let [sex, age] = c.path.as_slice() else {
                return Err(Error::Derivation { source_file: table.to_string(), reason: format!("unexpected path {:?}", c.path) });
            };
            let Some(range) = super::acs::age_range(age) else {
                return Err(Error::Derivation { source_file: table.to_string(), reason: format!("unrecognised age `{age}`") });
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
            vec![state, sex, super::acs::band_label(range), group.to_string(), format!("{w:.3}")]
        })
        .collect();
    rows.sort_by(|a, b| (&a[0], &a[1], band_start(&a[2])).cmp(&(&b[0], &b[1], band_start(&b[2]))));
    Ok(rows)
}

/// Persons by (state, sex, single year of age).
type Population = BTreeMap<(String, String, i64), f64>;

/// Minimum ages for degrees (structural zeros at younger ages).
pub const MIN_AGE_ASSOCIATES: i64 = 19;
pub const MIN_AGE_BACHELORS: i64 = 20;
pub const MIN_AGE_GRADUATE: i64 = 22;

/// Leaf cells of a state ACS table whose paths `map` turns into (sex, age label, value);
/// rows (state, sex, age band, value, weight) for adult bands, aggregated.
fn acs_state_sex_band_value(
    raw_dir: &Path,
    table: &str,
    map: impl Fn(&[String]) -> Option<(String, String, String)>,
) -> Result<Vec<Vec<String>>> {
    let cells = super::acs::leaf_cells(raw_dir, "state", table)?;
    let mut agg: BTreeMap<(String, String, (i64, i64), String), f64> = BTreeMap::new();
    for c in cells {
        let Some((sex, age, value)) = map(&c.path) else {
            return Err(Error::Derivation {
                source_file: table.into(),
                reason: format!("unrecognised label path {:?}", c.path),
            });
        };
        let Some(range) = super::acs::age_range(&age) else {
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
        rows.push(vec![state, sex, super::acs::band_label(range), value, format!("{w}")]);
    }
    rows.sort_by(|a, b| (&a[0], &a[1], band_start(&a[2])).cmp(&(&b[0], &b[1], band_start(&b[2]))));
    Ok(rows)
}

fn band_start(label: &str) -> i64 {
    label.split(['-', '+']).next().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Nemotron-Personas education codes for B15001 labels, in ascending order.
pub const EDUCATION: &[&str] =
    &["less_than_9th", "9th_12th_no_diploma", "high_school", "some_college", "associates", "bachelors", "graduate"];

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
        let seed: Vec<f64> = ages
            .iter()
            .flat_map(|a| EDUCATION.iter().map(move |e| if *a >= min_age(e) { 1.0 } else { 0.0 }))
            .collect();
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
                        out.push(vec![state.clone(), sex.clone(), band.into(), level.to_string(), field.clone(), w.clone()]);
                    }
                } else {
                    out.push(vec![state.clone(), sex.clone(), band.into(), level.to_string(), "no_degree".into(), "1".into()]);
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
        let parse = |c: usize| field(c).trim().parse::<u64>().map_err(|_| err(format!("row {}: bad number `{}`", i + 2, field(c))));
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
