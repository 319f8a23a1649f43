//! stderr into a channel while the dashboard owns the terminal: a campaign's
//! steps write their lines (step starts, verdicts, progress) to stderr, which
//! would tear the screen; [`StderrCapture`] points file descriptor 2 at a pipe
//! whose lines go to the dashboard's event log, and puts the real stderr back
//! on drop and before a panic message is printed. When the dashboard has
//! gone (the receiver is dropped) lines go to the real stderr again, so the
//! pipe never fills and a writer never blocks.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicI32, Ordering};

use tokio::sync::mpsc;

/// The real stderr while a capture runs (-1: none).
static SAVED: AtomicI32 = AtomicI32::new(-1);

/// Put the real stderr back (idempotent).
fn restore() {
    let saved = SAVED.swap(-1, Ordering::SeqCst);
    if saved >= 0 {
        // SAFETY: `saved` is a descriptor this module dup'ed and still owns.
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
    }
}

pub struct StderrCapture {
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StderrCapture {
    /// Start capturing; the lines come on the receiver.
    pub fn start() -> std::io::Result<(StderrCapture, mpsc::Receiver<String>)> {
        let mut fds = [0i32; 2];
        // SAFETY: plain descriptor calls; every result is checked.
        let (reader, fallback) = unsafe {
            if libc::pipe(fds.as_mut_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let saved = libc::dup(2);
            let fallback = libc::dup(2);
            if saved < 0 || fallback < 0 || libc::dup2(fds[1], 2) < 0 {
                let e = std::io::Error::last_os_error();
                for fd in [fds[0], fds[1], saved, fallback] {
                    if fd >= 0 {
                        libc::close(fd);
                    }
                }
                return Err(e);
            }
            libc::close(fds[1]);
            SAVED.store(saved, Ordering::SeqCst);
            (File::from_raw_fd(fds[0]), File::from_raw_fd(fallback))
        };
        install_panic_hook();
        let (tx, rx) = mpsc::channel(1024);
        let thread = std::thread::Builder::new()
            .name("jetstress-stderr".into())
            .spawn(move || {
                let mut fallback = fallback;
                for line in BufReader::new(reader).lines() {
                    let Ok(line) = line else { break };
                    if let Err(mpsc::error::SendError(line)) = tx.blocking_send(line) {
                        let _ = writeln!(fallback, "{line}");
                    }
                }
            })?;
        Ok((
            StderrCapture {
                thread: Some(thread),
            },
            rx,
        ))
    }
}

impl Drop for StderrCapture {
    fn drop(&mut self) {
        // The pipe's last writer goes with it and the reader sees its end
        // (not waited for: a child that inherited the pipe may still hold it).
        restore();
        drop(self.thread.take());
    }
}

/// A panic message must reach the real stderr (the terminal's own hook,
/// installed later, runs first and restores the screen, then this one).
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    jetstress::ui::chain_panic_hook(&ONCE, restore);
}
