//! Terminal hygiene: raw mode + alternate screen entered by [`TerminalGuard`],
//! restored on drop, and by a chained panic hook, so the user's shell is never
//! left broken — whatever path the program leaves by.

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use crate::ui::theme::ColorChoice;

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// crossterm drops colour escapes by itself when `NO_COLOR` is set: `--color
/// always` overrides that, `never` makes sure (the monochrome theme sends
/// none anyway), `auto` leaves crossterm's own reading of `NO_COLOR`.
pub fn force_color(choice: ColorChoice) {
    match choice {
        ColorChoice::Always => crossterm::style::force_color_output(true),
        ColorChoice::Never => crossterm::style::force_color_output(false),
        ColorChoice::Auto => {}
    }
}

/// Put the terminal back the way we found it (idempotent).
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(
            io::stdout(),
            DisableMouseCapture,
            LeaveAlternateScreen,
            crossterm::cursor::Show
        );
    }
}

pub struct TerminalGuard {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    pub fn enter(mouse: bool) -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = io::stdout();
        if let Err(e) = execute!(out, EnterAlternateScreen, crossterm::cursor::Hide) {
            restore();
            return Err(e);
        }
        if mouse {
            let _ = execute!(out, EnableMouseCapture);
        }
        match Terminal::new(CrosstermBackend::new(out)) {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    chain_panic_hook(&ONCE, restore);
}

/// Run `restore` before the panic hook installed so far, the first time
/// `once` is passed (each caller keeps its own `Once`). Hooks chain, so the
/// one installed last runs first: the terminal's (entered after a stderr
/// capture) restores the screen, then the capture's puts stderr back, then
/// the message is printed.
pub fn chain_panic_hook(once: &'static Once, restore: fn()) {
    once.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    const TEST: &str = "a_chained_hook_runs_before_the_ones_installed_earlier";
    static ORDER: Mutex<Vec<char>> = Mutex::new(Vec::new());

    /// Only this test's panics count (the hook is the whole process's).
    fn note(c: char) {
        if std::thread::current()
            .name()
            .is_some_and(|n| n.ends_with(TEST))
        {
            ORDER.lock().unwrap().push(c);
        }
    }

    /// The hook installed last runs first, each once per panic, however
    /// often it was asked for; the panic still unwinds.
    #[test]
    fn a_chained_hook_runs_before_the_ones_installed_earlier() {
        static FIRST: Once = Once::new();
        static SECOND: Once = Once::new();
        chain_panic_hook(&FIRST, || note('a'));
        chain_panic_hook(&SECOND, || note('b'));
        chain_panic_hook(&FIRST, || note('x'));
        assert!(std::panic::catch_unwind(|| panic!("a panic on purpose")).is_err());
        assert_eq!(*ORDER.lock().unwrap(), ['b', 'a']);
    }
}
