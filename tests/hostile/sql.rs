//! Hostile SQL: every function's arguments and hostile statements.

use super::*;

// ---------------------------------------------------------------------------------------------
// SQL functions and statements.

/// Each SQL function with arguments that work, so that replacing some of them reaches deep.
const FUNCTIONS: &[(&str, bool, &[&str])] = &[
    ("sample_persona", true, &["5", "'us'", "42", "'age BETWEEN 30 AND 45'"]),
    ("stratified_sample", true, &["'personas'", "'sex'", "10", "7", "'equal'"]),
    ("semantic_search", true, &["'personas'", "'persona_embedding'", "'retired nurse'", "3"]),
    ("text_search", true, &["'personas'", "'persona'", "'nurse gardening'", "3"]),
    ("hybrid_search", true, &["'personas'", "'persona'", "'retired nurse'", "3"]),
    ("near_duplicates", true, &["'personas'", "'persona_embedding'", "0.9"]),
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
