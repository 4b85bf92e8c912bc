//! The template engine behind every locale's narratives (`docs/narrative-templates.md`):
//! templates and lexicons are data in `datasets/<locale>/narrative/<lang>/`, slots are filled by
//! persona column or lexicon key (no closed set in code), and grammar comes from the
//! [`Language`] layer. Checked in full when loaded; per persona it only draws and copies text.
//!
//! The engine in three parts around the shared types below: `load` reads a pack's lexicon and
//! templates into a [`PackNarrator`], `compile` parses template text into the narrator's arena
//! and compiles and checks its slots, and `render` draws and writes each persona's narratives.

mod compile;
mod load;
mod render;

use std::collections::HashMap;

use arrow::datatypes::SchemaRef;

use super::language::{Language, Operator};
use crate::error::Result;
use crate::model::schema::GenderSpec;

/// Most distinct picks of one slot a template may ask for (`{hobby#6}`, `{hobby*6}`).
const MAX_PICKS: usize = 6;

/// A sequence of literal text, slot references and gender alternations: a range of the
/// narrator's [`Arena`] parts, or, when it is one piece of literal text (most lexicon entries
/// are), that range of the arena's text directly, marked by [`LITERAL`] in `len`: a pick of it
/// then reads the text without first reading a part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Seq {
    start: u32,
    len: u32,
}

/// The bit of [`Seq::len`] that marks a literal.
const LITERAL: u32 = 1 << 31;

/// The bit of [`Seq::len`] that marks a sequence of one slot or column reference (a template
/// position such as `{intro}`, an entry such as `{role}`): its one part is rendered without
/// walking a part list.
const REF: u32 = 1 << 30;

#[derive(Debug, Clone, Copy)]
enum Part {
    /// A range of the arena's text.
    Text {
        start: u32,
        len: u32,
    },
    Ref(SlotRef),
    /// Masculine, feminine and (optionally) unknown-gender forms: a range of the arena's
    /// `alts`.
    Alt {
        start: u32,
        len: u32,
    },
}

/// Every part and every piece of literal text of a narrator's templates and lexicon, in three
/// arrays: a persona's walk through them stays in a few cache lines instead of chasing one heap
/// allocation per sequence and per string.
#[derive(Debug, Default)]
struct Arena {
    parts: Vec<Part>,
    text: String,
    alts: Vec<Seq>,
}

impl Arena {
    /// The parts of `seq` (none for a literal).
    fn parts(&self, seq: Seq) -> &[Part] {
        if seq.len & LITERAL != 0 {
            return &[];
        }
        let len = seq.len & !REF;
        &self.parts[seq.start as usize..(seq.start + len) as usize]
    }

    fn text(&self, start: u32, len: u32) -> &str {
        &self.text[start as usize..(start + len) as usize]
    }

    /// Appends `parts` as one sequence (a single piece of text becomes a literal).
    fn seq(&mut self, parts: Vec<Part>) -> Seq {
        if let [Part::Text { start, len }] = parts[..] {
            if len < LITERAL {
                return Seq { start, len: len | LITERAL };
            }
        }
        let start = self.parts.len() as u32;
        let single_ref = matches!(parts[..], [Part::Ref(_)]);
        self.parts.extend(parts);
        let len = self.parts.len() as u32 - start;
        Seq { start, len: if single_ref { len | REF } else { len } }
    }
}

#[derive(Debug, Clone, Copy)]
struct SlotRef {
    target: Target,
    /// Which distinct pick (0-based).
    nth: u8,
    /// Joins this many picks as a list (0: a single pick).
    list: u8,
    capitalise: bool,
    op: Option<Operator>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A persona column, by index into [`PackNarrator::columns`].
    Column(u32),
    /// A lexicon slot, by index into [`PackNarrator::slot_names`] (and [`Flat::heads`]).
    Slot(u32),
}

/// Entries by key value: hashed a word at a time, since every persona looks up dozens of short keys.
type KeyMap = HashMap<String, Vec<Seq>, std::hash::BuildHasherDefault<crate::hash::KeyHasher>>;

/// Key values numbered, per key slot.
type KeyIds = HashMap<String, u32, std::hash::BuildHasherDefault<crate::hash::KeyHasher>>;

/// A lexicon slot, compiled (the form the load-time checks read; a persona is narrated from
/// its [`Flat`] form).
#[derive(Debug)]
enum Slot {
    List(Vec<Seq>),
    Keyed {
        by: Target,
        values: KeyMap,
        default: Vec<Seq>,
        /// The entries of each id of the key (see [`PackNarrator::key_ids`] and
        /// [`PackNarrator::column_ids`]), `values` joined with `default` once at load.
        by_id: Vec<Vec<Seq>>,
    },
    Banded {
        by: usize,
        bands: Vec<(i64, Vec<Seq>)>,
        default: Vec<Seq>,
        /// The band of each value from 0 up to the last band's `max` (at most [`BAND_TABLE`]
        /// values): an age or a score finds its band by one index instead of a search.
        ///
        /// [`BAND_TABLE`]: compile::BAND_TABLE
        table: Vec<u8>,
    },
}

/// A range of [`Flat::entries`]: the entries a slot offers a persona.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

/// How a slot finds the entries it offers a persona.
#[derive(Debug, Clone, Copy)]
enum Offer {
    /// The same entries for everyone.
    List(Span),
    /// By the persona's id of the key `by`: `Flat::spans[first + id]` for ids below `ids`,
    /// else `default`.
    Keyed { by: Target, first: u32, ids: u32, default: Span },
    /// By an integer column: `Flat::bands[i]`.
    Banded(u32),
}

/// A slot as a persona is narrated from it: how it offers entries, and whether it is a shared
/// decision (see [`PackNarrator::slot_names`]) drawn from its own stream (forked by `salt`).
#[derive(Debug, Clone, Copy)]
struct SlotHead {
    offer: Offer,
    shared: bool,
    salt: u64,
}

/// A slot keyed by bands of an integer column (`upto`).
#[derive(Debug)]
struct Bands {
    by: usize,
    bands: Vec<(i64, Span)>,
    default: Span,
    /// The band of each value from 0 up to the last band's `max` (see [`Slot::Banded`]).
    table: Vec<u8>,
}

/// [`KEY_RENDER`] in [`Flat::entry_keys`]: the entry is not literal text, so its key id is found
/// by rendering it.
const KEY_RENDER: u32 = u32::MAX - 1;

/// [`COMPOSITE`] in [`Flat::entry_keys`]: the entry is a composite key (`{emp}{sage}{sedu}`)
/// whose key id is read from a table by the picks of its slots (the low bits: its index in
/// [`Flat::composites`]), without rendering it.
const COMPOSITE: u32 = 1 << 31;

/// A key entry made of literal text and first picks of slots whose entries are all literal
/// text: its rendered text, and so its key id, depends only on which entry each slot picked.
/// The key id of every combination is found at load and stored in [`Flat::composite_ids`].
#[derive(Debug, Clone, Copy)]
struct Composite {
    /// Its slots and their weights in the table index: a range of [`Flat::composite_refs`].
    refs: Span,
    /// Where its table starts in [`Flat::composite_ids`].
    table: u32,
}

/// Every slot in one array of headers and every entry list in one pool, so a pick reads a
/// header, a span and an entry instead of chasing a slot's maps and vectors.
#[derive(Debug, Default)]
struct Flat {
    heads: Vec<SlotHead>,
    /// Every slot's entries, each list a [`Span`].
    entries: Vec<Seq>,
    /// Per entry of a slot used as a key: the id of its text in [`PackNarrator::key_ids`], found
    /// at load for literal entries (`u32::MAX`: a value no dependant lists; [`KEY_RENDER`]:
    /// not literal). Other slots' entries hold `u32::MAX`.
    entry_keys: Vec<u32>,
    /// The spans of keyed slots, by key id (see [`Offer::Keyed`]).
    spans: Vec<Span>,
    bands: Vec<Bands>,
    /// Per entry of a slot that a [`Composite`] reads: the number of its text among the
    /// slot's distinct entry texts (0 is the empty text, what the slot renders when it offers
    /// nothing). Other entries hold 0.
    entry_values: Vec<u32>,
    composites: Vec<Composite>,
    /// Per composite, its slots and each one's weight in the table index, in template order.
    composite_refs: Vec<(u32, u32)>,
    /// Per composite, the key id of each combination of its slots' values (`u32::MAX`: a
    /// value no dependant lists).
    composite_ids: Vec<u32>,
}

/// The template narrator of one locale and language.
pub struct PackNarrator {
    locale: String,
    language: Language,
    /// Prose fields: name, then positions of variants.
    fields: Vec<(String, Vec<Vec<Seq>>)>,
    /// List fields: name, slot, count.
    lists: Vec<(String, usize, usize)>,
    /// The slots as a persona is narrated from them.
    flat: Flat,
    /// The parts and text every [`Seq`] points into.
    arena: Arena,
    /// The slots' names, by index. A slot of an `include`d file is one of the person's shared
    /// decisions ([`SlotHead::shared`]), drawn from a stream of its own keyed by the seed, the
    /// persona and the slot's name, so every language of the pack draws the same picks whatever
    /// else it draws before.
    slot_names: Vec<String>,
    /// Per slot used as another slot's `by` key: each key value any of its dependants lists,
    /// numbered. A persona's key id is found once (at load for a literal entry, see
    /// [`Flat::entry_keys`]), however many slots depend on it; each dependant then indexes its spans.
    key_ids: Vec<KeyIds>,
    /// The same per column used as a `by` key (by index into `columns`): a persona's value is
    /// looked up once per column, however many slots it keys.
    column_ids: Vec<KeyIds>,
    /// The persona columns the templates read.
    columns: Vec<String>,
    gender: Option<(GenderSpec, usize)>,
    output: SchemaRef,
    /// Bytes per persona each prose field took in the last batch: the next batch's buffers are
    /// sized from it, so they are not regrown (and copied) while being filled.
    field_bytes: Vec<std::sync::atomic::AtomicUsize>,
}

/// A pack's files, read by name (relative to the pack root).
pub type ReadFile<'a> = &'a dyn Fn(&str) -> Result<String>;

impl PackNarrator {
    /// The language it writes.
    pub fn language(&self) -> Language {
        self.language
    }

    /// Whether the lexicon has a slot `name`.
    pub fn has_slot(&self, name: &str) -> bool {
        self.slot_names.iter().any(|s| s == name)
    }

    /// The lexicon's slot names.
    pub fn slot_names(&self) -> &[String] {
        &self.slot_names
    }
}
