//! The raw inputs of the India pack, as the manifest records them: the Census of India 2011
//! tables, the SECC surnames, the electoral-roll first names and the project's curated name
//! lists.

use crate::derive::SourceSpec;

pub(super) const POPULATION: SourceSpec<'static> = SourceSpec {
    id: "c14",
    path: "india/census2011/census_age.csv",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 C-14: population in five-year age groups by residence and sex, districts",
    vintage: "Census 2011 (1 March 2011)",
    licence: "Government of India open data (Census of India tables)",
    carrier: "shared/data/india (see MANIFEST.md)",
};
pub(super) const MARITAL_STATUS: SourceSpec<'static> = SourceSpec {
    id: "c02",
    path: "india/census2011/C02_marital_status_by_age_sex_district.csv.gz",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 C-02: marital status by age and sex, India, states and districts",
    vintage: "Census 2011",
    licence: "Government of India open data (Census of India tables)",
    carrier: "shared/data/india (see MANIFEST.md)",
};
pub(super) const EDUCATION_LEVEL: SourceSpec<'static> = SourceSpec {
    id: "c08",
    path: "india/census2011/C08_education_level_by_age_sex_state.csv",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 C-08: educational level by age and sex, India and states",
    vintage: "Census 2011",
    licence: "Government of India open data (Census of India tables)",
    carrier: "shared/data/india (see MANIFEST.md)",
};
pub(super) const DISTRICTS: SourceSpec<'static> = SourceSpec {
    id: "pca_districts",
    path: "india/census2011/india-districts-census-2011.csv",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 Primary Census Abstract and religion tables by district (640 districts), compiled",
    vintage: "Census 2011",
    licence: "Government of India open data (Census of India tables)",
    carrier: "shared/data/india (see MANIFEST.md)",
};
pub(super) const RELIGION_STATES: SourceSpec<'static> = SourceSpec {
    id: "rl0000",
    path: "datasets/in/sources/religion/census2011_religion_PCA_RL-0000_india_states_TRU_sex.csv",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 Religion PCA RL-0000: religion by residence and sex, India and states",
    vintage: "Census 2011",
    licence: "Government of India open data (Census of India tables)",
    carrier: "GoddardGuryon/Project1@4778d50 (see datasets/in/sources/PROVENANCE.md)",
};
pub(super) const MOTHER_TONGUE: SourceSpec<'static> = SourceSpec {
    id: "c16",
    path: "india/language/C16_mother_tongue_by_district.csv.gz",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 C-16: population by mother tongue, districts (language level used)",
    vintage: "Census 2011",
    licence: "Government of India open data (Census of India tables)",
    carrier: "shared/data/india (see MANIFEST.md)",
};
pub(super) const BILINGUALISM: SourceSpec<'static> = SourceSpec {
    id: "c17",
    path: "india/language/C17_bilingualism_trilingualism_by_mother_tongue_state.csv.gz",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 C-17: bilingualism and trilingualism by mother tongue, states",
    vintage: "Census 2011",
    licence: "Government of India open data (Census of India tables)",
    carrier: "shared/data/india (see MANIFEST.md)",
};
pub(super) const SURNAMES: SourceSpec<'static> = SourceSpec {
    id: "secc_surnames",
    path: "india/names/secc_surname_composition.parquet",
    publisher: "Socio-Economic and Caste Census 2011 (Ministry of Rural Development), parsed by the Outkast project",
    table: "Surname × state × birth year counts (cells with at least 100 records)",
    vintage: "SECC 2011",
    licence: "Harvard Dataverse doi:10.7910/DVN/LIIBNB (see the artifact's manifest)",
    carrier: "shared/data/india (see MANIFEST.md)",
};
pub(super) const ROLLS_ANDHRA: SourceSpec<'static> = SourceSpec {
    id: "in_rolls_andhra",
    path: "datasets/in/sources/names/in_rolls_v1_first_name_state_birthyear_sex__andhra.csv.xz",
    publisher: "in-rolls (Sood et al.), from the 2017 electoral rolls",
    table: "First name × state × birth year counts of electors by sex (undivided Andhra Pradesh)",
    vintage: "Electoral rolls 2017",
    licence: "CC0-1.0 (Harvard Dataverse doi:10.7910/DVN/WZGJBM)",
    carrier: "PyPI naampy 0.1.0 (see datasets/in/sources/PROVENANCE.md)",
};
pub(super) const ROLLS_OTHER: SourceSpec<'static> = SourceSpec {
    id: "in_rolls_other",
    path: "datasets/in/sources/names/in_rolls_v1_first_name_state_birthyear_sex__other11states.csv.xz",
    publisher: "in-rolls (Sood et al.), from the 2017 electoral rolls",
    table: "First name × state × birth year counts of electors by sex (11 smaller states and UTs)",
    vintage: "Electoral rolls 2017",
    licence: "CC0-1.0 (Harvard Dataverse doi:10.7910/DVN/WZGJBM)",
    carrier: "PyPI naampy 0.1.0 (see datasets/in/sources/PROVENANCE.md)",
};
pub(super) const OCCUPATION: SourceSpec<'static> = SourceSpec {
    id: "b24",
    path: "datasets/in/sources/occupation/census2011_B24_main_workers_nco2004_by_district_persons_total.csv",
    publisher: "Office of the Registrar General & Census Commissioner, India",
    table: "Census 2011 B-24: main workers other than cultivators and agricultural labourers by NCO-2004 \
            division and sub-division, districts (persons, total residence)",
    vintage: "Census 2011",
    licence: "Government of India open data (Census of India tables)",
    carrier: "mihirs16/Census-of-India-2011-Dataset@fade0c9 (see datasets/in/sources/PROVENANCE.md)",
};
pub(super) const GIVEN_LISTS: SourceSpec<'static> = SourceSpec {
    id: "given_names_by_community",
    path: "datasets/in/sources/names/given_names_by_community.csv",
    publisher: "personadb (curated language data, no counts)",
    table: "Common given names by community and sex, ranked by a writer's judgement",
    vintage: "2026",
    licence: "Apache-2.0 (this project)",
    carrier: "this repository (see datasets/in/sources/names/README_names.md)",
};
pub(super) const SURNAME_LISTS: SourceSpec<'static> = SourceSpec {
    id: "surnames_by_community",
    path: "datasets/in/sources/names/surnames_by_community.csv",
    publisher: "personadb (curated language data, no counts)",
    table: "Common surnames by community, ranked by a writer's judgement",
    vintage: "2026",
    licence: "Apache-2.0 (this project)",
    carrier: "this repository (see datasets/in/sources/names/README_names.md)",
};
pub(super) const SURNAME_MARKERS: SourceSpec<'static> = SourceSpec {
    id: "surname_markers_by_community",
    path: "datasets/in/sources/names/surname_markers_by_community.csv",
    publisher: "personadb (curated language data, no counts)",
    table: "Surnames largely exclusive to one community (Muslim, Christian, Sikh, Jain, Buddhist)",
    vintage: "2026",
    licence: "Apache-2.0 (this project)",
    carrier: "this repository (see datasets/in/sources/names/README_names.md)",
};

/// Every raw input, in the order of the manifest's sources.
pub(super) const ALL: [SourceSpec<'static>; 14] = [
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
