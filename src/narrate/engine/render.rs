//! Rendering: the per-persona walk through a narrator's compiled templates (its random
//! stream, gender and distinct picks per slot) and the batch narration built on it.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListBuilder, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::DataType;

use super::{
    Arena, Flat, Offer, PackNarrator, Part, Seq, SlotHead, SlotRef, Span, Target, COMPOSITE, KEY_RENDER, LITERAL,
    MAX_PICKS, REF,
};
use crate::error::{Error, Result};
use crate::model::schema::Gender;
use crate::narrate::language::capitalise_at;
use crate::narrate::{Narrated, Narrator, PersonaRng};

impl PackNarrator {
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
        // Dictionary-encoded key columns: each dictionary value's key id found once per batch,
        // so a row's key is an index, not a hash.
        let dict_ids: Vec<Vec<u32>> = data
            .iter()
            .zip(&self.column_ids)
            .map(|(column, ids)| match column {
                Column::Dict { values: dict, .. } if !ids.is_empty() => (0..dict.len())
                    .map(|i| {
                        let found = if dict.is_valid(i) { ids.get(dict.value(i)).copied() } else { None };
                        found.unwrap_or(u32::MAX)
                    })
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        // A row is stamped `row + 1` in 32 bits (0 marks "never drawn").
        if personas.num_rows() >= u32::MAX as usize {
            return Err(Error::InvalidArgument {
                name: "personas".into(),
                reason: format!(
                    "a batch of {} personas is too large to narrate at once (at most {})",
                    personas.num_rows(),
                    u32::MAX - 1
                ),
            });
        }
        let mut state = State {
            slots: vec![SlotState::fresh(seed); self.flat.heads.len()],
            gender: Gender::Unknown,
            row: 0,
            stamp: 0,
            keys: vec![String::new(); self.flat.heads.len()],
            column_keys: vec![ColumnKey { row: 0, id: u32::MAX }; self.columns.len()],
            dict_ids,
            number: String::new(),
            base: PersonaRng::new(seed, None, 0),
        };
        for row in 0..personas.num_rows() {
            let id = uuid.text(row).unwrap_or("");
            let mut rng = PersonaRng::new(seed, if id.is_empty() { None } else { Some(id) }, row as u64);
            state.base = rng;
            state.row = row;
            state.stamp = row as u32 + 1;
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

/// What the current persona has drawn of one slot, in one place (a pick reads and writes one
/// cache line instead of one per array). Its parts belong to the persona stamped in `row`
/// ([`State::stamp`]): the first touch by a new persona clears them, so nothing is reset between
/// personas, and `valid` says which of the optional parts the persona has filled.
#[derive(Debug, Clone, Copy)]
struct SlotState {
    row: u32,
    /// [`OPTIONS`], [`KEY`] and [`STREAM`]: which of those parts hold this persona's values.
    valid: u8,
    /// The distinct picks so far.
    picks: Picks,
    /// The entries a keyed or banded slot offers the persona.
    options: Span,
    /// Used as a key: the id of its first pick in [`PackNarrator::key_ids`] (`u32::MAX`: no
    /// dependant lists it); a key is read many times per persona.
    key_id: u32,
    /// A shared slot's own random stream, forked from the persona's fresh stream (by the hash
    /// of its name, [`SlotHead::salt`]) the first time the persona draws it.
    stream: PersonaRng,
}

/// [`SlotState::options`] is the persona's.
const OPTIONS: u8 = 1;
/// [`SlotState::key_id`] is the persona's.
const KEY: u8 = 2;
/// [`SlotState::stream`] is the persona's.
const STREAM: u8 = 4;

impl SlotState {
    fn fresh(seed: u64) -> Self {
        SlotState {
            row: 0,
            valid: 0,
            picks: Picks::default(),
            options: Span::default(),
            key_id: u32::MAX,
            stream: PersonaRng::new(seed, None, 0),
        }
    }

    /// This slot's state for the persona stamped `stamp`, cleared if it was another's.
    #[inline(always)]
    fn of(&mut self, stamp: u32) -> &mut Self {
        if self.row != stamp {
            self.row = stamp;
            self.valid = 0;
            self.picks.n = 0;
        }
        self
    }
}

/// A persona's key id in one column's [`PackNarrator::column_ids`] (`u32::MAX`: none), valid
/// while `row` equals [`State::stamp`].
#[derive(Debug, Clone, Copy)]
struct ColumnKey {
    row: u32,
    id: u32,
}

struct State {
    slots: Vec<SlotState>,
    gender: Gender,
    row: usize,
    /// `row + 1`: what the per-slot stamps hold when their part is valid for this persona.
    stamp: u32,
    /// The rendered first pick of slots used as keys (scratch, per slot).
    keys: Vec<String>,
    /// Per column used as a key: the persona's key id, once looked up.
    column_keys: Vec<ColumnKey>,
    /// Per dictionary-encoded key column: the key id of each dictionary value.
    dict_ids: Vec<Vec<u32>>,
    /// Scratch for an integer key.
    number: String,
    /// The persona's fresh random stream, from which each shared slot's own stream is forked.
    base: PersonaRng,
}

struct Renderer<'n, 's> {
    narrator: &'n PackNarrator,
    data: &'s [Column],
    state: &'s mut State,
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
            Target::Column(c) => self.column(c as usize, out),
            Target::Slot(s) if r.list > 0 => {
                let n = r.list as usize;
                for k in 0..n {
                    out.push_str(self.narrator.language.list_separator(k, n));
                    self.pick(s as usize, k, out);
                }
            }
            Target::Slot(s) => self.pick(s as usize, r.nth as usize, out),
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

    /// The entries slot `s` offers this persona (found once per persona).
    #[inline(always)]
    fn options(&mut self, s: usize) -> Span {
        let head: &'n SlotHead = &self.narrator.flat.heads[s];
        if let Offer::List(span) = head.offer {
            return span;
        }
        let stamp = self.state.stamp;
        let slot = &self.state.slots[s];
        if slot.row == stamp && slot.valid & OPTIONS != 0 {
            return slot.options;
        }
        let span = self.find_options(&head.offer);
        let slot = self.state.slots[s].of(stamp);
        slot.options = span;
        slot.valid |= OPTIONS;
        span
    }

    /// The entries a keyed or banded slot offers this persona: the key's cached id indexes the
    /// slot's spans; finding a key the persona has not drawn yet, and bands, are out of line.
    #[inline(never)]
    fn find_options(&mut self, offer: &'n Offer) -> Span {
        let flat: &'n Flat = &self.narrator.flat;
        match *offer {
            Offer::List(span) => span,
            Offer::Keyed { by, first, ids, default } => {
                let stamp = self.state.stamp;
                let id = match by {
                    Target::Column(c) => match self.state.column_keys[c as usize] {
                        cached if cached.row == stamp => cached.id,
                        _ => self.column_key(c as usize),
                    },
                    Target::Slot(k) => match &self.state.slots[k as usize] {
                        slot if slot.row == stamp && slot.valid & KEY != 0 => slot.key_id,
                        _ => self.slot_key(k as usize),
                    },
                };
                if id < ids {
                    flat.spans[(first + id) as usize]
                } else {
                    default
                }
            }
            Offer::Banded(b) => self.band(b),
        }
    }

    /// The entries a banded slot offers this persona.
    #[inline(never)]
    fn band(&mut self, b: u32) -> Span {
        let banded = &self.narrator.flat.bands[b as usize];
        let row = self.state.row;
        match &self.data[banded.by] {
            Column::Int(a) if a.is_valid(row) => {
                let v = a.value(row);
                match usize::try_from(v).ok().and_then(|i| banded.table.get(i)) {
                    Some(&b) => banded.bands[b as usize].1,
                    None => banded
                        .bands
                        .iter()
                        .find(|(max, _)| v <= *max)
                        .or(banded.bands.last())
                        .map(|b| b.1)
                        .unwrap_or(banded.default),
                }
            }
            _ => banded.default,
        }
    }

    /// The id of slot `k`'s first pick in [`PackNarrator::key_ids`] (`u32::MAX`: a value no
    /// dependant lists), found once per persona: a literal entry's id was found at load, any
    /// other entry is rendered and looked up.
    #[inline(never)]
    fn slot_key(&mut self, k: usize) -> u32 {
        let stamp = self.state.stamp;
        let slot = &self.state.slots[k];
        if slot.row != stamp || slot.valid & KEY == 0 {
            let narrator: &'n PackNarrator = self.narrator;
            let found = match self.choose(k, 0) {
                Some(pos) => match narrator.flat.entry_keys[pos] {
                    u32::MAX => u32::MAX,
                    KEY_RENDER => self.render_key(k, pos),
                    c if c & COMPOSITE != 0 => self.composite_key(c & !COMPOSITE),
                    id => id,
                },
                None => narrator.key_ids[k].get("").copied().unwrap_or(u32::MAX),
            };
            let key_slot = self.state.slots[k].of(stamp);
            key_slot.key_id = found;
            key_slot.valid |= KEY;
        }
        self.state.slots[k].key_id
    }

    /// The persona's key id in column `c` (`u32::MAX`: null, or a value no slot lists),
    /// looked up once per persona.
    #[inline(never)]
    fn column_key(&mut self, c: usize) -> u32 {
        let stamp = self.state.stamp;
        let cached = self.state.column_keys[c];
        if cached.row == stamp {
            return cached.id;
        }
        let narrator: &'n PackNarrator = self.narrator;
        let ids = &narrator.column_ids[c];
        let row = self.state.row;
        let found = match &self.data[c] {
            Column::Dict { keys, .. } => match keys[row] {
                u32::MAX => None,
                k => self.state.dict_ids[c].get(k as usize).copied(),
            },
            Column::Str(a) if a.is_valid(row) => ids.get(a.value(row)).copied(),
            Column::Int(a) if a.is_valid(row) => {
                use std::fmt::Write;
                self.state.number.clear();
                let _ = write!(self.state.number, "{}", a.value(row));
                ids.get(self.state.number.as_str()).copied()
            }
            _ => None,
        };
        let id = found.unwrap_or(u32::MAX);
        self.state.column_keys[c] = ColumnKey { row: stamp, id };
        id
    }

    /// The key id of a [`Composite`](super::Composite) key entry (by its index): its slots'
    /// first picks, drawn in template order as rendering it would, index its table.
    #[inline(never)]
    fn composite_key(&mut self, c: u32) -> u32 {
        let flat: &'n Flat = &self.narrator.flat;
        let composite = flat.composites[c as usize];
        let mut index = composite.table as usize;
        let refs =
            &flat.composite_refs[composite.refs.start as usize..(composite.refs.start + composite.refs.len) as usize];
        for &(slot, weight) in refs {
            let value = match self.choose(slot as usize, 0) {
                Some(pos) => flat.entry_values[pos],
                None => 0,
            };
            index += value as usize * weight as usize;
        }
        flat.composite_ids[index]
    }

    /// The key id of slot `k`'s entry at `pos` that is not literal text: rendered and looked up.
    #[inline(never)]
    fn render_key(&mut self, k: usize, pos: usize) -> u32 {
        let narrator: &'n PackNarrator = self.narrator;
        let mut key = std::mem::take(&mut self.state.keys[k]);
        key.clear();
        self.seq(narrator.flat.entries[pos], &mut key);
        let id = narrator.key_ids[k].get(key.as_str()).copied();
        self.state.keys[k] = key;
        id.unwrap_or(u32::MAX)
    }

    /// Draws the `k`-th distinct pick of slot `s` if the persona has not drawn it yet, and
    /// returns its entry's position in [`Flat::entries`] (`None`: the slot offers nothing).
    #[inline(always)]
    fn choose(&mut self, s: usize, k: usize) -> Option<usize> {
        let span = self.options(s);
        if span.len == 0 {
            return None;
        }
        let len = span.len as usize;
        let head: &'n SlotHead = &self.narrator.flat.heads[s];
        let state = &mut *self.state;
        let stamp = state.stamp;
        let SlotState { picks, valid, stream, .. } = state.slots[s].of(stamp);
        let rng: &mut PersonaRng = if head.shared {
            if *valid & STREAM == 0 {
                *stream = state.base.fork(head.salt);
                *valid |= STREAM;
            }
            stream
        } else {
            &mut *self.rng
        };
        // Drawn in place: copying the small `Picks` out and back stalls on store forwarding.
        while (picks.n as usize) <= k {
            let n = picks.n as usize;
            let i = if n >= len {
                picks.index[n % n.max(1)] as usize
            } else {
                let mut i = rng.below(len);
                while picks.index[..n].contains(&(i as u16)) {
                    i = (i + 1) % len;
                }
                i
            };
            picks.index[n] = i as u16;
            picks.n += 1;
        }
        let index = picks.index[k] as usize;
        Some(span.start as usize + index.min(len - 1))
    }

    /// Writes the `k`-th distinct pick of slot `s`.
    fn pick(&mut self, s: usize, k: usize, out: &mut String) {
        if let Some(pos) = self.choose(s, k) {
            let seq = self.narrator.flat.entries[pos];
            self.seq(seq, out);
        }
    }
}
