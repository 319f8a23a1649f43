//! `jetstress replay FILE`: the dashboard fed from a recording or trace.

use std::process::ExitCode;

use jetstress::ui::ReplayOptions;

use crate::cli::{GlobalArgs, ReplayArgs};

pub fn run(global: &GlobalArgs, args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    jetstress::ui::run_replay(&ReplayOptions {
        file: args.file.clone(),
        speed: args.speed,
        trip: args.trip,
        dashboard: super::dashboard_options(global, &args.dashboard)?,
    })
}
