//! The LLM narrator: the two-stage method of Nemotron-Personas against any OpenAI-compatible
//! server. Stage 1 asks for structured JSON (cultural background, skills and hobbies with their
//! lists, career goals, and any field a locale adds); stage 2 asks for the six persona texts
//! conditioned on stage 1. Every answer is validated (JSON shape; the persona's name in
//! `persona`; no contradiction of age, sex or work that the language's cues can catch) and
//! re-asked a bounded number of times; a persona that still fails gets null narratives and a
//! recorded reason.
//!
//! Prompts are per locale and language (`datasets/<locale>/narrative/<lang>/prompts/`,
//! replaceable with `prompts` in the LLM config). A `{{name}}` placeholder is the persona column
//! `name`, else the lexicon slot `name` of the same language rendered for the persona by the
//! template engine (so a profile, an occupation title or a pronoun comes out in the language,
//! with its agreement), else one of [`DERIVED`].
//!
//! Kept whole (about 750 lines, a seventh of them tests): the two stages, their prompts,
//! validation and re-asking share one request loop; the HTTP client and limiter are in
//! [`crate::llm`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, ListBuilder, RecordBatch, StringBuilder};
use arrow::datatypes::SchemaRef;
use futures::StreamExt;
use serde_json::{Map, Value};

use super::engine::PackNarrator;
use super::language::{Cues, Language};
use super::{int_at, text_at, Narrated, Narrator, PersonaColumns};
use crate::error::{Error, Result};
use crate::llm::{ChatRequest, Json, LlmClient, LlmConfig, Message, UsageSnapshot};
use crate::locale;
use crate::model::schema::{Gender, PersonaSchema};

/// The stage-2 fields (the persona texts written last, conditioned on stage 1), where a pack
/// has them; every other narrative field of the pack is asked in stage 1.
const STAGE2_FIELDS: [&str; 6] =
    ["persona", "professional_persona", "sports_persona", "arts_persona", "travel_persona", "culinary_persona"];

/// Placeholders a prompt may use besides the persona's columns and the lexicon's slots.
pub const DERIVED: [&str; 3] = ["stage1", "problem", "locale"];

/// The prompt templates.
#[derive(Debug, Clone)]
pub struct Prompts {
    pub system: String,
    pub stage1: String,
    pub stage2: String,
    pub reask: String,
}

impl Prompts {
    /// The built-in prompts of a locale's language (`narrative/<lang>/prompts/`), each replaced
    /// by the file of the same name in `dir` when there is one; `known` tells which
    /// placeholders exist besides [`DERIVED`].
    pub fn load(locale: &str, language: Language, dir: Option<&Path>, known: &dyn Fn(&str) -> bool) -> Result<Prompts> {
        let pack = locale::pack(locale)?;
        let read = |name: &str| -> Result<String> {
            if let Some(dir) = dir {
                let path = dir.join(name);
                if path.exists() {
                    return std::fs::read_to_string(&path).map_err(|e| Error::InvalidArgument {
                        name: "prompts".into(),
                        reason: format!("cannot read {}: {e}", path.display()),
                    });
                }
            }
            pack.file(&format!("narrative/{}/prompts/{name}", language.code())).map(str::to_string)
        };
        let prompts = Prompts {
            system: read("system.txt")?,
            stage1: read("stage1.txt")?,
            stage2: read("stage2.txt")?,
            reask: read("reask.txt")?,
        };
        for (name, text) in prompts.files() {
            for slot in placeholders(text) {
                if !DERIVED.contains(&slot.as_str()) && !known(&slot) {
                    return Err(Error::InvalidArgument {
                        name: "prompts".into(),
                        reason: format!(
                            "{name}: unknown placeholder {{{{{}}}}} (persona columns, lexicon slots of narrative/{}/, \
                             or one of: {})",
                            crate::error::shorten(&slot, 60),
                            language.code(),
                            DERIVED.join(", ")
                        ),
                    });
                }
            }
        }
        if !prompts.stage2.contains("{{stage1}}") {
            return Err(Error::InvalidArgument {
                name: "prompts".into(),
                reason: "stage2.txt must include {{stage1}} (the two-stage method conditions on it)".into(),
            });
        }
        Ok(prompts)
    }

    fn files(&self) -> [(&'static str, &str); 4] {
        [
            ("system.txt", &self.system),
            ("stage1.txt", &self.stage1),
            ("stage2.txt", &self.stage2),
            ("reask.txt", &self.reask),
        ]
    }

    /// Every placeholder of the four prompts, each once.
    fn all_placeholders(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, text) in self.files() {
            for p in placeholders(text) {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    }
}

/// The `{{name}}` placeholders of a template.
fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                out.push(after[..end].trim().to_string());
                rest = &after[end + 2..];
            }
            None => break,
        }
    }
    out
}

/// Fills the `{{name}}` placeholders of `text` from `values` (unknown ones become empty).
fn render(text: &str, values: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                if let Some(v) = values.get(after[..end].trim()) {
                    out.push_str(v);
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Narrates with an LLM.
pub struct LlmNarrator {
    locale: String,
    language: Language,
    client: LlmClient,
    prompts: Prompts,
    /// The template engine of the same locale and language, for the prompts' lexicon slots.
    lexicon: PackNarrator,
    /// The lexicon slots the prompts use.
    prompt_slots: Vec<String>,
    schema: PersonaSchema,
    /// Stage 1 prose fields and list fields; stage 2 prose fields.
    stage1: (Vec<String>, Vec<String>),
    stage2: Vec<String>,
    output: SchemaRef,
    /// The locale's narrative consistency checker: an answer it flags is asked again.
    checker: super::check::Checker,
}

impl LlmNarrator {
    /// The LLM narrator of `locale` in `language` (`None`: the locale's first) with `config`
    /// (its prompts folder, if any, overriding the built-in prompts).
    pub fn new(locale: &str, language: Option<&str>, config: LlmConfig) -> Result<Self> {
        let client = LlmClient::new(config)?;
        Self::with_client(locale, language, client)
    }

    /// With a given client (tests, benchmarks).
    pub fn with_client(locale: &str, language: Option<&str>, client: LlmClient) -> Result<Self> {
        let pack = locale::pack(locale)?;
        let model = locale::model(locale)?;
        let spec = model.persona.language(pack.locale, language)?;
        let language = Language::from_code(&spec.code)?;
        let columns: Vec<String> = model.columns.iter().map(|c| c.name().to_string()).collect();
        let read = |name: &str| pack.file(name).map(str::to_string);
        let lexicon = PackNarrator::load(pack.locale, language, &model.persona, &columns, &read)?;
        let known = |name: &str| columns.iter().any(|c| c == name) || lexicon.has_slot(name);
        let prompts = Prompts::load(pack.locale, language, client.config().prompts.as_deref(), &known)?;
        let prompt_slots = prompts
            .all_placeholders()
            .into_iter()
            .filter(|p| !DERIVED.contains(&p.as_str()) && !columns.contains(p) && lexicon.has_slot(p))
            .collect();
        let schema = model.persona.clone();
        let fields = &schema.narrative.fields;
        let stage2: Vec<String> = fields.iter().filter(|f| STAGE2_FIELDS.contains(&f.as_str())).cloned().collect();
        let stage1_text: Vec<String> = fields.iter().filter(|f| !stage2.contains(f)).cloned().collect();
        let stage1 = (stage1_text, schema.narrative.lists.clone());
        let output = super::narrative_schema_for(&schema);
        let checker = super::check::Checker::for_locale(pack.locale, Some(&spec.code))?;
        Ok(LlmNarrator {
            locale: pack.locale.to_string(),
            language,
            client,
            prompts,
            lexicon,
            prompt_slots,
            schema,
            stage1,
            stage2,
            output,
            checker,
        })
    }

    pub fn client(&self) -> &LlmClient {
        &self.client
    }

    /// The system and stage-1 prompts each persona of `personas` would be sent, rendered
    /// without asking the server (to read or check the prompts of a locale and language).
    pub fn render_prompts(&self, personas: &RecordBatch, seed: u64) -> Result<Vec<(String, String)>> {
        Ok(self
            .facts(personas, seed)?
            .iter()
            .map(|f| (render(&self.prompts.system, &f.values), render(&self.prompts.stage1, &f.values)))
            .collect())
    }

    /// The facts of every persona of a batch, for prompts and checks.
    fn facts(&self, personas: &RecordBatch, seed: u64) -> Result<Vec<Facts>> {
        let cols = PersonaColumns::new(personas)?;
        let slot_names: Vec<&str> = self.prompt_slots.iter().map(String::as_str).collect();
        let slots = self.lexicon.render_slots(personas, seed, &slot_names)?;
        let gender = self.schema.narrative.gender.as_ref();
        let mut out = Vec::with_capacity(personas.num_rows());
        for (i, slot_values) in slots.into_iter().enumerate() {
            let s = |name: &str| text_at(cols.string(name), i).to_string();
            let mut values: HashMap<String, String> = HashMap::new();
            for (name, column) in cols.string_columns() {
                values.insert(name.to_string(), text_at(Some(column), i).to_string());
            }
            for (name, column) in cols.int_columns() {
                values.insert(name.to_string(), int_at(Some(column), i).map(|v| v.to_string()).unwrap_or_default());
            }
            for (name, value) in self.prompt_slots.iter().zip(slot_values) {
                values.entry(name.clone()).or_insert(value);
            }
            values.insert("locale".into(), self.locale.clone());
            let working = match self.schema.narrative.not_working.is_empty() {
                true => None,
                false => {
                    let known = self.schema.narrative.not_working.iter().any(|w| cols.string(&w.column).is_some());
                    let idle = self.schema.narrative.not_working.iter().any(|w| w.values.contains(&s(&w.column)));
                    known.then_some(!idle)
                }
            };
            out.push(Facts {
                uuid: s("uuid"),
                first: self.schema.names.first().map(|c| s(c)).unwrap_or_default(),
                gender: gender.map(|g| g.of(&s(&g.column))).unwrap_or(Gender::Unknown),
                age: int_at(cols.int("age"), i),
                working,
                values,
                row: personas.slice(i, 1),
            });
        }
        Ok(out)
    }

    /// The keys of a stage: prose fields and list fields.
    fn stage_keys(&self, stage: u8) -> (&[String], &[String]) {
        match stage {
            1 => (&self.stage1.0, &self.stage1.1),
            _ => (&self.stage2, &[]),
        }
    }

    /// Asks one stage, validating and re-asking; the accepted JSON object.
    async fn ask(
        &self,
        facts: &Facts,
        stage: u8,
        prompt: String,
        seed: u64,
    ) -> std::result::Result<Map<String, Value>, String> {
        let (texts, lists) = self.stage_keys(stage);
        let schema = object_schema(texts, lists, self.client.config().max_field_chars);
        let mut messages = vec![Message::System(render(&self.prompts.system, &facts.values)), Message::User(prompt)];
        let name = format!("persona_stage{stage}");
        let mut problem = String::new();
        for attempt in 0..=self.client.config().max_reasks {
            let request_seed =
                crate::hash::splitmix64(seed ^ crate::hash::splitmix64(u64::from(stage) << 8 | u64::from(attempt)));
            let request = ChatRequest {
                messages: messages.clone(),
                seed: Some((request_seed & 0x7fff_ffff) as i64),
                schema: Some((name.clone(), schema.clone())),
            };
            let answer = self.client.chat(&request).await.map_err(|f| format!("{}: stage {stage}: {f}", f.kind()))?;
            let max_chars = self.client.config().max_field_chars as usize;
            let checked = validate(&answer.text, texts, lists, stage == 2, max_chars, facts, self.language.cues())
                .and_then(|object| self.consistent(object, facts));
            match checked {
                Ok(object) => return Ok(object),
                Err(p) => {
                    problem = if answer.truncated && p.starts_with("invalid_json") {
                        format!("truncated: the answer reached max_tokens ({})", self.client.config().max_tokens)
                    } else {
                        p
                    };
                    let mut values = facts.values.clone();
                    values.insert("problem".into(), problem.clone());
                    // A runaway answer is not sent back whole with the re-ask.
                    let echoed = match answer.text.char_indices().nth(MAX_ECHOED_CHARS) {
                        Some((end, _)) => answer.text[..end].to_string(),
                        None => answer.text,
                    };
                    messages.push(Message::Assistant(echoed));
                    messages.push(Message::User(render(&self.prompts.reask, &values)));
                }
            }
        }
        Err(format!("{problem} (stage {stage}, after {} attempts)", self.client.config().max_reasks + 1))
    }

    /// The answer if the narrative checker finds nothing wrong with it against the persona,
    /// else the first problem, as "consistency: rule (field): evidence".
    fn consistent(&self, object: Map<String, Value>, facts: &Facts) -> std::result::Result<Map<String, Value>, String> {
        let columns = PersonaColumns::new(&facts.row).map_err(|e| format!("consistency: {e}"))?;
        let fields: Vec<(&str, std::borrow::Cow<'_, str>)> = object
            .iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k.as_str(), std::borrow::Cow::Borrowed(s.as_str()))),
                Value::Array(items) => Some((
                    k.as_str(),
                    std::borrow::Cow::Owned(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")),
                )),
                _ => None,
            })
            .collect();
        let found = self.checker.check_row(&columns, 0, &super::check::RowText { fields });
        match found.first() {
            None => Ok(object),
            Some(v) => Err(format!("consistency: {v}")),
        }
    }

    async fn narrate_one(&self, facts: &Facts, seed: u64) -> std::result::Result<Map<String, Value>, String> {
        let persona_seed =
            crate::hash::splitmix64(seed ^ crate::hash::splitmix64(crate::hash::fnv1a(facts.uuid.as_bytes())));
        let stage1 = self.ask(facts, 1, render(&self.prompts.stage1, &facts.values), persona_seed).await?;
        let mut values = facts.values.clone();
        values
            .insert("stage1".into(), serde_json::to_string_pretty(&Value::Object(stage1.clone())).unwrap_or_default());
        let stage2 = self.ask(facts, 2, render(&self.prompts.stage2, &values), persona_seed).await?;
        let mut all = stage1;
        all.extend(stage2);
        Ok(all)
    }
}

/// What a persona is, for prompts and checks.
struct Facts {
    uuid: String,
    first: String,
    gender: Gender,
    age: Option<i64>,
    /// Whether the persona works (None: the pack does not say).
    working: Option<bool>,
    /// Placeholder values: columns, rendered lexicon slots, `locale`.
    values: HashMap<String, String>,
    /// The persona's row (its columns, for the consistency checker).
    row: RecordBatch,
}

fn object_schema(text: &[String], lists: &[String], max_chars: u32) -> Json {
    let string = |min: u64, max: u64| {
        Json::obj([("type", Json::str("string")), ("minLength", Json::Num(min)), ("maxLength", Json::Num(max))])
    };
    let mut properties = Vec::new();
    for k in text {
        properties.push((k.to_string(), string(10, u64::from(max_chars))));
    }
    for k in lists {
        properties.push((
            k.to_string(),
            Json::obj([
                ("type", Json::str("array")),
                ("items", string(2, 60)),
                ("minItems", Json::Num(1)),
                ("maxItems", Json::Num(8)),
            ]),
        ));
    }
    let required = text.iter().chain(lists).map(|k| Json::str(k)).collect();
    Json::obj([
        ("type", Json::str("object")),
        ("properties", Json::Obj(properties)),
        ("required", Json::Arr(required)),
        ("additionalProperties", Json::Bool(false)),
    ])
}

/// The JSON object in an answer (code fences and text around it are tolerated).
fn parse_object(text: &str) -> std::result::Result<Map<String, Value>, String> {
    let start = text.find('{');
    let end = text.rfind('}');
    let body = match (start, end) {
        (Some(s), Some(e)) if e > s => &text[s..=e],
        _ => return Err(format!("invalid_json: no JSON object in the answer ({})", preview(text))),
    };
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("invalid_json: the answer is not a JSON object".into()),
        Err(e) => Err(format!("invalid_json: {e} ({})", preview(text))),
    }
}

/// The most of a rejected answer sent back to the server with a re-ask.
const MAX_ECHOED_CHARS: usize = 16_000;
/// The most items of a list field, and the most characters of one item.
const MAX_LIST_ITEMS: usize = 20;
const MAX_ITEM_CHARS: usize = 120;

fn preview(text: &str) -> String {
    let t: String = text.chars().take(60).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text.chars().count() > 60 {
        format!("`{t}…`")
    } else {
        format!("`{t}`")
    }
}

/// Text as stored: control characters (terminal escapes, NUL) and bidirectional overrides
/// removed, line breaks and tabs made spaces, runs of spaces made one.
fn clean_text(text: &str) -> String {
    let kept: String = text
        .chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => None,
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Checks an answer: its shape (the prose `texts` and list `lists` keys, texts of at most twice
/// `max_chars`), the name (in `persona`, when `named`), contradictions (by the language's cues).
/// The accepted object with its texts cleaned ([`clean_text`]), or the problem as "kind: detail".
fn validate(
    text: &str,
    texts: &[String],
    lists: &[String],
    named: bool,
    max_chars: usize,
    facts: &Facts,
    cues: &Cues,
) -> std::result::Result<Map<String, Value>, String> {
    let object = parse_object(text)?;
    let mut keep = Map::new();
    for key in texts {
        match object.get(key) {
            Some(Value::String(s)) => {
                let s = clean_text(s);
                let n = s.chars().count();
                if n < 10 {
                    return Err(format!("shape: `{key}` is empty or too short"));
                }
                if n > 2 * max_chars {
                    return Err(format!("shape: `{key}` is too long ({n} characters; at most {max_chars})"));
                }
                keep.insert(key.to_string(), Value::String(s));
            }
            Some(_) => return Err(format!("shape: `{key}` must be a string")),
            None => return Err(format!("shape: missing `{key}`")),
        }
    }
    for key in lists {
        let items: Option<Vec<String>> = match object.get(key) {
            Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_LIST_ITEMS => items
                .iter()
                .map(|v| v.as_str().map(clean_text).filter(|s| !s.is_empty() && s.chars().count() <= MAX_ITEM_CHARS))
                .collect(),
            Some(_) => None,
            None => return Err(format!("shape: missing `{key}`")),
        };
        match items {
            Some(items) => {
                keep.insert(key.to_string(), Value::Array(items.into_iter().map(Value::String).collect()));
            }
            None => {
                return Err(format!(
                "shape: `{key}` must be a list of 1 to {MAX_LIST_ITEMS} strings of at most {MAX_ITEM_CHARS} characters"
            ))
            }
        }
    }
    if named && !facts.first.is_empty() && keep.contains_key("persona") {
        let persona = keep.get("persona").and_then(Value::as_str).unwrap_or("");
        if !persona.to_lowercase().contains(&facts.first.to_lowercase()) {
            return Err(format!("name_missing: `persona` does not name {}", facts.first));
        }
    }
    for key in texts {
        if let Some(c) = keep.get(key).and_then(Value::as_str).and_then(|t| contradiction(t, facts, cues)) {
            return Err(format!("contradiction: `{key}` {c}"));
        }
    }
    Ok(keep)
}

/// A contradiction of age, sex or work in one text that the language's cues can catch, if any.
fn contradiction(text: &str, facts: &Facts, cues: &Cues) -> Option<String> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric() && c != '-').filter(|w| !w.is_empty()).collect();
    if let Some(age) = facts.age {
        if let Some(n) = cues.stated_ages(&words).into_iter().find(|n| (n - age).abs() > 1) {
            return Some(format!("says {n} years old, but the persona is {age}"));
        }
    }
    // Sex: pronouns of the other sex clearly dominating.
    let count = |set: &[&str]| words.iter().filter(|w| set.contains(w)).count();
    let (male, female) = (count(cues.male), count(cues.female));
    match facts.gender {
        Gender::Female if male >= 2 && male > female => {
            return Some(format!("refers to her with male pronouns ({male} male, {female} female)"))
        }
        Gender::Male if female >= 2 && female > male => {
            return Some(format!("refers to him with female pronouns ({female} female, {male} male)"))
        }
        _ => {}
    }
    match facts.working {
        Some(true) => {
            if let Some(p) = cues.not_working.iter().find(|p| lower.contains(*p)) {
                return Some(format!("says \"{}\", but the persona works", p.trim()));
            }
        }
        Some(false) => {
            if let Some(p) = cues.working.iter().find(|p| lower.contains(*p)) {
                return Some(format!("says \"{}\", but the persona is not working", p.trim()));
            }
        }
        None => {}
    }
    None
}

#[async_trait::async_trait]
impl Narrator for LlmNarrator {
    fn name(&self) -> String {
        format!("llm:{}", self.client.config().model)
    }

    fn usage(&self) -> Option<UsageSnapshot> {
        Some(self.client.usage())
    }

    fn endpoint_usage(&self) -> Vec<crate::llm::EndpointUsage> {
        self.client.endpoint_usage()
    }

    fn absorb_usage(&self, traffic: &[crate::llm::EndpointUsage]) {
        self.client.absorb(traffic)
    }

    async fn narrate(&self, personas: &RecordBatch, seed: u64) -> Result<Narrated> {
        let rows = personas.num_rows();
        let facts = self.facts(personas, seed)?;
        // Enough personas in flight to keep the shared limit busy; the limit does the pacing.
        let width = self.client.max_in_flight().saturating_mul(2).max(2);
        let mut results: Vec<Option<std::result::Result<Map<String, Value>, String>>> = vec![None; rows];
        let facts = &facts;
        let mut stream = futures::stream::iter(0..rows)
            .map(|i| async move { (i, self.narrate_one(&facts[i], seed).await) })
            .buffer_unordered(width);
        while let Some((i, r)) = stream.next().await {
            results[i] = Some(r);
        }
        let fields = &self.schema.narrative.fields;
        let list_fields = &self.schema.narrative.lists;
        let mut texts: Vec<StringBuilder> = fields.iter().map(|_| StringBuilder::new()).collect();
        let mut lists: Vec<ListBuilder<StringBuilder>> =
            list_fields.iter().map(|_| ListBuilder::new(StringBuilder::new())).collect();
        let mut failures = Vec::new();
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Some(Ok(object)) => {
                    for (b, key) in texts.iter_mut().zip(fields) {
                        b.append_option(object.get(key).and_then(Value::as_str).map(str::trim));
                    }
                    for (b, key) in lists.iter_mut().zip(list_fields) {
                        for item in object.get(key).and_then(Value::as_array).into_iter().flatten() {
                            b.values().append_option(item.as_str().map(str::trim));
                        }
                        b.append(true);
                    }
                }
                other => {
                    let reason = match other {
                        Some(Err(reason)) => reason,
                        _ => "internal: no result".to_string(),
                    };
                    failures.push((i, reason));
                    texts.iter_mut().for_each(|b| b.append_null());
                    lists.iter_mut().for_each(|b| b.append(false));
                }
            }
        }
        // A server that cannot be reached, or refuses every request (bad key, unknown model),
        // stops the run instead of recording every persona as failed; the run can be resumed.
        if rows > 0
            && failures.len() == rows
            && failures.iter().all(|(_, r)| r.starts_with("connection") || r.starts_with("rejected"))
        {
            return Err(Error::InvalidArgument {
                name: "LLM server".into(),
                reason: format!(
                    "every persona of the batch failed at {}: {}",
                    self.client.config().endpoints_label(),
                    failures[0].1
                ),
            });
        }
        let columns: Vec<ArrayRef> = texts
            .into_iter()
            .map(|mut b| Arc::new(b.finish()) as ArrayRef)
            .chain(lists.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef))
            .collect();
        let batch = RecordBatch::try_new(self.output.clone(), columns)?;
        Ok(Narrated { batch, failures })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(gender: Gender, age: i64, working: bool) -> Facts {
        Facts {
            uuid: "u".into(),
            first: "Ana".into(),
            gender,
            age: Some(age),
            working: Some(working),
            values: HashMap::new(),
            row: RecordBatch::new_empty(std::sync::Arc::new(arrow::datatypes::Schema::empty())),
        }
    }

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn placeholders_render_and_parse() {
        assert_eq!(placeholders("a {{x}} b {{ y }} {{z"), vec!["x", "y"]);
        let mut v = HashMap::new();
        v.insert("x".to_string(), "1".to_string());
        assert_eq!(render("a {{x}} b {{y}}.", &v), "a 1 b .");
    }

    #[test]
    fn validation_catches_shape_name_and_contradictions() {
        let en = Language::English.cues();
        let stage2 = keys(&STAGE2_FIELDS);
        let v2 = |text: &str, f: &Facts| validate(text, &stage2, &[], true, 600, f, en);
        let f = facts(Gender::Female, 34, true);
        assert!(v2("not json", &f).expect_err("json").starts_with("invalid_json"));
        let ok2 = serde_json::json!({
            "persona": "Ana is a 34-year-old nurse who loves her garden.",
            "professional_persona": "At work she is calm and precise.",
            "sports_persona": "She swims twice a week at the local pool.",
            "arts_persona": "She reads mystery novels and paints.",
            "travel_persona": "She prefers road trips along the coast.",
            "culinary_persona": "She cooks stews and bakes bread on weekends."
        });
        assert!(v2(&format!("```json\n{ok2}\n```"), &f).is_ok());
        let mut missing = ok2.clone();
        missing.as_object_mut().expect("obj").remove("arts_persona");
        assert!(v2(&missing.to_string(), &f).expect_err("shape").contains("missing `arts_persona`"));
        let mut noname = ok2.clone();
        noname["persona"] = Value::String("A 34-year-old nurse who loves her garden.".into());
        assert!(v2(&noname.to_string(), &f).expect_err("name").starts_with("name_missing"));
        let mut old = ok2.clone();
        old["persona"] = Value::String("Ana is a 52-year-old nurse who loves her garden.".into());
        assert!(v2(&old.to_string(), &f).expect_err("age").contains("52"));
        let mut he = ok2.clone();
        he["sports_persona"] = Value::String("He swims; his coach says he is fast and he trains hard.".into());
        assert!(v2(&he.to_string(), &f).expect_err("sex").starts_with("contradiction"));
        let jobless = facts(Gender::Female, 34, false);
        let mut works = ok2.clone();
        works["professional_persona"] = Value::String("She currently works as a nurse in a clinic.".into());
        assert!(v2(&works.to_string(), &jobless).expect_err("occ").contains("not working"));
        let s1 = serde_json::json!({
            "cultural_background": "Ana grew up in a close family in Ohio.",
            "skills_and_expertise": "She is skilled at patient care and triage.",
            "skills_and_expertise_list": ["patient care", "triage"],
            "hobbies_and_interests": "She gardens and reads in the evenings.",
            "hobbies_and_interests_list": [],
            "career_goals_and_ambitions": "She hopes to become a nurse practitioner."
        });
        let t1 = keys(&[
            "cultural_background",
            "skills_and_expertise",
            "hobbies_and_interests",
            "career_goals_and_ambitions",
        ]);
        let l1 = keys(&["skills_and_expertise_list", "hobbies_and_interests_list"]);
        let err = validate(&s1.to_string(), &t1, &l1, false, 600, &f, en).expect_err("list");
        assert!(err.contains("hobbies_and_interests_list"), "{err}");
    }

    #[test]
    fn answers_are_cleaned_and_bounded() {
        use serde_json::json;
        assert_eq!(clean_text("\u{1b}[31mRed\u{1b}[0m\u{0} and\r\n\u{202e}blue\t "), "[31mRed[0m and blue");
        let en = Language::English.cues();
        let f = facts(Gender::Female, 40, true);
        let texts = keys(&["cultural_background"]);
        let lists = keys(&["skills_and_expertise_list"]);
        let answer = |text: &str, list: Value| {
            json!({"cultural_background": text, "skills_and_expertise_list": list}).to_string()
        };
        let ok =
            validate(&answer("Grew up\u{7} in Ohio.\n", json!(["cooking\u{1b}"])), &texts, &lists, false, 20, &f, en)
                .expect("valid");
        assert_eq!(ok["cultural_background"], json!("Grew up in Ohio."));
        assert_eq!(ok["skills_and_expertise_list"], json!(["cooking"]));
        let long = validate(&answer(&"word ".repeat(20), json!(["a"])), &texts, &lists, false, 20, &f, en);
        assert!(long.expect_err("too long").contains("too long (99 characters; at most 20)"));
        let many = validate(&answer("Grew up in Ohio.", json!(vec!["x"; 21])), &texts, &lists, false, 20, &f, en);
        assert!(many.expect_err("too many").contains("1 to 20 strings"));
    }

    #[test]
    fn portuguese_cues_catch_age_sex_and_work() {
        let pt = Language::Portuguese.cues();
        let f = facts(Gender::Female, 67, false);
        let check = |t: &str| contradiction(t, &f, pt);
        assert!(check("Ana tem 45 anos e mora em Feira de Santana.").is_some_and(|c| c.contains("45")));
        assert!(check("Aposentada há 12 anos, Ana cuida do quintal.").is_none(), "há N anos is a duration");
        assert!(check("Ele gosta de forró, e dizem que ele dança bem.").is_some());
        assert!(check("Ana trabalha como costureira no centro.").is_some_and(|c| c.contains("not working")));
        assert!(check("Ana tem 67 anos e adora cozinhar para a família.").is_none());
        let worker = facts(Gender::Male, 29, true);
        assert!(contradiction("Está desempregado desde o ano passado.", &worker, pt).is_some());
    }
}
