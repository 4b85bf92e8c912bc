//! A local personadb cluster for tests and benchmarks: `personadb cluster scheduler` and N
//! `personadb cluster executor` processes of the binary under test, on free loopback ports.
//! Killed when dropped. One cluster at a time in a test binary: a cluster holds a lock for its
//! life, so tests that time a run (an executor killed mid-run) do not share two cores with
//! another cluster's work.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub struct Cluster {
    scheduler: Child,
    executors: Vec<Child>,
    /// `df://127.0.0.1:PORT`.
    pub address: String,
    dir: tempfile::TempDir,
    _serial: MutexGuard<'static, ()>,
}

static SERIAL: Mutex<()> = Mutex::new(());

fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").expect("port")).collect();
    listeners.iter().map(|l| l.local_addr().expect("addr").port()).collect()
}

fn wait_for_port(port: u16, what: &str, log: &Path) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if start.elapsed() > Duration::from_secs(60) {
            panic!("{what} did not listen on {port}: {}", std::fs::read_to_string(log).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Cluster {
    /// A scheduler and `executors` executors of `tasks` task slots each, with `env` set in every
    /// process (e.g. S3 credentials).
    pub fn start(binary: &str, executors: usize, tasks: usize, env: &[(&str, &str)]) -> Cluster {
        Self::start_with(binary, executors, tasks, env, false, false)
    }

    /// The same with executor `i` pinned to core `i % cores` (`taskset`), for benchmarks.
    pub fn start_pinned(binary: &str, executors: usize, tasks: usize, env: &[(&str, &str)]) -> Cluster {
        Self::start_with(binary, executors, tasks, env, true, false)
    }

    /// The same with a lost executor noticed within seconds (heartbeats every second, lost
    /// after 5 s without one), for failure tests.
    pub fn start_failing_over(binary: &str, executors: usize, tasks: usize) -> Cluster {
        Self::start_with(binary, executors, tasks, &[], false, true)
    }

    fn start_with(
        binary: &str,
        executors: usize,
        tasks: usize,
        env: &[(&str, &str)],
        pin: bool,
        failover: bool,
    ) -> Cluster {
        let serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let dir = tempfile::tempdir().expect("tempdir");
        let ports = free_ports(1 + 2 * executors);
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let spawn = |args: Vec<String>, name: &str, core: Option<usize>| {
            let log = dir.path().join(format!("{name}.log"));
            let file = std::fs::File::create(&log).expect("log");
            let mut command = match core {
                Some(core) => {
                    let mut c = Command::new("taskset");
                    c.args(["-c", &core.to_string(), binary]);
                    c
                }
                None => Command::new(binary),
            };
            let child = command
                .args(&args)
                .envs(env.iter().copied())
                .env("RUST_LOG", std::env::var("PERSONADB_CLUSTER_LOG").unwrap_or_else(|_| "warn".into()))
                .stdout(file.try_clone().expect("log"))
                .stderr(file)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {binary} {args:?}: {e}"));
            (child, log)
        };
        let mut args: Vec<String> =
            vec!["cluster".into(), "scheduler".into(), "--bind".into(), format!("127.0.0.1:{}", ports[0])];
        if failover {
            args.extend(["--executor-timeout-s".into(), "5".into()]);
        }
        let (scheduler, log) = spawn(args, "scheduler", None);
        wait_for_port(ports[0], "the scheduler", &log);
        let address = format!("df://127.0.0.1:{}", ports[0]);
        let mut children = Vec::new();
        for i in 0..executors {
            let (port, grpc) = (ports[1 + 2 * i], ports[2 + 2 * i]);
            let work = dir.path().join(format!("work{i}"));
            std::fs::create_dir_all(&work).expect("work dir");
            let mut args = vec![
                "cluster".into(),
                "executor".into(),
                "--scheduler".into(),
                address.clone(),
                "--port".into(),
                port.to_string(),
                "--grpc-port".into(),
                grpc.to_string(),
                "--tasks".into(),
                tasks.to_string(),
                "--work-dir".into(),
                work.display().to_string(),
            ];
            if failover {
                args.extend(["--heartbeat-s".into(), "1".into()]);
            }
            let (child, log) = spawn(args, &format!("executor{i}"), pin.then_some(i % cores));
            children.push(child);
            wait_for_port(port, "an executor", &log);
            wait_for_port(grpc, "an executor", &log);
        }
        // Registration with the scheduler follows the listeners closely.
        std::thread::sleep(Duration::from_millis(500));
        Cluster { scheduler, executors: children, address, dir, _serial: serial }
    }

    /// Kills executor `i` (its tasks fail over to the others).
    pub fn kill_executor(&mut self, i: usize) {
        let _ = self.executors[i].kill();
        let _ = self.executors[i].wait();
    }

    /// The logs of every process, for a failure message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for entry in std::fs::read_dir(self.dir.path()).into_iter().flatten().flatten() {
            if entry.path().extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let tail: String = text.chars().rev().take(3000).collect::<Vec<_>>().into_iter().rev().collect();
                out.push_str(&format!("--- {}\n{tail}\n", entry.path().display()));
            }
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.executors.iter_mut().chain(std::iter::once(&mut self.scheduler)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
