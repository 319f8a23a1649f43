//! Background loads beside the request phases: CPU burn, memory pressure and
//! GPU load, each a set of threads that stop with their owner.

pub mod cpu;
pub mod gpu;
pub mod memory;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Background load threads sharing one stop flag: halting sets the flag and
/// joins them, and dropping halts, so a generator never outlives its owner.
#[derive(Debug)]
pub struct Workers {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    pub fn new(stop: Arc<AtomicBool>, threads: Vec<JoinHandle<()>>) -> Self {
        Workers { stop, threads }
    }

    pub fn len(&self) -> usize {
        self.threads.len()
    }

    pub fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.halt();
    }
}
