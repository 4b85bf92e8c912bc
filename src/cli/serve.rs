//! `personadb serve`: options and password from the command line or the environment, then
//! [`crate::serve::serve`] until a signal.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::args::ServeArgs;
use crate::database::Database;

/// `personadb serve`: the PostgreSQL wire protocol over the database until SIGTERM or Ctrl-C;
/// the address line on stdout is what scripts wait for.
pub async fn serve(dir: &Path, args: ServeArgs) -> Result<()> {
    let password = match (&args.password_file, std::env::var("PERSONADB_PASSWORD")) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            Some(text.lines().next().unwrap_or("").to_string())
        }
        (None, Ok(password)) => Some(password),
        (None, Err(_)) => None,
    };
    let options = crate::serve::ServeOptions {
        host: args.host,
        port: args.port,
        read_only: args.read_only,
        password,
        grace: std::time::Duration::from_secs(args.grace),
        cache: args.cache.cache(),
        cluster: args.cluster,
    };
    options.check()?;
    if args.read_only {
        anyhow::ensure!(dir.is_dir(), "database {} does not exist (--read-only serves an existing one)", dir.display());
    }
    let db = Database::open(dir)?;
    let (read_only, auth) = (options.read_only, options.password.is_some());
    let stop = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        eprintln!("personadb serve: stopping");
    };
    crate::serve::serve(
        db.clone(),
        options,
        |address| {
            // The address line is what scripts and tests wait for: print it at once.
            println!("personadb serve: listening on {address}");
            eprintln!(
                "database {}{}{}",
                db.dir().display(),
                if read_only { ", read-only" } else { "" },
                if auth { ", password required" } else { ", no password (loopback only)" }
            );
            let _ = std::io::stdout().flush();
        },
        stop,
    )
    .await?;
    Ok(())
}
