//! Compiling a pack's templates: template text parsed into the narrator's [`Arena`], lexicon
//! slots compiled (lists, `values`, `upto` bands, CSV tables), and the load-time checks (no
//! slot that reaches itself, key ids joined once for slots keyed by another slot).

use std::collections::HashMap;

use serde_json::Value;

use super::{
    Arena, Bands, Composite, Flat, KeyIds, KeyMap, Offer, Part, ReadFile, Seq, Slot, SlotHead, SlotRef, Span, Target,
    COMPOSITE, KEY_RENDER, LITERAL, MAX_PICKS, REF,
};
use crate::error::{Error, Result};
use crate::narrate::Language;

/// Where a template came from, for error messages.
pub(super) struct Origin<'a> {
    pub(super) locale: &'a str,
    pub(super) file: &'a str,
}

impl Origin<'_> {
    pub(super) fn bad(&self, reason: impl Into<String>) -> Error {
        Error::InvalidLocalePack { locale: self.locale.into(), reason: format!("{}: {}", self.file, reason.into()) }
    }
}

/// Names known while templates are parsed.
pub(super) struct Names<'a> {
    pub(super) language: Language,
    pub(super) slots: &'a HashMap<String, usize>,
    /// The pack's output columns.
    pub(super) known_columns: &'a [String],
    /// The columns referenced so far (indices are [`Target::Column`]).
    pub(super) used_columns: Vec<String>,
    /// Where parsed sequences go.
    pub(super) arena: Arena,
}

impl Names<'_> {
    pub(super) fn column(&mut self, name: &str) -> Option<usize> {
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
            Some(i) => Some(Target::Slot(*i as u32)),
            None => self.column(name).map(|c| Target::Column(c as u32)),
        }
    }

    /// A `by` key: a column first, else a slot.
    fn key(&mut self, name: &str) -> Option<Target> {
        match self.column(name) {
            Some(i) => Some(Target::Column(i as u32)),
            None => self.slots.get(name).map(|i| Target::Slot(*i as u32)),
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

/// A list of template strings (a position's variants or a slot's entries), parsed.
pub(super) fn entries(value: &Value, names: &mut Names, origin: &Origin, what: &str) -> Result<Vec<Seq>> {
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
pub(super) fn compile_slot(
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
        return Ok(Slot::Banded { by: column as usize, bands, default, table });
    }
    let file = obj.get("table").and_then(Value::as_str).unwrap_or_default();
    let column = obj
        .get("column")
        .and_then(Value::as_str)
        .ok_or_else(|| origin.bad(format!("slot `{name}`: a `table` slot needs a `column`")))?;
    let path = crate::narrate::resolve_pack_path(dir, file);
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
///
/// [`Renderer::options`]: super::render::Renderer::options
fn band_table(bands: &[(i64, Vec<Seq>)]) -> Vec<u8> {
    let Some(&(last, _)) = bands.last() else {
        return Vec::new();
    };
    if bands.len() > usize::from(u8::MAX) || last < 0 {
        return Vec::new();
    }
    (0..=last.min(BAND_TABLE - 1)).map(|v| bands.iter().position(|(max, _)| v <= *max).unwrap_or(0) as u8).collect()
}

/// Numbers the key values of every slot and every column used as a `by` key (`columns`: how
/// many columns the narrator reads) and fills its dependants' `by_id`, so a persona's key is
/// looked up once rather than once per dependant. Returns the ids per slot and per column.
pub(super) fn join_keys(slots: &mut [Slot], columns: usize) -> (Vec<KeyIds>, Vec<KeyIds>) {
    let mut slot_ids = vec![KeyIds::default(); slots.len()];
    let mut column_ids = vec![KeyIds::default(); columns];
    for slot in slots.iter() {
        if let Slot::Keyed { by, values, .. } = slot {
            let ids = match *by {
                Target::Slot(k) => &mut slot_ids[k as usize],
                Target::Column(c) => &mut column_ids[c as usize],
            };
            for key in values.keys() {
                let next = ids.len() as u32;
                ids.entry(key.clone()).or_insert(next);
            }
        }
    }
    for slot in slots.iter_mut() {
        if let Slot::Keyed { by, values, default, by_id } = slot {
            let ids = match *by {
                Target::Slot(k) => &slot_ids[k as usize],
                Target::Column(c) => &column_ids[c as usize],
            };
            *by_id = vec![default.clone(); ids.len()];
            for (key, id) in ids {
                if let Some(entries) = values.get(key) {
                    by_id[*id as usize] = entries.clone();
                }
            }
        }
    }
    (slot_ids, column_ids)
}

/// Lays the compiled slots out as a persona is narrated from them ([`Flat`]): every entry list
/// in one pool, keyed slots' lists by key id, and the key id of each literal entry of a slot
/// used as a key (`key_ids`, from [`join_keys`]) found once here instead of per persona.
pub(super) fn flatten(slots: &[Slot], names: &[String], shared: &[bool], key_ids: &[KeyIds], arena: &Arena) -> Flat {
    let mut flat = Flat::default();
    for (s, slot) in slots.iter().enumerate() {
        let ids = &key_ids[s];
        let push = |flat: &mut Flat, list: &[Seq]| -> Span {
            let start = flat.entries.len() as u32;
            for seq in list {
                flat.entries.push(*seq);
                let key = if ids.is_empty() {
                    u32::MAX
                } else if seq.len & LITERAL != 0 {
                    ids.get(arena.text(seq.start, seq.len & !LITERAL)).copied().unwrap_or(u32::MAX)
                } else {
                    KEY_RENDER
                };
                flat.entry_keys.push(key);
            }
            Span { start, len: list.len() as u32 }
        };
        let offer = match slot {
            Slot::List(list) => Offer::List(push(&mut flat, list)),
            Slot::Keyed { by, default, by_id, .. } => {
                let default_span = push(&mut flat, default);
                let spans: Vec<Span> = by_id
                    .iter()
                    .map(|list| if list == default { default_span } else { push(&mut flat, list) })
                    .collect();
                let first = flat.spans.len() as u32;
                flat.spans.extend(spans);
                Offer::Keyed { by: *by, first, ids: by_id.len() as u32, default: default_span }
            }
            Slot::Banded { by, bands, default, table } => {
                let default = push(&mut flat, default);
                let bands = bands.iter().map(|(max, list)| (*max, push(&mut flat, list))).collect();
                flat.bands.push(Bands { by: *by, bands, default, table: table.clone() });
                Offer::Banded(flat.bands.len() as u32 - 1)
            }
        };
        flat.heads.push(SlotHead { offer, shared: shared[s], salt: crate::hash::fnv1a(names[s].as_bytes()) });
    }
    compile_composites(&mut flat, key_ids, arena);
    flat
}

/// Most combinations one [`Composite`]'s table may hold; a key with more is rendered.
const COMPOSITE_TABLE: usize = 4096;

/// Every span a slot may offer a persona.
fn slot_spans(flat: &Flat, s: usize) -> Vec<Span> {
    match flat.heads[s].offer {
        Offer::List(span) => vec![span],
        Offer::Keyed { first, ids, default, .. } => {
            std::iter::once(default).chain(flat.spans[first as usize..(first + ids) as usize].iter().copied()).collect()
        }
        Offer::Banded(b) => {
            let bands = &flat.bands[b as usize];
            std::iter::once(bands.default).chain(bands.bands.iter().map(|(_, span)| *span)).collect()
        }
    }
}

/// The text of a sequence that is literal text (or empty), `None` for anything else.
fn literal_text(arena: &Arena, seq: Seq) -> Option<&str> {
    if seq.len & LITERAL != 0 {
        Some(arena.text(seq.start, seq.len & !LITERAL))
    } else if seq.len & !REF == 0 {
        Some("")
    } else {
        None
    }
}

/// Finds the key entries rendered per persona (`KEY_RENDER`) that are [`Composite`]s — literal
/// text and plain first picks of slots whose entries are all literal — and tables their key ids
/// by the picks, so a persona's key is an index instead of a rendering and a hash. The slots
/// are still drawn in template order, so every persona draws what it drew before.
fn compile_composites(flat: &mut Flat, key_ids: &[KeyIds], arena: &Arena) {
    flat.entry_values = vec![0; flat.entries.len()];
    // Per slot read by a composite: its distinct entry texts (0: ""), or `None` when some
    // entry is not literal.
    let mut values: HashMap<usize, Option<Vec<&str>>> = HashMap::new();
    for k in 0..flat.heads.len() {
        if key_ids[k].is_empty() {
            continue;
        }
        // A slot's entries may share a sequence; the table is the slot's own (its key ids).
        let mut found: HashMap<(u32, u32), u32> = HashMap::new();
        for span in slot_spans(flat, k) {
            for pos in span.start..span.start + span.len {
                if flat.entry_keys[pos as usize] != KEY_RENDER {
                    continue;
                }
                let seq = flat.entries[pos as usize];
                let composite = match found.get(&(seq.start, seq.len)) {
                    Some(c) => Some(*c),
                    None => {
                        let c = composite(flat, &mut values, &key_ids[k], arena, seq);
                        if let Some(c) = c {
                            found.insert((seq.start, seq.len), c);
                        }
                        c
                    }
                };
                if let Some(c) = composite {
                    flat.entry_keys[pos as usize] = COMPOSITE | c;
                }
            }
        }
    }
}

/// Compiles the key entry `seq` of a slot with key ids `ids` as a [`Composite`] (its index),
/// or `None` when it is not one or its table would be too large.
fn composite<'a>(
    flat: &mut Flat,
    values: &mut HashMap<usize, Option<Vec<&'a str>>>,
    ids: &KeyIds,
    arena: &'a Arena,
    seq: Seq,
) -> Option<u32> {
    enum Piece<'a> {
        Text(&'a str),
        Pick(usize),
    }
    let mut pieces = Vec::new();
    for part in arena.parts(seq) {
        match *part {
            Part::Text { start, len } => pieces.push(Piece::Text(arena.text(start, len))),
            Part::Ref(SlotRef { target: Target::Slot(j), nth: 0, list: 0, capitalise: false, op: None }) => {
                let j = j as usize;
                if !values.contains_key(&j) {
                    let texts = slot_values(flat, arena, j);
                    values.insert(j, texts);
                }
                values[&j].as_ref()?;
                pieces.push(Piece::Pick(j));
            }
            _ => return None,
        }
    }
    let mut size = 1usize;
    for piece in &pieces {
        if let Piece::Pick(j) = piece {
            size = size.checked_mul(values[j].as_ref()?.len()).filter(|n| *n <= COMPOSITE_TABLE)?;
        }
    }
    // Weights: the last pick varies fastest.
    let mut refs = Vec::new();
    let mut weight = size as u32;
    for piece in &pieces {
        if let Piece::Pick(j) = piece {
            weight /= values[j].as_ref()?.len() as u32;
            refs.push((*j as u32, weight));
        }
    }
    let table = flat.composite_ids.len() as u32;
    let mut text = String::new();
    for index in 0..size as u32 {
        text.clear();
        let mut r = 0;
        for piece in &pieces {
            match piece {
                Piece::Text(t) => text.push_str(t),
                Piece::Pick(j) => {
                    let (_, weight) = refs[r];
                    let texts = values[j].as_ref()?;
                    text.push_str(texts[(index / weight) as usize % texts.len()]);
                    r += 1;
                }
            }
        }
        flat.composite_ids.push(ids.get(text.as_str()).copied().unwrap_or(u32::MAX));
    }
    let start = flat.composite_refs.len() as u32;
    flat.composite_refs.extend(refs.iter().copied());
    flat.composites.push(Composite { refs: Span { start, len: refs.len() as u32 }, table });
    Some(flat.composites.len() as u32 - 1)
}

/// The distinct texts of slot `j`'s entries (0: "", what it renders when it offers nothing),
/// numbering each entry's text in [`Flat::entry_values`]; `None` when an entry is not literal.
fn slot_values<'a>(flat: &mut Flat, arena: &'a Arena, j: usize) -> Option<Vec<&'a str>> {
    let mut texts: Vec<&'a str> = vec![""];
    let mut numbers: HashMap<&'a str, u32> = HashMap::from([("", 0)]);
    let spans = slot_spans(flat, j);
    for span in &spans {
        for pos in span.start..span.start + span.len {
            let text = literal_text(arena, flat.entries[pos as usize])?;
            let next = texts.len() as u32;
            let number = *numbers.entry(text).or_insert_with(|| {
                texts.push(text);
                next
            });
            flat.entry_values[pos as usize] = number;
        }
    }
    Some(texts)
}

/// The fewest entries a slot offers any persona.
pub(super) fn min_options(slot: &Slot) -> usize {
    match slot {
        Slot::List(v) => v.len(),
        Slot::Keyed { values, default, .. } => values.values().map(Vec::len).chain([default.len()]).min().unwrap_or(0),
        Slot::Banded { bands, default, .. } => {
            bands.iter().map(|b| b.1.len()).chain([default.len()]).min().unwrap_or(0)
        }
    }
}

/// Refuses slots that reach themselves (through entries or `by` keys).
pub(super) fn check_cycles(
    names: &[String],
    slots: &[Slot],
    shared: &[bool],
    arena: &Arena,
    origin: &Origin,
) -> Result<()> {
    fn refs(arena: &Arena, seq: Seq, out: &mut Vec<usize>) {
        for part in arena.parts(seq) {
            match *part {
                Part::Ref(SlotRef { target: Target::Slot(s), .. }) => out.push(s as usize),
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
                        out.push(*s as usize);
                    }
                    values.values().flatten().chain(default).collect()
                }
                Slot::Banded { bands, default, .. } => bands.iter().flat_map(|b| &b.1).chain(default).collect(),
            };
            seqs.into_iter().for_each(|s| refs(arena, *s, &mut out));
            out
        })
        .collect();
    // A shared decision drawn from a language's own slots would differ between languages.
    for (s, out) in edges.iter().enumerate() {
        if let Some(&t) = out.iter().find(|t| shared[s] && !shared[**t]) {
            return Err(origin.bad(format!(
                "the shared slot `{}` refers to `{}`, a slot of one language's lexicon (shared slots may \
                 use persona columns and other shared slots only)",
                names[s], names[t]
            )));
        }
    }
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
pub(super) mod csv_table {
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
