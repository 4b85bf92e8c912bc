//! What each occupation's people actually do, for the narratives: O*NET 29.3 task statements and
//! detailed work activities (DWAs) of the O*NET-SOC codes each of the 565 occupations maps to
//! (`census_occupation_soc.csv`: the Census 2018 occupation code list's SOC crosswalk, with a
//! proxy occupation for the "all other" groups O*NET gives no tasks). Tasks become third-person
//! verb phrases ("sorts mail for delivery, arranging it in delivery sequence"), DWAs skill
//! phrases ("sorting mail").

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::super::{derr, field, read_csv, source_path, write_table, SourceRecord, SourceSpec, TableRecord};
use crate::error::Result;

pub const TASKS_PATH: &str = "datasets/us/sources/onet/raw/task_statements.txt";
pub const TASK_DWAS_PATH: &str = "datasets/us/sources/onet/raw/tasks_to_dwas.xlsx";
pub const MAP_PATH: &str = "datasets/us/sources/onet/census_occupation_soc.csv";
/// The project's plain-speech rewrite of each occupation's O*NET tasks and skills (see PROVENANCE.md).
pub const PLAIN_PATH: &str = "datasets/us/sources/onet/jobs_plain.csv";
/// Tasks and skills each occupation of the plain rewrite must have (the narrator draws up to this
/// many distinct ones per person).
pub const PLAIN_ITEMS: usize = 4;

/// Tasks and skills kept per occupation.
const TASKS: usize = 5;
const SKILLS: usize = 5;

/// Verbs whose last consonant doubles before -ing or -s stays as is although they end in a
/// vowel-consonant pair of a stressed last syllable.
const DOUBLING: [&str; 16] = [
    "refer", "transfer", "prefer", "confer", "control", "patrol", "compel", "propel", "occur", "admit", "commit",
    "submit", "permit", "equip", "program", "regret",
];

/// The third person singular of an English verb ("direct" -> "directs", "carry" -> "carries").
pub fn third_person(verb: &str) -> String {
    let v = verb.to_lowercase();
    match v.as_str() {
        "be" => return "is".into(),
        "have" => return "has".into(),
        "do" => return "does".into(),
        "go" => return "goes".into(),
        _ => {}
    }
    let b = v.as_bytes();
    let n = b.len();
    if n >= 2 && b[n - 1] == b'y' && !b"aeiou".contains(&b[n - 2]) {
        return format!("{}ies", &v[..n - 1]);
    }
    if v.ends_with('s') || v.ends_with("sh") || v.ends_with("ch") || v.ends_with('x') || v.ends_with('z') {
        return format!("{v}es");
    }
    format!("{v}s")
}

/// The -ing form of an English verb ("deliver" -> "delivering", "plan" -> "planning",
/// "prepare" -> "preparing", "tie" -> "tying").
pub fn gerund(verb: &str) -> String {
    let v = verb.to_lowercase();
    let b = v.as_bytes();
    let n = b.len();
    let vowel = |c: u8| b"aeiou".contains(&c);
    if v.ends_with("ie") {
        return format!("{}ying", &v[..n - 2]);
    }
    if n > 2 && v.ends_with('e') && !v.ends_with("ee") && !v.ends_with("ye") && !v.ends_with("oe") {
        return format!("{}ing", &v[..n - 1]);
    }
    let short_cvc = n >= 3
        && n <= 4
        && !vowel(b[0])
        && !vowel(b[n - 3])
        && vowel(b[n - 2])
        && !vowel(b[n - 1])
        && !b"wxy".contains(&b[n - 1]);
    if short_cvc || DOUBLING.contains(&v.as_str()) {
        return format!("{v}{}ing", b[n - 1] as char);
    }
    format!("{v}ing")
}

/// An O*NET statement ("Direct or coordinate budgets.") with its leading verbs rewritten by
/// `form`: the first word, and every verb of a leading list ("Plan, direct, or coordinate";
/// "Review and analyze"), past particles ("Set up and operate"). Lower case first letter,
/// parentheses and the final period dropped.
pub fn rewrite(statement: &str, form: fn(&str) -> String) -> String {
    let mut text = statement.trim().trim_end_matches('.').to_string();
    while let (Some(a), Some(b)) = (text.find(" ("), text.find(')')) {
        if b < a {
            break;
        }
        text.replace_range(a..=b, "");
    }
    let words: Vec<&str> = text.split(' ').collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut verb_expected = true;
    let mut last_was_verb = false;
    for (i, w) in words.iter().enumerate() {
        let bare = w.trim_end_matches(',');
        let comma = w.ends_with(',');
        if verb_expected && ["and", "or", "and/or"].contains(&bare) {
            out.push(w.to_string());
            continue;
        }
        if verb_expected && !bare.is_empty() && bare.chars().all(|c| c.is_alphabetic() || c == '-') {
            let lower_first = if i == 0 { bare.to_lowercase() } else { bare.to_string() };
            out.push(format!("{}{}", form(&lower_first), if comma { "," } else { "" }));
            last_was_verb = true;
            verb_expected = comma;
            continue;
        }
        if last_was_verb && ["and", "or", "and/or"].contains(&bare) {
            out.push(w.to_string());
            verb_expected = true;
            continue;
        }
        if last_was_verb && ["up", "out", "down", "off", "back"].contains(&bare) {
            out.push(w.to_string());
            verb_expected = comma;
            continue;
        }
        last_was_verb = false;
        verb_expected = false;
        out.push(w.to_string());
    }
    out.join(" ")
}

/// Whether a statement joins a second verb after its object ("Greet guests and seat them"):
/// an `and`/`or` past the leading verb list followed by a known verb in its base form.
pub fn coordinates_a_later_verb(statement: &str, verbs: &std::collections::HashSet<String>) -> bool {
    let raw: Vec<&str> = statement.split_whitespace().collect();
    let words: Vec<String> = raw.iter().map(|w| w.trim_end_matches([',', '.']).to_lowercase()).collect();
    // The leading verb list ("Plan, direct, or coordinate"), as `rewrite` reads it.
    let mut i = 1;
    while i < words.len() {
        if raw[i - 1].ends_with(',') && verbs.contains(&words[i]) {
            i += 1;
        } else if ["and", "or"].contains(&words[i].as_str()) && words.get(i + 1).is_some_and(|w| verbs.contains(w)) {
            i += 2;
        } else {
            break;
        }
    }
    // A later "and"/"or" or comma followed by a known verb: "Answer calls, give information".
    (i..words.len().saturating_sub(1)).any(|k| {
        let joins = ["and", "or"].contains(&words[k].as_str()) || raw[k].ends_with(',');
        joins && verbs.contains(&words[k + 1])
    })
}

/// Whether a statement reads as plain prose rather than a database entry: no alternatives
/// ("information or data", "and/or"), no slashes, parentheses or "such as" lists, no
/// bureaucratic "specified/established/pertinent" qualifiers.
fn plain(s: &str) -> bool {
    let lower = s.to_lowercase();
    ![" or ", "/", "(", "such as", "specified", "established", "pertinent", "applicable", "appropriate", "various"]
        .iter()
        .any(|p| lower.contains(p))
}

/// A word written twice in a row, commas aside ("pruning saws, saws").
fn repeats_a_word(s: &str) -> bool {
    let w: Vec<String> = s.split_whitespace().map(|w| w.trim_end_matches([',', '.']).to_lowercase()).collect();
    w.windows(2).any(|p| p[0] == p[1])
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// (occupation, tasks `;`-joined, skills `;`-joined) for each occupation of the map.
pub fn derive(raw_dir: &Path) -> Result<Vec<Vec<String>>> {
    // Task statements: code -> [(task id, text, core)].
    let path = source_path(raw_dir, TASKS_PATH);
    let text = std::fs::read_to_string(&path).map_err(|e| derr(TASKS_PATH, e.to_string()))?;
    let mut tasks: HashMap<String, Vec<(String, String, bool)>> = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 5 {
            continue;
        }
        tasks.entry(f[0].to_string()).or_default().push((f[2].to_string(), f[3].to_string(), f[4] == "Core"));
    }
    // The verbs O*NET statements open with: a later "and"/"or" followed by one of them in its
    // base form coordinates a second verb that the rewrite would leave uninflected ("greets
    // guests and seat them"), so such statements are left out.
    let verbs: std::collections::HashSet<String> = tasks
        .values()
        .flatten()
        .filter_map(|t| t.1.split_whitespace().next())
        .map(|w| w.trim_end_matches(',').to_lowercase())
        .collect();
    let core: std::collections::HashSet<String> =
        tasks.values().flatten().filter(|t| t.2).map(|t| t.0.clone()).collect();
    // Tasks to DWAs: code -> DWA title -> Core tasks linked.
    let mut dwas: HashMap<String, BTreeMap<String, usize>> = HashMap::new();
    {
        use calamine::Reader;
        let full = source_path(raw_dir, TASK_DWAS_PATH);
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook(&full).map_err(|e| derr(TASK_DWAS_PATH, format!("{e}")))?;
        let sheet = book.sheet_names().first().cloned().ok_or_else(|| derr(TASK_DWAS_PATH, "no sheet"))?;
        let range = book.worksheet_range(&sheet).map_err(|e| derr(TASK_DWAS_PATH, format!("{e}")))?;
        let mut rows = range.rows();
        let header: Vec<String> = rows.next().map(|r| r.iter().map(|c| c.to_string()).collect()).unwrap_or_default();
        let col = |name: &str| {
            header.iter().position(|h| h == name).ok_or_else(|| derr(TASK_DWAS_PATH, format!("no column `{name}`")))
        };
        let (code_col, task_col, dwa_col) = (col("O*NET-SOC Code")?, col("Task ID")?, col("DWA Title")?);
        for r in rows {
            let (Some(code), Some(task), Some(dwa)) = (r.get(code_col), r.get(task_col), r.get(dwa_col)) else {
                continue;
            };
            if !core.contains(task.to_string().trim_end_matches(".0")) {
                continue;
            }
            *dwas.entry(code.to_string()).or_default().entry(dwa.to_string()).or_default() += 1;
        }
    }
    let map = read_csv(raw_dir, MAP_PATH)?;
    let mut out = Vec::new();
    for row in &map {
        let occupation = field(row, "occupation", MAP_PATH)?;
        let codes: Vec<&str> = field(row, "soc_codes", MAP_PATH)?.split(';').filter(|c| !c.is_empty()).collect();
        // Core tasks of 5 to 14 words that read as plain prose, taken in turn from each code;
        // Supplemental ones too if fewer than 3. Occupations left with none fall back to their
        // group's lexicon in the narrative.
        let mut picked: Vec<String> = Vec::new();
        for (max_words, core_only) in [(14, true), (14, false)] {
            let lists: Vec<Vec<&(String, String, bool)>> = codes
                .iter()
                .map(|c| {
                    tasks
                        .get(*c)
                        .map(|l| {
                            l.iter()
                                .filter(|t| (t.2 || !core_only) && (5..=max_words).contains(&words(&t.1)))
                                .filter(|t| !t.1.contains(';') && !t.1.contains('"'))
                                .filter(|t| !coordinates_a_later_verb(&t.1, &verbs))
                                .filter(|t| t.1.matches(',').count() <= 1 && !repeats_a_word(&t.1) && plain(&t.1))
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect();
            let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
            for i in 0..longest {
                for l in &lists {
                    if let Some(t) = l.get(i) {
                        let phrase = rewrite(&t.1, third_person);
                        if picked.len() < TASKS && !picked.contains(&phrase) {
                            picked.push(phrase);
                        }
                    }
                }
            }
            if picked.len() >= 3 {
                break;
            }
        }
        // The DWAs most of the codes' tasks link to, short ones only.
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for c in &codes {
            for (d, n) in dwas.get(*c).into_iter().flatten() {
                if words(d) <= 6 {
                    *counts.entry(d.clone()).or_default() += n;
                }
            }
        }
        let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        // One skill a list item: no commas inside ("ordering materials, supplies, or equipment").
        let mut skills: Vec<String> = Vec::new();
        for (d, _) in &ranked {
            let skill = rewrite(d, gerund);
            if !skill.contains(',') && plain(&skill) && !skills.contains(&skill) && skills.len() < SKILLS {
                skills.push(skill);
            }
        }
        if picked.is_empty() {
            continue;
        }
        out.push(vec![occupation.to_string(), picked.join(";"), skills.join(";")]);
    }
    Ok(out)
}

/// (occupation, tasks, skills) of the plain rewrite, checked by [`check_plain`].
pub fn plain_rewrite(raw_dir: &Path) -> Result<Vec<Vec<String>>> {
    let map = read_csv(raw_dir, MAP_PATH)?;
    let rows = read_csv(raw_dir, PLAIN_PATH)?;
    let expected: Vec<&str> = map.iter().map(|m| field(m, "occupation", MAP_PATH)).collect::<Result<_>>()?;
    let mut plain = Vec::new();
    for row in &rows {
        plain.push([
            field(row, "occupation", PLAIN_PATH)?,
            field(row, "tasks", PLAIN_PATH)?,
            field(row, "skills", PLAIN_PATH)?,
        ]);
    }
    check_plain(&expected, &plain).map_err(|e| derr(PLAIN_PATH, e))
}

/// The plain rewrite's rows as written: every occupation of the map exactly once and in its order,
/// [`PLAIN_ITEMS`] distinct tasks and skills each, none empty, padded or holding a comma (skills are
/// written as a list, tasks inside sentences that carry their own commas).
fn check_plain(expected: &[&str], rows: &[[&str; 3]]) -> std::result::Result<Vec<Vec<String>>, String> {
    if rows.len() != expected.len() {
        return Err(format!("{} rows, the occupation map has {}", rows.len(), expected.len()));
    }
    let mut out = Vec::new();
    for (i, (row, want)) in rows.iter().zip(expected).enumerate() {
        let occupation = row[0];
        if occupation != *want {
            return Err(format!("row {}: `{occupation}` where the map has `{want}`", i + 2));
        }
        let mut cells = vec![occupation.to_string()];
        for (column, cell) in [("tasks", row[1]), ("skills", row[2])] {
            let items: Vec<&str> = cell.split(';').collect();
            let distinct: std::collections::HashSet<&str> = items.iter().copied().collect();
            if items.len() != PLAIN_ITEMS || distinct.len() != PLAIN_ITEMS {
                return Err(format!(
                    "`{occupation}`: {column} needs {PLAIN_ITEMS} distinct items, has {} ({})",
                    distinct.len(),
                    items.len()
                ));
            }
            if let Some(bad) = items.iter().find(|t| t.trim().is_empty() || t.contains(',') || t.trim() != **t) {
                return Err(format!("`{occupation}`: {column} item `{bad}` is empty, padded or has a comma"));
            }
            cells.push(items.join(";"));
        }
        out.push(cells);
    }
    Ok(out)
}

/// Records the O*NET sources and the plain rewrite and writes `narrative/en/jobs_onet.csv` and
/// `narrative/en/jobs.csv`.
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    sources: &mut Vec<SourceRecord>,
    tables: &mut Vec<TableRecord>,
) -> Result<()> {
    // What each occupation's people do: O*NET tasks and detailed work activities.
    let mut onet_sources = vec![
        SourceSpec {
            id: "onet_29_3_task_statements",
            path: TASKS_PATH,
            publisher: "U.S. Department of Labor, Employment and Training Administration (O*NET)",
            table: "O*NET Task Statements (O*NET-SOC code, task, Core/Supplemental)",
            vintage: "O*NET 29.3, May 2025 (O*NET-SOC 2019 taxonomy)",
            licence: "CC BY 4.0: includes information from the O*NET 29.3 Database by USDOL/ETA, used under CC BY 4.0",
            carrier: "eugene-maina72/Phase_5_Capstone_Project-SmartPath@e7515a8d5864:data/Task Statements.txt",
        }
        .record(raw_dir)?,
        SourceSpec {
            id: "onet_29_3_tasks_to_dwas",
            path: TASK_DWAS_PATH,
            publisher: "U.S. Department of Labor, Employment and Training Administration (O*NET)",
            table: "O*NET Tasks to Detailed Work Activities",
            vintage: "O*NET 29.3, May 2025 (O*NET-SOC 2019 taxonomy)",
            licence: "CC BY 4.0: includes information from the O*NET 29.3 Database by USDOL/ETA, used under CC BY 4.0",
            carrier: "eugene-maina72/Phase_5_Capstone_Project-SmartPath@272806922b01:data/Tasks to DWAs.xlsx",
        }
        .record(raw_dir)?,
        SourceSpec {
            id: "census_2018_occupation_soc_map",
            path: MAP_PATH,
            publisher: "personadb, from the U.S. Census Bureau's 2018 Census Occupation Code List with Crosswalk (datasets/us/sources/onet/raw/)",
            table: "Each of the 565 occupations to its O*NET-SOC codes: 547 by the crosswalk's SOC codes, 14 'all other' groups by a named proxy occupation, 4 without tasks",
            vintage: "crosswalk of 2019-09-26; O*NET-SOC 2019",
            licence: "Public domain (U.S. federal government work); proxies Apache-2.0 (this project)",
            carrier: "mdsmith808/ai_labor@08f591cf (crosswalk); this repository (map)",
        }
        .record(raw_dir)?,
    ];
    let onet_jobs = derive(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "narrative/en/jobs_onet.csv",
        &["occupation", "tasks", "skills"],
        &onet_jobs,
        &[&onet_sources[0].id, &onet_sources[1].id, &onet_sources[2].id],
        "The O*NET grounding of jobs.csv, not read by the narrator: per occupation, up to 5 Core task statements \
         of 5-16 words (22 and Supplemental when fewer than 3), taken in turn from each of its O*NET-SOC codes, \
         rewritten as third-person verb phrases (leading verbs inflected, parentheses and the final period \
         dropped); skills: the up to 5 detailed work activities of at most 6 words linked to most of those \
         codes' tasks, as -ing phrases. Occupations without tasks are left out.",
    )?);
    let plain_source = SourceSpec {
        id: "onet_plain_rewrite",
        path: PLAIN_PATH,
        publisher: "personadb, written from the O*NET 29.3 task statements of each occupation (jobs_onet.csv)",
        table: "Per census occupation, 4 tasks and 4 skills in plain speech, true of the occupation's natural title",
        vintage: "O*NET 29.3 (May 2025)",
        licence: "CC BY 4.0 (derived from O*NET, USDOL/ETA; see sources/onet/PROVENANCE.md)",
        carrier: "this repository",
    }
    .record(raw_dir)?;
    let jobs = plain_rewrite(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "narrative/en/jobs.csv",
        &["occupation", "tasks", "skills"],
        &jobs,
        &[&plain_source.id, &onet_sources[0].id],
        "Per occupation, the plain rewrite's 4 tasks (third-person verb phrases) and 4 skills (noun or -ing \
         phrases), checked: every occupation of the map once, 4 distinct items each, no commas.",
    )?);
    onet_sources.push(plain_source);
    sources.extend(onet_sources);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_rewrite_rows_are_checked() {
        let tasks = "sorts mail;drives the route;delivers parcels;collects outgoing mail";
        let skills = "route planning;safe driving;parcel handling;customer service";
        let ok = check_plain(&["mail_carriers"], &[["mail_carriers", tasks, skills]]).expect("valid");
        assert_eq!(ok, vec![vec!["mail_carriers".to_string(), tasks.to_string(), skills.to_string()]]);
        let err = |rows: &[[&str; 3]]| check_plain(&["mail_carriers"], rows).expect_err("refused");
        assert!(err(&[]).contains("0 rows, the occupation map has 1"));
        assert!(err(&[["postmasters", tasks, skills]]).contains("`postmasters` where the map has `mail_carriers`"));
        assert!(err(&[["mail_carriers", "sorts mail;drives the route;sorts mail;collects outgoing mail", skills]])
            .contains("tasks needs 4 distinct items, has 3"));
        assert!(err(&[["mail_carriers", tasks, "route planning;safe driving"]]).contains("skills needs 4"));
        assert!(err(&[["mail_carriers", tasks, "route planning;safe, careful driving;parcels;service"]])
            .contains("item `safe, careful driving`"));
    }

    #[test]
    fn verbs_inflect() {
        for (v, s, g) in [
            ("direct", "directs", "directing"),
            ("carry", "carries", "carrying"),
            ("teach", "teaches", "teaching"),
            ("fix", "fixes", "fixing"),
            ("prepare", "prepares", "preparing"),
            ("plan", "plans", "planning"),
            ("stop", "stops", "stopping"),
            ("edit", "edits", "editing"),
            ("monitor", "monitors", "monitoring"),
            ("refer", "refers", "referring"),
            ("tie", "ties", "tying"),
            ("see", "sees", "seeing"),
            ("do", "does", "doing"),
            ("deliver", "delivers", "delivering"),
            ("sew", "sews", "sewing"),
        ] {
            assert_eq!(third_person(v), s);
            assert_eq!(gerund(v), g);
        }
    }

    #[test]
    fn statements_become_phrases() {
        assert_eq!(
            rewrite("Direct or coordinate an organization's financial or budget activities.", third_person),
            "directs or coordinates an organization's financial or budget activities"
        );
        assert_eq!(
            rewrite("Plan, direct, or coordinate operations (e.g., staffing) of the firm.", third_person),
            "plans, directs, or coordinates operations of the firm"
        );
        assert_eq!(rewrite("Sort mail and parcels for delivery.", third_person), "sorts mail and parcels for delivery");
        assert_eq!(rewrite("Set up and operate lathes.", third_person), "sets up and operates lathes");
        let verbs: std::collections::HashSet<String> =
            ["greet", "seat", "sort", "plan", "direct", "coordinate", "answer", "respond"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        assert!(coordinates_a_later_verb("Greet guests and seat them at tables.", &verbs));
        assert!(coordinates_a_later_verb("Answer calls and respond to inquiries.", &verbs));
        assert!(!coordinates_a_later_verb("Plan, direct, or coordinate operations.", &verbs));
        assert!(!coordinates_a_later_verb("Sort mail and parcels for delivery.", &verbs));
        assert!(coordinates_a_later_verb("Answer calls, respond to inquiries.", &verbs));
        assert_eq!(rewrite("Plan, and direct budgets.", third_person), "plans, and directs budgets");
        assert_eq!(
            rewrite("Deliver items to customers or businesses.", gerund),
            "delivering items to customers or businesses"
        );
    }
}
