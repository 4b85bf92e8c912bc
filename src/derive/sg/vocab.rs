//! The Singapore vocabularies the families share: sex labels, age bands, ethnic groups,
//! religions, home languages, marital statuses and qualification groups, with the lookups of
//! the labels as the sources spell them. A leaf module: it imports nothing of the derivation.

/// The sex labels of Nemotron-Personas-Singapore.
pub const MALE: &str = "Male";
pub const FEMALE: &str = "Female";
pub(super) const SEXES: [&str; 2] = [MALE, FEMALE];
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
/// The two youngest [`AGE_BANDS`] split where a qualification first becomes attainable (see
/// [`earliest_age`]), so no 15-year-old holds an A-level; each lies in one age band.
pub const SCHOOL_YEARS: [(&str, u32, u32); 7] = [
    ("15", 15, 15),
    ("16-17", 16, 17),
    ("18", 18, 18),
    ("19", 19, 19),
    ("20", 20, 20),
    ("21-22", 21, 22),
    ("23-24", 23, 24),
];

/// The bands of the education node: [`SCHOOL_YEARS`], then the [`AGE_BANDS`] above them.
pub fn school_bands() -> impl Iterator<Item = (&'static str, u32, u32)> {
    let last = SCHOOL_YEARS[SCHOOL_YEARS.len() - 1].2;
    SCHOOL_YEARS.into_iter().chain(AGE_BANDS.into_iter().filter(move |(_, lo, _)| *lo > last))
}

/// The youngest age (at the June reference date) at which Singapore's school system lets a
/// person hold `level`: GCE N/O levels are sat at the end of the year a pupil turns 16; A-levels
/// and ITE Nitec/Higher Nitec are finished at 18; a polytechnic diploma three years after the
/// O-levels, at 19-20 (other diplomas and professional qualifications from 18); a degree at 21 at
/// the earliest for women and 23 for men, who serve two years of National Service first. "No
/// Qualification" (no PSLE pass) is not drawn before 18: pupils of 15-17 are in secondary school
/// or ITE, which about 98 % of each cohort enter after passing the PSLE (MOE's yearly PSLE results).
pub(super) fn earliest_age(level: &str, sex: &str) -> u32 {
    match level {
        "No Qualification" => 18,
        "Secondary" => 16,
        "Post-Secondary (Non-Tertiary)" | "Professional Qualification and Other Diploma" => 18,
        "Polytechnic" => 19,
        "University" if sex == MALE => 23,
        "University" => 21,
        _ => MIN_AGE,
    }
}

/// The occupation and industry of a persona who is not employed.
pub const NOT_WORKING: &str = "Not Working";

/// The index in [`SEXES`] of a sex label as the sources spell it (Male, Males, males, ...).
pub(super) fn sex_index(label: &str) -> Option<usize> {
    match label.to_ascii_lowercase().as_str() {
        "male" | "males" => Some(0),
        "female" | "females" => Some(1),
        _ => None,
    }
}

/// The index in [`ETHNIC`] of an ethnic-group label as SingStat spells it (Chinese, Malays, ...).
pub(super) fn ethnic_index(label: &str) -> Option<usize> {
    match label {
        "Chinese" => Some(0),
        "Malays" | "Malay" => Some(1),
        "Indians" | "Indian" => Some(2),
        "Others" => Some(3),
        _ => None,
    }
}

/// The age band holding age `lo`.
pub(super) fn band_index(lo: u32) -> Option<usize> {
    AGE_BANDS.iter().position(|(_, l, h)| lo >= *l && lo <= *h)
}
