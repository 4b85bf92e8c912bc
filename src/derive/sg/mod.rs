//! Derivation of the Singapore pack (`sg`, alias `en_SG`) from SingStat, MOM and data.gov.sg
//! statistics: residents by planning area × sex × single age (June 2024); ethnic group by
//! planning area and sex (Census 2020) fitted to the national ethnic × age × sex series;
//! religion and home language by planning area (Census 2020) joined to ethnicity by fitting
//! their national ethnic cross-tables; employment, occupation (SSOC major groups) and industry
//! by sex × age (MOM labour force 2024); marital status and education from the partial tables
//! that exist. What no official table gives is written in the manifest's choices, with the
//! substitute used.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::ipf::{fit_groups, GroupMargin};
use super::{derr, field, read_csv, write_manifest, write_table, DeriveReport, Manifest, SourceSpec, TableRecord};
use crate::error::{Error, Result};

/// The sex labels of Nemotron-Personas-Singapore.
pub const MALE: &str = "Male";
pub const FEMALE: &str = "Female";
const SEXES: [&str; 2] = [MALE, FEMALE];
/// Youngest persona: the labour-force tables and the dataset's life stages start at 15.
pub const MIN_AGE: u32 = 15;
/// Oldest age the open-ended "90 and over" group is spread to.
pub const MAX_AGE: u32 = 100;
/// Age bands of the labour-force tables (the last open-ended).
pub const AGE_BANDS: [(&str, u32, u32); 11] = [
    ("15-19", 15, 19),
    ("20-24", 20, 24),
    ("25-29", 25, 29),
    ("30-34", 30, 34),
    ("35-39", 35, 39),
    ("40-44", 40, 44),
    ("45-49", 45, 49),
    ("50-54", 50, 54),
    ("55-59", 55, 59),
    ("60-64", 60, 64),
    ("65+", 65, 200),
];
/// The bands of employment: [`AGE_BANDS`] with 65+ split at 70, as MOM's table G4 publishes it.
pub const WORK_BANDS: [(&str, u32, u32); 12] = [
    ("15-19", 15, 19),
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
    ("70+", 70, 200),
];
pub const ETHNIC: [&str; 4] = ["Chinese", "Malay", "Indian", "Others"];
/// Religions: (label, column of the Census 2020 planning-area table).
pub const RELIGIONS: [(&str, &str); 9] = [
    ("No Religion", "NoReligion"),
    ("Buddhism", "Buddhism"),
    ("Taoism", "Taoism1"),
    ("Islam", "Islam"),
    ("Hinduism", "Hinduism"),
    ("Sikhism", "Sikhism"),
    ("Catholicism", "Christianity_Catholic"),
    ("Christianity (Protestant and other)", "Christianity_OtherChristians"),
    ("Other Religions", "OtherReligions"),
];
/// Home languages: (label, column of the Census 2020 planning-area table).
pub const LANGUAGES: [(&str, &str); 7] = [
    ("English", "English_Total"),
    ("Mandarin", "Mandarin_Total1"),
    ("Chinese Dialects", "ChineseDialects_Total1"),
    ("Malay", "Malay_Total1"),
    ("Tamil", "IndianLanguages_Tamil_Total1"),
    ("Other Indian Languages", "IndianLanguages_OtherIndianLanguages_Total1"),
    ("Others", "OtherLanguages_Total1"),
];
pub const MARITAL: [&str; 4] = ["Single", "Married", "Widowed", "Divorced/Separated"];
/// SingStat's eight groups of highest qualification attained, each with the MOM group (five
/// groups) it falls in.
pub const EDUCATION: [(&str, &str); 8] = [
    ("No Qualification", "Below Secondary"),
    ("Primary", "Below Secondary"),
    ("Lower Secondary", "Below Secondary"),
    ("Secondary", "Secondary"),
    ("Post-Secondary (Non-Tertiary)", "Post-Secondary (Non-Tertiary)"),
    ("Polytechnic", "Diploma & Professional Qualification"),
    ("Professional Qualification and Other Diploma", "Diploma & Professional Qualification"),
    ("University", "Degree"),
];
/// The occupation and industry of a persona who is not employed.
pub const NOT_WORKING: &str = "Not Working";

const POPULATION: SourceSpec<'static> = SourceSpec {
    id: "singstat_respopagesex2024",
    path: "singapore/respopagesex2024.csv",
    publisher: "Department of Statistics Singapore (SingStat), via data.gov.sg",
    table: "Singapore residents by planning area, subzone, single year of age and sex",
    vintage: "June 2024",
    licence: "Singapore Open Data Licence",
    carrier: "trangqd/ISSS608-VAA@58e03e228d69:Take-home_Ex/Take-home_Ex01/respopagesex2024.csv",
};
const ETHNIC_AREA: SourceSpec<'static> = SourceSpec {
    id: "census2020_subzone_ethnic_sex",
    path: "singapore/census2020_subzone_ethnic_sex_with_planning_area.csv",
    publisher: "Department of Statistics Singapore, Census of Population 2020, via data.gov.sg",
    table: "Resident population by subzone, ethnic group and sex (joined to planning areas)",
    vintage: "Census 2020",
    licence: "Singapore Open Data Licence (data); MIT (repository)",
    carrier: "xunchiasg/SG_Census_Map@9e4bb0117b38:data/census_cleaned.csv (+ planning areas from its geojson)",
};
const ETHNIC_AGE: SourceSpec<'static> = SourceSpec {
    id: "singstat_M810011",
    path: "singapore/population/singstat_M810011_residents_by_age_ethnic_sex_1957_2022.csv",
    publisher: "Department of Statistics Singapore, Table Builder M810011",
    table: "Singapore residents by ethnic group, sex and 5-year age group, end-June",
    vintage: "2022 (latest year in the series)",
    licence: "SingStat Table Builder terms (attribution); data.gov.sg d_b867dc1cd9cc8b90d6dd0257929bcac6 (SODL)",
    carrier: "LeungYunghou/1@27ca68c73fff:M810011.csv (reshaped to long)",
};
const RELIGION_AREA: SourceSpec<'static> = SourceSpec {
    id: "census2020_ct17592_religion_planning_area",
    path: "singapore/census2020/religion_by_planning_area_census2020.csv",
    publisher: "Department of Statistics Singapore, Census of Population 2020, via data.gov.sg",
    table: "Resident population aged 15+ by planning area and religion (30 planning areas + Others)",
    vintage: "Census 2020",
    licence: "Singapore Open Data Licence",
    carrier:
        "advaitsridhar/DemographicMap@b6a634016742:data/raw/singapore/religion_planning_area_census2020_datagovsg.csv",
};
const RELIGION_ETHNIC: SourceSpec<'static> = SourceSpec {
    id: "census2020_ct17459_religion_ethnic_partial",
    path: "datasets/sg/sources/census2020/census2020_ct17459_religion_by_ethnic_sex_PARTIAL.csv",
    publisher: "Department of Statistics Singapore, Census of Population 2020, Table Builder CT/17459",
    table: "Resident population aged 15+ by religion, ethnic group and sex (rows Total, No Religion, With Religion, \
            Buddhism, Taoism)",
    vintage: "Census 2020",
    licence: "Singapore Open Data Licence",
    carrier: "data.gov.sg page d_4f6dc35cb00308f67bf9d429cfa30e65 (see datasets/sg/sources/PROVENANCE.md)",
};
const RELIGION_SHARES: SourceSpec<'static> = SourceSpec {
    id: "census2020_religion_within_ethnic_published",
    path: "datasets/sg/sources/census2020/census2020_religion_within_ethnic_published_shares.csv",
    publisher: "Department of Statistics Singapore, Census of Population 2020 release (as reported)",
    table: "Published shares of the main religions within each ethnic group, residents 15+",
    vintage: "Census 2020 (released 16 June 2021)",
    licence: "facts reported from the official release",
    carrier: "datasets/sg/sources/PROVENANCE.md (sources of each figure listed in the file)",
};
const LANGUAGE_AREA: SourceSpec<'static> = SourceSpec {
    id: "census2020_ct17596_language_planning_area",
    path: "singapore/census2020/language_most_spoken_at_home_by_planning_area_census2020.csv",
    publisher: "Department of Statistics Singapore, Census of Population 2020, via data.gov.sg",
    table: "Resident population aged 5+ by planning area and language most frequently spoken at home",
    vintage: "Census 2020",
    licence: "Singapore Open Data Licence",
    carrier: "advaitsridhar/DemographicMap@13f534dd6087:data/raw/singapore/language_planning_area_census2020.csv",
};
const LANGUAGE_ETHNIC: SourceSpec<'static> = SourceSpec {
    id: "ghs2015_ct8362_language_ethnic_partial",
    path: "datasets/sg/sources/ghs2015/ghs2015_ct8362_language_by_ethnic_group_PARTIAL.csv",
    publisher: "Department of Statistics Singapore, General Household Survey 2015, CT/8362",
    table: "Resident population aged 15+ by ethnic group and language most frequently spoken at home (Total rows)",
    vintage: "GHS 2015",
    licence: "Singapore Open Data Licence",
    carrier: "data.gov.sg page d_3bdcd0bce8b52713749d3ceeb607a763 (see datasets/sg/sources/PROVENANCE.md)",
};
const EMPLOYED_INDUSTRY_MALE: SourceSpec<'static> = SourceSpec {
    id: "singstat_M182141",
    path: "singapore/labour_force/singstat_M182141_employed_male_residents_by_age_industry_june.csv",
    publisher: "Ministry of Manpower, Comprehensive Labour Force Survey, via SingStat Table Builder M182141",
    table: "Employed male residents aged 15+ by age group and industry, June (thousands)",
    vintage: "June 2024",
    licence: "SingStat Table Builder terms (attribution)",
    carrier: "delwinvanstrien/singapore-job-market-dashboard@c5d7e6060ba7:M182141.csv",
};
const EMPLOYED_INDUSTRY_FEMALE: SourceSpec<'static> = SourceSpec {
    id: "singstat_M182151",
    path: "singapore/labour_force/singstat_M182151_employed_female_residents_by_age_industry_june.csv",
    publisher: "Ministry of Manpower, Comprehensive Labour Force Survey, via SingStat Table Builder M182151",
    table: "Employed female residents aged 15+ by age group and industry, June (thousands)",
    vintage: "June 2024",
    licence: "SingStat Table Builder terms (attribution)",
    carrier: "delwinvanstrien/singapore-job-market-dashboard@c5d7e6060ba7:M182151.csv",
};
const EMPLOYED_OCCUPATION_MALE: SourceSpec<'static> = SourceSpec {
    id: "singstat_M182181",
    path: "singapore/labour_force/singstat_M182181_employed_male_residents_by_occupation_age_june.csv",
    publisher: "Ministry of Manpower, Comprehensive Labour Force Survey, via SingStat Table Builder M182181",
    table: "Employed male residents aged 15+ by age group and occupation (SSOC major groups), June (thousands)",
    vintage: "June 2024",
    licence: "SingStat Table Builder terms (attribution)",
    carrier: "JustinZhao315/AN6100-group-project@89a8950986b4:M182181_male.csv",
};
const EMPLOYED_OCCUPATION_FEMALE: SourceSpec<'static> = SourceSpec {
    id: "singstat_M182191",
    path: "singapore/labour_force/singstat_M182191_employed_female_residents_by_occupation_age_june.csv",
    publisher: "Ministry of Manpower, Comprehensive Labour Force Survey, via SingStat Table Builder M182191",
    table: "Employed female residents aged 15+ by age group and occupation (SSOC major groups), June (thousands)",
    vintage: "June 2024",
    licence: "SingStat Table Builder terms (attribution)",
    carrier: "JustinZhao315/AN6100-group-project@89a8950986b4:M182191_female.csv",
};
const OCCUPATION_INDUSTRY: SourceSpec<'static> = SourceSpec {
    id: "singstat_M182081",
    path: "singapore/labour_force/singstat_M182081_employed_residents_by_occupation_industry_june.csv",
    publisher: "Ministry of Manpower, Comprehensive Labour Force Survey, via SingStat Table Builder M182081",
    table: "Employed residents aged 15+ by occupation and industry, June (thousands)",
    vintage: "June 2024",
    licence: "SingStat Table Builder terms (attribution)",
    carrier: "delwinvanstrien/singapore-job-market-dashboard@c5d7e6060ba7:M182081.csv",
};
const SINGLE_SHARE: SourceSpec<'static> = SourceSpec {
    id: "singstat_M810581",
    path: "singapore/marital/singstat_M810581_proportion_single_by_age_sex.csv",
    publisher: "Department of Statistics Singapore, Table Builder M810581",
    table: "Proportion single (never married) among residents by sex and age group 20-24 … 45-49 (%)",
    vintage: "Census 2020 (year 2020 of the series)",
    licence: "SingStat Table Builder terms (attribution)",
    carrier: "iannnlee/iannnlee.github.io@3ccb129798fd:M810581.csv (reshaped to long)",
};
const MARITAL_LABOUR: SourceSpec<'static> = SourceSpec {
    id: "mom_labour_force_marital_age_sex",
    path: "datasets/sg/sources/mom/mom_resident_labour_force_by_marital_status_age_sex_2010_2015.csv",
    publisher: "Ministry of Manpower, Comprehensive Labour Force Survey, via data.gov.sg",
    table: "Resident labour force aged 15+ by marital status (single, married, widowed/divorced), age group and sex",
    vintage: "June 2015 (latest year in the file)",
    licence: "Singapore Open Data Licence",
    carrier: "cylim14/ds102-data@b01f848fbf99 (see datasets/sg/sources/PROVENANCE.md)",
};
const MARITAL_GHS: SourceSpec<'static> = SourceSpec {
    id: "ghs2015_ct8319_marital_planning_area_sex",
    path: "datasets/sg/sources/ghs2015/ghs2015_resident-population-aged-15-years-and-over-by-planning-area-marital-status-and-sex.csv",
    publisher: "Department of Statistics Singapore, General Household Survey 2015, CT/8319",
    table: "Resident population aged 15+ by planning area, marital status (4 classes) and sex (thousands)",
    vintage: "GHS 2015",
    licence: "Singapore Open Data Licence",
    carrier: "weilu/cs5346@71d3834f6972 (see datasets/sg/sources/PROVENANCE.md)",
};
const EDUCATION_EMPLOYED: SourceSpec<'static> = SourceSpec {
    id: "mom_lfr2024_g4_hqa_age_sex",
    path: "datasets/sg/sources/mom/mom_lfr2024_G4_G5_G7_employed_residents_long.csv",
    publisher: "Ministry of Manpower, Labour Force in Singapore 2024, Section G, table G4",
    table: "Employed residents aged 15+ by highest qualification attained (5 groups), age group and sex (thousands)",
    vintage: "June 2024",
    licence: "Singapore Open Data Licence",
    carrier:
        "shnannans/AAI1001-SG-Employment-Education-Butterfly-Chart@c9117b342f86 (see datasets/sg/sources/PROVENANCE.md)",
};
const EDUCATION_GHS: SourceSpec<'static> = SourceSpec {
    id: "ghs2015_ct9141_hqa_planning_area",
    path: "datasets/sg/sources/ghs2015/ghs2015_resident-population-aged-15-years-and-over-by-planning-area-and-hqa.csv",
    publisher: "Department of Statistics Singapore, General Household Survey 2015, CT/9141",
    table: "Resident non-student population aged 15+ by planning area and highest qualification attained (8 groups)",
    vintage: "GHS 2015",
    licence: "Singapore Open Data Licence",
    carrier: "weilu/cs5346@5c2f6baf09a7 (see datasets/sg/sources/PROVENANCE.md)",
};

const CEA_SURNAMES: SourceSpec<'static> = SourceSpec {
    id: "cea_chinese_surname_counts",
    path: "datasets/sg/sources/names/cea_chinese_surname_counts.csv",
    publisher:
        "Council for Estate Agencies, CEA Salesperson Information (data.gov.sg), token counts derived by personadb",
    table: "Chinese surnames of registered salespersons, counts (hapaxes dropped)",
    vintage: "register of February 2026",
    licence: "Singapore Open Data Licence",
    carrier: "agoagoagoago/Agency-Scrap@579a0ed91177 (raw register not stored; see datasets/sg/sources/PROVENANCE.md)",
};
const CEA_CHINESE_GIVEN: SourceSpec<'static> = SourceSpec {
    id: "cea_chinese_given_name_counts",
    path: "datasets/sg/sources/names/cea_chinese_given_name_counts.csv",
    publisher:
        "Council for Estate Agencies, CEA Salesperson Information (data.gov.sg), token counts derived by personadb",
    table: "Chinese given names with co-occurring female/male English names",
    vintage: "register of February 2026",
    licence: "Singapore Open Data Licence",
    carrier: "agoagoagoago/Agency-Scrap@579a0ed91177 (see datasets/sg/sources/PROVENANCE.md)",
};
const CEA_SYLLABLES: SourceSpec<'static> = SourceSpec {
    id: "cea_chinese_given_syllable_counts",
    path: "datasets/sg/sources/names/cea_chinese_given_syllable_counts.csv",
    publisher:
        "Council for Estate Agencies, CEA Salesperson Information (data.gov.sg), token counts derived by personadb",
    table: "Chinese given-name syllables with co-occurring female/male English names",
    vintage: "register of February 2026",
    licence: "Singapore Open Data Licence",
    carrier: "agoagoagoago/Agency-Scrap@579a0ed91177 (see datasets/sg/sources/PROVENANCE.md)",
};
const CEA_ENGLISH: SourceSpec<'static> = SourceSpec {
    id: "cea_english_given_name_counts",
    path: "datasets/sg/sources/names/cea_english_given_name_counts.csv",
    publisher: "Council for Estate Agencies, CEA Salesperson Information (data.gov.sg); US SSA baby names for sex",
    table: "English given names with counts among Chinese-pattern and all unmarked names, SSA female share",
    vintage: "register of February 2026; SSA 1940-2024",
    licence: "Singapore Open Data Licence; SSA data public domain",
    carrier: "agoagoagoago/Agency-Scrap@579a0ed91177 (see datasets/sg/sources/PROVENANCE.md)",
};
const CEA_MALAY: SourceSpec<'static> = SourceSpec {
    id: "cea_malay_name_token_counts",
    path: "datasets/sg/sources/names/cea_malay_name_token_counts.csv",
    publisher:
        "Council for Estate Agencies, CEA Salesperson Information (data.gov.sg), token counts derived by personadb",
    table: "Tokens of Malay names (bin/binte): sex, role (own given name or father's), position, count",
    vintage: "register of February 2026",
    licence: "Singapore Open Data Licence",
    carrier: "agoagoagoago/Agency-Scrap@579a0ed91177 (see datasets/sg/sources/PROVENANCE.md)",
};
const CEA_INDIAN: SourceSpec<'static> = SourceSpec {
    id: "cea_indian_name_token_counts",
    path: "datasets/sg/sources/names/cea_indian_name_token_counts.csv",
    publisher:
        "Council for Estate Agencies, CEA Salesperson Information (data.gov.sg), token counts derived by personadb",
    table: "Tokens of Indian names (s/o, d/o): sex, role (own given name or father's), position, count",
    vintage: "register of February 2026",
    licence: "Singapore Open Data Licence",
    carrier: "agoagoagoago/Agency-Scrap@579a0ed91177 (see datasets/sg/sources/PROVENANCE.md)",
};
const US_SURNAMES: SourceSpec<'static> = SourceSpec {
    id: "us_census2010_surnames_white",
    path: "datasets/us/last_name_model.csv",
    publisher: "US Census Bureau, 2010 surname file (as derived by personadb for the us pack)",
    table: "Surnames with estimated bearers by race; the `white` column",
    vintage: "Census 2010",
    licence: "public domain",
    carrier: "datasets/us/manifest.json",
};

/// The name groups: whose naming conventions a persona follows, by ethnic group and (for
/// Indians) religion.
pub const NAME_GROUPS: [&str; 6] = ["Chinese", "Malay", "Indian", "Indian Muslim", "Indian Sikh", "Others"];
/// Name tokens that open a two-part Malay given name (Muhammad Farhan, Nur Aisyah, Siti Aminah).
/// Malay-register tokens that are also Chinese syllables or surnames but Malay or Muslim names too;
/// every other such token in a Malay-pattern name (a convert's Chinese name, `Muhammad Wei`) is
/// left out of the Malay given and father's names.
const MALAY_AND_CHINESE: [&str; 5] = ["DIAN", "HAKIM", "HAYATI", "KHAN", "NUR"];
const MALAY_PREFIXES: [&str; 16] = [
    "MUHAMMAD", "MOHAMED", "MOHAMMAD", "MOHAMAD", "MUHAMAD", "MOHD", "MOHAMMED", "NUR", "NURUL", "NOOR", "NOR", "SITI",
    "SYED", "SHARIFAH", "SHEIKH", "ABDUL",
];
/// Indian name tokens of Muslim naming (Arabic given names and the titles Beevi, Begum, Maricar).
const INDIAN_MUSLIM_TOKENS: [&str; 27] = [
    "MOHAMED",
    "MOHAMMED",
    "MUHAMMED",
    "MUHAMMAD",
    "MOHAMAD",
    "MOHD",
    "ABDUL",
    "AHAMED",
    "ALI",
    "AZIZ",
    "FAIZAL",
    "HAMEED",
    "HANIFFA",
    "HARUN",
    "IBRAHIM",
    "JABBAR",
    "KADER",
    "KHAN",
    "MARICAR",
    "BEEVI",
    "BEGUM",
    "BIVI",
    "SYED",
    "SHAIK",
    "RASHID",
    "ZUBAIDAH",
    "MOUGAMADOUSAGUID",
];
/// Indian name tokens of Sikh naming.
const INDIAN_SIKH_TOKENS: [&str; 11] = [
    "SINGH",
    "KAUR",
    "INDERJIT",
    "MANJIT",
    "RAVINDER",
    "KARTAR",
    "DARSHAN",
    "HARBHAJAN",
    "SUKHDEV",
    "SURJIT",
    "SARBJIT",
];
/// Fewer given names of a sex than this in an Indian group, and it borrows more (see `names`).
const MIN_GIVEN_NAMES: usize = 20;
/// Surnames kept for the Others group (most frequent among white bearers in the US table).
const OTHERS_SURNAMES: usize = 1000;

type Rows = Vec<Vec<String>>;

/// Derives `datasets/sg/` from the raw data directory.
pub fn derive(raw_dir: &Path, out_dir: &Path) -> Result<DeriveReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    let mut tables: Vec<TableRecord> = Vec::new();
    let mut choices: Vec<String> = Vec::new();
    let specs = [
        POPULATION,
        ETHNIC_AREA,
        ETHNIC_AGE,
        RELIGION_AREA,
        RELIGION_ETHNIC,
        RELIGION_SHARES,
        LANGUAGE_AREA,
        LANGUAGE_ETHNIC,
        EMPLOYED_INDUSTRY_MALE,
        EMPLOYED_INDUSTRY_FEMALE,
        EMPLOYED_OCCUPATION_MALE,
        EMPLOYED_OCCUPATION_FEMALE,
        OCCUPATION_INDUSTRY,
        SINGLE_SHARE,
        MARITAL_LABOUR,
        MARITAL_GHS,
        EDUCATION_EMPLOYED,
        EDUCATION_GHS,
        CEA_SURNAMES,
        CEA_CHINESE_GIVEN,
        CEA_SYLLABLES,
        CEA_ENGLISH,
        CEA_MALAY,
        CEA_INDIAN,
        US_SURNAMES,
    ];
    let sources = specs.iter().map(|s| s.record(raw_dir)).collect::<Result<Vec<_>>>()?;

    // Population: planning area × sex × single age, 15+.
    let population = population(raw_dir)?;
    let areas: Vec<String> = {
        let mut seen: Vec<String> = Vec::new();
        for (area, _, _, _) in &population {
            if !seen.contains(area) {
                seen.push(area.clone());
            }
        }
        seen
    };
    tables.push(write_table(
        out_dir,
        "population_area_sex_age.csv",
        &["planning_area", "sex", "age", "weight"],
        &population
            .iter()
            .map(|(a, s, g, w)| vec![a.clone(), s.clone(), g.to_string(), format!("{w:.3}")])
            .collect::<Rows>(),
        &[POPULATION.id],
        "Residents summed over the subzones of each planning area, ages 15-89 as published and the \
         `90_and_Over` group spread over 90-100 by Gompertz person-years; sex Males/Females -> Male/Female; \
         planning areas with no residents of these ages left out; weight = persons.",
    )?);
    choices.push(format!(
        "Ages 15 and over (the youngest age of the labour-force tables and of the dataset's life stages). \
         Planning areas: {} of the 55 have residents aged 15+ in June 2024 and can be drawn; the others \
         (water catchments, islands, industrial estates) have none.",
        areas.len()
    ));
    let band_of = |age: u32| AGE_BANDS.iter().position(|(_, lo, hi)| age >= *lo && age <= *hi).unwrap_or(0);
    // Persons by (area, sex, band).
    let mut by_area_sex_band: HashMap<(usize, usize, usize), f64> = HashMap::new();
    for (area, sex, age, w) in &population {
        let a = areas.iter().position(|x| x == area).unwrap_or(0);
        let s = SEXES.iter().position(|x| x == sex).unwrap_or(0);
        *by_area_sex_band.entry((a, s, band_of(*age))).or_default() += w;
    }

    // Ethnic group by planning area × sex × age band.
    let (ethnic_rows, ethnic_area_sex) = ethnic(raw_dir, &areas, &by_area_sex_band)?;
    tables.push(write_table(
        out_dir,
        "ethnic_model.csv",
        &["planning_area", "sex", "age_band", "ethnic_background", "weight"],
        &ethnic_rows,
        &[POPULATION.id, ETHNIC_AREA.id, ETHNIC_AGE.id],
        "Iterative proportional fit of planning area × sex × age band × ethnic group to three margins: persons \
         by planning area × sex × age band (June 2024, 15+); ethnic shares by planning area × sex (Census 2020, \
         all ages, summed over subzones) applied to those persons; ethnic group × sex × age band nationally \
         (M810011, 2022) scaled to the 15+ total. Weight = persons.",
    )?);
    tables.push(write_table(
        out_dir,
        "ethnic_area_sex.csv",
        &["planning_area", "sex", "ethnic_background", "weight"],
        &ethnic_area_sex,
        &[ETHNIC_AREA.id],
        "Census 2020 residents by planning area × sex × ethnic group (all ages, subzones summed): the published \
         margin the fidelity report compares against.",
    )?);
    choices.push(
        "Ethnic group: Census 2020 shares by planning area and sex (all ages: no table by planning area and age \
         was found) fitted to the national ethnic × sex × age structure of 2022, so younger Malay and older \
         Chinese age profiles hold nationally while each planning area keeps its ethnic mix."
            .into(),
    );

    // Religion and home language given ethnic group and planning area.
    let area_groups = census_area_groups(raw_dir, &areas)?;
    let ethnic_by_area = ethnic_totals_by_area(&ethnic_rows, &areas);
    let (religion_rows, religion_area) = religion(raw_dir, &areas, &area_groups, &ethnic_by_area)?;
    tables.push(write_table(
        out_dir,
        "religion_model.csv",
        &["ethnic_background", "planning_area", "religion", "weight"],
        &religion_rows,
        &[RELIGION_AREA.id, RELIGION_ETHNIC.id, RELIGION_SHARES.id, POPULATION.id, ETHNIC_AREA.id],
        "Iterative proportional fit of planning-area group × ethnic group × religion to: religion by planning \
         area (Census 2020, 15+; the 25 small planning areas form the published `Others` group); ethnic group by \
         planning area (ethnic_model.csv summed); the national ethnic × religion table built from CT/17459 \
         (No Religion, Buddhism, Taoism by ethnic group, exact) and the published within-ethnic shares of \
         Islam, Hinduism and Christianity (the rest fitted to the national religion totals). Each planning area \
         takes its group's table. Weight = persons 15+.",
    )?);
    tables.push(write_table(
        out_dir,
        "religion_area.csv",
        &["planning_area", "religion", "weight"],
        &religion_area,
        &[RELIGION_AREA.id],
        "Census 2020 residents 15+ by planning area × religion as published; each planning area of the published \
         `Others` group (the 25 small ones) takes that group's distribution, scaled to its persons.",
    )?);
    choices.push(
        "Religion depends on ethnic group and planning area. Census 2020 publishes religion × ethnic group only in \
         part (rows No Religion, Buddhism and Taoism were recovered); the within-ethnic shares of Islam (Malays \
         98.8%, Indians 23.4%, Chinese 0.5%), Hinduism (Indians 57.3%) and Christianity (Chinese 21.6%, Indians \
         12.6%) are the figures published with the census release, the Catholic/other-Christian split within \
         Christians is the national one, and Sikhs are Indians or Others only."
            .into(),
    );
    let (language_rows, language_area) = language(raw_dir, &areas, &area_groups, &ethnic_by_area)?;
    tables.push(write_table(
        out_dir,
        "language_model.csv",
        &["ethnic_background", "planning_area", "home_language", "weight"],
        &language_rows,
        &[LANGUAGE_AREA.id, LANGUAGE_ETHNIC.id, POPULATION.id, ETHNIC_AREA.id],
        "Iterative proportional fit of planning-area group × ethnic group × language to: language most spoken \
         at home by planning area (Census 2020, 5+); ethnic group by planning area (ethnic_model.csv summed); the \
         national ethnic × language table of GHS 2015 brought to the Census 2020 language totals (a 2-D fit: the \
         2015 association, the 2020 margins). Weight = persons.",
    )?);
    tables.push(write_table(
        out_dir,
        "language_area.csv",
        &["planning_area", "home_language", "weight"],
        &language_area,
        &[LANGUAGE_AREA.id],
        "Census 2020 residents 5+ by planning area × language most frequently spoken at home as published; each \
         planning area of the published `Others` group takes that group's distribution, scaled to its persons.",
    )?);
    choices.push(
        "Home language depends on ethnic group and planning area: the Census 2020 planning-area table with the \
         ethnic × language association of GHS 2015 (no Census 2020 ethnic × language table was found), updated to \
         the 2020 language totals. It does not depend on age here (no age table was found), though younger \
         Singaporeans speak English at home more often."
            .into(),
    );

    // Work: employed or not, occupation, industry.
    let labour = labour(raw_dir)?;
    let employment = employment(raw_dir, &labour, &population)?;
    tables.push(write_table(
        out_dir,
        "employment_model.csv",
        &["sex", "work_age_band", "employed", "weight"],
        &employment,
        &[EMPLOYED_INDUSTRY_MALE.id, EMPLOYED_INDUSTRY_FEMALE.id, EDUCATION_EMPLOYED.id, POPULATION.id],
        "Employed residents by sex × age band (M182141/M182151 totals, June 2024; the 65+ band split into 65-69 \
         and 70+ by MOM LFR 2024 table G4's employed residents of those ages) against residents by sex × age \
         band (June 2024): weight = persons employed (`yes`) and not (`no`).",
    )?);
    let occupation_rows = occupation_model(&labour);
    tables.push(write_table(
        out_dir,
        "occupation_model.csv",
        &["employed", "sex", "age_band", "occupation", "weight"],
        &occupation_rows,
        &[EMPLOYED_OCCUPATION_MALE.id, EMPLOYED_OCCUPATION_FEMALE.id],
        "Employed residents by SSOC major group × sex × age band (M182181/M182191, June 2024, thousands) for \
         `yes`; `Not Working` for `no`.",
    )?);
    let mut by_occupation = Vec::new();
    let mut by_industry = Vec::new();
    for (s, sex) in SEXES.iter().enumerate() {
        for (b, (band, _, _)) in AGE_BANDS.iter().enumerate() {
            for (o, occupation) in labour.occupations.iter().enumerate() {
                let w = labour.by_occupation.get(&(s, b, o)).copied().unwrap_or(0.0);
                by_occupation.push(vec![sex.to_string(), band.to_string(), occupation.clone(), format!("{w:.1}")]);
            }
            for (i, industry) in labour.industries.iter().enumerate() {
                let w = labour.by_industry.get(&(s, b, i)).copied().unwrap_or(0.0);
                by_industry.push(vec![sex.to_string(), band.to_string(), industry.clone(), format!("{w:.1}")]);
            }
        }
    }
    tables.push(write_table(
        out_dir,
        "occupation_sex_age.csv",
        &["sex", "age_band", "occupation", "weight"],
        &by_occupation,
        &[EMPLOYED_OCCUPATION_MALE.id, EMPLOYED_OCCUPATION_FEMALE.id],
        "Employed residents by sex × age band × SSOC major group as published (June 2024, thousands): the margin \
         the fidelity report compares against.",
    )?);
    tables.push(write_table(
        out_dir,
        "industry_sex_age.csv",
        &["sex", "age_band", "industry", "weight"],
        &by_industry,
        &[EMPLOYED_INDUSTRY_MALE.id, EMPLOYED_INDUSTRY_FEMALE.id],
        "Employed residents by sex × age band × industry as published (June 2024, thousands): the margin the \
         fidelity report compares against.",
    )?);
    let industry_rows = industry_model(raw_dir, &labour)?;
    tables.push(write_table(
        out_dir,
        "industry_model.csv",
        &["occupation", "sex", "age_band", "industry", "weight"],
        &industry_rows,
        &[OCCUPATION_INDUSTRY.id, EMPLOYED_INDUSTRY_MALE.id, EMPLOYED_INDUSTRY_FEMALE.id],
        "Iterative proportional fit of occupation × sex × age band × industry to occupation × industry \
         (M182081), industry × sex × age band (M182141/M182151) and occupation × sex × age band \
         (M182181/M182191), all June 2024; `Not Working` persons have industry `Not Working`.",
    )?);
    choices.push(
        "Work: whether a person is employed follows the employment rate by sex and age (June 2024). Employed \
         residents include full-time national servicemen, counted by MOM in Public Administration & Education, \
         which is why that industry dominates among men of 18-24. Occupation is the SSOC major group; the finer \
         SSOC titles have no published counts by sex and age, so job titles are left to the narratives. \
         Industry given occupation, sex and age is fitted from the three two-way tables (their three-way \
         association beyond them is unknown). Persons not employed (students, homemakers, retirees, the \
         unemployed: no table splits them by reason) have occupation and industry `Not Working`."
            .into(),
    );

    // Marital status and education by sex × age band.
    let (marital_rows, marital_notes) = marital(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "marital_model.csv",
        &["sex", "age_band", "marital_status", "weight"],
        &marital_rows,
        &[SINGLE_SHARE.id, MARITAL_LABOUR.id, MARITAL_GHS.id],
        "Per sex and age band: the share single from M810581 (2020) for 20-49 and from the resident labour \
         force (2015) for 15-19 and 50+; the rest split married vs widowed/divorced as in the labour force of \
         that sex and band (2015); widowed vs divorced/separated split by the national ratio for that sex (GHS \
         2015). Weight = share (each sex × band sums to 1).",
    )?);
    choices.push(marital_notes);
    let (education_rows, education_notes) = education(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "education_model.csv",
        &["sex", "age_band", "education_level", "weight"],
        &education_rows,
        &[EDUCATION_EMPLOYED.id, EDUCATION_GHS.id],
        "Employed residents by five qualification groups × sex × age band (MOM LFR 2024 table G4, 65-69 and 70+ \
         merged), each group split into SingStat's eight by the national shares within it (GHS 2015 CT/9141). \
         Weight = thousands.",
    )?);
    choices.push(education_notes);

    // Names by naming group.
    let names = names(raw_dir)?;
    let cea = [CEA_SURNAMES.id, CEA_CHINESE_GIVEN.id, CEA_SYLLABLES.id, CEA_ENGLISH.id, CEA_MALAY.id, CEA_INDIAN.id];
    tables.push(write_table(
        out_dir,
        "name_group_model.csv",
        &["ethnic_background", "religion", "name_group", "weight"],
        &names.groups,
        &[],
        "The naming conventions a persona follows: its ethnic group, and for Indians whether Muslim (Islam), \
         Sikh (Sikhism) or other; weight 1 (a function of the two).",
    )?);
    tables.push(write_table(
        out_dir,
        "first_name_model.csv",
        &["name_group", "sex", "first_name", "weight"],
        &names.first,
        &cea,
        "Chinese: the register's given names, split between the sexes by the English names they co-occur with \
         (a name's own counts when it has 3 or more such co-occurrences, else the mean over its syllables, \
         smoothed; a sex with under a quarter of a name's share gets none of it). Malay: one-token given names as counted, and two-part names (Muhammad Farhan, Nur Aisyah) as \
         an opening token (Muhammad, Nur, Siti, ...) times a second given token of the same sex. Indian: own given \
         tokens of the same sex, Muslim and Sikh tokens to their groups. Others: English given names of all \
         unmarked register names, split by sex with US SSA shares (under a quarter: none). Weight = register counts.",
    )?);
    tables.push(write_table(
        out_dir,
        "middle_name_model.csv",
        &["name_group", "sex", "middle_name", "weight"],
        &names.middle,
        &[],
        "The patronymic connector: bin/binte (Malay), s/o / d/o (the Indian groups); none (empty) for Chinese and \
         Others.",
    )?);
    tables.push(write_table(
        out_dir,
        "last_name_model.csv",
        &["name_group", "last_name", "weight"],
        &names.last,
        &[CEA_SURNAMES.id, CEA_MALAY.id, CEA_INDIAN.id, US_SURNAMES.id],
        "Chinese: surnames as counted. Malay, Indian: the father's name (father tokens of the register, the \
         openers Abdul, Mohamed, ... left out). Indian Sikh: the given name carries Singh or Kaur and the father's \
         name Singh (Manjit Kaur d/o Kartar Singh). Others: the most common surnames among white bearers of the US Census 2010 file \
         (substitute). Weight = counts.",
    )?);
    tables.push(write_table(
        out_dir,
        "english_name_model.csv",
        &["name_group", "sex", "english_name", "weight"],
        &names.english,
        &[CEA_ENGLISH.id, CEA_CHINESE_GIVEN.id],
        "Chinese: an English given name (the register's English names among Chinese-pattern names, split by sex \
         with US SSA shares, under a quarter: none) for the share of Chinese-pattern names that carry one, else none (empty). Other \
         groups: none.",
    )?);
    choices.push(
        "Names: the only Singapore name frequencies found are those of the CEA salesperson register (adults in \
         one profession: Chinese over-represented, Malays and Indians under-represented), used within each \
         group, never for group shares. The register gives no birth year, so names do not depend on age. Indian \
         given names there are few (about 390 marked names), so Indian names repeat more than they should; \
         Indian Muslims, with fewer than 20 given names of a sex there, also take the Malay given names (the \
         Arabic-derived names both communities use), weighted as much as their own. The \
         NLB name authorities the dataset's article cites were not found. Others (Eurasians, Caucasians, \
         Filipinos, ...) have English given names from the register and, with no Singapore surname table for \
         them, the commonest US surnames of white bearers as a stated substitute. English names take their sex from the US \
         Social Security shares (a name goes to a sex holding at least 5% of its bearers). \
         `preferred_english_name` is the \
         English name where there is one, else the given name."
            .into(),
    );

    let manifest = Manifest {
        locale: "sg".into(),
        generated_by: format!("personadb {} derive --locale sg", env!("CARGO_PKG_VERSION")),
        sources,
        tables: tables.clone(),
        choices,
    };
    write_manifest(out_dir, &manifest)?;
    Ok(DeriveReport { out_dir: out_dir.to_path_buf(), tables })
}

/// A number, `-` / empty as zero (SingStat's nil), thousands separators removed.
fn number(v: &str) -> f64 {
    v.replace(',', "").trim().parse().unwrap_or(0.0)
}

/// The index in [`SEXES`] of a sex label as the sources spell it (Male, Males, males, ...).
fn sex_index(label: &str) -> Option<usize> {
    match label.to_ascii_lowercase().as_str() {
        "male" | "males" => Some(0),
        "female" | "females" => Some(1),
        _ => None,
    }
}

/// The index in [`ETHNIC`] of an ethnic-group label as SingStat spells it (Chinese, Malays, ...).
fn ethnic_index(label: &str) -> Option<usize> {
    match label {
        "Chinese" => Some(0),
        "Malays" | "Malay" => Some(1),
        "Indians" | "Indian" => Some(2),
        "Others" => Some(3),
        _ => None,
    }
}

/// The age band holding age `lo`.
fn band_index(lo: u32) -> Option<usize> {
    AGE_BANDS.iter().position(|(_, l, h)| lo >= *l && lo <= *h)
}

/// Rows (planning area, sex, age, persons) for ages 15+.
fn population(raw_dir: &Path) -> Result<Vec<(String, String, u32, f64)>> {
    let path = POPULATION.path;
    let old = super::old_age_shares(90, MAX_AGE);
    let mut sums: BTreeMap<(String, String, u32), f64> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for row in read_csv(raw_dir, path)? {
        let area = field(&row, "PA", path)?.to_string();
        if !order.contains(&area) {
            order.push(area.clone());
        }
        let sex = match field(&row, "Sex", path)? {
            "Males" => MALE,
            "Females" => FEMALE,
            other => return Err(derr(path, format!("unknown sex `{other}`"))),
        };
        let pop = number(field(&row, "Pop", path)?);
        let age = field(&row, "Age", path)?;
        if age == "90_and_Over" {
            for (a, s) in (90..=MAX_AGE).zip(&old) {
                *sums.entry((area.clone(), sex.into(), a)).or_default() += pop * s;
            }
            continue;
        }
        let age: u32 = age.parse().map_err(|_| derr(path, format!("age `{age}`")))?;
        if age >= MIN_AGE {
            *sums.entry((area, sex.into(), age)).or_default() += pop;
        }
    }
    let mut area_total: HashMap<String, f64> = HashMap::new();
    for ((a, _, _), w) in &sums {
        *area_total.entry(a.clone()).or_default() += w;
    }
    let mut rows = Vec::new();
    for area in order.iter().filter(|a| area_total.get(*a).copied().unwrap_or(0.0) > 0.0) {
        for sex in SEXES {
            for age in MIN_AGE..=MAX_AGE {
                let w = sums.get(&(area.clone(), sex.to_string(), age)).copied().unwrap_or(0.0);
                if w > 0.0 {
                    rows.push((area.clone(), sex.to_string(), age, w));
                }
            }
        }
    }
    if rows.is_empty() {
        return Err(derr(path, "no residents aged 15+"));
    }
    Ok(rows)
}

/// "ANG MO KIO" and "Ang Mo Kio" are the same planning area.
fn same_area(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// The ethnic model rows and the published (area, sex, ethnic) table.
fn ethnic(raw_dir: &Path, areas: &[String], persons: &HashMap<(usize, usize, usize), f64>) -> Result<(Rows, Rows)> {
    // Census 2020: planning area × sex × ethnic group, all ages.
    let path = ETHNIC_AREA.path;
    let columns = [
        ("Chinese Males", "Chinese Females"),
        ("Malay Males", "Malay Females"),
        ("Indian Males", "Indian Females"),
        ("Others Male", "Others_Females"),
    ];
    let (na, nb, ne) = (areas.len(), AGE_BANDS.len(), ETHNIC.len());
    let mut census = vec![0.0f64; na * 2 * ne];
    for row in read_csv(raw_dir, path)? {
        let name = field(&row, "Planning Area", path)?;
        // Areas with no residents of 15+ in 2024 are not drawn, so not fitted.
        let Some(a) = areas.iter().position(|x| same_area(x, name)) else { continue };
        for (e, (m, f)) in columns.iter().enumerate() {
            census[(a * 2) * ne + e] += number(field(&row, m, path)?);
            census[(a * 2 + 1) * ne + e] += number(field(&row, f, path)?);
        }
    }
    // National ethnic × sex × band (2022), 15+.
    let path_age = ETHNIC_AGE.path;
    let mut national = vec![0.0f64; 2 * nb * ne];
    for row in read_csv(raw_dir, path_age)? {
        if field(&row, "year", path_age)? != "2022" {
            continue;
        }
        let Some(e) = ethnic_index(field(&row, "ethnic_group", path_age)?) else { continue };
        let Some(s) = sex_index(field(&row, "sex", path_age)?) else { continue };
        let label = field(&row, "age_group", path_age)?;
        // 5-year groups "15 - 19 Years" … "85 - 89 Years" and "90 Years & Over".
        let lo: Option<u32> = if label == "90 Years & Over" {
            Some(90)
        } else {
            label.split(" - ").next().and_then(|l| l.trim().parse().ok()).filter(|_| label.contains(" - "))
        };
        let Some(lo) = lo.filter(|lo| *lo >= MIN_AGE) else { continue };
        let b = band_index(lo).unwrap_or(nb - 1);
        national[(s * nb + b) * ne + e] += number(field(&row, "residents", path_age)?);
    }
    if national.iter().sum::<f64>() <= 0.0 {
        return Err(derr(path_age, "no 2022 rows by ethnic group, sex and age"));
    }
    // Table: area × sex × band × ethnic.
    let cell = |a: usize, s: usize, b: usize, e: usize| ((a * 2 + s) * nb + b) * ne + e;
    let cells = na * 2 * nb * ne;
    let mut seed = vec![1.0f64; cells];
    let mut m_asb = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; na * 2 * nb] };
    let mut m_ase = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; na * 2 * ne] };
    let mut m_sbe = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; 2 * nb * ne] };
    for a in 0..na {
        for s in 0..2 {
            let area_sex: f64 = (0..nb).map(|b| persons.get(&(a, s, b)).copied().unwrap_or(0.0)).sum();
            let census_total: f64 = (0..ne).map(|e| census[(a * 2 + s) * ne + e]).sum();
            for b in 0..nb {
                m_asb.targets[(a * 2 + s) * nb + b] = persons.get(&(a, s, b)).copied().unwrap_or(0.0);
                for e in 0..ne {
                    let c = cell(a, s, b, e);
                    m_asb.group_of[c] = ((a * 2 + s) * nb + b) as u32;
                    m_ase.group_of[c] = ((a * 2 + s) * ne + e) as u32;
                    m_sbe.group_of[c] = ((s * nb + b) * ne + e) as u32;
                    // No census residents of this group in the area: none here either.
                    if census_total > 0.0 && census[(a * 2 + s) * ne + e] <= 0.0 {
                        seed[c] = 0.0;
                    }
                }
            }
            for e in 0..ne {
                m_ase.targets[(a * 2 + s) * ne + e] = if census_total > 0.0 {
                    area_sex * census[(a * 2 + s) * ne + e] / census_total
                } else {
                    // An area the census table lacks: the national mix.
                    area_sex / ne as f64
                };
            }
        }
    }
    let total: f64 = m_asb.targets.iter().sum();
    let national_total: f64 = national.iter().sum();
    m_sbe.targets = national.iter().map(|x| x * total / national_total).collect();
    let (fit, _) = fit_groups(&seed, &[m_sbe, m_ase, m_asb], 200);
    let mut rows = Vec::new();
    for (a, area) in areas.iter().enumerate() {
        for (s, sex) in SEXES.iter().enumerate() {
            for (b, (band, _, _)) in AGE_BANDS.iter().enumerate() {
                for (e, ethnic) in ETHNIC.iter().enumerate() {
                    let w = fit[cell(a, s, b, e)];
                    if w > 0.0 {
                        rows.push(vec![
                            area.clone(),
                            sex.to_string(),
                            band.to_string(),
                            ethnic.to_string(),
                            format!("{w:.3}"),
                        ]);
                    }
                }
            }
        }
    }
    let mut published = Vec::new();
    for (a, area) in areas.iter().enumerate() {
        for (s, sex) in SEXES.iter().enumerate() {
            for (e, ethnic) in ETHNIC.iter().enumerate() {
                let w = census[(a * 2 + s) * ne + e];
                if w > 0.0 {
                    published.push(vec![area.clone(), sex.to_string(), ethnic.to_string(), format!("{w:.0}")]);
                }
            }
        }
    }
    Ok((rows, published))
}

/// Persons by (area, ethnic) from the ethnic model rows.
fn ethnic_totals_by_area(rows: &Rows, areas: &[String]) -> Vec<[f64; 4]> {
    let mut out = vec![[0.0f64; 4]; areas.len()];
    for r in rows {
        let (Some(a), Some(e)) = (areas.iter().position(|x| *x == r[0]), ETHNIC.iter().position(|x| *x == r[3])) else {
            continue;
        };
        out[a][e] += r[4].parse::<f64>().unwrap_or(0.0);
    }
    out
}

/// The group of each planning area in the Census 2020 planning-area tables: its own row, or
/// the `Others` row (index = the number of named rows). Returns (group names, group of area).
fn census_area_groups(raw_dir: &Path, areas: &[String]) -> Result<(Vec<String>, Vec<usize>)> {
    let path = RELIGION_AREA.path;
    let mut names: Vec<String> = Vec::new();
    for row in read_csv(raw_dir, path)? {
        let name = field(&row, "Number", path)?;
        if name != "Total" && name != "Others" {
            names.push(name.to_string());
        }
    }
    let others = names.len();
    let group_of = areas.iter().map(|a| names.iter().position(|n| same_area(n, a)).unwrap_or(others)).collect();
    names.push("Others".into());
    Ok((names, group_of))
}

/// A planning-area table of the census: per group (named rows then `Others`), the values of
/// `columns`.
fn area_table(raw_dir: &Path, path: &str, groups: &[String], columns: &[&str]) -> Result<Vec<Vec<f64>>> {
    let mut out = vec![vec![0.0; columns.len()]; groups.len()];
    let mut found = vec![false; groups.len()];
    for row in read_csv(raw_dir, path)? {
        let name = field(&row, "Number", path)?;
        let Some(g) = groups.iter().position(|n| n == name) else { continue };
        for (c, col) in columns.iter().enumerate() {
            out[g][c] = number(field(&row, col, path)?);
        }
        found[g] = true;
    }
    if let Some(g) = found.iter().position(|f| !f) {
        return Err(derr(path, format!("no row for planning area `{}`", groups[g])));
    }
    Ok(out)
}

/// Fits group × ethnic × category to (group, category), (group, ethnic) and (ethnic,
/// category) and returns the table (group, ethnic, category), row-major.
fn fit_area_ethnic(area_cat: &[Vec<f64>], area_ethnic: &[[f64; 4]], ethnic_cat: &[Vec<f64>]) -> Vec<f64> {
    let (ng, nc) = (area_cat.len(), ethnic_cat[0].len());
    let ne = 4;
    let cell = |g: usize, e: usize, c: usize| (g * ne + e) * nc + c;
    let cells = ng * ne * nc;
    let mut seed = vec![1.0f64; cells];
    for g in 0..ng {
        for e in 0..ne {
            for c in 0..nc {
                if ethnic_cat[e][c] <= 0.0 || area_cat[g][c] <= 0.0 || area_ethnic[g][e] <= 0.0 {
                    seed[cell(g, e, c)] = 0.0;
                }
            }
        }
    }
    // Every margin on the scale of the persons of the ethnic model.
    let total: f64 = area_ethnic.iter().flat_map(|r| r.iter()).sum();
    let mut m_gc = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; ng * nc] };
    let mut m_ge = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; ng * ne] };
    let mut m_ec = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; ne * nc] };
    for g in 0..ng {
        let persons: f64 = area_ethnic[g].iter().sum();
        let published: f64 = area_cat[g].iter().sum();
        for c in 0..nc {
            m_gc.targets[g * nc + c] = if published > 0.0 { persons * area_cat[g][c] / published } else { 0.0 };
        }
        for e in 0..ne {
            m_ge.targets[g * ne + e] = area_ethnic[g][e];
            for c in 0..nc {
                let i = cell(g, e, c);
                m_gc.group_of[i] = (g * nc + c) as u32;
                m_ge.group_of[i] = (g * ne + e) as u32;
                m_ec.group_of[i] = (e * nc + c) as u32;
            }
        }
    }
    let national: f64 = ethnic_cat.iter().flat_map(|r| r.iter()).sum();
    for e in 0..ne {
        for c in 0..nc {
            m_ec.targets[e * nc + c] = ethnic_cat[e][c] * total / national;
        }
    }
    fit_groups(&seed, &[m_ec, m_gc, m_ge], 300).0
}

/// Rows (ethnic, planning area, category, weight) from a group-level fit.
fn expand_by_area(
    fit: &[f64],
    labels: &[&str],
    areas: &[String],
    group_of: &[usize],
    area_ethnic: &[[f64; 4]],
) -> Rows {
    let nc = labels.len();
    let mut rows = Vec::new();
    for (e, ethnic) in ETHNIC.iter().enumerate() {
        for (a, area) in areas.iter().enumerate() {
            if area_ethnic[a][e] <= 0.0 {
                continue;
            }
            let g = group_of[a];
            for (c, label) in labels.iter().enumerate() {
                let w = fit[(g * 4 + e) * nc + c];
                if w > 0.0 {
                    rows.push(vec![ethnic.to_string(), area.clone(), label.to_string(), format!("{w:.3}")]);
                }
            }
        }
    }
    rows
}

/// A published planning-area table as rows (area, category, weight) for every planning area:
/// a named area's own row, and for the areas of the `Others` group that group's distribution
/// scaled to the area's persons.
fn published_by_area(
    table: &[Vec<f64>],
    labels: &[&str],
    areas: &[String],
    group_of: &[usize],
    area_ethnic: &[[f64; 4]],
) -> Rows {
    let mut group_persons = vec![0.0f64; table.len()];
    for (a, row) in area_ethnic.iter().enumerate() {
        group_persons[group_of[a]] += row.iter().sum::<f64>();
    }
    let mut rows = Vec::new();
    for (a, area) in areas.iter().enumerate() {
        let g = group_of[a];
        let persons: f64 = area_ethnic[a].iter().sum();
        let share = if group_persons[g] > 0.0 { persons / group_persons[g] } else { 0.0 };
        for (c, label) in labels.iter().enumerate() {
            let w = table[g][c] * share;
            if w > 0.0 {
                rows.push(vec![area.clone(), label.to_string(), format!("{w:.1}")]);
            }
        }
    }
    rows
}

/// Group-level (group, ethnic) persons from area-level ones.
fn group_ethnic(area_ethnic: &[[f64; 4]], group_of: &[usize], groups: usize) -> Vec<[f64; 4]> {
    let mut out = vec![[0.0f64; 4]; groups];
    for (a, row) in area_ethnic.iter().enumerate() {
        for e in 0..4 {
            out[group_of[a]][e] += row[e];
        }
    }
    out
}

/// The religion model rows and the published (area, religion) table.
fn religion(
    raw_dir: &Path,
    areas: &[String],
    (groups, group_of): &(Vec<String>, Vec<usize>),
    area_ethnic: &[[f64; 4]],
) -> Result<(Rows, Rows)> {
    let columns: Vec<&str> = RELIGIONS.iter().map(|(_, c)| *c).collect();
    let area_rel = area_table(raw_dir, RELIGION_AREA.path, groups, &columns)?;
    let national: Vec<f64> = (0..RELIGIONS.len()).map(|c| area_rel.iter().map(|r| r[c]).sum()).collect();
    let ethnic_rel = religion_by_ethnic(raw_dir, &national)?;
    let ge = group_ethnic(area_ethnic, group_of, groups.len());
    let fit = fit_area_ethnic(&area_rel, &ge, &ethnic_rel);
    let labels: Vec<&str> = RELIGIONS.iter().map(|(l, _)| *l).collect();
    let rows = expand_by_area(&fit, &labels, areas, group_of, area_ethnic);
    Ok((rows, published_by_area(&area_rel, &labels, areas, group_of, area_ethnic)))
}

/// National religion × ethnic group (15+, 2020), rows in [`ETHNIC`] order and columns in
/// [`RELIGIONS`] order: the published rows of CT/17459, the published within-ethnic shares,
/// and a 2-D fit of the rest to the national religion totals.
fn religion_by_ethnic(raw_dir: &Path, national: &[f64]) -> Result<Vec<Vec<f64>>> {
    let path = RELIGION_ETHNIC.path;
    let mut partial: HashMap<(String, usize), f64> = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "sex", path)? != "Total" {
            continue;
        }
        let Some(e) = ethnic_index(field(&row, "ethnic_group", path)?) else { continue };
        partial.insert((field(&row, "religion", path)?.to_string(), e), number(field(&row, "residents_15plus", path)?));
    }
    let get = |religion: &str, e: usize| -> Result<f64> {
        partial
            .get(&(religion.to_string(), e))
            .copied()
            .ok_or_else(|| derr(path, format!("no row {religion} × {}", ETHNIC[e])))
    };
    let shares_path = RELIGION_SHARES.path;
    let mut shares: HashMap<(String, usize), f64> = HashMap::new();
    for row in read_csv(raw_dir, shares_path)? {
        let Some(e) = ethnic_index(field(&row, "ethnic_group", shares_path)?) else { continue };
        shares.insert(
            (field(&row, "religion", shares_path)?.to_string(), e),
            number(field(&row, "percent", shares_path)?) / 100.0,
        );
    }
    let nc = RELIGIONS.len();
    let mut table = vec![vec![0.0f64; nc]; 4];
    let christian_total = national[6] + national[7];
    let catholic_share = if christian_total > 0.0 { national[6] / christian_total } else { 0.5 };
    let mut rest_rows = vec![0.0f64; 4];
    let mut fixed = vec![vec![false; nc]; 4];
    for e in 0..4 {
        let total = get("Total", e)?;
        table[e][0] = get("No Religion", e)?;
        table[e][1] = get("Buddhism", e)?;
        table[e][2] = get("Taoism", e)?;
        for c in 0..3 {
            fixed[e][c] = true;
        }
        let mut rest = get("With Religion", e)? - table[e][1] - table[e][2];
        if let Some(s) = shares.get(&("Islam".to_string(), e)) {
            table[e][3] = s * total;
            fixed[e][3] = true;
            rest -= table[e][3];
        }
        if let Some(s) = shares.get(&("Hinduism".to_string(), e)) {
            table[e][4] = s * total;
            fixed[e][4] = true;
            rest -= table[e][4];
        }
        if let Some(s) = shares.get(&("Christianity".to_string(), e)) {
            table[e][6] = s * total * catholic_share;
            table[e][7] = s * total * (1.0 - catholic_share);
            fixed[e][6] = true;
            fixed[e][7] = true;
            rest -= table[e][6] + table[e][7];
        }
        rest_rows[e] = rest.max(0.0);
    }
    // The cells left open: fitted to each ethnic group's rest and each religion's national rest.
    let open = |e: usize, c: usize| {
        !fixed[e][c]
            && match c {
                // Hindus and Sikhs among Chinese and Malays are too few to publish: none.
                4 | 5 => e >= 2,
                _ => true,
            }
    };
    let col_rest: Vec<f64> = (0..nc)
        .map(|c| (national[c] - (0..4).filter(|&e| !open(e, c)).map(|e| table[e][c]).sum::<f64>()).max(0.0))
        .collect();
    let seed: Vec<f64> =
        (0..4).flat_map(|e| (0..nc).map(move |c| (e, c))).map(|(e, c)| if open(e, c) { 1.0 } else { 0.0 }).collect();
    let (fit, _) = super::ipf::fit_2d(&seed, 4, nc, &rest_rows, &col_rest, 500);
    for e in 0..4 {
        for c in 0..nc {
            if open(e, c) {
                table[e][c] = fit[e * nc + c];
            }
        }
    }
    Ok(table)
}

/// The language model rows and the published (area, language) table.
fn language(
    raw_dir: &Path,
    areas: &[String],
    (groups, group_of): &(Vec<String>, Vec<usize>),
    area_ethnic: &[[f64; 4]],
) -> Result<(Rows, Rows)> {
    let columns: Vec<&str> = LANGUAGES.iter().map(|(_, c)| *c).collect();
    let area_lang = area_table(raw_dir, LANGUAGE_AREA.path, groups, &columns)?;
    let national: Vec<f64> = (0..LANGUAGES.len()).map(|c| area_lang.iter().map(|r| r[c]).sum()).collect();
    // GHS 2015 ethnic × language, brought to the 2020 language totals and ethnic totals.
    let path = LANGUAGE_ETHNIC.path;
    let nc = LANGUAGES.len();
    let mut seed = vec![0.0f64; 4 * nc];
    for row in read_csv(raw_dir, path)? {
        if field(&row, "highest_qualification", path)? != "Total" {
            continue;
        }
        let Some(e) = ethnic_index(field(&row, "ethnic_group", path)?) else { continue };
        let language = field(&row, "language_most_frequently_spoken_at_home", path)?;
        let Some(c) = LANGUAGES.iter().position(|(l, _)| *l == language) else {
            return Err(derr(path, format!("unknown language `{language}`")));
        };
        seed[e * nc + c] += number(field(&row, "thousands", path)?);
    }
    let ge = group_ethnic(area_ethnic, group_of, groups.len());
    let ethnic_totals: Vec<f64> = (0..4).map(|e| ge.iter().map(|r| r[e]).sum()).collect();
    let (updated, _) = super::ipf::fit_2d(&seed, 4, nc, &ethnic_totals, &national, 500);
    let ethnic_lang: Vec<Vec<f64>> = (0..4).map(|e| updated[e * nc..(e + 1) * nc].to_vec()).collect();
    let fit = fit_area_ethnic(&area_lang, &ge, &ethnic_lang);
    let labels: Vec<&str> = LANGUAGES.iter().map(|(l, _)| *l).collect();
    let rows = expand_by_area(&fit, &labels, areas, group_of, area_ethnic);
    Ok((rows, published_by_area(&area_lang, &labels, areas, group_of, area_ethnic)))
}

/// Employed residents of June 2024 (thousands): by (sex, band) total, by (sex, band,
/// occupation) and by (sex, band, industry).
struct Labour {
    occupations: Vec<String>,
    industries: Vec<String>,
    total: HashMap<(usize, usize), f64>,
    by_occupation: HashMap<(usize, usize, usize), f64>,
    by_industry: HashMap<(usize, usize, usize), f64>,
}

/// The pack's label of a SingStat occupation label.
fn occupation_label(label: &str) -> String {
    match label {
        "Managers & Administrators (Including Working Proprietors)" => "Managers & Administrators".into(),
        "Craftsmen & Related Trades Workers" => "Craftsmen & Related Trade Workers".into(),
        "Others" | "Other Occupation Groups Nes" => "Other Occupations".into(),
        other => other.into(),
    }
}

/// The pack's label of a SingStat industry label.
fn industry_label(label: &str) -> String {
    match label {
        "Public Administration & Education Services" => "Public Administration & Education".into(),
        "Other Industries Nes" => "Others".into(),
        other => other.into(),
    }
}

/// "Employed Male Residents Aged 15 - 19 Years" -> band index; "… 65 Years & Over" -> the last.
fn labour_band(label: &str) -> Option<usize> {
    let rest = label.split(" Aged ").nth(1)?;
    band_index(rest.split([' ', '-']).next()?.trim().parse().ok()?)
}

fn labour(raw_dir: &Path) -> Result<Labour> {
    let mut l = Labour {
        occupations: Vec::new(),
        industries: Vec::new(),
        total: HashMap::new(),
        by_occupation: HashMap::new(),
        by_industry: HashMap::new(),
    };
    for (s, spec) in [EMPLOYED_OCCUPATION_MALE, EMPLOYED_OCCUPATION_FEMALE].iter().enumerate() {
        for row in read_csv(raw_dir, spec.path)? {
            if field(&row, "year", spec.path)? != "2024" {
                continue;
            }
            let series = field(&row, "series_path", spec.path)?;
            let Some((head, label)) = series.split_once(" > ") else { continue };
            let Some(b) = labour_band(head) else { continue };
            let occupation = occupation_label(label);
            if !l.occupations.contains(&occupation) {
                l.occupations.push(occupation.clone());
            }
            let o = l.occupations.iter().position(|x| *x == occupation).unwrap_or(0);
            *l.by_occupation.entry((s, b, o)).or_default() += number(field(&row, "value", spec.path)?);
        }
    }
    for (s, spec) in [EMPLOYED_INDUSTRY_MALE, EMPLOYED_INDUSTRY_FEMALE].iter().enumerate() {
        for row in read_csv(raw_dir, spec.path)? {
            if field(&row, "year", spec.path)? != "2024" {
                continue;
            }
            let series = field(&row, "series_path", spec.path)?;
            let level = field(&row, "level", spec.path)?;
            let value = number(field(&row, "value", spec.path)?);
            let mut parts = series.split(" > ");
            let Some(b) = parts.next().and_then(labour_band) else { continue };
            let leaf: Vec<&str> = parts.collect();
            match (level, leaf.as_slice()) {
                ("0", []) => *l.total.entry((s, b)).or_default() += value,
                // Manufacturing, Construction, Others at level 1; the services at level 2.
                ("1", [top]) if *top != "Services" => {}
                ("2", ["Services", _]) => {}
                _ => continue,
            }
            let Some(label) = leaf.last() else { continue };
            let industry = industry_label(label);
            if !l.industries.contains(&industry) {
                l.industries.push(industry.clone());
            }
            let i = l.industries.iter().position(|x| *x == industry).unwrap_or(0);
            *l.by_industry.entry((s, b, i)).or_default() += value;
        }
    }
    if l.total.is_empty() || l.occupations.is_empty() || l.industries.is_empty() {
        return Err(derr(EMPLOYED_INDUSTRY_MALE.path, "no 2024 employed residents by age"));
    }
    Ok(l)
}

fn employment(raw_dir: &Path, labour: &Labour, population: &[(String, String, u32, f64)]) -> Result<Rows> {
    // Employed residents 65-69 and 70+ by sex (G4, thousands): how the 65+ employed divide.
    let path = EDUCATION_EMPLOYED.path;
    let mut old_age: HashMap<(usize, bool), f64> = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "table", path)? != "G4" || field(&row, "column", path)? != "Total" {
            continue;
        }
        let Some(s) = sex_index(field(&row, "sex", path)?) else { continue };
        let seventy = match field(&row, "row", path)? {
            "65 - 69" => false,
            "70 & Over" => true,
            _ => continue,
        };
        *old_age.entry((s, seventy)).or_default() += number(field(&row, "thousands", path)?);
    }
    let last = AGE_BANDS.len() - 1;
    let mut rows = Vec::new();
    for (s, sex) in SEXES.iter().enumerate() {
        let (young_old, oldest) =
            (old_age.get(&(s, false)).copied().unwrap_or(0.0), old_age.get(&(s, true)).copied().unwrap_or(0.0));
        if young_old + oldest <= 0.0 {
            return Err(derr(path, format!("no G4 employed residents of 65-69 and 70+ for {sex}")));
        }
        for (band, lo, hi) in WORK_BANDS {
            let people: f64 = population
                .iter()
                .filter(|(_, ps, age, _)| ps == sex && *age >= lo && *age <= hi)
                .map(|(_, _, _, w)| w)
                .sum();
            let b = band_index(lo).unwrap_or(last);
            let mut employed = labour.total.get(&(s, b)).copied().unwrap_or(0.0) * 1000.0;
            if b == last {
                employed *= if lo >= 70 { oldest } else { young_old } / (young_old + oldest);
            }
            let employed = employed.min(people);
            rows.push(vec![sex.to_string(), band.to_string(), "yes".into(), format!("{employed:.0}")]);
            rows.push(vec![sex.to_string(), band.to_string(), "no".into(), format!("{:.0}", people - employed)]);
        }
    }
    Ok(rows)
}

fn occupation_model(labour: &Labour) -> Rows {
    let mut rows = Vec::new();
    for (s, sex) in SEXES.iter().enumerate() {
        for (b, (band, _, _)) in AGE_BANDS.iter().enumerate() {
            for (o, occupation) in labour.occupations.iter().enumerate() {
                let w = labour.by_occupation.get(&(s, b, o)).copied().unwrap_or(0.0);
                if w > 0.0 {
                    rows.push(vec![
                        "yes".into(),
                        sex.to_string(),
                        band.to_string(),
                        occupation.clone(),
                        format!("{w:.1}"),
                    ]);
                }
            }
            rows.push(vec!["no".into(), sex.to_string(), band.to_string(), NOT_WORKING.into(), "1".into()]);
        }
    }
    rows
}

fn industry_model(raw_dir: &Path, labour: &Labour) -> Result<Rows> {
    // Occupation × industry (thousands), 2024.
    let path = OCCUPATION_INDUSTRY.path;
    let (no, ni, nb) = (labour.occupations.len(), labour.industries.len(), AGE_BANDS.len());
    let mut occ_ind = vec![0.0f64; no * ni];
    for row in read_csv(raw_dir, path)? {
        if field(&row, "year", path)? != "2024" {
            continue;
        }
        let series = field(&row, "series_path", path)?;
        let parts: Vec<&str> = series.split(" > ").collect();
        let leaf = match parts.as_slice() {
            [_, top] if *top != "Services" => *top,
            [_, "Services", sub] => *sub,
            _ => continue,
        };
        let Some(o) = labour.occupations.iter().position(|x| *x == occupation_label(parts[0])) else { continue };
        let Some(i) = labour.industries.iter().position(|x| *x == industry_label(leaf)) else {
            return Err(derr(path, format!("unknown industry `{leaf}`")));
        };
        occ_ind[o * ni + i] += number(field(&row, "value", path)?);
    }
    let cell = |o: usize, s: usize, b: usize, i: usize| ((o * 2 + s) * nb + b) * ni + i;
    let cells = no * 2 * nb * ni;
    let mut seed = vec![1.0f64; cells];
    let mut m_oi = GroupMargin { group_of: vec![0; cells], targets: occ_ind.clone() };
    let mut m_sbi = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; 2 * nb * ni] };
    let mut m_osb = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; no * 2 * nb] };
    for o in 0..no {
        for s in 0..2 {
            for b in 0..nb {
                m_osb.targets[(o * 2 + s) * nb + b] = labour.by_occupation.get(&(s, b, o)).copied().unwrap_or(0.0);
                for i in 0..ni {
                    let c = cell(o, s, b, i);
                    m_oi.group_of[c] = (o * ni + i) as u32;
                    m_sbi.group_of[c] = ((s * nb + b) * ni + i) as u32;
                    m_osb.group_of[c] = ((o * 2 + s) * nb + b) as u32;
                    if occ_ind[o * ni + i] <= 0.0 {
                        seed[c] = 0.0;
                    }
                }
            }
        }
    }
    for s in 0..2 {
        for b in 0..nb {
            for i in 0..ni {
                m_sbi.targets[(s * nb + b) * ni + i] = labour.by_industry.get(&(s, b, i)).copied().unwrap_or(0.0);
            }
        }
    }
    let (fit, _) = fit_groups(&seed, &[m_oi, m_sbi, m_osb], 300);
    let mut rows = Vec::new();
    for (o, occupation) in labour.occupations.iter().enumerate() {
        for (s, sex) in SEXES.iter().enumerate() {
            for (b, (band, _, _)) in AGE_BANDS.iter().enumerate() {
                let mut any = false;
                for (i, industry) in labour.industries.iter().enumerate() {
                    let w = fit[cell(o, s, b, i)];
                    if w > 1e-6 {
                        any = true;
                        rows.push(vec![
                            occupation.clone(),
                            sex.to_string(),
                            band.to_string(),
                            industry.clone(),
                            format!("{w:.4}"),
                        ]);
                    }
                }
                if !any {
                    // No such worker in the tables: the occupation's national industry mix.
                    for (i, industry) in labour.industries.iter().enumerate() {
                        let w = occ_ind[o * ni + i];
                        if w > 0.0 {
                            rows.push(vec![
                                occupation.clone(),
                                sex.to_string(),
                                band.to_string(),
                                industry.clone(),
                                format!("{w:.4}"),
                            ]);
                        }
                    }
                }
            }
        }
    }
    for sex in SEXES {
        for (band, _, _) in AGE_BANDS {
            rows.push(vec![NOT_WORKING.into(), sex.into(), band.into(), NOT_WORKING.into(), "1".into()]);
        }
    }
    Ok(rows)
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
                // No university degree before 20.
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
                qualified like the employed of their sex and age, which overstates qualifications at older ages."
        .to_string();
    Ok((rows, note))
}

/// The name tables.
struct Names {
    groups: Rows,
    first: Rows,
    middle: Rows,
    last: Rows,
    english: Rows,
}

/// "AI LING" -> "Ai Ling", "TZE-HOU" -> "Tze-Hou", "D'SOUZA" -> "D'Souza".
fn name_case(upper: &str) -> String {
    let mut out = String::with_capacity(upper.len());
    let mut start = true;
    for c in upper.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = matches!(c, ' ' | '-' | '\'');
    }
    out
}

/// The female share a name is drawn with, from the share of its bearers who are women: a name is
/// given to a sex only where at least a quarter of its bearers are of that sex. The share decides
/// the sex of a name, not a cross-sex draw: readers take a woman named Joel or Kim Leong, or a man
/// named Hwee Sian, for an error, and the register's few co-occurrences (or the syllable mean) of a
/// rare name cannot tell a minority use from noise.
fn name_sex_share(female: f64) -> f64 {
    match female {
        f if f < 0.25 => 0.0,
        f if f > 0.75 => 1.0,
        f => f,
    }
}

fn names(raw_dir: &Path) -> Result<Names> {
    let mut groups = Vec::new();
    for ethnic in ETHNIC {
        for (religion, _) in RELIGIONS {
            let group = match (ethnic, religion) {
                ("Indian", "Islam") => "Indian Muslim",
                ("Indian", "Sikhism") => "Indian Sikh",
                (e, _) => e,
            };
            groups.push(vec![ethnic.to_string(), religion.to_string(), group.to_string(), "1".into()]);
        }
    }
    let mut first: Rows = Vec::new();
    let push = |rows: &mut Rows, group: &str, sex: &str, name: String, w: f64| {
        if w > 0.0 && !name.is_empty() {
            rows.push(vec![group.to_string(), sex.to_string(), name, format!("{w:.3}")]);
        }
    };
    // Chinese given names, split by sex.
    let path = CEA_SYLLABLES.path;
    let mut syllable_female: HashMap<String, f64> = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        let f = number(field(&row, "n_with_female_english_name", path)?);
        let m = number(field(&row, "n_with_male_english_name", path)?);
        syllable_female.insert(field(&row, "syllable", path)?.to_string(), (f + 1.0) / (f + m + 2.0));
    }
    let path = CEA_CHINESE_GIVEN.path;
    for row in read_csv(raw_dir, path)? {
        let name = field(&row, "given_name", path)?;
        let count = number(field(&row, "count", path)?);
        let f = number(field(&row, "n_with_female_english_name", path)?);
        let m = number(field(&row, "n_with_male_english_name", path)?);
        let female = if f + m >= 3.0 {
            (f + 0.5) / (f + m + 1.0)
        } else {
            let parts: Vec<f64> = name.split([' ', '-']).filter_map(|s| syllable_female.get(s).copied()).collect();
            if parts.is_empty() {
                0.5
            } else {
                parts.iter().sum::<f64>() / parts.len() as f64
            }
        };
        let female = name_sex_share(female);
        push(&mut first, "Chinese", FEMALE, name_case(name), count * female);
        push(&mut first, "Chinese", MALE, name_case(name), count * (1.0 - female));
    }
    // English names: given names of Others; the English name of Chinese.
    let path = CEA_ENGLISH.path;
    let mut english: Rows = Vec::new();
    let mut english_total = 0.0;
    for row in read_csv(raw_dir, path)? {
        let name = name_case(field(&row, "english_name", path)?);
        let share = field(&row, "ssa_female_share_1940_2024", path)?;
        let Ok(female) = share.parse::<f64>() else { continue };
        let female = name_sex_share(female);
        let chinese = number(field(&row, "count_chinese_pattern", path)?);
        let all = number(field(&row, "count_all_unmarked", path)?);
        english_total += chinese;
        push(&mut english, "Chinese", FEMALE, name.clone(), chinese * female);
        push(&mut english, "Chinese", MALE, name.clone(), chinese * (1.0 - female));
        push(&mut first, "Others", FEMALE, name.clone(), (all - chinese).max(0.0) * female);
        push(&mut first, "Others", MALE, name, (all - chinese).max(0.0) * (1.0 - female));
    }
    // Chinese-pattern names without an English name (register structure counts).
    let summary = read_csv(raw_dir, "datasets/sg/sources/names/cea_name_structure_summary.csv")?;
    let measure = |m: &str| -> f64 {
        summary
            .iter()
            .find(|r| r.get("measure").map(String::as_str) == Some(m))
            .and_then(|r| r.get("count"))
            .map(|c| number(c))
            .unwrap_or(0.0)
    };
    let chinese_names = measure("chinese_pattern");
    let without = measure("chinese_english_name_position_none");
    if chinese_names <= 0.0 || english_total <= 0.0 {
        return Err(derr("datasets/sg/sources/names/cea_name_structure_summary.csv", "no Chinese-pattern counts"));
    }
    // English names without an SSA share are left out; the share without one keeps its weight.
    let none = english_total * without / (chinese_names - without);
    for sex in SEXES {
        english.push(vec!["Chinese".into(), sex.into(), String::new(), format!("{:.3}", none / 2.0)]);
        for group in ["Malay", "Indian", "Indian Muslim", "Indian Sikh", "Others"] {
            english.push(vec![group.into(), sex.into(), String::new(), "1".into()]);
        }
    }
    // Malay names, without the Chinese tokens of converts' names.
    let mut chinese_tokens: HashSet<String> = HashSet::new();
    for (path, column) in [(CEA_SYLLABLES.path, "syllable"), (CEA_SURNAMES.path, "surname")] {
        for row in read_csv(raw_dir, path)? {
            chinese_tokens.insert(field(&row, column, path)?.to_string());
        }
    }
    let path = CEA_MALAY.path;
    let malay: Vec<HashMap<String, String>> = read_csv(raw_dir, path)?
        .into_iter()
        .filter(|r| {
            let token = r.get("token").map(String::as_str).unwrap_or_default();
            !chinese_tokens.contains(token) || MALAY_AND_CHINESE.contains(&token)
        })
        .collect();
    let tokens = |rows: &[HashMap<String, String>], sex: &str, role: &str, position: &str| -> Vec<(String, f64)> {
        rows.iter()
            .filter(|r| {
                r.get("sex").map(String::as_str) == Some(sex)
                    && r.get("role").map(String::as_str) == Some(role)
                    && r.get("position").map(String::as_str) == Some(position)
            })
            .map(|r| (r.get("token").cloned().unwrap_or_default(), r.get("count").map(|c| number(c)).unwrap_or(0.0)))
            .collect()
    };
    let mut last: Rows = Vec::new();
    for (sex, code) in [(MALE, "M"), (FEMALE, "F")] {
        let openers: Vec<(String, f64)> = tokens(&malay, code, "own_given", "1")
            .into_iter()
            .filter(|(t, _)| MALAY_PREFIXES.contains(&t.as_str()))
            .collect();
        let alone: Vec<(String, f64)> = tokens(&malay, code, "own_given", "1")
            .into_iter()
            .filter(|(t, _)| !MALAY_PREFIXES.contains(&t.as_str()))
            .collect();
        let second = tokens(&malay, code, "own_given", "2");
        let second_total: f64 = second.iter().map(|(_, c)| c).sum();
        for (t, c) in &alone {
            push(&mut first, "Malay", sex, name_case(t), *c);
        }
        for (o, oc) in &openers {
            for (t, c) in &second {
                if second_total > 0.0 && !same_malay_name(t, o) {
                    push(&mut first, "Malay", sex, format!("{} {}", name_case(o), name_case(t)), oc * c / second_total);
                }
            }
        }
    }
    for position in ["1", "2"] {
        for (t, c) in tokens(&malay, "M", "father", position) {
            if !MALAY_PREFIXES.contains(&t.as_str()) {
                last.push(vec!["Malay".into(), name_case(&t), format!("{c:.3}")]);
            }
        }
    }
    // Indian names by group.
    let path = CEA_INDIAN.path;
    let indian = read_csv(raw_dir, path)?;
    let group_of = |t: &str| {
        if INDIAN_MUSLIM_TOKENS.contains(&t) {
            "Indian Muslim"
        } else if INDIAN_SIKH_TOKENS.contains(&t) {
            "Indian Sikh"
        } else {
            "Indian"
        }
    };
    for (sex, code) in [(MALE, "M"), (FEMALE, "F")] {
        for (t, c) in tokens(&indian, code, "own_given", "1") {
            push(&mut first, group_of(&t), sex, name_case(&t), c);
        }
    }
    // Sikh given names carry Singh or Kaur.
    let sikh: Vec<(String, String, f64)> = first
        .iter()
        .filter(|r| r[0] == "Indian Sikh")
        .map(|r| (r[1].clone(), r[2].clone(), r[3].parse::<f64>().unwrap_or(0.0)))
        .collect();
    first.retain(|r| r[0] != "Indian Sikh");
    for (sex, given, w) in sikh.iter().filter(|(_, g, _)| g != "Singh" && g != "Kaur") {
        let suffix = if sex == MALE { "Singh" } else { "Kaur" };
        push(&mut first, "Indian Sikh", sex, format!("{given} {suffix}"), *w);
    }
    for position in ["1", "2"] {
        for (t, c) in tokens(&indian, "M", "father", position) {
            if ["SINGH", "KAUR"].contains(&t.as_str()) {
                continue;
            }
            let name = match group_of(&t) {
                // A Sikh father's name carries Singh: Manjit Kaur d/o Kartar Singh.
                "Indian Sikh" => format!("{} Singh", name_case(&t)),
                _ => name_case(&t),
            };
            last.push(vec![group_of(&t).into(), name, format!("{c:.3}")]);
        }
    }
    // The register has few Indian Muslim and Sikh given names. Indian Muslims share the Arabic-derived
    // given names of Malays (Mohamed Ismail, Siti Fatimah): a group with fewer than MIN_GIVEN_NAMES
    // of a sex takes the Malay ones, scaled to weigh as much as its own. Sikhs, whose given names
    // are their own, borrow the general Indian ones only where they have none of a sex.
    for group in ["Indian Muslim", "Indian Sikh"] {
        for sex in SEXES {
            let own: Vec<&Vec<String>> = first.iter().filter(|r| r[0] == group && r[1] == sex).collect();
            let own_weight: f64 = own.iter().map(|r| r[3].parse::<f64>().unwrap_or(0.0)).sum();
            let donor = match group {
                "Indian Muslim" if own.len() < MIN_GIVEN_NAMES => "Malay",
                _ if own.is_empty() => "Indian",
                _ => continue,
            };
            let pool: Vec<&Vec<String>> = first.iter().filter(|r| r[0] == donor && r[1] == sex).collect();
            let pool_weight: f64 = pool.iter().map(|r| r[3].parse::<f64>().unwrap_or(0.0)).sum();
            let scale = if own_weight > 0.0 && pool_weight > 0.0 { own_weight / pool_weight } else { 1.0 };
            let borrowed: Rows = pool
                .iter()
                .map(|r| {
                    let w = r[3].parse::<f64>().unwrap_or(0.0) * scale;
                    vec![group.to_string(), r[1].clone(), r[2].clone(), format!("{w:.3}")]
                })
                .collect();
            first.extend(borrowed);
        }
        if !last.iter().any(|r| r[0] == group) {
            let borrowed: Rows = last
                .iter()
                .filter(|r| r[0] == "Indian")
                .map(|r| vec![group.to_string(), r[1].clone(), r[2].clone()])
                .collect();
            last.extend(borrowed);
        }
    }
    // Chinese surnames.
    let path = CEA_SURNAMES.path;
    for row in read_csv(raw_dir, path)? {
        let c = number(field(&row, "count", path)?);
        if c > 0.0 {
            last.push(vec!["Chinese".into(), name_case(field(&row, "surname", path)?), format!("{c:.0}")]);
        }
    }
    // Others: US surnames of white bearers (substitute).
    let path = US_SURNAMES.path;
    let mut us: Vec<(String, f64)> = read_csv(raw_dir, path)?
        .iter()
        .map(|r| (r.get("last_name").cloned().unwrap_or_default(), r.get("white").map(|w| number(w)).unwrap_or(0.0)))
        .filter(|(n, w)| !n.is_empty() && *w > 0.0)
        .collect();
    us.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (n, w) in us.into_iter().take(OTHERS_SURNAMES) {
        last.push(vec!["Others".into(), n, format!("{w:.0}")]);
    }
    let mut middle = Vec::new();
    for group in NAME_GROUPS {
        for sex in SEXES {
            let connector = match (group, sex) {
                ("Malay", MALE) => "bin",
                ("Malay", _) => "binte",
                ("Indian" | "Indian Muslim" | "Indian Sikh", MALE) => "s/o",
                ("Indian" | "Indian Muslim" | "Indian Sikh", _) => "d/o",
                _ => "",
            };
            middle.push(vec![group.to_string(), sex.to_string(), connector.to_string(), "1".into()]);
        }
    }
    for group in NAME_GROUPS {
        for sex in SEXES {
            if !first.iter().any(|r| r[0] == group && r[1] == sex) {
                return Err(derr(CEA_INDIAN.path, format!("no {sex} given names for the {group} group")));
            }
        }
        if !last.iter().any(|r| r[0] == group) {
            return Err(derr(CEA_INDIAN.path, format!("no last names for the {group} group")));
        }
    }
    let (first, last, english) = (merge_duplicates(first), merge_duplicates(last), merge_duplicates(english));
    Ok(Names { groups, first, middle, last, english })
}

/// Two spellings of one name (`Muhammad Mohamed`, `Nur Noor` are not names).
fn same_malay_name(a: &str, b: &str) -> bool {
    const VARIANTS: [&[&str]; 2] = [
        &["MUHAMMAD", "MOHAMED", "MOHAMMAD", "MOHAMAD", "MUHAMAD", "MOHD", "MOHAMMED"],
        &["NUR", "NURUL", "NOOR", "NOR"],
    ];
    a == b || VARIANTS.iter().any(|v| v.contains(&a) && v.contains(&b))
}

/// Rows whose columns but the last (the weight) repeat become one, their weights added; first
/// appearance order kept.
fn merge_duplicates(rows: Rows) -> Rows {
    let mut index: HashMap<Vec<String>, usize> = HashMap::new();
    let mut out: Vec<(Vec<String>, f64)> = Vec::new();
    for mut row in rows {
        let w = row.pop().and_then(|w| w.parse::<f64>().ok()).unwrap_or(0.0);
        match index.get(&row) {
            Some(&i) => out[i].1 += w,
            None => {
                index.insert(row.clone(), out.len());
                out.push((row, w));
            }
        }
    }
    out.into_iter()
        .map(|(mut row, w)| {
            row.push(format!("{w:.3}"));
            row
        })
        .collect()
}
