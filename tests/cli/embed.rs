//! Embedding columns added, replaced and resumed; quota generation by strata.

use super::*;

#[test]
fn embed_adds_replaces_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "-n", "300", "--seed", "3", "--embed", "persona", "-q"]);
    let count = |sql: &str| csv_rows(&ok(&db, &["sql", "-o", "csv", sql]))[0].clone();
    // A field without an embedding column gets one, by the table's static model.
    let added = personadb(&db, &["embed", "--field", "culinary_persona", "-q"]);
    let said = String::from_utf8_lossy(&added.stderr);
    assert!(added.status.success(), "{said}");
    assert!(said.contains("culinary_persona_embedding: added by personadb/static-all-MiniLM-L6-v2"), "{said}");
    assert_eq!(
        count("SELECT count(culinary_persona_embedding), count(culinary_persona), min(array_length(culinary_persona_embedding)) FROM personas"),
        vec!["300", "300", "256"]
    );
    let rows = csv_rows(&ok(
        &db,
        &["search", "spicy food", "--field", "culinary_persona", "-k", "3", "-o", "csv", "--columns", "uuid"],
    ));
    assert_eq!(rows.len(), 3);
    // The same again: nothing to do.
    let again = personadb(&db, &["embed", "--field", "culinary_persona", "-q"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("up to date"));
    // Upgrading a field to the transformer replaces its column; queries follow the new model.
    let before = count("SELECT count(*) FROM personas");
    let replaced = personadb(&db, &["embed", "--field", "persona", "--model", "all-MiniLM-L6-v2", "-q"]);
    let said = String::from_utf8_lossy(&replaced.stderr);
    assert!(replaced.status.success(), "{said}");
    assert!(said.contains("replaced (held personadb/static-all-MiniLM-L6-v2)"), "{said}");
    assert_eq!(count("SELECT count(*) FROM personas"), before);
    assert_eq!(
        count("SELECT min(array_length(persona_embedding)), count(persona_embedding) FROM personas"),
        vec!["384", "300"]
    );
    let hits = csv_rows(&ok(&db, &["search", "retired nurse", "-k", "5", "-o", "csv", "--columns", "uuid"]));
    assert_eq!(hits.len(), 5);
    // Bad requests name what was wrong.
    user_error(&db, &["embed", "--field", "age"], "not a text column");
    user_error(&db, &["embed", "--field", "nope"], "no such column");
    user_error(&db, &["embed", "--field", "persona", "--model", "word2vec"], "word2vec");
    user_error(&db, &["embed", "--field", "persona", "--column", "age"], "not an embedding column");
    user_error(&db, &["embed", "--field", "persona", "--table", "nope"], "nope");

    // Killed part-way, a run started again reuses the fragments it finished.
    let big = dir.path().join("big");
    ok(&big, &["generate", "-n", "400", "--seed", "4", "--embed", "none", "-q"]);
    for seed in 5..9 {
        ok(&big, &["generate", "-n", "400", "--seed", &seed.to_string(), "--embed", "none", "--append", "-q"]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_personadb"))
        .arg("--db")
        .arg(&big)
        .args(["embed", "--field", "persona", "--model", "all-MiniLM-L6-v2", "-q"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let catalog = rusqlite::Connection::open(big.join("catalog.sqlite")).expect("catalog");
    let start = std::time::Instant::now();
    let mut checkpoints = 0i64;
    while checkpoints == 0 && start.elapsed() < std::time::Duration::from_secs(120) {
        std::thread::sleep(std::time::Duration::from_millis(20));
        checkpoints = catalog.query_row("SELECT count(*) FROM embed_checkpoints", [], |r| r.get(0)).unwrap_or(0);
        if child.try_wait().expect("wait").is_some() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(checkpoints > 0, "no fragment was checkpointed");
    let resumed = personadb(&big, &["embed", "--field", "persona", "--model", "all-MiniLM-L6-v2", "-q"]);
    let said = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{said}");
    if checkpoints < 5 {
        assert!(said.contains("reused from the interrupted run"), "{said}");
    }
    let rows = csv_rows(&ok(
        &big,
        &["sql", "-o", "csv", "SELECT count(*), count(persona_embedding), count(DISTINCT uuid) FROM personas"],
    ));
    assert_eq!(rows[0], vec!["2000", "2000", "2000"]);
}

#[test]
fn quota_generation_balances_strata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    // 51 states × 2 sexes = 102 strata, 100 each.
    ok(&db, &["generate", "--narrator", "none", "-n", "10200", "--seed", "4", "--strata", "state,sex"]);
    let out = ok(
        &db,
        &[
            "sql",
            "-o",
            "csv",
            "SELECT count(*), min(c), max(c) FROM (SELECT state, sex, count(*) AS c FROM personas GROUP BY state, sex)",
        ],
    );
    assert_eq!(csv_rows(&out)[0], vec!["102", "100", "100"]);
    // Same seed, same rows.
    ok(
        &db,
        &["generate", "--narrator", "none", "-n", "10200", "--seed", "4", "--strata", "state,sex", "--table", "again"],
    );
    let diff =
        ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM (SELECT * FROM personas EXCEPT SELECT * FROM again)"]);
    assert_eq!(csv_rows(&diff)[0][0], "0");
    // Survey weights: under equal allocation the weighted count of each state is the model's
    // share of the state times n, exactly.
    let model = personadb::locale::model("us").expect("us model");
    let (state, _) = model.node("state").expect("state node");
    let joint = personadb::model::evidence::marginal(&model, &[state], "").expect("marginal");
    let at = joint.nodes.iter().position(|n| *n == state).expect("state in the marginal");
    let mut share: std::collections::HashMap<String, f64> = std::collections::HashMap::new();
    for (cell, w) in joint.weights.iter().enumerate() {
        let code = joint.combos[cell * joint.nodes.len() + at] as usize;
        *share.entry(model.nodes[state].values[code].clone()).or_default() += w;
    }
    let total: f64 = share.values().sum();
    let out = ok(&db, &["sql", "-o", "csv", "SELECT state, sum(weight), count(*) FROM personas GROUP BY state"]);
    let rows = csv_rows(&out);
    assert_eq!(rows.len(), 51);
    for r in &rows {
        let weighted: f64 = r[1].parse().expect("weight sum");
        let expected = share[&r[0]] / total * 10200.0;
        assert!((weighted - expected).abs() < 1e-6 * expected, "{}: weighted {weighted}, model {expected}", r[0]);
        assert_eq!(r[2], "200");
    }
    // A plain table takes no quota rows, and a quota table no plain ones.
    user_error(
        &db,
        &[
            "generate",
            "--narrator",
            "none",
            "-n",
            "10",
            "--seed",
            "5",
            "--strata",
            "sex",
            "--append",
            "--table",
            "plain",
        ],
        "table 'plain' not found",
    );
    ok(&db, &["generate", "--narrator", "none", "-n", "10", "--seed", "5", "--table", "plain"]);
    user_error(
        &db,
        &[
            "generate",
            "--narrator",
            "none",
            "-n",
            "10",
            "--seed",
            "6",
            "--strata",
            "sex",
            "--append",
            "--table",
            "plain",
        ],
        "has no `weight` column",
    );
    user_error(&db, &["generate", "--narrator", "none", "-n", "10", "--seed", "6", "--append"], "survey weights");
    // Proportional quotas follow the population, within the evidence.
    ok(
        &db,
        &[
            "generate",
            "--narrator",
            "none",
            "-n",
            "2000",
            "--strata",
            "sex",
            "--allocation",
            "proportional",
            "--given",
            "age >= 85",
            "--table",
            "old",
        ],
    );
    let out = ok(&db, &["sql", "-o", "csv", "SELECT sex, count(*), min(age) FROM old GROUP BY sex ORDER BY sex"]);
    let rows = csv_rows(&out);
    let women: u64 = rows[0][1].parse().expect("count");
    assert_eq!(rows[0][0], "Female");
    assert!((1200..1400).contains(&women), "women among 85+: {women}");
    assert!(rows.iter().all(|r| r[2].parse::<i64>().expect("age") >= 85));
    // Proportional quotas: every weight is 1 up to the rounding of the quotas.
    let out = ok(&db, &["sql", "-o", "csv", "SELECT min(weight), max(weight), sum(weight) FROM old"]);
    let w: Vec<f64> = csv_rows(&out)[0].iter().map(|v| v.parse().expect("weight")).collect();
    assert!(w[0] > 0.999 && w[1] < 1.001, "proportional weights {w:?}");
    assert!((w[2] - 2000.0).abs() < 1e-6, "weights add up to n: {}", w[2]);
    user_error(
        &db,
        &["generate", "--narrator", "none", "-n", "10", "--strata", "shoe_size", "--table", "x"],
        "shoe_size",
    );
    user_error(
        &db,
        &["generate", "--narrator", "none", "-n", "10", "--strata", "sex", "--allocation", "fair", "--table", "x"],
        "fair",
    );
}
