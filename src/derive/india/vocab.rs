//! The India pack's vocabularies: sexes, residence zones, age bands, the 2011 states and union
//! territories, and the census labels of marital status, education and religion, with the
//! lookups into them. A leaf module: it imports nothing of the derivation.

pub const MALE: &str = "Male";
pub const FEMALE: &str = "Female";
pub(super) const SEXES: [&str; 2] = [MALE, FEMALE];
pub const RURAL: &str = "Rural";
pub const URBAN: &str = "Urban";
pub(super) const ZONES: [&str; 2] = [RURAL, URBAN];
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

pub(super) fn state_name(code: u32) -> Option<&'static str> {
    STATES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The band of a census age-group label (`15-19`, `80+`), or of a single year.
pub(super) fn band_of_age(age: u32) -> Option<usize> {
    AGE_BANDS.iter().position(|(_, lo, hi)| age >= *lo && age <= *hi)
}

pub(super) fn residence(label: &str) -> Option<usize> {
    match label {
        "Rural" => Some(0),
        "Urban" => Some(1),
        _ => None,
    }
}
