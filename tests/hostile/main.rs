//! Hostile inputs, generated from a seed: well over 1,000 of them, over every SQL function's
//! arguments, hostile statements (COPY targets, table names, settings, inserts), `search --where`
//! filters, `given` expressions, locale pack files (network, tables, templates, lexicons) and
//! LLM answers. Each must end in a result or a clean error — one line of at most 300
//! characters, naming no source file of ours or of a dependency — and:
//! - no panic, even one that something catches (a panic hook counts them all);
//! - no abort (the test process would die) and no hang (a watchdog ends the run, naming the
//!   input, when one input takes more than two minutes);
//! - nothing lost: the table the inputs aim at keeps its rows and distinct uuids, inserted rows
//!   get uuids of their own, and the database still opens and passes `check`.
//!
//! The inputs are deterministic; `PERSONADB_HOSTILE_SEED=<n>` draws another set and
//! `PERSONADB_HOSTILE_SCALE=<k>` draws k times as many; `PERSONADB_HOSTILE_VERBOSE=1` prints
//! each input before it runs (to name the one that aborts).

#[path = "../support/mod.rs"]
mod support;

mod llm;
mod packs;
mod search;
mod sql;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use personadb::error::user_message;
use personadb::model::Encoding;
use personadb::search::SearchQuery;
use personadb::{Database, GenerateOptions, PersonaSession};
use support::fake_llm::{Action, FakeLlm, HOSTILE_ANSWERS};

// ---------------------------------------------------------------------------------------------
// The harness: panic counter, watchdog, error checks.

static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info)
        }));
    });
}

/// Ends the test process, naming the input, when one input runs longer than `LIMIT`.
struct Watchdog {
    current: Arc<Mutex<Option<(Instant, String)>>>,
}

const LIMIT: Duration = Duration::from_secs(120);

impl Watchdog {
    fn start() -> Watchdog {
        let current: Arc<Mutex<Option<(Instant, String)>>> = Arc::default();
        let watched = Arc::downgrade(&current);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            let Some(current) = watched.upgrade() else { return };
            let guard = current.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((started, input)) = guard.as_ref() {
                if started.elapsed() > LIMIT {
                    eprintln!("HANG: more than {LIMIT:?} on hostile input: {}", shorten(input));
                    std::process::exit(3);
                }
            }
        });
        Watchdog { current }
    }

    fn watch(&self, input: &str) {
        if std::env::var_os("PERSONADB_HOSTILE_VERBOSE").is_some() {
            eprintln!("input: {}", shorten(input));
        }
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), input.to_string()));
    }

    fn done(&self) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// What a run of one kind of input found.
#[derive(Default)]
struct Tally {
    inputs: usize,
    ok: usize,
    errors: usize,
    bad: Vec<String>,
    slowest: (Duration, String),
}

impl Tally {
    fn record(&mut self, input: &str, took: Duration, outcome: Result<(), String>) {
        self.inputs += 1;
        if took > self.slowest.0 {
            self.slowest = (took, shorten(input));
        }
        match outcome {
            Ok(()) => self.ok += 1,
            Err(message) => {
                self.errors += 1;
                if let Some(why) = unclean(&message) {
                    self.bad.push(format!("{why}: input {} -> {}", shorten(input), shorten(&message)));
                }
            }
        }
    }

    fn finish(self, what: &str, at_least: usize) {
        eprintln!(
            "{what}: {} inputs, {} results, {} clean errors, slowest {:.2?} ({}), panics so far {}",
            self.inputs,
            self.ok,
            self.errors - self.bad.len(),
            self.slowest.0,
            self.slowest.1,
            PANICS.load(Ordering::SeqCst)
        );
        assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a hostile input made something panic (see the log above)");
        assert!(self.bad.is_empty(), "{} unclean errors:\n{}", self.bad.len(), self.bad.join("\n"));
        assert!(self.inputs >= at_least, "{what}: only {} inputs", self.inputs);
    }
}

/// Why an error message is not clean, if it is not.
fn unclean(message: &str) -> Option<&'static str> {
    if message.trim().is_empty() {
        Some("empty error")
    } else if message.contains('\n') || message.contains('\r') {
        Some("error of more than one line")
    } else if message.chars().count() > 300 {
        Some("error longer than 300 characters")
    } else if message.contains(".rs:") || message.contains("/.cargo/") || message.contains("/registry/") {
        Some("error naming a source file")
    } else if message.contains("panicked")
        || message.contains("bug in DataFusion")
        || message.contains("Please help us")
    {
        Some("error reporting a bug")
    } else if message.chars().any(|c| c.is_control()) {
        Some("error with control characters")
    } else {
        None
    }
}

fn shorten(text: &str) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { '·' } else { c }).collect();
    personadb::error::shorten(&flat, 160)
}

fn message(e: &personadb::Error) -> String {
    user_message(e)
}

// ---------------------------------------------------------------------------------------------
// Deterministic generation.

struct Rng(u64);

impl Rng {
    fn new(stream: u64) -> Rng {
        let seed = std::env::var("PERSONADB_HOSTILE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261124u64);
        Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn scale() -> usize {
    std::env::var("PERSONADB_HOSTILE_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1).max(1)
}

fn quote(text: impl AsRef<str>) -> String {
    format!("'{}'", text.as_ref().replace('\'', "''"))
}

/// Text a user, a file or a server might send where a name or words are expected.
fn hostile_text(r: &mut Rng) -> String {
    match r.below(24) {
        0 => String::new(),
        1 => " ".into(),
        2 => "a".repeat(1 + r.below(200_000)),
        3 => "'; DROP TABLE personas; --".into(),
        4 => "personas\"; DROP TABLE personas; --".into(),
        5 => "../../../../etc/passwd".into(),
        6 => "\u{202e}lanoisrep".into(),
        7 => "日本語のテキスト".into(),
        8 => "nul\u{0}byte".into(),
        9 => "\u{1b}[31mred\u{1b}[0m\u{7}".into(),
        10 => "%".into(),
        11 => "_".into(),
        12 => "\\".into(),
        13 => "NULL".into(),
        14 => "1e309".into(),
        15 => "persona_embedding".into(),
        16 => "personas".into(),
        17 => "{first_name} {{persona}} ${HOME} %s %n".into(),
        18 => "🧑‍⚕️ nurse 👩🏽‍🌾".into(),
        19 => "nurse\r\nsecond line".into(),
        20 => "x".repeat(64 + r.below(300)),
        21 => "catalog.sqlite".into(),
        22 => "personas.lance".into(),
        _ => "retired nurse who loves gardening".into(),
    }
}

/// A SQL expression a user might put where a literal is expected.
fn hostile_literal(r: &mut Rng) -> String {
    match r.below(10) {
        0 => r
            .pick(&[
                "0",
                "-1",
                "1",
                "-9223372036854775808",
                "9223372036854775807",
                "9223372036854775808",
                "4294967296",
                "1000000000",
                "100000001",
                "2147483648",
            ])
            .to_string(),
        1 => r
            .pick(&[
                "0.5",
                "-0.0",
                "1e308",
                "CAST('NaN' AS DOUBLE)",
                "CAST('inf' AS DOUBLE)",
                "-1e308",
                "1.5e-320",
                "3.7",
            ])
            .to_string(),
        2 | 3 => quote(&hostile_text(r)),
        4 => r.pick(&["NULL", "CAST(NULL AS BIGINT)", "CAST(NULL AS VARCHAR)", "CAST(NULL AS DOUBLE)"]).to_string(),
        5 => match r.below(7) {
            0 => "[]".into(),
            1 => "[1.0, NULL]".into(),
            2 => "make_array(1.0, 2.0)".into(),
            3 => "['a', 'b']".into(),
            4 => "make_array(CAST(NULL AS DOUBLE))".into(),
            5 => format!("[{}]", vec!["0.25"; 1 + r.below(10_000)].join(", ")),
            _ => "[[1.0], [2.0]]".into(),
        },
        6 => {
            let depth = 1 + r.below(3_000);
            format!("{}1{}", "(".repeat(depth), ")".repeat(depth))
        }
        7 => {
            let terms = 2 + r.below(5_000);
            vec!["1"; terms].join(if r.chance(0.5) { " + " } else { " * " })
        }
        8 => {
            let terms = 2 + r.below(3_000);
            format!("({})", vec!["age = 30"; terms].join(" OR "))
        }
        _ => r
            .pick(&[
                "(SELECT 1)",
                "(SELECT count(*) FROM personas)",
                "1/0",
                "age",
                "uuid",
                "random()",
                "now()",
                "abs(-3)",
                "'us' || ''",
                "persona_embedding",
                "nope_column",
                "*",
            ])
            .to_string(),
    }
}

/// Values seen in each column of a table or a locale's sample, for expressions that reach deep.
#[derive(Default)]
struct Pools {
    strings: Vec<(String, Vec<String>)>,
    ints: Vec<(String, Vec<i64>)>,
}

impl Pools {
    fn of(batches: &[arrow::record_batch::RecordBatch]) -> Pools {
        let mut strings: HashMap<String, Vec<String>> = HashMap::new();
        let mut ints: HashMap<String, Vec<i64>> = HashMap::new();
        for b in batches {
            let cast = |c: &dyn Array, t: &DataType| arrow::compute::cast(c, t).ok();
            for (field, column) in b.schema().fields().iter().zip(b.columns()) {
                match field.data_type() {
                    DataType::Int64 | DataType::Int32 | DataType::Int16 | DataType::UInt8 | DataType::UInt16 => {
                        if let Some(c) = cast(column.as_ref(), &DataType::Int64) {
                            let v = c.as_primitive::<arrow::datatypes::Int64Type>();
                            ints.entry(field.name().clone()).or_default().extend(v.iter().flatten());
                        }
                    }
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _) => {
                        if let Some(c) = cast(column.as_ref(), &DataType::Utf8) {
                            let v = c.as_string::<i32>();
                            // Narratives are long; a few words of them are enough.
                            strings
                                .entry(field.name().clone())
                                .or_default()
                                .extend(v.iter().flatten().take(64).map(|s| s.chars().take(40).collect::<String>()));
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut strings: Vec<_> = strings.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        let mut ints: Vec<_> = ints.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        strings.sort();
        ints.sort();
        Pools { strings, ints }
    }

    fn column(&self, r: &mut Rng) -> String {
        if !self.ints.is_empty() && (self.strings.is_empty() || r.chance(0.3)) {
            r.pick(&self.ints).0.clone()
        } else {
            r.pick(&self.strings).0.clone()
        }
    }

    /// A predicate over one column: usually well formed with a value the column has.
    fn leaf(&self, r: &mut Rng) -> String {
        if r.chance(0.12) {
            return r
                .pick(&[
                    "nope_column = 1",
                    "age >",
                    ")",
                    "((",
                    "age = 1e400",
                    "age = 9223372036854775808",
                    "age > 'abc'",
                    "1=1; DROP TABLE personas",
                    "1=1 LIMIT 1; DROP TABLE personas; SELECT 1 AS _distance WHERE 1=1",
                    "lower(state) = 'ca'",
                    "age + 1 > 30",
                    "(SELECT 1) = 1",
                    "age IN (SELECT age FROM personas)",
                    "sex = 'F' -- comment",
                    "sex = 'F' /* open comment",
                    "true",
                    "NULL",
                    "age BETWEEN 'a' AND 3",
                    "state LIKE '%%%%%%%%%%%%%%%%%%%%_'",
                    "age = age",
                    "\u{0}",
                    "",
                    "COPY (SELECT 1) TO '/tmp/x.csv'",
                ])
                .to_string();
        }
        if !self.ints.is_empty() && (self.strings.is_empty() || r.chance(0.35)) {
            let (name, values) = r.pick(&self.ints);
            let v = *r.pick(values);
            match r.below(5) {
                0 => format!("{name} {} {v}", r.pick(&["=", "!=", "<", ">", "<=", ">=", "<>"])),
                1 => format!("{name} BETWEEN {} AND {}", v - r.below(10) as i64, v + r.below(10) as i64),
                2 => format!("{name} IN ({v}, {})", r.pick(values)),
                3 => format!("{name} IS NOT NULL"),
                _ => format!("NOT ({name} = {v})"),
            }
        } else {
            let (name, values) = r.pick(&self.strings);
            let v = quote(r.pick(values));
            match r.below(5) {
                0 => format!("{name} {} {v}", r.pick(&["=", "!=", "<", ">="])),
                1 => format!("{name} IN ({v}, {})", quote(r.pick(values))),
                2 => format!(
                    "{name} LIKE {}",
                    quote(&format!("{}%", r.pick(values).chars().take(3).collect::<String>()))
                ),
                3 => format!("{name} = {}", quote(&hostile_text(r))),
                _ => format!("{name} IS NULL"),
            }
        }
    }

    /// A boolean expression: nested ANDs and ORs of leaves, sometimes enormous.
    fn expression(&self, r: &mut Rng, depth: usize) -> String {
        match r.below(20) {
            0 => {
                let n = 2 + r.below(3_000);
                (0..n).map(|_| self.leaf(r)).collect::<Vec<_>>().join(" OR ")
            }
            1 => {
                let d = 1 + r.below(2_000);
                format!("{}{}{}", "(".repeat(d), self.leaf(r), ")".repeat(d))
            }
            2 if depth > 0 => format!("NOT ({})", self.expression(r, depth - 1)),
            3..=7 if depth > 0 => format!(
                "({}) {} ({})",
                self.expression(r, depth - 1),
                r.pick(&["AND", "OR"]),
                self.expression(r, depth - 1)
            ),
            8..=10 => format!("{} AND {}", self.leaf(r), self.leaf(r)),
            _ => self.leaf(r),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A database to aim at.

struct Target {
    _dir: tempfile::TempDir,
    root: PathBuf,
    db: Arc<Database>,
    rows: usize,
}

const PERSONAS: usize = 200;

async fn target() -> Target {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_path_buf();
    let db = Database::open(root.join("db")).expect("open");
    let options = GenerateOptions::new("us", PERSONAS as u64)
        .seed(3)
        .narrator(Some(personadb::narrate::NarratorKind::Template))
        .embed(vec!["persona".into()]);
    personadb::generate(&db, &options).await.expect("generate");
    let session = PersonaSession::new(db.clone()).expect("session");
    session.sql("CREATE TABLE scratch AS SELECT * FROM sample_persona(20, 'us', 5)").await.expect("scratch");
    // For statements that may legitimately destroy a table's rows.
    session.sql("CREATE TABLE victim AS SELECT * FROM sample_persona(5, 'us', 6)").await.expect("victim");
    std::fs::create_dir_all(root.join("out")).expect("out");
    std::fs::write(root.join("out/file.csv"), "a\n1\n").expect("file");
    Target { _dir: dir, root, db, rows: PERSONAS }
}

impl Target {
    fn dir(&self) -> &Path {
        self.db.dir()
    }

    /// The personas are all there, each once, and the database opens and checks clean.
    async fn intact(&self, after: &str) {
        let db =
            Database::open(self.dir()).unwrap_or_else(|e| panic!("after {after}: the database no longer opens: {e}"));
        let session = PersonaSession::new(db).expect("session");
        let batches = session
            .sql("SELECT count(*), count(DISTINCT uuid) FROM personas")
            .await
            .unwrap_or_else(|e| panic!("after {after}: personas unreadable: {e}"));
        let count = batches[0].column(0).as_primitive::<arrow::datatypes::Int64Type>().value(0);
        let distinct = batches[0].column(1).as_primitive::<arrow::datatypes::Int64Type>().value(0);
        assert_eq!((count, distinct), (self.rows as i64, self.rows as i64), "after {after}: personas changed");
        let batches = session.sql("SELECT count(*), count(DISTINCT uuid) FROM scratch").await.expect("scratch");
        let count = batches[0].column(0).as_primitive::<arrow::datatypes::Int64Type>().value(0);
        let distinct = batches[0].column(1).as_primitive::<arrow::datatypes::Int64Type>().value(0);
        assert_eq!(count, distinct, "after {after}: scratch has duplicate uuids");
        assert!(count >= 20, "after {after}: scratch lost rows");
        let report = personadb::check::check(self.dir(), false).await.expect("check");
        assert!(
            report.findings.is_empty(),
            "after {after}: check finds {:?}",
            report.findings.iter().map(|f| f.problem.clone()).collect::<Vec<_>>()
        );
    }
}

async fn run_sql(session: &PersonaSession, sql: &str) -> Result<(), String> {
    session.sql(sql).await.map(|_| ()).map_err(|e| message(&e))
}
