//! `jetstress predict-eval TRACE` / `--corpus DIR`: replays a recorded trace
//! (or every trace of a corpus manifest) through the throttle predictor and
//! prints its scores (table or JSON).

use std::process::ExitCode;

use jetstress::report::{run_corpus, run_eval, CorpusConfig, EvalConfig};

use crate::cli::EvalArgs;

pub fn run(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if let Some(dir) = &args.corpus {
        let cfg = CorpusConfig {
            load_column: args.load_column,
            planned_load: args.planned_load,
            cross_validate: !args.no_cv,
            json: args.json,
            ..CorpusConfig::for_dir(dir)
        };
        run_corpus(&cfg, &mut out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(trace) = &args.trace else {
        anyhow::bail!("predict-eval needs a TRACE or --corpus DIR");
    };
    let cfg = EvalConfig {
        trace: trace.clone(),
        zone: args.zone.clone(),
        threshold: args.threshold,
        trip_fraction: args.trip_fraction,
        min_rise: args.min_rise,
        window: args.window,
        noise_margin: args.noise_margin,
        no_first_passage: args.no_first_passage,
        emit: args.emit.clone(),
        load_column: args.load_column,
        json: args.json,
    };
    run_eval(&cfg, &mut out)?;
    Ok(ExitCode::SUCCESS)
}
