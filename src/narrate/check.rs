//! The narrative consistency checker: every narrative of a row against the row's own attributes
//! and the locale's rules. Whoever wrote the text — the template narrator, an LLM, an import —
//! the same rules apply, so `personadb report --narratives`, the SQL function
//! `narrative_violations` and the LLM narrator's re-asks agree on what is wrong.
//!
//! Rules are data: `narrative/<lang>/rules.json` in the locale pack (see
//! `docs/narrative-templates.md`). A few rules need no data and apply to every language:
//! unfilled template syntax, raw snake_case labels, a sentence written twice in one persona,
//! and a word or phrase doubled back to back ("on TV on TV").

use std::collections::{HashMap, HashSet};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use regex::Regex;
use serde_json::Value;

use super::{int_at, text_at, Language, PersonaColumns};
use crate::error::{Error, Result};

/// The rule ids that need no data.
pub const BUILT_IN: [&str; 4] = ["unfilled_slot", "raw_label_token", "duplicate_sentence", "doubled_words"];

/// One thing wrong with one row's narratives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule's id (`stated_age`, `work_when_not_working`, ...).
    pub rule: String,
    /// The narrative field it was found in.
    pub field: String,
    /// The offending text, as found (at most 80 characters).
    pub evidence: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.rule, self.field, self.evidence)
    }
}

/// A condition on a row's columns; a rule applies to the rows that meet all of one of its
/// condition sets.
#[derive(Debug, Clone)]
enum Test {
    In(Vec<String>),
    NotIn(Vec<String>),
    Range(Option<i64>, Option<i64>),
}

type Conditions = Vec<Vec<(String, Test)>>;

#[derive(Debug)]
enum Kind {
    /// Any match is a violation, except inside an excepted phrase.
    Forbid(Regex, Option<Regex>),
    /// A match is a violation unless the phrase belongs to the row's own key (a team of the
    /// person's own state, a festival of the person's own religion).
    Foreign { re: Regex, key: String, via: Option<HashMap<String, String>>, own: HashMap<String, HashSet<String>> },
    /// A stated age (the first capture group) more than `tolerance` from the `column`.
    StatedAge { re: Regex, column: String, tolerance: i64, exempt_before: Option<Regex> },
    /// Words of the other sex outnumber the person's own in a field.
    Gender { column: String, sexes: Vec<(String, Regex, Regex)> },
    /// Two phrase sets that must not both appear in one persona.
    Exclusive(Regex, Regex),
}

#[derive(Debug)]
struct Rule {
    id: String,
    when: Conditions,
    fields: Option<Vec<String>>,
    kind: Kind,
}

/// The checker of one locale's narratives in one language.
#[derive(Debug)]
pub struct Checker {
    language: Language,
    rules: Vec<Rule>,
    /// Ids of every rule, built-in first, in order: what a report lists.
    ids: Vec<String>,
    unfilled: Regex,
    raw_token: Regex,
}

/// The text of one row's narrative fields, in field order (list fields joined with ", ").
pub struct RowText<'a> {
    pub fields: Vec<(&'a str, std::borrow::Cow<'a, str>)>,
}

impl Checker {
    /// The checker of `locale` in `language` (`None`: the pack's first language), from the
    /// embedded pack (or `PERSONADB_DATASETS`). A pack without `rules.json` gets the built-in
    /// rules only.
    pub fn for_locale(locale: &str, language: Option<&str>) -> Result<Checker> {
        let pack = crate::locale::pack(locale)?;
        let model = crate::locale::model(locale)?;
        let spec = model.persona.language(pack.locale, language)?;
        let lang = Language::from_code(&spec.code)?;
        let dir = format!("narrative/{}/", spec.code);
        let names = pack.file_names()?;
        let rules_file = format!("{dir}rules.json");
        let text = if names.contains(&rules_file.as_str()) { Some(pack.file(&rules_file)?) } else { None };
        let read = |name: &str| -> Result<String> { pack.file(&resolve(&dir, name)).map(str::to_string) };
        Checker::load(pack.locale, lang, text, &read)
    }

    /// Builds a checker from a rules file's text (`None`: built-in rules only); `read` opens
    /// the tables the rules name, relative to the rules file's folder.
    pub fn load(
        locale: &str,
        language: Language,
        rules: Option<&str>,
        read: &dyn Fn(&str) -> Result<String>,
    ) -> Result<Checker> {
        let bad = |reason: String| Error::InvalidLocalePack {
            locale: locale.into(),
            reason: format!("narrative/{}/rules.json: {reason}", language.code()),
        };
        let mut parsed = Vec::new();
        if let Some(text) = rules {
            let doc: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
            let list =
                doc.get("rules").and_then(Value::as_array).ok_or_else(|| bad("expected {\"rules\": [...]}".into()))?;
            let mut seen = HashSet::new();
            for (i, r) in list.iter().enumerate() {
                let rule = parse_rule(r, language, read).map_err(|e| bad(format!("rule {}: {e}", i + 1)))?;
                if BUILT_IN.contains(&rule.id.as_str()) || !seen.insert(rule.id.clone()) {
                    return Err(bad(format!("rule {}: the id `{}` is used twice or is built in", i + 1, rule.id)));
                }
                parsed.push(rule);
            }
        }
        let mut ids: Vec<String> = BUILT_IN.iter().map(|s| s.to_string()).collect();
        ids.extend(parsed.iter().map(|r| r.id.clone()));
        Ok(Checker {
            language,
            rules: parsed,
            ids,
            unfilled: Regex::new(r"[{}|\[\]]").expect("a fixed pattern"),
            raw_token: Regex::new(r"\b[A-Za-z]+(?:_[A-Za-z0-9]+)+\b").expect("a fixed pattern"),
        })
    }

    /// The ids of its rules, built-in first.
    pub fn rule_ids(&self) -> &[String] {
        &self.ids
    }

    /// The violations of row `i` of `columns`, whose narrative text is `text`.
    pub fn check_row(&self, columns: &PersonaColumns, i: usize, text: &RowText<'_>) -> Vec<Violation> {
        let mut out = Vec::new();
        let mut push = |rule: &str, field: &str, evidence: &str| {
            out.push(Violation { rule: rule.to_string(), field: field.to_string(), evidence: clip(evidence) })
        };
        let mut sentences: HashMap<String, usize> = HashMap::new();
        for (field, t) in &text.fields {
            if let Some(m) = self.unfilled.find(t) {
                push("unfilled_slot", field, around(t, m.start(), m.end()));
            }
            if let Some(m) = self.raw_token.find(t) {
                push("raw_label_token", field, m.as_str());
            }
            for s in split_sentences(t) {
                let n = sentences.entry(s.to_string()).or_default();
                *n += 1;
                if *n == 2 {
                    push("duplicate_sentence", field, s);
                }
            }
            if let Some(d) = doubled(t, self.language) {
                push("doubled_words", field, &d);
            }
        }
        for rule in &self.rules {
            if !applies(&rule.when, columns, i) {
                continue;
            }
            let fields =
                text.fields.iter().filter(|(f, _)| rule.fields.as_ref().is_none_or(|l| l.iter().any(|x| x == f)));
            match &rule.kind {
                Kind::Forbid(re, except) => {
                    for (field, t) in fields {
                        let spans: Vec<(usize, usize)> = match except {
                            Some(x) => x.find_iter(t).map(|m| (m.start(), m.end())).collect(),
                            None => Vec::new(),
                        };
                        let found =
                            re.find_iter(t).find(|m| !spans.iter().any(|(a, b)| *a <= m.start() && m.end() <= *b));
                        if let Some(m) = found {
                            push(&rule.id, field, m.as_str());
                        }
                    }
                }
                Kind::Foreign { re, key, via, own } => {
                    let mut k = text_at(columns.string(key), i).to_string();
                    if let Some(map) = via {
                        k = map.get(&k).cloned().unwrap_or_default();
                    }
                    let mine = own.get(&k);
                    for (field, t) in fields {
                        let found =
                            re.find_iter(t).find(|m| !mine.is_some_and(|s| s.contains(&m.as_str().to_lowercase())));
                        if let Some(m) = found {
                            push(&rule.id, field, m.as_str());
                        }
                    }
                }
                Kind::StatedAge { re, column, tolerance, exempt_before } => {
                    let Some(age) = int_at(columns.int(column), i) else { continue };
                    for (field, t) in fields {
                        for c in re.captures_iter(t) {
                            let stated = c.get(1).and_then(|g| g.as_str().parse::<i64>().ok());
                            let start = c.get(0).map_or(0, |m| m.start());
                            // Someone else's age ("her son, a 7-year-old"): the words before say so.
                            if exempt_before.as_ref().is_some_and(|x| x.is_match(before(t, start, 60))) {
                                continue;
                            }
                            if stated.is_some_and(|s| (s - age).abs() > *tolerance) {
                                push(&rule.id, field, c.get(0).map_or("", |m| m.as_str()));
                                break;
                            }
                        }
                    }
                }
                Kind::Gender { column, sexes } => {
                    let sex = text_at(columns.string(column), i);
                    let Some((_, own, other)) = sexes.iter().find(|(v, _, _)| v == sex) else { continue };
                    // A cue joined by a hyphen is part of another word ("she-crab soup").
                    let words = |re: &Regex, t: &str| -> Vec<String> {
                        re.find_iter(t)
                            .filter(|m| !t[m.end()..].starts_with('-') && !t[..m.start()].ends_with('-'))
                            .map(|m| m.as_str().to_string())
                            .collect()
                    };
                    for (field, t) in fields {
                        let found = words(other, t);
                        let theirs = found.len();
                        if theirs > 0 && theirs > words(own, t).len() {
                            let m = found.first().map_or("", String::as_str);
                            push(&rule.id, field, &format!("{theirs}× '{m}'"));
                        }
                    }
                }
                Kind::Exclusive(a, b) => {
                    let mut first = None;
                    let mut second = None;
                    for (field, t) in fields {
                        first = first.or_else(|| a.find(t).map(|m| (*field, m.as_str())));
                        second = second.or_else(|| b.find(t).map(|m| (*field, m.as_str())));
                    }
                    if let (Some((fa, ta)), Some((_, tb))) = (first, second) {
                        push(&rule.id, fa, &format!("'{ta}' … '{tb}'"));
                    }
                }
            }
        }
        out
    }

    /// The violations of every row of `batch` (persona columns and narrative fields by name);
    /// `fields` names the narrative columns to read (absent ones are skipped).
    pub fn check_batch(&self, batch: &RecordBatch, fields: &[String]) -> Result<Vec<Vec<Violation>>> {
        let columns = PersonaColumns::new(batch)?;
        let texts = narrative_columns(batch, fields)?;
        let mut out = Vec::with_capacity(batch.num_rows());
        for i in 0..batch.num_rows() {
            let row =
                RowText { fields: texts.iter().filter_map(|(name, c)| c.at(i).map(|t| (name.as_str(), t))).collect() };
            out.push(self.check_row(&columns, i, &row));
        }
        Ok(out)
    }
}

/// A narrative column of a batch: prose, or a list of strings.
enum TextColumn {
    Prose(arrow::array::StringArray),
    List(arrow::array::ListArray),
}

impl TextColumn {
    fn at(&self, i: usize) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            TextColumn::Prose(a) => a.is_valid(i).then(|| std::borrow::Cow::Borrowed(a.value(i))),
            TextColumn::List(l) => {
                if !l.is_valid(i) {
                    return None;
                }
                let items = l.value(i);
                let items = arrow::compute::cast(&items, &DataType::Utf8).ok()?;
                let items = items.as_string::<i32>();
                Some(std::borrow::Cow::Owned(items.iter().flatten().collect::<Vec<_>>().join(", ")))
            }
        }
    }
}

fn narrative_columns(batch: &RecordBatch, fields: &[String]) -> Result<Vec<(String, TextColumn)>> {
    let mut out = Vec::new();
    for name in fields {
        let Some(column) = batch.column_by_name(name) else { continue };
        let c = match column.data_type() {
            DataType::List(_) | DataType::LargeList(_) => {
                let cast = arrow::compute::cast(
                    column,
                    &DataType::List(std::sync::Arc::new(arrow::datatypes::Field::new("item", DataType::Utf8, true))),
                )?;
                TextColumn::List(cast.as_list::<i32>().clone())
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _) => {
                let cast = arrow::compute::cast(column, &DataType::Utf8)?;
                TextColumn::Prose(cast.as_string::<i32>().clone())
            }
            _ => continue,
        };
        out.push((name.clone(), c));
    }
    Ok(out)
}

/// `name` relative to the folder `dir` of the pack (`../../x.csv` climbs to the pack's root).
fn resolve(dir: &str, name: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in name.split('/') {
        match p {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_string(),
    }
}

/// Up to `n` bytes of `t` before byte `at`, from a character boundary.
fn before(t: &str, at: usize, n: usize) -> &str {
    let mut a = at.saturating_sub(n);
    while !t.is_char_boundary(a) {
        a += 1;
    }
    &t[a..at]
}

/// Up to 30 bytes either side of a match, on character boundaries.
fn around(t: &str, start: usize, end: usize) -> &str {
    let mut a = start.saturating_sub(30);
    while !t.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = (end + 30).min(t.len());
    while !t.is_char_boundary(b) {
        b += 1;
    }
    &t[a..b]
}

/// The sentences of a text, split after `.`, `!`, `?`, `。`, `！`, `？`, `।` (as the quality
/// tool splits them), except after abbreviations that do not end a sentence ("St. Louis") and
/// after a Latin `.`, `!` or `?` that a letter follows at once, as inside "F.C." or "U.S.A."
/// written into Japanese text ("京都サンガF.C.の試合").
pub fn split_sentences(t: &str) -> impl Iterator<Item = &str> {
    const ABBREVIATIONS: [&str; 10] = ["St.", "Mt.", "Ft.", "Dr.", "Mr.", "Mrs.", "Ms.", "Jr.", "Sr.", "vs."];
    let mut start = 0;
    let mut pieces = Vec::new();
    for (i, c) in t.char_indices() {
        if !matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '।') {
            continue;
        }
        let end = i + c.len_utf8();
        if c.is_ascii() && t[end..].chars().next().is_some_and(char::is_alphanumeric) {
            continue;
        }
        let head = &t[start..end];
        if c == '.'
            && ABBREVIATIONS
                .iter()
                .any(|a| head.ends_with(a) && (head.len() == a.len() || head[..head.len() - a.len()].ends_with(' ')))
        {
            continue;
        }
        pieces.push(head);
        start = end;
    }
    pieces.push(&t[start..]);
    pieces.into_iter().map(str::trim).filter(|s| !s.is_empty())
}

/// A word or a run of up to three words written twice back to back ("on TV on TV"), except
/// single words that may be doubled in the language ("had had", "that that").
fn doubled(t: &str, language: Language) -> Option<String> {
    if language == Language::Japanese {
        return None;
    }
    // Commas stay on their words: "New York, New York" is a city and its state, not a slip.
    let words: Vec<&str> =
        t.split(|c: char| c.is_whitespace() || matches!(c, '"' | '(' | ')')).filter(|w| !w.is_empty()).collect();
    let lower: Vec<String> = words.iter().map(|w| w.trim_end_matches(['.', '!', '?', '।']).to_lowercase()).collect();
    let ends_sentence = |w: &str| w.ends_with(['.', '!', '?', '।']);
    for n in 1..=3 {
        for i in 0..lower.len().saturating_sub(2 * n - 1) {
            if lower[i..i + n] != lower[i + n..i + 2 * n] {
                continue;
            }
            // Not across a sentence end, and no number runs ("1 1").
            if words[i..i + 2 * n - 1].iter().any(|w| ends_sentence(w)) || lower[i].chars().all(|c| c.is_ascii_digit())
            {
                continue;
            }
            // "had had", and names that repeat ("Justin Justin Trone" has that middle name).
            let capitalised = words[i].chars().next().is_some_and(char::is_uppercase);
            if n == 1 && (capitalised || ["had", "that", "very", "bye", "so", "knock"].contains(&lower[i].as_str())) {
                continue;
            }
            return Some(words[i..i + 2 * n].join(" "));
        }
    }
    None
}

fn applies(when: &Conditions, columns: &PersonaColumns, i: usize) -> bool {
    if when.is_empty() {
        return true;
    }
    when.iter().any(|set| {
        set.iter().all(|(column, test)| match test {
            Test::In(values) => {
                columns.string(column).is_some_and(|c| c.is_valid(i) && values.iter().any(|v| v == c.value(i)))
            }
            Test::NotIn(values) => !values.iter().any(|v| v == text_at(columns.string(column), i)),
            Test::Range(lo, hi) => {
                int_at(columns.int(column), i).is_some_and(|v| lo.is_none_or(|l| v >= l) && hi.is_none_or(|h| v <= h))
            }
        })
    })
}

fn parse_rule(
    r: &Value,
    language: Language,
    read: &dyn Fn(&str) -> Result<String>,
) -> std::result::Result<Rule, String> {
    let obj = r.as_object().ok_or("a rule is an object")?;
    const KEYS: [&str; 21] = [
        "id",
        "kind",
        "message",
        "when",
        "fields",
        "phrases",
        "regex",
        "phrases_from",
        "except_from",
        "case_sensitive",
        "key",
        "via",
        "table",
        "column",
        "tolerance",
        "exempt_before",
        "cues",
        "first",
        "second",
        "word_boundaries",
        "min_words",
    ];
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("unknown key `{k}` (keys: {})", KEYS.join(", ")));
    }
    let id = obj.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or("needs an `id`")?.to_string();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("forbid");
    let when = parse_when(obj.get("when")).map_err(|e| format!("`{id}`: {e}"))?;
    let fields = match obj.get("fields") {
        None => None,
        Some(v) => Some(strings(v).ok_or_else(|| format!("`{id}`: `fields` is a list of field names"))?),
    };
    let case_sensitive = obj.get("case_sensitive").and_then(Value::as_bool).unwrap_or(false);
    let bounds = obj.get("word_boundaries").and_then(Value::as_bool).unwrap_or(language != Language::Japanese);
    let err = |e: String| format!("`{id}`: {e}");
    let kind = match kind {
        "forbid" => {
            let (re, except) = phrase_regex(obj, "", case_sensitive, bounds, read).map_err(err)?;
            Kind::Forbid(re, except)
        }
        "foreign" => {
            let key = obj
                .get("key")
                .and_then(Value::as_str)
                .ok_or_else(|| err("a `foreign` rule needs a `key` column".into()))?;
            let table = obj
                .get("table")
                .and_then(Value::as_str)
                .ok_or_else(|| err("a `foreign` rule needs a `table`".into()))?;
            let column = obj
                .get("column")
                .and_then(Value::as_str)
                .ok_or_else(|| err("a `foreign` rule needs a `column`".into()))?;
            let rows = table_column(read, table, column).map_err(err)?;
            let mut own: HashMap<String, HashSet<String>> = HashMap::new();
            let mut all = Vec::new();
            for (k, cell) in rows {
                for p in expand_cell(&cell) {
                    own.entry(k.clone()).or_default().insert(p.to_lowercase());
                    all.push(p);
                }
            }
            let via = match obj.get("via") {
                None => None,
                Some(v) => {
                    let t =
                        v.get("table").and_then(Value::as_str).ok_or_else(|| err("`via` needs a `table`".into()))?;
                    let c =
                        v.get("column").and_then(Value::as_str).ok_or_else(|| err("`via` needs a `column`".into()))?;
                    Some(table_column(read, t, c).map_err(err)?.into_iter().collect())
                }
            };
            Kind::Foreign { re: alternation(&all, false, bounds).map_err(err)?, key: key.to_string(), via, own }
        }
        "stated_age" => {
            let re = obj
                .get("regex")
                .and_then(Value::as_str)
                .ok_or_else(|| err("a `stated_age` rule needs a `regex` with one group".into()))?;
            let re = Regex::new(&format!("(?i){re}")).map_err(|e| err(e.to_string()))?;
            if re.captures_len() < 2 {
                return Err(err("the `regex` needs a capture group for the number".into()));
            }
            let column = obj.get("column").and_then(Value::as_str).unwrap_or("age").to_string();
            let tolerance = obj.get("tolerance").and_then(Value::as_i64).unwrap_or(0);
            let exempt_before = match obj.get("exempt_before").and_then(Value::as_str) {
                Some(x) => Some(Regex::new(x).map_err(|e| err(format!("`exempt_before`: {e}")))?),
                None => None,
            };
            Kind::StatedAge { re, column, tolerance, exempt_before }
        }
        "gender" => {
            let column = obj.get("column").and_then(Value::as_str).unwrap_or("sex").to_string();
            let cues = obj
                .get("cues")
                .and_then(Value::as_object)
                .ok_or_else(|| err("a `gender` rule needs `cues`: {value: [words]}".into()))?;
            if cues.len() != 2 {
                return Err(err("`cues` gives the words of exactly two values of the column".into()));
            }
            let mut lists = Vec::new();
            for (value, words) in cues {
                let words = strings(words).ok_or_else(|| err(format!("`cues.{value}` is a list of words")))?;
                lists.push((value.clone(), alternation(&words, case_sensitive, bounds).map_err(err)?));
            }
            let (a, b) = (lists[0].clone(), lists[1].clone());
            Kind::Gender { column, sexes: vec![(a.0, a.1.clone(), b.1.clone()), (b.0, b.1, a.1)] }
        }
        "exclusive" => {
            let side = |name: &str| -> std::result::Result<Regex, String> {
                let v = obj.get(name).ok_or_else(|| err(format!("an `exclusive` rule needs `{name}`")))?;
                let o = v.as_object().ok_or_else(|| err(format!("`{name}` is an object with `phrases` or `regex`")))?;
                phrase_regex(o, name, case_sensitive, bounds, read).map(|(re, _)| re).map_err(err)
            };
            Kind::Exclusive(side("first")?, side("second")?)
        }
        other => {
            return Err(err(format!("unknown kind `{other}` (kinds: forbid, foreign, stated_age, gender, exclusive)")))
        }
    };
    Ok(Rule { id, when, fields, kind })
}

fn strings(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}

fn parse_when(v: Option<&Value>) -> std::result::Result<Conditions, String> {
    let sets: Vec<&Value> = match v {
        None => return Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        Some(_) => return Err("`when` is an object (column: test) or a list of them".into()),
    };
    let mut out = Vec::new();
    for set in sets {
        let obj = set.as_object().ok_or("`when` lists objects")?;
        let mut tests = Vec::new();
        for (column, test) in obj {
            let t = match test {
                Value::String(_) | Value::Array(_) => {
                    Test::In(strings(test).ok_or_else(|| format!("`when.{column}`: a list of strings"))?)
                }
                Value::Object(o) => {
                    if let Some(not) = o.get("not") {
                        Test::NotIn(strings(not).ok_or_else(|| format!("`when.{column}.not`: a list of strings"))?)
                    } else if o.contains_key("min") || o.contains_key("max") {
                        let num = |k: &str| -> std::result::Result<Option<i64>, String> {
                            match o.get(k) {
                                None => Ok(None),
                                Some(v) => {
                                    v.as_i64().map(Some).ok_or_else(|| format!("`when.{column}.{k}`: an integer"))
                                }
                            }
                        };
                        Test::Range(num("min")?, num("max")?)
                    } else {
                        return Err(format!(
                            "`when.{column}`: give values, {{\"not\": [...]}} or {{\"min\", \"max\"}}"
                        ));
                    }
                }
                _ => return Err(format!("`when.{column}`: give values, {{\"not\": [...]}} or {{\"min\", \"max\"}}")),
            };
            tests.push((column.clone(), t));
        }
        out.push(tests);
    }
    Ok(out)
}

/// The phrases of a rule (`phrases`, `phrases_from` tables of at least `min_words` words),
/// less `except_from`, as one alternation; or its `regex`. With `except_from`, also the
/// alternation of the excepted phrases: a match inside one of them ("manager" in "store
/// manager") is no violation.
fn phrase_regex(
    obj: &serde_json::Map<String, Value>,
    what: &str,
    case_sensitive: bool,
    bounds: bool,
    read: &dyn Fn(&str) -> Result<String>,
) -> std::result::Result<(Regex, Option<Regex>), String> {
    let min_words = obj.get("min_words").and_then(Value::as_u64).unwrap_or(1) as usize;
    let prefix = if what.is_empty() { String::new() } else { format!("{what}.") };
    let mut phrases: Vec<String> = match obj.get("phrases") {
        None => Vec::new(),
        Some(v) => strings(v).ok_or_else(|| format!("`{prefix}phrases` is a list of strings"))?,
    };
    let mut except: HashSet<String> = HashSet::new();
    for (key, into_except) in [("phrases_from", false), ("except_from", true)] {
        let Some(v) = obj.get(key) else { continue };
        let list = v.as_array().ok_or_else(|| format!("`{prefix}{key}` lists {{\"table\", \"column\"}}"))?;
        for src in list {
            let t = src
                .get("table")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("`{prefix}{key}`: each needs a `table`"))?;
            let c = src
                .get("column")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("`{prefix}{key}`: each needs a `column`"))?;
            for (_, cell) in table_column(read, t, c)? {
                for p in expand_cell(&cell) {
                    if into_except {
                        except.insert(p.to_lowercase());
                    } else if p.split_whitespace().count() >= min_words {
                        phrases.push(p);
                    }
                }
            }
        }
    }
    phrases.retain(|p| !except.contains(&p.to_lowercase()));
    let excepted = match except.is_empty() {
        true => None,
        false => Some(alternation(&except.into_iter().collect::<Vec<_>>(), false, bounds)?),
    };
    let re = match obj.get("regex").and_then(Value::as_str) {
        Some(re) if phrases.is_empty() => {
            let flags = if case_sensitive { "" } else { "(?i)" };
            Regex::new(&format!("{flags}{re}")).map_err(|e| format!("`{prefix}regex`: {e}"))?
        }
        Some(_) => return Err(format!("give `{prefix}regex` or phrases, not both")),
        None if phrases.is_empty() => return Err(format!("`{prefix}phrases`: no phrases given (or all excepted)")),
        None => alternation(&phrases, case_sensitive, bounds)?,
    };
    Ok((re, excepted))
}

/// One regex matching any of the phrases (longest first), as whole words where `bounds`.
fn alternation(phrases: &[String], case_sensitive: bool, bounds: bool) -> std::result::Result<Regex, String> {
    let mut list: Vec<&String> = phrases.iter().filter(|p| !p.trim().is_empty()).collect();
    list.sort_by_key(|p| std::cmp::Reverse(p.len()));
    list.dedup();
    if list.is_empty() {
        return Err("no phrases".into());
    }
    let body = list.iter().map(|p| regex::escape(p.trim())).collect::<Vec<_>>().join("|");
    let flags = if case_sensitive { "" } else { "(?i)" };
    let pattern = if bounds { format!(r"{flags}\b(?:{body})\b") } else { format!("{flags}(?:{body})") };
    regex::RegexBuilder::new(&pattern).size_limit(64 << 20).build().map_err(|e| e.to_string())
}

/// The cell's phrases: entries separated by `;`, each `[a|b]` alternation expanded, entries
/// that hold slots (`{...}`) left out.
fn expand_cell(cell: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in cell.split(';').map(str::trim).filter(|e| !e.is_empty() && !e.contains('{')) {
        match (entry.find('['), entry.find(']')) {
            (Some(a), Some(b)) if a < b => {
                for alt in entry[a + 1..b].split('|') {
                    out.push(format!("{}{}{}", &entry[..a], alt, &entry[b + 1..]).trim().to_string());
                }
            }
            _ => out.push(entry.to_string()),
        }
    }
    out
}

/// (first column, `column`) of every row of a CSV table.
fn table_column(
    read: &dyn Fn(&str) -> Result<String>,
    table: &str,
    column: &str,
) -> std::result::Result<Vec<(String, String)>, String> {
    let text = read(table).map_err(|e| format!("table `{table}`: {e}"))?;
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| format!("{table}: {e}"))?.clone();
    let idx = header.iter().position(|h| h == column).ok_or_else(|| {
        format!("{table} has no column `{column}` (columns: {})", header.iter().collect::<Vec<_>>().join(", "))
    })?;
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("{table}: {e}"))?;
        out.push((record.get(0).unwrap_or_default().to_string(), record.get(idx).unwrap_or_default().to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use std::sync::Arc;

    fn batch(rows: &[(&str, i64, &str, &str)]) -> RecordBatch {
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("sex", DataType::Utf8, true),
            arrow::datatypes::Field::new("age", DataType::Int64, true),
            arrow::datatypes::Field::new("state", DataType::Utf8, true),
            arrow::datatypes::Field::new("persona", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
                Arc::new(StringArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
                Arc::new(StringArray::from(rows.iter().map(|r| r.3).collect::<Vec<_>>())),
            ],
        )
        .unwrap()
    }

    const RULES: &str = r#"{"rules": [
        {"id": "stated_age", "kind": "stated_age", "regex": "(\\d+)-year-old", "exempt_before": "\\bson,? (?:a )?$"},
        {"id": "pronoun", "kind": "gender", "cues": {"male": ["he", "him", "his"], "female": ["she", "her"]}},
        {"id": "commute_when_old", "when": {"age": {"min": 80}}, "phrases": ["commute", "commutes"]},
        {"id": "team_of_another_state", "kind": "foreign", "key": "state", "table": "states.csv", "column": "teams"},
        {"id": "fan_contradiction", "kind": "exclusive", "first": {"phrases": ["without fanaticism"]}, "second": {"phrases": ["never misses a game"]}}
    ]}"#;

    fn checker() -> Checker {
        let read = |name: &str| -> Result<String> {
            match name {
                "states.csv" => {
                    Ok("state,teams\nNV,Las Vegas Raiders;Nevada Wolf Pack\nCA,Golden State Warriors;LA Dodgers\n"
                        .into())
                }
                _ => Err(Error::InvalidArgument { name: name.into(), reason: "absent".into() }),
            }
        };
        Checker::load("us", Language::English, Some(RULES), &read).unwrap()
    }

    fn rules_of(c: &Checker, row: (&str, i64, &str, &str)) -> Vec<String> {
        let b = batch(&[row]);
        c.check_batch(&b, &["persona".into()]).unwrap().remove(0).into_iter().map(|v| v.rule).collect()
    }

    #[test]
    fn each_defect_class_is_found() {
        let c = checker();
        let clean = ("male", 34, "NV", "He is a 34-year-old nurse. He roots for the Nevada Wolf Pack.");
        assert_eq!(rules_of(&c, clean), Vec::<String>::new());
        assert_eq!(rules_of(&c, ("male", 34, "NV", "He is a 35-year-old nurse.")), ["stated_age"]);
        assert_eq!(rules_of(&c, ("male", 34, "NV", "He has a son, a 7-year-old.")), Vec::<String>::new());
        assert_eq!(rules_of(&c, ("male", 34, "NV", "She is kind. Her days are long. He reads.")), ["pronoun"]);
        assert_eq!(rules_of(&c, ("male", 34, "NV", "He loves she-crab soup.")), Vec::<String>::new());
        assert_eq!(rules_of(&c, ("female", 90, "NV", "She hates her commute.")), ["commute_when_old"]);
        assert_eq!(rules_of(&c, ("female", 50, "NV", "She hates her commute.")), Vec::<String>::new());
        assert_eq!(
            rules_of(&c, ("male", 40, "NV", "He follows the Golden State Warriors.")),
            ["team_of_another_state"]
        );
        assert_eq!(rules_of(&c, ("male", 40, "CA", "He follows the Golden State Warriors.")), Vec::<String>::new());
        assert_eq!(
            rules_of(&c, ("male", 40, "CA", "He follows sport without fanaticism. He never misses a game.")),
            ["fan_contradiction"]
        );
    }

    #[test]
    fn built_in_rules_need_no_data() {
        let c = Checker::load("us", Language::English, None, &|_| unreachable!()).unwrap();
        let r = |t: &str| rules_of(&c, ("male", 40, "CA", t));
        assert_eq!(r("He watches games on TV on TV."), ["doubled_words"]);
        assert_eq!(r("He works as a {title}."), ["unfilled_slot"]);
        assert_eq!(r("He meets the [children's|elders'] needs."), ["unfilled_slot"]);
        assert_eq!(r("He works as a machine_operators."), ["raw_label_token"]);
        assert_eq!(r("He likes tea. He reads. He likes tea."), ["duplicate_sentence"]);
        assert_eq!(r("He had had enough. That is that."), Vec::<String>::new());
        assert_eq!(r("He is 41. 41 is young."), Vec::<String>::new());
    }

    #[test]
    fn sentences_end_at_their_marks_not_inside_abbreviations() {
        fn split(t: &str) -> Vec<&str> {
            split_sentences(t).collect()
        }
        assert_eq!(split("He lives in St. Louis. He reads!"), ["He lives in St. Louis.", "He reads!"]);
        assert_eq!(split("It weighs 3.5 kg. Fine."), ["It weighs 3.5 kg.", "Fine."]);
        assert_eq!(
            split("京都サンガF.C.の試合を見る。週末は寺を巡る。"),
            ["京都サンガF.C.の試合を見る。", "週末は寺を巡る。"]
        );
    }

    #[test]
    fn a_bad_rule_is_refused_with_its_name() {
        let read = |_: &str| -> Result<String> { Ok("k,v\na,b\n".into()) };
        for (rules, wanted) in [
            (r#"{"rules": [{"id": "x", "phrases": []}]}"#, "no phrases"),
            (r#"{"rules": [{"id": "x", "kind": "nope", "phrases": ["a"]}]}"#, "unknown kind"),
            (r#"{"rules": [{"id": "x", "phrase": ["a"]}]}"#, "unknown key `phrase`"),
            (r#"{"rules": [{"id": "x", "kind": "stated_age", "regex": "\\d+"}]}"#, "capture group"),
            (r#"{"rules": [{"id": "x", "phrases_from": [{"table": "t.csv", "column": "w"}]}]}"#, "no column `w`"),
            (r#"{"rules": [{"id": "duplicate_sentence", "phrases": ["a"]}]}"#, "built in"),
            (r#"{"rules": [{"id": "x", "when": {"age": {"min": "a"}}, "phrases": ["a"]}]}"#, "integer"),
        ] {
            let e = Checker::load("us", Language::English, Some(rules), &read).unwrap_err().to_string();
            assert!(e.contains(wanted) && e.contains("rules.json"), "{rules}: {e}");
        }
    }

    #[test]
    fn paths_resolve_inside_the_pack() {
        assert_eq!(resolve("narrative/en/", "states.csv"), "narrative/en/states.csv");
        assert_eq!(resolve("narrative/en/", "../../occupation_titles.csv"), "occupation_titles.csv");
        assert_eq!(expand_cell("[waiter|waitress]; {slot} x; cook"), ["waiter", "waitress", "cook"]);
    }
}
