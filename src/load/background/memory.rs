//! Memory pressure: allocate and touch 1 MiB chunks at a rate (MB/s) up to a
//! target, hold them, release on stop. It never grows past the memory floor:
//! before each chunk it reads `MemAvailable` (under the probe root) and stops
//! growing at the floor; the guard releases everything if the floor is crossed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::probes::memory::parse_meminfo;
use crate::probes::Root;

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

#[derive(Debug)]
pub struct MemoryPressure {
    held_mb: Arc<AtomicU64>,
    /// Set when growth stopped at the floor.
    pub floor_hit: Arc<AtomicBool>,
    workers: super::Workers,
}

impl MemoryPressure {
    /// `floor_pct`: never push `MemAvailable` below this share of total.
    pub fn start(spec: MemorySpec, root: Root, floor_pct: f64) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let held_mb = Arc::new(AtomicU64::new(0));
        let floor_hit = Arc::new(AtomicBool::new(false));
        let (s, h, f) = (stop.clone(), held_mb.clone(), floor_hit.clone());
        let thread = std::thread::Builder::new()
            .name("jetstress-mem".into())
            .spawn(move || grow(spec, &root, floor_pct, &s, &h, &f))
            .expect("spawn memory thread");
        MemoryPressure {
            held_mb,
            floor_hit,
            workers: super::Workers::new(stop, vec![thread]),
        }
    }

    pub fn held_mb(&self) -> u64 {
        self.held_mb.load(Ordering::Relaxed)
    }

    /// Release everything (also on drop).
    pub fn stop(mut self) {
        self.workers.halt();
    }
}

fn grow(
    spec: MemorySpec,
    root: &Root,
    floor_pct: f64,
    stop: &AtomicBool,
    held: &AtomicU64,
    floor_hit: &AtomicBool,
) {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let target = spec.target_mb.max(0.0) as usize;
    let rate = spec.rate_mb_s.max(0.1);
    let start = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if chunks.len() < target {
            let floor_ok = match mem_available(root) {
                Some((avail, total)) => avail - 1.0 > total * floor_pct / 100.0,
                None => true,
            };
            if !floor_ok {
                floor_hit.store(true, Ordering::Relaxed);
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
            let mut c = vec![0u8; CHUNK];
            for i in (0..CHUNK).step_by(PAGE) {
                c[i] = 1;
            }
            chunks.push(c);
            held.store(chunks.len() as u64, Ordering::Relaxed);
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    drop(chunks);
    held.store(0, Ordering::Relaxed);
}
