//! GPU load: a cuBLAS SGEMM loop through `cudarc` (libraries loaded at run
//! time), `size`×`size` matrices, busy for `duty` % of every 100 ms. Without
//! CUDA (`is_culib_present()` false, or no device) it reports "unavailable"
//! and everything else keeps running.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

const PERIOD: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuSpec {
    /// Matrix side length.
    #[serde(default = "d_size")]
    pub size: usize,
    /// Duty cycle, 0–100 %.
    #[serde(default = "d_duty")]
    pub duty_pct: f64,
    /// CUDA device ordinal.
    #[serde(default)]
    pub device: usize,
}

fn d_size() -> usize {
    2048
}
fn d_duty() -> f64 {
    100.0
}

/// Whether the CUDA driver and cuBLAS libraries can be loaded.
pub fn cuda_present() -> bool {
    // SAFETY: these only try to dlopen the libraries.
    unsafe { cudarc::driver::sys::is_culib_present() && cudarc::cublas::sys::is_culib_present() }
}

#[derive(Debug)]
pub struct GpuBurn {
    /// SGEMMs completed.
    pub gemms: Arc<AtomicU64>,
    workers: super::Workers,
}

impl GpuBurn {
    /// Start the loop; `Err` says why the GPU is unavailable.
    pub fn start(spec: GpuSpec) -> Result<Self, String> {
        if !cuda_present() {
            return Err("unavailable: CUDA driver or cuBLAS not found".into());
        }
        let stop = Arc::new(AtomicBool::new(false));
        let gemms = Arc::new(AtomicU64::new(0));
        let (ready_tx, ready_rx) = mpsc::channel();
        let (s, g) = (stop.clone(), gemms.clone());
        let thread = std::thread::Builder::new()
            .name("jetstress-gpu".into())
            .spawn(move || {
                if let Err(e) = run(spec, &s, &g, &ready_tx) {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| e.to_string())?;
        match ready_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(())) => Ok(GpuBurn {
                gemms,
                workers: super::Workers::new(stop, vec![thread]),
            }),
            Ok(Err(e)) => Err(format!("unavailable: {e}")),
            Err(_) => {
                stop.store(true, Ordering::Relaxed);
                Err("unavailable: CUDA did not initialise within 30 s".into())
            }
        }
    }

    pub fn stop(mut self) {
        self.workers.halt();
    }
}

fn run(
    spec: GpuSpec,
    stop: &AtomicBool,
    gemms: &AtomicU64,
    ready: &mpsc::Sender<Result<(), String>>,
) -> Result<(), String> {
    use cudarc::cublas::{sys::cublasOperation_t, CudaBlas, Gemm, GemmConfig};
    let e = |e: &dyn std::fmt::Debug| format!("{e:?}");
    let ctx = cudarc::driver::CudaContext::new(spec.device).map_err(|x| e(&x))?;
    let stream = ctx.default_stream();
    let blas = CudaBlas::new(stream.clone()).map_err(|x| e(&x))?;
    let n = spec.size.clamp(16, 16384);
    let a = stream.alloc_zeros::<f32>(n * n).map_err(|x| e(&x))?;
    let b = stream.alloc_zeros::<f32>(n * n).map_err(|x| e(&x))?;
    let mut c = stream.alloc_zeros::<f32>(n * n).map_err(|x| e(&x))?;
    let _ = ready.send(Ok(()));
    let ni = n as i32;
    let cfg = GemmConfig {
        transa: cublasOperation_t::CUBLAS_OP_N,
        transb: cublasOperation_t::CUBLAS_OP_N,
        m: ni,
        n: ni,
        k: ni,
        alpha: 1.0f32,
        lda: ni,
        ldb: ni,
        beta: 0.0f32,
        ldc: ni,
    };
    let busy = PERIOD.mul_f64(spec.duty_pct.clamp(0.0, 100.0) / 100.0);
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        while start.elapsed() < busy {
            // SAFETY: a, b, c are n×n device buffers matching cfg.
            unsafe { blas.gemm(cfg, &a, &b, &mut c) }.map_err(|x| e(&x))?;
            stream.synchronize().map_err(|x| e(&x))?;
            gemms.fetch_add(1, Ordering::Relaxed);
        }
        let rest = PERIOD.saturating_sub(start.elapsed());
        if !rest.is_zero() {
            std::thread::sleep(rest);
        }
    }
    Ok(())
}
