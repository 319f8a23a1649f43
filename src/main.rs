//! Command-line dispatch only: every subcommand's work lives in the library.

use std::process::ExitCode;

use clap::Parser;
use jetstress::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
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
        Some(Command::Probe(args)) => jetstress::probe_cmd::run(&cli.global, &args),
        Some(Command::PredictEval(args)) => {
            let mut out = std::io::stdout().lock();
            jetstress::predict::eval::run_eval(&args, &mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            anyhow::bail!(
                "the dashboard is not built yet; try `jetstress probe` or `jetstress --help`"
            )
        }
    }
}
