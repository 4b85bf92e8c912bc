//! Databases on S3-compatible object storage: `--db s3://bucket/prefix`.
//!
//! The layout is the local one, under a key prefix: one Lance dataset per table
//! (`<prefix>/<name>.lance/`, committed by Lance with conditional puts) and the catalog
//! (`<prefix>/catalog.sqlite`, the same SQLite file a local database has). A process works on a
//! private copy of the catalog and publishes each change with a conditional put on the version it
//! read (`If-Match` on the ETag; `If-None-Match: *` for a new database). When another process
//! changed the catalog in between, the put is refused: the copy is fetched again and the change is
//! made again on it, so no change is lost and none is applied twice.
//!
//! Credentials and endpoint come from the usual `AWS_*` environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`, ...) and from a storage
//! options file named by `PERSONADB_STORAGE_OPTIONS` (a JSON object of the same keys in lower case,
//! e.g. `{"aws_endpoint": "http://127.0.0.1:8333", "aws_allow_http": "true"}`), which wins over the
//! environment. Values are never printed: errors and `Debug` name keys only.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use object_store::aws::AmazonS3ConfigKey;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

use crate::error::{Error, Result};

/// The environment variable naming a storage options file.
pub const STORAGE_OPTIONS_ENV: &str = "PERSONADB_STORAGE_OPTIONS";

/// Whether a `--db` value names a database on object storage.
pub fn is_remote(location: &Path) -> bool {
    location.to_str().is_some_and(|s| s.starts_with("s3://"))
}

/// Options for the object store (keys of object_store's S3 configuration). `Debug` shows keys only.
#[derive(Clone, Default)]
pub struct StorageOptions(HashMap<String, String>);

impl std::fmt::Debug for StorageOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort();
        f.debug_struct("StorageOptions").field("keys", &keys).finish()
    }
}

impl StorageOptions {
    /// Options from a JSON object of strings; every key must be an S3 option.
    pub fn from_json(text: &str, source: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidArgument { name: format!("storage options {source}"), reason };
        // Where, not what: the text may hold a secret.
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| invalid(format!("not JSON (line {}, column {})", e.line(), e.column())))?;
        let object = value.as_object().ok_or_else(|| invalid("expected a JSON object of strings".into()))?;
        let mut options = HashMap::new();
        for (key, value) in object {
            if AmazonS3ConfigKey::from_str(key).is_err() {
                return Err(invalid(format!(
                    "unknown key '{}' (S3 options such as aws_endpoint, aws_region, aws_allow_http, \
                     aws_access_key_id, aws_secret_access_key)",
                    crate::error::shorten(key, 60)
                )));
            }
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                // The value is not shown: it may be a secret.
                _ => return Err(invalid(format!("the value of '{key}' is not a string"))),
            };
            options.insert(key.clone(), text);
        }
        Ok(StorageOptions(options))
    }

    /// The options named by [`STORAGE_OPTIONS_ENV`], or none.
    pub fn from_env() -> Result<Self> {
        match std::env::var_os(STORAGE_OPTIONS_ENV) {
            None => Ok(Self::default()),
            Some(path) if path.is_empty() => Ok(Self::default()),
            Some(path) => {
                let path = PathBuf::from(path);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| Error::io(format!("reading storage options {}", path.display()), e))?;
                Self::from_json(&text, &path.display().to_string())
            }
        }
    }

    /// The options as Lance takes them.
    pub fn to_map(&self) -> HashMap<String, String> {
        self.0.clone()
    }
}

/// A database location on object storage.
#[derive(Clone)]
pub struct Remote {
    /// `s3://bucket/prefix`, without a trailing slash.
    uri: String,
    /// Made on first use (see [`Remote::store`]); shared by clones.
    store: Arc<OnceLock<Arc<dyn ObjectStore>>>,
    prefix: ObjectPath,
    options: StorageOptions,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("uri", &self.uri).field("options", &self.options).finish()
    }
}

impl Remote {
    /// Connects to `s3://bucket[/prefix]` (nothing is read yet).
    pub fn new(location: &str, options: StorageOptions) -> Result<Self> {
        let invalid =
            |reason: &str| Error::InvalidArgument { name: format!("database {location}"), reason: reason.into() };
        let rest = location.strip_prefix("s3://").ok_or_else(|| invalid("not an s3:// location"))?;
        let rest = rest.trim_end_matches('/');
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid("no bucket: write s3://bucket/prefix"));
        }
        if prefix.split('/').any(|part| part.is_empty() || part == "." || part == "..") && !prefix.is_empty() {
            return Err(invalid("the prefix has an empty, '.' or '..' part"));
        }
        let prefix = ObjectPath::parse(prefix).map_err(|_| invalid("the prefix is not a valid object key"))?;
        Ok(Remote { uri: format!("s3://{rest}"), store: Default::default(), prefix, options })
    }

    /// The bucket's object store, made on first use by Lance's own S3 provider, so that the
    /// catalog is reached with exactly the credentials the tables are (environment, options,
    /// AWS_PROFILE, instance or web identity).
    fn store(&self) -> Result<Arc<dyn ObjectStore>> {
        if let Some(store) = self.store.get() {
            return Ok(store.clone());
        }
        let uri = self.uri.clone();
        let params = self.lance_params();
        let made = block_on(async move {
            let registry = Arc::new(lance::io::ObjectStoreRegistry::default());
            lance::io::ObjectStore::from_uri_and_params(registry, &uri, &params)
                .await
                .map(|(store, _)| store.inner.clone())
        })?
        .map_err(|e| Error::ObjectStore {
            location: self.uri.clone(),
            doing: "connecting".into(),
            reason: e.to_string(),
        })?;
        Ok(self.store.get_or_init(|| made).clone())
    }

    /// `s3://bucket/prefix`.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The storage options Lance gets (the environment is read by Lance itself).
    pub fn lance_options(&self) -> HashMap<String, String> {
        self.options.to_map()
    }

    /// Lance's store parameters for this location: the storage options (the environment is read
    /// by Lance itself).
    pub fn lance_params(&self) -> lance::io::ObjectStoreParams {
        lance::io::ObjectStoreParams {
            storage_options_accessor: Some(Arc::new(lance::io::StorageOptionsAccessor::with_static_options(
                self.lance_options(),
            ))),
            ..Default::default()
        }
    }

    /// The object key of a name under the prefix.
    fn key(&self, name: &str) -> ObjectPath {
        self.prefix.clone().join(name)
    }

    /// The names directly under the prefix (objects and "directories").
    pub fn list_names(&self) -> Result<Vec<String>> {
        let store = self.store()?;
        let prefix = self.prefix.clone();
        let listed = block_on(async move { store.list_with_delimiter(Some(&prefix)).await })?
            .map_err(|e| store_error(&self.uri, "listing", &e))?;
        let mut names: Vec<String> = listed
            .common_prefixes
            .iter()
            .chain(listed.objects.iter().map(|o| &o.location))
            .filter_map(|p| p.filename().map(str::to_string))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Whether `<prefix>/<name>/` holds a Lance dataset (a committed manifest). A store may keep
    /// the "folder" of a dropped table, so a name in the listing is not enough.
    pub fn has_dataset(&self, name: &str) -> Result<bool> {
        let store = self.store()?;
        let versions = self.key(name).join("_versions");
        let listed = block_on(async move { store.list_with_delimiter(Some(&versions)).await })?
            .map_err(|e| store_error(&self.uri, &format!("listing {name}"), &e))?;
        // Only manifests count: some stores list a folder's own marker as an object.
        Ok(listed.objects.iter().any(|o| o.location.filename().is_some_and(|f| f.ends_with(".manifest"))))
    }

    /// Deletes every object under `<prefix>/<name>/`.
    pub fn remove_dir(&self, name: &str) -> Result<()> {
        use futures::{StreamExt, TryStreamExt};
        let store = self.store()?;
        let dir = self.key(name);
        block_on(async move {
            let locations = store.list(Some(&dir)).map_ok(|m| m.location).boxed();
            store.delete_stream(locations).try_collect::<Vec<_>>().await.map(|_| ())
        })?
        .map_err(|e| store_error(&self.uri, &format!("removing {name}"), &e))
    }

    /// The catalog object of this database.
    pub fn catalog_object(&self) -> Result<CatalogObject> {
        let work = tempfile::Builder::new()
            .prefix("personadb-catalog-")
            .tempdir()
            .map_err(|e| Error::io("making a working directory for the remote catalog", e))?;
        Ok(CatalogObject {
            store: self.store()?,
            key: self.key(crate::database::CATALOG_FILE),
            uri: format!("{}/{}", self.uri, crate::database::CATALOG_FILE),
            version: Mutex::new(None),
            work,
            files: AtomicU64::new(0),
        })
    }
}

/// The catalog of a remote database: the object, and the version the local copy was made from.
#[derive(Debug)]
pub struct CatalogObject {
    store: Arc<dyn ObjectStore>,
    key: ObjectPath,
    uri: String,
    /// The object version the working copy came from (None: none fetched or published yet).
    version: Mutex<Option<UpdateVersion>>,
    /// Working copies (removed with the directory when the catalog is dropped).
    work: tempfile::TempDir,
    files: AtomicU64,
}

/// What [`CatalogObject::fetch`] found.
pub enum Fetched {
    /// The object is the version of the working copy.
    Unchanged,
    /// A newer version, written to this file.
    Changed(PathBuf),
    /// There is no catalog object.
    Missing,
}

impl CatalogObject {
    /// `s3://bucket/prefix/catalog.sqlite`, for messages.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// A new file name in the working directory.
    pub fn new_file(&self, what: &str) -> PathBuf {
        let n = self.files.fetch_add(1, Ordering::Relaxed);
        self.work.path().join(format!("{what}-{n}.sqlite"))
    }

    fn current(&self) -> Option<UpdateVersion> {
        self.version.lock().map(|v| v.clone()).unwrap_or(None)
    }

    fn set_current(&self, version: Option<UpdateVersion>) {
        if let Ok(mut v) = self.version.lock() {
            *v = version;
        }
    }

    /// Forgets the version of the working copy, so the next fetch reads the object again.
    pub fn forget(&self) {
        self.set_current(None);
    }

    /// Reads the object when it is not the version of the working copy.
    pub fn fetch(&self) -> Result<Fetched> {
        let store = self.store.clone();
        let key = self.key.clone();
        let known = self.current();
        let head = block_on(async move { store.head(&key).await })?;
        let meta = match head {
            Ok(meta) => meta,
            Err(object_store::Error::NotFound { .. }) => return Ok(Fetched::Missing),
            Err(e) => return Err(store_error(&self.uri, "reading", &e)),
        };
        if known.as_ref().is_some_and(|k| k.e_tag.is_some() && k.e_tag == meta.e_tag) {
            return Ok(Fetched::Unchanged);
        }
        let store = self.store.clone();
        let key = self.key.clone();
        let got = block_on(async move {
            let result = store.get(&key).await?;
            let meta = result.meta.clone();
            let bytes = result.bytes().await?;
            Ok::<_, object_store::Error>((meta, bytes))
        })?;
        let (meta, bytes) = match got {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(Fetched::Missing),
            Err(e) => return Err(store_error(&self.uri, "reading", &e)),
        };
        let path = self.new_file("copy");
        std::fs::write(&path, &bytes).map_err(|e| Error::io(format!("writing a copy of {}", self.uri), e))?;
        self.set_current(Some(UpdateVersion { e_tag: meta.e_tag, version: meta.version }));
        Ok(Fetched::Changed(path))
    }

    /// Publishes `bytes` as the next version of the catalog: only over the version the working
    /// copy came from (or only where there is none). False: another process published first.
    pub fn publish(&self, bytes: Vec<u8>) -> Result<bool> {
        let mode = match self.current() {
            Some(version) => PutMode::Update(version),
            None => PutMode::Create,
        };
        let store = self.store.clone();
        let key = self.key.clone();
        let options = PutOptions { mode, ..Default::default() };
        let put = block_on(async move { store.put_opts(&key, PutPayload::from(bytes), options).await })?;
        match put {
            Ok(result) => {
                self.set_current(Some(UpdateVersion { e_tag: result.e_tag, version: result.version }));
                Ok(true)
            }
            Err(object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }) => {
                self.forget();
                Ok(false)
            }
            Err(e) => Err(store_error(&self.uri, "writing", &e)),
        }
    }
}

/// An object store error as ours. object_store's messages name the operation, the key and the
/// server's answer; they carry no credentials.
fn store_error(location: &str, doing: &str, e: &object_store::Error) -> Error {
    Error::ObjectStore { location: location.to_string(), doing: doing.to_string(), reason: e.to_string() }
}

/// The runtime that performs the object store requests of synchronous code (the catalog), on a
/// thread of its own, so that it works from inside or outside any other runtime.
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("personadb-store")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::io("starting the object store runtime", std::io::Error::other(e.clone())))
}

/// Runs `future` on the store runtime and waits for it.
fn block_on<T: Send + 'static>(future: impl Future<Output = T> + Send + 'static) -> Result<T> {
    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
    runtime()?.spawn(async move {
        let _ = sender.send(future.await);
    });
    receiver
        .recv()
        .map_err(|_| Error::io("waiting for the object store", std::io::Error::other("the request was dropped")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_refuse_unknown_keys_and_hide_values() {
        let err = StorageOptions::from_json(r#"{"aws_endpoint": "http://x", "aws_secret": "hunter2"}"#, "f.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown key 'aws_secret'"), "{err}");
        let options =
            StorageOptions::from_json(r#"{"aws_secret_access_key": "hunter2", "aws_allow_http": true}"#, "f.json")
                .expect("options");
        let shown = format!("{options:?}");
        assert!(shown.contains("aws_secret_access_key") && !shown.contains("hunter2"), "{shown}");
        assert_eq!(options.to_map()["aws_allow_http"], "true");
        let err = StorageOptions::from_json(r#"{"aws_secret_access_key": {"v": "hunter2"}}"#, "f.json")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        let err = StorageOptions::from_json("[1, 2", "f.json").unwrap_err().to_string();
        assert!(err.contains("f.json") && err.contains("line 1"), "{err}");
    }

    #[test]
    fn locations_are_checked() {
        assert!(is_remote(Path::new("s3://bucket/db")));
        assert!(!is_remote(Path::new("./s3/db")));
        let err = Remote::new("s3:///db", StorageOptions::default()).unwrap_err().to_string();
        assert!(err.contains("no bucket"), "{err}");
        let err = Remote::new("s3://bucket/a//b", StorageOptions::default()).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
        let remote = Remote::new("s3://bucket/a/b/", StorageOptions::default()).expect("remote");
        assert_eq!(remote.uri(), "s3://bucket/a/b");
        assert_eq!(remote.key("t.lance").as_ref(), "a/b/t.lance");
    }
}
