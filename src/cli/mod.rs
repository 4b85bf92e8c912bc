//! The `personadb` commands: one function per command, called by the thin binary
//! (`src/main.rs`) with its parsed [`args`]. Each opens the database, calls the engine (the
//! library's modules do the work) and prints what the user reads: tables and results on
//! stdout, progress and summaries on stderr.

pub mod args;
mod generate;
mod import;
mod info;
mod query;
mod report;
mod search;
mod serve;
mod shell;

pub use args::{Cli, Command};
pub use generate::{generate, runs};
pub use import::import;
pub use info::{derive, functions, locales, models};
pub use query::{sql, tables};
pub use report::{check, report};
pub use search::{embed, index, search};
pub use serve::serve;
pub use shell::shell;

/// `personadb cluster scheduler|executor`: runs until the process is stopped.
async fn cluster(command: args::ClusterCommand) -> anyhow::Result<()> {
    match command {
        args::ClusterCommand::Scheduler { bind, executor_timeout_s } => {
            eprintln!("personadb cluster scheduler listening on {bind} (df://{bind})");
            crate::cluster::run_scheduler(crate::cluster::SchedulerOptions { bind, executor_timeout_s }).await?
        }
        args::ClusterCommand::Executor { scheduler, bind_host, port, grpc_port, tasks, work_dir, heartbeat_s } => {
            let tasks = crate::backends::resolve_threads(tasks);
            eprintln!("personadb cluster executor on {bind_host}:{port} ({tasks} tasks at once) joining {scheduler}");
            let options =
                crate::cluster::ExecutorOptions { scheduler, bind_host, port, grpc_port, tasks, work_dir, heartbeat_s };
            crate::cluster::run_executor(options).await?
        }
    }
    Ok(())
}

/// Runs one parsed command line: the dispatch of the binary.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let db = cli.db.as_path();
    match cli.command {
        Command::Sql(args) => sql(db, args).await,
        Command::Shell(args) => shell(db, args).await,
        Command::Serve(args) => serve(db, args).await,
        Command::Check { repair } => check(db, repair).await,
        Command::Generate(args) => generate(db, args).await,
        Command::Runs(args) => runs(db, args),
        Command::Search(args) => search(db, args).await,
        Command::Embed(args) => embed(db, args).await,
        Command::Index(args) => index(db, args).await,
        Command::Tables(format) => tables(db, format).await,
        Command::Import(args) => import(db, args).await,
        Command::Report(args) => report(db, args).await,
        Command::Derive(args) => derive(args),
        Command::Models(command) => models(command),
        Command::Locales { json } => locales(json),
        Command::Functions { markdown } => functions(markdown),
        Command::Cluster(command) => cluster(command).await,
    }
}
