//! Command-line dispatch only: every subcommand's work lives in the library.

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use jetstress::cli::{Cli, Command};

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    cli.global.interval_explicit =
        matches.value_source("interval") == Some(ValueSource::CommandLine);
    match run(cli) {
        Ok(code) => code,
        // `jetstress probe --json | head` closing the pipe is not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let root = &cli.global.root;
    if !root.is_dir() {
        anyhow::bail!("root '{}' is not a directory", root.display());
    }
    match cli.command {
        Some(Command::Probe(args)) => jetstress::commands::probe::run(&cli.global, &args),
        Some(Command::PredictEval(args)) => {
            let mut out = std::io::stdout().lock();
            jetstress::report::predict_eval::run_eval(&args, &mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Run(args)) => jetstress::commands::run::run(&cli.global, &args),
        Some(Command::Report(args)) => jetstress::report::rebuild::run(&args),
        Some(Command::McpServe(args)) => jetstress::export::mcp::run(&cli.global, &args),
        Some(Command::Replay(args)) => jetstress::ui::run_replay(&cli.global, &args),
        None => jetstress::ui::run(&cli.global, &cli.dashboard),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .map(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            .or_else(|| {
                c.downcast_ref::<serde_json::Error>()
                    .map(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
            })
            .unwrap_or(false)
    })
}
