//! Hostile LLM answers, and the expression depth limit on a small stack.

use super::*;

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
            let column = arrow::compute::cast(column, &arrow::datatypes::DataType::Utf8).expect("text");
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
