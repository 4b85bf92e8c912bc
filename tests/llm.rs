//! The LLM narrator end to end: against a fault-injecting OpenAI-compatible server in the
//! test (429 + Retry-After, 500, slow answers, broken bodies, non-JSON content), through a
//! crash (kill -9) and `generate --resume`, and in SQL.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, AsArray};
use personadb::llm::LlmConfig;
use personadb::{Database, GenerateOptions, PersonaSession};
use support::fake_llm::{Action, FakeLlm};

fn config(base_url: &str) -> LlmConfig {
    LlmConfig {
        base_url: base_url.to_string(),
        model: "fake".into(),
        timeout_s: 1.0,
        max_concurrency: 8,
        max_retries: 6,
        max_reasks: 3,
        ..LlmConfig::default()
    }
}

fn fnv(s: &str) -> u64 {
    personadb::hash::fnv1a(s.as_bytes())
}

/// Personas with these first names always get answers that are not JSON.
fn doomed(first_name: &str) -> bool {
    fnv(first_name) % 6 == 0
}

async fn rows(session: &PersonaSession, sql: &str) -> Vec<arrow::record_batch::RecordBatch> {
    // Text as plain strings (SQL reads table text as views).
    let batches = session.sql(sql).await.expect("query");
    batches.into_iter().map(|b| personadb::columns::plain_text_batch(b).expect("text")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_retried_and_every_persona_is_narrated_or_recorded_as_failed() {
    let server = FakeLlm::start(Arc::new(|n, name| {
        if doomed(name) {
            return Action::BadContent;
        }
        match n % 20 {
            3 => Action::RateLimit(1),
            7 => Action::ServerError,
            11 => Action::Slow(Duration::from_secs(3)),
            13 => Action::BrokenBody,
            17 => Action::BadContent,
            _ => Action::Ok,
        }
    }))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("db")).expect("open");
    let n = 40;
    let options = GenerateOptions::new("us", n)
        .seed(11)
        .narrator(Some(personadb::narrate::NarratorKind::Llm))
        .llm(config(&server.base_url))
        .commit_rows(10);
    let report = personadb::generate(&db, &options).await.expect("the run completes despite the faults");
    assert_eq!(report.rows, n);
    assert_eq!(report.table_rows, n);

    let session = PersonaSession::new(db.clone()).expect("session");
    let batches = rows(&session, "SELECT uuid, first_name, persona, hobbies_and_interests_list FROM personas").await;
    let mut narrated = BTreeSet::new();
    let mut not_narrated = BTreeSet::new();
    let mut first_names = HashMap::new();
    for b in &batches {
        let uuid = b.column(0).as_string::<i32>();
        let first = b.column(1).as_string::<i32>();
        let persona = b.column(2).as_string::<i32>();
        let hobbies = b.column(3).as_list::<i32>();
        for i in 0..b.num_rows() {
            first_names.insert(uuid.value(i).to_string(), first.value(i).to_string());
            if persona.is_valid(i) {
                assert!(persona.value(i).contains(first.value(i)), "persona names the person: {}", persona.value(i));
                assert!(hobbies.is_valid(i) && hobbies.value(i).len() > 0);
                narrated.insert(uuid.value(i).to_string());
            } else {
                assert!(hobbies.is_null(i));
                not_narrated.insert(uuid.value(i).to_string());
            }
        }
    }
    let failures = db.catalog().expect("catalog").failures(report.run_id).expect("failures");
    let failed: BTreeSet<String> = failures.iter().map(|f| f.uuid.clone()).collect();
    assert_eq!(failed, not_narrated, "exactly the personas without narratives are recorded as failed");
    assert_eq!(failed.len() as u64, report.failed);
    assert_eq!(narrated.len() + failed.len(), n as usize);
    for f in &failures {
        assert!(!f.reason.is_empty());
        assert!(doomed(&first_names[&f.uuid]), "only doomed personas fail; {} failed: {}", f.uuid, f.reason);
        assert!(f.reason.starts_with("invalid_json"), "{}", f.reason);
        assert!(f.reason.contains("after 4 attempts"), "{}", f.reason);
    }
    let doomed_count = first_names.values().filter(|f| doomed(f)).count();
    assert_eq!(failed.len(), doomed_count, "every doomed persona fails");
    assert!(doomed_count > 0 && doomed_count < n as usize, "the seed gives both kinds ({doomed_count})");
    assert_eq!(report.failure_kinds.first().map(|k| k.0.as_str()), Some("invalid_json"));

    // The faults happened and were handled.
    let usage = report.usage.expect("usage");
    eprintln!("usage {usage:?}; {} failed: {:?}", report.failed, report.failure_kinds);
    assert!(usage.rate_limited >= 1 && usage.timeouts >= 1 && usage.retries >= 3, "{usage:?}");
    assert!(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
    let recorded = db.catalog().expect("catalog").usage(report.run_id).expect("usage").expect("recorded");
    assert!(recorded.contains("\"rate_limited\""), "{recorded}");
    // Retry-After is honoured: after a 429, no request reaches the server until it has passed
    // (requests already on their way may land in the first moments).
    let seen = server.seen();
    for s in seen.iter().filter(|s| matches!(s.action, Action::RateLimit(_))) {
        let early: Vec<_> = seen
            .iter()
            .filter(|o| o.at > s.at + Duration::from_millis(150) && o.at < s.at + Duration::from_millis(850))
            .collect();
        assert!(early.is_empty(), "requests during the Retry-After pause of request {}: {early:?}", s.n);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_run_resumes_without_loss_or_duplicates() {
    let server = FakeLlm::healthy(Duration::from_millis(25)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db_dir = dir.path().join("db");
    let bin = env!("CARGO_BIN_EXE_personadb");
    let run = |args: &[&str]| {
        let mut c = std::process::Command::new(bin);
        c.arg("--db")
            .arg(&db_dir)
            .args(args)
            .env("PERSONADB_LLM_BASE_URL", &server.base_url)
            .env("PERSONADB_LLM_MODEL", "fake")
            .env("PERSONADB_LLM_CONCURRENCY", "4")
            .env_remove("PERSONADB_LLM_CONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        c
    };
    let args = ["generate", "-n", "240", "--seed", "9", "--narrator", "llm", "--commit-rows", "20", "-q"];
    let mut child = run(&args).spawn().expect("spawn");
    // Kill it (SIGKILL) once three batches are committed.
    let catalog = db_dir.join("catalog.sqlite");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let committed = loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let count = rusqlite::Connection::open_with_flags(&catalog, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.query_row("SELECT COUNT(*) FROM run_batches", [], |r| r.get::<_, i64>(0)))
            .unwrap_or(0);
        if count >= 3 {
            break count;
        }
        assert!(std::time::Instant::now() < deadline, "the run never committed");
        assert!(child.try_wait().expect("wait").is_none(), "the run ended before it could be killed");
    };
    child.kill().expect("kill -9");
    let _ = child.wait();
    assert!(committed < 12, "killed mid-run");

    // Something else commits to the table after the ledger's last entry (as a crash between
    // a commit and its ledger entry would leave it): resume must roll it back.
    let out = run(&["sql", "INSERT INTO personas (uuid, first_name) VALUES ('foreign-1', 'X'), ('foreign-2', 'Y')"])
        .output()
        .expect("insert");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = run(&["generate", "--resume", "1", "-q"]).output().expect("resume");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("rolled 'personas' back"), "{stderr}");
    let out = run(&["generate", "--resume", "1"]).output().expect("resume again");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already finished"));

    // The same rows as a run that was never interrupted.
    let db = Database::open(&db_dir).expect("open");
    let session = PersonaSession::new(db.clone()).expect("session");
    let resumed = uuids(&session).await;
    assert_eq!(resumed.len(), 240);
    assert_eq!(resumed.iter().collect::<BTreeSet<_>>().len(), 240, "no duplicates");
    let run_info = db.catalog().expect("catalog").run(1).expect("run").expect("exists");
    assert_eq!((run_info.status.as_str(), run_info.rows_written), ("done", 240));

    let other = tempfile::tempdir().expect("tempdir");
    let db2 = Database::open(other.path()).expect("open");
    let options = GenerateOptions::new("us", 240)
        .seed(9)
        .narrator(Some(personadb::narrate::NarratorKind::Llm))
        .llm(LlmConfig { max_concurrency: 4, ..config(&server.base_url) })
        .commit_rows(20);
    personadb::generate(&db2, &options).await.expect("uninterrupted run");
    let straight = uuids(&PersonaSession::new(db2).expect("session")).await;
    assert_eq!(resumed, straight, "resumed run = uninterrupted run");
}

async fn uuids(session: &PersonaSession) -> Vec<String> {
    let batches = rows(session, "SELECT uuid, persona FROM personas ORDER BY uuid").await;
    let mut out = Vec::new();
    for b in &batches {
        let u = b.column(0).as_string::<i32>();
        let p = b.column(1).as_string::<i32>();
        for i in 0..b.num_rows() {
            assert!(p.is_valid(i), "every persona narrated");
            out.push(format!("{} {}", u.value(i), p.value(i)));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_narrative_uses_the_llm_when_the_session_says_so() {
    let server = FakeLlm::healthy(Duration::ZERO).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sql = |query: &str, configured: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_personadb"));
        c.arg("--db").arg(dir.path()).args(["sql", query, "-o", "csv"]).env_remove("PERSONADB_LLM_CONFIG");
        if configured {
            c.env("PERSONADB_LLM_BASE_URL", &server.base_url).env("PERSONADB_LLM_MODEL", "fake");
        } else {
            c.env_remove("PERSONADB_LLM_MODEL").env("PERSONADB_HOME", dir.path());
        }
        c.output().expect("run personadb")
    };
    let cols = "uuid, first_name, last_name, sex, age, occupation, employment_status";
    let out = sql(
        &format!(
            "SET personadb.narrator = 'llm';
             CREATE TABLE p AS SELECT first_name,
                 generate_narrative('persona', 3, {cols}) AS persona,
                 generate_narrative('hobbies_and_interests_list', 3, {cols}) AS hobbies
             FROM sample_persona(6, 'us', 2);
             SELECT count(*) AS n FROM p WHERE persona LIKE '%' || first_name || '%' AND cardinality(hobbies) > 0"
        ),
        true,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().last(), Some("6"), "{stdout}");
    // Two stages per persona, once: the second field came from the session's cache.
    assert_eq!(server.requests.load(std::sync::atomic::Ordering::SeqCst), 12);

    let out = sql("SET personadb.narrator = 'llm'; SELECT generate_narrative('persona', 1, first_name) FROM sample_persona(1, 'us', 1)", false);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PERSONADB_LLM_MODEL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Each locale's LLM prompts come in its own language, filled from the persona's columns and
/// the language's lexicon (profile, occupation, agreement), with no placeholder left over.
#[test]
fn prompts_follow_the_locale_and_its_language() {
    for (locale, name_line, age_word, expect) in [
        ("us", "- Name: ", "- Age: ", "Write a JSON object"),
        ("br", "- Nome: ", "- Idade: ", "Escreva um objeto JSON"),
        ("jp", "- 氏名: ", "- 年齢: ", "JSONオブジェクトを書いてください"),
    ] {
        let model = personadb::locale::model(locale).expect("model");
        let batch = model.sample_batch(3, 0, 200, None, personadb::model::Encoding::Plain, 1).expect("batch");
        let client = personadb::llm::LlmClient::new(config("http://127.0.0.1:9/v1")).expect("client");
        let narrator = personadb::narrate::LlmNarrator::with_client(locale, None, client).expect("narrator");
        let prompts = narrator.render_prompts(&batch, 1).expect("render");
        let first = batch.column_by_name("first_name").expect("first_name");
        let first = arrow::compute::cast(first, &arrow::datatypes::DataType::Utf8).expect("cast");
        let first = first.as_string::<i32>();
        // Japanese names are written family name first, with no space.
        let last = batch
            .column_by_name("last_name")
            .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).expect("cast"));
        let name = |i: usize| match (locale, &last) {
            ("jp", Some(last)) => format!("{}{}", last.as_string::<i32>().value(i), first.value(i)),
            _ => first.value(i).to_string(),
        };
        let ages = arrow::compute::cast(batch.column_by_name("age").expect("age"), &arrow::datatypes::DataType::Utf8)
            .expect("cast");
        let ages = ages.as_string::<i32>();
        for (i, (system, stage1)) in prompts.iter().enumerate() {
            assert!(!system.contains("{{") && !stage1.contains("{{") && !stage1.contains('{'), "{locale}: {stage1}");
            assert!(stage1.contains(expect), "{locale}: {stage1}");
            assert!(stage1.contains(&format!("{name_line}{}", name(i))), "{locale} name: {stage1}");
            assert!(stage1.contains(&format!("{age_word}{}", ages.value(i))), "{locale} age: {stage1}");
        }
        // Brazilian profiles agree with the person's sex.
        if locale == "br" {
            let sex = batch.column_by_name("sex").expect("sex");
            let sex = arrow::compute::cast(sex, &arrow::datatypes::DataType::Utf8).expect("cast");
            let sex = sex.as_string::<i32>();
            for (i, (_, stage1)) in prompts.iter().enumerate() {
                let word = if sex.value(i) == "Feminino" { "- Sexo: feminino" } else { "- Sexo: masculino" };
                assert!(stage1.contains(word), "{stage1}");
            }
        }
    }
    // A prompts folder with an unknown placeholder is refused, naming it.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("stage1.txt"), "Write about {{shoe_size}}.").expect("write");
    let mut bad = config("http://127.0.0.1:9/v1");
    bad.prompts = Some(dir.path().to_path_buf());
    let client = personadb::llm::LlmClient::new(bad).expect("client");
    let err = personadb::narrate::LlmNarrator::with_client("br", None, client).err().expect("refused").to_string();
    assert!(err.contains("{{shoe_size}}") && err.contains("narrative/pt/"), "{err}");
}

/// A server that quotes the API key back (OpenAI's 401 does): the key is in nothing printed
/// and nothing stored in the database, and credentials in the URL are refused outright.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_are_never_printed_or_stored() {
    let key = "sk-test-Zq8XvT3pLm0123456789";
    let server = FakeLlm::start(Arc::new(|_, _| Action::Unauthorized)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("db")).expect("open");
    let mut llm = config(&server.base_url);
    llm.api_key = Some(key.to_string());
    llm.max_retries = 0;
    let options = GenerateOptions::new("us", 3)
        .seed(1)
        .narrator(Some(personadb::narrate::NarratorKind::Llm))
        .llm(llm.clone())
        .commit_rows(10);
    let printed = match personadb::generate(&db, &options).await {
        Ok(report) => format!("{report:?}"),
        Err(e) => personadb::error::user_message(&e),
    };
    assert!(server.requests.load(std::sync::atomic::Ordering::SeqCst) > 0, "the server was asked");
    assert!(!printed.contains(key), "the key was printed: {printed}");
    let mut stored = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).expect("read_dir").flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else if std::fs::read(entry.path()).unwrap_or_default().windows(key.len()).any(|w| w == key.as_bytes()) {
                stored.push(entry.path());
            }
        }
    }
    assert!(stored.is_empty(), "the key was stored in {stored:?}");

    let with_userinfo = LlmConfig { base_url: format!("http://me:{key}@127.0.0.1:9/v1"), ..llm };
    let error = with_userinfo.validate().expect_err("credentials in the URL are refused").to_string();
    assert!(error.contains("must not carry credentials") && !error.contains(key), "{error}");
}

/// Two endpoints serve the run; one dies part-way (it closes every connection and takes no
/// new ones). No persona is lost: requests move to the live endpoint, the dead one is drained,
/// and the run record has each endpoint's traffic and errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn narration_spreads_over_endpoints_and_survives_one_dying() {
    let dead = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = dead.clone();
    let doomed_server = FakeLlm::start(Arc::new(move |n, _| {
        if n >= 12 {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            Action::Disconnect
        } else {
            Action::Slow(Duration::from_millis(20))
        }
    }))
    .await;
    let live = FakeLlm::healthy(Duration::from_millis(20)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("db")).expect("open");
    let n = 60;
    let llm = LlmConfig {
        base_urls: vec![doomed_server.base_url.clone(), live.base_url.clone()],
        max_concurrency: 2,
        max_retries: 2,
        ..config(&live.base_url)
    };
    let options = GenerateOptions::new("us", n)
        .seed(5)
        .narrator(Some(personadb::narrate::NarratorKind::Llm))
        .llm(llm)
        .commit_rows(20);
    let report = personadb::generate(&db, &options).await.expect("the run completes with one endpoint down");
    assert!(dead.load(std::sync::atomic::Ordering::SeqCst), "the first endpoint never died");
    assert_eq!(report.table_rows, n);
    let failed = db.catalog().expect("catalog").failures(report.run_id).expect("failures");
    assert!(failed.is_empty(), "personas lost to the dead endpoint: {failed:?}");

    // Both endpoints served; the dead one's errors and drains are recorded per endpoint.
    assert_eq!(report.endpoints.len(), 2, "{:?}", report.endpoints);
    let (first, second) = (&report.endpoints[0].usage, &report.endpoints[1].usage);
    assert!(first.requests >= 12 && first.errors >= 1 && first.drains >= 1, "{first:?}");
    assert!(second.requests > first.requests, "the live endpoint took the rest: {:?}", report.endpoints);
    assert_eq!(second.errors, 0, "{second:?}");
    let recorded = db.catalog().expect("catalog").usage(report.run_id).expect("usage").expect("recorded");
    let recorded: serde_json::Value = serde_json::from_str(&recorded).expect("json");
    let endpoints = recorded["endpoints"].as_array().expect("endpoints recorded");
    assert_eq!(endpoints[0]["url"], doomed_server.base_url.trim_end_matches('/'));
    assert!(endpoints[0]["errors"].as_u64() >= Some(1), "{recorded}");
    assert_eq!(live.seen().len() as u64, second.requests);
}
