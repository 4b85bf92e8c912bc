//! `personadb sql` and `personadb tables`: statements and the table list, printed or written
//! through a [`ResultSink`].

use std::path::Path;

use anyhow::{Context, Result};
use futures::StreamExt;

use super::args::{FormatArg, SqlArgs};
use crate::database::Database;
use crate::format::ResultSink;
use crate::PersonaSession;

/// `personadb sql`: runs the statements of the argument or the file, each query's result
/// printed in turn.
pub async fn sql(db: &Path, args: SqlArgs) -> Result<()> {
    let sql = match (&args.query, &args.file) {
        (Some(q), _) => q.clone(),
        (None, Some(f)) => std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?,
        (None, None) => anyhow::bail!("give a query or -f FILE"),
    };
    let db = Database::open(db)?;
    let mut sink = args.format.sink(&db)?;
    if let Some(address) = &args.cluster {
        let session = crate::cluster::ClusterSession::connect(db, address).await?;
        for statement in session.parse(&sql)? {
            let stream = session.execute(statement).await?;
            sink.write(stream).await?;
        }
        return Ok(());
    }
    let session = PersonaSession::new(db)?;
    if let Some(extra) = &args.drop_protected {
        let setting = format!("{},{extra}", crate::protected::PROTECTED);
        session.sql(&format!("SET personadb.drop_protected = '{}'", setting.replace('\'', "''"))).await?;
        for statement in session.parse(&sql)? {
            let stream = session.execute(statement).await?;
            let dropped = crate::protected::columns(&setting);
            let schema = stream.schema();
            let keep: Vec<usize> =
                (0..schema.fields().len()).filter(|i| !dropped.contains(schema.field(*i).name())).collect();
            anyhow::ensure!(
                !keep.is_empty() || schema.fields().is_empty(),
                "--drop-protected would leave no column of the result ({})",
                schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
            );
            let projected = std::sync::Arc::new(schema.project(&keep)?);
            let batches =
                stream.map(move |b| b.and_then(|b| crate::protected::batch_without(b, &dropped).map_err(Into::into)));
            sink.write(Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(projected, batches)))
                .await?;
        }
        return Ok(());
    }
    run_sql(&session, &sql, &mut sink).await
}

/// `personadb tables`: the database's tables with their row counts.
pub async fn tables(db: &Path, format: FormatArg) -> Result<()> {
    let db = Database::open(db)?;
    let mut sink = format.sink(&db)?;
    let batch = db.summaries().await?;
    let stream = datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
        batch.schema(),
        futures::stream::iter([Ok(batch)]),
    );
    sink.write(Box::pin(stream)).await?;
    Ok(())
}

/// Runs every statement of `sql`, writing each result to `sink`.
pub(crate) async fn run_sql(session: &PersonaSession, sql: &str, sink: &mut ResultSink) -> Result<()> {
    for statement in session.parse(sql)? {
        let stream = session.execute(statement).await?;
        sink.write(stream).await?;
    }
    Ok(())
}
