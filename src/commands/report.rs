//! `jetstress report RECORDING --out DIR`: a run's report (JSON, Markdown,
//! PNG and SVG charts) rebuilt from its recording and rotation parts; exit
//! code as the run's (0 PASS, 1 FAIL).

use std::process::ExitCode;

use jetstress::recording::read_recording_parts;
use jetstress::report::{rebuild, Rebuilt};

use crate::cli::ReportArgs;

/// Exit 0 on PASS, 1 on FAIL, 2 when the recording cannot be read (like
/// `jetstress run`).
pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let rec = read_recording_parts(&args.recording).map_err(anyhow::Error::msg)?;
    for (n, why) in &rec.skipped {
        eprintln!("{}: skipped: {why}", rec.locate(*n));
    }
    if rec.torn_tail {
        eprintln!(
            "{}: the last line is cut off (a crash mid-write); it was skipped",
            args.recording.display()
        );
    }
    if rec.sources.len() > 1 {
        eprintln!(
            "read {} rotation parts of {}",
            rec.sources.len(),
            args.recording.display()
        );
    }
    let Rebuilt {
        mut report,
        timeline,
    } = rebuild(&rec).map_err(anyhow::Error::msg)?;
    report.write_with_charts(&args.out, &timeline)?;
    for c in &report.criteria {
        eprintln!("{}", c.line());
    }
    eprintln!("result: {}", report.result);
    eprintln!("report written to {}", args.out.display());
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
