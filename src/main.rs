//! Parse the command line and dispatch: the binary owns the CLI layer
//! ([`cli`]: clap types; [`commands`]: one file per subcommand); all the
//! work lives in the library.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ColorChoice, CommandFactory, FromArgMatches};
use cli::{Cli, Command};

fn main() -> ExitCode {
    // clap colours its own help and errors: `--color` applies to them too,
    // so it is read before clap parses anything.
    let clap_color = match color_flag(std::env::args_os().skip(1)).as_deref() {
        Some("always") => ColorChoice::Always,
        Some("never") => ColorChoice::Never,
        _ => ColorChoice::Auto,
    };
    let matches = Cli::command().color(clap_color).get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    cli.global.interval_explicit =
        matches.value_source("interval") == Some(ValueSource::CommandLine);
    match run(&cli) {
        Ok(code) => code,
        // `jetstress probe --json | head` closing the pipe is not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let root = &cli.global.root;
    let reads_board = !matches!(cli.command, Some(Command::Completions(_) | Command::Man));
    if reads_board && !root.is_dir() {
        anyhow::bail!("root '{}' is not a directory", root.display());
    }
    let g = &cli.global;
    match &cli.command {
        Some(Command::Probe(args)) => commands::probe::run(g, args),
        Some(Command::PredictEval(args)) => commands::predict_eval::run(args),
        Some(Command::Run(args)) => commands::run::run(g, args),
        Some(Command::Campaign(args)) => commands::campaign::run(g, args),
        Some(Command::Report(args)) => commands::report::run(args),
        Some(Command::McpServe(args)) => commands::mcp_serve::run(g, args),
        Some(Command::Replay(args)) => commands::replay::run(g, args),
        Some(Command::Check(args)) => commands::check::run(g, args),
        Some(Command::Completions(args)) => commands::completions::run(args),
        Some(Command::Man) => commands::man::run(),
        None => commands::dashboard::run(g, &cli.dashboard),
    }
}

/// The value of the last `--color WHEN` / `--color=WHEN` before `--`.
fn color_flag(args: impl Iterator<Item = std::ffi::OsString>) -> Option<String> {
    let mut found = None;
    let mut args = args.map(|a| a.to_string_lossy().into_owned());
    while let Some(a) = args.next() {
        if a == "--" {
            break;
        } else if a == "--color" {
            found = args.next();
        } else if let Some(v) = a.strip_prefix("--color=") {
            found = Some(v.to_string());
        }
    }
    found
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

#[cfg(test)]
mod tests {
    use super::color_flag;

    #[test]
    fn color_flag_is_found_before_clap_parses() {
        let scan = |v: &[&str]| color_flag(v.iter().map(std::ffi::OsString::from));
        assert_eq!(
            scan(&["--color", "never", "probe"]).as_deref(),
            Some("never")
        );
        assert_eq!(
            scan(&["probe", "--color=always"]).as_deref(),
            Some("always")
        );
        assert_eq!(
            scan(&["--color=never", "--color", "always"]).as_deref(),
            Some("always")
        );
        assert_eq!(scan(&["run", "--", "--color", "never"]), None);
        assert_eq!(scan(&["probe"]), None);
    }
}
