//! The name tokens of the naming groups (Malay openers, Indian Muslim and Sikh tokens) and the
//! helpers that turn the register's upper-case token counts into name rows.

use std::collections::HashMap;

use super::Rows;

/// Malay-register tokens that are also Chinese syllables or surnames but Malay or Muslim names too;
/// every other such token in a Malay-pattern name (a convert's Chinese name, `Muhammad Wei`) is
/// left out of the Malay given and father's names.
pub(super) const MALAY_AND_CHINESE: [&str; 5] = ["DIAN", "HAKIM", "HAYATI", "KHAN", "NUR"];
/// Name tokens that open a two-part Malay given name (Muhammad Farhan, Nur Aisyah, Siti Aminah).
pub(super) const MALAY_PREFIXES: [&str; 16] = [
    "MUHAMMAD", "MOHAMED", "MOHAMMAD", "MOHAMAD", "MUHAMAD", "MOHD", "MOHAMMED", "NUR", "NURUL", "NOOR", "NOR", "SITI",
    "SYED", "SHARIFAH", "SHEIKH", "ABDUL",
];
/// Indian name tokens of Muslim naming (Arabic given names and the titles Beevi, Begum, Maricar).
pub(super) const INDIAN_MUSLIM_TOKENS: [&str; 27] = [
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
pub(super) const INDIAN_SIKH_TOKENS: [&str; 11] = [
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

/// "AI LING" -> "Ai Ling", "TZE-HOU" -> "Tze-Hou", "D'SOUZA" -> "D'Souza".
pub(super) fn name_case(upper: &str) -> String {
    crate::derive::capitalize_words(upper, &[' ', '-', '\''])
}

/// The female share a name is drawn with, from the share of its bearers who are women: a name is
/// given to a sex only where at least a quarter of its bearers are of that sex. The share decides
/// the sex of a name, not a cross-sex draw: readers take a woman named Joel or Kim Leong, or a man
/// named Hwee Sian, for an error, and the register's few co-occurrences (or the syllable mean) of a
/// rare name cannot tell a minority use from noise.
pub(super) fn name_sex_share(female: f64) -> f64 {
    match female {
        f if f < 0.25 => 0.0,
        f if f > 0.75 => 1.0,
        f => f,
    }
}

/// Two spellings of one name (`Muhammad Mohamed`, `Nur Noor` are not names).
pub(super) fn same_malay_name(a: &str, b: &str) -> bool {
    const VARIANTS: [&[&str]; 2] = [
        &["MUHAMMAD", "MOHAMED", "MOHAMMAD", "MOHAMAD", "MUHAMAD", "MOHD", "MOHAMMED"],
        &["NUR", "NURUL", "NOOR", "NOR"],
    ];
    a == b || VARIANTS.iter().any(|v| v.contains(&a) && v.contains(&b))
}

/// Rows whose columns but the last (the weight) repeat become one, their weights added; first
/// appearance order kept.
pub(super) fn merge_duplicates(rows: Rows) -> Rows {
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
