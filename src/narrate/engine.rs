//! The template engine behind every locale's narratives (`docs/narrative-templates.md`):
//! templates and lexicons are data in `datasets/<locale>/narrative/<lang>/`, slots are filled by
//! persona column or lexicon key (no closed set in code), and grammar comes from the
//! [`Language`] layer. Checked in full when loaded; per persona it only draws and copies text.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListBuilder, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::DataType;
use arrow::datatypes::SchemaRef;
use serde_json::Value;

use super::language::{capitalise_at, Language, Operator};
use super::{Narrated, Narrator, PersonaRng};
use crate::error::{Error, Result};
use crate::model::schema::{Gender, GenderSpec, PersonaSchema};

/// Most distinct picks of one slot a template may ask for (`{hobby#6}`, `{hobby*6}`).
const MAX_PICKS: usize = 6;

/// A sequence of literal text, slot references and gender alternations: a range of the
/// narrator's [`Arena`] parts, or, when it is one piece of literal text (most lexicon entries
/// are), that range of the arena's text directly, marked by [`LITERAL`] in `len`: a pick of it
/// then reads the text without first reading a part.
#[derive(Debug, Clone, Copy, Default)]
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
    Column(usize),
    /// A lexicon slot, by index into [`PackNarrator::slots`].
    Slot(usize),
}

/// Entries by key value: hashed a word at a time, since every persona looks up dozens of short keys.
type KeyMap = HashMap<String, Vec<Seq>, std::hash::BuildHasherDefault<crate::hash::KeyHasher>>;

/// Key values numbered, per key slot.
type KeyIds = HashMap<String, u32, std::hash::BuildHasherDefault<crate::hash::KeyHasher>>;

/// A lexicon slot, compiled.
#[derive(Debug)]
enum Slot {
    List(Vec<Seq>),
    Keyed {
        by: Target,
        values: KeyMap,
        default: Vec<Seq>,
        /// Keyed by a slot: the entries of each of that slot's key ids (see
        /// [`PackNarrator::key_ids`]), `values` joined with `default` once at load.
        by_id: Vec<Vec<Seq>>,
    },
    Banded {
        by: usize,
        bands: Vec<(i64, Vec<Seq>)>,
        default: Vec<Seq>,
        /// The band of each value from 0 up to the last band's `max` (at most [`BAND_TABLE`]
        /// values): an age or a score finds its band by one index instead of a search.
        table: Vec<u8>,
    },
}

/// The template narrator of one locale and language.
pub struct PackNarrator {
    locale: String,
    language: Language,
    /// Prose fields: name, then positions of variants.
    fields: Vec<(String, Vec<Vec<Seq>>)>,
    /// List fields: name, slot, count.
    lists: Vec<(String, usize, usize)>,
    slots: Vec<Slot>,
    /// The parts and text every [`Seq`] points into.
    arena: Arena,
    /// The slots' names, by index.
    slot_names: Vec<String>,
    /// Per slot used as another slot's `by` key: each key value any of its dependants lists,
    /// numbered. A persona's key is rendered and looked up here once, however many slots
    /// depend on it; each dependant then indexes its `by_id`.
    key_ids: Vec<KeyIds>,
    /// The persona columns the templates read.
    columns: Vec<String>,
    gender: Option<(GenderSpec, usize)>,
    output: SchemaRef,
    /// Bytes per persona each prose field took in the last batch: the next batch's buffers are
    /// sized from it, so they are not regrown (and copied) while being filled.
    field_bytes: Vec<std::sync::atomic::AtomicUsize>,
}

/// Where a template came from, for error messages.
struct Origin<'a> {
    locale: &'a str,
    file: &'a str,
}

impl Origin<'_> {
    fn bad(&self, reason: impl Into<String>) -> Error {
        Error::InvalidLocalePack { locale: self.locale.into(), reason: format!("{}: {}", self.file, reason.into()) }
    }
}

/// Names known while templates are parsed.
struct Names<'a> {
    language: Language,
    slots: &'a HashMap<String, usize>,
    /// The pack's output columns.
    known_columns: &'a [String],
    /// The columns referenced so far (indices are [`Target::Column`]).
    used_columns: Vec<String>,
    /// Where parsed sequences go.
    arena: Arena,
}

impl Names<'_> {
    fn column(&mut self, name: &str) -> Option<usize> {
        if !self.known_columns.iter().any(|c| c == name) {
            return None;
        }
        Some(match self.used_columns.iter().position(|c| c == name) {
            Some(i) => i,
            None => {
                self.used_columns.push(name.to_string());
                self.used_columns.len() - 1
            }
        })
    }

    /// A name in a template: a slot first, else a column.
    fn resolve(&mut self, name: &str) -> Option<Target> {
        match self.slots.get(name) {
            Some(i) => Some(Target::Slot(*i)),
            None => self.column(name).map(Target::Column),
        }
    }

    /// A `by` key: a column first, else a slot.
    fn key(&mut self, name: &str) -> Option<Target> {
        match self.column(name) {
            Some(i) => Some(Target::Column(i)),
            None => self.slots.get(name).map(|i| Target::Slot(*i)),
        }
    }

    fn known(&self) -> String {
        let mut all: Vec<&str> = self.slots.keys().map(String::as_str).collect();
        all.sort_unstable();
        let slots = all.join(", ");
        format!("slots: {}; columns: {}", crate::error::shorten(&slots, 600), self.known_columns.join(", "))
    }
}

/// Parses template text into a [`Seq`].
fn parse(text: &str, names: &mut Names, origin: &Origin) -> Result<Seq> {
    let mut pos = 0;
    let (seq, end) = parse_seq(text, &mut pos, false, names, origin)?;
    debug_assert!(end.is_none());
    Ok(seq)
}

/// Parses until the end of `text` or, inside an alternation, until `|` or `]` (returned).
fn parse_seq(
    text: &str,
    pos: &mut usize,
    in_alt: bool,
    names: &mut Names,
    origin: &Origin,
) -> Result<(Seq, Option<char>)> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let flush = |literal: &mut String, parts: &mut Vec<Part>, arena: &mut Arena| {
        if !literal.is_empty() {
            let start = arena.text.len() as u32;
            arena.text.push_str(literal);
            parts.push(Part::Text { start, len: literal.len() as u32 });
            literal.clear();
        }
    };
    while let Some(c) = text[*pos..].chars().next() {
        *pos += c.len_utf8();
        match c {
            '{' => {
                let close = text[*pos..]
                    .find('}')
                    .ok_or_else(|| origin.bad(format!("unclosed `{{` in \"{}\"", crate::error::shorten(text, 200))))?;
                let inner = &text[*pos..*pos + close];
                *pos += close + 1;
                flush(&mut literal, &mut parts, &mut names.arena);
                parts.push(Part::Ref(parse_ref(inner, text, names, origin)?));
            }
            '[' => {
                flush(&mut literal, &mut parts, &mut names.arena);
                let mut forms = Vec::new();
                loop {
                    let (form, end) = parse_seq(text, pos, true, names, origin)?;
                    forms.push(form);
                    match end {
                        Some('|') => continue,
                        Some(_) => break,
                        None => {
                            return Err(origin.bad(format!("unclosed `[` in \"{}\"", crate::error::shorten(text, 200))))
                        }
                    }
                }
                if !(2..=3).contains(&forms.len()) {
                    return Err(origin.bad(format!(
                        "an alternation needs 2 or 3 forms ([masculine|feminine] or [m|f|unknown]) in \"{}\"",
                        crate::error::shorten(text, 200)
                    )));
                }
                let start = names.arena.alts.len() as u32;
                names.arena.alts.extend(forms);
                parts.push(Part::Alt { start, len: names.arena.alts.len() as u32 - start });
            }
            '|' | ']' if in_alt => {
                flush(&mut literal, &mut parts, &mut names.arena);
                return Ok((names.arena.seq(parts), Some(c)));
            }
            '}' => return Err(origin.bad(format!("a `}}` without `{{` in \"{}\"", crate::error::shorten(text, 200)))),
            _ => literal.push(c),
        }
    }
    flush(&mut literal, &mut parts, &mut names.arena);
    Ok((names.arena.seq(parts), None))
}

/// Parses the inside of `{...}`: `[^][op:]name[#n|*n]`.
fn parse_ref(inner: &str, text: &str, names: &mut Names, origin: &Origin) -> Result<SlotRef> {
    let whole = || crate::error::shorten(text, 200);
    let mut rest = inner.trim();
    let capitalise = rest.starts_with('^');
    if capitalise {
        rest = &rest[1..];
    }
    let mut op = None;
    if let Some((name, tail)) = rest.split_once(':') {
        op = Some(names.language.operator(name).ok_or_else(|| {
            origin.bad(format!(
                "unknown operator `{name}:` in \"{}\" (the {} language layer has: {})",
                whole(),
                names.language.code(),
                names.language.operator_names().join(", ")
            ))
        })?);
        rest = tail;
    }
    let (name, nth, list) = match rest.find(['#', '*']) {
        Some(i) => {
            let n: usize = rest[i + 1..]
                .parse()
                .ok()
                .filter(|n| (1..=MAX_PICKS).contains(n))
                .ok_or_else(|| origin.bad(format!("`{{{inner}}}`: the count must be 1 to {MAX_PICKS}")))?;
            if rest.as_bytes()[i] == b'#' {
                (&rest[..i], n - 1, 0)
            } else {
                (&rest[..i], 0, n)
            }
        }
        None => (rest, 0, 0),
    };
    let valid = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    if !valid {
        return Err(origin.bad(format!("`{{{inner}}}` is not a slot reference in \"{}\"", whole())));
    }
    let target = names
        .resolve(name)
        .ok_or_else(|| origin.bad(format!("unknown slot `{{{name}}}` in \"{}\" ({})", whole(), names.known())))?;
    if matches!(target, Target::Column(_)) && (nth > 0 || list > 0) {
        return Err(origin.bad(format!("`{{{inner}}}`: `#` and `*` apply to lexicon slots, not to columns")));
    }
    Ok(SlotRef { target, nth: nth as u8, list: list as u8, capitalise, op })
}

/// A pack's files, read by name (relative to the pack root).
pub type ReadFile<'a> = &'a dyn Fn(&str) -> Result<String>;

impl PackNarrator {
    /// The narrator of a locale's `language` (its folder `narrative/<code>/`), checked in full.
    pub fn load(
        locale: &str,
        language: Language,
        schema: &PersonaSchema,
        columns: &[String],
        read: ReadFile,
    ) -> Result<Self> {
        let dir = format!("narrative/{}", language.code());
        let lexicon_file = format!("{dir}/lexicon.json");
        let templates_file = format!("{dir}/templates.json");
        let lex_origin = Origin { locale, file: &lexicon_file };
        let lexicon: Value = serde_json::from_str(&read(&lexicon_file)?).map_err(|e| lex_origin.bad(e.to_string()))?;
        let slot_defs = lexicon
            .get("slots")
            .and_then(Value::as_object)
            .ok_or_else(|| lex_origin.bad("expected an object with a `slots` object"))?;
        let slot_names: Vec<String> = slot_defs.keys().cloned().collect();
        let index: HashMap<String, usize> = slot_names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
        let mut names = Names {
            language,
            slots: &index,
            known_columns: columns,
            used_columns: Vec::new(),
            arena: Arena::default(),
        };
        let mut tables: HashMap<String, csv_table::Table> = HashMap::new();
        let mut slots = Vec::with_capacity(slot_names.len());
        for name in &slot_names {
            let origin = Origin { locale, file: &lexicon_file };
            slots.push(compile_slot(name, &slot_defs[name], &mut names, &origin, &dir, read, &mut tables, locale)?);
        }
        // Templates.
        let t_origin = Origin { locale, file: &templates_file };
        let templates: Value =
            serde_json::from_str(&read(&templates_file)?).map_err(|e| t_origin.bad(e.to_string()))?;
        let field_defs = templates
            .get("fields")
            .and_then(Value::as_object)
            .ok_or_else(|| t_origin.bad("expected an object with a `fields` object"))?;
        let mut fields = Vec::new();
        for field in &schema.narrative.fields {
            let positions = field_defs
                .get(field)
                .and_then(Value::as_array)
                .ok_or_else(|| t_origin.bad(format!("no templates for the field `{field}` (a list of positions)")))?;
            if positions.is_empty() {
                return Err(t_origin.bad(format!("`{field}` has no positions")));
            }
            let mut compiled = Vec::new();
            for variants in positions {
                let what = format!("`{field}`: each position is a non-empty list of template strings");
                compiled.push(entries(variants, &mut names, &t_origin, &what)?);
            }
            fields.push((field.clone(), compiled));
        }
        if let Some(extra) = field_defs.keys().find(|k| !schema.narrative.fields.contains(k)) {
            return Err(t_origin.bad(format!(
                "templates for `{extra}`, which is not a narrative field of the pack (fields: {})",
                schema.narrative.fields.join(", ")
            )));
        }
        let list_defs = templates.get("lists").and_then(Value::as_object);
        let mut lists = Vec::new();
        for field in &schema.narrative.lists {
            let def = list_defs
                .and_then(|l| l.get(field))
                .ok_or_else(|| t_origin.bad(format!("no `lists` entry for the list field `{field}`")))?;
            let slot = def.get("slot").and_then(Value::as_str).unwrap_or_default();
            let count = def.get("count").and_then(Value::as_u64).unwrap_or(0) as usize;
            let Some(&i) = index.get(slot) else {
                return Err(t_origin.bad(format!("`lists.{field}`: `slot` must name a lexicon slot, got `{slot}`")));
            };
            if !(1..=MAX_PICKS).contains(&count) {
                return Err(t_origin.bad(format!("`lists.{field}`: `count` must be 1 to {MAX_PICKS}")));
            }
            lists.push((field.clone(), i, count));
        }
        let gender = match &schema.narrative.gender {
            Some(g) => {
                let i = names.column(&g.column).ok_or_else(|| Error::InvalidLocalePack {
                    locale: locale.into(),
                    reason: format!("no gender column `{}`", g.column),
                })?;
                Some((g.clone(), i))
            }
            None => None,
        };
        check_cycles(&slot_names, &slots, &names.arena, &lex_origin)?;
        let key_ids = join_slot_keys(&mut slots);
        for (name, slot) in slot_names.iter().zip(&slots) {
            let min = min_options(slot);
            if min == 0 {
                return Err(lex_origin.bad(format!("slot `{name}` has an empty list of entries")));
            }
        }
        for (field, slot, count) in &lists {
            if min_options(&slots[*slot]) < *count {
                return Err(t_origin.bad(format!(
                    "`lists.{field}` takes {count} distinct picks of `{}`, which has fewer entries for some personas",
                    slot_names[*slot]
                )));
            }
        }
        let output = super::narrative_schema_for(schema);
        Ok(PackNarrator {
            locale: locale.to_string(),
            language,
            lists,
            slots,
            arena: names.arena,
            columns: names.used_columns,
            slot_names,
            key_ids,
            field_bytes: fields.iter().map(|_| std::sync::atomic::AtomicUsize::new(300)).collect(),
            fields,
            gender,
            output,
        })
    }

    /// The template narrator of an embedded locale pack in one of its languages (`None`: the
    /// pack's first).
    pub fn for_locale(locale: &str, language: Option<&str>) -> Result<Self> {
        let pack = crate::locale::pack(locale)?;
        let model = crate::locale::model(locale)?;
        let spec = model.persona.language(pack.locale, language)?;
        let lang = Language::from_code(&spec.code)?;
        let columns: Vec<String> = model.columns.iter().map(|c| c.name().to_string()).collect();
        let read = |name: &str| pack.file(name).map(str::to_string);
        PackNarrator::load(pack.locale, lang, &model.persona, &columns, &read)
    }

    /// The language it writes.
    pub fn language(&self) -> Language {
        self.language
    }

    /// Narrates a batch synchronously (the work behind [`Narrator::narrate`]).
    pub fn narrate_batch(&self, personas: &RecordBatch, seed: u64) -> Result<Narrated> {
        let rows = personas.num_rows();
        use std::sync::atomic::Ordering::Relaxed;
        // A little over the last batch's size per persona: most batches fit without regrowing.
        let mut text: Vec<StringBuilder> = self
            .field_bytes
            .iter()
            .map(|b| {
                let per_row = b.load(Relaxed);
                StringBuilder::with_capacity(rows, rows.saturating_mul(per_row + per_row / 8 + 16))
            })
            .collect();
        let mut lists: Vec<ListBuilder<StringBuilder>> =
            self.lists.iter().map(|_| ListBuilder::new(StringBuilder::new())).collect();
        let mut scratch = String::with_capacity(2048);
        self.each_row(personas, seed, |r| {
            for ((_, positions), builder) in self.fields.iter().zip(text.iter_mut()) {
                scratch.clear();
                for variants in positions {
                    let v = &variants[r.rng.below(variants.len())];
                    let before = scratch.len();
                    if !scratch.is_empty() {
                        scratch.push_str(self.language.sentence_separator());
                    }
                    let start = scratch.len();
                    r.seq(*v, &mut scratch);
                    if scratch.len() == start {
                        // A sentence that renders empty (a slot whose entry is "") is left out.
                        scratch.truncate(before);
                    } else if self.language.has_case() {
                        capitalise_at(&mut scratch, start);
                    }
                }
                builder.append_value(&scratch);
            }
            for ((_, slot, count), builder) in self.lists.iter().zip(lists.iter_mut()) {
                for k in 0..*count {
                    scratch.clear();
                    r.pick(*slot, k, &mut scratch);
                    builder.values().append_value(&scratch);
                }
                builder.append(true);
            }
        })?;
        if rows > 0 {
            for (builder, bytes) in text.iter().zip(&self.field_bytes) {
                bytes.store(builder.values_slice().len() / rows, Relaxed);
            }
        }
        let mut columns: Vec<ArrayRef> = text.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef).collect();
        columns.extend(lists.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef));
        Ok(Narrated { batch: RecordBatch::try_new(self.output.clone(), columns)?, failures: Vec::new() })
    }

    /// Whether the lexicon has a slot `name`.
    pub fn has_slot(&self, name: &str) -> bool {
        self.slot_names.iter().any(|s| s == name)
    }

    /// The lexicon's slot names.
    pub fn slot_names(&self) -> &[String] {
        &self.slot_names
    }

    /// Renders the lexicon slots `names` for every persona of `personas`: one row of values
    /// per persona, in the order of `names` (the first pick of each slot, drawn as the
    /// narratives of the same seed draw it). Unknown names are an error.
    pub fn render_slots(&self, personas: &RecordBatch, seed: u64, names: &[&str]) -> Result<Vec<Vec<String>>> {
        let slots: Vec<usize> = names
            .iter()
            .map(|n| {
                self.slot_names.iter().position(|s| s == n).ok_or_else(|| Error::InvalidLocalePack {
                    locale: self.locale.clone(),
                    reason: format!("narrative/{}/lexicon.json has no slot `{n}`", self.language.code()),
                })
            })
            .collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(personas.num_rows());
        self.each_row(personas, seed, |r| {
            let values = slots
                .iter()
                .map(|s| {
                    let mut v = String::new();
                    r.pick(*s, 0, &mut v);
                    v
                })
                .collect();
            out.push(values);
        })?;
        Ok(out)
    }

    /// Runs `f` with a renderer set up for each persona in turn (its random stream, gender
    /// and fresh picks).
    fn each_row(&self, personas: &RecordBatch, seed: u64, mut f: impl FnMut(&mut Renderer)) -> Result<()> {
        let data: Vec<Column> = self.columns.iter().map(|name| Column::read(personas, name)).collect::<Result<_>>()?;
        let uuid = Column::read(personas, "uuid")?;
        // Keyed slots of a dictionary-encoded column: resolved once per batch for each
        // distinct value, so a row's lookup is an index, not a hash.
        let resolved: Vec<Vec<&[Seq]>> = self
            .slots
            .iter()
            .map(|slot| match slot {
                Slot::Keyed { by: Target::Column(c), values, default, .. } => match &data[*c] {
                    Column::Dict { values: dict, .. } => (0..dict.len())
                        .map(|i| {
                            let found = if dict.is_valid(i) { values.get(dict.value(i)) } else { None };
                            found.map(Vec::as_slice).unwrap_or(default)
                        })
                        .collect(),
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            })
            .collect();
        let mut state = State {
            picks: vec![Picks::default(); self.slots.len()],
            gender: Gender::Unknown,
            row: 0,
            keys: vec![String::new(); self.slots.len()],
            key_id: vec![0; self.slots.len()],
            key_row: vec![0; self.slots.len()],
            options: vec![&[][..]; self.slots.len()],
            options_row: vec![0; self.slots.len()],
            resolved,
            number: String::new(),
        };
        for row in 0..personas.num_rows() {
            let id = uuid.text(row).unwrap_or("");
            let mut rng = PersonaRng::new(seed, if id.is_empty() { None } else { Some(id) }, row as u64);
            state.row = row;
            state.picks.iter_mut().for_each(|p| p.n = 0);
            state.gender = match &self.gender {
                Some((spec, i)) => data[*i].text(row).map(|s| spec.of(s)).unwrap_or(Gender::Unknown),
                None => Gender::Unknown,
            };
            let mut r = Renderer { narrator: self, data: &data, state: &mut state, rng: &mut rng };
            f(&mut r);
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Narrator for PackNarrator {
    fn name(&self) -> String {
        format!("template:{}:{}", self.locale, self.language.code())
    }

    async fn narrate(&self, personas: &RecordBatch, seed: u64) -> Result<Narrated> {
        self.narrate_batch(personas, seed)
    }
}

/// A persona column of the batch being narrated.
enum Column {
    Str(StringArray),
    /// A dictionary-encoded string column: each row's index into `values` (`u32::MAX`: null).
    Dict {
        keys: Vec<u32>,
        values: StringArray,
    },
    Int(Int64Array),
    Missing,
}

impl Column {
    /// The column `name` of `batch` (`Missing` when the batch lacks it or it is of another type).
    fn read(batch: &RecordBatch, name: &str) -> Result<Column> {
        let Some(array) = batch.column_by_name(name) else {
            return Ok(Column::Missing);
        };
        Ok(match array.data_type() {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => Column::Int(arrow::compute::cast(array, &DataType::Int64)?.as_primitive().clone()),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                Column::Str(arrow::compute::cast(array, &DataType::Utf8)?.as_string::<i32>().clone())
            }
            DataType::Dictionary(_, value)
                if matches!(**value, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) =>
            {
                let dict = array.as_any_dictionary();
                let values = arrow::compute::cast(dict.values(), &DataType::Utf8)?.as_string::<i32>().clone();
                let nulls = dict.keys().logical_nulls();
                let keys = dict
                    .normalized_keys()
                    .into_iter()
                    .enumerate()
                    .map(|(row, k)| {
                        let valid = nulls.as_ref().is_none_or(|n| n.is_valid(row)) && k < values.len();
                        if valid {
                            k as u32
                        } else {
                            u32::MAX
                        }
                    })
                    .collect();
                Column::Dict { keys, values }
            }
            _ => Column::Missing,
        })
    }

    /// The text of a string column at `row` (`None`: null, or not a string column).
    #[inline]
    fn text(&self, row: usize) -> Option<&str> {
        match self {
            Column::Str(s) if s.is_valid(row) => Some(s.value(row)),
            Column::Dict { keys, values } => match keys[row] {
                u32::MAX => None,
                k if values.is_valid(k as usize) => Some(values.value(k as usize)),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The distinct picks of one slot for the current persona.
#[derive(Debug, Clone, Copy, Default)]
struct Picks {
    n: u8,
    index: [u16; MAX_PICKS],
}

struct State<'n> {
    picks: Vec<Picks>,
    gender: Gender,
    row: usize,
    /// The rendered first pick of slots used as keys (scratch), and its id in
    /// [`PackNarrator::key_ids`] (`u32::MAX`: no dependant lists it), per slot, valid for `row`
    /// when `key_row[s] == row + 1` (a key is read many times per persona).
    keys: Vec<String>,
    key_id: Vec<u32>,
    key_row: Vec<usize>,
    /// The entries each keyed or banded slot offers the persona of `row`, valid when
    /// `options_row[s] == row + 1`.
    options: Vec<&'n [Seq]>,
    options_row: Vec<usize>,
    /// Per slot keyed by a dictionary column: the entries of each dictionary value.
    resolved: Vec<Vec<&'n [Seq]>>,
    /// Scratch for an integer key.
    number: String,
}

struct Renderer<'n, 's> {
    narrator: &'n PackNarrator,
    data: &'s [Column],
    state: &'s mut State<'n>,
    rng: &'s mut PersonaRng,
}

impl<'n> Renderer<'n, '_> {
    /// Writes a template sequence: a literal's text right here (most lexicon entries, so
    /// without a call), anything else through [`Renderer::parts`].
    #[inline(always)]
    fn seq(&mut self, seq: Seq, out: &mut String) {
        if seq.len & LITERAL != 0 {
            out.push_str(self.narrator.arena.text(seq.start, seq.len & !LITERAL));
        } else if seq.len & REF != 0 {
            self.single_reference(seq.start, out);
        } else {
            self.parts(seq, out);
        }
    }

    /// A sequence of one reference (`{intro}`): the reference alone, without a part walk.
    #[inline(never)]
    fn single_reference(&mut self, part: u32, out: &mut String) {
        let narrator: &'n PackNarrator = self.narrator;
        if let Some(Part::Ref(r)) = narrator.arena.parts.get(part as usize) {
            self.reference(r, out);
        }
    }

    #[inline(never)]
    fn parts(&mut self, seq: Seq, out: &mut String) {
        let arena: &'n Arena = &self.narrator.arena;
        for part in arena.parts(seq) {
            match *part {
                Part::Text { start, len } => out.push_str(arena.text(start, len)),
                Part::Alt { start, len } => {
                    let forms = &arena.alts[start as usize..(start + len) as usize];
                    let i = match self.state.gender {
                        Gender::Male => 0,
                        Gender::Female => 1,
                        Gender::Unknown => {
                            if forms.len() > 2 {
                                2
                            } else {
                                0
                            }
                        }
                    };
                    self.seq(forms[i], out);
                }
                Part::Ref(r) => self.reference(&r, out),
            }
        }
    }

    #[inline(always)]
    fn reference(&mut self, r: &SlotRef, out: &mut String) {
        let start = out.len();
        match r.target {
            Target::Column(c) => self.column(c, out),
            Target::Slot(s) if r.list > 0 => {
                let n = r.list as usize;
                for k in 0..n {
                    out.push_str(self.narrator.language.list_separator(k, n));
                    self.pick(s, k, out);
                }
            }
            Target::Slot(s) => self.pick(s, r.nth as usize, out),
        }
        if let Some(op) = r.op {
            self.narrator.language.apply(op, out, start);
        }
        if r.capitalise {
            capitalise_at(out, start);
        }
    }

    fn column(&self, c: usize, out: &mut String) {
        let row = self.state.row;
        match &self.data[c] {
            Column::Int(i) if i.is_valid(row) => {
                use std::fmt::Write;
                let _ = write!(out, "{}", i.value(row));
            }
            column => out.push_str(column.text(row).unwrap_or("")),
        }
    }

    /// The entries slot `s` offers this persona.
    fn options(&mut self, s: usize) -> &'n [Seq] {
        let narrator: &'n PackNarrator = self.narrator;
        let row = self.state.row;
        let found = match &narrator.slots[s] {
            Slot::List(v) => return v,
            _ if self.state.options_row[s] == row + 1 => return self.state.options[s],
            Slot::Keyed { by, values, default, by_id } => {
                let found = match *by {
                    Target::Column(c) => match &self.data[c] {
                        Column::Dict { keys, .. } => {
                            return self.remember(
                                s,
                                match keys[row] {
                                    u32::MAX => default,
                                    k => self.state.resolved[s][k as usize],
                                },
                            )
                        }
                        Column::Str(a) if a.is_valid(row) => values.get(a.value(row)),
                        Column::Int(a) if a.is_valid(row) => {
                            use std::fmt::Write;
                            self.state.number.clear();
                            let _ = write!(self.state.number, "{}", a.value(row));
                            values.get(self.state.number.as_str())
                        }
                        _ => None,
                    },
                    Target::Slot(k) => {
                        if self.state.key_row[k] != row + 1 {
                            let mut key = std::mem::take(&mut self.state.keys[k]);
                            key.clear();
                            self.pick(k, 0, &mut key);
                            self.state.key_id[k] = narrator.key_ids[k].get(key.as_str()).copied().unwrap_or(u32::MAX);
                            self.state.keys[k] = key;
                            self.state.key_row[k] = row + 1;
                        }
                        let entries = by_id.get(self.state.key_id[k] as usize).map(Vec::as_slice).unwrap_or(default);
                        return self.remember(s, entries);
                    }
                };
                found.map(Vec::as_slice).unwrap_or(default)
            }
            Slot::Banded { by, bands, default, table } => match &self.data[*by] {
                Column::Int(a) if a.is_valid(row) => {
                    let v = a.value(row);
                    match usize::try_from(v).ok().and_then(|i| table.get(i)) {
                        Some(&b) => &bands[b as usize].1,
                        None => bands
                            .iter()
                            .find(|(max, _)| v <= *max)
                            .or(bands.last())
                            .map(|b| &b.1[..])
                            .unwrap_or(default),
                    }
                }
                _ => default,
            },
        };
        self.remember(s, found)
    }

    fn remember(&mut self, s: usize, entries: &'n [Seq]) -> &'n [Seq] {
        self.state.options[s] = entries;
        self.state.options_row[s] = self.state.row + 1;
        entries
    }

    /// Writes the `k`-th distinct pick of slot `s`.
    fn pick(&mut self, s: usize, k: usize, out: &mut String) {
        let entries = self.options(s);
        if entries.is_empty() {
            return;
        }
        // Drawn in place: copying the small `Picks` out and back stalls on store forwarding.
        let picks = &mut self.state.picks[s];
        while (picks.n as usize) <= k {
            let n = picks.n as usize;
            let i = if n >= entries.len() {
                picks.index[n % n.max(1)] as usize
            } else {
                let mut i = self.rng.below(entries.len());
                while picks.index[..n].contains(&(i as u16)) {
                    i = (i + 1) % entries.len();
                }
                i
            };
            picks.index[n] = i as u16;
            picks.n += 1;
        }
        let index = picks.index[k] as usize;
        self.seq(entries[index.min(entries.len() - 1)], out);
    }
}

/// A list of template strings (a position's variants or a slot's entries), parsed.
fn entries(value: &Value, names: &mut Names, origin: &Origin, what: &str) -> Result<Vec<Seq>> {
    let list = value.as_array().filter(|l| !l.is_empty()).ok_or_else(|| origin.bad(what.to_string()))?;
    list.iter()
        .map(|v| match v.as_str() {
            Some(t) => parse(t, names, origin),
            None => Err(origin.bad(what.to_string())),
        })
        .collect()
}

/// Compiles one lexicon slot definition.
#[allow(clippy::too_many_arguments)]
fn compile_slot(
    name: &str,
    def: &Value,
    names: &mut Names,
    origin: &Origin,
    dir: &str,
    read: ReadFile,
    tables: &mut HashMap<String, csv_table::Table>,
    locale: &str,
) -> Result<Slot> {
    let what = format!("slot `{name}`: entries must be a non-empty list of strings");
    if def.is_array() {
        return Ok(Slot::List(entries(def, names, origin, &what)?));
    }
    let Some(obj) = def.as_object() else {
        return Err(origin.bad(format!("slot `{name}`: expected a list of entries or an object with `by`")));
    };
    if let Some(unknown) =
        obj.keys().find(|k| !["by", "values", "upto", "table", "column", "default"].contains(&k.as_str()))
    {
        return Err(origin
            .bad(format!("slot `{name}`: unknown key `{unknown}` (keys: by, values, upto, table, column, default)")));
    }
    let by = obj.get("by").and_then(Value::as_str).ok_or_else(|| origin.bad(format!("slot `{name}`: no `by`")))?;
    let default = match obj.get("default") {
        Some(d) => entries(d, names, origin, &format!("slot `{name}`: `default` must be a non-empty list of strings"))?,
        None => return Err(origin.bad(format!("slot `{name}` is keyed by `{by}` and needs a `default`"))),
    };
    let key = names.key(by).ok_or_else(|| {
        origin
            .bad(format!("slot `{name}`: `by` names `{by}`, which is neither a column nor a slot ({})", names.known()))
    })?;
    let forms = [obj.contains_key("values"), obj.contains_key("upto"), obj.contains_key("table")];
    if forms.iter().filter(|f| **f).count() != 1 {
        return Err(origin.bad(format!("slot `{name}`: give exactly one of `values`, `upto` or `table`")));
    }
    if let Some(values) = obj.get("values") {
        let values =
            values.as_object().ok_or_else(|| origin.bad(format!("slot `{name}`: `values` must be an object")))?;
        let mut out = KeyMap::default();
        for (k, v) in values {
            out.insert(k.clone(), entries(v, names, origin, &format!("slot `{name}`, value `{k}`: {what}"))?);
        }
        return Ok(Slot::Keyed { by: key, values: out, default, by_id: Vec::new() });
    }
    if let Some(upto) = obj.get("upto") {
        let Target::Column(column) = key else {
            return Err(origin.bad(format!("slot `{name}`: `upto` bands need an integer column as `by`")));
        };
        let bands_what = format!("slot `{name}`: `upto` must be a list of [max, [entries]] in increasing order");
        let list = upto.as_array().filter(|l| !l.is_empty()).ok_or_else(|| origin.bad(bands_what.clone()))?;
        let mut bands: Vec<(i64, Vec<Seq>)> = Vec::new();
        for band in list {
            let (Some(max), Some(e)) = (band.get(0).and_then(Value::as_i64), band.get(1)) else {
                return Err(origin.bad(bands_what.clone()));
            };
            if bands.last().is_some_and(|(m, _)| *m >= max) {
                return Err(origin.bad(bands_what.clone()));
            }
            bands.push((max, entries(e, names, origin, &bands_what)?));
        }
        let table = band_table(&bands);
        return Ok(Slot::Banded { by: column, bands, default, table });
    }
    let file = obj.get("table").and_then(Value::as_str).unwrap_or_default();
    let column = obj
        .get("column")
        .and_then(Value::as_str)
        .ok_or_else(|| origin.bad(format!("slot `{name}`: a `table` slot needs a `column`")))?;
    let path = format!("{dir}/{file}");
    if !tables.contains_key(&path) {
        let text = read(&path)?;
        let table = csv_table::Table::parse(&text)
            .map_err(|e| Error::InvalidLocalePack { locale: locale.into(), reason: format!("{path}: {e}") })?;
        tables.insert(path.clone(), table);
    }
    let table = &tables[&path];
    let table_origin = Origin { locale, file: &path };
    let cells = |c: &str| -> Result<usize> {
        table.column(c).ok_or_else(|| {
            origin.bad(format!(
                "slot `{name}`: {path} has no column `{c}` (columns: {})",
                crate::error::name_list(&table.header, Some(c))
            ))
        })
    };
    let gendered: Vec<usize> = column.split('|').map(cells).collect::<Result<_>>()?;
    if gendered.len() > 3 {
        return Err(origin.bad(format!("slot `{name}`: `column` pairs at most three columns")));
    }
    let mut values = KeyMap::default();
    for row in &table.rows {
        let split = |i: usize| -> Vec<&str> { row[i].split(';').map(str::trim).filter(|s| !s.is_empty()).collect() };
        let lists: Vec<Vec<&str>> = gendered.iter().map(|i| split(*i)).collect();
        if lists.iter().any(|l| l.len() != lists[0].len()) {
            return Err(
                table_origin.bad(format!("row `{}`: the columns `{column}` hold different numbers of entries", row[0]))
            );
        }
        if lists[0].is_empty() {
            continue;
        }
        let mut compiled = Vec::new();
        for j in 0..lists[0].len() {
            let text = if lists.len() == 1 {
                lists[0][j].to_string()
            } else {
                format!("[{}]", lists.iter().map(|l| l[j]).collect::<Vec<_>>().join("|"))
            };
            compiled.push(parse(&text, names, &table_origin)?);
        }
        values.insert(row[0].clone(), compiled);
    }
    Ok(Slot::Keyed { by: key, values, default, by_id: Vec::new() })
}

/// Most values a banded slot's lookup table covers.
const BAND_TABLE: i64 = 1024;

/// The band index of each value from 0 to the last band's `max` (capped at [`BAND_TABLE`]
/// values), as the search in [`Renderer::options`] finds it; empty when there are more than 255
/// bands.
fn band_table(bands: &[(i64, Vec<Seq>)]) -> Vec<u8> {
    let Some(&(last, _)) = bands.last() else {
        return Vec::new();
    };
    if bands.len() > usize::from(u8::MAX) || last < 0 {
        return Vec::new();
    }
    (0..=last.min(BAND_TABLE - 1)).map(|v| bands.iter().position(|(max, _)| v <= *max).unwrap_or(0) as u8).collect()
}

/// Numbers the key values of every slot used as a `by` key and fills its dependants'
/// `by_id`, so a persona's key is looked up once rather than once per dependant.
fn join_slot_keys(slots: &mut [Slot]) -> Vec<KeyIds> {
    let mut key_ids = vec![KeyIds::default(); slots.len()];
    for slot in slots.iter() {
        if let Slot::Keyed { by: Target::Slot(k), values, .. } = slot {
            let ids = &mut key_ids[*k];
            for key in values.keys() {
                let next = ids.len() as u32;
                ids.entry(key.clone()).or_insert(next);
            }
        }
    }
    for slot in slots.iter_mut() {
        if let Slot::Keyed { by: Target::Slot(k), values, default, by_id } = slot {
            let ids = &key_ids[*k];
            *by_id = vec![default.clone(); ids.len()];
            for (key, id) in ids {
                if let Some(entries) = values.get(key) {
                    by_id[*id as usize] = entries.clone();
                }
            }
        }
    }
    key_ids
}

/// The fewest entries a slot offers any persona.
fn min_options(slot: &Slot) -> usize {
    match slot {
        Slot::List(v) => v.len(),
        Slot::Keyed { values, default, .. } => values.values().map(Vec::len).chain([default.len()]).min().unwrap_or(0),
        Slot::Banded { bands, default, .. } => {
            bands.iter().map(|b| b.1.len()).chain([default.len()]).min().unwrap_or(0)
        }
    }
}

/// Refuses slots that reach themselves (through entries or `by` keys).
fn check_cycles(names: &[String], slots: &[Slot], arena: &Arena, origin: &Origin) -> Result<()> {
    fn refs(arena: &Arena, seq: Seq, out: &mut Vec<usize>) {
        for part in arena.parts(seq) {
            match *part {
                Part::Ref(SlotRef { target: Target::Slot(s), .. }) => out.push(s),
                Part::Alt { start, len } => {
                    arena.alts[start as usize..(start + len) as usize].iter().for_each(|f| refs(arena, *f, out))
                }
                _ => {}
            }
        }
    }
    let edges: Vec<Vec<usize>> = slots
        .iter()
        .map(|slot| {
            let mut out = Vec::new();
            let seqs: Vec<&Seq> = match slot {
                Slot::List(v) => v.iter().collect(),
                Slot::Keyed { by, values, default, .. } => {
                    if let Target::Slot(s) = by {
                        out.push(*s);
                    }
                    values.values().flatten().chain(default).collect()
                }
                Slot::Banded { bands, default, .. } => bands.iter().flat_map(|b| &b.1).chain(default).collect(),
            };
            seqs.into_iter().for_each(|s| refs(arena, *s, &mut out));
            out
        })
        .collect();
    // 0 unvisited, 1 on the path, 2 done.
    let mut mark = vec![0u8; slots.len()];
    for start in 0..slots.len() {
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        if mark[start] != 0 {
            continue;
        }
        mark[start] = 1;
        while let Some((node, next)) = stack.pop() {
            if let Some(&child) = edges[node].get(next) {
                stack.push((node, next + 1));
                match mark[child] {
                    0 => {
                        mark[child] = 1;
                        stack.push((child, 0));
                    }
                    1 => {
                        let path: Vec<&str> = stack.iter().map(|(n, _)| names[*n].as_str()).collect();
                        return Err(origin.bad(format!(
                            "slot `{}` refers back to itself ({} -> {})",
                            names[child],
                            path.join(" -> "),
                            names[child]
                        )));
                    }
                    _ => {}
                }
            } else {
                mark[node] = 2;
            }
        }
    }
    Ok(())
}

/// Lexicon tables: CSV files keyed by their first column.
mod csv_table {
    pub struct Table {
        pub header: Vec<String>,
        pub rows: Vec<Vec<String>>,
    }

    impl Table {
        pub fn parse(text: &str) -> Result<Table, String> {
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let header: Vec<String> = reader.headers().map_err(|e| e.to_string())?.iter().map(str::to_string).collect();
            let mut rows = Vec::new();
            for record in reader.records() {
                let record = record.map_err(|e| e.to_string())?;
                let row: Vec<String> = record.iter().map(str::to_string).collect();
                if row.len() != header.len() {
                    return Err(format!("a row has {} cells for {} columns", row.len(), header.len()));
                }
                rows.push(row);
            }
            if header.is_empty() {
                return Err("no header".into());
            }
            Ok(Table { header, rows })
        }

        pub fn column(&self, name: &str) -> Option<usize> {
            self.header.iter().position(|h| h == name)
        }
    }
}
