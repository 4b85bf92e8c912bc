//! Where the LLM is and how to talk to it: a JSON config file and/or environment variables.
//! The API key is read from the environment or the file and never written anywhere: it is
//! not serialized (runs record their config without it) and `Debug` shows it redacted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Settings of the LLM narrator's client.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// Base URL of an OpenAI-compatible API, e.g. `https://api.openai.com/v1` or
    /// `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// Several endpoints serving the same model (vLLM / NIM / llama.cpp servers): when given,
    /// used instead of `base_url`. Each has its own adaptive limit of `max_concurrency`;
    /// requests go to the least loaded, and an endpoint that fails is drained and tried again
    /// later.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub base_urls: Vec<String>,
    /// Model name sent with every request.
    pub model: String,
    /// API key (from the file or the environment; never serialized).
    #[serde(skip_serializing)]
    pub api_key: Option<String>,
    /// Name of an environment variable holding the API key (read when the client is built).
    pub api_key_env: Option<String>,
    /// Seconds before a request is abandoned (and retried).
    pub timeout_s: f64,
    /// Most requests in flight at once per endpoint, for the whole process (the limit adapts
    /// below this on 429).
    pub max_concurrency: usize,
    /// Retries of a request after a 5xx answer, a timeout or a broken connection.
    pub max_retries: u32,
    /// Waits after 429 answers before a request is given up.
    pub max_rate_limit_waits: u32,
    /// Longest Retry-After honoured, in seconds (longer ones are capped to this).
    pub max_retry_after_s: f64,
    /// Times a persona is asked again after an answer fails validation.
    pub max_reasks: u32,
    /// Sampling temperature.
    pub temperature: f32,
    /// Most tokens per answer.
    pub max_tokens: u32,
    /// Longest narrative field, in characters (part of the JSON schema sent to the server).
    pub max_field_chars: u32,
    /// How answers are constrained to JSON: `json_schema` (the server enforces the schema),
    /// `json_object`, or `none` (the prompt alone asks for JSON).
    pub structured_output: String,
    /// Folder of prompt templates (`system.txt`, `stage1.txt`, `stage2.txt`, `reask.txt`)
    /// replacing the built-in ones.
    pub prompts: Option<PathBuf>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: "http://127.0.0.1:8080/v1".into(),
            base_urls: Vec::new(),
            model: String::new(),
            api_key: None,
            api_key_env: None,
            timeout_s: 120.0,
            max_concurrency: 16,
            max_retries: 4,
            max_rate_limit_waits: 20,
            max_retry_after_s: 120.0,
            max_reasks: 2,
            temperature: 0.7,
            max_tokens: 1024,
            max_field_chars: 600,
            structured_output: "json_schema".into(),
            prompts: None,
        }
    }
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("base_urls", &self.base_urls)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("api_key_env", &self.api_key_env)
            .field("timeout_s", &self.timeout_s)
            .field("max_concurrency", &self.max_concurrency)
            .field("max_retries", &self.max_retries)
            .field("max_reasks", &self.max_reasks)
            .field("structured_output", &self.structured_output)
            .field("prompts", &self.prompts)
            .finish_non_exhaustive()
    }
}

/// Environment variables read by [`LlmConfig::load`] (they override the config file).
pub const ENV_VARS: [(&str, &str); 7] = [
    ("PERSONADB_LLM_CONFIG", "path of a JSON config file"),
    ("PERSONADB_LLM_BASE_URL", "base URL, or several separated by commas (else OPENAI_BASE_URL)"),
    ("PERSONADB_LLM_MODEL", "model name"),
    ("PERSONADB_LLM_API_KEY", "API key (else OPENAI_API_KEY)"),
    ("PERSONADB_LLM_CONCURRENCY", "most requests in flight"),
    ("PERSONADB_LLM_TIMEOUT_S", "per-request timeout in seconds"),
    ("PERSONADB_LLM_PROMPTS", "folder of prompt templates"),
];

fn invalid(reason: String) -> Error {
    Error::InvalidArgument { name: "LLM config".into(), reason }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl LlmConfig {
    /// The config file `file` (else `$PERSONADB_LLM_CONFIG`, else defaults), then the
    /// environment variables of [`ENV_VARS`] on top; validated.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        let file = file.map(Path::to_path_buf).or_else(|| env("PERSONADB_LLM_CONFIG").map(PathBuf::from));
        let mut config = match &file {
            Some(path) => Self::from_file(path)?,
            None => LlmConfig::default(),
        };
        config.apply_env()?;
        config.resolve_key();
        config.validate()?;
        Ok(config)
    }

    /// Reads a JSON config file (unknown keys are an error, so typos do not pass silently).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| invalid(format!("{}: {e}", path.display())))
    }

    fn apply_env(&mut self) -> Result<()> {
        if let Some(v) = env("PERSONADB_LLM_BASE_URL").or_else(|| env("OPENAI_BASE_URL")) {
            let urls: Vec<String> = v.split(',').map(|u| u.trim().to_string()).filter(|u| !u.is_empty()).collect();
            match urls.as_slice() {
                [one] => {
                    self.base_url = one.clone();
                    self.base_urls.clear();
                }
                _ => self.base_urls = urls,
            }
        }
        if let Some(v) = env("PERSONADB_LLM_MODEL") {
            self.model = v;
        }
        if let Some(v) = env("PERSONADB_LLM_CONCURRENCY") {
            self.max_concurrency = v
                .parse()
                .map_err(|_| invalid(format!("PERSONADB_LLM_CONCURRENCY must be a whole number, got `{v}`")))?;
        }
        if let Some(v) = env("PERSONADB_LLM_TIMEOUT_S") {
            self.timeout_s =
                v.parse().map_err(|_| invalid(format!("PERSONADB_LLM_TIMEOUT_S must be a number, got `{v}`")))?;
        }
        if let Some(v) = env("PERSONADB_LLM_PROMPTS") {
            self.prompts = Some(PathBuf::from(v));
        }
        Ok(())
    }

    /// Fills in the API key from the environment when the file did not give one:
    /// `api_key_env`, then PERSONADB_LLM_API_KEY, then OPENAI_API_KEY.
    pub fn resolve_key(&mut self) {
        if let Some(key) = env("PERSONADB_LLM_API_KEY") {
            self.api_key = Some(key);
        }
        if self.api_key.is_none() {
            self.api_key = self.api_key_env.as_deref().and_then(env).or_else(|| env("OPENAI_API_KEY"));
        }
        if let Some(key) = &self.api_key {
            crate::error::register_secret(key);
        }
    }

    /// Checks every setting, naming the first one that is wrong.
    pub fn validate(&self) -> Result<()> {
        let key = if self.base_urls.is_empty() { "base_url" } else { "base_urls" };
        let mut seen = std::collections::HashSet::new();
        for base_url in self.endpoints() {
            check_url(key, &base_url)?;
            if !seen.insert(base_url.clone()) {
                return Err(invalid(format!("{key} names `{base_url}` twice")));
            }
        }
        if self.model.trim().is_empty() {
            return Err(invalid(
                "no model: set PERSONADB_LLM_MODEL or `model` in the config file (PERSONADB_LLM_CONFIG)".into(),
            ));
        }
        if !(self.timeout_s.is_finite() && self.timeout_s > 0.0) {
            return Err(invalid(format!("timeout_s must be a positive number of seconds, got {}", self.timeout_s)));
        }
        if self.max_concurrency == 0 {
            return Err(invalid("max_concurrency must be at least 1".into()));
        }
        if !(self.max_retry_after_s.is_finite() && self.max_retry_after_s >= 0.0) {
            return Err(invalid(format!("max_retry_after_s must be ≥ 0, got {}", self.max_retry_after_s)));
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            return Err(invalid(format!("temperature must be between 0 and 2, got {}", self.temperature)));
        }
        if self.max_tokens == 0 {
            return Err(invalid("max_tokens must be at least 1".into()));
        }
        if self.max_field_chars < 20 {
            return Err(invalid(format!("max_field_chars must be at least 20, got {}", self.max_field_chars)));
        }
        if !["json_schema", "json_object", "none"].contains(&self.structured_output.as_str()) {
            return Err(invalid(format!(
                "structured_output must be json_schema, json_object or none, got `{}`",
                self.structured_output
            )));
        }
        Ok(())
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_s)
    }

    /// The URL of the (first) endpoint.
    pub fn endpoint(&self) -> String {
        self.endpoints().into_iter().next().unwrap_or_default()
    }

    /// The URLs of every endpoint, without trailing slashes.
    pub fn endpoints(&self) -> Vec<String> {
        let urls: Vec<&String> =
            if self.base_urls.is_empty() { vec![&self.base_url] } else { self.base_urls.iter().collect() };
        urls.into_iter().map(|u| u.trim().trim_end_matches('/').to_string()).collect()
    }

    /// The endpoints for messages: one URL, or the URLs separated by commas.
    pub fn endpoints_label(&self) -> String {
        self.endpoints().join(", ")
    }
}

/// Refuses a base URL that is not http(s) or carries credentials (they would be printed in
/// errors and recorded with the run).
fn check_url(key: &str, base_url: &str) -> Result<()> {
    let parsed = reqwest::Url::parse(base_url).ok();
    let has_credentials = parsed.as_ref().is_some_and(|u| !u.username().is_empty() || u.password().is_some());
    let url = match parsed.as_ref().filter(|_| has_credentials) {
        Some(u) => format!("{}://<redacted>@{}", u.scheme(), u.host_str().unwrap_or("")),
        None => crate::error::redact_url_credentials(base_url),
    };
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(invalid(format!("{key} must start with http:// or https://, got `{url}`")));
    }
    if has_credentials || url != base_url {
        return Err(invalid(format!(
            "{key} must not carry credentials (`{url}`): give the key in PERSONADB_LLM_API_KEY, \
             OPENAI_API_KEY or `api_key_env`"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_never_serialized_or_shown() {
        let config = LlmConfig { model: "m".into(), api_key: Some("sk-secret".into()), ..LlmConfig::default() };
        let json = serde_json::to_string(&config).expect("json");
        assert!(!json.contains("sk-secret"), "{json}");
        assert!(!format!("{config:?}").contains("sk-secret"));
        let back: LlmConfig = serde_json::from_str(&json).expect("parse");
        assert_eq!(back.api_key, None);
        assert_eq!(back.model, "m");
    }

    #[test]
    fn file_errors_name_the_problem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("llm.json");
        std::fs::write(&path, r#"{"modle": "x"}"#).expect("write");
        let err = LlmConfig::from_file(&path).expect_err("typo").to_string();
        assert!(err.contains("modle"), "{err}");
        let bad = LlmConfig { model: "m".into(), base_url: "localhost:8080".into(), ..LlmConfig::default() };
        assert!(bad.validate().expect_err("url").to_string().contains("base_url"));
        let bad = LlmConfig { model: "m".into(), structured_output: "xml".into(), ..LlmConfig::default() };
        assert!(bad.validate().expect_err("format").to_string().contains("structured_output"));
        let twice = LlmConfig {
            model: "m".into(),
            base_urls: vec!["http://a:1/v1".into(), "http://a:1/v1/".into()],
            ..LlmConfig::default()
        };
        assert!(twice.validate().expect_err("twice").to_string().contains("twice"));
        let bad = LlmConfig {
            model: "m".into(),
            base_urls: vec!["http://a:1/v1".into(), "ftp://b/v1".into()],
            ..LlmConfig::default()
        };
        assert!(bad.validate().expect_err("scheme").to_string().contains("base_urls must start"));
        let two = LlmConfig {
            model: "m".into(),
            base_urls: vec!["http://a:1/v1/".into(), "http://b:2/v1".into()],
            ..LlmConfig::default()
        };
        two.validate().expect("two endpoints");
        assert_eq!(two.endpoints(), ["http://a:1/v1", "http://b:2/v1"]);
        let no_model = LlmConfig::default();
        assert!(no_model.validate().expect_err("model").to_string().contains("PERSONADB_LLM_MODEL"));
    }
}
