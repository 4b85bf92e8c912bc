//! Names by naming group (ethnic group, and for Indians religion): given, patronymic, last and
//! English names from token counts of the CEA salesperson register, and US surnames as the
//! stated substitute for the Others group.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::name_tokens::{
    merge_duplicates, name_case, name_sex_share, same_malay_name, INDIAN_MUSLIM_TOKENS, INDIAN_SIKH_TOKENS,
    MALAY_AND_CHINESE, MALAY_PREFIXES,
};
use super::vocab::{ETHNIC, FEMALE, MALE, RELIGIONS, SEXES};
use super::{number, Pack, Rows};
use crate::derive::{derr, field, read_csv, SourceSpec};
use crate::error::Result;

pub(super) const CEA_SURNAMES: SourceSpec<'static> = SourceSpec {
    id: "cea_chinese_surname_counts",
    path: "datasets/sg/sources/names/cea_chinese_surname_counts.csv",
    publisher:
        "Council for Estate Agencies, CEA Salesperson Information (data.gov.sg), token counts derived by personadb",
    table: "Chinese surnames of registered salespersons, counts (hapaxes dropped)",
    vintage: "register of February 2026",
    licence: "Singapore Open Data Licence",
    carrier: "agoagoagoago/Agency-Scrap@579a0ed91177 (raw register not stored; see datasets/sg/sources/PROVENANCE.md)",
};
pub(super) const CEA_CHINESE_GIVEN: SourceSpec<'static> = SourceSpec {
    id: "cea_chinese_given_name_counts",
    path: "datasets/sg/sources/names/cea_chinese_given_name_counts.csv",
    publisher:
        "Council for Estate Agencies, CEA Salesperson Information (data.gov.sg), token counts derived by personadb",
    table: "Chinese given names with co-occurring female/male English names",
    vintage: "register of February 2026",
    licence: "Singapore Open Data Licence",
    carrier: "agoagoagoago/Agency-Scrap@579a0ed91177 (see datasets/sg/sources/PROVENANCE.md)",
};
pub(super) const CEA_SYLLABLES: SourceSpec<'static> = SourceSpec {
    id: "cea_chinese_given_syllable_counts",
    path: "datasets/sg/sources/names/cea_chinese_given_syllable_counts.csv",
    publisher:
        "Council for Estate Agencies, CEA Salesperson Information (data.gov.sg), token counts derived by personadb",
    table: "Chinese given-name syllables with co-occurring female/male English names",
    vintage: "register of February 2026",
    licence: "Singapore Open Data Licence",
    carrier: "agoagoagoago/Agency-Scrap@579a0ed91177 (see datasets/sg/sources/PROVENANCE.md)",
};
pub(super) const CEA_ENGLISH: SourceSpec<'static> = SourceSpec {
    id: "cea_english_given_name_counts",
    path: "datasets/sg/sources/names/cea_english_given_name_counts.csv",
    publisher: "Council for Estate Agencies, CEA Salesperson Information (data.gov.sg); US SSA baby names for sex",
    table: "English given names with counts among Chinese-pattern and all unmarked names, SSA female share",
    vintage: "register of February 2026; SSA 1940-2024",
    licence: "Singapore Open Data Licence; SSA data public domain",
    carrier: "agoagoagoago/Agency-Scrap@579a0ed91177 (see datasets/sg/sources/PROVENANCE.md)",
};
pub(super) const CEA_MALAY: SourceSpec<'static> = SourceSpec {
    id: "cea_malay_name_token_counts",
    path: "datasets/sg/sources/names/cea_malay_name_token_counts.csv",
    publisher:
        "Council for Estate Agencies, CEA Salesperson Information (data.gov.sg), token counts derived by personadb",
    table: "Tokens of Malay names (bin/binte): sex, role (own given name or father's), position, count",
    vintage: "register of February 2026",
    licence: "Singapore Open Data Licence",
    carrier: "agoagoagoago/Agency-Scrap@579a0ed91177 (see datasets/sg/sources/PROVENANCE.md)",
};
pub(super) const CEA_INDIAN: SourceSpec<'static> = SourceSpec {
    id: "cea_indian_name_token_counts",
    path: "datasets/sg/sources/names/cea_indian_name_token_counts.csv",
    publisher:
        "Council for Estate Agencies, CEA Salesperson Information (data.gov.sg), token counts derived by personadb",
    table: "Tokens of Indian names (s/o, d/o): sex, role (own given name or father's), position, count",
    vintage: "register of February 2026",
    licence: "Singapore Open Data Licence",
    carrier: "agoagoagoago/Agency-Scrap@579a0ed91177 (see datasets/sg/sources/PROVENANCE.md)",
};
pub(super) const US_SURNAMES: SourceSpec<'static> = SourceSpec {
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
/// Fewer given names of a sex than this in an Indian group, and it borrows more (see `names`).
const MIN_GIVEN_NAMES: usize = 20;
/// Surnames kept for the Others group (most frequent among white bearers in the US table).
const OTHERS_SURNAMES: usize = 1000;

/// Writes the name tables and their choice.
pub(super) fn derive(raw_dir: &Path, pack: &mut Pack) -> Result<()> {
    // Names by naming group.
    let names = names(raw_dir)?;
    let cea = [CEA_SURNAMES.id, CEA_CHINESE_GIVEN.id, CEA_SYLLABLES.id, CEA_ENGLISH.id, CEA_MALAY.id, CEA_INDIAN.id];
    pack.table(
        "name_group_model.csv",
        &["ethnic_background", "religion", "name_group", "weight"],
        &names.groups,
        &[],
        "The naming conventions a persona follows: its ethnic group, and for Indians whether Muslim (Islam), \
         Sikh (Sikhism) or other; weight 1 (a function of the two).",
    )?;
    pack.table(
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
    )?;
    pack.table(
        "middle_name_model.csv",
        &["name_group", "sex", "middle_name", "weight"],
        &names.middle,
        &[],
        "The patronymic connector: bin/binte (Malay), s/o / d/o (the Indian groups); none (empty) for Chinese and \
         Others.",
    )?;
    pack.table(
        "last_name_model.csv",
        &["name_group", "last_name", "weight"],
        &names.last,
        &[CEA_SURNAMES.id, CEA_MALAY.id, CEA_INDIAN.id, US_SURNAMES.id],
        "Chinese: surnames as counted. Malay, Indian: the father's name (father tokens of the register, the \
         openers Abdul, Mohamed, ... left out). Indian Sikh: the given name carries Singh or Kaur and the father's \
         name Singh (Manjit Kaur d/o Kartar Singh). Others: the most common surnames among white bearers of the US Census 2010 file \
         (substitute). Weight = counts.",
    )?;
    pack.table(
        "english_name_model.csv",
        &["name_group", "sex", "english_name", "weight"],
        &names.english,
        &[CEA_ENGLISH.id, CEA_CHINESE_GIVEN.id],
        "Chinese: an English given name (the register's English names among Chinese-pattern names, split by sex \
         with US SSA shares, under a quarter: none) for the share of Chinese-pattern names that carry one, else none (empty). Other \
         groups: none.",
    )?;
    pack.choices.push(
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
    Ok(())
}

/// The name tables.
struct Names {
    groups: Rows,
    first: Rows,
    middle: Rows,
    last: Rows,
    english: Rows,
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
