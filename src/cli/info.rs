//! `personadb locales`, `functions`, `models` and `derive`: what is compiled in and installed,
//! and the derivation of a locale pack from raw official statistics.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Result;

use super::args::{DeriveArgs, ModelsCommand};

/// `personadb locales`: every locale compiled in, as text or JSON.
pub fn locales(json: bool) -> Result<()> {
    let locales = crate::locale::describe_all()?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(locales)?)?;
        return Ok(());
    }
    for (i, l) in locales.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let aliases = if l.aliases.is_empty() { String::new() } else { format!(" ({})", l.aliases.join(", ")) };
        writeln!(out, "{}{aliases}: {}", l.name, l.description)?;
        writeln!(out, "  columns: {}", l.columns.join(", "))?;
        writeln!(out, "  narratives: {}", l.narrative_fields.join(", "))?;
        let languages: Vec<String> = l.languages.iter().map(|(c, m)| format!("{c} (embedded by {m})")).collect();
        writeln!(out, "  languages: {}", languages.join(", "))?;
        writeln!(out, "  sources:")?;
        for (table, vintage) in &l.sources {
            writeln!(out, "    {table} ({vintage})")?;
        }
    }
    Ok(())
}

/// `personadb functions`: the SQL function reference, one line each or in Markdown.
pub fn functions(markdown: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if markdown {
        write!(out, "{}", personadb_udfs::sql_reference_markdown())?;
    } else {
        for d in personadb_udfs::all_docs() {
            writeln!(out, "{:<20} {}", d.name, d.syntax)?;
        }
    }
    Ok(())
}

/// `personadb models list|distill`.
pub fn models(command: ModelsCommand) -> Result<()> {
    use crate::embed::{ModelKind, MODELS};
    match command {
        ModelsCommand::List => {
            let mut out = std::io::stdout().lock();
            for m in &MODELS {
                let kind = match m.kind {
                    ModelKind::Transformer => "transformer".to_string(),
                    ModelKind::Static { base, dimension } => format!("static, {dimension} dimensions, from {base}"),
                };
                let installed = crate::embed::model_dir(m).map(|d| d.is_dir()).unwrap_or(false);
                let state = if installed { "installed" } else { "not installed" };
                writeln!(out, "{:<40} {kind}; {}; {state}", m.name, m.languages)?;
            }
            Ok(())
        }
        ModelsCommand::Distill { model, personas, force } => {
            let chosen: Vec<&crate::embed::ModelSpec> = match &model {
                Some(name) => vec![crate::embed::static_of(name)?],
                None => MODELS.iter().filter(|m| matches!(m.kind, ModelKind::Static { .. })).collect(),
            };
            for spec in chosen {
                let ModelKind::Static { base, dimension } = spec.kind else { continue };
                let base = crate::embed::spec(base)?;
                let (base_dir, out_dir) = (crate::embed::model_dir(base)?, crate::embed::model_dir(spec)?);
                if out_dir.join("model.safetensors").is_file() && !force {
                    eprintln!("{}: already in {} (--force to distill again)", spec.name, out_dir.display());
                    continue;
                }
                if !base_dir.join("model.onnx").is_file() {
                    anyhow::ensure!(model.is_none(), "{} is not installed in {}", base.name, base_dir.display());
                    eprintln!("{}: skipped, {} is not installed", spec.name, base.name);
                    continue;
                }
                let corpus = crate::embed::distill::corpus(base.name, personas, 42)?;
                let texts: Vec<&str> = corpus.iter().map(String::as_str).collect();
                let bar = indicatif::ProgressBar::new(0);
                if !std::io::stderr().is_terminal() {
                    bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
                }
                let progress = |done: usize, total: usize| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                };
                let report = crate::embed::distill::distill(base, &base_dir, &out_dir, dimension, &texts, &progress)?;
                bar.finish_and_clear();
                eprintln!(
                    "{}: {} tokens, {} dimensions ({:.1}% of the variance), weights from {} corpus tokens, {:.0} s -> {}",
                    spec.name,
                    report.tokens,
                    report.dimension,
                    report.explained_variance * 100.0,
                    report.corpus_tokens,
                    report.seconds,
                    out_dir.display()
                );
            }
            Ok(())
        }
    }
}

/// `personadb derive`: a locale pack's tables from raw statistics, or `--check` of the raw
/// inputs against the embedded manifest.
pub fn derive(args: DeriveArgs) -> Result<()> {
    if args.check {
        let pack = crate::locale::pack(&args.locale)?;
        let manifest: crate::derive::Manifest = serde_json::from_str(pack.file("manifest.json")?)?;
        let mut bad = 0;
        for (path, check) in crate::derive::verify_sources(&manifest, &args.raw)? {
            println!("{:<10} {path}", format!("{check:?}").split_whitespace().next().unwrap_or(""));
            if check != crate::derive::SourceCheck::Matches {
                bad += 1;
            }
        }
        anyhow::ensure!(bad == 0, "{bad} raw input(s) missing or changed since the pack was derived");
        return Ok(());
    }
    let out = args.out.unwrap_or_else(|| PathBuf::from("datasets").join(&args.locale));
    let report = crate::derive::derive(&args.locale, &args.raw, &out)?;
    for t in &report.tables {
        eprintln!("wrote {} ({} rows)", out.join(&t.file).display(), t.rows);
    }
    eprintln!("wrote {}", out.join("manifest.json").display());
    Ok(())
}
