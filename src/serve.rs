//! `personadb serve`: the PostgreSQL wire protocol over a [`PersonaSession`], so psql, psycopg,
//! pandas, SQLAlchemy and BI tools reach the database as they reach PostgreSQL.
//!
//! The protocol, the `pg_catalog` views that clients query at connect and for `\dt` / `\d`, and
//! the extended-query (prepared statement) machinery come from `datafusion-postgres` over
//! `pgwire`. personadb adds three things on top:
//!
//! - every statement that reaches DataFusion goes through the session's own planning
//!   ([`PersonaSession::plan`] / [`PersonaSession::execute_plan`]), so `CREATE TABLE AS`, `DROP
//!   TABLE` and `INSERT` persist in the database, table functions see their tables, and files SQL
//!   may not touch are refused, exactly as in `personadb sql`;
//! - authentication: SCRAM-SHA-256 with one password when one is given. Without a password the
//!   server binds loopback only ([`ServeOptions::check`] refuses anything else);
//! - a clean stop: when `shutdown` resolves the server stops accepting, lets statements in flight
//!   finish for the grace period, then closes every connection.
//!
//! Every statement plans against the tables' latest committed Lance versions, so a query sees
//! one committed snapshot, and rows another process commits meanwhile appear to the next query.
//! `SET` applies to the whole server (the connections share one DataFusion session).
//!
//! Kept whole (about 720 lines, a fifth of them tests): the handlers, authentication and shutdown
//! share the server's state and are read together.

use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{self, Statement};
use datafusion_postgres::arrow_pg::datatypes::{arrow_schema_to_pg_fields, encode_recordbatch};
use datafusion_postgres::hooks::cursor::CursorStatementHook;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use datafusion_postgres::hooks::{HookClient, QueryHook};
use datafusion_postgres::{DfSessionService, Parser};
use futures::{Sink, StreamExt};
use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::auth::sasl::scram::{gen_salted_password, ScramAuth, SCRAM_ITERATIONS};
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::{AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler};
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{QueryResponse, Response, Tag};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, ConnectionManager, ErrorHandler, PgWireServerHandlers};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::extendedquery::{Execute, Parse};
use pgwire::messages::simplequery::Query;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::database::Database;
use crate::error::{Error, Result};
use crate::session::PersonaSession;

/// How `personadb serve` listens.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to bind: loopback unless a password is set.
    pub host: String,
    /// TCP port; 0 picks a free one (reported by `on_listen`).
    pub port: u16,
    /// Refuse every statement that would change the database.
    pub read_only: bool,
    /// The password clients must give (SCRAM-SHA-256); any user name is accepted with it.
    pub password: Option<String>,
    /// How long statements in flight may run on after the stop signal.
    pub grace: Duration,
    /// Decoded columns kept between statements (shared by every connection).
    pub cache: Option<Arc<crate::hot::HotCache>>,
    /// Run statements on a Ballista cluster, `df://HOST:PORT` (`ClusterSession`): queries,
    /// SET and `INSERT INTO … SELECT`; other statements are refused.
    pub cluster: Option<String>,
}

impl ServeOptions {
    /// Refuses a configuration that would expose the database: a non-loopback address without
    /// a password, or an empty password.
    pub fn check(&self) -> Result<()> {
        if self.password.as_deref().is_some_and(str::is_empty) {
            return Err(Error::InvalidArgument { name: "password".into(), reason: "the password is empty".into() });
        }
        if self.password.is_none() && !is_loopback(&self.host) {
            return Err(Error::InvalidArgument {
                name: "--host".into(),
                reason: format!(
                    "{} is not a loopback address: serving it needs a password (set PERSONADB_PASSWORD or give \
                     --password-file)",
                    crate::error::shorten(&self.host, 100)
                ),
            });
        }
        Ok(())
    }
}

/// Whether `host` names only this machine: `localhost`, 127.0.0.0/8 or ::1.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Serves `db` until `shutdown` resolves. `on_listen` is told the bound address once the
/// server accepts connections.
pub async fn serve(
    db: Arc<Database>,
    options: ServeOptions,
    on_listen: impl FnOnce(std::net::SocketAddr),
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    options.check()?;
    let cluster = match &options.cluster {
        Some(address) => Some(Arc::new(crate::cluster::ClusterSession::connect(db.clone(), address).await?)),
        None => None,
    };
    let session = PersonaSession::with_cache(db, options.cache.clone())?;
    // Queries datafusion-postgres runs itself (extended protocol) run in this context: the
    // cluster's when there is one.
    let ctx = Arc::new(match &cluster {
        Some(cluster) => cluster.context().clone(),
        None => session.context().clone(),
    });
    datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog(
        &ctx,
        "datafusion",
        datafusion_postgres::auth::AuthManager::default(),
    )
    .map_err(|e| Error::DataFusion(*e))?;
    let inflight = Arc::new(AtomicUsize::new(0));
    let mut hooks: Vec<Arc<dyn QueryHook>> = Vec::new();
    if options.read_only {
        hooks.push(Arc::new(ReadOnlySettings));
    }
    hooks.extend::<[Arc<dyn QueryHook>; 4]>([
        Arc::new(CursorStatementHook),
        Arc::new(SetShowHook),
        Arc::new(TransactionStatementHook),
        Arc::new(PersonaHook { session, cluster, read_only: options.read_only }),
    ]);
    let service =
        Arc::new(Service { inner: Arc::new(DfSessionService::new_with_hooks(ctx, hooks)), inflight: inflight.clone() });
    let manager = Arc::new(ConnectionManager::new());
    let password = options.password.as_deref().map(|password| {
        let salt: [u8; 16] = rand::random();
        Arc::new(PasswordSource { salted: gen_salted_password(password, &salt, SCRAM_ITERATIONS), salt: salt.to_vec() })
    });
    let handlers =
        Arc::new(Handlers { service, password, cancel: Arc::new(DefaultCancelHandler::new(manager.clone())), manager });

    let host = options.host.trim_start_matches('[').trim_end_matches(']');
    let listener = TcpListener::bind((host, options.port))
        .await
        .map_err(|e| Error::io(format!("binding {}:{}", options.host, options.port), e))?;
    let address = listener.local_addr().map_err(|e| Error::io("reading the bound address", e))?;
    on_listen(address);

    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => {
                    let _ = socket.set_nodelay(true);
                    let handlers = handlers.clone();
                    connections.spawn(async move {
                        // A client that goes away mid-protocol is its own business.
                        let _ = pgwire::tokio::process_socket(socket, None, handlers).await;
                    });
                }
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    // Statements in flight finish (up to the grace period); then every connection closes.
    let deadline = tokio::time::Instant::now() + options.grace;
    while inflight.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    connections.shutdown().await;
    Ok(())
}

/// The server's handlers: datafusion-postgres's session service (with personadb's hook), the
/// chosen startup (authentication) handler, cancellation, and errors rendered for people.
struct Handlers {
    service: Arc<Service>,
    password: Option<Arc<PasswordSource>>,
    manager: Arc<ConnectionManager>,
    cancel: Arc<DefaultCancelHandler>,
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.service.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.service.clone()
    }

    /// A new handler for each connection: the SASL handler keeps the handshake's state.
    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        Arc::new(match &self.password {
            None => Startup::Open(OpenStartup { manager: self.manager.clone() }),
            Some(source) => {
                let mut scram = ScramAuth::new(source.clone());
                scram.set_iterations(SCRAM_ITERATIONS);
                Startup::Password(Box::new(
                    SASLAuthStartupHandler::new(Arc::new(DefaultServerParameterProvider::default()))
                        .with_scram(scram)
                        .with_connection_manager(self.manager.clone()),
                ))
            }
        })
    }

    fn error_handler(&self) -> Arc<impl ErrorHandler> {
        Arc::new(CleanErrors)
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        self.cancel.clone()
    }
}

/// The session service, counting the statements in flight (for the clean stop).
struct Service {
    inner: Arc<DfSessionService>,
    inflight: Arc<AtomicUsize>,
}

/// Counts one statement in flight while alive.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        InFlight(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl SimpleQueryHandler for Service {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let _counted = InFlight::enter(&self.inflight);
        // Before datafusion-postgres parses it: a syntax tree too deep would overflow the stack.
        crate::session::check_statement_depth(&query.query).map_err(|e| engine_error(&e))?;
        self.inner.on_query(client, query).await
    }

    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        SimpleQueryHandler::do_query(&*self.inner, client, query).await
    }
}

#[async_trait]
impl ExtendedQueryHandler for Service {
    type Statement = <DfSessionService as ExtendedQueryHandler>::Statement;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.inner.query_parser()
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let _counted = InFlight::enter(&self.inflight);
        self.inner.on_execute(client, message).await
    }

    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        crate::session::check_statement_depth(&message.query).map_err(|e| engine_error(&e))?;
        self.inner.on_parse(client, message).await
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        ExtendedQueryHandler::do_query(&*self.inner, client, portal, max_rows).await
    }
}

/// Routes statements through the [`PersonaSession`]. It comes after datafusion-postgres's own
/// hooks (cursors, SET/SHOW, transactions), so it sees every other statement.
struct PersonaHook {
    session: PersonaSession,
    /// Statements other than SHOW TABLES go to the cluster when serving with `--cluster`.
    cluster: Option<Arc<crate::cluster::ClusterSession>>,
    read_only: bool,
}

impl PersonaHook {
    /// Refuses a statement that would change the database when serving read-only: first by
    /// its syntax (before planning, which opens tables), then by its plan (`SELECT ... INTO`
    /// is a query in syntax and a CREATE TABLE in plan).
    fn check_writable(&self, statement: &Statement, plan: Option<&LogicalPlan>) -> PgWireResult<()> {
        if !self.read_only || (is_read(statement) && !plan.is_some_and(plan_writes)) {
            return Ok(());
        }
        let verb = statement.to_string().split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        Err(user_error(
            "25006",
            format!(
                "cannot run {} on a read-only server (personadb serve --read-only)",
                crate::error::shorten(&verb, 40)
            ),
        ))
    }

    async fn plan(&self, statement: &Statement) -> PgWireResult<LogicalPlan> {
        self.check_writable(statement, None)?;
        let parsed = DfStatement::Statement(Box::new(statement.clone()));
        let plan = match &self.cluster {
            Some(cluster) => cluster.plan(parsed).await,
            None => self.session.plan(parsed).await,
        }
        .map_err(|e| engine_error(&e))?;
        self.check_writable(statement, Some(&plan))?;
        Ok(plan)
    }

    async fn execute_plan(
        &self,
        plan: LogicalPlan,
    ) -> crate::error::Result<datafusion::physical_plan::SendableRecordBatchStream> {
        match &self.cluster {
            Some(cluster) => cluster.execute_plan(plan).await,
            None => self.session.execute_plan(plan).await,
        }
    }

    async fn run(&self, statement: &Statement) -> PgWireResult<Response> {
        let stream = if matches!(statement, Statement::ShowTables { .. }) {
            self.session.execute(DfStatement::Statement(Box::new(statement.clone()))).await
        } else {
            let plan = self.plan(statement).await?;
            self.execute_plan(plan).await
        }
        .map_err(|e| engine_error(&e))?;
        respond(statement, stream).await
    }
}

/// Whether a plan writes to the database: DML, COPY, or DDL other than session views.
fn plan_writes(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Dml(_) | LogicalPlan::Copy(_) => true,
        LogicalPlan::Ddl(ddl) => !matches!(
            ddl,
            datafusion::logical_expr::DdlStatement::CreateView(_) | datafusion::logical_expr::DdlStatement::DropView(_)
        ),
        LogicalPlan::Explain(explain) => plan_writes(&explain.plan),
        LogicalPlan::Analyze(analyze) => plan_writes(&analyze.input),
        _ => false,
    }
}

/// Brings every personadb table a prepared plan reads to its latest committed version, so a
/// statement prepared once and executed many times (psycopg after five executions, JDBC,
/// asyncpg) reads what was committed since, as a fresh query does.
async fn refresh_tables(plan: &LogicalPlan) -> crate::error::Result<()> {
    use datafusion::common::tree_node::TreeNodeRecursion;
    let mut tables: Vec<Arc<dyn datafusion::catalog::TableProvider>> = Vec::new();
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            if let Ok(provider) = datafusion::datasource::source_as_provider(&scan.source) {
                tables.push(provider);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    for provider in tables {
        if let Some(table) = provider.downcast_ref::<crate::storage::LanceTable>() {
            table.refresh().await?;
        }
        crate::cluster::refresh_table(provider.as_ref()).await?;
    }
    Ok(())
}

#[async_trait]
impl QueryHook for PersonaHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        Some(self.run(statement).await)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        Some(self.plan(statement).await)
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        plan: &LogicalPlan,
        params: &ParamValues,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if let Err(e) = refresh_tables(plan).await {
            return Some(Err(engine_error(&e)));
        }
        // Queries run on datafusion-postgres's path, which encodes rows in the format the
        // client asked for; statements that write go through the session so they persist.
        if !matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Dml(_) | LogicalPlan::Copy(_)) {
            return None;
        }
        let result = async {
            let plan = plan.clone().replace_params_with_values(params).map_err(|e| engine_error(&e.into()))?;
            let stream = self.execute_plan(plan).await.map_err(|e| engine_error(&e))?;
            respond(statement, stream).await
        };
        Some(result.await)
    }
}

/// On a read-only server, `SET personadb.*` is refused: the connections share one session,
/// so one client would change every other's narrator (an LLM costs money), locale or language.
struct ReadOnlySettings;

#[async_trait]
impl QueryHook for ReadOnlySettings {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        refuse_shared_setting(statement).map(Err)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        refuse_shared_setting(statement).map(Err)
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        refuse_shared_setting(statement).map(Err)
    }
}

fn refuse_shared_setting(statement: &Statement) -> Option<PgWireError> {
    let Statement::Set(_) = statement else { return None };
    let text = statement.to_string().to_ascii_lowercase();
    text.contains("personadb.").then(|| {
        user_error(
            "25006",
            "cannot change personadb.* settings on a read-only server: they apply to every connection".into(),
        )
    })
}

/// Whether a statement only reads: queries, EXPLAIN of a query, SHOW, and session-scoped
/// names (views) that change nothing on disk.
fn is_read(statement: &Statement) -> bool {
    match statement {
        Statement::Query(_)
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowFunctions { .. }
        | Statement::CreateView { .. }
        | Statement::Drop { object_type: ast::ObjectType::View, .. } => true,
        Statement::Explain { statement, analyze, .. } => !*analyze || is_read(statement),
        Statement::ExplainTable { .. } => true,
        _ => false,
    }
}

/// The PostgreSQL response for a statement's result: rows for a query, a command tag for the
/// rest (`INSERT 0 n` with the rows written).
async fn respond(
    statement: &Statement,
    stream: datafusion::physical_plan::SendableRecordBatchStream,
) -> PgWireResult<Response> {
    if let Some(tag) = command_tag(statement) {
        let batches = datafusion::physical_plan::common::collect(stream).await.map_err(|e| engine_error(&e.into()))?;
        let rows = written_rows(&batches);
        let tag = match (tag, rows) {
            ("INSERT", rows) => Tag::new("INSERT").with_oid(0).with_rows(rows.unwrap_or(0)),
            (tag, Some(rows)) if tag == "COPY" => Tag::new(tag).with_rows(rows),
            (tag, _) => Tag::new(tag),
        };
        return Ok(Response::Execution(tag));
    }
    let fields = Arc::new(arrow_schema_to_pg_fields(stream.schema().as_ref(), &Format::UnifiedText, None)?);
    let row_fields = fields.clone();
    let rows = stream
        .map(move |batch| -> Box<dyn Iterator<Item = PgWireResult<_>> + Send + Sync> {
            match batch {
                Ok(batch) => encode_recordbatch(row_fields.clone(), batch),
                Err(e) => Box::new(std::iter::once(Err(engine_error(&e.into())))),
            }
        })
        .flat_map(futures::stream::iter);
    Ok(Response::Query(QueryResponse::new(fields, rows)))
}

/// The command tag of a statement that returns no rows, or None for one that does.
fn command_tag(statement: &Statement) -> Option<&'static str> {
    Some(match statement {
        Statement::Insert(_) => "INSERT",
        Statement::Update { .. } => "UPDATE",
        Statement::Delete(_) => "DELETE",
        Statement::Copy { .. } => "COPY",
        Statement::CreateTable(_) => "CREATE TABLE",
        Statement::CreateView { .. } => "CREATE VIEW",
        Statement::CreateSchema { .. } => "CREATE SCHEMA",
        Statement::Drop { object_type: ast::ObjectType::View, .. } => "DROP VIEW",
        Statement::Drop { .. } => "DROP TABLE",
        _ => return None,
    })
}

/// The row count a write reports (DataFusion's `count` column), if any.
fn written_rows(batches: &[arrow::record_batch::RecordBatch]) -> Option<usize> {
    let batch = batches.first()?;
    let column = batch.column_by_name("count")?;
    let counts = column.as_any().downcast_ref::<arrow::array::UInt64Array>()?;
    (counts.len() == 1).then(|| counts.value(0) as usize)
}

/// A PostgreSQL error for people: SQLSTATE `code`, one line.
fn user_error(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("ERROR".into(), code.into(), message)))
}

/// An engine error as a PostgreSQL error: the SQLSTATE that fits, and the one-line message the
/// CLI prints.
fn engine_error(error: &Error) -> PgWireError {
    use datafusion::error::DataFusionError as Df;
    let code = match error {
        Error::TableNotFound { .. } => "42P01",
        Error::TableExists { .. } => "42P07",
        Error::InvalidTableName { .. } => "42602",
        Error::InvalidArgument { .. }
        | Error::UnknownLocale { .. }
        | Error::ImpossibleEvidence { .. }
        | Error::DuplicateUuid { .. } => "22023",
        Error::Unsupported(_) => "0A000",
        Error::DataFusion(Df::SQL(..)) => "42601",
        _ => "XX000",
    };
    let message = one_line(&crate::error::user_message(error));
    user_error(if code == "XX000" { code_of_message(&message) } else { code }, message)
}

/// The SQLSTATE of an error known only by its text (DataFusion wraps planning errors in
/// diagnostics and contexts).
fn code_of_message(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("table") && m.contains("not found") {
        "42P01"
    } else if m.contains("already exists") {
        "42P07"
    } else if m.contains("sql parser error") || m.contains("syntax error") {
        "42601"
    } else if m.contains("schema error") || m.contains("no field named") {
        "42703"
    } else if m.contains("error during planning") || m.contains("invalid argument") {
        "42000"
    } else {
        "XX000"
    }
}

/// At most 300 characters of the first line.
fn one_line(message: &str) -> String {
    crate::error::shorten(crate::error::first_line(message), 300)
}

/// Errors from datafusion-postgres's own path (queries of the extended protocol, catalog
/// queries) get the same one-line treatment as the session's.
struct CleanErrors;

impl ErrorHandler for CleanErrors {
    fn on_error<C>(&self, _client: &C, error: &mut PgWireError)
    where
        C: ClientInfo,
    {
        if let PgWireError::ApiError(inner) = error {
            let message = one_line(&crate::error::user_message(inner.as_ref()));
            *error = user_error(code_of_message(&message), message);
        }
    }
}

/// The startup handler: open (loopback without a password) or SCRAM-SHA-256.
enum Startup {
    Open(OpenStartup),
    Password(Box<SASLAuthStartupHandler<DefaultServerParameterProvider>>),
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match self {
            Startup::Open(handler) => handler.on_startup(client, message).await,
            Startup::Password(handler) => handler.on_startup(client, message).await,
        }
    }
}

/// No authentication (loopback only), with cancellation keys registered.
struct OpenStartup {
    manager: Arc<ConnectionManager>,
}

impl NoopStartupHandler for OpenStartup {
    fn connection_manager(&self) -> Option<Arc<ConnectionManager>> {
        Some(self.manager.clone())
    }
}

/// The server's one password, salted and hashed once at start (never logged or stored).
struct PasswordSource {
    salt: Vec<u8>,
    salted: Vec<u8>,
}

impl std::fmt::Debug for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordSource(..)")
    }
}

#[async_trait]
impl AuthSource for PasswordSource {
    async fn get_password(&self, _login: &LoginInfo) -> PgWireResult<Password> {
        Ok(Password::new(Some(self.salt.clone()), self.salted.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_needs_no_password_anything_else_does() {
        for host in ["127.0.0.1", "localhost", "::1", "[::1]", "127.1.2.3"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["0.0.0.0", "::", "192.168.1.10", "example.com"] {
            assert!(!is_loopback(host), "{host}");
        }
        let options = ServeOptions {
            host: "0.0.0.0".into(),
            port: 0,
            read_only: false,
            password: None,
            grace: Duration::ZERO,
            cache: None,
            cluster: None,
        };
        let message = options.check().unwrap_err().to_string();
        assert!(message.contains("needs a password"), "{message}");
        let with_password = ServeOptions { password: Some("s3cret".into()), ..options.clone() };
        assert!(with_password.check().is_ok());
        let empty = ServeOptions { password: Some(String::new()), ..options };
        assert!(empty.check().is_err());
    }

    #[test]
    fn only_reads_pass_read_only() {
        let parse = |sql: &str| {
            datafusion::sql::sqlparser::parser::Parser::parse_sql(
                &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
                sql,
            )
            .expect("valid SQL")
            .remove(0)
        };
        for sql in ["SELECT 1", "EXPLAIN SELECT 1", "SHOW TABLES", "CREATE VIEW v AS SELECT 1"] {
            assert!(is_read(&parse(sql)), "{sql}");
        }
        for sql in [
            "INSERT INTO t VALUES (1)",
            "CREATE TABLE t AS SELECT 1",
            "DROP TABLE t",
            "EXPLAIN ANALYZE INSERT INTO t VALUES (1)",
        ] {
            assert!(!is_read(&parse(sql)), "{sql}");
        }
    }
}
