//! The persona schema of a locale pack: what the engine needs to know about a pack's columns
//! beyond how to sample them — its name and place columns, which columns to index and show,
//! its narrative fields, languages and embedding models, and how its `sex` column maps to
//! grammatical gender. Declared in the `persona` object of the pack's `network.json`, so
//! nothing outside the pack names a locale's columns.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The `persona` object of a `network.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonaSchema {
    /// Name columns, in the order a full name is written (`first_name`, `last_name`).
    pub names: Vec<String>,
    /// Place columns, finest first (`city`, `state`).
    pub places: Vec<String>,
    /// Columns that get a scalar index (bitmap for few-valued ones, B-tree for `btree` ones).
    #[serde(default)]
    pub index: Vec<IndexColumn>,
    /// The columns `personadb search` shows by default.
    pub display: Vec<String>,
    /// Protected attributes (race, ethnicity, religion) that exports leave out when asked
    /// (`--drop-protected`, `SET personadb.drop_protected`).
    #[serde(default)]
    pub protected: Vec<String>,
    /// The narrative columns and how they are written.
    pub narrative: NarrativeSchema,
}

/// A column to index, and how.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexColumn {
    pub column: String,
    /// `bitmap` (few distinct values) or `btree` (ordered, many values).
    pub kind: IndexKind,
}

/// A scalar index kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexKind {
    Bitmap,
    Btree,
}

/// The narrative side of a persona.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NarrativeSchema {
    /// The prose fields, in output order.
    pub fields: Vec<String>,
    /// The list fields (lists of short strings), in output order, after the prose fields.
    #[serde(default)]
    pub lists: Vec<String>,
    /// The languages narratives can be written in; the first is the default.
    pub languages: Vec<LanguageSpec>,
    /// How a persona's grammatical gender is read from its columns.
    #[serde(default)]
    pub gender: Option<GenderSpec>,
    /// Column values that mean the person does not work (any one suffices), so narrators can
    /// tell who works: `[{"column": "occupation", "values": ["not_in_workforce"]}]`.
    #[serde(default)]
    pub not_working: Vec<ColumnValues>,
}

/// Some values of one column.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnValues {
    pub column: String,
    pub values: Vec<String>,
}

/// One narrative language of a pack.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageSpec {
    /// A BCP 47-style code: `en`, `pt`, `ja`, `hi-Deva`, `hi-Latn`. Its templates and lexicons
    /// live in `narrative/<code>/`.
    pub code: String,
    /// The embedding model for text in this language (a name the embedder registry knows).
    pub embedding_model: String,
}

/// Which values of which column mean a man or a woman.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenderSpec {
    pub column: String,
    pub female: Vec<String>,
    pub male: Vec<String>,
}

/// A persona's grammatical gender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Male,
    Female,
    Unknown,
}

impl GenderSpec {
    /// The gender a value of the gender column stands for.
    pub fn of(&self, value: &str) -> Gender {
        if self.female.iter().any(|v| v == value) {
            Gender::Female
        } else if self.male.iter().any(|v| v == value) {
            Gender::Male
        } else {
            Gender::Unknown
        }
    }
}

impl PersonaSchema {
    /// Checks that every column the schema names is one of the pack's output `columns`.
    pub fn check(&self, locale: &str, columns: &[&str]) -> Result<()> {
        let bad = |reason: String| Error::InvalidLocalePack { locale: locale.into(), reason };
        let mut named: Vec<(&str, &str)> = Vec::new();
        named.extend(self.names.iter().map(|c| ("names", c.as_str())));
        named.extend(self.places.iter().map(|c| ("places", c.as_str())));
        named.extend(self.index.iter().map(|c| ("index", c.column.as_str())));
        named.extend(self.display.iter().map(|c| ("display", c.as_str())));
        named.extend(self.protected.iter().map(|c| ("protected", c.as_str())));
        if let Some(g) = &self.narrative.gender {
            named.push(("narrative.gender", g.column.as_str()));
        }
        named.extend(self.narrative.not_working.iter().map(|w| ("narrative.not_working", w.column.as_str())));
        for (what, c) in named {
            if !columns.contains(&c) {
                return Err(bad(format!(
                    "network.json: persona.{what} names `{c}`, which is not an output column (columns: {})",
                    crate::error::name_list(columns, Some(c))
                )));
            }
        }
        if self.narrative.languages.is_empty() {
            return Err(bad("network.json: persona.narrative.languages is empty".into()));
        }
        let mut all: Vec<&str> =
            self.narrative.fields.iter().chain(&self.narrative.lists).map(String::as_str).collect();
        all.sort_unstable();
        if let Some(w) = all.windows(2).find(|w| w[0] == w[1]) {
            return Err(bad(format!("network.json: narrative field `{}` is declared twice", w[0])));
        }
        if let Some(c) = all.iter().find(|f| columns.contains(f)) {
            return Err(bad(format!("network.json: narrative field `{c}` is also a persona column")));
        }
        Ok(())
    }

    /// The language spec for `code` (`None`: the default, the first).
    pub fn language(&self, locale: &str, code: Option<&str>) -> Result<&LanguageSpec> {
        let langs = &self.narrative.languages;
        match code {
            None => langs.first().ok_or_else(|| Error::InvalidLocalePack {
                locale: locale.into(),
                reason: "no narrative language".into(),
            }),
            Some(c) => langs.iter().find(|l| l.code.eq_ignore_ascii_case(c)).ok_or_else(|| Error::InvalidArgument {
                name: "language".into(),
                reason: format!(
                    "locale '{locale}' has no narrative language '{}' (languages: {})",
                    crate::error::shorten(c, 20),
                    langs.iter().map(|l| l.code.as_str()).collect::<Vec<_>>().join(", ")
                ),
            }),
        }
    }

    /// Every narrative column, prose fields first.
    pub fn narrative_columns(&self) -> impl Iterator<Item = &str> {
        self.narrative.fields.iter().chain(&self.narrative.lists).map(String::as_str)
    }
}
