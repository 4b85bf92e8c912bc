//! Function documentation kept as data beside each function, and the Markdown reference
//! generated from it (`docs/sql-functions.md`, kept current by a test).

/// The documentation of one SQL function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDoc {
    /// The SQL name.
    pub name: &'static str,
    /// "table function", "scalar function", ...
    pub kind: &'static str,
    /// What the function does, in a few sentences.
    pub description: &'static str,
    /// The call syntax, e.g. `sample_persona(n, locale, seed, given)`.
    pub syntax: &'static str,
    /// Each argument: name and meaning (type, allowed values, default).
    pub arguments: &'static [(&'static str, &'static str)],
    /// A runnable SQL example.
    pub example: &'static str,
}

/// Renders the Markdown SQL reference for `docs`.
pub fn render_reference(docs: &[FunctionDoc]) -> String {
    let mut out = String::from(
        "# personadb SQL function reference\n\n\
         <!-- Generated from the function definitions in udfs/src by `personadb functions --markdown`. \
         Do not edit by hand: tests/docs.rs fails when this file is stale. -->\n\n\
         personadb is Apache DataFusion SQL plus the functions below. Table functions take \
         positional literal arguments.\n\n",
    );
    for d in docs {
        out.push_str(&format!("- [`{}`](#{}) — {}\n", d.name, d.name, d.kind));
    }
    for d in docs {
        out.push_str(&format!("\n## {}\n\n*{}*\n\n{}\n\n", d.name, d.kind, d.description));
        out.push_str(&format!("```sql\n{}\n```\n\n", d.syntax));
        if !d.arguments.is_empty() {
            out.push_str("| argument | meaning |\n| --- | --- |\n");
            for (name, meaning) in d.arguments {
                out.push_str(&format!("| `{name}` | {meaning} |\n"));
            }
            out.push('\n');
        }
        out.push_str(&format!("Example:\n\n```sql\n{}\n```\n", d.example));
    }
    out
}
