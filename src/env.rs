//! Settings that `./setup.sh` records for personadb (the ONNX Runtime library, the embedding
//! model, the Python with the test LLM server) in `$PERSONADB_HOME/env` (default
//! `~/.cache/personadb/env`), read here so that plain `cargo test` and the binary find them
//! without sourcing anything. A variable set in the environment wins over the file.

use std::path::PathBuf;

/// The folder `./setup.sh` installs into.
pub fn home() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("PERSONADB_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(h));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("personadb"))
}

/// The value of setting `name`: the environment variable, else the line `name=value` of the
/// setup's env file.
pub fn setting(name: &str) -> Option<String> {
    if let Ok(v) = std::env::var(name) {
        if !v.is_empty() {
            return Some(v);
        }
    }
    let text = std::fs::read_to_string(home()?.join("env")).ok()?;
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}
