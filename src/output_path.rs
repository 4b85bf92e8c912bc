//! Where SQL may touch files: `COPY ... TO` and `CREATE EXTERNAL TABLE ... LOCATION` are
//! checked before they run, so no statement ever writes inside the database directory (only
//! the engine does: a CSV written over `catalog.sqlite` would lock every table out), and a
//! COPY whose folder cannot hold a file fails with the reason instead of retrying forever
//! (object_store's local writer loops on `mkdir` when the folder exists but refuses files, as
//! `/proc` does).

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The absolute, symlink-free form of `path` (relative to the current directory), for a path
/// that may not exist yet: the deepest existing ancestor is canonicalised and the rest is
/// appended with `.` and `..` resolved by name.
pub fn resolve(path: &Path) -> Result<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_err(|e| Error::io("reading the current directory", e))?.join(path)
    };
    let mut existing = absolute.as_path();
    let mut rest: Vec<Component> = Vec::new();
    let base = loop {
        match existing.canonicalize() {
            Ok(p) => break p,
            Err(_) => match (existing.parent(), existing.components().next_back()) {
                (Some(parent), Some(last)) => {
                    rest.push(last);
                    existing = parent;
                }
                _ => break existing.to_path_buf(),
            },
        }
    };
    let mut out = base;
    for c in rest.into_iter().rev() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    Ok(out)
}

/// A local path from a URL or path as SQL gives it (`file:///x`, `/x`, `x/y`); `None` for other
/// schemes (`s3://...`), which are not on this machine's disk.
fn local_path(url: &str) -> Option<PathBuf> {
    if let Some(rest) = url.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    match url.split_once("://") {
        Some((scheme, _)) if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+') => {
            None
        }
        _ => Some(PathBuf::from(url)),
    }
}

/// Refuses `url` when it lies inside the database directory `db`.
pub fn check_outside(db: &Path, url: &str, what: &str) -> Result<()> {
    let Some(path) = local_path(url) else { return Ok(()) };
    if crate::remote::is_remote(db) {
        // A database on object storage has no local directory to protect.
        return Ok(());
    }
    let target = resolve(&path)?;
    let db = resolve(db)?;
    if target.starts_with(&db) {
        return Err(Error::InvalidArgument {
            name: format!("{what} '{}'", crate::error::shorten(url, 120)),
            reason: format!(
                "it is inside the database directory {}, which only personadb itself writes; choose a path outside it",
                db.display()
            ),
        });
    }
    Ok(())
}

/// Checks that `COPY ... TO url` can write where it will: outside the database directory, in a
/// folder that exists or can be made, and that accepts a new file. `single_file` is
/// DataFusion's choice for the URL (a path with an extension and no trailing `/`, unless the
/// statement says otherwise); otherwise the URL is a folder of files.
pub fn check_copy_target(db: &Path, url: &str, single_file: bool) -> Result<()> {
    check_outside(db, url, "COPY target")?;
    let Some(path) = local_path(url) else { return Ok(()) };
    let folder = if single_file {
        resolve(&path)?.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"))
    } else {
        resolve(&path)?
    };
    let fail = |doing: String, e: std::io::Error| Error::InvalidArgument {
        name: format!("COPY target '{}'", crate::error::shorten(url, 120)),
        reason: format!("{doing}: {e}"),
    };
    std::fs::create_dir_all(&folder).map_err(|e| fail(format!("cannot create the folder {}", folder.display()), e))?;
    if !folder.is_dir() {
        return Err(Error::InvalidArgument {
            name: format!("COPY target '{}'", crate::error::shorten(url, 120)),
            reason: format!("{} is not a folder", folder.display()),
        });
    }
    let probe = folder.join(format!(".personadb-write-check-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| fail(format!("cannot write a file in {}", folder.display()), e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// DataFusion's rule for whether `COPY ... TO url` writes one file or a folder of files.
pub fn copy_is_single_file(url: &str, options: &std::collections::HashMap<String, String>) -> bool {
    let explicit = options
        .iter()
        .find(|(k, _)| k.ends_with("single_file_output"))
        .map(|(_, v)| v.trim().eq_ignore_ascii_case("true"));
    explicit.unwrap_or_else(|| {
        let name = url.rsplit('/').next().unwrap_or("");
        !url.ends_with('/') && name.contains('.') && !name.ends_with('.')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths_that_do_not_exist_yet() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("db");
        std::fs::create_dir(&db).expect("mkdir");
        let sneaky = format!("{}/new/../db/catalog.sqlite", dir.path().display());
        assert!(check_outside(&db, &sneaky, "COPY target").is_err());
        assert!(check_outside(&db, &format!("file://{}/db/x.csv", dir.path().display()), "COPY target").is_err());
        assert!(check_outside(&db, &format!("{}/db", dir.path().display()), "COPY target").is_err());
        assert!(check_outside(&db, &format!("{}/dbx/x.csv", dir.path().display()), "COPY target").is_ok());
        assert!(check_outside(&db, "s3://bucket/db/x.csv", "COPY target").is_ok());
    }

    #[test]
    fn a_symlink_into_the_database_is_caught() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("db");
        std::fs::create_dir(&db).expect("mkdir");
        std::os::unix::fs::symlink(&db, dir.path().join("link")).expect("symlink");
        let via_link = format!("{}/link/catalog.sqlite", dir.path().display());
        assert!(check_outside(&db, &via_link, "COPY target").is_err());
    }

    #[test]
    fn copy_targets_that_cannot_hold_a_file_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("db");
        let file = dir.path().join("plain");
        std::fs::write(&file, "x").expect("write");
        let below_file = format!("{}/out.csv", file.display());
        let e = check_copy_target(&db, &below_file, true).expect_err("below a file");
        assert!(e.to_string().contains("cannot create the folder"), "{e}");
        let e = check_copy_target(&db, "/proc/nope.csv", true).expect_err("/proc");
        assert!(e.to_string().contains("cannot write a file in /proc"), "{e}");
        assert!(check_copy_target(&db, &format!("{}/sub/out.csv", dir.path().display()), true).is_ok());
        assert!(dir.path().join("sub").is_dir());
    }

    #[test]
    fn single_file_follows_datafusion() {
        let none = std::collections::HashMap::new();
        assert!(copy_is_single_file("out/x.csv", &none));
        assert!(!copy_is_single_file("out/x/", &none));
        assert!(!copy_is_single_file("out/x", &none));
        let forced = std::collections::HashMap::from([("format.single_file_output".to_string(), "true".to_string())]);
        assert!(copy_is_single_file("out/x", &forced));
    }
}
