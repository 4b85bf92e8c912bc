//! The LLM narrator: the two-stage method of Nemotron-Personas against any OpenAI-compatible
//! server. Stage 1 asks for structured JSON (cultural background, skills and hobbies with their
//! lists, career goals); stage 2 asks for the six persona texts conditioned on stage 1. Every
//! answer is validated (JSON shape; the persona's name in `persona`; no contradiction of age,
//! sex or occupation that a simple check can catch) and re-asked a bounded number of times;
//! a persona that still fails gets null narratives and a recorded reason.
//!
//! Prompts are text files with `{{placeholder}}`s (`datasets/<locale>/narrative/prompts/`,
//! replaceable with `prompts` in the LLM config).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, ListBuilder, RecordBatch, StringBuilder};
use futures::StreamExt;
use serde_json::{Map, Value};

use super::{int_at, narrative_schema, text_at, Narrated, Narrator, PersonaColumns, LIST_FIELDS};
use crate::error::{Error, Result};
use crate::llm::{ChatRequest, Json, LlmClient, LlmConfig, Message, UsageSnapshot};
use crate::locale;

/// Stage 1 keys (prose) and their list companions.
const STAGE1_TEXT: [&str; 4] =
    ["cultural_background", "skills_and_expertise", "hobbies_and_interests", "career_goals_and_ambitions"];
/// Stage 2 keys.
const STAGE2_TEXT: [&str; 6] =
    ["persona", "professional_persona", "sports_persona", "arts_persona", "travel_persona", "culinary_persona"];

/// Placeholders a prompt may use besides the persona's own columns.
const DERIVED: [&str; 11] = [
    "profile",
    "full_name",
    "occupation_title",
    "education",
    "state_name",
    "subject",
    "object",
    "possessive",
    "stage1",
    "problem",
    "locale",
];

/// The prompt templates.
#[derive(Debug, Clone)]
pub struct Prompts {
    pub system: String,
    pub stage1: String,
    pub stage2: String,
    pub reask: String,
}

impl Prompts {
    /// The built-in prompts of a locale pack, each replaced by the file of the same name in
    /// `dir` when there is one.
    pub fn load(locale: &str, dir: Option<&Path>, columns: &[String]) -> Result<Prompts> {
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
            pack.file(&format!("narrative/prompts/{name}")).map(str::to_string)
        };
        let prompts = Prompts {
            system: read("system.txt")?,
            stage1: read("stage1.txt")?,
            stage2: read("stage2.txt")?,
            reask: read("reask.txt")?,
        };
        for (name, text) in [
            ("system.txt", &prompts.system),
            ("stage1.txt", &prompts.stage1),
            ("stage2.txt", &prompts.stage2),
            ("reask.txt", &prompts.reask),
        ] {
            for slot in placeholders(text) {
                if !DERIVED.contains(&slot.as_str()) && !columns.iter().any(|c| *c == slot) {
                    return Err(Error::InvalidArgument {
                        name: "prompts".into(),
                        reason: format!(
                            "{name}: unknown placeholder {{{{{slot}}}}} (persona columns, or one of: {})",
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
fn render(text: &str, values: &HashMap<&str, String>) -> String {
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
    client: LlmClient,
    prompts: Prompts,
    /// Occupation code -> title for prose.
    titles: HashMap<String, String>,
    /// State code -> name.
    states: HashMap<String, String>,
}

impl LlmNarrator {
    /// The LLM narrator of `locale` with `config` (its prompts folder, if any, overriding the
    /// built-in prompts).
    pub fn new(locale: &str, config: LlmConfig) -> Result<Self> {
        let client = LlmClient::new(config)?;
        Self::with_client(locale, client)
    }

    /// With a given client (tests, benchmarks).
    pub fn with_client(locale: &str, client: LlmClient) -> Result<Self> {
        let model = locale::model(locale)?;
        let columns: Vec<String> = model.columns.iter().map(|c| c.name().to_string()).collect();
        let prompts = Prompts::load(locale, client.config().prompts.as_deref(), &columns)?;
        let pack = locale::pack(locale)?;
        let mut titles = HashMap::new();
        let mut reader = csv::Reader::from_reader(pack.file("occupation_titles.csv")?.as_bytes());
        for rec in reader.records().flatten() {
            if let (Some(code), Some(title)) = (rec.get(0), rec.get(3)) {
                titles.insert(code.to_string(), title.to_string());
            }
        }
        let mut states = HashMap::new();
        let mut reader = csv::Reader::from_reader(pack.file("narrative/states.csv")?.as_bytes());
        for rec in reader.records().flatten() {
            if let (Some(code), Some(name)) = (rec.get(0), rec.get(1)) {
                states.insert(code.to_string(), name.to_string());
            }
        }
        Ok(LlmNarrator { locale: locale.to_string(), client, prompts, titles, states })
    }

    pub fn client(&self) -> &LlmClient {
        &self.client
    }

    /// The facts of one persona, for prompts and checks.
    fn facts(&self, cols: &PersonaColumns, i: usize) -> Facts {
        let s = |name: &str| text_at(cols.string(name), i).to_string();
        let mut values: HashMap<&'static str, String> = HashMap::new();
        let first = s("first_name");
        let full = [s("first_name"), s("middle_name"), s("last_name")]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let sex = s("sex");
        let age = int_at(cols.int("age"), i);
        let occupation = s("occupation");
        let employment = s("employment_status");
        let working = !(occupation.is_empty()
            || occupation == "not_in_workforce"
            || employment == "unemployed"
            || employment == "not_in_labor_force");
        let occupation_title = if working {
            self.titles.get(&occupation).cloned().unwrap_or_else(|| human(&occupation))
        } else if employment == "unemployed" {
            "looking for work".to_string()
        } else if age.is_some_and(|a| a >= 62) {
            "retired".to_string()
        } else {
            "not working outside the home".to_string()
        };
        let (subject, object, possessive) = match sex.as_str() {
            "Female" => ("she", "her", "her"),
            "Male" => ("he", "him", "his"),
            _ => ("they", "them", "their"),
        };
        let state = s("state");
        let state_name = self.states.get(&state).cloned().unwrap_or_else(|| state.clone());
        let mut profile = vec![format!("- Name: {full}")];
        if !sex.is_empty() {
            profile.push(format!("- Sex: {}", sex.to_lowercase()));
        }
        if let Some(a) = age {
            profile.push(format!("- Age: {a}"));
        }
        let marital = s("marital_status");
        if !marital.is_empty() {
            profile.push(format!("- Marital status: {}", human(&marital)));
        }
        let education = human(&s("education_level"));
        if !education.is_empty() {
            profile.push(format!("- Education: {education}"));
        }
        let field = s("bachelors_field");
        if !field.is_empty() && field != "no_degree" {
            profile.push(format!("- Field of degree: {}", human(&field)));
        }
        profile.push(format!("- Occupation: {occupation_title}"));
        let city = s("city");
        let place =
            [city.clone(), state_name.clone(), s("country")].into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>();
        if !place.is_empty() {
            profile.push(format!("- Lives in: {}", place.join(", ")));
        }
        let race = s("race_ethnicity");
        if !race.is_empty() {
            profile.push(format!("- Race/ethnicity: {}", human(&race)));
        }
        let traits: Vec<String> = ["openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism"]
            .iter()
            .filter_map(|t| {
                let label = s(&format!("big5_{t}_label"));
                (!label.is_empty()).then(|| format!("{t} {}", human(&label)))
            })
            .collect();
        if !traits.is_empty() {
            profile.push(format!("- Personality (Big Five): {}", traits.join(", ")));
        }
        for (name, column) in cols.string_columns() {
            values.insert(leak_name(name), text_at(Some(column), i).to_string());
        }
        for (name, column) in cols.int_columns() {
            values.insert(leak_name(name), int_at(Some(column), i).map(|v| v.to_string()).unwrap_or_default());
        }
        values.insert("profile", profile.join("\n"));
        values.insert("full_name", full.clone());
        values.insert("occupation_title", occupation_title);
        values.insert("education", education);
        values.insert("state_name", state_name);
        values.insert("subject", subject.into());
        values.insert("object", object.into());
        values.insert("possessive", possessive.into());
        values.insert("locale", self.locale.clone());
        Facts { uuid: s("uuid"), first, sex, age, working, values }
    }

    /// Asks one stage, validating and re-asking; the accepted JSON object.
    async fn ask(
        &self,
        facts: &Facts,
        stage: u8,
        prompt: String,
        schema: Json,
        seed: u64,
    ) -> std::result::Result<Map<String, Value>, String> {
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
            match validate(stage, &answer.text, facts) {
                Ok(object) => return Ok(object),
                Err(p) => {
                    problem = if answer.truncated && p.starts_with("invalid_json") {
                        format!("truncated: the answer reached max_tokens ({})", self.client.config().max_tokens)
                    } else {
                        p
                    };
                    let mut values = facts.values.clone();
                    values.insert("problem", problem.clone());
                    messages.push(Message::Assistant(answer.text));
                    messages.push(Message::User(render(&self.prompts.reask, &values)));
                }
            }
        }
        Err(format!("{problem} (stage {stage}, after {} attempts)", self.client.config().max_reasks + 1))
    }

    async fn narrate_one(&self, facts: &Facts, seed: u64) -> std::result::Result<Map<String, Value>, String> {
        let persona_seed =
            crate::hash::splitmix64(seed ^ crate::hash::splitmix64(crate::hash::fnv1a(facts.uuid.as_bytes())));
        let stage1 = self
            .ask(
                facts,
                1,
                render(&self.prompts.stage1, &facts.values),
                stage1_schema(self.client.config().max_field_chars),
                persona_seed,
            )
            .await?;
        let mut values = facts.values.clone();
        values.insert("stage1", serde_json::to_string_pretty(&Value::Object(stage1.clone())).unwrap_or_default());
        let stage2 = self
            .ask(
                facts,
                2,
                render(&self.prompts.stage2, &values),
                stage2_schema(self.client.config().max_field_chars),
                persona_seed,
            )
            .await?;
        let mut all = stage1;
        all.extend(stage2);
        Ok(all)
    }
}

/// What a persona is, for prompts and checks.
struct Facts {
    uuid: String,
    first: String,
    sex: String,
    age: Option<i64>,
    working: bool,
    values: HashMap<&'static str, String>,
}

/// Column names as static strings for the placeholder map (each distinct name is leaked
/// once per process: a bounded set, the columns of the locale schemas).
fn leak_name(name: &str) -> &'static str {
    static NAMES: std::sync::OnceLock<std::sync::Mutex<HashMap<String, &'static str>>> = std::sync::OnceLock::new();
    let map = NAMES.get_or_init(Default::default);
    let mut map = match map.lock() {
        Ok(m) => m,
        Err(p) => p.into_inner(),
    };
    if let Some(s) = map.get(name) {
        return s;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    map.insert(name.to_string(), leaked);
    leaked
}

fn human(code: &str) -> String {
    code.replace('_', " ")
}

fn object_schema(text: &[&str], lists: &[&str], max_chars: u32) -> Json {
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

fn stage1_schema(max_chars: u32) -> Json {
    object_schema(&STAGE1_TEXT, &LIST_FIELDS, max_chars)
}

fn stage2_schema(max_chars: u32) -> Json {
    object_schema(&STAGE2_TEXT, &[], max_chars)
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

fn preview(text: &str) -> String {
    let t: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        format!("`{t}…`")
    } else {
        format!("`{t}`")
    }
}

/// Checks an answer of `stage`: shape, name, contradictions. The accepted object, or the
/// problem as "kind: detail".
fn validate(stage: u8, text: &str, facts: &Facts) -> std::result::Result<Map<String, Value>, String> {
    let object = parse_object(text)?;
    let (texts, lists): (&[&str], &[&str]) =
        if stage == 1 { (&STAGE1_TEXT, &LIST_FIELDS) } else { (&STAGE2_TEXT, &[]) };
    for key in texts {
        match object.get(*key) {
            Some(Value::String(s)) if s.trim().len() >= 10 => {}
            Some(Value::String(_)) => return Err(format!("shape: `{key}` is empty or too short")),
            Some(_) => return Err(format!("shape: `{key}` must be a string")),
            None => return Err(format!("shape: missing `{key}`")),
        }
    }
    for key in lists {
        match object.get(*key) {
            Some(Value::Array(items))
                if !items.is_empty() && items.iter().all(|v| v.as_str().is_some_and(|s| !s.trim().is_empty())) => {}
            Some(_) => return Err(format!("shape: `{key}` must be a non-empty list of strings")),
            None => return Err(format!("shape: missing `{key}`")),
        }
    }
    let mut keep = Map::new();
    for key in texts.iter().chain(lists) {
        if let Some(v) = object.get(*key) {
            keep.insert(key.to_string(), v.clone());
        }
    }
    if stage == 2 && !facts.first.is_empty() {
        let persona = keep.get("persona").and_then(Value::as_str).unwrap_or("");
        if !persona.to_lowercase().contains(&facts.first.to_lowercase()) {
            return Err(format!("name_missing: `persona` does not name {}", facts.first));
        }
    }
    for key in texts {
        if let Some(c) = keep.get(*key).and_then(Value::as_str).and_then(|t| contradiction(t, facts)) {
            return Err(format!("contradiction: `{key}` {c}"));
        }
    }
    Ok(keep)
}

/// A contradiction of age, sex or occupation in one text that a simple check can catch, if any.
fn contradiction(text: &str, facts: &Facts) -> Option<String> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric() && c != '-').filter(|w| !w.is_empty()).collect();
    // Age: "N-year-old" or "N years old" with N more than a year off.
    if let Some(age) = facts.age {
        for (i, w) in words.iter().enumerate() {
            let stated = if let Some(n) = w.strip_suffix("-year-old") {
                n.parse::<i64>().ok()
            } else if *w == "years" && words.get(i + 1) == Some(&"old") && i > 0 {
                words[i - 1].parse::<i64>().ok()
            } else {
                None
            };
            if let Some(n) = stated {
                if (n - age).abs() > 1 {
                    return Some(format!("says {n} years old, but the persona is {age}"));
                }
            }
        }
    }
    // Sex: pronouns of the other sex clearly dominating.
    let count = |set: &[&str]| words.iter().filter(|w| set.contains(w)).count();
    let male = count(&["he", "him", "his", "himself"]);
    let female = count(&["she", "her", "hers", "herself"]);
    match facts.sex.as_str() {
        "Female" if male >= 2 && male > female => {
            return Some(format!("refers to her as \"he\" ({male} male pronouns, {female} female)"))
        }
        "Male" if female >= 2 && female > male => {
            return Some(format!("refers to him as \"she\" ({female} female pronouns, {male} male)"))
        }
        _ => {}
    }
    // Occupation: working vs not working.
    if facts.working {
        for phrase in ["is unemployed", "currently unemployed", "is out of work", "has no job"] {
            if lower.contains(phrase) {
                return Some(format!("says \"{phrase}\", but the persona is employed"));
            }
        }
    } else {
        for phrase in ["currently works as", "is employed as", "works full-time as", "works as a "] {
            if lower.contains(phrase) {
                return Some(format!("says \"{}\", but the persona is not working", phrase.trim()));
            }
        }
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

    async fn narrate(&self, personas: &RecordBatch, seed: u64) -> Result<Narrated> {
        let cols = PersonaColumns::new(personas)?;
        let rows = personas.num_rows();
        let facts: Vec<Facts> = (0..rows).map(|i| self.facts(&cols, i)).collect();
        // Enough personas in flight to keep the shared limit busy; the limit does the pacing.
        let width = self.client.limit().max().saturating_mul(2).max(2);
        let mut results: Vec<Option<std::result::Result<Map<String, Value>, String>>> = vec![None; rows];
        let facts = &facts;
        let mut stream = futures::stream::iter(0..rows)
            .map(|i| async move { (i, self.narrate_one(&facts[i], seed).await) })
            .buffer_unordered(width);
        while let Some((i, r)) = stream.next().await {
            results[i] = Some(r);
        }
        let mut texts: Vec<StringBuilder> = super::TEXT_FIELDS.iter().map(|_| StringBuilder::new()).collect();
        let mut lists: Vec<ListBuilder<StringBuilder>> =
            LIST_FIELDS.iter().map(|_| ListBuilder::new(StringBuilder::new())).collect();
        let mut failures = Vec::new();
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Some(Ok(object)) => {
                    for (b, key) in texts.iter_mut().zip(super::TEXT_FIELDS) {
                        b.append_option(object.get(key).and_then(Value::as_str).map(str::trim));
                    }
                    for (b, key) in lists.iter_mut().zip(LIST_FIELDS) {
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
                    self.client.config().endpoint(),
                    failures[0].1
                ),
            });
        }
        let columns: Vec<ArrayRef> = texts
            .into_iter()
            .map(|mut b| Arc::new(b.finish()) as ArrayRef)
            .chain(lists.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef))
            .collect();
        let batch = RecordBatch::try_new(narrative_schema(), columns)?;
        Ok(Narrated { batch, failures })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(sex: &str, age: i64, working: bool) -> Facts {
        Facts {
            uuid: "u".into(),
            first: "Ana".into(),
            sex: sex.into(),
            age: Some(age),
            working,
            values: HashMap::new(),
        }
    }

    #[test]
    fn placeholders_render_and_parse() {
        assert_eq!(placeholders("a {{x}} b {{ y }} {{z"), vec!["x", "y"]);
        let mut v = HashMap::new();
        v.insert("x", "1".to_string());
        assert_eq!(render("a {{x}} b {{y}}.", &v), "a 1 b .");
    }

    #[test]
    fn validation_catches_shape_name_and_contradictions() {
        let f = facts("Female", 34, true);
        assert!(validate(2, "not json", &f).expect_err("json").starts_with("invalid_json"));
        let ok2 = serde_json::json!({
            "persona": "Ana is a 34-year-old nurse who loves her garden.",
            "professional_persona": "At work she is calm and precise.",
            "sports_persona": "She swims twice a week at the local pool.",
            "arts_persona": "She reads mystery novels and paints.",
            "travel_persona": "She prefers road trips along the coast.",
            "culinary_persona": "She cooks stews and bakes bread on weekends."
        });
        assert!(validate(2, &format!("```json\n{ok2}\n```"), &f).is_ok());
        let mut missing = ok2.clone();
        missing.as_object_mut().expect("obj").remove("arts_persona");
        assert!(validate(2, &missing.to_string(), &f).expect_err("shape").contains("missing `arts_persona`"));
        let mut noname = ok2.clone();
        noname["persona"] = Value::String("A 34-year-old nurse who loves her garden.".into());
        assert!(validate(2, &noname.to_string(), &f).expect_err("name").starts_with("name_missing"));
        let mut old = ok2.clone();
        old["persona"] = Value::String("Ana is a 52-year-old nurse who loves her garden.".into());
        assert!(validate(2, &old.to_string(), &f).expect_err("age").contains("52"));
        let mut he = ok2.clone();
        he["sports_persona"] = Value::String("He swims; his coach says he is fast and he trains hard.".into());
        assert!(validate(2, &he.to_string(), &f).expect_err("sex").starts_with("contradiction"));
        let jobless = facts("Female", 34, false);
        let mut works = ok2.clone();
        works["professional_persona"] = Value::String("She currently works as a nurse in a clinic.".into());
        assert!(validate(2, &works.to_string(), &jobless).expect_err("occ").contains("not working"));
        let s1 = serde_json::json!({
            "cultural_background": "Ana grew up in a close family in Ohio.",
            "skills_and_expertise": "She is skilled at patient care and triage.",
            "skills_and_expertise_list": ["patient care", "triage"],
            "hobbies_and_interests": "She gardens and reads in the evenings.",
            "hobbies_and_interests_list": [],
            "career_goals_and_ambitions": "She hopes to become a nurse practitioner."
        });
        assert!(validate(1, &s1.to_string(), &f).expect_err("list").contains("hobbies_and_interests_list"));
    }
}
