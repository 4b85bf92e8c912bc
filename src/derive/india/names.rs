//! Names for the India pack: the name group a person's community gives (religion, mother
//! tongue and state, by `community` in the pack module), first names from the 2017 electoral
//! rolls (Telugu Hindus) or the curated lists, and surnames from SECC 2011 or the curated lists.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::sources::{DISTRICTS, GIVEN_LISTS, MOTHER_TONGUE, ROLLS_ANDHRA, SURNAMES, SURNAME_LISTS, SURNAME_MARKERS};
use super::vocab::SEXES;
use super::{community, name_case, number, Part, Rows};
use crate::derive::{derr, field, read_csv, write_table, TableRecord};
use crate::error::{Error, Result};

/// The names family: the name group of each community, first names and surnames (SECC, the
/// electoral rolls and the curated lists), and the manifest's choices on them.
pub(super) fn derive(raw_dir: &Path, out_dir: &Path, first: &Rows, religion: &Rows) -> Result<Part> {
    let mut tables: Vec<TableRecord> = Vec::new();
    let mut choices: Vec<String> = Vec::new();
    let name_tables = names_tables(raw_dir, first, religion)?;
    for (file, header, rows, srcs, transform) in name_tables.tables {
        tables.push(write_table(out_dir, file, &header, &rows, &srcs, transform)?);
    }
    choices.extend(name_tables.choices);
    Ok(Part { tables, choices })
}

/// The name tables and what the manifest says of them.
struct NameTables {
    tables: Vec<(&'static str, Vec<&'static str>, Rows, Vec<&'static str>, &'static str)>,
    choices: Vec<String>,
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
    let full = crate::derive::source_path(raw_dir, path);
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
