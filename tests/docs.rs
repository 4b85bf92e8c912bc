//! Documentation that must stay true: the generated SQL function reference, the README's
//! three commands, and the provenance of the derived tables.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn sql_function_reference_is_current() {
    let expected = personadb_udfs::sql_reference_markdown();
    let path = root().join("docs/sql-functions.md");
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    if actual != expected && std::env::var_os("PERSONADB_BLESS").is_some() {
        std::fs::write(&path, &expected).expect("write reference");
        return;
    }
    assert_eq!(actual, expected, "docs/sql-functions.md is stale: run `PERSONADB_BLESS=1 cargo test --test docs`");
}

#[test]
fn every_sql_function_has_an_slt_file() {
    for doc in personadb_udfs::all_docs() {
        let path = root().join("sql").join(format!("{}.slt", doc.name));
        assert!(path.is_file(), "missing {}", path.display());
    }
}

#[test]
fn readme_has_setup_run_and_test_commands() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    assert!(readme.contains("./setup.sh"));
    assert!(readme.contains("cargo run -q -- generate"));
    assert!(readme.contains("cargo test --workspace"));
    let ci = std::fs::read_to_string(root().join(".ci/run")).expect(".ci/run");
    assert!(ci.contains("cargo test --workspace"), ".ci/run runs the README's test command");
}

/// Every derived table of every pack is listed in its manifest with the SHA-256 of its current
/// content, and every manifest source's SHA-256 matches the raw file when the raw data is present.
#[test]
fn manifest_matches_derived_tables_and_raw_inputs() {
    for locale in personadb::locale::available() {
        let dir = root().join("datasets").join(locale);
        let manifest: personadb::derive::Manifest =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("manifest")).expect("json");
        assert!(!manifest.sources.is_empty() && !manifest.tables.is_empty(), "{locale}");
        for t in &manifest.tables {
            let bytes = std::fs::read(dir.join(&t.file)).expect("derived table");
            assert_eq!(
                personadb::derive::sha256_bytes(&bytes),
                t.sha256,
                "{locale}: {} changed since derivation",
                t.file
            );
            for s in &t.sources {
                assert!(manifest.sources.iter().any(|x| &x.id == s), "{locale}: {}: unknown source {s}", t.file);
            }
        }
        let raw = root().join("../shared/data");
        if raw.is_dir() {
            for (path, check) in personadb::derive::verify_sources(&manifest, &raw).expect("verify") {
                assert_eq!(check, personadb::derive::SourceCheck::Matches, "{locale}: {path}");
            }
        }
    }
}

/// Re-deriving every pack from the raw data reproduces the committed tables byte for byte.
#[test]
fn derivation_is_reproducible() {
    let raw = root().join("../shared/data");
    if !raw.is_dir() {
        eprintln!("raw data not present; skipping");
        return;
    }
    for locale in personadb::locale::available() {
        let out = tempfile::tempdir().expect("tempdir");
        let report = personadb::derive::derive(locale, &raw, out.path()).expect("derive");
        for t in &report.tables {
            let fresh = std::fs::read(out.path().join(&t.file)).expect("fresh");
            let committed = std::fs::read(root().join("datasets").join(locale).join(&t.file)).expect("committed");
            assert!(fresh == committed, "{locale}: {} differs from a fresh derivation", t.file);
        }
        let fresh = std::fs::read_to_string(out.path().join("manifest.json")).expect("manifest");
        let committed =
            std::fs::read_to_string(root().join("datasets").join(locale).join("manifest.json")).expect("manifest");
        assert_eq!(fresh, committed, "{locale}");
    }
}
