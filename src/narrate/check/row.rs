//! Checking rows: one row's narratives against the built-in rules and the pack's rules, the
//! batch form that reads the narrative columns, and the text helpers the rules use (sentence
//! splitting, doubled words, evidence clipping).

use std::collections::HashMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use regex::Regex;

use super::{Checker, Conditions, Kind, RowText, Test, Violation};
use crate::error::Result;
use crate::narrate::{int_at, text_at, Language, PersonaColumns};

impl Checker {
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
                Kind::Foreign { re, key, via, own, except } => {
                    let mut k = String::new();
                    for (n, c) in key.iter().enumerate() {
                        if n > 0 {
                            k.push('/');
                        }
                        k.push_str(text_at(columns.string(c), i));
                    }
                    if let Some(map) = via {
                        k = map.get(&k).cloned().unwrap_or_default();
                    }
                    let mine = own.get(&k);
                    for (field, t) in fields {
                        let spans: Vec<(usize, usize)> = match except {
                            Some(x) => x.find_iter(t).map(|m| (m.start(), m.end())).collect(),
                            None => Vec::new(),
                        };
                        let found = re.find_iter(t).find(|m| {
                            !mine.is_some_and(|s| s.contains(&m.as_str().to_lowercase()))
                                && !spans.iter().any(|(a, b)| *a <= m.start() && m.end() <= *b)
                        });
                        if let Some(m) = found {
                            push(&rule.id, field, m.as_str());
                        }
                    }
                }
                Kind::StatedAge { re, column, tolerance, exempt_before } => {
                    let Some(age) = int_at(columns.int(column), i) else { continue };
                    for (field, t) in fields {
                        for c in re.captures_iter(t) {
                            // The first group that took part in the match (a regex of several
                            // forms, "N-year-old" | "At N," | "Name, N,", has a group per form).
                            let number = c.iter().skip(1).flatten().next();
                            let stated = number.and_then(|g| g.as_str().parse::<i64>().ok());
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
                Kind::Gender { column, sexes, names } => {
                    let sex = text_at(columns.string(column), i);
                    let Some((_, own, other)) = sexes.iter().find(|(v, _, _)| v == sex) else { continue };
                    let own_names: Vec<&str> =
                        names.iter().map(|c| text_at(columns.string(c), i)).filter(|n| !n.is_empty()).collect();
                    // A cue joined by a hyphen is part of another word ("she-crab soup"); one
                    // spelled as the person's name is the name.
                    let words = |re: &Regex, t: &str| -> Vec<String> {
                        re.find_iter(t)
                            .filter(|m| !t[m.end()..].starts_with('-') && !t[..m.start()].ends_with('-'))
                            .filter(|m| !own_names.contains(&m.as_str()))
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
            // Not a run with a comma inside: list items that share words ("análise de crédito,
            // análise de documentação") repeat across the comma, which no slip does.
            if words[i..i + n - 1].iter().any(|w| w.ends_with(',')) {
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
