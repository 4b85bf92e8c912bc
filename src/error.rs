//! The engine's error type: one enum whose variants carry what went wrong and where,
//! so the CLI can print a one-line message that names the culprit.

use std::path::PathBuf;

/// Errors from the personadb engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path} is not a personadb database: {reason}")]
    NotADatabase { path: PathBuf, reason: String },

    #[error(
        "database {path} has schema version {found}, newer than this personadb supports ({supported}); upgrade personadb"
    )]
    NewerSchema { path: PathBuf, found: i64, supported: i64 },

    #[error("database {} is read-only here (no permission to write it): it can be queried, not changed", path.display())]
    ReadOnlyDatabase { path: PathBuf },

    #[error("table '{name}' not found")]
    TableNotFound { name: String },

    #[error("table '{name}' already exists")]
    TableExists { name: String },

    #[error("invalid table name '{name}': use letters, digits and underscores, starting with a letter or underscore")]
    InvalidTableName { name: String },

    #[error("unknown locale '{locale}' (available: {available})")]
    UnknownLocale { locale: String, available: String },

    #[error("locale pack '{locale}' is invalid: {reason}")]
    InvalidLocalePack { locale: String, reason: String },

    #[error("evidence '{given}' is impossible: no persona of locale '{locale}' satisfies it")]
    ImpossibleEvidence { locale: String, given: String },

    #[error(
        "rows for table '{table}' repeat the persona with uuid {uuid} (already in the table or twice in this write); nothing was written (the same seed samples the same personas: use another seed)"
    )]
    DuplicateUuid { table: String, uuid: String },

    #[error("invalid argument {name}: {reason}")]
    InvalidArgument { name: String, reason: String },

    #[error("derivation of {source_file} failed: {reason}")]
    Derivation { source_file: String, reason: String },

    #[error("unsupported statement: {0}")]
    Unsupported(String),

    #[error("catalog error in {path}: {source}")]
    Catalog {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("object storage {location}: {doing} failed: {reason}")]
    ObjectStore { location: String, doing: String, reason: String },

    /// A cluster process or request failed (`personadb cluster`, `--cluster df://…`).
    #[error("cluster: {doing} failed: {reason}")]
    Cluster { doing: String, reason: String },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),

    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),

    #[error("lance: {0}")]
    Lance(#[from] lance::Error),
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}

impl From<Error> for datafusion::error::DataFusionError {
    fn from(e: Error) -> Self {
        match e {
            Error::DataFusion(e) => e,
            other => datafusion::error::DataFusionError::External(Box::new(other)),
        }
    }
}

/// Secrets that must never be printed or stored: the API keys in use (registered when an LLM
/// client is configured). Text shown to people or written to the catalog goes through
/// [`redact`].
static SECRETS: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// Registers a secret for [`redact`]. Strings shorter than 12 characters are not registered:
/// they are placeholders (`ollama`, `none`) that would blank out ordinary words, not keys.
pub fn register_secret(secret: &str) {
    let secret = secret.trim();
    if secret.chars().count() < 12 {
        return;
    }
    if let Ok(mut secrets) = SECRETS.write() {
        if !secrets.iter().any(|s| s == secret) {
            secrets.push(secret.to_string());
        }
    }
}

/// `text` with every registered secret replaced by `<redacted>`, and the credentials of any
/// URL (`https://user:key@host`) removed.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    if let Ok(secrets) = SECRETS.read() {
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "<redacted>");
            }
        }
    }
    redact_url_credentials(&out)
}

/// Removes the userinfo part of every URL in `text`: `scheme://user:pw@host` becomes
/// `scheme://<redacted>@host`.
pub fn redact_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        // The authority ends at the first '/', '?', '#' or whitespace; userinfo ends at its last '@'.
        let end = rest.find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace()).unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            out.push_str("<redacted>");
            rest = &rest[at..];
        }
    }
    out.push_str(rest);
    out
}

/// Renders an error chain as one clean line for people: causes already quoted by their parent
/// are not repeated, source-code locations that some dependencies append are dropped, and
/// wrapper prefixes that say nothing ("External error: ") are removed.
pub fn user_message(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        let text = clean(&e.to_string());
        // A cause often restates its parent behind its own prefix ("sql parser error: ...").
        let core = text.split_once(": ").map(|(_, rest)| rest).unwrap_or(&text);
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text) || p.contains(core)) {
            parts.push(text);
        }
        current = e.source();
    }
    cap(&escape_controls(&redact(&parts.join(": "))), MAX_MESSAGE_CHARS)
}

/// The longest error message printed (the rest is cut with an ellipsis).
pub const MAX_MESSAGE_CHARS: usize = 300;

fn cap(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        None => text.to_string(),
        Some((end, _)) if end + 1 >= text.len() => text.to_string(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

/// Names for an error message: all of them when they are few, else the ones nearest to `near`
/// (what the user typed; by edit distance) or the first ones, as many as fit in about 120
/// characters, then "(N more)".
pub fn name_list<S: AsRef<str>>(names: &[S], near: Option<&str>) -> String {
    const BUDGET: usize = 120;
    if names.is_empty() {
        return "none".into();
    }
    let mut order: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    let total: usize = order.iter().map(|n| n.chars().count() + 2).sum();
    if total <= BUDGET {
        return order.join(", ");
    }
    if let Some(near) = near {
        let near = near.to_lowercase();
        order.sort_by_cached_key(|n| edit_distance(&n.to_lowercase(), &near));
    }
    let mut out = String::new();
    let mut shown = 0;
    for n in &order {
        if shown > 0 && out.chars().count() + n.chars().count() + 2 > BUDGET {
            break;
        }
        if shown > 0 {
            out.push_str(", ");
        }
        out.push_str(n);
        shown += 1;
    }
    format!("{out}, … ({} more)", order.len() - shown)
}

/// Levenshtein distance by characters, for "did you mean" lists.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().take(64).collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().take(64).enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// `text` with its control characters other than line breaks written as escapes (`\x1b`,
/// `\u{85}`), so that text from data or a server cannot drive the terminal it is printed on.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return text.to_string();
    }
    text.chars()
        .map(|c| match c {
            '\n' => c.to_string(),
            c if c.is_control() && (c as u32) < 0x80 => format!("\\x{:02x}", c as u32),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The first line of a message (DataFusion appends hints and backtraces on later lines).
pub fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

/// `text` cut to at most `max` characters with an ellipsis, so a huge argument is never
/// echoed back whole.
pub fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((end, _)) => format!("{}… ({} characters)", &text[..end], text.chars().count()),
    }
}

fn clean(text: &str) -> String {
    let mut s = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for noise in ["External error: ", "LanceError(Arrow): ", "LanceError(IO): ", "lance: "] {
        s = s.replace(noise, "");
    }
    // Drop ", /path/file.rs:12:34" location suffixes.
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find(", /") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 2..];
        let end = tail.find(' ').unwrap_or(tail.len());
        let token = tail[..end].trim_end_matches([':', ',']);
        let is_location =
            token.contains(".rs:") && token.rsplit(':').take(2).all(|n| n.chars().all(|c| c.is_ascii_digit()));
        if is_location {
            // The location separated two messages ("a, /x.rs:1:2: b"): keep them apart.
            if tail[..end].ends_with(':') {
                out.push_str(": ");
            }
            rest = tail[end..].trim_start();
        } else {
            out.push_str(", ");
            rest = tail;
        }
    }
    out.push_str(rest);
    // A message repeated back to back ("x: x") collapses to one.
    let parts: Vec<&str> = out.split(": ").collect();
    let mut dedup: Vec<&str> = Vec::new();
    for p in parts {
        let p = p.trim();
        if !p.is_empty() && !dedup.contains(&p) && !dedup.iter().any(|d| d.contains(p) && p.len() > 12) {
            dedup.push(p);
        }
    }
    dedup.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_lists_are_short_and_put_the_nearest_first() {
        assert_eq!(name_list(&["a", "b"], Some("x")), "a, b");
        let many: Vec<String> = (0..40).map(|i| format!("column_{i}")).collect();
        let list = name_list(&many, Some("colum_33"));
        assert!(list.starts_with("column_33, "), "{list}");
        assert!(list.ends_with(" more)") && list.chars().count() < 150, "{list}");
        let message = user_message(&Error::InvalidArgument { name: "x".into(), reason: "y".repeat(1000) });
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS);
        assert!(message.ends_with('…'));
    }

    #[test]
    fn secrets_and_url_credentials_are_redacted() {
        register_secret("sk-test-0123456789abcdef");
        register_secret("abc");
        assert_eq!(
            redact("401: Incorrect API key provided: sk-test-0123456789abcdef. See the docs."),
            "401: Incorrect API key provided: <redacted>. See the docs."
        );
        assert_eq!(redact("abc stays"), "abc stays");
        assert_eq!(
            redact("error sending request for url (https://me:s3cr3t@api.example.com/v1/chat)"),
            "error sending request for url (https://<redacted>@api.example.com/v1/chat)"
        );
        assert_eq!(redact("http://127.0.0.1:8080/v1 and mailto x@y"), "http://127.0.0.1:8080/v1 and mailto x@y");
    }

    #[test]
    fn user_message_drops_locations_and_repeats() {
        let raw = "External error: lance: LanceError(Arrow): Cast error: Cannot cast string 'oops' to value of Int64 type, /rustc/abc/library/core/src/task/poll.rs:291:44: lance: LanceError(Arrow): Cast error: Cannot cast string 'oops' to value of Int64 type, /rustc/abc/library/core/src/task/poll.rs:291:44";
        assert_eq!(clean(raw), "Cast error: Cannot cast string 'oops' to value of Int64 type");
        assert_eq!(clean("table 'x' not found"), "table 'x' not found");
        assert_eq!(clean("a, /not/a/location b"), "a, /not/a/location b");
    }
}
