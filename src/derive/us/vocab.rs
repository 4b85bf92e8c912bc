//! The US vocabularies the derivation modules share: a leaf module (it imports nothing of the
//! derivation), so `acs`, `geo` and `occupation` no longer reach back into the pack module.

/// (FIPS code, USPS abbreviation) of the 50 states and DC.
pub const STATES: &[(u32, &str)] = &[
    (1, "AL"),
    (2, "AK"),
    (4, "AZ"),
    (5, "AR"),
    (6, "CA"),
    (8, "CO"),
    (9, "CT"),
    (10, "DE"),
    (11, "DC"),
    (12, "FL"),
    (13, "GA"),
    (15, "HI"),
    (16, "ID"),
    (17, "IL"),
    (18, "IN"),
    (19, "IA"),
    (20, "KS"),
    (21, "KY"),
    (22, "LA"),
    (23, "ME"),
    (24, "MD"),
    (25, "MA"),
    (26, "MI"),
    (27, "MN"),
    (28, "MS"),
    (29, "MO"),
    (30, "MT"),
    (31, "NE"),
    (32, "NV"),
    (33, "NH"),
    (34, "NJ"),
    (35, "NM"),
    (36, "NY"),
    (37, "NC"),
    (38, "ND"),
    (39, "OH"),
    (40, "OK"),
    (41, "OR"),
    (42, "PA"),
    (44, "RI"),
    (45, "SC"),
    (46, "SD"),
    (47, "TN"),
    (48, "TX"),
    (49, "UT"),
    (50, "VT"),
    (51, "VA"),
    (53, "WA"),
    (54, "WV"),
    (55, "WI"),
    (56, "WY"),
];

/// Oldest age the open-ended "85+" group is spread to.
pub const MAX_AGE: u32 = 104;

/// Minimum ages for degrees (structural zeros at younger ages).
pub const MIN_AGE_ASSOCIATES: i64 = 19;
pub const MIN_AGE_BACHELORS: i64 = 20;
pub const MIN_AGE_GRADUATE: i64 = 22;

/// Nemotron-Personas education codes for B15001 labels, in ascending order.
pub const EDUCATION: &[&str] =
    &["less_than_9th", "9th_12th_no_diploma", "high_school", "some_college", "associates", "bachelors", "graduate"];
