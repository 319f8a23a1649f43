//! CPU burn: N threads, each busy for `duty` % of every 100 ms period and
//! asleep for the rest. Stops when the returned handle is stopped or dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

const PERIOD: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuSpec {
    /// Burn threads (0: one per online CPU).
    #[serde(default)]
    pub threads: usize,
    /// Duty cycle per thread, 0–100 %.
    #[serde(default = "d_duty")]
    pub duty_pct: f64,
}

fn d_duty() -> f64 {
    100.0
}

#[derive(Debug)]
pub struct CpuBurn {
    workers: super::Workers,
}

impl CpuBurn {
    pub fn start(spec: CpuSpec) -> Self {
        let n = if spec.threads == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        } else {
            spec.threads
        };
        let duty = (spec.duty_pct.clamp(0.0, 100.0)) / 100.0;
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|i| {
                let stop = stop.clone();
                std::thread::Builder::new()
                    .name(format!("jetstress-cpu-{i}"))
                    .spawn(move || burn(&stop, duty))
                    .expect("spawn cpu burn thread")
            })
            .collect();
        CpuBurn {
            workers: super::Workers::new(stop, threads),
        }
    }

    pub fn threads(&self) -> usize {
        self.workers.len()
    }
}

fn burn(stop: &AtomicBool, duty: f64) {
    let busy = PERIOD.mul_f64(duty);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        while start.elapsed() < busy {
            for _ in 0..1000 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
            }
            std::hint::black_box(x);
        }
        let rest = PERIOD.saturating_sub(start.elapsed());
        if !rest.is_zero() {
            std::thread::sleep(rest);
        }
    }
}
