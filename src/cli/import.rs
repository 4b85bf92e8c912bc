//! `personadb import`: a persona dataset from files into a table, with its summary.

use std::path::Path;

use anyhow::Result;

use super::args::ImportArgs;
use crate::database::{Database, WriteKind};

/// `personadb import PATH --locale L`.
pub async fn import(db: &Path, args: ImportArgs) -> Result<()> {
    let db = Database::open(db)?;
    let mut options = crate::import::ImportOptions::new(args.path, args.locale);
    options.table = args.table;
    options.kind = match (args.append, args.replace) {
        (true, _) => WriteKind::Append,
        (_, true) => WriteKind::Replace,
        _ => WriteKind::Create,
    };
    options.allow_unknown = args.allow_unknown;
    options.embed = match args.embed.trim() {
        "all" => None,
        "none" => Some(Vec::new()),
        list => Some(list.split(',').map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect()),
    };
    options.progress = !args.quiet;
    let r = crate::import::import(&db, &options).await?;
    eprintln!(
        "imported {} rows from {} file(s) into '{}' (locale {}) in {:.1}s ({:.0} rows/s before embedding)",
        r.rows,
        r.files.len(),
        r.table,
        r.locale,
        r.write_seconds,
        r.rows as f64 / r.write_seconds.max(1e-9)
    );
    for f in &r.files {
        eprintln!("  {}: {} rows, {} bytes, sha256 {}", f.path, f.rows, f.bytes, f.sha256);
    }
    eprintln!("  columns of the locale: {}", r.known_columns.join(", "));
    if !r.other_columns.is_empty() {
        eprintln!("  other columns, kept as they are: {}", r.other_columns.join(", "));
    }
    for u in &r.unknown {
        let values: Vec<String> = u.values.iter().map(|(v, n)| format!("'{v}' ({n})")).collect();
        eprintln!(
            "  outside the vocabulary: `{}` in {} rows, {} distinct values: {}{}",
            u.column,
            u.rows,
            u.distinct,
            values.join(", "),
            if u.distinct > values.len() { ", ..." } else { "" }
        );
    }
    for e in &r.embedded {
        eprintln!("  {}: {} by {}, {} rows in {:.1}s", e.column, e.action, e.model, e.rows, e.seconds);
    }
    for o in crate::index::auto_index(&db, &r.table).await? {
        eprintln!("  index {} ({}): {} in {:.1}s", o.column, o.kind, o.action, o.seconds);
    }
    eprintln!("then: personadb report --table {}", r.table);
    Ok(())
}
