//! The fastembed embedder with the model ./setup.sh installs: unit-length vectors of the
//! model's dimension, independent of batching and order, meaningful distances, and clear errors
//! for a wrong model folder or ONNX Runtime library.

use std::path::Path;

use personadb::embed::FastEmbedder;

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn vectors_are_unit_length_and_independent_of_batching() {
    let e = FastEmbedder::shared().expect("the model from ./setup.sh");
    assert_eq!(e.dimension(), 384);
    assert_eq!(e.model(), "sentence-transformers/all-MiniLM-L6-v2");
    let texts = [
        "A retired nurse from Ohio who spends her mornings in the garden.",
        "chess",
        "A software developer in Austin who plays pickup basketball on weekends and cooks Texas barbecue.",
        "",
        "a nurse who has retired",
    ];
    let together = e.embed(&texts).expect("embed");
    assert_eq!(together.len(), texts.len());
    for (t, v) in texts.iter().zip(&together) {
        assert_eq!(v.len(), 384);
        assert!((dot(v, v) - 1.0).abs() < 1e-4, "unit length for {t:?}");
        let alone = e.embed(&[t]).expect("embed one");
        assert!(dot(v, &alone[0]) > 0.9999, "same vector alone and in a batch for {t:?}");
    }
    let near = dot(&together[0], &together[4]);
    let far = dot(&together[0], &together[1]);
    assert!(near > far + 0.2, "nurse texts closer ({near}) than nurse vs chess ({far})");
    assert!(e.embed(&[]).expect("empty").is_empty());
}

#[test]
fn wrong_paths_are_clear_errors() {
    let ort = personadb::env::setting("ORT_DYLIB_PATH").expect("ORT_DYLIB_PATH (run ./setup.sh)");
    let dir = tempfile::tempdir().expect("tempdir");
    let err = FastEmbedder::load(Path::new(&ort), dir.path()).err().expect("empty folder").to_string();
    assert!(err.contains("tokenizer.json"), "{err}");
    let model_dir = personadb::env::setting("PERSONADB_MODEL_DIR").expect("PERSONADB_MODEL_DIR");
    let err = FastEmbedder::load(Path::new("/nonexistent/libonnxruntime.so"), Path::new(&model_dir))
        .err()
        .expect("missing library")
        .to_string();
    assert!(err.contains("/nonexistent/libonnxruntime.so"), "{err}");
    let bad = dir.path().join("model");
    std::fs::create_dir(&bad).expect("mkdir");
    for f in ["tokenizer.json", "config.json", "special_tokens_map.json", "tokenizer_config.json"] {
        std::fs::copy(Path::new(&model_dir).join(f), bad.join(f)).expect("copy");
    }
    std::fs::write(bad.join("model.onnx"), b"not an onnx model").expect("write");
    let err = FastEmbedder::load(Path::new(&ort), &bad).err().expect("corrupt model").to_string();
    assert!(err.contains("model"), "{err}");
}

/// A column whose recorded model is not the session's is refused, for search and for INSERT.
#[tokio::test]
async fn searching_or_extending_with_another_model_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = personadb::Database::open(dir.path().join("db")).expect("db");
    let session = personadb::PersonaSession::new(db.clone()).expect("session");
    session
        .sql("CREATE TABLE docs AS SELECT 'a retired nurse' AS text, embed('a retired nurse') AS text_embedding")
        .await
        .expect("create");
    let found = session
        .sql("SELECT count(*) FROM semantic_search('docs', 'text_embedding', 'nurse', 1)")
        .await
        .expect("search");
    assert_eq!(found[0].num_rows(), 1);
    // Pretend the column was written by another model of the same dimension.
    let conn = rusqlite::Connection::open(dir.path().join("db/catalog.sqlite")).expect("catalog");
    conn.execute("UPDATE embeddings SET model = 'intfloat/e5-small-v2' WHERE column_name = 'text_embedding'", [])
        .expect("update");
    drop(conn);
    let err =
        session.sql("SELECT * FROM semantic_search('docs', 'text_embedding', 'nurse', 1)").await.expect_err("refused");
    let msg = err.to_string();
    assert!(msg.contains("intfloat/e5-small-v2") && msg.contains("all-MiniLM-L6-v2"), "{msg}");
    let err = session.sql("INSERT INTO docs (text) VALUES ('a farmer')").await.expect_err("refused");
    assert!(err.to_string().contains("intfloat/e5-small-v2"), "{err}");
    let rows = session.sql("SELECT count(*) AS n FROM docs").await.expect("count");
    assert_eq!(arrow::util::pretty::pretty_format_batches(&rows).expect("fmt").to_string().matches(" 1 ").count(), 1);
}

#[test]
fn the_multilingual_model_ranks_portuguese_by_meaning() {
    let e = personadb::embed::by_name("multilingual-e5-small").expect("the e5 model from ./setup.sh");
    assert_eq!(e.model(), "intfloat/multilingual-e5-small");
    assert_eq!(e.dimension(), 384);
    let passages = [
        "Ela trabalha como enfermeira num hospital público de Salvador e cuida de pacientes idosos.",
        "Ele é pedreiro em Curitiba e passa os dias levantando paredes em obras pela cidade.",
        "Aos domingos ela prepara moqueca capixaba para a família reunida em Vitória.",
        "Ele torce para o Grêmio e não perde um jogo na Arena com os amigos.",
    ];
    let docs = e.embed(&passages).expect("embed passages");
    for v in &docs {
        assert!((dot(v, v) - 1.0).abs() < 1e-4, "unit length");
    }
    let queries = ["profissional de saúde", "construção civil", "culinária regional", "futebol"];
    let q = e.embed_queries(&queries).expect("embed queries");
    for (i, query) in queries.iter().enumerate() {
        let best = (0..passages.len()).max_by(|a, b| dot(&q[i], &docs[*a]).total_cmp(&dot(&q[i], &docs[*b])));
        assert_eq!(best, Some(i), "the query {query:?} finds its passage");
    }
    // Queries and passages carry different prefixes, so the same text embeds differently.
    let as_query = e.embed_queries(&[passages[0]]).expect("query");
    assert!(dot(&as_query[0], &docs[0]) < 0.9999, "the e5 prefixes are applied");
    // Unknown names are clear errors listing what exists.
    let err = personadb::embed::by_name("gpt-embed-9").err().expect("unknown").to_string();
    assert!(err.contains("unknown embedding model 'gpt-embed-9'") && err.contains("multilingual-e5-small"), "{err}");
}

/// The static tier ./setup.sh distils from each transformer: unit vectors of its dimension,
/// the same for a text alone or in a batch, deterministic, ranking by meaning in English and
/// Portuguese, and a clear error for a folder without a model.
#[test]
fn static_models_embed_by_meaning() {
    let en = personadb::embed::by_name("static-all-MiniLM-L6-v2").expect("the static model from ./setup.sh");
    assert_eq!(en.model(), personadb::embed::STATIC_MODEL);
    assert_eq!(en.dimension(), personadb::embed::STATIC_DIMENSION);
    let texts = [
        "A retired nurse from Ohio who spends her mornings in the garden.",
        "chess",
        "A software developer in Austin who plays pickup basketball on weekends.",
        "",
        "a nurse who has retired and grows tomatoes",
    ];
    let together = en.embed(&texts).expect("embed");
    for (t, v) in texts.iter().zip(&together) {
        assert_eq!(v.len(), personadb::embed::STATIC_DIMENSION);
        assert!((dot(v, v) - 1.0).abs() < 1e-4, "unit length for {t:?}");
        assert_eq!(&en.embed(&[t]).expect("alone")[0], v, "the same vector alone for {t:?}");
    }
    let near = dot(&together[0], &together[4]);
    let far = dot(&together[0], &together[1]);
    assert!(near > far + 0.2, "nurse texts closer ({near}) than nurse vs chess ({far})");
    // Many texts (the parallel path) give the same vectors as one by one.
    let many: Vec<String> = (0..3000).map(|i| format!("{} number {i}", texts[i % texts.len()])).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let batch = en.embed(&refs).expect("many");
    assert_eq!(batch[2999], en.embed(&[refs[2999]]).expect("one")[0]);

    let pt = personadb::embed::by_name("static-multilingual-e5-small").expect("the multilingual static model");
    let passages = [
        "Ela trabalha como enfermeira num hospital público de Salvador e cuida de pacientes idosos.",
        "Ele é pedreiro em Curitiba e passa os dias levantando paredes em obras pela cidade.",
        "Aos domingos ela prepara moqueca capixaba para a família reunida em Vitória.",
        "Ele torce para o Grêmio e não perde um jogo na Arena com os amigos.",
    ];
    let docs = pt.embed(&passages).expect("passages");
    let queries = ["enfermeira no hospital", "pedreiro em obras", "moqueca para a família", "torce para o Grêmio"];
    let q = pt.embed_queries(&queries).expect("queries");
    for (i, query) in queries.iter().enumerate() {
        let best = (0..passages.len()).max_by(|a, b| dot(&q[i], &docs[*a]).total_cmp(&dot(&q[i], &docs[*b])));
        assert_eq!(best, Some(i), "the query {query:?} finds its passage");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let err = personadb::embed::StaticEmbedder::load(dir.path(), "x").err().expect("no model").to_string();
    assert!(err.contains("model.safetensors"), "{err}");
}
