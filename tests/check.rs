//! `personadb check [--repair]` on databases damaged the ways issue 18 found: a table
//! directory deleted, a CREATE TABLE stopped before its first commit, a data file deleted,
//! and a catalog overwritten. Each is found, each is mended by --repair without losing a
//! readable row, and the database works afterwards.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn personadb(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_personadb")).arg("--db").arg(db).args(args).output().expect("run personadb")
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = personadb(db, args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `check` (or `check --repair`): its exit code and report.
fn check(db: &Path, repair: bool) -> (bool, String) {
    let args: &[&str] = if repair { &["check", "--repair"] } else { &["check"] };
    let out = personadb(db, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.success(), format!("{}{stderr}", String::from_utf8_lossy(&out.stdout)))
}

fn count(db: &Path, table: &str) -> String {
    ok(db, &["sql", "-o", "csv", &format!("SELECT count(*) AS n FROM {table}")])
        .lines()
        .nth(1)
        .unwrap_or("")
        .to_string()
}

fn data_files(table: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(table.join("data")).expect("data dir").flatten().map(|e| e.path()).collect();
    files.sort();
    files
}

#[test]
fn a_healthy_database_checks_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "--narrator", "none", "-n", "300", "--seed", "1", "--table", "people"]);
    let (clean, report) = check(&db, false);
    assert!(clean, "{report}");
    assert!(report.contains("1 table(s) read whole (300 rows); 0 problem(s)"), "{report}");
}

#[test]
fn lost_directories_half_made_tables_and_lost_fragments_are_found_and_mended() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "--narrator", "none", "-n", "300", "--seed", "1", "--table", "people"]);
    ok(&db, &["generate", "--narrator", "none", "-n", "200", "--seed", "2", "--table", "people", "--append"]);
    ok(&db, &["generate", "--narrator", "none", "-n", "50", "--seed", "3", "--table", "gone"]);
    ok(&db, &["sql", "CREATE TABLE half AS SELECT 1 AS a"]);
    // A table without a committed version that was just written: a writer may still be at
    // it, so it is left alone.
    std::fs::remove_dir_all(db.join("half.lance/_versions")).expect("rm versions");
    let (clean, report) = check(&db, true);
    assert!(!clean && report.contains("a writer may still be at work"), "{report}");
    assert!(db.join("half.lance").is_dir(), "a table being written was touched");
    let aged = Command::new("find")
        .arg(db.join("half.lance"))
        .args(["-exec", "touch", "-h", "-d", "10 minutes ago", "{}", "+"])
        .status()
        .expect("find");
    assert!(aged.success());
    // The rest of the damage: a table directory deleted, a data file of the appended fragment
    // deleted.
    std::fs::remove_dir_all(db.join("gone.lance")).expect("rm gone");
    let files = data_files(&db.join("people.lance"));
    assert_eq!(files.len(), 2, "one data file per commit: {files:?}");
    std::fs::remove_file(&files[1]).expect("rm data file");

    let (clean, report) = check(&db, false);
    assert!(!clean, "{report}");
    assert!(report.contains("'gone' but its gone.lance directory is gone: repairable"), "{report}");
    assert!(report.contains("table 'half' has no committed version"), "{report}");
    assert!(report.contains("table 'people': 1 of 2 fragments cannot be read"), "{report}");
    assert!(report.contains("check --repair"), "{report}");

    let (clean, report) = check(&db, true);
    assert!(clean, "{report}");
    assert_eq!(report.matches(": repaired: ").count(), 3, "{report}");
    // The readable rows stay; the database works; a second check is clean.
    let kept = count(&db, "people");
    assert!(kept == "300" || kept == "200", "the intact fragment's rows remain: {kept}");
    let tables = ok(&db, &["tables"]);
    assert!(tables.contains("people") && !tables.contains("gone") && !tables.contains("half"), "{tables}");
    let (clean, report) = check(&db, false);
    assert!(clean && report.contains("0 problem(s)"), "{report}");
    ok(&db, &["generate", "--narrator", "none", "-n", "10", "--seed", "4", "--table", "half"]);
}

#[test]
fn a_damaged_catalog_is_rebuilt_from_the_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "--narrator", "none", "-n", "120", "--seed", "1", "--table", "people"]);
    ok(&db, &["generate", "--narrator", "none", "-n", "30", "--locale", "br", "--seed", "1", "--table", "pessoas"]);
    std::fs::write(db.join("catalog.sqlite"), b"a,b\n1,2\n").expect("overwrite the catalog");
    assert!(!personadb(&db, &["tables"]).status.success(), "a damaged catalog must be noticed");

    let (clean, report) = check(&db, false);
    assert!(!clean && report.contains("repairable: set it aside and rebuild the catalog"), "{report}");
    let (clean, report) = check(&db, true);
    assert!(clean, "{report}");
    assert!(report.contains("repaired: set it aside and rebuild"), "{report}");
    assert!(report.contains("locale us") && report.contains("locale br"), "{report}");
    assert_eq!(count(&db, "people"), "120");
    assert_eq!(count(&db, "pessoas"), "30");
    let kept: Vec<_> = std::fs::read_dir(&db)
        .expect("db dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("catalog.sqlite.damaged-"))
        .collect();
    assert_eq!(kept.len(), 1, "the damaged catalog is kept beside the new one");
}
