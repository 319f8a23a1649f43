//! `jetstress` with no subcommand: the live dashboard, its load planned from
//! `--scenario` / `--target-cmd` / `--target-url` (the built-in server by
//! default) and the users / arrival / seed flags before the terminal is touched.

use std::process::ExitCode;

use jetstress::load::{plan_dashboard, PlanOptions};

use crate::cli::{DashboardArgs, GlobalArgs};

pub fn run(global: &GlobalArgs, args: &DashboardArgs) -> anyhow::Result<ExitCode> {
    let opts = super::dashboard_options(global, args)?;
    // Phases come from keys, so a scenario without phases is fine here.
    let load = PlanOptions {
        scenario: args.load.scenario.clone(),
        target_cmd: args.load.target_cmd.clone(),
        target_url: args.load.target_url.clone(),
        ..PlanOptions::default()
    };
    let load = super::with_llm(&args.load.llm, super::with_model(&args.load.model, load));
    let plan = plan_dashboard(&load)?;
    jetstress::ui::run(&opts, plan)
}
