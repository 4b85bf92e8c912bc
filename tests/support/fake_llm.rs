//! An OpenAI-compatible chat server for tests and benchmarks, on a loopback port: it answers
//! `/v1/chat/completions` with valid persona JSON (name, pronouns and age taken from the
//! prompt's profile), and injects faults on a schedule: 429 with Retry-After, 500, slow
//! answers, bodies that are not JSON, and answers whose content is not JSON.
//! HTTP/1.1 with keep-alive, written on tokio alone.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the server does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Ok,
    /// 429 with `Retry-After: <seconds>`.
    RateLimit(u64),
    /// 500 with a short text body.
    ServerError,
    /// Answers correctly after this delay.
    Slow(Duration),
    /// 200 with a body that is not JSON.
    BrokenBody,
    /// A valid completion whose content is not JSON.
    BadContent,
    /// 401 whose message quotes the API key the request carried, as OpenAI's does.
    Unauthorized,
    /// Closes the connection without answering, as a server that died does.
    Disconnect,
    /// Hostile answer number `k` of [`HOSTILE_ANSWERS`] (cycled): malformed, huge, deeply
    /// nested, wrongly typed or escape-laden content, or a body or status no server should send.
    Hostile(u64),
}

/// How many distinct hostile answers [`Action::Hostile`] cycles through.
pub const HOSTILE_ANSWERS: u64 = 34;

/// Decides the action for request number `n` (0-based) whose profile names `first_name`.
pub type Schedule = Arc<dyn Fn(u64, &str) -> Action + Send + Sync>;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub n: u64,
    pub first_name: String,
    pub action: Action,
}

pub struct FakeLlm {
    pub base_url: String,
    pub log: Arc<Mutex<Vec<Seen>>>,
    pub requests: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeLlm {
    /// A server answering every request correctly after `delay`.
    pub async fn healthy(delay: Duration) -> FakeLlm {
        FakeLlm::start(Arc::new(move |_, _| if delay.is_zero() { Action::Ok } else { Action::Slow(delay) })).await
    }

    /// A server following `schedule`.
    pub async fn start(schedule: Schedule) -> FakeLlm {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(AtomicU64::new(0));
        let (l, r) = (log.clone(), requests.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (schedule, log, requests) = (schedule.clone(), l.clone(), r.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, schedule, log, requests).await;
                });
            }
        });
        FakeLlm { base_url: format!("http://{addr}/v1"), log, requests, task }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().expect("log").clone()
    }
}

async fn serve(
    stream: tokio::net::TcpStream,
    schedule: Schedule,
    log: Arc<Mutex<Vec<Seen>>>,
    requests: Arc<AtomicU64>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut length = 0usize;
        let mut key = String::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await? == 0 {
                return Ok(());
            }
            let h = header.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                } else if k.eq_ignore_ascii_case("authorization") {
                    key = v.trim().trim_start_matches("Bearer ").to_string();
                }
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).await?;
        let (status, extra, payload) = if path.ends_with("/chat/completions") {
            let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let n = requests.fetch_add(1, Ordering::SeqCst);
            let profile = Profile::from_request(&request);
            let action = schedule(n, &profile.first_name);
            log.lock().expect("log").push(Seen {
                at: Instant::now(),
                n,
                first_name: profile.first_name.clone(),
                action,
            });
            if action == Action::Disconnect {
                return Ok(());
            }
            respond(action, &request, &profile, &key).await
        } else if path.ends_with("/models") {
            (200, String::new(), json!({"object": "list", "data": [{"id": "fake", "object": "model"}]}).to_string())
        } else {
            (
                404,
                String::new(),
                json!({"error": {"message": "not found", "type": "invalid_request_error"}}).to_string(),
            )
        };
        let reason = match status {
            200 => "OK",
            429 => "Too Many Requests",
            404 => "Not Found",
            401 => "Unauthorized",
            _ => "Internal Server Error",
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}\r\n",
            payload.len()
        );
        let stream = reader.get_mut();
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(payload.as_bytes()).await?;
        stream.flush().await?;
    }
}

/// What the prompt says about the persona.
#[derive(Debug, Default)]
struct Profile {
    first_name: String,
    full_name: String,
    age: Option<u64>,
    female: bool,
    working: bool,
}

impl Profile {
    fn from_request(request: &Value) -> Profile {
        let mut p = Profile { working: true, ..Profile::default() };
        let text: String = request["messages"]
            .as_array()
            .map(|m| m.iter().filter_map(|x| x["content"].as_str()).collect::<Vec<_>>().join("\n"))
            .unwrap_or_default();
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("- Name: ") {
                p.full_name = v.trim().to_string();
                p.first_name = v.split_whitespace().next().unwrap_or("").to_string();
            } else if let Some(v) = line.strip_prefix("- Age: ") {
                p.age = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("- Sex: ") {
                p.female = v.trim() == "female";
            } else if let Some(v) = line.strip_prefix("- Occupation: ") {
                let v = v.trim();
                p.working = !(v == "retired" || v == "looking for work" || v.starts_with("not working"));
            }
        }
        p
    }
}

async fn respond(action: Action, request: &Value, p: &Profile, key: &str) -> (u16, String, String) {
    match action {
        Action::Unauthorized => (
            401,
            String::new(),
            json!({"error": {"message": format!("Incorrect API key provided: {key}. You can find your API key at https://example.invalid/keys."),
                "type": "invalid_request_error", "code": "invalid_api_key"}})
            .to_string(),
        ),
        Action::RateLimit(s) => (
            429,
            format!("retry-after: {s}\r\n"),
            json!({"error": {"message": "rate limit reached", "type": "rate_limit_error"}}).to_string(),
        ),
        Action::ServerError => (500, String::new(), "upstream model crashed".to_string()),
        Action::BrokenBody => (200, String::new(), "{\"id\": \"chatcmpl-1\", \"choices\": [".to_string()),
        Action::BadContent => (200, String::new(), completion("Sure! Here is the persona you asked for.", 12)),
        Action::Slow(d) => {
            tokio::time::sleep(d).await;
            (200, String::new(), completion(&content(request, p), 120))
        }
        Action::Ok => (200, String::new(), completion(&content(request, p), 120)),
        Action::Hostile(k) => hostile(k % HOSTILE_ANSWERS, request, p),
        // Handled by the caller (the connection is closed).
        Action::Disconnect => (500, String::new(), String::new()),
    }
}

/// Answer `k` of the hostile ones: the first ones are completions whose content is hostile, the
/// last ones hostile bodies and statuses.
fn hostile(k: u64, request: &Value, p: &Profile) -> (u16, String, String) {
    let valid: Value = serde_json::from_str(&content(request, p)).unwrap_or(Value::Null);
    let with = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut v = valid.clone();
        if let Some(o) = v.as_object_mut() {
            f(o);
        }
        v.to_string()
    };
    let every = |value: Value| with(&|o| o.values_mut().for_each(|v| *v = value.clone()));
    let content = match k {
        0 => String::new(),
        1 => "null".into(),
        2 => "[]".into(),
        3 => "{}".into(),
        4 => format!("[{valid}]"),
        5 => every(json!(5)),
        6 => format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        7 => every(Value::String("a".repeat(2_000_000))),
        8 => every(Value::Null),
        9 => every(json!("\u{1b}[31mred\u{1b}[0m \u{0} \u{7} \r\n\t\u{202e}reversed")),
        10 => format!("```json\n{valid}\n```"),
        11 => {
            let text = valid.to_string();
            text.chars().take(text.chars().count() / 2).collect()
        }
        12 => every(json!(["a", "b"])),
        13 => with(&|o| {
            o.insert("persona".into(), json!(1e300));
            o.insert("skills_and_expertise_list".into(), json!("not a list"));
        }),
        14 => valid.to_string().replacen('{', "{\"persona\": 1e999, ", 1),
        15 => valid.to_string().replacen('{', "{\"persona\": \"\\ud800\", ", 1),
        16 => every(json!("   ")),
        17 => every(Value::Array(vec![json!("x"); 10_000])),
        18 => with(&|o| {
            o.insert("extra".into(), json!({"nested": [1, 2, {"deep": null}]}));
        }),
        19 => valid.to_string().replace(&p.first_name, "Zbigniew").replace(" She ", " He ").replace(" her ", " his "),
        20 => "\u{0}".repeat(1000),
        21 => "Sure! {\"persona\": \"unterminated".into(),
        22 => every(json!({"a": {"b": {"c": [1, 2, 3]}}})),
        23 => "\"just a string\"".into(),
        24 => "1e400".into(),
        25 => with(&|o| o.clear()) + &" ".repeat(100_000),
        _ => String::new(),
    };
    let body = match k {
        26 => return (200, String::new(), String::new()),
        27 => return (200, String::new(), "<html><body>Bad Gateway</body></html>".into()),
        28 => return (200, String::new(), json!({"id": "x", "object": "chat.completion", "choices": []}).to_string()),
        29 => {
            return (
                200,
                String::new(),
                json!({"id": "x", "object": "chat.completion", "created": 1, "model": "fake",
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": null}}]})
                .to_string(),
            )
        }
        30 => return (200, String::new(), json!({"choices": "everything", "usage": {"prompt_tokens": -5}}).to_string()),
        31 => return (200, String::new(), format!("{{\"choices\": {}{}}}", "[".repeat(50_000), "]".repeat(50_000))),
        32 => return (400, String::new(), json!({"error": {"message": "x".repeat(100_000), "type": "invalid_request_error"}}).to_string()),
        33 => return (302, "location: http://127.0.0.1:1/\r\n".into(), String::new()),
        _ => completion(&content, 50),
    };
    (200, String::new(), body)
}

fn completion(content: &str, tokens: u64) -> String {
    json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_790_000_000u64,
        "model": "fake",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 200, "completion_tokens": tokens, "total_tokens": 200 + tokens}
    })
    .to_string()
}

fn content(request: &Value, p: &Profile) -> String {
    let stage2 = request["response_format"]["json_schema"]["name"].as_str() == Some("persona_stage2")
        || request.to_string().contains("\"persona\": a short portrait");
    let (s, o, poss) = if p.female { ("She", "her", "her") } else { ("He", "him", "his") };
    let name = &p.first_name;
    let age = p.age.map(|a| format!("At {a}, ")).unwrap_or_default();
    let work = if p.working {
        format!("{s} takes pride in {poss} work")
    } else {
        format!("{s} keeps a steady routine at home")
    };
    if stage2 {
        json!({
            "persona": format!("{} is a thoughtful person who knows {poss} neighbours by name. {age}{work}.", p.full_name),
            "professional_persona": format!("{work}, and colleagues and friends rely on {o}."),
            "sports_persona": format!("{name} walks most mornings and follows the local team."),
            "arts_persona": format!("{name} enjoys old films and a good mystery novel."),
            "travel_persona": format!("{name} prefers short road trips to national parks."),
            "culinary_persona": format!("{name} cooks hearty soups and bakes bread on Sundays."),
        })
        .to_string()
    } else {
        json!({
            "cultural_background": format!("{name} grew up in a close family that valued hard work."),
            "skills_and_expertise": format!("{name} is organised, patient and good with people."),
            "skills_and_expertise_list": ["organisation", "patience", "listening"],
            "hobbies_and_interests": format!("{name} gardens, reads and volunteers at the library."),
            "hobbies_and_interests_list": ["gardening", "reading", "volunteering"],
            "career_goals_and_ambitions": format!("{name} hopes to mentor younger people in the community."),
        })
        .to_string()
    }
}
