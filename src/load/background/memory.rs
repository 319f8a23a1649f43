//! Memory pressure: allocate and touch 1 MiB chunks at a rate (MB/s) up to a
//! target, hold them, release on stop. It never grows past the memory floor:
//! before each chunk it reads `MemAvailable` (under the probe root) and stops
//! growing at the floor; the guard releases everything if the floor is crossed.
//! When it stops short of the target (the floor, or an allocation that
//! fails), it says so once: [`MemoryPressure::take_shortfall`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::probes::memory::parse_meminfo;
use crate::probes::Root;
use crate::snapshot::mb_words;

const CHUNK: usize = 1 << 20;
const PAGE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySpec {
    /// Hold this many MB once grown.
    pub target_mb: f64,
    /// Growth rate in MB/s.
    #[serde(default = "d_rate")]
    pub rate_mb_s: f64,
}

fn d_rate() -> f64 {
    64.0
}

/// Available memory and total from `<root>/proc/meminfo`, in MB.
pub fn mem_available(root: &Root) -> Option<(f64, f64)> {
    let m = parse_meminfo(&root.read("proc/meminfo").ok()?);
    Some((m.available_mb?, m.total_mb?))
}

/// Why the generator holds less than it was asked to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ShortCause {
    /// `MemAvailable` reached the floor (% of total).
    Floor {
        floor_pct: f64,
        available_mb: f64,
        total_mb: f64,
    },
    /// The allocator refused the next chunk.
    AllocFailed,
}

/// The generator stopped short of its target: what it holds, of what was asked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shortfall {
    pub held_mb: f64,
    pub target_mb: f64,
    pub cause: ShortCause,
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "holds {} of {} asked: ",
            mb_words(self.held_mb),
            mb_words(self.target_mb)
        )?;
        match self.cause {
            ShortCause::Floor {
                floor_pct,
                available_mb,
                total_mb,
            } => write!(
                f,
                "the {floor_pct:.0} % available floor stops it ({} available of {})",
                mb_words(available_mb),
                mb_words(total_mb)
            ),
            ShortCause::AllocFailed => f.write_str("the next allocation failed"),
        }
    }
}

/// The shortfall, told once.
#[derive(Debug, Default)]
struct Report {
    pending: Option<Shortfall>,
    told: bool,
}

#[derive(Debug)]
pub struct MemoryPressure {
    held_mb: Arc<AtomicU64>,
    /// Set when growth stopped at the floor.
    pub floor_hit: Arc<AtomicBool>,
    short: Arc<Mutex<Report>>,
    workers: super::Workers,
}

impl MemoryPressure {
    /// `floor_pct`: never push `MemAvailable` below this share of total.
    pub fn start(spec: MemorySpec, root: Root, floor_pct: f64) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let held_mb = Arc::new(AtomicU64::new(0));
        let floor_hit = Arc::new(AtomicBool::new(false));
        let short = Arc::new(Mutex::new(Report::default()));
        let out = Outputs {
            held: held_mb.clone(),
            floor_hit: floor_hit.clone(),
            short: short.clone(),
        };
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("jetstress-mem".into())
            .spawn(move || grow(spec, &root, floor_pct, &s, &out))
            .expect("spawn memory thread");
        MemoryPressure {
            held_mb,
            floor_hit,
            short,
            workers: super::Workers::new(stop, vec![thread]),
        }
    }

    /// The first time growth stopped short of the target (the floor, or an
    /// allocation that failed), once; `None` before and after.
    pub fn take_shortfall(&self) -> Option<Shortfall> {
        self.short.lock().ok()?.pending.take()
    }

    pub fn held_mb(&self) -> u64 {
        self.held_mb.load(Ordering::Relaxed)
    }

    /// Release everything (also on drop).
    pub fn stop(mut self) {
        self.workers.halt();
    }
}

/// What the growing thread shares with its owner.
struct Outputs {
    held: Arc<AtomicU64>,
    floor_hit: Arc<AtomicBool>,
    short: Arc<Mutex<Report>>,
}

impl Outputs {
    /// Note a shortfall, the first time only.
    fn short(&self, s: Shortfall) {
        if let Ok(mut r) = self.short.lock() {
            if !r.told {
                r.told = true;
                r.pending = Some(s);
            }
        }
    }
}

/// One touched 1 MiB chunk, or `None` when the allocator refuses it.
fn chunk() -> Option<Vec<u8>> {
    let mut c: Vec<u8> = Vec::new();
    c.try_reserve_exact(CHUNK).ok()?;
    c.resize(CHUNK, 0);
    for i in (0..CHUNK).step_by(PAGE) {
        c[i] = 1;
    }
    Some(c)
}

fn grow(spec: MemorySpec, root: &Root, floor_pct: f64, stop: &AtomicBool, out: &Outputs) {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let target = spec.target_mb.max(0.0) as usize;
    let rate = spec.rate_mb_s.max(0.1);
    let start = Instant::now();
    let mut alloc_failed = false;
    while !stop.load(Ordering::Relaxed) {
        if chunks.len() < target && !alloc_failed {
            let floor = mem_available(root).and_then(|(avail, total)| {
                (avail - 1.0 <= total * floor_pct / 100.0).then_some((avail, total))
            });
            if let Some((available_mb, total_mb)) = floor {
                out.floor_hit.store(true, Ordering::Relaxed);
                out.short(Shortfall {
                    held_mb: chunks.len() as f64,
                    target_mb: spec.target_mb,
                    cause: ShortCause::Floor {
                        floor_pct,
                        available_mb,
                        total_mb,
                    },
                });
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            // Pace the growth: chunk k is due at k / rate seconds.
            let due = Duration::from_secs_f64(chunks.len() as f64 / rate);
            let now = start.elapsed();
            if now < due {
                std::thread::sleep(due.checked_sub(now).unwrap().min(Duration::from_millis(50)));
                continue;
            }
            if chunks.try_reserve(1).is_err() {
                alloc_failed = true;
            } else if let Some(c) = chunk() {
                chunks.push(c);
                out.held.store(chunks.len() as u64, Ordering::Relaxed);
            } else {
                alloc_failed = true;
            }
            if alloc_failed {
                out.short(Shortfall {
                    held_mb: chunks.len() as f64,
                    target_mb: spec.target_mb,
                    cause: ShortCause::AllocFailed,
                });
            }
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    drop(chunks);
    out.held.store(0, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shortfall_says_what_it_holds_of_what_was_asked_and_why() {
        let s = Shortfall {
            held_mb: 16.6 * 1024.0,
            target_mb: 21.5 * 1024.0,
            cause: ShortCause::Floor {
                floor_pct: 15.0,
                available_mb: 3.6 * 1024.0,
                total_mb: 24.0 * 1024.0,
            },
        };
        assert_eq!(
            s.to_string(),
            "holds 16.6 GB of 21.5 GB asked: the 15 % available floor stops it (3.6 GB available of 24.0 GB)"
        );
        let s = Shortfall {
            held_mb: 300.0,
            target_mb: 512.0,
            cause: ShortCause::AllocFailed,
        };
        assert_eq!(
            s.to_string(),
            "holds 300 MB of 512 MB asked: the next allocation failed"
        );
    }
}
