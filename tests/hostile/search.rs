//! Hostile `search --where` filters and search arguments, and `given` expressions in every locale.

use super::*;

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
