//! Talking to an OpenAI-compatible LLM server: configuration, the adaptive process-wide
//! concurrency limit, and a chat client with timeouts, retries and token accounting.

pub mod client;
pub mod config;
pub mod limit;

pub use client::{ChatRequest, Completion, EndpointUsage, Json, LlmClient, LlmFailure, Message, UsageSnapshot};
pub use config::LlmConfig;
pub use limit::AdaptiveLimit;
