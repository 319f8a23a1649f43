//! Progress of a long-running command on stderr, shared by the commands that
//! run for minutes (`run` now; `check` and `campaign` later). On a terminal
//! it is an `indicatif` bar — title and time left, bar, what runs now —
//! that the command's own lines scroll above; when stderr is a pipe or a
//! file it is the command's plain progress line every so often, as CI logs
//! and tests read it.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jetstress::config::clock;

/// How often the bar is refreshed.
pub const BAR_EVERY: Duration = Duration::from_secs(1);

/// What the bar shows now.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// Left of the bar: `spike 1/2`.
    pub title: String,
    /// Right of the bar: `baseline · 15.0 rps · err 0`.
    pub detail: String,
    /// Done so far, of `total`.
    pub done: Duration,
    /// The expected length; `None`: unknown (no ETA is shown).
    pub total: Option<Duration>,
}

impl Status {
    /// The text left of the bar: the title and the time left (the detail on
    /// the right is what a narrow terminal cuts).
    pub fn heading(&self) -> String {
        match self.total {
            Some(t) => format!(
                "{} · ETA {}",
                self.title,
                clock(t.saturating_sub(self.done))
            ),
            None => self.title.clone(),
        }
    }
}

/// A bar on a terminal, plain lines otherwise.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain_every: Duration,
}

impl Progress {
    /// A bar when stderr is a terminal, else plain lines every `plain_every`.
    pub fn for_stderr(plain_every: Duration) -> Progress {
        if std::io::stderr().is_terminal() {
            Progress::bar(ProgressDrawTarget::stderr(), plain_every)
        } else {
            Progress::plain(plain_every)
        }
    }

    /// Plain lines only.
    pub fn plain(every: Duration) -> Progress {
        Progress {
            bar: None,
            plain_every: every,
        }
    }

    fn bar(target: ProgressDrawTarget, plain_every: Duration) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(1), target);
        let style = ProgressStyle::with_template("{prefix:.bold} [{bar:20.cyan/blue}] {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        Progress {
            bar: Some(bar),
            plain_every,
        }
    }

    pub fn is_bar(&self) -> bool {
        self.bar.is_some()
    }

    /// How often the caller should call [`Progress::update`].
    pub fn every(&self) -> Duration {
        if self.is_bar() {
            BAR_EVERY
        } else {
            self.plain_every
        }
    }

    /// Show `status` on the bar; without one, print the `plain` line.
    pub fn update(&self, status: &Status, plain: impl FnOnce() -> Option<String>) {
        match &self.bar {
            Some(bar) => {
                let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
                let total = status.total.map_or(0, ms).max(1);
                bar.set_length(total);
                bar.set_position(ms(status.done).min(total));
                bar.set_prefix(status.heading());
                bar.set_message(status.detail.clone());
            }
            None => {
                if let Some(line) = plain() {
                    eprintln!("{line}");
                }
            }
        }
    }

    /// A line of the command's own: above the bar, or plain on stderr.
    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// Take the bar off the screen (the lines above it stay).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_reads_as_a_clock() {
        let st = Status {
            title: "spike 1/1".into(),
            detail: "baseline · 2.0 rps".into(),
            done: Duration::from_secs(30),
            total: Some(Duration::from_secs(90)),
        };
        assert_eq!(st.heading(), "spike 1/1 · ETA 1:00");
        let open = Status { total: None, ..st };
        assert_eq!(open.heading(), "spike 1/1");
    }

    #[test]
    fn a_hidden_bar_takes_updates_and_lines_without_printing_plain() {
        let p = Progress::bar(ProgressDrawTarget::hidden(), Duration::from_secs(10));
        assert!(p.is_bar());
        assert_eq!(p.every(), BAR_EVERY);
        let st = Status {
            title: "soak 1/1".into(),
            detail: "soak · 5.0 rps".into(),
            done: Duration::from_secs(5),
            total: Some(Duration::from_secs(10)),
        };
        p.update(&st, || panic!("no plain line with a bar"));
        let bar = p.bar.as_ref().unwrap();
        assert_eq!((bar.position(), bar.length()), (5000, Some(10_000)));
        assert_eq!(bar.prefix(), "soak 1/1 · ETA 0:05");
        assert_eq!(bar.message(), "soak · 5.0 rps");
        p.line("phase soak started");
        let plain = Progress::plain(Duration::from_secs(10));
        assert_eq!(plain.every(), Duration::from_secs(10));
    }
}
