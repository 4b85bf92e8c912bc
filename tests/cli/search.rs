//! Embedding columns from `generate --embed`, search and indexes, Japanese text and hybrid search.

use super::*;

#[test]
fn generate_with_embedding_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(
        &db,
        &[
            "generate",
            "-n",
            "40",
            "--seed",
            "2",
            "--narrator",
            "template",
            "--embed",
            "persona,culinary_persona",
            "--embed-model",
            "all-MiniLM-L6-v2",
            "-q",
        ],
    );
    // One 384-dimension vector per row and field: the embedding of that row's text.
    let out = ok(
        &db,
        &[
            "sql",
            "-o",
            "csv",
            // (In a subquery: DataFusion 54 names two async calls inside aggregates alike and
            // mixes their results up; projections are unaffected.)
            "SELECT count(*), min(n), max(a) < 0.0001, max(b) < 0.0001 FROM (SELECT array_length(persona_embedding) AS n, \
             cosine_distance(persona_embedding, embed(persona)) AS a, \
             cosine_distance(culinary_persona_embedding, embed(culinary_persona)) AS b FROM personas)",
        ],
    );
    assert_eq!(csv_rows(&out)[0], vec!["40", "384", "true", "true"]);
    // By default: template narratives, and every prose field embedded by the static model of
    // the locale's language (256 dimensions), searched with that model.
    ok(&db, &["generate", "-n", "30", "--seed", "3", "--table", "defaults", "-q"]);
    let out = ok(
        &db,
        &[
            "sql",
            "-o",
            "csv",
            "SELECT array_length(persona_embedding), array_length(career_goals_and_ambitions_embedding), \
             length(culinary_persona) > 20 FROM defaults LIMIT 1",
        ],
    );
    assert_eq!(csv_rows(&out)[0], vec!["256", "256", "true"]);
    let found =
        ok(&db, &["search", "a nurse", "--table", "defaults", "--field", "travel_persona", "-k", "3", "-o", "csv"]);
    assert_eq!(csv_rows(&found).len(), 3, "{found}");
    // Personas inserted from sample_persona get their narratives and embeddings from the table.
    ok(&db, &["sql", "INSERT INTO defaults SELECT * FROM sample_persona(5, 'us', 77)"]);
    let out = ok(
        &db,
        &[
            "sql",
            "-o",
            "csv",
            "SELECT count(*), count(persona), count(persona_embedding), count(hobbies_and_interests_list), \
             sum(CASE WHEN strpos(persona, first_name) > 0 THEN 1 ELSE 0 END) FROM defaults",
        ],
    );
    assert_eq!(csv_rows(&out)[0], vec!["35", "35", "35", "35", "35"]);
    // Appending keeps the columns' model; another model is refused.
    ok(&db, &["generate", "-n", "10", "--seed", "4", "--table", "defaults", "--append", "-q"]);
    user_error(
        &db,
        &["generate", "-n", "10", "--table", "defaults", "--append", "--embed-model", "all-MiniLM-L6-v2"],
        "static-all-MiniLM-L6-v2",
    );
    user_error(
        &db,
        &["generate", "-n", "5", "--table", "y", "--narrator", "template", "--embed", "biography"],
        "biography",
    );
    user_error(&db, &["generate", "--narrator", "none", "-n", "5", "--table", "z", "--embed", "persona"], "--narrator");
}

#[test]
fn search_and_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "-n", "400", "--seed", "5", "--narrator", "template", "--embed", "persona", "-q"]);
    let search = |extra: &[&str]| {
        let mut args = vec![
            "search",
            "retired nurse who loves gardening",
            "--field",
            "persona",
            "-o",
            "csv",
            "--columns",
            "uuid,age,state",
        ];
        args.extend_from_slice(extra);
        csv_rows(&ok(&db, &args))
    };
    // k rows, nearest first, every one matching the filter even when few rows match it.
    let matching =
        csv_rows(&ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas WHERE age > 60 AND sex = 'Female'"]))[0]
            [0]
        .parse::<usize>()
        .expect("count");
    assert!(matching >= 10, "{matching}");
    let rows = search(&["-k", "10", "--where", "age > 60 AND sex = 'Female'"]);
    assert_eq!(rows.len(), 10, "{rows:?}");
    let distances: Vec<f64> = rows.iter().map(|r| r[0].parse().expect("distance")).collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    assert!(rows.iter().all(|r| r[2].parse::<i64>().expect("age") > 60));
    // The same search through the index gives (almost) the same rows; an appended persona
    // written for the query comes first, indexed or not.
    let exact: Vec<String> = search(&["-k", "10"]).iter().map(|r| r[1].clone()).collect();
    // Text mode: BM25 over the field's words, best first, every row holding one of them.
    let words = |extra: &[&str]| {
        let mut args =
            vec!["search", "retired nurse who loves gardening", "-o", "csv", "--columns", "uuid,age", "--width", "0"];
        args.extend_from_slice(extra);
        csv_records(&ok(&db, &args))
    };
    let text_rows = words(&["--mode", "text", "-k", "10", "--where", "age > 60"]);
    assert_eq!(text_rows.len(), 10, "{text_rows:?}");
    let scores: Vec<f64> = text_rows.iter().map(|r| r[0].parse().expect("score")).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores[9] > 0.0, "{scores:?}");
    assert!(text_rows.iter().all(|r| r[2].parse::<i64>().expect("age") > 60));
    assert!(
        text_rows
            .iter()
            .all(|r| ["nurs", "retir", "who", "garden", "love"].iter().any(|w| r[3].to_lowercase().contains(w))),
        "{text_rows:?}"
    );
    let scanned: Vec<String> = words(&["--mode", "text", "-k", "10"]).iter().map(|r| r[1].clone()).collect();
    // Hybrid: both rankings fused, best first; a fused score is at most 2/61.
    let hybrid = words(&["--mode", "hybrid", "-k", "10"]);
    assert_eq!(hybrid.len(), 10);
    let fused: Vec<f64> = hybrid.iter().map(|r| r[0].parse().expect("score")).collect();
    assert!(fused.windows(2).all(|w| w[0] >= w[1]) && fused[0] <= 2.0 / 61.0 + 1e-4, "{fused:?}");
    let built = ok(&db, &["index", "--force"]);
    assert!(built.contains("persona_embedding\tIVF_PQ\tbuilt"), "{built}");
    assert!(built.contains("persona\tFTS\tbuilt"), "{built}");
    let indexed: Vec<String> = search(&["-k", "10"]).iter().map(|r| r[1].clone()).collect();
    let overlap = indexed.iter().filter(|u| exact.contains(u)).count();
    assert!(overlap >= 8, "recall@10 of the index on 400 rows: {overlap}/10");
    // Through the full-text index (stemmed: "gardening" matches "garden"), best first, every
    // row holding one of the words. Lance's flat search (the scan above) scores with corpus
    // statistics of its own, so the two rankings differ in order; they still share rows.
    let by_index = words(&["--mode", "text", "-k", "10"]);
    let scores: Vec<f64> = by_index.iter().map(|r| r[0].parse().expect("score")).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores.len() == 10, "{scores:?}");
    assert!(
        by_index.iter().all(|r| ["nurs", "retir", "garden", "love"].iter().any(|w| r[3].to_lowercase().contains(w))),
        "{by_index:?}"
    );
    assert!(by_index.iter().any(|r| scanned.contains(&r[1])), "{by_index:?} vs {scanned:?}");
    ok(
        &db,
        &[
            "sql",
            "INSERT INTO personas (uuid, age, state, persona) VALUES ('new-1', 71, 'OH', \
             'A retired nurse who spends her days gardening, growing roses and tomatoes in her backyard.')",
        ],
    );
    let rows = search(&["-k", "3"]);
    assert_eq!(rows[0][1], "new-1", "{rows:?}");
    for mode in ["text", "hybrid"] {
        let rows = words(&["--mode", mode, "-k", "3"]);
        assert_eq!(rows[0][1], "new-1", "{mode}: {rows:?}");
    }
    let updated = ok(&db, &["index"]);
    assert!(updated.contains("persona_embedding\tIVF_PQ\tupdated"), "{updated}");
    assert_eq!(search(&["-k", "3"])[0][1], "new-1");
    // Clear errors.
    user_error(&db, &["search", "nurse", "--field", "sports_persona"], "persona_embedding");
    user_error(&db, &["search", "nurse", "--table", "nope"], "nope");
    user_error(&db, &["search", "nurse", "-k", "0"], "between 1 and");
    user_error(&db, &["search", "nurse", "--where", "shoe_size > 3"], "shoe_size");
    user_error(&db, &["search", "nurse", "--where", "age >"], "filter `age >`");
    user_error(&db, &["search", "nurse", "--mode", "fuzzy"], "fuzzy");
    user_error(&db, &["search", "nurse", "--mode", "text", "--field", "age"], "not a text column");
    // A filter is one expression, never SQL text: it cannot end the statement and start another.
    let rows_before = ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas"]);
    for hostile in [
        "1=1 LIMIT 1; DROP TABLE personas; SELECT 1 AS _distance WHERE 1=1",
        "1=1) ; DROP TABLE personas; --",
        "age > 1 ORDER BY 1; DELETE FROM personas",
    ] {
        user_error(&db, &["search", "nurse", "--where", hostile], "filter");
    }
    user_error(&db, &["search", "nur'se", "--table", "personas'; DROP TABLE personas; --"], "invalid table name");
    assert_eq!(ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas"]), rows_before);
    assert!(db.join("personas.lance").is_dir());
    // Thousands of OR terms are refused before they are planned (they used to overflow a stack).
    let huge: Vec<String> = (0..2000).map(|i| format!("age = {}", 18 + i % 80)).collect();
    user_error(&db, &["search", "nurse", "--where", &huge.join(" OR ")], "operators");
}

/// Japanese is written without spaces: text search works through the full-text index that
/// `generate` builds on a Japanese table (ICU word segmentation), so a word inside a sentence is
/// found; hybrid search fuses it with the e5 vectors.
#[test]
fn japanese_text_and_hybrid_search() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let out = personadb(
        &db,
        &["generate", "--locale", "jp", "-n", "300", "--seed", "11", "--narrator", "template", "--embed", "persona"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("index persona (FTS): built"), "{stderr}");
    let search = |query: &str, extra: &[&str]| {
        let mut args = vec!["search", query, "-o", "csv", "--columns", "uuid,prefecture", "--width", "0"];
        args.extend_from_slice(extra);
        csv_records(&ok(&db, &args))
    };
    // 北海道 sits inside 「…は北海道に暮らす…」: every row found holds it, as many as the table has.
    let holders =
        csv_rows(&ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas WHERE persona LIKE '%北海道%'"]))[0][0]
            .parse::<usize>()
            .expect("count");
    assert!(holders >= 3, "{holders}");
    let rows = search("北海道", &["--mode", "text", "-k", "50"]);
    assert_eq!(rows.len(), holders, "{rows:?}");
    assert!(rows.iter().all(|r| r[3].contains("北海道") && r[2] == "北海道"), "{rows:?}");
    let scores: Vec<f64> = rows.iter().map(|r| r[0].parse().expect("score")).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores[0] > 0.0, "{scores:?}");
    // A filter restricts the rows searched.
    let old = search("北海道", &["--mode", "text", "-k", "50", "--where", "age >= 60"]);
    assert!(old.len() < rows.len() && old.iter().all(|r| r[3].contains("北海道")), "{old:?}");
    // A sentence-long query ranks the rows that share most of it first: a row with both the place
    // and the verb comes before rows that share only one of them.
    let asked = search("北海道に暮らす人", &["--mode", "text", "-k", "5"]);
    assert!(asked[0][3].contains("北海道") && asked[0][3].contains("暮らす"), "{asked:?}");
    assert!(asked.iter().all(|r| r[3].contains("北海道") || r[3].contains("暮らす")), "{asked:?}");
    // Hybrid: both rankings fused, best first, the best text match among them.
    let hybrid = search("北海道に暮らす人", &["--mode", "hybrid", "-k", "10"]);
    assert_eq!(hybrid.len(), 10);
    let fused: Vec<f64> = hybrid.iter().map(|r| r[0].parse().expect("score")).collect();
    assert!(fused.windows(2).all(|w| w[0] >= w[1]), "{fused:?}");
    assert!(hybrid.iter().any(|r| r[1] == asked[0][1]), "the best text match is fused in: {hybrid:?}");
    // The same through SQL.
    let sql = "SELECT count(*) FROM text_search('personas', 'persona', '北海道', 50)";
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", sql]))[0][0], holders.to_string());
}
