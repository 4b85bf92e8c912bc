//! Age bands shared by every locale's derivation and by the report: parsing the age labels of
//! published tables into inclusive ranges, and the compact band labels the packs use.

/// Parses an ACS age label into an inclusive range: "18 to 24 years", "18 and 19 years",
/// "65 years and over", "85 years and over", "Under 5 years", "15 years".
pub fn age_range(label: &str) -> Option<(i64, i64)> {
    let l = label.trim().trim_end_matches(" years").trim_end_matches(" year");
    if let Some(rest) = l.strip_suffix(" years and over") {
        return rest.trim().parse().ok().map(|a| (a, 200));
    }
    if let Some(rest) = l.strip_suffix(" and over") {
        return rest.trim().trim_end_matches(" years").parse().ok().map(|a| (a, 200));
    }
    if let Some(rest) = l.strip_prefix("Under ") {
        return rest.trim().parse::<i64>().ok().map(|a| (0, a - 1));
    }
    for sep in [" to ", " and "] {
        if let Some((a, b)) = l.split_once(sep) {
            return Some((a.trim().parse().ok()?, b.trim().parse().ok()?));
        }
    }
    l.parse().ok().map(|a| (a, a))
}

/// A band label for an age range, e.g. "18-24" or "65+".
pub fn band_label((lo, hi): (i64, i64)) -> String {
    if hi >= 200 {
        format!("{lo}+")
    } else {
        format!("{lo}-{hi}")
    }
}

/// Parses a band label back into its inclusive range: "18-24", "65+" (to `i64::MAX`), "21".
pub fn parse_band_label(label: &str) -> Option<(i64, i64)> {
    if let Some(lo) = label.strip_suffix('+') {
        return lo.parse().ok().map(|l| (l, i64::MAX));
    }
    match label.split_once('-') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => label.parse().ok().map(|a| (a, a)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_acs_age_labels() {
        assert_eq!(age_range("18 to 24 years"), Some((18, 24)));
        assert_eq!(age_range("18 and 19 years"), Some((18, 19)));
        assert_eq!(age_range("65 years and over"), Some((65, 200)));
        assert_eq!(age_range("Under 5 years"), Some((0, 4)));
        assert_eq!(band_label((65, 200)), "65+");
        assert_eq!(parse_band_label("18-24"), Some((18, 24)));
        assert_eq!(parse_band_label("65+"), Some((65, i64::MAX)));
        assert_eq!(parse_band_label("x"), None);
    }
}
