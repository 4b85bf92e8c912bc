//! The command line as a new user drives it: generate, query, insert, export, and bad input
//! that must give one line on stderr and exit code 1, never a panic.

mod embed;
mod evaluation;
mod narrate;
mod query;
mod safety;
mod search;

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn personadb(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_personadb"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("PERSONADB_DATASETS")
        .output()
        .expect("run personadb")
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = personadb(db, args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn user_error(db: &Path, args: &[&str], expect: &str) {
    let out = personadb(db, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: one line expected, got {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(expect), "{args:?}: expected '{expect}' in {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

/// CSV records with quoted fields (texts with commas), header left out.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("csv record").iter().map(str::to_string).collect())
        .collect()
}

/// Census adult shares of the five largest states, from the derived table.
fn census_state_shares() -> std::collections::HashMap<String, f64> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/us/population_state_sex_age.csv"))
            .expect("derived table");
    let mut m = std::collections::HashMap::new();
    let mut total = 0.0;
    for row in csv_rows(&text) {
        let w: f64 = row[3].parse().expect("weight");
        *m.entry(row[0].clone()).or_insert(0.0) += w;
        total += w;
    }
    m.values_mut().for_each(|v| *v /= total);
    m
}
