//! `personadb search`, `embed` and `index`: finding personas by meaning or words, and the
//! embedding columns and indexes that make it fast.

use std::path::Path;

use anyhow::Result;

use super::args::{EmbedArgs, IndexArgs, SearchArgs};
use crate::database::Database;
use crate::PersonaSession;

/// `personadb search`: the k personas nearest the query (vector, text or hybrid).
pub async fn search(db: &Path, args: SearchArgs) -> Result<()> {
    let db = Database::open(db)?;
    let mut sink = args.format.sink(&db)?;
    let session = PersonaSession::new(db)?;
    let query = crate::search::SearchQuery {
        mode: args.mode.parse().map_err(anyhow::Error::msg)?,
        table: args.table,
        field: args.field,
        text: args.query,
        k: args.k,
        filter: args.filter,
        columns: args.columns,
        width: args.width,
    };
    let stream = query.execute(&session).await?;
    sink.write(stream).await?;
    Ok(())
}

/// `personadb embed`: adds or replaces a narrative field's embedding column, resumably.
pub async fn embed(db: &Path, args: EmbedArgs) -> Result<()> {
    let db = Database::open(db)?;
    let mut options = crate::embed::column::EmbedColumnOptions::new(args.table, args.field);
    options.model = args.model;
    options.column = args.column;
    options.force = args.force;
    options.vector_type = args.vector_type;
    options.progress = !args.quiet;
    let r = crate::embed::column::embed_column(&db, &options).await?;
    eprintln!(
        "{}: {} by {} ({} dimensions), {} rows in {:.1}s ({:.0} rows/s){}",
        r.column,
        r.action,
        r.model,
        r.dimension,
        r.rows,
        r.seconds,
        r.rows as f64 / r.seconds.max(1e-9),
        match r.resumed_fragments {
            0 => String::new(),
            n => format!(", {n} fragment(s) reused from the interrupted run"),
        }
    );
    if r.action.starts_with("replaced") && r.rows as usize >= crate::index::MIN_VECTOR_ROWS {
        eprintln!(
            "its vector index went with the old column: `personadb index --table {}` builds it again",
            options.table
        );
    }
    Ok(())
}

/// `personadb index`: builds or updates a table's vector and full-text indexes.
pub async fn index(db: &Path, args: IndexArgs) -> Result<()> {
    let db = Database::open(db)?;
    let options = crate::index::IndexOptions {
        vector_kind: args.kind,
        rebuild: args.rebuild,
        force: args.force,
        full_text: !args.no_full_text,
        vector_columns: None,
    };
    let outcomes = crate::index::index_table(&db, &args.table, &options).await?;
    if outcomes.is_empty() {
        eprintln!("table '{}' has no embedding or narrative columns to index", args.table);
    }
    for o in outcomes {
        println!("{}\t{}\t{}\t{} rows\t{:.1}s", o.column, o.kind, o.action, o.rows, o.seconds);
    }
    Ok(())
}
