//! The `personadb` command line: parses the arguments and hands them to the library's
//! [`personadb::cli`], where each command's work lives. Errors are one line on stderr with exit
//! code 1; a closed pipe is a clean exit.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use personadb::cli::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: print as usual.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // A usage error is a user error like any other: one line, exit code 1.
            // clap lists what is missing on the lines after "...not provided:": keep them.
            let text = e.to_string();
            let mut lines = text.lines().map(str::trim);
            let mut first = lines.next().unwrap_or("invalid arguments").trim_start_matches("error: ").to_string();
            if first.ends_with(':') {
                let listed: Vec<&str> = lines.take_while(|l| !l.is_empty()).collect();
                first = format!("{} {}", first, listed.join(", "));
            }
            let _ = writeln!(std::io::stderr(), "error: {first} (see personadb --help)");
            return ExitCode::FAILURE;
        }
    };
    // Before the runtime starts any thread.
    personadb::env::lance_decode_on_every_core();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(&anyhow::Error::from(e)),
    };
    match runtime.block_on(personadb::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {}", personadb::error::user_message(e.as_ref()));
    ExitCode::FAILURE
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.to_string().contains("Broken pipe")
    })
}
