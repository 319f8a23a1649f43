//! `jetstress predict-eval TRACE`: replays a recorded trace through the
//! throttle predictor and prints its scores (table or JSON).

use std::process::ExitCode;

use jetstress::report::{run_eval, EvalConfig};

use crate::cli::EvalArgs;

pub fn run(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let cfg = EvalConfig {
        trace: args.trace.clone(),
        zone: args.zone.clone(),
        threshold: args.threshold,
        trip_fraction: args.trip_fraction,
        min_rise: args.min_rise,
        window: args.window,
        noise_margin: args.noise_margin,
        no_first_passage: args.no_first_passage,
        emit: args.emit.clone(),
        json: args.json,
    };
    let mut out = std::io::stdout().lock();
    run_eval(&cfg, &mut out)?;
    Ok(ExitCode::SUCCESS)
}
