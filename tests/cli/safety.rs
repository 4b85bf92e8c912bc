//! Hostile SQL that cannot destroy data, locales by alias, read-only databases.

use super::*;

#[test]
fn hostile_sql_cannot_destroy_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "--narrator", "none", "-n", "1000"]);
    // Appending with the same (default) seed adds new personas; it never repeats one.
    ok(&db, &["generate", "--narrator", "none", "-n", "1000", "--append"]);
    let counts = "SELECT count(*), count(DISTINCT uuid) FROM personas";
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", counts]))[0], vec!["2000", "2000"]);
    // An INSERT of personas the table already has is refused whole.
    user_error(&db, &["sql", "INSERT INTO personas SELECT * FROM sample_persona(1000, 'us', 0)"], "repeat the persona");
    user_error(&db, &["sql", "INSERT INTO personas SELECT * FROM personas LIMIT 3"], "repeat the persona");
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", counts]))[0], vec!["2000", "2000"]);
    ok(&db, &["sql", "INSERT INTO personas SELECT * FROM sample_persona(10, 'us', 99)"]);
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", counts]))[0], vec!["2010", "2010"]);
    // Nothing is written inside the database directory by SQL, however the path is spelt.
    let catalog = db.join("catalog.sqlite");
    let inside = [
        catalog.display().to_string(),
        format!("{}/../db/catalog.sqlite", db.join("personas.lance").display()),
        format!("file://{}", catalog.display()),
        format!("{}/x.csv", db.display()),
    ];
    for target in &inside {
        let copy = format!("COPY (SELECT 1 AS a) TO '{target}' STORED AS CSV");
        user_error(&db, &["sql", &copy], "inside the database directory");
    }
    let external = format!("CREATE EXTERNAL TABLE c STORED AS CSV LOCATION '{}'", catalog.display());
    user_error(&db, &["sql", &external], "inside the database directory");
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", counts]))[0], vec!["2010", "2010"]);
    // A COPY where no file can be written fails at once with the reason (it used to spin forever).
    user_error(&db, &["sql", "COPY (SELECT 1 AS a) TO '/proc/nope.csv'"], "cannot write a file in /proc");
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, "x").expect("write");
    let below = format!("COPY (SELECT 1 AS a) TO '{}/x.csv'", plain.display());
    user_error(&db, &["sql", &below], "cannot create the folder");
    // A script piped into the shell fails when one of its statements does.
    let mut shell = Command::new(env!("CARGO_BIN_EXE_personadb"))
        .arg("--db")
        .arg(&db)
        .arg("shell")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shell");
    std::io::Write::write_all(&mut shell.stdin.take().expect("stdin"), b"SELEC 1;\nSELECT 1;\n").expect("write");
    let out = shell.wait_with_output().expect("shell");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SELEC"));
    // A missing argument is named.
    user_error(&db, &["generate", "--narrator", "none", "--table", "x"], "--count");
    // Conditioning on thousands of OR terms is refused, in SQL and on the command line.
    let huge: Vec<String> = (0..2000).map(|i| format!("age = {}", 18 + i % 80)).collect();
    let given = huge.join(" OR ");
    let sql = format!("SELECT count(*) FROM sample_persona(10, 'us', 1, '{given}')");
    user_error(&db, &["sql", &sql], "operators");
    let huge: Vec<String> = (0..10_000).map(|i| format!("age = {}", 18 + i % 80)).collect();
    user_error(
        &db,
        &["generate", "--narrator", "none", "-n", "10", "--table", "t", "--given", &huge.join(" OR ")],
        "operators",
    );
}

#[test]
fn locales_are_listed_and_named_by_alias() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let out = ok(&db, &["locales"]);
    assert!(out.contains("us (en_US): US adults"), "{out}");
    assert!(out.contains("  columns: uuid, first_name, middle_name, last_name, sex, age"), "{out}");
    assert!(out.contains("U.S. Census Bureau"), "{out}");
    let json: serde_json::Value = serde_json::from_str(&ok(&db, &["locales", "--json"])).expect("json");
    let us = json.as_array().and_then(|a| a.iter().find(|l| l["name"] == "us")).expect("us listed");
    assert_eq!(us["aliases"][0], "en_US");
    user_error(
        &db,
        &["generate", "--narrator", "none", "-n", "5", "--locale", "xx"],
        "unknown locale 'xx' (available: br (pt_BR), in (en_IN, hi_Deva_IN, hi_Latn_IN), jp (ja_JP), sg (en_SG), us (en_US))",
    );
    user_error(&db, &["sql", "SELECT * FROM sample_persona(5, 'zz', 1)"], "unknown locale 'zz'");
    // An alias names the same pack: same rows, and the table records the pack's name.
    ok(&db, &["generate", "--narrator", "none", "-n", "50", "--locale", "en-US", "--seed", "3", "--table", "a"]);
    ok(&db, &["generate", "--narrator", "none", "-n", "50", "--locale", "us", "--seed", "3", "--table", "b"]);
    let same = "SELECT count(*) FROM a JOIN b ON a.uuid = b.uuid AND a.occupation = b.occupation";
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", same]))[0][0], "50");
    assert!(ok(&db, &["tables", "-o", "csv"]).lines().any(|l| l.starts_with("a,50,") && l.contains(",us,")));
    // A pack that writes several languages: the same persons, narratives in the chosen one, and
    // the table records the alias that selects it.
    let in_table = |table: &str, language: &[&str]| {
        let mut args =
            vec!["generate", "--embed", "none", "-n", "20", "--locale", "in", "--seed", "3", "--table", table];
        args.extend_from_slice(language);
        ok(&db, &args);
    };
    in_table("h", &["--language", "hi-Deva"]);
    in_table("e", &[]);
    assert!(ok(&db, &["tables", "-o", "csv"]).lines().any(|l| l.starts_with("h,20,") && l.contains(",hi_Deva_IN,")));
    let same = "SELECT count(*) FROM h JOIN e ON h.uuid = e.uuid AND h.district = e.district \
                AND h.persona <> e.persona AND h.persona LIKE '%है%' AND e.persona NOT LIKE '%है%'";
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", same]))[0][0], "20");
    // The alias alone chooses the language, as --language does.
    ok(&db, &["generate", "--embed", "none", "-n", "20", "--locale", "hi_Deva_IN", "--seed", "3", "--table", "a2"]);
    let alias = "SELECT count(*) FROM h JOIN a2 ON h.uuid = a2.uuid AND h.persona = a2.persona";
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", alias]))[0][0], "20");
    user_error(
        &db,
        &["generate", "-n", "5", "--locale", "in", "--language", "ja", "--table", "j"],
        "locale 'in' has no narrative language 'ja' (languages: en, hi-Deva, hi-Latn)",
    );
}

/// A database the user may read but not write (another user's, a read-only mount) answers
/// queries, refuses changes with a clear error, and is left exactly as it was. As root, the
/// commands run as `nobody` (root may write anything); otherwise the files lose write permission.
#[test]
fn read_only_database_is_queryable_and_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "-n", "300", "--narrator", "none", "--seed", "4"]);
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let mut paths = vec![dir.path().to_path_buf()];
    let mut stack = vec![db.clone()];
    while let Some(p) = stack.pop() {
        paths.push(p.clone());
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).expect("read_dir").map(|e| e.expect("entry").path()));
        }
    }
    for p in &paths {
        let mode = if p.is_dir() { 0o555 } else { 0o444 };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(if root { mode | 0o200 } else { mode }))
            .expect("chmod");
    }
    let snapshot = || {
        let mut listing: Vec<(String, u64, std::time::SystemTime)> = paths
            .iter()
            .filter(|p| p.is_file())
            .map(|p| {
                let m = std::fs::metadata(p).expect("metadata");
                (p.display().to_string(), m.len(), m.modified().expect("mtime"))
            })
            .collect();
        listing.sort();
        (listing, std::fs::read_dir(&db).expect("db").count())
    };
    let before = snapshot();
    // As root: a copy of the binary that `nobody` may run, run as `nobody`.
    let exe = if root {
        let copy = dir.path().join("personadb");
        std::fs::copy(env!("CARGO_BIN_EXE_personadb"), &copy).expect("copy binary");
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        copy
    } else {
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_personadb"))
    };
    let run = |args: &[&str]| -> Output {
        let mut command = if root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        command.arg("--db").arg(&db).args(args).env("HOME", dir.path()).output().expect("run personadb")
    };
    let out = run(&["sql", "SELECT count(*) AS n, count(DISTINCT uuid) AS u FROM personas", "-o", "csv"]);
    assert!(out.status.success(), "a read-only database answers queries: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n,u\n300,300\n");
    let out = run(&["tables"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("personas"));
    let out = run(&["check"]);
    assert!(out.status.success(), "check reads a read-only database: {}", String::from_utf8_lossy(&out.stderr));
    for args in [
        &["sql", "CREATE TABLE t AS SELECT 1 AS a"][..],
        &["sql", "INSERT INTO personas SELECT * FROM sample_persona(2, 'us', 9)"],
        &["sql", "DROP TABLE personas"],
        &["generate", "-n", "10", "--narrator", "none", "--append"],
        &["check", "--repair"],
    ] {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains("is read-only here"), "{args:?}: {stderr}");
    }
    assert_eq!(snapshot(), before, "nothing in the database changed");
    for p in &paths {
        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
    }
}
