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

/// Lets Lance decode on every core. Lance sizes its decode pool as the number of cores less
/// `LANCE_IO_CORE_RESERVATION` (default 2, kept for object-store I/O): on a 2-core machine it
/// decodes with one thread, and a scan of 1M rows waits on it (the analytic benchmark's median
/// ratio to DuckDB went from 2.75 to 2.47 with none reserved). personadb reads local files, so
/// unless the user set `LANCE_IO_CORE_RESERVATION` or `LANCE_CPU_THREADS`, none is reserved.
///
/// Call it first thing in `main`, before any thread starts: it sets a process environment
/// variable, which Lance reads once.
pub fn lance_decode_on_every_core() {
    if std::env::var_os("LANCE_IO_CORE_RESERVATION").is_none() && std::env::var_os("LANCE_CPU_THREADS").is_none() {
        std::env::set_var("LANCE_IO_CORE_RESERVATION", "0");
    }
}
