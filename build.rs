//! Finds the locale packs at build time: every folder `datasets/<locale>/` with a
//! `network.json` whose cargo feature `locale-<locale>` is on becomes one gzip-compressed
//! archive in OUT_DIR, embedded by `src/locale.rs`. A new locale is a new folder (and a feature
//! line in Cargo.toml); no Rust changes. Raw sources kept for provenance
//! (`datasets/<locale>/sources/`) stay out of the binary.
//!
//! Archive layout (before compression), per file in path order: u32 path length, path bytes
//! (`/`-separated, relative to the pack), u64 content length, content.

use std::io::Write;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let datasets = root.join("datasets");
    println!("cargo:rerun-if-changed=datasets");
    let mut locales: Vec<String> = std::fs::read_dir(&datasets)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().join("network.json").is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    locales.sort();
    let mut table = String::from("/// (locale, gzip archive of its pack) for every locale compiled in.\n");
    table.push_str("pub static EMBEDDED: &[(&str, &[u8])] = &[\n");
    for locale in &locales {
        let feature = format!("CARGO_FEATURE_LOCALE_{}", locale.to_uppercase().replace('-', "_"));
        if std::env::var_os(&feature).is_none() {
            continue;
        }
        let dir = datasets.join(locale);
        let mut files = Vec::new();
        collect(&dir, &dir, &mut files);
        files.sort();
        let mut raw = Vec::new();
        for (name, path) in &files {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            raw.extend_from_slice(&(name.len() as u32).to_le_bytes());
            raw.extend_from_slice(name.as_bytes());
            raw.extend_from_slice(&(data.len() as u64).to_le_bytes());
            raw.extend_from_slice(&data);
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(&raw).expect("compressing in memory");
        let packed = gz.finish().expect("compressing in memory");
        let file = out.join(format!("{locale}.pack.gz"));
        std::fs::write(&file, packed).unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
        table.push_str(&format!(
            "    ({locale:?}, include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{locale}.pack.gz\"))),\n"
        ));
    }
    table.push_str("];\n");
    std::fs::write(out.join("packs.rs"), table).expect("writing packs.rs");
}

/// Every file below `dir`, as (path relative to `root` with `/`, full path); skips the raw
/// `sources/` folder at the top of a pack and hidden files.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || (dir == root && name == "sources") {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).expect("below the pack");
            let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            files.push((rel, path));
        }
    }
}
