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
    /// Model name sent with every request.
    pub model: String,
    /// API key (from the file or the environment; never serialized).
    #[serde(skip_serializing)]
    pub api_key: Option<String>,
    /// Name of an environment variable holding the API key (read when the client is built).
    pub api_key_env: Option<String>,
    /// Seconds before a request is abandoned (and retried).
    pub timeout_s: f64,
    /// Most requests in flight at once, for the whole process (the limit adapts below this on 429).
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
    ("PERSONADB_LLM_BASE_URL", "base URL (else OPENAI_BASE_URL)"),
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
            self.base_url = v;
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
        let parsed = reqwest::Url::parse(&self.base_url).ok();
        let has_credentials = parsed.as_ref().is_some_and(|u| !u.username().is_empty() || u.password().is_some());
        let url = match parsed.as_ref().filter(|_| has_credentials) {
            Some(u) => format!("{}://<redacted>@{}", u.scheme(), u.host_str().unwrap_or("")),
            None => crate::error::redact_url_credentials(&self.base_url),
        };
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(invalid(format!("base_url must start with http:// or https://, got `{url}`")));
        }
        if has_credentials || url != self.base_url {
            // Credentials in the URL would be printed in errors and recorded with the run.
            return Err(invalid(format!(
                "base_url must not carry credentials (`{url}`): give the key in PERSONADB_LLM_API_KEY, \
                 OPENAI_API_KEY or `api_key_env`"
            )));
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

    /// The URL of the endpoint, for the shared concurrency limit and messages.
    pub fn endpoint(&self) -> String {
        self.base_url.trim_end_matches('/').to_string()
    }
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
        let no_model = LlmConfig::default();
        assert!(no_model.validate().expect_err("model").to_string().contains("PERSONADB_LLM_MODEL"));
    }
}
