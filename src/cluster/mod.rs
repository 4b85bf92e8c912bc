//! personadb on a cluster: an Apache DataFusion Ballista scheduler and executors built from
//! personadb's own binary (`personadb cluster scheduler`, `personadb cluster executor`), so
//! every process knows personadb's tables, functions, operators and locale packs.
//!
//! What travels between the processes is small: a table by its database location, name and
//! version ([`scan`]), a table function by its name and literal arguments ([`function`]), a
//! generation by its options and row ranges ([`generate`]). Each process opens what it needs
//! itself: the executors read and write the tables directly (a local directory that every
//! process sees, or `s3://` with credentials from each process's own environment; plans never
//! carry a secret). The wire format is in [`codec`].
//!
//! `stratified_sample` carries the tables it samples with its call, and draws its sample in one
//! executor task. Functions that need the client's database session (the search functions,
//! `near_duplicates`) are not offered on a cluster; a query naming one fails at plan time with
//! "function not found".

mod codec;
mod function;
mod generate;
mod scan;
mod session;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::error::{Error, Result};

pub use codec::{LogicalCodec, PhysicalCodec};
pub(crate) use generate::write_on_cluster;
pub use session::ClusterSession;

/// The scheduler's port when an address gives none (Ballista's).
pub const DEFAULT_PORT: u16 = 50050;

/// `df://HOST[:PORT]` (or `HOST[:PORT]`) as (host, port).
pub fn parse_address(address: &str) -> Result<(String, u16)> {
    let invalid =
        |reason: &str| Error::InvalidArgument { name: format!("cluster address '{address}'"), reason: reason.into() };
    let rest = address.strip_prefix("df://").unwrap_or(address).trim_end_matches('/');
    if rest.is_empty() || rest.contains('/') || rest.contains('@') {
        return Err(invalid("write df://HOST:PORT, e.g. df://127.0.0.1:50050"));
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.ends_with(':') => {
            (host, port.parse::<u16>().map_err(|_| invalid("the port is not a number from 1 to 65535"))?)
        }
        Some(_) => return Err(invalid("write df://HOST:PORT, e.g. df://127.0.0.1:50050")),
        None => (rest, DEFAULT_PORT),
    };
    if port == 0 {
        return Err(invalid("the port is not a number from 1 to 65535"));
    }
    Ok((host.trim_start_matches('[').trim_end_matches(']').to_string(), port))
}

/// The scheduler's gRPC URL for an address.
pub(crate) fn scheduler_url(address: &str) -> Result<String> {
    let (host, port) = parse_address(address)?;
    Ok(match host.contains(':') {
        true => format!("http://[{host}]:{port}"),
        false => format!("http://{host}:{port}"),
    })
}

/// Lance's caches, shared by every table this process opens for the cluster.
pub(crate) fn lance_session() -> Arc<lance::session::Session> {
    static SESSION: OnceLock<Arc<lance::session::Session>> = OnceLock::new();
    SESSION.get_or_init(|| Arc::new(lance::session::Session::default())).clone()
}

/// The location of a database as every process of a cluster names it: an `s3://` location as
/// it is, a local directory as an absolute path.
pub(crate) fn shared_location(db: &crate::Database) -> Result<String> {
    match db.local_dir() {
        None => Ok(db.dir().to_string_lossy().into_owned()),
        Some(dir) => {
            let absolute = std::fs::canonicalize(dir)
                .map_err(|e| Error::io(format!("resolving the database directory {}", dir.display()), e))?;
            Ok(absolute.to_string_lossy().into_owned())
        }
    }
}

/// The session configuration every process of a cluster uses: Ballista's, with personadb's
/// options (`SET personadb.…`) and the information schema.
pub(crate) fn cluster_config() -> SessionConfig {
    <SessionConfig as ballista_core::extension::SessionConfigExt>::new_with_ballista()
        .with_information_schema(true)
        .with_option_extension(personadb_udfs::PersonadbOptions::default())
}

/// A session state with personadb's functions for the scheduler and the executors. (Without
/// the local session's window top-k rule: its operator has no codec.)
pub(crate) fn server_state(config: SessionConfig) -> datafusion::error::Result<SessionState> {
    let state = SessionStateBuilder::new().with_config(config).with_default_features().build();
    let ctx = SessionContext::new_with_state(state);
    register_functions(&ctx)?;
    Ok(ctx.state())
}

/// Registers the functions a cluster runs: the scalar functions, and the table functions that
/// need no database session, each wrapped so the codecs can carry it ([`function`]).
pub(crate) fn register_functions(ctx: &SessionContext) -> datafusion::error::Result<()> {
    personadb_udfs::register_all(ctx, crate::backends::backends())?;
    for (name, implementation) in function::Functions::shared().all() {
        ctx.register_udtf(name, Arc::new(function::CarriedFunction::new(name, implementation)));
    }
    Ok(())
}

/// Moves `provider` to its table's latest committed version when it is a cluster table (see
/// [`scan::ClusterTable::refresh`]); other providers are left alone.
pub(crate) async fn refresh_table(provider: &dyn datafusion::catalog::TableProvider) -> Result<()> {
    match provider.downcast_ref::<scan::ClusterTable>() {
        Some(table) => table.refresh().await,
        None => Ok(()),
    }
}

/// How `personadb cluster scheduler` runs.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// The address the scheduler listens on (default 127.0.0.1:50050).
    pub bind: SocketAddr,
    /// Seconds without a heartbeat before an executor is taken for lost (default 180).
    pub executor_timeout_s: u64,
}

/// Runs a scheduler until the process is stopped.
pub async fn run_scheduler(options: SchedulerOptions) -> Result<()> {
    use ballista_scheduler::cluster::BallistaCluster;
    use ballista_scheduler::config::SchedulerConfig;
    let config = SchedulerConfig {
        bind_host: options.bind.ip().to_string(),
        bind_port: options.bind.port(),
        external_host: options.bind.ip().to_string(),
        executor_timeout_seconds: options.executor_timeout_s.max(1),
        // Lost executors are looked for a few times per timeout.
        expire_dead_executor_interval_seconds: (options.executor_timeout_s / 4).clamp(1, 15),
        override_config_producer: Some(Arc::new(cluster_config)),
        override_session_builder: Some(Arc::new(server_state)),
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        ..Default::default()
    };
    init_logging();
    let cluster = BallistaCluster::new_from_config(&config).await.map_err(ballista_error("starting the scheduler"))?;
    let scheduler = ballista_scheduler::scheduler_process::create_scheduler::<
        datafusion_proto::protobuf::LogicalPlanNode,
        datafusion_proto::protobuf::PhysicalPlanNode,
    >(cluster, Arc::new(config))
    .await
    .map_err(ballista_error("starting the scheduler"))?;
    tokio::spawn(offer_pending_tasks(scheduler.clone()));
    ballista_scheduler::scheduler_process::start_grpc_service(options.bind, scheduler)
        .await
        .map_err(ballista_error("running the scheduler"))
}

/// How often the scheduler offers pending tasks to its executors unasked.
const OFFER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Offers pending tasks to the executors every [`OFFER_INTERVAL`]. Ballista 54 (push
/// scheduling) offers tasks only when a job arrives, an executor registers or one reports a
/// task's status; the tasks of a lost executor are put back as pending without an offer, so a
/// job whose other executors were idle waited forever. An empty status report in the name of a
/// live executor is the public way to make the scheduler offer: it changes nothing else.
async fn offer_pending_tasks(
    scheduler: ballista_scheduler::scheduler_server::SchedulerServer<
        datafusion_proto::protobuf::LogicalPlanNode,
        datafusion_proto::protobuf::PhysicalPlanNode,
    >,
) {
    use ballista_core::serde::protobuf::executor_status::Status;
    use ballista_core::serde::protobuf::scheduler_grpc_server::SchedulerGrpc;
    use ballista_core::serde::protobuf::UpdateTaskStatusParams;
    loop {
        tokio::time::sleep(OFFER_INTERVAL).await;
        let manager = &scheduler.state.executor_manager;
        let Ok(executors) = manager.get_executors_state().await else { continue };
        let live = executors.into_iter().map(|(metadata, _, _)| metadata.id).find(|id| {
            manager
                .get_executor_hearbeat(id)
                .and_then(|heartbeat| heartbeat.status)
                .is_some_and(|status| matches!(status.status, Some(Status::Active(_))))
        });
        if let Some(executor_id) = live {
            let request = tonic::Request::new(UpdateTaskStatusParams { executor_id, task_status: Vec::new() });
            if let Err(e) = SchedulerGrpc::update_task_status(&scheduler, request).await {
                log::warn!("offering pending tasks: {e}");
            }
        }
    }
}

/// Log lines of the cluster processes (Ballista's among them) on standard error, at the level
/// `RUST_LOG` names (`error`, `warn` (default), `info`, `debug`, `trace` or `off`).
fn init_logging() {
    struct Stderr(log::LevelFilter);
    impl log::Log for Stderr {
        fn enabled(&self, metadata: &log::Metadata) -> bool {
            metadata.level() <= self.0
        }
        fn log(&self, record: &log::Record) {
            if self.enabled(record.metadata()) {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                eprintln!(
                    "{}.{:03} {:5} {}: {}",
                    now.as_secs(),
                    now.subsec_millis(),
                    record.level(),
                    record.target(),
                    record.args()
                );
            }
        }
        fn flush(&self) {}
    }
    let level = std::env::var("RUST_LOG").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(log::LevelFilter::Warn);
    if log::set_logger(Box::leak(Box::new(Stderr(level)))).is_ok() {
        log::set_max_level(level);
    }
}

/// How `personadb cluster executor` runs.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler, `df://HOST:PORT`.
    pub scheduler: String,
    /// The host the executor listens on and gives the scheduler (default 127.0.0.1).
    pub bind_host: String,
    /// The port of its Arrow Flight service (results and shuffle data).
    pub port: u16,
    /// The port the scheduler sends tasks to.
    pub grpc_port: u16,
    /// Tasks it runs at once (default: its cores).
    pub tasks: usize,
    /// Where it keeps shuffle files (default: a temporary directory).
    pub work_dir: Option<std::path::PathBuf>,
    /// Seconds between heartbeats to the scheduler (default 60).
    pub heartbeat_s: u64,
}

/// Runs an executor until the process is stopped.
pub async fn run_executor(options: ExecutorOptions) -> Result<()> {
    use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
    let (scheduler_host, scheduler_port) = parse_address(&options.scheduler)?;
    let registry = server_state(cluster_config()).map_err(Error::from)?;
    let config = ExecutorProcessConfig {
        bind_host: options.bind_host.clone(),
        external_host: Some(options.bind_host.clone()),
        port: options.port,
        grpc_port: options.grpc_port,
        scheduler_host,
        scheduler_port,
        scheduler_connect_timeout_seconds: 30,
        concurrent_tasks: options.tasks.max(1),
        executor_heartbeat_interval_seconds: options.heartbeat_s.max(1),
        work_dir: options.work_dir.as_ref().map(|p| p.to_string_lossy().into_owned()),
        override_function_registry: Some(Arc::new((&registry).into())),
        override_config_producer: Some(Arc::new(cluster_config)),
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        ..Default::default()
    };
    init_logging();
    start_executor_process(Arc::new(config)).await.map_err(ballista_error("running the executor"))
}

fn ballista_error(doing: &'static str) -> impl Fn(ballista_core::error::BallistaError) -> Error {
    move |e| Error::Cluster { doing: doing.into(), reason: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(parse_address("df://127.0.0.1:50051").unwrap(), ("127.0.0.1".into(), 50051));
        assert_eq!(parse_address("df://sched").unwrap(), ("sched".into(), DEFAULT_PORT));
        assert_eq!(parse_address("host:7").unwrap(), ("host".into(), 7));
        assert_eq!(scheduler_url("df://[::1]:9").unwrap(), "http://[::1]:9");
        for bad in ["", "df://", "df://h:x", "df://h:0", "df://h:70000", "df://a/b", "df://u@h:1"] {
            let e = parse_address(bad).unwrap_err().to_string();
            assert!(e.contains("cluster address"), "{bad}: {e}");
        }
    }
}
