//! The language layer of the template narrator: what is grammar rather than vocabulary. Word
//! lists and templates live in the locale packs; how lists and sentences are joined, which
//! scripts have capital letters, and the operators templates apply to a value (Portuguese
//! contractions of a preposition with an article, the English indefinite article) live here,
//! once per language.

use crate::error::{Error, Result};

/// A narrative language (a script where it matters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Portuguese,
    Japanese,
    /// Hindi in Devanagari.
    HindiDeva,
    /// Hindi in Latin script, as people type it.
    HindiLatn,
}

/// An operator a template applies to a slot's value (`{de:team}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// English `a`: the indefinite article, `a` or `an`.
    IndefiniteArticle,
    /// Portuguese `de`, `em`, `por`, `a`: the preposition, contracted with a leading definite
    /// article (`de` + `o Bahia` = `do Bahia`).
    Contract(Preposition),
}

/// A Portuguese preposition that contracts with the definite article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preposition {
    De,
    Em,
    Por,
    A,
}

impl Preposition {
    fn word(self) -> &'static str {
        match self {
            Preposition::De => "de",
            Preposition::Em => "em",
            Preposition::Por => "por",
            Preposition::A => "a",
        }
    }

    /// The contractions with `o`, `a`, `os`, `as`.
    fn contractions(self) -> [&'static str; 4] {
        match self {
            Preposition::De => ["do", "da", "dos", "das"],
            Preposition::Em => ["no", "na", "nos", "nas"],
            Preposition::Por => ["pelo", "pela", "pelos", "pelas"],
            Preposition::A => ["ao", "à", "aos", "às"],
        }
    }
}

impl Language {
    /// The language of a code (`en`, `pt`, `ja`, `hi-Deva`, `hi-Latn`; case-insensitive).
    pub fn from_code(code: &str) -> Result<Language> {
        Ok(match code.to_ascii_lowercase().replace('_', "-").as_str() {
            "en" => Language::English,
            "pt" => Language::Portuguese,
            "ja" => Language::Japanese,
            "hi-deva" | "hi" => Language::HindiDeva,
            "hi-latn" => Language::HindiLatn,
            _ => {
                return Err(Error::InvalidArgument {
                    name: "language".into(),
                    reason: format!(
                        "no language layer for '{}' (known: en, pt, ja, hi-Deva, hi-Latn)",
                        crate::error::shorten(code, 20)
                    ),
                })
            }
        })
    }

    /// The code, as packs name their narrative folders.
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Portuguese => "pt",
            Language::Japanese => "ja",
            Language::HindiDeva => "hi-Deva",
            Language::HindiLatn => "hi-Latn",
        }
    }

    /// What goes between two sentences of a field.
    pub fn sentence_separator(self) -> &'static str {
        match self {
            Language::Japanese => "",
            _ => " ",
        }
    }

    /// Whether the script has capital letters (sentences start with one).
    pub fn has_case(self) -> bool {
        matches!(self, Language::English | Language::Portuguese | Language::HindiLatn)
    }

    /// The operator a template names (`de` in `{de:team}`), if this language has it.
    pub fn operator(self, name: &str) -> Option<Operator> {
        match (self, name) {
            (Language::English, "a") => Some(Operator::IndefiniteArticle),
            (Language::Portuguese, "de") => Some(Operator::Contract(Preposition::De)),
            (Language::Portuguese, "em") => Some(Operator::Contract(Preposition::Em)),
            (Language::Portuguese, "por") => Some(Operator::Contract(Preposition::Por)),
            (Language::Portuguese, "a") => Some(Operator::Contract(Preposition::A)),
            _ => None,
        }
    }

    /// The operator names of this language, for error messages.
    pub fn operator_names(self) -> &'static [&'static str] {
        match self {
            Language::English => &["a"],
            Language::Portuguese => &["de", "em", "por", "a"],
            _ => &[],
        }
    }

    /// Applies `op` to the value written at `out[start..]`, in place.
    pub fn apply(self, op: Operator, out: &mut String, start: usize) {
        match op {
            Operator::IndefiniteArticle => {
                let article = indefinite_article(&out[start..]);
                out.insert_str(start, article);
                out.insert(start + article.len(), ' ');
            }
            Operator::Contract(p) => {
                let value = &out[start..];
                let articles = ["o ", "a ", "os ", "as "];
                match articles.iter().position(|a| value.starts_with(a)) {
                    Some(i) => {
                        let len = articles[i].len() - 1;
                        out.replace_range(start..start + len, p.contractions()[i]);
                    }
                    None => {
                        out.insert_str(start, p.word());
                        out.insert(start + p.word().len(), ' ');
                    }
                }
            }
        }
    }

    /// What goes before item `i` of a list of `n` items: nothing before the first, the
    /// language's "and" before the last, a comma between the others, so that the narrator,
    /// writing each item in place, writes `a, b, and c`; `a, b e c`; `a、b、c`.
    pub fn list_separator(self, i: usize, n: usize) -> &'static str {
        if i == 0 {
            return "";
        }
        let (comma, last) = match self {
            Language::English => (", ", if n > 2 { ", and " } else { " and " }),
            Language::Portuguese => (", ", " e "),
            Language::Japanese => ("、", if n > 2 { "、" } else { "と" }),
            Language::HindiDeva => (", ", " और "),
            Language::HindiLatn => (", ", " aur "),
        };
        if i + 1 == n {
            last
        } else {
            comma
        }
    }
}

/// What the LLM narrator's validation looks for in a language's text: how it states an age,
/// the pronouns of each sex, and phrases that say a person works or does not (all lower case).
/// A language without cues gets shape and name checks only.
#[derive(Debug)]
pub struct Cues {
    ages: AgeCue,
    pub male: &'static [&'static str],
    pub female: &'static [&'static str],
    /// Phrases that say the person works (a contradiction for someone who does not).
    pub working: &'static [&'static str],
    /// Phrases that say the person does not work (a contradiction for someone who does).
    pub not_working: &'static [&'static str],
}

#[derive(Debug, Clone, Copy)]
enum AgeCue {
    /// "34-year-old", "34 years old".
    English,
    /// "tem 34 anos", "34 anos de idade" (not "há 34 anos", a duration).
    Portuguese,
    None,
}

impl Cues {
    /// The ages a text states, from its lower-case words (split at anything but letters,
    /// digits and `-`).
    pub fn stated_ages(&self, words: &[&str]) -> Vec<i64> {
        let mut out = Vec::new();
        for (i, w) in words.iter().enumerate() {
            let at = |k: usize| words.get(k).copied().unwrap_or("");
            let stated = match self.ages {
                AgeCue::English => match w.strip_suffix("-year-old") {
                    Some(n) => n.parse::<i64>().ok(),
                    None if at(i + 1) == "years" && at(i + 2) == "old" => w.parse::<i64>().ok(),
                    None => None,
                },
                AgeCue::Portuguese if at(i + 1) == "anos" => {
                    let before = if i > 0 { at(i - 1) } else { "" };
                    let of_age = at(i + 2) == "de" && at(i + 3) == "idade";
                    if before == "tem" || before == "completou" || of_age {
                        w.parse::<i64>().ok()
                    } else {
                        None
                    }
                }
                _ => None,
            };
            out.extend(stated);
        }
        out
    }
}

static ENGLISH_CUES: Cues = Cues {
    ages: AgeCue::English,
    male: &["he", "him", "his", "himself"],
    female: &["she", "her", "hers", "herself"],
    working: &["currently works as", "is employed as", "works full-time as", "works as a "],
    not_working: &["is unemployed", "currently unemployed", "is out of work", "has no job"],
};

static PORTUGUESE_CUES: Cues = Cues {
    ages: AgeCue::Portuguese,
    male: &["ele", "dele", "nele"],
    female: &["ela", "dela", "nela"],
    working: &["trabalha como", "atua como", "exerce a profissão", "está empregado como", "está empregada como"],
    not_working: &["está desempregad", "sem emprego", "não trabalha", "fora do mercado de trabalho"],
};

static NO_CUES: Cues = Cues { ages: AgeCue::None, male: &[], female: &[], working: &[], not_working: &[] };

impl Language {
    /// The cues the LLM narrator's checks use for text in this language.
    pub fn cues(self) -> &'static Cues {
        match self {
            Language::English => &ENGLISH_CUES,
            Language::Portuguese => &PORTUGUESE_CUES,
            Language::Japanese | Language::HindiDeva | Language::HindiLatn => &NO_CUES,
        }
    }
}

/// "a" or "an" before an English word.
pub fn indefinite_article(word: &str) -> &'static str {
    let w = word.trim_start().as_bytes();
    // An acronym read letter by letter: "an MRI technologist", "an RN", "a CPA".
    let acronym = w.len() >= 2
        && w.iter().take_while(|b| b.is_ascii_alphabetic()).all(u8::is_ascii_uppercase)
        && w[1].is_ascii_uppercase();
    if acronym {
        return if b"AEFHILMNORSX".contains(&w[0]) { "an" } else { "a" };
    }
    let starts = |prefix: &str| w.len() >= prefix.len() && w[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes());
    let vowel = ["a", "e", "i", "o"].iter().any(|v| starts(v))
        || (starts("u") && !starts("uni") && !starts("use") && !starts("usu"));
    if vowel || starts("hour") || starts("honest") {
        "an"
    } else {
        "a"
    }
}

/// Upper-cases the first character at byte `start` (sentence starts). An ASCII first byte (nearly
/// every sentence) is settled inline; anything else goes through [`capitalise_char_at`].
#[inline]
pub fn capitalise_at(s: &mut String, start: usize) {
    match s.as_bytes().get(start) {
        None => {}
        Some(b) if !b.is_ascii() => capitalise_char_at(s, start),
        Some(b) if b.is_ascii_lowercase() => s[start..start + 1].make_ascii_uppercase(),
        Some(_) => {}
    }
}

/// [`capitalise_at`] for a first character outside ASCII.
#[inline(never)]
fn capitalise_char_at(s: &mut String, start: usize) {
    let Some(c) = s.get(start..).and_then(|t| t.chars().next()) else {
        return;
    };
    if c.is_lowercase() {
        let upper: String = c.to_uppercase().collect();
        s.replace_range(start..start + c.len_utf8(), &upper);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(lang: Language, op: &str, value: &str) -> String {
        let mut out = String::from("x ");
        out.push_str(value);
        lang.apply(lang.operator(op).expect("operator"), &mut out, 2);
        out
    }

    #[test]
    fn portuguese_contractions() {
        let pt = Language::Portuguese;
        assert_eq!(applied(pt, "em", "a Bahia"), "x na Bahia");
        assert_eq!(applied(pt, "em", "São Paulo"), "x em São Paulo");
        assert_eq!(applied(pt, "de", "o Rio Grande do Sul"), "x do Rio Grande do Sul");
        assert_eq!(applied(pt, "por", "as praias"), "x pelas praias");
        assert_eq!(applied(pt, "a", "a praia"), "x à praia");
        assert_eq!(applied(pt, "de", "os Lençóis"), "x dos Lençóis");
        // A word that merely starts with the letter is no article.
        assert_eq!(applied(pt, "de", "acarajé"), "x de acarajé");
        assert!(pt.operator("the").is_none());
    }

    #[test]
    fn english_articles_follow_the_sound() {
        for (word, article) in [
            ("electrician", "an"),
            ("nurse", "a"),
            ("university lecturer", "a"),
            ("hour", "an"),
            ("MRI technologist", "an"),
            ("RN", "an"),
            ("ICU nurse", "an"),
            ("CPA", "a"),
            ("US Army veteran", "a"),
        ] {
            assert_eq!(indefinite_article(word), article, "{word}");
        }
    }

    /// Items joined with [`Language::list_separator`], as the narrator writes a list.
    fn join_list(lang: Language, items: &[&str]) -> String {
        let mut out = String::new();
        for (i, item) in items.iter().enumerate() {
            out.push_str(lang.list_separator(i, items.len()));
            out.push_str(item);
        }
        out
    }

    #[test]
    fn english_articles_and_lists() {
        assert_eq!(applied(Language::English, "a", "electrician"), "x an electrician");
        assert_eq!(applied(Language::English, "a", "university professor"), "x a university professor");
        let items = ["a", "b", "c"];
        assert_eq!(join_list(Language::English, &items), "a, b, and c");
        assert_eq!(join_list(Language::Portuguese, &items), "a, b e c");
        assert_eq!(join_list(Language::Japanese, &items[..2]), "aとb");
        let mut s = String::from("x. ótimo");
        capitalise_at(&mut s, 3);
        assert_eq!(s, "x. Ótimo");
    }

    #[test]
    fn codes() {
        assert_eq!(Language::from_code("hi_Latn").map(Language::code).ok(), Some("hi-Latn"));
        assert!(Language::from_code("xx").is_err());
    }
}
