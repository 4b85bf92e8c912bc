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

mod support;

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

// ---------------------------------------------------------------------------------------------
// SQL functions and statements.

/// Each SQL function with arguments that work, so that replacing some of them reaches deep.
const FUNCTIONS: &[(&str, bool, &[&str])] = &[
    ("sample_persona", true, &["5", "'us'", "42", "'age BETWEEN 30 AND 45'"]),
    ("stratified_sample", true, &["'personas'", "'sex'", "10", "7", "'equal'"]),
    ("semantic_search", true, &["'personas'", "'persona_embedding'", "'retired nurse'", "3"]),
    ("text_search", true, &["'personas'", "'persona'", "'nurse gardening'", "3"]),
    ("hybrid_search", true, &["'personas'", "'persona'", "'retired nurse'", "3"]),
    (
        "generate_narrative",
        false,
        &[
            "'persona'",
            "7",
            "uuid",
            "first_name",
            "last_name",
            "sex",
            "age",
            "city",
            "state",
            "occupation",
            "employment_status",
        ],
    ),
    ("embed", false, &["persona"]),
    ("cosine_distance", false, &["[1.0, 0.0]", "[0.0, 1.0]"]),
    ("l2_distance", false, &["[1.0, 0.0]", "[0.0, 1.0]"]),
];

fn function_call(r: &mut Rng) -> String {
    let (name, table, valid) = *r.pick(FUNCTIONS);
    let mut args: Vec<String> = valid.iter().map(|a| a.to_string()).collect();
    if r.chance(0.25) {
        // Too few or too many arguments.
        let n = (valid.len() as i64 + r.below(5) as i64 - 2).max(0) as usize;
        args.resize_with(n, || "1".to_string());
    }
    let p = 0.2 + 0.4 * (r.below(3) as f64 / 2.0);
    for a in args.iter_mut() {
        if r.chance(p) {
            *a = hostile_literal(r);
        }
    }
    // Locales and allocations are worth trying by name.
    if name == "sample_persona" && args.len() > 1 && r.chance(0.3) {
        args[1] = quote(r.pick(&["br", "sg", "in", "jp", "en_US", "pt_BR", "hi_Deva_IN", "US", "xx", "../us"]));
    }
    let call = format!("{name}({})", args.join(", "));
    if table {
        match r.below(6) {
            0 => format!("SELECT count(*) FROM (SELECT * FROM {call} LIMIT 5) t"),
            1 => format!("EXPLAIN SELECT * FROM {call}"),
            _ => format!("SELECT * FROM {call} LIMIT 5"),
        }
    } else {
        match r.below(4) {
            0 => format!("SELECT {call} AS v"),
            _ => format!("SELECT {call} AS v FROM (SELECT * FROM personas LIMIT 2) t"),
        }
    }
}

fn hostile_statement(r: &mut Rng, root: &Path, db: &Path) -> String {
    let path = |p: &Path| quote(&p.display().to_string());
    match r.below(8) {
        0 | 1 => {
            let target = match r.below(14) {
                0 => path(&db.join("catalog.sqlite")),
                1 => path(&db.join("personas.lance/_versions/1.manifest")),
                2 => path(&db.join("personas.lance")),
                3 => path(db),
                4 => path(&db.join("new.csv")),
                5 => path(&db.join("sub/deeper/x.csv")),
                6 => path(&root.join("out/../db/catalog.sqlite")),
                7 => quote("/proc/nope.csv"),
                8 => path(&root.join("out/file.csv/below.csv")),
                9 => quote(""),
                10 => path(&root.join("out/ok.parquet")),
                11 => quote(&format!("{}/{}", db.display(), hostile_text(r))),
                12 => path(&root.join("out/dir/")),
                _ => quote(&format!("{}/out/{}", root.display(), hostile_text(r).replace('/', "_"))),
            };
            let stored = r.pick(&["", " STORED AS CSV", " STORED AS PARQUET", " STORED AS JSON", " STORED AS ARROW"]);
            let query = r.pick(&["(SELECT 1 AS a)", "personas", "(SELECT * FROM scratch LIMIT 3)"]);
            format!("COPY {query} TO {target}{stored}")
        }
        2 => {
            let name = match r.below(10) {
                0 => "\"a/b\"".to_string(),
                1 => "\"..\"".to_string(),
                2 => "\".\"".to_string(),
                3 => "\"catalog.sqlite\"".to_string(),
                4 => "\"personas.lance\"".to_string(),
                5 => "\"x;y\"".to_string(),
                6 => format!("\"{}\"", "n".repeat(300)),
                7 => "\"\"".to_string(),
                8 => "\"名前\"".to_string(),
                _ => format!("\"{}\"", hostile_text(r).replace('"', "")),
            };
            match r.below(3) {
                0 => format!("CREATE TABLE {name} AS SELECT 1 AS a"),
                1 => format!("DROP TABLE {name}"),
                _ => {
                    format!("CREATE EXTERNAL TABLE {name} STORED AS CSV LOCATION {}", path(&db.join("catalog.sqlite")))
                }
            }
        }
        3 => {
            let setting = r.pick(&["locale", "language", "narrator", "nope", "embed_model"]);
            format!("SET personadb.{setting} = {}", quote(&hostile_text(r)))
        }
        4 => match r.below(6) {
            0 => "INSERT INTO scratch VALUES (1)".into(),
            1 => "INSERT INTO scratch SELECT * FROM sample_persona(3, 'br', 1)".into(),
            2 => "INSERT INTO scratch SELECT * FROM sample_persona(3, 'us', 5)".into(),
            3 => "INSERT INTO scratch SELECT * FROM scratch".into(),
            4 => format!("INSERT INTO scratch SELECT * FROM sample_persona({}, 'us', 1)", hostile_literal(r)),
            _ => "INSERT INTO personas_nope SELECT 1".into(),
        },
        5 => {
            let sql = function_call(r);
            format!("SELECT 1; {sql}")
        }
        6 => r
            .pick(&[
                "ALTER TABLE victim ADD COLUMN x INT",
                "UPDATE victim SET age = 1",
                "DELETE FROM victim",
                "TRUNCATE victim",
                "CREATE VIEW v AS SELECT * FROM personas",
                "CREATE EXTERNAL TABLE hostile_ext STORED AS PARQUET LOCATION '/proc/self'",
                "CREATE TABLE personas AS SELECT 1 AS a",
                "CREATE TABLE IF NOT EXISTS personas AS SELECT 1 AS a",
                "CREATE OR REPLACE TABLE victim AS SELECT 1 AS a",
                "INSERT OVERWRITE victim SELECT * FROM personas LIMIT 1",
                "ATTACH DATABASE '/tmp/x' AS y",
                "SELEC 1",
                "",
                ";;;",
                "\u{0}",
            ])
            .to_string(),
        _ => {
            let n = 1 + r.below(20_000);
            match r.below(3) {
                0 => format!("SELECT {}", vec!["1"; n].join(", ")),
                1 => format!("SELECT * FROM personas WHERE {}", vec!["age = 30"; n].join(" AND ")),
                _ => format!("SELECT {}1{}", "(".repeat(n), ")".repeat(n)),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sql_arguments_and_statements() {
    count_panics();
    let target = target().await;
    let watchdog = Watchdog::start();
    let session = PersonaSession::new(target.db.clone()).expect("session");
    let mut r = Rng::new(1);
    let mut functions = Tally::default();
    for i in 0..500 * scale() {
        let sql = function_call(&mut r);
        watchdog.watch(&sql);
        let started = Instant::now();
        let outcome = run_sql(&session, &sql).await;
        functions.record(&sql, started.elapsed(), outcome);
        watchdog.done();
        if i % 100 == 99 {
            target.intact(&sql).await;
        }
    }
    functions.finish("SQL function arguments", 500);

    let mut statements = Tally::default();
    for i in 0..150 * scale() {
        let sql = hostile_statement(&mut r, &target.root, target.dir());
        watchdog.watch(&sql);
        let started = Instant::now();
        // A fresh session now and then, as each CLI call is.
        let session =
            if i % 10 == 0 { PersonaSession::new(target.db.clone()).expect("session") } else { session.clone() };
        let outcome = run_sql(&session, &sql).await;
        statements.record(&sql, started.elapsed(), outcome);
        watchdog.done();
        target.intact(&sql).await;
    }
    statements.finish("hostile statements", 150);
    // Nothing but the engine wrote inside the database directory.
    for entry in std::fs::read_dir(target.dir()).expect("db dir") {
        let name = entry.expect("entry").file_name().to_string_lossy().to_string();
        assert!(
            name == "catalog.sqlite"
                || name.starts_with("catalog.sqlite-")
                || name.ends_with(".lance")
                || name.starts_with('.'),
            "something wrote {name} into the database directory"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// `search --where` filters and the search's own arguments.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_search_filters() {
    count_panics();
    let target = target().await;
    let watchdog = Watchdog::start();
    let session = PersonaSession::new(target.db.clone()).expect("session");
    let sample = session.sql("SELECT * FROM personas LIMIT 50").await.expect("sample");
    let pools = Pools::of(&sample);
    let mut r = Rng::new(2);
    let mut tally = Tally::default();
    for i in 0..250 * scale() {
        let mode = *r.pick(&[
            personadb::search::SearchMode::Vector,
            personadb::search::SearchMode::Text,
            personadb::search::SearchMode::Hybrid,
        ]);
        let filter = match r.below(10) {
            0 => None,
            1 => Some(hostile_text(&mut r)),
            _ => Some(pools.expression(&mut r, 3)),
        };
        let query = SearchQuery {
            mode,
            table: if r.chance(0.05) { hostile_text(&mut r) } else { "personas".into() },
            field: if r.chance(0.1) { pools.column(&mut r) } else { "persona".into() },
            text: if r.chance(0.3) { hostile_text(&mut r) } else { "retired nurse".into() },
            k: if r.chance(0.1) { *r.pick(&[0, u64::MAX, 1 << 40, 100_000]) } else { 1 + r.below(10) as u64 },
            filter,
            columns: if r.chance(0.1) { vec![pools.column(&mut r), hostile_text(&mut r)] } else { Vec::new() },
            width: r.below(200),
        };
        let input = format!("{query:?}");
        watchdog.watch(&input);
        let started = Instant::now();
        let outcome = async {
            let stream = query.execute(&session).await.map_err(|e| message(&e))?;
            datafusion::physical_plan::common::collect(stream)
                .await
                .map(|_| ())
                .map_err(|e| message(&personadb::Error::from(e)))
        }
        .await;
        tally.record(&input, started.elapsed(), outcome);
        watchdog.done();
        if i % 50 == 49 {
            target.intact(&input).await;
        }
    }
    tally.finish("search filters", 250);
    target.intact("the filters").await;
}

// ---------------------------------------------------------------------------------------------
// `given` expressions, in every locale, directly and through SQL.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_given_expressions() {
    count_panics();
    let watchdog = Watchdog::start();
    let mut r = Rng::new(3);
    let mut tally = Tally::default();
    let locales = ["us", "br", "sg", "in"];
    for (l, locale) in locales.iter().enumerate() {
        let model = personadb::locale::model(locale).expect("model");
        let sample = model.sample_batch(11, 0, 512, None, Encoding::Plain, 1).expect("sample");
        let pools = Pools::of(&[sample]);
        for _ in 0..80 * scale() {
            let given = pools.expression(&mut r, 2);
            let input = format!("{locale}: {given}");
            watchdog.watch(&input);
            let started = Instant::now();
            let outcome = match model.evidence(&given) {
                Err(e) => Err(message(&e)),
                Ok(evidence) => model
                    .sample_batch(r.next(), 0, 64, evidence.as_ref(), Encoding::Plain, 1)
                    .map(|_| ())
                    .map_err(|e| message(&e)),
            };
            tally.record(&input, started.elapsed(), outcome);
            watchdog.done();
        }
        // The same through SQL, as `sample_persona`'s fourth argument.
        let dir = tempfile::tempdir().expect("tempdir");
        let session = PersonaSession::new(Database::open(dir.path().join("db")).expect("db")).expect("session");
        for _ in 0..(if l == 0 { 40 } else { 15 }) * scale() {
            let given = pools.expression(&mut r, 2);
            let sql = format!("SELECT * FROM sample_persona(5, '{locale}', {}, {})", r.below(1000), quote(&given));
            watchdog.watch(&sql);
            let started = Instant::now();
            let outcome = run_sql(&session, &sql).await;
            tally.record(&sql, started.elapsed(), outcome);
            watchdog.done();
        }
    }
    tally.finish("given expressions", 350);
}

// ---------------------------------------------------------------------------------------------
// Locale pack files: the network, its tables, the narrative templates and lexicons.

fn mutate(r: &mut Rng, text: &str) -> Option<String> {
    let mut text = text.to_string();
    for _ in 0..1 + r.below(3) {
        let lines: Vec<&str> = text.split('\n').collect();
        let line = r.below(lines.len());
        text = match r.below(13) {
            0 => {
                let cut = r.below(text.chars().count() + 1);
                text.chars().take(cut).collect()
            }
            1 => lines.iter().enumerate().filter(|(i, _)| *i != line).map(|(_, l)| *l).collect::<Vec<_>>().join("\n"),
            2 => {
                let mut l = lines.clone();
                l.insert(line, lines[line]);
                l.join("\n")
            }
            3 => {
                let mut l = lines.clone();
                l.swap(line, 0);
                l.join("\n")
            }
            4 => {
                // One number becomes something that is not a usable number.
                let replacement = r.pick(&["NaN", "-1", "1e400", "", "abc", "-0", "inf", "99999999999999999999", "0"]);
                replace_nth_number(&text, r.below(200), replacement)
            }
            5 => {
                let at = r.below(text.chars().count().max(1));
                let c = *r.pick(&[',', '"', '\n', '\u{0}', '{', '}', '[', ']', ':', '\\']);
                text.chars().enumerate().map(|(i, x)| if i == at { c } else { x }).collect()
            }
            6 => return Some(String::new()),
            7 => return None,
            8 => {
                // A quoted word becomes another type.
                let replacement = r.pick(&["123", "null", "[]", "{}", "true", "\"\"", "\"x\""]);
                replace_nth_quoted(&text, r.below(100), replacement)
            }
            9 => {
                let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
                l[line] = l[line]
                    .split(',')
                    .map(|f| if f.parse::<f64>().is_ok() { "0" } else { f })
                    .collect::<Vec<_>>()
                    .join(",");
                l.join("\n")
            }
            10 => format!("\u{feff}{text}"),
            11 => format!("{text}\n{text}"),
            _ => {
                let mut l = lines.clone();
                let extra = format!("{},{}", lines[line], lines[line]);
                l[line] = &extra;
                l.join("\n")
            }
        };
    }
    Some(text)
}

fn replace_nth_number(text: &str, n: usize, replacement: &str) -> String {
    let spans: Vec<(usize, usize)> = {
        let b = text.as_bytes();
        let mut spans = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_digit() {
                let start = i;
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'e' || b[i] == b'-') {
                    i += 1;
                }
                spans.push((start, i));
            } else {
                i += 1;
            }
        }
        spans
    };
    match spans.get(n % spans.len().max(1)) {
        Some(&(s, e)) => format!("{}{}{}", &text[..s], replacement, &text[e..]),
        None => text.to_string(),
    }
}

fn replace_nth_quoted(text: &str, n: usize, replacement: &str) -> String {
    let quotes: Vec<usize> = text.match_indices('"').map(|(i, _)| i).collect();
    let pairs: Vec<(usize, usize)> = quotes.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0], c[1] + 1)).collect();
    match pairs.get(n % pairs.len().max(1)) {
        Some(&(s, e)) => format!("{}{}{}", &text[..s], replacement, &text[e..]),
        None => text.to_string(),
    }
}

#[test]
fn hostile_pack_files() {
    count_panics();
    let watchdog = Watchdog::start();
    let mut r = Rng::new(4);
    let mut tally = Tally::default();
    for locale in ["sg", "br", "us"] {
        let pack = personadb::locale::pack(locale).expect("pack");
        let model = personadb::locale::model(locale).expect("model");
        let columns: Vec<String> = model.columns.iter().map(|c| c.name().to_string()).collect();
        let spec = model.persona.language(locale, None).expect("language");
        let language = personadb::narrate::Language::from_code(&spec.code).expect("code");
        let narrative = format!("narrative/{}/", spec.code);
        let files: Vec<String> = pack
            .file_names()
            .expect("files")
            .into_iter()
            .filter(|f| {
                (f.ends_with(".csv") || f.ends_with(".json")) && *f != "manifest.json" && !f.starts_with("sources/")
            })
            .filter(|f| !f.starts_with("narrative/") || f.starts_with(&narrative))
            .map(str::to_string)
            .collect();
        let personas = model.sample_batch(5, 0, 32, None, Encoding::Plain, 1).expect("sample");
        let cases = if locale == "us" { 40 } else { 90 };
        for _ in 0..cases * scale() {
            let file = r.pick(&files).clone();
            let original = pack.file(&file).expect("file");
            let mutated = mutate(&mut r, original);
            let read = |name: &str| -> personadb::Result<String> {
                if name == file {
                    mutated.clone().ok_or_else(|| {
                        personadb::Error::io(
                            format!("reading {name}"),
                            std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory"),
                        )
                    })
                } else {
                    pack.file(name).map(str::to_string)
                }
            };
            let input = format!("{locale}/{file}: {}", mutated.as_deref().map(shorten).unwrap_or("(missing)".into()));
            watchdog.watch(&input);
            let started = Instant::now();
            let outcome = if file.starts_with("narrative/") {
                personadb::narrate::PackNarrator::load(locale, language, &model.persona, &columns, &read)
                    .and_then(|n| n.narrate_batch(&personas, r.next()))
                    .map(|_| ())
                    .map_err(|e| message(&e))
            } else {
                read("network.json")
                    .and_then(|text| {
                        serde_json::from_str::<personadb::model::NetworkSpec>(&text).map_err(|e| {
                            personadb::Error::InvalidLocalePack {
                                locale: locale.into(),
                                reason: format!("network.json: {e}"),
                            }
                        })
                    })
                    .and_then(|spec| personadb::model::LocaleModel::from_spec(spec, &read))
                    .and_then(|m| {
                        m.sample_batch(r.next(), 0, 64, None, Encoding::Plain, 1)?;
                        m.sample_batch(r.next(), 0, 64, None, Encoding::Dictionary, 2)
                    })
                    .map(|_| ())
                    .map_err(|e| message(&e))
            };
            tally.record(&input, started.elapsed(), outcome);
            watchdog.done();
        }
    }
    tally.finish("locale pack files", 220);
}

// ---------------------------------------------------------------------------------------------
// LLM answers.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_llm_answers() {
    count_panics();
    let watchdog = Watchdog::start();
    // Every answer hostile, but one in five correct so that second stages are reached too.
    let server = FakeLlm::start(Arc::new(|n, _| if n % 5 == 4 { Action::Ok } else { Action::Hostile(n) })).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("db")).expect("open");
    let n = 80 * scale() as u64;
    let config = personadb::llm::LlmConfig {
        base_url: server.base_url.clone(),
        model: "fake".into(),
        timeout_s: 2.0,
        max_concurrency: 4,
        max_retries: 1,
        max_reasks: 3,
        ..personadb::llm::LlmConfig::default()
    };
    let options = GenerateOptions::new("us", n)
        .seed(8)
        .narrator(Some(personadb::narrate::NarratorKind::Llm))
        .llm(config)
        .commit_rows(20);
    watchdog.watch("generate with hostile LLM answers");
    let started = Instant::now();
    let report = personadb::generate(&db, &options).await.expect("a run with hostile answers completes");
    watchdog.done();
    let answered = server.requests.load(Ordering::SeqCst);
    let hostile = server.seen().iter().filter(|s| matches!(s.action, Action::Hostile(_))).count();
    eprintln!(
        "LLM answers: {answered} requests ({hostile} hostile, every one of the {HOSTILE_ANSWERS} kinds), \
         {} personas narrated, {} recorded as failed, {:.1?}; panics so far {}",
        report.rows - report.failed,
        report.failed,
        started.elapsed(),
        PANICS.load(Ordering::SeqCst)
    );
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a hostile answer made something panic");
    assert!(hostile as u64 >= 2 * HOSTILE_ANSWERS && hostile >= 150, "only {hostile} hostile answers");
    assert_eq!(report.table_rows, n);
    let failures = db.catalog().expect("catalog").failures(report.run_id).expect("failures");
    assert_eq!(failures.len() as u64, report.failed);
    for f in &failures {
        if let Some(why) = unclean(&f.reason) {
            panic!("{why}: the recorded reason {}", shorten(&f.reason));
        }
    }
    // What was stored is text without terminal escapes, within the narrator's length limit.
    let session = PersonaSession::new(db.clone()).expect("session");
    let batches = session.sql("SELECT persona, cultural_background FROM personas").await.expect("read");
    for b in &batches {
        for column in b.columns() {
            for text in column.as_string::<i32>().iter().flatten() {
                assert!(
                    !text.contains('\u{1b}') && !text.contains('\u{0}'),
                    "stored control characters: {}",
                    shorten(text)
                );
                assert!(text.chars().count() <= 4_000, "stored {} characters", text.chars().count());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The depth limit is safe: just under it, a statement plans and runs on a 2 MB stack (a tokio
// worker's); just over it, it is refused before parsing.

#[test]
fn expressions_just_under_the_depth_limit_run_on_a_small_stack() {
    count_panics();
    let limit = personadb::session::MAX_EXPRESSION_DEPTH;
    let worker = std::thread::Builder::new().stack_size(2 << 20).spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            let dir = tempfile::tempdir().expect("tempdir");
            let session = PersonaSession::new(Database::open(dir.path().join("db")).expect("db")).expect("session");
            let terms = limit - 10;
            let sum = format!("SELECT {} AS s", vec!["1"; terms].join(" + "));
            let batches = session.sql(&sum).await.expect("a chain just under the limit runs");
            assert_eq!(batches[0].column(0).as_primitive::<arrow::datatypes::Int64Type>().value(0), terms as i64);
            let ors = format!(
                "SELECT count(*) FROM sample_persona(50, 'us', 1) WHERE {}",
                (0..terms / 2).map(|i| format!("age = {}", 18 + i % 80)).collect::<Vec<_>>().join(" OR ")
            );
            session.sql(&ors).await.expect("a long OR chain under the limit runs");
            let over = format!("SELECT {} AS s", vec!["1"; limit + 5].join(" + "));
            let e = session.sql(&over).await.expect_err("over the limit");
            assert!(user_message(&e).contains("nested more than 1000 levels"), "{}", user_message(&e));
        })
    });
    worker.expect("spawn").join().expect("no overflow on a 2 MB stack");
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}
