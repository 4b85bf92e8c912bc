//! The chat client: async-openai over our own transport (so that the status and Retry-After of
//! a failed answer reach us), under the endpoint's shared [`AdaptiveLimit`], with a timeout per
//! request, backoff on 5xx / timeouts / broken connections, and token usage counted.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestSystemMessageContent, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequest, CreateChatCompletionResponse, FinishReason,
};
use serde::Serialize;

use super::limit::AdaptiveLimit;
use super::LlmConfig;
use crate::error::{Error, Result};

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    System(String),
    User(String),
    Assistant(String),
}

/// What to ask.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    /// Sampling seed sent to the server (servers that honour it answer reproducibly).
    pub seed: Option<i64>,
    /// A JSON schema the answer must follow: (name, schema). Ordered, because servers that
    /// enforce a schema with a grammar generate the properties in the schema's order.
    pub schema: Option<(String, Json)>,
}

/// A JSON value whose objects keep their key order when serialized.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Str(String),
    Num(u64),
    Bool(bool),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An object from (key, value) pairs, in order.
    pub fn obj<const N: usize>(pairs: [(&str, Json); N]) -> Json {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
    pub fn str(s: &str) -> Json {
        Json::Str(s.to_string())
    }
}

impl Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Json::Str(s) => serializer.serialize_str(s),
            Json::Num(n) => serializer.serialize_u64(*n),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Arr(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Json::Obj(pairs) => {
                let mut map = serializer.serialize_map(Some(pairs.len()))?;
                for (k, v) in pairs {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// The request body: async-openai's request with our ordered response format.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(flatten)]
    base: &'a CreateChatCompletionRequest,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Json>,
}

/// An answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    /// The answer stopped at `max_tokens` (finish_reason "length").
    pub truncated: bool,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Why a request was given up, after its retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmFailure {
    /// Still rate-limited (429) after the allowed waits.
    RateLimited { waits: u32 },
    /// Server errors (5xx) until retries ran out.
    Server { status: u16, detail: String },
    /// No answer within the timeout, on every attempt.
    Timeout { seconds: u64 },
    /// The connection failed on every attempt.
    Connection(String),
    /// The server refused the request (4xx other than 429): not retried.
    Rejected { status: u16, detail: String },
    /// The answer was not an OpenAI chat completion.
    Protocol(String),
}

impl LlmFailure {
    /// A short category for summaries ("rate_limited", "server_error", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            LlmFailure::RateLimited { .. } => "rate_limited",
            LlmFailure::Server { .. } => "server_error",
            LlmFailure::Timeout { .. } => "timeout",
            LlmFailure::Connection(_) => "connection",
            LlmFailure::Rejected { .. } => "rejected",
            LlmFailure::Protocol(_) => "protocol",
        }
    }
}

impl std::fmt::Display for LlmFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LlmFailure::RateLimited { waits } => write!(f, "still rate-limited (HTTP 429) after {waits} waits"),
            LlmFailure::Server { status, detail } => write!(f, "server error HTTP {status}: {detail}"),
            LlmFailure::Timeout { seconds } => write!(f, "no answer within {seconds} s"),
            LlmFailure::Connection(e) => write!(f, "connection failed: {e}"),
            LlmFailure::Rejected { status, detail } => write!(f, "request refused with HTTP {status}: {detail}"),
            LlmFailure::Protocol(e) => write!(f, "answer is not a chat completion: {e}"),
        }
    }
}

/// Counters of a client's traffic (shared by its clones).
#[derive(Debug, Default)]
pub struct Usage {
    pub requests: AtomicU64,
    pub prompt_tokens: AtomicU64,
    pub completion_tokens: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
    pub timeouts: AtomicU64,
    pub failed: AtomicU64,
    /// Failed attempts (connection, timeout, 5xx, bad answer) of an endpoint.
    pub errors: AtomicU64,
    /// Times an endpoint was taken out of service after a failure.
    pub drains: AtomicU64,
}

/// A snapshot of [`Usage`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct UsageSnapshot {
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub timeouts: u64,
    pub failed: u64,
    #[serde(default)]
    pub errors: u64,
    #[serde(default)]
    pub drains: u64,
}

impl UsageSnapshot {
    /// The sum of two snapshots.
    pub fn plus(&self, other: &UsageSnapshot) -> UsageSnapshot {
        UsageSnapshot {
            requests: self.requests + other.requests,
            prompt_tokens: self.prompt_tokens + other.prompt_tokens,
            completion_tokens: self.completion_tokens + other.completion_tokens,
            retries: self.retries + other.retries,
            rate_limited: self.rate_limited + other.rate_limited,
            timeouts: self.timeouts + other.timeouts,
            failed: self.failed + other.failed,
            errors: self.errors + other.errors,
            drains: self.drains + other.drains,
        }
    }
}

/// The traffic of one endpoint, as recorded with a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EndpointUsage {
    pub url: String,
    #[serde(flatten)]
    pub usage: UsageSnapshot,
}

impl Usage {
    /// Adds traffic counted elsewhere (a cluster's executors).
    pub fn add(&self, s: &UsageSnapshot) {
        let add = |a: &AtomicU64, v: u64| {
            a.fetch_add(v, Ordering::Relaxed);
        };
        add(&self.requests, s.requests);
        add(&self.prompt_tokens, s.prompt_tokens);
        add(&self.completion_tokens, s.completion_tokens);
        add(&self.retries, s.retries);
        add(&self.rate_limited, s.rate_limited);
        add(&self.timeouts, s.timeouts);
        add(&self.failed, s.failed);
        add(&self.errors, s.errors);
        add(&self.drains, s.drains);
    }

    pub fn snapshot(&self) -> UsageSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        UsageSnapshot {
            requests: get(&self.requests),
            prompt_tokens: get(&self.prompt_tokens),
            completion_tokens: get(&self.completion_tokens),
            retries: get(&self.retries),
            rate_limited: get(&self.rate_limited),
            timeouts: get(&self.timeouts),
            failed: get(&self.failed),
            errors: get(&self.errors),
            drains: get(&self.drains),
        }
    }
}

/// A non-success HTTP answer, as our transport reports it through async-openai.
#[derive(Debug)]
struct HttpStatus {
    status: u16,
    retry_after: Option<Duration>,
    body: String,
}

impl std::fmt::Display for HttpStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.body)
    }
}

impl std::error::Error for HttpStatus {}

/// Parses a Retry-After value: delay-seconds (integer or decimal). HTTP dates are not
/// honoured (None: the caller backs off instead).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    v.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
}

/// The transport under async-openai: sends the request once (no hidden retries) and turns a
/// non-success answer into an error that carries its status and Retry-After.
#[derive(Clone)]
struct Transport {
    http: reqwest::Client,
}

type TransportFuture = Pin<Box<dyn Future<Output = std::result::Result<reqwest::Response, OpenAIError>> + Send>>;

impl tower::Service<HttpRequestFactory> for Transport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = TransportFuture;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<std::result::Result<(), OpenAIError>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let http = self.http.clone();
        Box::pin(async move {
            let request = factory.build().await?;
            let response = http.execute(request).await.map_err(OpenAIError::Reqwest)?;
            if response.status().is_success() {
                return Ok(response);
            }
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let mut body = response.text().await.unwrap_or_default();
            if body.len() > 300 {
                let mut end = 300;
                while !body.is_char_boundary(end) {
                    end -= 1;
                }
                body.truncate(end);
                body.push('…');
            }
            Err(OpenAIError::Boxed(Box::new(HttpStatus { status, retry_after, body })))
        })
    }
}

/// One OpenAI-compatible endpoint of a client: its connection, limit, traffic and health.
struct Endpoint {
    url: String,
    openai: async_openai::Client<OpenAIConfig>,
    limit: Arc<AdaptiveLimit>,
    usage: Usage,
    health: std::sync::Mutex<Health>,
}

/// Whether an endpoint takes requests: after a connection failure, a timeout or a 5xx it is
/// drained (no new requests) for 1 s, doubling with each failure in a row up to 60 s, when the
/// client has other endpoints; then requests try it again, and a success puts it back in service.
#[derive(Debug, Default)]
struct Health {
    drained_until: Option<tokio::time::Instant>,
    strikes: u32,
}

impl Endpoint {
    fn available_at(&self) -> Option<tokio::time::Instant> {
        self.health.lock().ok().and_then(|h| h.drained_until)
    }

    fn succeeded(&self) {
        if let Ok(mut h) = self.health.lock() {
            *h = Health::default();
        }
    }

    /// Counts a failed attempt; drains the endpoint when there are others to go to (a lone
    /// endpoint is only backed off).
    fn failed(&self, drain: bool) {
        self.usage.errors.fetch_add(1, Ordering::Relaxed);
        if !drain {
            return;
        }
        if let Ok(mut h) = self.health.lock() {
            h.strikes = h.strikes.saturating_add(1);
            let pause = Duration::from_secs(1u64 << (h.strikes - 1).min(6)).min(Duration::from_secs(60));
            h.drained_until = Some(tokio::time::Instant::now() + pause);
            self.usage.drains.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A chat client for one or several OpenAI-compatible endpoints serving the same model.
#[derive(Clone)]
pub struct LlmClient {
    endpoints: Arc<Vec<Endpoint>>,
    config: Arc<LlmConfig>,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LlmClient({} {})", self.config.endpoints_label(), self.config.model)
    }
}

impl LlmClient {
    /// A client for `config`, each endpoint under its process-wide limit.
    pub fn new(config: LlmConfig) -> Result<Self> {
        config.validate()?;
        let limits = config.endpoints().iter().map(|url| AdaptiveLimit::shared(url, config.max_concurrency)).collect();
        Self::with_limits(config, limits)
    }

    /// A client under a given limit, shared by all its endpoints (tests, benchmarks).
    pub fn with_limit(config: LlmConfig, limit: Arc<AdaptiveLimit>) -> Result<Self> {
        let limits = config.endpoints().iter().map(|_| limit.clone()).collect();
        Self::with_limits(config, limits)
    }

    fn with_limits(config: LlmConfig, limits: Vec<Arc<AdaptiveLimit>>) -> Result<Self> {
        config.validate()?;
        if let Some(key) = &config.api_key {
            // A server may echo the key in an error (OpenAI's 401 does): never print or store it.
            crate::error::register_secret(key);
        }
        let mut endpoints = Vec::new();
        for (url, limit) in config.endpoints().into_iter().zip(limits) {
            let http = reqwest::Client::builder()
                .timeout(config.timeout())
                .pool_max_idle_per_host(config.max_concurrency.max(1))
                .build()
                .map_err(|e| Error::InvalidArgument { name: "LLM client".into(), reason: e.to_string() })?;
            let mut openai_config = OpenAIConfig::new().with_api_base(url.clone());
            if let Some(key) = &config.api_key {
                openai_config = openai_config.with_api_key(key.clone());
            }
            let openai = async_openai::Client::with_config(openai_config).with_http_service(Transport { http });
            endpoints.push(Endpoint { url, openai, limit, usage: Usage::default(), health: Default::default() });
        }
        if endpoints.is_empty() {
            return Err(Error::InvalidArgument { name: "LLM config".into(), reason: "no endpoint".into() });
        }
        Ok(LlmClient { endpoints: Arc::new(endpoints), config: Arc::new(config) })
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// The concurrency limit of the first endpoint.
    pub fn limit(&self) -> &Arc<AdaptiveLimit> {
        &self.endpoints[0].limit
    }

    /// Most requests in flight at once over every endpoint.
    pub fn max_in_flight(&self) -> usize {
        self.endpoints.iter().map(|e| e.limit.max()).sum()
    }

    /// Traffic so far, over every endpoint.
    pub fn usage(&self) -> UsageSnapshot {
        self.endpoints.iter().fold(UsageSnapshot::default(), |total, e| total.plus(&e.usage.snapshot()))
    }

    /// Traffic so far, per endpoint.
    pub fn endpoint_usage(&self) -> Vec<EndpointUsage> {
        self.endpoints.iter().map(|e| EndpointUsage { url: e.url.clone(), usage: e.usage.snapshot() }).collect()
    }

    /// Adds traffic that other clients of the same endpoints counted (a cluster's executors),
    /// each to its endpoint by URL; traffic to an endpoint this client lacks goes to its first.
    pub fn absorb(&self, traffic: &[EndpointUsage]) {
        for t in traffic {
            let endpoint = self.endpoints.iter().find(|e| e.url == t.url).or(self.endpoints.first());
            if let Some(e) = endpoint {
                e.usage.add(&t.usage);
            }
        }
    }

    /// The endpoint for the next request: the least loaded of those in service (in flight over
    /// current limit; ties go round by `turn`), else the one back in service soonest, with the
    /// wait until then.
    fn pick(&self, turn: u64) -> (usize, Option<Duration>) {
        let now = tokio::time::Instant::now();
        let n = self.endpoints.len();
        let mut best: Option<(usize, f64)> = None;
        for k in 0..n {
            let i = (turn as usize).wrapping_add(k) % n;
            let e = &self.endpoints[i];
            if e.available_at().is_some_and(|t| t > now) {
                continue;
            }
            let load = e.limit.in_flight() as f64 / e.limit.current().max(1) as f64;
            if best.is_none_or(|(_, b)| load < b) {
                best = Some((i, load));
            }
        }
        if let Some((i, _)) = best {
            return (i, None);
        }
        let (i, at) = self
            .endpoints
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.available_at().map(|t| (i, t)))
            .min_by_key(|(_, t)| *t)
            .unwrap_or((0, now));
        (i, Some(at.saturating_duration_since(now)))
    }

    /// Whether an endpoint other than `i` is in service now.
    fn other_in_service(&self, i: usize) -> bool {
        let now = tokio::time::Instant::now();
        self.endpoints.iter().enumerate().any(|(j, e)| j != i && e.available_at().is_none_or(|t| t <= now))
    }

    fn build(&self, request: &ChatRequest) -> CreateChatCompletionRequest {
        let messages = request
            .messages
            .iter()
            .map(|m| match m {
                Message::System(t) => ChatCompletionRequestMessage::from(ChatCompletionRequestSystemMessage::from(
                    ChatCompletionRequestSystemMessageContent::Text(t.clone()),
                )),
                Message::User(t) => {
                    ChatCompletionRequestMessage::from(ChatCompletionRequestUserMessage::from(t.as_str()))
                }
                Message::Assistant(t) => {
                    ChatCompletionRequestMessage::from(ChatCompletionRequestAssistantMessage::from(
                        ChatCompletionRequestAssistantMessageContent::Text(t.clone()),
                    ))
                }
            })
            .collect();
        #[allow(deprecated)]
        CreateChatCompletionRequest {
            model: self.config.model.clone(),
            messages,
            seed: request.seed,
            temperature: Some(self.config.temperature),
            max_tokens: Some(self.config.max_tokens),
            ..Default::default()
        }
    }

    fn response_format(&self, request: &ChatRequest) -> Option<Json> {
        match (self.config.structured_output.as_str(), &request.schema) {
            ("json_schema", Some((name, schema))) => Some(Json::obj([
                ("type", Json::str("json_schema")),
                ("json_schema", Json::obj([("name", Json::str(name)), ("schema", schema.clone())])),
            ])),
            ("json_object", Some(_)) => Some(Json::obj([("type", Json::str("json_object"))])),
            _ => None,
        }
    }

    /// Backoff before retry `attempt` (1-based): 0.25 s doubling to 8 s, with jitter that is a
    /// function of the request's seed and the attempt (reproducible, yet spread out).
    fn backoff(seed: i64, attempt: u32) -> Duration {
        let base = 0.25 * 2f64.powi(attempt.saturating_sub(1).min(5) as i32);
        let x = crate::hash::mix64((seed as u64) ^ (attempt as u64).wrapping_mul(crate::hash::GOLDEN_GAMMA));
        let jitter = 0.5 + (x >> 11) as f64 / (1u64 << 53) as f64; // 0.5 .. 1.5
        Duration::from_secs_f64((base * jitter).min(8.0))
    }

    /// Sends a chat request, retrying as configured; the answer's text and token counts.
    pub async fn chat(&self, request: &ChatRequest) -> std::result::Result<Completion, LlmFailure> {
        let base = self.build(request);
        let body = Body { base: &base, response_format: self.response_format(request) };
        let seed = request.seed.unwrap_or(0);
        let mut attempts = 0u32;
        let mut waits = 0u32;
        let cap = Duration::from_secs_f64(self.config.max_retry_after_s);
        // Each endpoint gets the configured retries: a request moves to another endpoint when
        // one fails, and gives up only when it has failed that often everywhere.
        let budget = (self.config.max_retries + 1).saturating_mul(self.endpoints.len() as u32) - 1;
        let mut turn = seed as u64;
        loop {
            let (i, wait) = self.pick(turn);
            turn = turn.wrapping_add(1);
            if let Some(wait) = wait {
                tokio::time::sleep(wait).await;
            }
            let endpoint = &self.endpoints[i];
            let permit = endpoint.limit.acquire().await;
            endpoint.usage.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = tokio::time::timeout(
                self.config.timeout(),
                endpoint.openai.chat().create_byot::<_, CreateChatCompletionResponse>(&body),
            )
            .await;
            let failure = match outcome {
                Ok(Ok(response)) => {
                    endpoint.limit.on_success();
                    endpoint.succeeded();
                    drop(permit);
                    let (prompt, completion) = response
                        .usage
                        .as_ref()
                        .map(|u| (u.prompt_tokens as u64, u.completion_tokens as u64))
                        .unwrap_or((0, 0));
                    endpoint.usage.prompt_tokens.fetch_add(prompt, Ordering::Relaxed);
                    endpoint.usage.completion_tokens.fetch_add(completion, Ordering::Relaxed);
                    let choice = response.choices.into_iter().next();
                    let truncated = choice.as_ref().is_some_and(|c| c.finish_reason == Some(FinishReason::Length));
                    let text = choice.and_then(|c| c.message.content).unwrap_or_default();
                    return Ok(Completion { text, truncated, prompt_tokens: prompt, completion_tokens: completion });
                }
                Err(_) => {
                    drop(permit);
                    endpoint.usage.timeouts.fetch_add(1, Ordering::Relaxed);
                    LlmFailure::Timeout { seconds: self.config.timeout_s.ceil() as u64 }
                }
                Ok(Err(OpenAIError::Boxed(e))) => match e.downcast::<HttpStatus>() {
                    Ok(http) if http.status == 429 => {
                        endpoint.usage.rate_limited.fetch_add(1, Ordering::Relaxed);
                        waits += 1;
                        let wait = http.retry_after.unwrap_or_else(|| Self::backoff(seed, waits)).min(cap);
                        endpoint.limit.on_rate_limited(permit.started, wait);
                        drop(permit);
                        if waits > self.config.max_rate_limit_waits {
                            endpoint.usage.failed.fetch_add(1, Ordering::Relaxed);
                            return Err(LlmFailure::RateLimited { waits: waits - 1 });
                        }
                        // The pause is enforced by the limit for every request.
                        continue;
                    }
                    Ok(http) if http.status >= 500 => {
                        drop(permit);
                        LlmFailure::Server { status: http.status, detail: crate::error::shorten(&http.body, 200) }
                    }
                    Ok(http) => {
                        drop(permit);
                        endpoint.usage.failed.fetch_add(1, Ordering::Relaxed);
                        return Err(LlmFailure::Rejected {
                            status: http.status,
                            detail: crate::error::shorten(&http.body, 200),
                        });
                    }
                    Err(other) => {
                        drop(permit);
                        LlmFailure::Connection(other.to_string())
                    }
                },
                Ok(Err(OpenAIError::Reqwest(e))) => {
                    drop(permit);
                    if e.is_timeout() {
                        endpoint.usage.timeouts.fetch_add(1, Ordering::Relaxed);
                        LlmFailure::Timeout { seconds: self.config.timeout_s.ceil() as u64 }
                    } else {
                        LlmFailure::Connection(error_chain(&e))
                    }
                }
                Ok(Err(OpenAIError::JSONDeserialize(e, _))) => {
                    drop(permit);
                    LlmFailure::Protocol(e.to_string())
                }
                Ok(Err(other)) => {
                    drop(permit);
                    endpoint.usage.failed.fetch_add(1, Ordering::Relaxed);
                    return Err(LlmFailure::Protocol(other.to_string()));
                }
            };
            endpoint.failed(self.endpoints.len() > 1);
            attempts += 1;
            if attempts > budget {
                endpoint.usage.failed.fetch_add(1, Ordering::Relaxed);
                return Err(failure);
            }
            endpoint.usage.retries.fetch_add(1, Ordering::Relaxed);
            if !self.other_in_service(i) {
                tokio::time::sleep(Self::backoff(seed, attempts)).await;
            }
        }
    }
}

/// An error with its sources, on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_and_backoff() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        for attempt in 1..10 {
            let d = LlmClient::backoff(42, attempt);
            assert!(d <= Duration::from_secs(8) && d >= Duration::from_millis(125), "{d:?}");
            assert_eq!(d, LlmClient::backoff(42, attempt));
        }
        assert!(LlmClient::backoff(1, 3) > LlmClient::backoff(1, 1));
    }
}
