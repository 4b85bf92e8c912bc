//! Derivation of the India pack (`in`; aliases `en_IN`, `hi_Deva_IN`, `hi_Latn_IN`) from the
//! Census of India 2011: population by district × residence × sex × age (C-14), marital status
//! by state × residence × sex × age (C-02), education by state × residence × sex × age (C-08),
//! religion by district (PCA) with its rural/urban split by state (RL-0000), mother tongue by
//! district × residence (C-16) and second and third languages given the mother tongue by state
//! and sex (C-17); surnames from SECC 2011 (state × birth year) and first names from the 2017
//! electoral rolls where they exist, else from the project's community name lists (written in
//! the manifest's choices, as every substitute is).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::{derr, field, read_csv, write_manifest, write_table, DeriveReport, Manifest, SourceSpec, TableRecord};
use crate::error::{Error, Result};

pub const MALE: &str = "Male";
pub const FEMALE: &str = "Female";
const SEXES: [&str; 2] = [MALE, FEMALE];
pub const RURAL: &str = "Rural";
pub const URBAN: &str = "Urban";
const ZONES: [&str; 2] = [RURAL, URBAN];
/// Youngest persona: adults.
pub const MIN_AGE: u32 = 18;
/// Oldest age the open-ended "80+" group is spread to.
pub const MAX_AGE: u32 = 100;
/// The age bands of every census table used (C-14, C-02, C-08), from 18.
pub const AGE_BANDS: [(&str, u32, u32); 14] = [
    ("18-19", 18, 19),
    ("20-24", 20, 24),
    ("25-29", 25, 29),
    ("30-34", 30, 34),
    ("35-39", 35, 39),
    ("40-44", 40, 44),
    ("45-49", 45, 49),
    ("50-54", 50, 54),
    ("55-59", 55, 59),
    ("60-64", 60, 64),
    ("65-69", 65, 69),
    ("70-74", 70, 74),
    ("75-79", 75, 79),
    ("80+", 80, MAX_AGE),
];
/// The census states and union territories of 2011, by state code.
pub const STATES: [(u32, &str); 35] = [
    (1, "Jammu & Kashmir"),
    (2, "Himachal Pradesh"),
    (3, "Punjab"),
    (4, "Chandigarh"),
    (5, "Uttarakhand"),
    (6, "Haryana"),
    (7, "NCT of Delhi"),
    (8, "Rajasthan"),
    (9, "Uttar Pradesh"),
    (10, "Bihar"),
    (11, "Sikkim"),
    (12, "Arunachal Pradesh"),
    (13, "Nagaland"),
    (14, "Manipur"),
    (15, "Mizoram"),
    (16, "Tripura"),
    (17, "Meghalaya"),
    (18, "Assam"),
    (19, "West Bengal"),
    (20, "Jharkhand"),
    (21, "Odisha"),
    (22, "Chhattisgarh"),
    (23, "Madhya Pradesh"),
    (24, "Gujarat"),
    (25, "Daman & Diu"),
    (26, "Dadra & Nagar Haveli"),
    (27, "Maharashtra"),
    (28, "Andhra Pradesh"),
    (29, "Karnataka"),
    (30, "Goa"),
    (31, "Lakshadweep"),
    (32, "Kerala"),
    (33, "Tamil Nadu"),
    (34, "Puducherry"),
    (35, "Andaman & Nicobar Islands"),
];
pub const MARITAL: [(&str, &str); 5] = [
    ("Never married", "never_married"),
    ("Currently married", "currently_married"),
    ("Widowed", "widowed"),
    ("Separated", "separated"),
    ("Divorced", "divorced"),
];
/// Census C-08 educational levels: (label, column stem).
pub const EDUCATION: [(&str, &str); 10] = [
    ("Illiterate", "illiterate"),
    ("Literate", "literate_without_educational_level"),
    ("Below Primary", "below_primary"),
    ("Primary", "primary"),
    ("Middle", "middle"),
    ("Matric/Secondary", "matric_secondary"),
    ("Higher Secondary", "higher_secondary_intermediate_puc_senior_secondary"),
    ("Non-Technical Diploma", "non_technical_diploma_or_certificate_not_equal_to_degree"),
    ("Technical Diploma", "technical_diploma_or_certificate_not_equal_to_degree"),
    ("Graduate & Above", "graduate_and_above"),
];
/// Religions: (label, column of the district table, label of RL-0000).
pub const RELIGIONS: [(&str, &str, &str); 8] = [
    ("Hindu", "Hindus", "Hindu"),
    ("Muslim", "Muslims", "Muslim"),
    ("Christian", "Christians", "Christian"),
    ("Sikh", "Sikhs", "Sikh"),
    ("Buddhist", "Buddhists", "Buddhist"),
    ("Jain", "Jains", "Jain"),
    ("Other religions", "OthersReligion", "Other religions and persuasions"),
    ("Religion not stated", "ReligionNotStated", "Religion not stated"),
];

const POPULATION: SourceSpec<'static> = SourceSpec {
    id: "c14",
    path: "india/census2011/census_age.csv",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 C-14: population in five-year age groups by residence and sex, districts",
    vintage: "Census 2011 (1 March 2011)",
    licence: "Government of India open data (Census of India tables)",
    carrier: "shared/data/india (see MANIFEST.md)",
};
const MARITAL_STATUS: SourceSpec<'static> = SourceSpec {
    id: "c02",
    path: "india/census2011/C02_marital_status_by_age_sex_district.csv.gz",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 C-02: marital status by age and sex, India, states and districts",
    vintage: "Census 2011",
    licence: "Government of India open data (Census of India tables)",
    carrier: "shared/data/india (see MANIFEST.md)",
};
const EDUCATION_LEVEL: SourceSpec<'static> = SourceSpec {
    id: "c08",
    path: "india/census2011/C08_education_level_by_age_sex_state.csv",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 C-08: educational level by age and sex, India and states",
    vintage: "Census 2011",
    licence: "Government of India open data (Census of India tables)",
    carrier: "shared/data/india (see MANIFEST.md)",
};
const DISTRICTS: SourceSpec<'static> = SourceSpec {
    id: "pca_districts",
    path: "india/census2011/india-districts-census-2011.csv",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 Primary Census Abstract and religion tables by district (640 districts), compiled",
    vintage: "Census 2011",
    licence: "Government of India open data (Census of India tables)",
    carrier: "shared/data/india (see MANIFEST.md)",
};
const RELIGION_STATES: SourceSpec<'static> = SourceSpec {
    id: "rl0000",
    path: "datasets/in/sources/religion/census2011_religion_PCA_RL-0000_india_states_TRU_sex.csv",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 Religion PCA RL-0000: religion by residence and sex, India and states",
    vintage: "Census 2011",
    licence: "Government of India open data (Census of India tables)",
    carrier: "GoddardGuryon/Project1@4778d50 (see datasets/in/sources/PROVENANCE.md)",
};
const MOTHER_TONGUE: SourceSpec<'static> = SourceSpec {
    id: "c16",
    path: "india/language/C16_mother_tongue_by_district.csv.gz",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 C-16: population by mother tongue, districts (language level used)",
    vintage: "Census 2011",
    licence: "Government of India open data (Census of India tables)",
    carrier: "shared/data/india (see MANIFEST.md)",
};
const BILINGUALISM: SourceSpec<'static> = SourceSpec {
    id: "c17",
    path: "india/language/C17_bilingualism_trilingualism_by_mother_tongue_state.csv.gz",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 C-17: bilingualism and trilingualism by mother tongue, states",
    vintage: "Census 2011",
    licence: "Government of India open data (Census of India tables)",
    carrier: "shared/data/india (see MANIFEST.md)",
};
const SURNAMES: SourceSpec<'static> = SourceSpec {
    id: "secc_surnames",
    path: "india/names/secc_surname_composition.parquet",
    publisher: "Socio-Economic and Caste Census 2011 (Ministry of Rural Development), parsed by the Outkast project",
    table: "Surname × state × birth year counts (cells with at least 100 records)",
    vintage: "SECC 2011",
    licence: "Harvard Dataverse doi:10.7910/DVN/LIIBNB (see the artifact's manifest)",
    carrier: "shared/data/india (see MANIFEST.md)",
};
const ROLLS_ANDHRA: SourceSpec<'static> = SourceSpec {
    id: "in_rolls_andhra",
    path: "datasets/in/sources/names/in_rolls_v1_first_name_state_birthyear_sex__andhra.csv.xz",
    publisher: "in-rolls (Sood et al.), from the 2017 electoral rolls",
    table: "First name × state × birth year counts of electors by sex (undivided Andhra Pradesh)",
    vintage: "Electoral rolls 2017",
    licence: "CC0-1.0 (Harvard Dataverse doi:10.7910/DVN/WZGJBM)",
    carrier: "PyPI naampy 0.1.0 (see datasets/in/sources/PROVENANCE.md)",
};
const ROLLS_OTHER: SourceSpec<'static> = SourceSpec {
    id: "in_rolls_other",
    path: "datasets/in/sources/names/in_rolls_v1_first_name_state_birthyear_sex__other11states.csv.xz",
    publisher: "in-rolls (Sood et al.), from the 2017 electoral rolls",
    table: "First name × state × birth year counts of electors by sex (11 smaller states and UTs)",
    vintage: "Electoral rolls 2017",
    licence: "CC0-1.0 (Harvard Dataverse doi:10.7910/DVN/WZGJBM)",
    carrier: "PyPI naampy 0.1.0 (see datasets/in/sources/PROVENANCE.md)",
};
const OCCUPATION: SourceSpec<'static> = SourceSpec {
    id: "b24",
    path: "datasets/in/sources/occupation/census2011_B24_main_workers_nco2004_by_district_persons_total.csv",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 B-24: main workers other than cultivators and agricultural labourers by NCO-2004 \
            division and sub-division, districts (persons, total residence)",
    vintage: "Census 2011",
    licence: "Government of India open data (Census of India tables)",
    carrier: "mihirs16/Census-of-India-2011-Dataset@fade0c9 (see datasets/in/sources/PROVENANCE.md)",
};
const GIVEN_LISTS: SourceSpec<'static> = SourceSpec {
    id: "given_names_by_community",
    path: "datasets/in/sources/names/given_names_by_community.csv",
    publisher: "personadb (curated language data, no counts)",
    table: "Common given names by community and sex, ranked by a writer's judgement",
    vintage: "2026",
    licence: "Apache-2.0 (this project)",
    carrier: "this repository (see datasets/in/sources/names/README_names.md)",
};
const SURNAME_LISTS: SourceSpec<'static> = SourceSpec {
    id: "surnames_by_community",
    path: "datasets/in/sources/names/surnames_by_community.csv",
    publisher: "personadb (curated language data, no counts)",
    table: "Common surnames by community, ranked by a writer's judgement",
    vintage: "2026",
    licence: "Apache-2.0 (this project)",
    carrier: "this repository (see datasets/in/sources/names/README_names.md)",
};
const SURNAME_MARKERS: SourceSpec<'static> = SourceSpec {
    id: "surname_markers_by_community",
    path: "datasets/in/sources/names/surname_markers_by_community.csv",
    publisher: "personadb (curated language data, no counts)",
    table: "Surnames largely exclusive to one community (Muslim, Christian, Sikh, Jain, Buddhist)",
    vintage: "2026",
    licence: "Apache-2.0 (this project)",
    carrier: "this repository (see datasets/in/sources/names/README_names.md)",
};

type Rows = Vec<Vec<String>>;

/// Derives the India pack.
pub fn derive(raw_dir: &Path, out_dir: &Path) -> Result<DeriveReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    let specs = [
        POPULATION,
        MARITAL_STATUS,
        EDUCATION_LEVEL,
        DISTRICTS,
        RELIGION_STATES,
        MOTHER_TONGUE,
        BILINGUALISM,
        OCCUPATION,
        SURNAMES,
        ROLLS_ANDHRA,
        ROLLS_OTHER,
        GIVEN_LISTS,
        SURNAME_LISTS,
        SURNAME_MARKERS,
    ];
    let sources = specs.iter().map(|s| s.record(raw_dir)).collect::<Result<Vec<_>>>()?;
    let mut tables: Vec<TableRecord> = Vec::new();
    let mut choices: Vec<String> = Vec::new();

    // Single years within 18-19 (C-08 gives them by state, residence and sex).
    let c08 = read_csv(raw_dir, EDUCATION_LEVEL.path)?;
    let teen = teen_shares(&c08)?;
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
        &age_model(&c08)?,
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

    let (marital, marital_note) = marital(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "marital_model.csv",
        &["state", "zone", "sex", "age_band", "marital_status", "weight"],
        &marital,
        &[MARITAL_STATUS.id],
        "State rows of C-02 by residence, sex and age group; ages 18-19 = the 15-19 group less the ages \
         15-17 (`Less than 18` less 0-9 and 10-14); `Unspecified` left out; weight = persons.",
    )?);
    choices.push(marital_note);

    let education_rows = education(&c08)?;
    tables.push(write_table(
        out_dir,
        "education_model.csv",
        &["state", "zone", "sex", "age_band", "education_level", "weight"],
        &education_rows,
        &[EDUCATION_LEVEL.id],
        "State rows of C-08 by residence, sex and age (18 and 19 summed, then the five-year groups and \
         80+); the ten levels as published (Literate = literate without educational level; Graduate & \
         Above); `Unclassified` left out; weight = persons.",
    )?);
    choices.push(
        "Education: C-08 publishes `Graduate & above` as one level, so there is no Graduate / Post Graduate \
         split and no degree subject; the pack keeps the census level and has no `education_degree` \
         column (no table of degrees by subject was found). Nor has it a `middle_name`: no source gives \
         Indian middle names."
            .into(),
    );

    let religion = religion(raw_dir, &population)?;
    tables.push(write_table(
        out_dir,
        "religion_model.csv",
        &["state", "district", "zone", "religion", "weight"],
        &religion,
        &[DISTRICTS.id, RELIGION_STATES.id, POPULATION.id],
        "Religion of each district's persons (all ages), split by residence with the state's rural and \
         urban religion shares of RL-0000: w(d, z, r) ∝ P(r | d) · P(r | state, z) / P(r | state), \
         normalised within district and residence.",
    )?);
    choices.push(
        "Religion by district and residence: the district tables give religion for all residents, RL-0000 \
         gives its rural/urban split by state only; the district shares are tilted by the state's \
         rural/urban ratio (one raking step). No table crosses religion with age or language, so they are \
         drawn independently given district and residence."
            .into(),
    );

    let names = language_names(raw_dir)?;
    let first = first_language(raw_dir, &population, &names)?;
    tables.push(write_table(
        out_dir,
        "language_model.csv",
        &["state", "district", "zone", "first_language", "weight"],
        &first,
        &[MOTHER_TONGUE.id],
        "Mother tongue at the census language level (constituent mother tongues counted under their \
         language) by district and residence, all ages; weight = persons.",
    )?);
    let (second, third) = other_languages(raw_dir, &names)?;
    tables.push(write_table(
        out_dir,
        "second_language_model.csv",
        &["state", "first_language", "sex", "second_language", "weight"],
        &second,
        &[BILINGUALISM.id],
        "Second language given mother tongue, state and sex (C-17); an empty second language = the \
         mother-tongue total less those with a second language; weight = persons.",
    )?);
    tables.push(write_table(
        out_dir,
        "third_language_model.csv",
        &["state", "first_language", "second_language", "third_language", "weight"],
        &third,
        &[BILINGUALISM.id],
        "Third language given mother tongue, second language and state (C-17, persons); empty = those \
         with the second language less those with a third; weight = persons.",
    )?);
    choices.push(
        "Languages: C-16 (mother tongue by district) and C-17 (second and third language given mother \
         tongue, by state) cover all ages; C-18 shows bilingualism rising with age into adulthood, which \
         these all-ages rates understate for adults."
            .into(),
    );

    let work = work(raw_dir, &population)?;
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
    let (tilt, tilt_error) = occupation_tilt(&work, &education_rows);
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

    let name_tables = names_tables(raw_dir, &first, &religion)?;
    for (file, header, rows, srcs, transform) in name_tables.tables {
        tables.push(write_table(out_dir, file, &header, &rows, &srcs, transform)?);
    }
    choices.extend(name_tables.choices);

    let manifest = Manifest {
        locale: "in".into(),
        generated_by: format!("personadb {} derive --locale in", env!("CARGO_PKG_VERSION")),
        sources,
        tables: tables.clone(),
        choices,
    };
    write_manifest(out_dir, &manifest)?;
    Ok(DeriveReport { out_dir: out_dir.to_path_buf(), tables })
}

fn number(v: &str) -> f64 {
    v.replace(',', "").trim().parse().unwrap_or(0.0)
}

fn state_name(code: u32) -> Option<&'static str> {
    STATES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The band of a census age-group label (`15-19`, `80+`), or of a single year.
fn band_of_age(age: u32) -> Option<usize> {
    AGE_BANDS.iter().position(|(_, lo, hi)| age >= *lo && age <= *hi)
}

fn residence(label: &str) -> Option<usize> {
    match label {
        "Rural" => Some(0),
        "Urban" => Some(1),
        _ => None,
    }
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

struct District {
    code: u32,
    state: &'static str,
    name: String,
    /// Adults by zone.
    adults: [f64; 2],
}

struct Population {
    districts: Vec<District>,
    rows: Rows,
}

impl Population {
    /// Adults of a district by sex (both zones).
    fn adults_by_sex(&self, code: u32) -> [f64; 2] {
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
    let old = super::old_age_shares(80, MAX_AGE);
    for (i, share) in old.iter().enumerate() {
        rows.push(vec!["80+".to_string(), (80 + i).to_string(), format!("{:.6}", share)]);
    }
    Ok(rows)
}

/// Marital status by state × zone × sex × band.
fn marital(raw_dir: &Path) -> Result<(Rows, String)> {
    let path = MARITAL_STATUS.path;
    // (state, zone, sex, group label) -> counts of the five statuses.
    let mut cells: HashMap<(u32, usize, usize, String), [f64; 5]> = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "district_code", path)? != "000" || field(&row, "state_code", path)? == "00" {
            continue;
        }
        let Some(z) = residence(field(&row, "residence", path)?) else { continue };
        let state = number(field(&row, "state_code", path)?) as u32;
        let group = field(&row, "age_group", path)?.to_string();
        for (s, sex) in ["males", "females"].iter().enumerate() {
            let mut v = [0.0; 5];
            for (i, (_, stem)) in MARITAL.iter().enumerate() {
                v[i] = number(field(&row, &format!("{stem}_{sex}"), path)?);
            }
            cells.insert((state, z, s, group.clone()), v);
        }
    }
    let mut rows = Rows::new();
    let mut negative = 0usize;
    for (code, state) in STATES {
        for z in 0..2 {
            for s in 0..2 {
                for (band, lo, _) in AGE_BANDS {
                    let get = |g: &str| cells.get(&(code, z, s, g.to_string())).copied();
                    let counts = if lo == 18 {
                        // 18-19 = 15-19 − (under 18 − 0-9 − 10-14).
                        let (Some(a), Some(u), Some(c), Some(t)) =
                            (get("15-19"), get("Less than 18"), get("0-9"), get("10-14"))
                        else {
                            return Err(derr(path, format!("{state}: missing age rows for 18-19")));
                        };
                        let mut v = [0.0; 5];
                        for i in 0..5 {
                            v[i] = a[i] - (u[i] - c[i] - t[i]);
                            if v[i] < 0.0 {
                                negative += 1;
                                v[i] = 0.0;
                            }
                        }
                        v
                    } else {
                        get(band).ok_or_else(|| derr(path, format!("{state}: no age group {band}")))?
                    };
                    for (i, (label, _)) in MARITAL.iter().enumerate() {
                        if counts[i] > 0.0 {
                            rows.push(vec![
                                state.to_string(),
                                ZONES[z].to_string(),
                                SEXES[s].to_string(),
                                band.to_string(),
                                label.to_string(),
                                format!("{:.0}", counts[i]),
                            ]);
                        }
                    }
                }
            }
        }
    }
    let note = format!(
        "Marital status by state, residence, sex and age group (C-02); ages 18-19 are derived from the \
         published 15-19 and `Less than 18` rows ({negative} cells came out negative by the census' own \
         rounding and were set to zero)."
    );
    Ok((rows, note))
}

fn education(c08: &[HashMap<String, String>]) -> Result<Rows> {
    let path = EDUCATION_LEVEL.path;
    let mut cells: BTreeMap<(u32, usize, usize, usize), [f64; 10]> = BTreeMap::new();
    for row in c08 {
        if field(row, "district_code", path)? != "000" || field(row, "state_code", path)? == "00" {
            continue;
        }
        let Some(z) = residence(field(row, "residence", path)?) else { continue };
        let state = number(field(row, "state_code", path)?) as u32;
        let group = field(row, "age_group", path)?;
        let lo = match group.split_once('-') {
            Some((a, _)) => a.parse::<u32>().ok(),
            None if group == "80+" => Some(80),
            None => group.parse::<u32>().ok(),
        };
        let Some(band) = lo.filter(|a| *a >= MIN_AGE).and_then(band_of_age) else { continue };
        for (s, sex) in ["males", "females"].iter().enumerate() {
            let e = cells.entry((state, z, s, band)).or_default();
            for (i, (_, stem)) in EDUCATION.iter().enumerate() {
                e[i] += number(field(row, &format!("{stem}_{sex}"), path)?);
            }
        }
    }
    let mut rows = Rows::new();
    for ((state, z, s, band), counts) in cells {
        let name = state_name(state).ok_or_else(|| derr(path, format!("unknown state code {state}")))?;
        for (i, (label, _)) in EDUCATION.iter().enumerate() {
            if counts[i] > 0.0 {
                rows.push(vec![
                    name.to_string(),
                    ZONES[z].to_string(),
                    SEXES[s].to_string(),
                    AGE_BANDS[band].0.to_string(),
                    label.to_string(),
                    format!("{:.0}", counts[i]),
                ]);
            }
        }
    }
    if rows.len() < 35 * 2 * 2 * 14 {
        return Err(derr(path, format!("only {} education cells", rows.len())));
    }
    Ok(rows)
}

/// Religion by district × zone.
fn religion(raw_dir: &Path, population: &Population) -> Result<Rows> {
    // State × zone shares (RL-0000, persons).
    let path = RELIGION_STATES.path;
    let mut state_zone: HashMap<(String, usize), [f64; 8]> = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        let name = field(&row, "Name", path)?;
        let Some(z) = residence(field(&row, "TRU", path)?) else { continue };
        let Some(r) = RELIGIONS.iter().position(|(_, _, l)| *l == field(&row, "Religion", path).unwrap_or("")) else {
            continue;
        };
        let key = name.to_ascii_uppercase().replace("STATE -", "").replace("STATE-", "").trim().to_string();
        state_zone.entry((key, z)).or_default()[r] += number(field(&row, "TOT_P", path)?);
    }
    let state_key = |s: &str| -> String {
        let upper = s.to_ascii_uppercase();
        match upper.as_str() {
            "NCT OF DELHI" => "NCT OF DELHI".into(),
            _ => upper,
        }
    };
    let lookup = |state: &str, z: usize| -> Option<[f64; 8]> {
        let key = state_key(state);
        state_zone
            .iter()
            .find(|((k, zz), _)| {
                *zz == z
                    && (k == &key
                        || k.replace(" AND ", " & ") == key
                        || k.replace('&', "AND") == key.replace('&', "AND"))
            })
            .map(|(_, v)| *v)
    };
    let path = DISTRICTS.path;
    let mut by_code: HashMap<u32, [f64; 8]> = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        let code = number(field(&row, "DistrictCode", path)?) as u32;
        let mut v = [0.0; 8];
        for (i, (_, col, _)) in RELIGIONS.iter().enumerate() {
            v[i] = number(field(&row, col, path)?);
        }
        by_code.insert(code, v);
    }
    let mut rows = Rows::new();
    let mut missing_states = HashSet::new();
    for d in &population.districts {
        let district = by_code.get(&d.code).ok_or_else(|| derr(path, format!("no district code {}", d.code)))?;
        let total: f64 = district.iter().sum();
        for z in 0..2 {
            if d.adults[z] <= 0.0 {
                continue;
            }
            let tilt = match (lookup(d.state, z), lookup(d.state, 0), lookup(d.state, 1)) {
                (Some(sz), Some(r), Some(u)) => {
                    let mut t = [1.0; 8];
                    for i in 0..8 {
                        let state_all = r[i] + u[i];
                        let zone_total: f64 = sz.iter().sum();
                        let all_total: f64 = r.iter().sum::<f64>() + u.iter().sum::<f64>();
                        if state_all > 0.0 && zone_total > 0.0 {
                            t[i] = (sz[i] / zone_total) / (state_all / all_total);
                        }
                    }
                    t
                }
                _ => {
                    missing_states.insert(d.state);
                    [1.0; 8]
                }
            };
            let w: Vec<f64> = (0..8).map(|i| district[i] / total.max(1.0) * tilt[i]).collect();
            let sum: f64 = w.iter().sum();
            for (i, (label, _, _)) in RELIGIONS.iter().enumerate() {
                if w[i] > 0.0 {
                    rows.push(vec![
                        d.state.to_string(),
                        d.name.clone(),
                        ZONES[z].to_string(),
                        label.to_string(),
                        format!("{:.1}", w[i] / sum * d.adults[z]),
                    ]);
                }
            }
        }
    }
    if !missing_states.is_empty() {
        let mut m: Vec<_> = missing_states.into_iter().collect();
        m.sort();
        return Err(derr(RELIGION_STATES.path, format!("no rural/urban rows for {}", m.join(", "))));
    }
    Ok(rows)
}

/// Census language names by code (`006000` -> `Hindi`), as C-17 spells them, in title case.
fn language_names(raw_dir: &Path) -> Result<HashMap<String, String>> {
    let path = BILINGUALISM.path;
    let mut names = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        let code = field(&row, "mother_tongue_code", path)?.to_string();
        let name = field(&row, "mother_tongue", path)?;
        names.entry(code).or_insert_with(|| language_case(name));
    }
    Ok(names)
}

/// "BHILI/BHILODI" -> "Bhili/Bhilodi", "ODIA" -> "Odia", "KURUKH/ORAON" -> "Kurukh/Oraon".
fn language_case(upper: &str) -> String {
    let mut out = String::new();
    let mut start = true;
    for c in upper.trim().chars() {
        if c.is_alphabetic() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = c == '/' || c == ' ' || c == '-' || c == '(';
        }
    }
    match out.as_str() {
        "Others" => "Other".into(),
        _ => out,
    }
}

/// Mother tongue by district × zone (language level).
fn first_language(raw_dir: &Path, population: &Population, names: &HashMap<String, String>) -> Result<Rows> {
    let path = MOTHER_TONGUE.path;
    let index: HashMap<u32, usize> = population.districts.iter().enumerate().map(|(i, d)| (d.code, i)).collect();
    let mut rows = Rows::new();
    let mut covered = HashSet::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "level", path)? != "language" {
            continue;
        }
        let code = number(field(&row, "district_code", path)?) as u32;
        let Some(&d) = index.get(&code) else { continue };
        let district = &population.districts[d];
        let lang_code = field(&row, "mother_tongue_code", path)?;
        let name = match names.get(lang_code) {
            Some(n) => n.clone(),
            None => language_case(
                field(&row, "mother_tongue_name", path)?.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' '),
            ),
        };
        for (z, zone) in ZONES.iter().enumerate() {
            let v = number(field(&row, &format!("{}_persons", zone.to_ascii_lowercase()), path)?);
            if v > 0.0 && district.adults[z] > 0.0 {
                covered.insert(code);
                rows.push(vec![
                    district.state.to_string(),
                    district.name.clone(),
                    zone.to_string(),
                    name.clone(),
                    format!("{v:.0}"),
                ]);
            }
        }
    }
    if covered.len() < population.districts.len() {
        let missing: Vec<String> =
            population.districts.iter().filter(|d| !covered.contains(&d.code)).map(|d| d.name.clone()).collect();
        return Err(derr(path, format!("no mother tongues for {} districts: {}", missing.len(), missing.join(", "))));
    }
    Ok(rows)
}

/// Second language given mother tongue, state and sex; third given the first two and state.
fn other_languages(raw_dir: &Path, names: &HashMap<String, String>) -> Result<(Rows, Rows)> {
    let path = BILINGUALISM.path;
    let mut totals: BTreeMap<(u32, String), [f64; 2]> = BTreeMap::new();
    let mut second: BTreeMap<(u32, String, String), [f64; 3]> = BTreeMap::new();
    let mut third: BTreeMap<(u32, String, String, String), f64> = BTreeMap::new();
    let name = |code: &str, label: &str| names.get(code).cloned().unwrap_or_else(|| language_case(label));
    for row in read_csv(raw_dir, path)? {
        let state = number(field(&row, "state_code", path)?) as u32;
        if state == 0 {
            continue;
        }
        let mt = name(field(&row, "mother_tongue_code", path)?, field(&row, "mother_tongue", path)?);
        let m = number(field(&row, "males", path)?);
        let f = number(field(&row, "females", path)?);
        let p = number(field(&row, "persons", path)?);
        match field(&row, "level", path)? {
            "mother_tongue_total" => {
                let e = totals.entry((state, mt)).or_default();
                e[0] += m;
                e[1] += f;
            }
            "with_second_language" => {
                let sl = name(field(&row, "second_language_code", path)?, field(&row, "second_language", path)?);
                let e = second.entry((state, mt, sl)).or_default();
                e[0] += m;
                e[1] += f;
                e[2] += p;
            }
            "with_second_and_third_language" => {
                let sl = name(field(&row, "second_language_code", path)?, field(&row, "second_language", path)?);
                let tl = name(field(&row, "third_language_code", path)?, field(&row, "third_language", path)?);
                *third.entry((state, mt, sl, tl)).or_default() += p;
            }
            _ => {}
        }
    }
    let mut second_rows = Rows::new();
    let mut third_rows = Rows::new();
    let mut third_of: BTreeMap<(u32, String, String), f64> = BTreeMap::new();
    for ((state, mt, sl, _), p) in &third {
        *third_of.entry((*state, mt.clone(), sl.clone())).or_default() += p;
    }
    for ((state, mt), [m, f]) in &totals {
        let Some(state_label) = state_name(*state) else { continue };
        let mut with = [0.0f64; 2];
        for ((_, _, sl), [sm, sf, _]) in
            second.range((*state, mt.clone(), String::new())..).take_while(|((s, t, _), _)| s == state && t == mt)
        {
            with[0] += sm;
            with[1] += sf;
            for (s, v) in [(0usize, *sm), (1, *sf)] {
                if v > 0.0 {
                    second_rows.push(vec![
                        state_label.into(),
                        mt.clone(),
                        SEXES[s].into(),
                        sl.clone(),
                        format!("{v:.0}"),
                    ]);
                }
            }
        }
        for (s, total) in [(0usize, *m), (1, *f)] {
            let none = (total - with[s]).max(0.0);
            if none > 0.0 || with[s] <= 0.0 {
                second_rows.push(vec![
                    state_label.into(),
                    mt.clone(),
                    SEXES[s].into(),
                    String::new(),
                    format!("{:.0}", none.max(1.0)),
                ]);
            }
        }
        // Third languages.
        third_rows.push(vec![state_label.into(), mt.clone(), String::new(), String::new(), "1".into()]);
        for ((_, _, sl), [_, _, p]) in
            second.range((*state, mt.clone(), String::new())..).take_while(|((s, t, _), _)| s == state && t == mt)
        {
            let with_third = third_of.get(&(*state, mt.clone(), sl.clone())).copied().unwrap_or(0.0);
            let none = (p - with_third).max(0.0);
            if none > 0.0 || with_third <= 0.0 {
                third_rows.push(vec![
                    state_label.into(),
                    mt.clone(),
                    sl.clone(),
                    String::new(),
                    format!("{:.0}", none.max(1.0)),
                ]);
            }
            for ((_, _, _, tl), v) in third
                .range((*state, mt.clone(), sl.clone(), String::new())..)
                .take_while(|((s, t, l, _), _)| s == state && t == mt && l == sl)
            {
                if *v > 0.0 {
                    third_rows.push(vec![state_label.into(), mt.clone(), sl.clone(), tl.clone(), format!("{v:.0}")]);
                }
            }
        }
    }
    Ok((second_rows, third_rows))
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
        let (fitted, error) = super::ipf::fit_2d(&seed, n_e, n_o, &pe, &po, 200);
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

/// The name tables and what the manifest says of them.
struct NameTables {
    tables: Vec<(&'static str, Vec<&'static str>, Rows, Vec<&'static str>, &'static str)>,
    choices: Vec<String>,
}

/// The community whose names a person bears, from religion, mother tongue and state: the key of
/// the community name lists (`datasets/in/sources/names/`).
pub fn community(religion: &str, language: &str, state: &str) -> &'static str {
    let northeast =
        matches!(state, "Mizoram" | "Meghalaya" | "Nagaland" | "Manipur" | "Arunachal Pradesh" | "Tripura" | "Sikkim");
    let tribal = matches!(
        language,
        "Santali"
            | "Mundari"
            | "Ho"
            | "Kurukh/Oraon"
            | "Gondi"
            | "Bhili/Bhilodi"
            | "Kharia"
            | "Halabi"
            | "Korku"
            | "Munda"
    );
    match religion {
        "Muslim" => match language {
            "Bengali" | "Assamese" => "muslim_bengal",
            "Malayalam" | "Tamil" | "Kannada" | "Tulu" | "Telugu" => "muslim_south",
            _ => "muslim_north",
        },
        "Sikh" => "sikh",
        "Jain" => "jain",
        "Christian" => match language {
            "Malayalam" => "christian_kerala",
            "Tamil" => "christian_tamil",
            "Konkani" | "Tulu" => "christian_goan_mangalorean",
            _ if northeast => "christian_northeast",
            _ if tribal => "christian_tribal_central",
            "Marathi" | "Kannada" => "christian_goan_mangalorean",
            "Telugu" => "christian_tamil",
            _ => "christian_tribal_central",
        },
        "Buddhist" => match state {
            "Jammu & Kashmir" | "Sikkim" | "Arunachal Pradesh" | "Himachal Pradesh" => "buddhist_himalayan",
            _ if northeast => "buddhist_himalayan",
            _ => "buddhist_marathi",
        },
        _ => match language {
            "Marathi" => "marathi_hindu",
            "Gujarati" => "gujarati_hindu",
            "Bengali" => "bengali_hindu",
            "Odia" => "odia_hindu",
            "Assamese" => "assamese_hindu",
            "Punjabi" => "punjabi_hindu",
            "Tamil" => "tamil_hindu",
            "Telugu" => "telugu_hindu",
            "Kannada" | "Tulu" => "kannada_hindu",
            "Malayalam" => "malayalam_hindu",
            "Konkani" => "konkani_hindu",
            "Kashmiri" => "kashmiri",
            _ if tribal => "tribal_central",
            _ if state == "Rajasthan" => "rajasthani_hindu",
            _ => "hindi_hindu",
        },
    }
}

/// Surnames borne by one sex only: women's (`Devi`, `Kaur`, `Begum`) and men's (`Kumar`).
const FEMALE_SURNAMES: [&str; 12] =
    ["devi", "kumari", "kaur", "begum", "khatun", "khatoon", "bibi", "bano", "ben", "bai", "banu", "ammal"];
const MALE_SURNAMES: [&str; 5] = ["kumar", "bhai", "mohammad", "md", "singh"];
/// Surnames per (community, sex, state) kept from SECC.
const SURNAMES_PER_CELL: usize = 150;
/// SECC's state spellings.
const SECC_STATES: [(&str, &str); 19] = [
    ("arunachal pradesh", "Arunachal Pradesh"),
    ("assam", "Assam"),
    ("bihar", "Bihar"),
    ("chhattisgarh", "Chhattisgarh"),
    ("gujarat", "Gujarat"),
    ("haryana", "Haryana"),
    ("kerala", "Kerala"),
    ("madhya pradesh", "Madhya Pradesh"),
    ("maharashtra", "Maharashtra"),
    ("mizoram", "Mizoram"),
    ("nagaland", "Nagaland"),
    ("odisha", "Odisha"),
    ("punjab", "Punjab"),
    ("rajasthan", "Rajasthan"),
    ("sikkim", "Sikkim"),
    ("tamilnadu", "Tamil Nadu"),
    ("uttar pradesh", "Uttar Pradesh"),
    ("uttarakhand", "Uttarakhand"),
    ("west bengal", "West Bengal"),
];

/// "lakshmi" -> "Lakshmi", "d'souza" -> "D'Souza".
fn name_case(lower: &str) -> String {
    let mut out = String::new();
    let mut start = true;
    for c in lower.trim().chars() {
        if c.is_alphabetic() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = c == '\'' || c == ' ' || c == '-';
        }
    }
    out
}

/// The name group of a community for one sex: Sikh women and men bear different surnames
/// (`Kaur`, `Singh`), so the Sikh community is two groups.
fn name_group(community: &str, sex: usize) -> String {
    match community {
        "sikh" => format!("sikh_{}", if sex == 0 { "male" } else { "female" }),
        c => c.to_string(),
    }
}

/// SECC surname counts by state (summed over birth years).
fn secc_surnames(raw_dir: &Path) -> Result<HashMap<String, HashMap<String, f64>>> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::DataType;
    let path = SURNAMES.path;
    let full = super::source_path(raw_dir, path);
    let file = std::fs::File::open(&full).map_err(|e| Error::io(format!("opening {}", full.display()), e))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| derr(path, e.to_string()))?;
    let mut out: HashMap<String, HashMap<String, f64>> = HashMap::new();
    for batch in reader {
        let batch = batch.map_err(|e| derr(path, e.to_string()))?;
        let col =
            |name: &str| batch.column_by_name(name).cloned().ok_or_else(|| derr(path, format!("no column `{name}`")));
        let state = arrow::compute::cast(&col("state")?, &DataType::Utf8)?;
        let state = state.as_string::<i32>();
        let surname = arrow::compute::cast(&col("last_name")?, &DataType::Utf8)?;
        let surname = surname.as_string::<i32>();
        let support = arrow::compute::cast(&col("total_support")?, &DataType::Float64)?;
        let support = support.as_primitive::<arrow::datatypes::Float64Type>();
        for i in 0..batch.num_rows() {
            if state.is_null(i) || surname.is_null(i) {
                continue;
            }
            let Some((_, label)) = SECC_STATES.iter().find(|(k, _)| *k == state.value(i)) else { continue };
            *out.entry(label.to_string()).or_default().entry(surname.value(i).to_string()).or_default() +=
                support.value(i);
        }
    }
    if out.len() < 15 {
        return Err(derr(path, format!("expected SECC surnames for 19 states, found {}", out.len())));
    }
    Ok(out)
}

fn names_tables(raw_dir: &Path, first: &Rows, religion: &Rows) -> Result<NameTables> {
    // Communities present: (state, language) pairs × the state's religions.
    let mut languages: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for r in first {
        languages.entry(r[0].clone()).or_default().insert(r[3].clone());
    }
    let mut religions: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for r in religion {
        religions.entry(r[0].clone()).or_default().insert(r[3].clone());
    }
    let mut community_rows = Rows::new();
    let mut present: BTreeMap<(String, String), ()> = BTreeMap::new(); // (state, community)
    for (state, langs) in &languages {
        let mut langs: Vec<&String> = langs.iter().collect();
        langs.sort();
        let mut rels: Vec<&String> = religions.get(state).map(|r| r.iter().collect()).unwrap_or_default();
        rels.sort();
        for rel in &rels {
            for lang in &langs {
                let c = community(rel, lang, state);
                present.insert((state.clone(), c.to_string()), ());
                for (s, sex) in SEXES.iter().enumerate() {
                    community_rows.push(vec![
                        state.clone(),
                        rel.to_string(),
                        lang.to_string(),
                        sex.to_string(),
                        name_group(c, s),
                        "1".into(),
                    ]);
                }
            }
        }
    }

    // Curated lists.
    let path = GIVEN_LISTS.path;
    let mut given: BTreeMap<(String, usize), Vec<(String, f64)>> = BTreeMap::new();
    let mut non_hindu_given: HashSet<String> = HashSet::new();
    for row in read_csv(raw_dir, path)? {
        let c = field(&row, "community", path)?.to_string();
        let Some(s) = SEXES.iter().position(|x| *x == field(&row, "sex", path).unwrap_or("")) else {
            return Err(derr(path, format!("sex `{}`", field(&row, "sex", path)?)));
        };
        let name = field(&row, "name", path)?.to_string();
        let rank = number(field(&row, "rank", path)?).max(1.0);
        if c.starts_with("muslim") || c.starts_with("christian") || c == "sikh" {
            non_hindu_given.insert(name.to_ascii_lowercase());
        }
        given.entry((c, s)).or_default().push((name, 1.0 / rank));
    }
    let path = SURNAME_LISTS.path;
    let mut curated_surnames: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for row in read_csv(raw_dir, path)? {
        let c = field(&row, "community", path)?.to_string();
        let rank = number(field(&row, "rank", path)?).max(1.0);
        curated_surnames.entry(c).or_default().push((name_case(field(&row, "surname", path)?), 1.0 / rank));
    }
    let path = SURNAME_MARKERS.path;
    let mut markers: HashMap<String, String> = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        markers.insert(field(&row, "surname", path)?.to_ascii_lowercase(), field(&row, "community", path)?.to_string());
    }
    // The marker communities are religions: `muslim` covers muslim_north, muslim_bengal, ...
    let marker_of = |surname: &str| markers.get(surname).map(String::as_str);
    let religion_of = |community: &str| -> &'static str {
        if community.starts_with("muslim") {
            "muslim"
        } else if community.starts_with("christian") {
            "christian"
        } else if community.starts_with("sikh") {
            "sikh"
        } else if community.starts_with("jain") {
            "jain"
        } else if community.starts_with("buddhist") {
            "buddhist"
        } else {
            "hindu"
        }
    };

    // First names: the electoral rolls of undivided Andhra Pradesh for Telugu Hindus (names
    // that the curated lists give to Muslims, Christians or Sikhs left out), the curated lists
    // for every other community.
    let path = ROLLS_ANDHRA.path;
    let mut andhra: [HashMap<String, f64>; 2] = [HashMap::new(), HashMap::new()];
    for row in read_csv(raw_dir, path)? {
        if field(&row, "state", path)? != "andhra" {
            continue;
        }
        let name = field(&row, "first_name", path)?;
        if name.len() < 3 || !name.chars().all(|c| c.is_ascii_lowercase()) || non_hindu_given.contains(name) {
            continue;
        }
        if ["shaik", "shaikh", "syed", "mohammad", "mohammed", "md", "late", "smt", "sri", "dr"].contains(&name) {
            continue;
        }
        let birth: u32 = number(field(&row, "birth_year", path)?) as u32;
        if !(1920..=1999).contains(&birth) {
            continue;
        }
        *andhra[0].entry(name.to_string()).or_default() += number(field(&row, "n_male", path)?);
        *andhra[1].entry(name.to_string()).or_default() += number(field(&row, "n_female", path)?);
    }
    let mut first_rows = Rows::new();
    let mut groups: BTreeMap<String, ()> = BTreeMap::new();
    for r in &community_rows {
        groups.insert(r[4].clone(), ());
    }
    let mut missing = Vec::new();
    for group in groups.keys() {
        let community = group.strip_suffix("_male").or_else(|| group.strip_suffix("_female")).unwrap_or(group);
        for (s, sex) in SEXES.iter().enumerate() {
            if community == "telugu_hindu" {
                let mut names: Vec<(&String, &f64)> = andhra[s].iter().filter(|(_, v)| **v >= 200.0).collect();
                names.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
                for (n, v) in names.into_iter().take(1500) {
                    first_rows.push(vec![group.clone(), sex.to_string(), name_case(n), format!("{v:.0}")]);
                }
                continue;
            }
            match given.get(&(community.to_string(), s)) {
                Some(list) => {
                    for (n, w) in list {
                        first_rows.push(vec![group.clone(), sex.to_string(), n.clone(), format!("{:.6}", w * 1000.0)]);
                    }
                }
                None => missing.push(format!("{community}/{sex}")),
            }
        }
    }
    if !missing.is_empty() {
        return Err(derr(GIVEN_LISTS.path, format!("no given names for {}", missing.join(", "))));
    }

    // Surnames: SECC counts of the state where it has them (surnames that mark another
    // religion left out, and those borne by the other sex), else the curated lists.
    let secc = secc_surnames(raw_dir)?;
    let mut last_rows = Rows::new();
    let mut from_secc = 0usize;
    let mut from_lists = 0usize;
    for (state, community) in present.keys() {
        for (s, sex) in SEXES.iter().enumerate() {
            let group = name_group(community, s);
            let religion = religion_of(community);
            let wrong_sex = |n: &str| if s == 0 { FEMALE_SURNAMES.contains(&n) } else { MALE_SURNAMES.contains(&n) };
            let mut cell: Vec<(String, f64)> = Vec::new();
            if let Some(counts) = secc.get(state) {
                for (n, v) in counts {
                    if wrong_sex(n) || n.len() < 2 {
                        continue;
                    }
                    let fits = match (religion, marker_of(n)) {
                        ("sikh", m) => m == Some("sikh") || (s == 0 && n == "singh") || (s == 1 && n == "kaur"),
                        ("hindu", None) => true,
                        ("hindu", Some(_)) => false,
                        (r, Some(m)) => m == r,
                        (_, None) => false,
                    };
                    if fits {
                        cell.push((name_case(n), *v));
                    }
                }
            }
            let secc_total: f64 = cell.iter().map(|c| c.1).sum();
            if secc_total < 1000.0 {
                cell = curated_surnames
                    .get(community)
                    .map(|l| l.iter().filter(|(n, _)| !wrong_sex(&n.to_ascii_lowercase())).cloned().collect())
                    .unwrap_or_default();
                from_lists += 1;
            } else {
                from_secc += 1;
            }
            if cell.is_empty() {
                // Communities without family names (Mizo and others) and no list: no surname.
                cell.push((String::new(), 1.0));
            }
            cell.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            cell.truncate(SURNAMES_PER_CELL);
            for (n, v) in cell {
                last_rows.push(vec![group.clone(), sex.to_string(), state.clone(), n, format!("{v:.3}")]);
            }
        }
    }

    let choices = vec![
        format!(
            "Names follow a community (name_group) set by religion, mother tongue and state \
             (`community()` in src/derive/india/mod.rs), so a Tamil-speaking Christian in Chennai and a \
             Punjabi Sikh in Amritsar are named as such. Surnames: SECC 2011 counts of the person's state \
             where SECC has the state (19 states), keeping for each community the surnames that mark no \
             other religion (marker list in datasets/in/sources/names/) and dropping surnames of the other \
             sex (Devi, Kaur, Begum / Kumar); {from_secc} community × sex × state cells from SECC, \
             {from_lists} from the project's curated community lists (states SECC lacks, and communities \
             too small in it), top {SURNAMES_PER_CELL} per cell."
        ),
        "First names: the 2017 electoral rolls (in-rolls) give counts only for 12 small or southern \
         states; they are used for Telugu-speaking Hindus (undivided Andhra Pradesh, electors born \
         1920-1999, names the curated lists give to other religions left out). Every other community \
         draws from the project's curated lists with a Zipf prior (weight 1/rank): judgement, not \
         counts. No source ties given names to birth cohorts outside Andhra."
            .into(),
    ];
    Ok(NameTables {
        tables: vec![
            (
                "name_group_model.csv",
                vec!["state", "religion", "first_language", "sex", "name_group", "weight"],
                community_rows,
                vec![DISTRICTS.id, MOTHER_TONGUE.id],
                "The community whose names a person bears, a rule of religion, mother tongue and state \
                 (Sikhs split by sex for their surnames); weight 1.",
            ),
            (
                "first_name_model.csv",
                vec!["name_group", "sex", "first_name", "weight"],
                first_rows,
                vec![ROLLS_ANDHRA.id, GIVEN_LISTS.id],
                "Telugu Hindus: electors of undivided Andhra Pradesh born 1920-1999 by first name and sex \
                 (names with at least 200 electors, top 1500); other communities: curated lists, weight = \
                 1000/rank.",
            ),
            (
                "last_name_model.csv",
                vec!["name_group", "sex", "state", "last_name", "weight"],
                last_rows,
                vec![SURNAMES.id, SURNAME_MARKERS.id, SURNAME_LISTS.id],
                "SECC 2011 surname counts of the state summed over birth years, filtered by community \
                 markers and sex, top 150; curated lists (weight 1/rank) where SECC has no state or too \
                 few names for the community.",
            ),
        ],
        choices,
    })
}
