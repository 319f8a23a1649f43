//! The signals that end a run, headless or on the dashboard: SIGINT, SIGTERM
//! and SIGHUP (and, for a campaign beside the dashboard, its quit key). Each
//! is caught once, at start, so one that arrives between two steps of a
//! campaign waits for the next step instead of killing the process with load
//! running and a recording unflushed.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// Which signal asked the command to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    Interrupt,
    Terminate,
    Hangup,
    /// The dashboard beside a campaign was closed.
    Quit,
}

impl StopSignal {
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Hangup => "SIGHUP",
            StopSignal::Quit => "the dashboard's quit key",
        }
    }
}

/// The three listeners (a missing one, which only a very odd process sees,
/// is left out rather than failing the command).
pub struct StopSignals {
    int: Option<Signal>,
    term: Option<Signal>,
    hup: Option<Signal>,
    quit: Option<tokio::sync::watch::Receiver<bool>>,
}

impl StopSignals {
    pub fn listen() -> StopSignals {
        StopSignals {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
            hup: signal(SignalKind::hangup()).ok(),
            quit: None,
        }
    }

    /// Also stop when `quit` turns `true` (the dashboard's quit key).
    #[must_use]
    pub fn with_quit(mut self, quit: tokio::sync::watch::Receiver<bool>) -> StopSignals {
        self.quit = Some(quit);
        self
    }

    /// The next stop signal.
    pub async fn recv(&mut self) -> StopSignal {
        async fn one(s: &mut Option<Signal>) {
            match s {
                Some(s) => {
                    if s.recv().await.is_none() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        }
        async fn quit(q: &mut Option<tokio::sync::watch::Receiver<bool>>) {
            match q {
                Some(rx) => {
                    if rx.wait_for(|v| *v).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            () = quit(&mut self.quit) => StopSignal::Quit,
            () = one(&mut self.int) => StopSignal::Interrupt,
            () = one(&mut self.term) => StopSignal::Terminate,
            () = one(&mut self.hup) => StopSignal::Hangup,
        }
    }
}
