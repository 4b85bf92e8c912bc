//! Reading a pack's `rules.json` into a [`Checker`]: each rule's conditions, fields and kind
//! parsed, and its phrases (listed, or drawn from the pack's CSV tables) compiled into one
//! regex.

use std::collections::{HashMap, HashSet};

use regex::Regex;
use serde_json::Value;

use super::{Checker, Conditions, Kind, Rule, Test, BUILT_IN};
use crate::error::{Error, Result};
use crate::narrate::Language;

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
}

pub(super) use crate::narrate::resolve_pack_path as resolve;

fn parse_rule(
    r: &Value,
    language: Language,
    read: &dyn Fn(&str) -> Result<String>,
) -> std::result::Result<Rule, String> {
    let obj = r.as_object().ok_or("a rule is an object")?;
    const KEYS: [&str; 24] = [
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
        "key_column",
        "everyone",
        "via",
        "table",
        "column",
        "tolerance",
        "exempt_before",
        "cues",
        "names",
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
            // The row's key: one column, or several joined by `/` (`["state", "district"]`).
            let key: Vec<String> = match obj.get("key") {
                Some(Value::String(k)) => vec![k.clone()],
                Some(v) => strings(v)
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| err("`key` is a column or a list of columns (joined by `/`)".into()))?,
                None => return Err(err("a `foreign` rule needs a `key` column".into())),
            };
            let table = obj
                .get("table")
                .and_then(Value::as_str)
                .ok_or_else(|| err("a `foreign` rule needs a `table`".into()))?;
            let column = obj
                .get("column")
                .and_then(Value::as_str)
                .ok_or_else(|| err("a `foreign` rule needs a `column`".into()))?;
            let key_column = obj.get("key_column").and_then(Value::as_str);
            // Rows keyed by this value belong to everyone: their phrases are never foreign.
            let everyone = obj.get("everyone").and_then(Value::as_str);
            let rows = table_column(read, table, key_column, column).map_err(err)?;
            // `except_from`: phrases never foreign ("Baha" the name, not the festival).
            let except: HashSet<String> =
                listed_phrases(obj, "except_from", "", read).map_err(err)?.iter().map(|p| p.to_lowercase()).collect();
            let mut own: HashMap<String, HashSet<String>> = HashMap::new();
            let mut all = Vec::new();
            for (k, cell) in rows {
                if everyone == Some(k.as_str()) {
                    continue;
                }
                for p in expand_cell(&cell).into_iter().filter(|p| !except.contains(&p.to_lowercase())) {
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
                    let kc = v.get("key_column").and_then(Value::as_str);
                    Some(table_column(read, t, kc, c).map_err(err)?.into_iter().collect())
                }
            };
            let except = match except.is_empty() {
                true => None,
                false => Some(alternation(&except.into_iter().collect::<Vec<_>>(), false, bounds).map_err(err)?),
            };
            Kind::Foreign { re: alternation(&all, case_sensitive, bounds).map_err(err)?, key, via, own, except }
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
            let names = match obj.get("names") {
                None => Vec::new(),
                Some(v) => strings(v).ok_or_else(|| err("`names` is a list of column names".into()))?,
            };
            let (a, b) = (lists[0].clone(), lists[1].clone());
            Kind::Gender { column, sexes: vec![(a.0, a.1.clone(), b.1.clone()), (b.0, b.1, a.1)], names }
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
    phrases.extend(
        listed_phrases(obj, "phrases_from", &prefix, read)?
            .into_iter()
            .filter(|p| p.split_whitespace().count() >= min_words),
    );
    let except: HashSet<String> =
        listed_phrases(obj, "except_from", &prefix, read)?.iter().map(|p| p.to_lowercase()).collect();
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

/// The phrases of the tables a rule lists under `key` (`[{"table": …, "column": …}]`), each
/// cell expanded into its alternatives; none when the rule has no such key.
fn listed_phrases(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    prefix: &str,
    read: &dyn Fn(&str) -> Result<String>,
) -> std::result::Result<Vec<String>, String> {
    let Some(v) = obj.get(key) else { return Ok(Vec::new()) };
    let list = v.as_array().ok_or_else(|| format!("`{prefix}{key}` lists {{\"table\", \"column\"}}"))?;
    let mut out = Vec::new();
    for src in list {
        let (Some(t), Some(c)) = (src.get("table").and_then(Value::as_str), src.get("column").and_then(Value::as_str))
        else {
            return Err(format!("`{prefix}{key}`: each needs a `table` and a `column`"));
        };
        for (_, cell) in table_column(read, t, None, c)? {
            out.extend(expand_cell(&cell));
        }
    }
    Ok(out)
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
pub(super) fn expand_cell(cell: &str) -> Vec<String> {
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

/// (key, `column`) of every row of a CSV table, the key from `key_column` (default: the first
/// column).
fn table_column(
    read: &dyn Fn(&str) -> Result<String>,
    table: &str,
    key_column: Option<&str>,
    column: &str,
) -> std::result::Result<Vec<(String, String)>, String> {
    let text = read(table).map_err(|e| format!("table `{table}`: {e}"))?;
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| format!("{table}: {e}"))?.clone();
    let find = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            format!("{table} has no column `{name}` (columns: {})", header.iter().collect::<Vec<_>>().join(", "))
        })
    };
    let idx = find(column)?;
    let key = match key_column {
        Some(k) => find(k)?,
        None => 0,
    };
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("{table}: {e}"))?;
        out.push((record.get(key).unwrap_or_default().to_string(), record.get(idx).unwrap_or_default().to_string()));
    }
    Ok(out)
}
