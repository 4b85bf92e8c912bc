//! The narrative consistency checker: every narrative of a row against the row's own attributes
//! and the locale's rules. Whoever wrote the text — the template narrator, an LLM, an import —
//! the same rules apply, so `personadb report --narratives`, the SQL function
//! `narrative_violations` and the LLM narrator's re-asks agree on what is wrong.
//!
//! Rules are data: `narrative/<lang>/rules.json` in the locale pack (see
//! `docs/narrative-templates.md`). A few rules need no data and apply to every language:
//! unfilled template syntax, raw snake_case labels, a sentence written twice in one persona,
//! and a word or phrase doubled back to back ("on TV on TV").
//!
//! The checker in two parts around the types below: `rules` reads a pack's `rules.json` into
//! a [`Checker`], and `row` checks each row's narratives against it.

mod row;
mod rules;

use std::collections::{HashMap, HashSet};

use regex::Regex;

use super::Language;

pub use row::split_sentences;

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
    Foreign {
        re: Regex,
        key: Vec<String>,
        via: Option<HashMap<String, String>>,
        own: HashMap<String, HashSet<String>>,
        /// `except_from`: phrases that are never foreign, and inside which no match counts.
        except: Option<Regex>,
    },
    /// A stated age (the first capture group that took part in the match) more than `tolerance`
    /// from the `column`.
    StatedAge { re: Regex, column: String, tolerance: i64, exempt_before: Option<Regex> },
    /// Words of the other sex outnumber the person's own in a field; a cue spelled exactly as
    /// the row's value of one of the `names` columns is that name ("the He family").
    Gender { column: String, sexes: Vec<(String, Regex, Regex)>, names: Vec<String> },
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
    /// The ids of its rules, built-in first.
    pub fn rule_ids(&self) -> &[String] {
        &self.ids
    }
}

#[cfg(test)]
mod tests {
    use super::rules::{expand_cell, resolve};
    use super::*;
    use crate::error::{Error, Result};
    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::DataType;
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
        {"id": "team_of_another_state", "kind": "foreign", "key": "state", "table": "states.csv", "column": "teams",
         "except_from": [{"table": "shared.csv", "column": "phrase"}]},
        {"id": "fan_contradiction", "kind": "exclusive", "first": {"phrases": ["without fanaticism"]}, "second": {"phrases": ["never misses a game"]}}
    ]}"#;

    fn checker() -> Checker {
        let read = |name: &str| -> Result<String> {
            match name {
                "states.csv" => {
                    Ok("state,teams\nNV,Las Vegas Raiders;Nevada Wolf Pack\nCA,Golden State Warriors;LA Dodgers\n"
                        .into())
                }
                "shared.csv" => Ok("phrase\nLA Dodgers\nNevada Wolf Pack Stadium\n".into()),
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
        // `except_from`: a phrase listed there is nobody's foreign phrase, and a match inside an
        // excepted phrase does not count.
        assert_eq!(rules_of(&c, ("male", 40, "NV", "He follows the LA Dodgers.")), Vec::<String>::new());
        assert_eq!(rules_of(&c, ("male", 40, "CA", "He went to the Nevada Wolf Pack Stadium.")), Vec::<String>::new());
        assert_eq!(rules_of(&c, ("male", 40, "CA", "He follows the Nevada Wolf Pack.")), ["team_of_another_state"]);
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
        // List items that share words are no slip: "credit, analysis" recurs only across a comma.
        assert!(r("loan recovery of credit, analysis of credit, analysis of papers").is_empty());
        assert_eq!(r("He sells tea, tea, and cake."), ["doubled_words"]);
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
    fn a_pronoun_spelled_as_the_persons_name_is_the_name() {
        let rules = r#"{"rules": [{"id": "pronoun", "kind": "gender", "names": ["last_name"],
            "cues": {"Male": ["he", "him", "his"], "Female": ["she", "her"]}}]}"#;
        let read = |name: &str| -> Result<String> {
            Err(Error::InvalidArgument { name: name.into(), reason: "absent".into() })
        };
        let c = Checker::load("us", Language::English, Some(rules), &read).unwrap();
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("sex", DataType::Utf8, true),
            arrow::datatypes::Field::new("last_name", DataType::Utf8, true),
            arrow::datatypes::Field::new("persona", DataType::Utf8, true),
        ]));
        let rows = [
            ("Female", "He", "When the He family gets together, Lori He makes dumplings."),
            ("Female", "Smith", "When the Smith family gets together, he makes dumplings."),
            ("Female", "He", "Lori says he makes dumplings, and he is tired."),
        ];
        let b = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
                Arc::new(StringArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
                Arc::new(StringArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
            ],
        )
        .unwrap();
        let found: Vec<usize> = c.check_batch(&b, &["persona".into()]).unwrap().iter().map(Vec::len).collect();
        // The surname is not a pronoun; a lowercase "he" is one whatever the surname.
        assert_eq!(found, [0, 1, 1]);
    }

    #[test]
    fn a_stated_age_is_read_from_whichever_form_matched() {
        let rules = r#"{"rules": [{"id": "age", "kind": "stated_age", "regex": "(\\d+)-year-old|At (\\d+),"}]}"#;
        let read = |name: &str| -> Result<String> {
            Err(Error::InvalidArgument { name: name.into(), reason: "absent".into() })
        };
        let c = Checker::load("us", Language::English, Some(rules), &read).unwrap();
        assert_eq!(rules_of(&c, ("male", 34, "NV", "At 35, he is a nurse.")), ["age"]);
        assert_eq!(rules_of(&c, ("male", 34, "NV", "At 34, he is a nurse.")), Vec::<String>::new());
        assert_eq!(rules_of(&c, ("male", 34, "NV", "He is a 33-year-old nurse.")), ["age"]);
    }

    #[test]
    fn paths_resolve_inside_the_pack() {
        assert_eq!(resolve("narrative/en/", "states.csv"), "narrative/en/states.csv");
        assert_eq!(resolve("narrative/en/", "../../occupation_titles.csv"), "occupation_titles.csv");
        assert_eq!(expand_cell("[waiter|waitress]; {slot} x; cook"), ["waiter", "waitress", "cook"]);
    }
}
