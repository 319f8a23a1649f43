//! GPU load: a cuBLAS SGEMM loop through `cudarc` (libraries loaded at run
//! time), `size`×`size` matrices, busy for `duty` % of every 100 ms. Without
//! CUDA (`is_culib_present()` false, or no device) it reports "unavailable"
//! and everything else keeps running.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use cudarc::cublas::result::CublasError;
use cudarc::driver::DriverError;
use serde::{Deserialize, Serialize};

/// Why the GPU load is unavailable (or the worker thread could not start).
/// Every case but `Spawn` reads `unavailable: …`, which the engine shows as
/// the generator's detail.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// The CUDA driver or cuBLAS library cannot be loaded.
    #[error("unavailable: CUDA driver or cuBLAS not found")]
    NoCuda,
    /// The worker thread could not be spawned.
    #[error("{0}")]
    Spawn(std::io::Error),
    /// A CUDA driver call failed (no device, out of memory, …).
    #[error("unavailable: CUDA: {}", driver_words(*.0))]
    Driver(DriverError),
    /// A cuBLAS call failed.
    #[error("unavailable: cuBLAS: {}", cublas_words(*.0))]
    Cublas(CublasError),
    /// CUDA did not report ready within 30 s.
    #[error("unavailable: CUDA did not initialise within 30 s")]
    InitTimeout,
}

/// The driver's own description and the error's name: `no CUDA-capable
/// device is detected (CUDA_ERROR_NO_DEVICE)`. cudarc's `Display` is its
/// `Debug` (`DriverError(CUDA_ERROR_NO_DEVICE, "…")`), which an event line
/// must not show.
fn driver_words(e: DriverError) -> String {
    let name = format!("{:?}", e.0);
    // SAFETY: only tries to dlopen the driver; its functions are called
    // only when it loads (an error from it means it did).
    let loaded = unsafe { cudarc::driver::sys::is_culib_present() };
    let text = loaded
        .then(|| e.error_string().ok())
        .flatten()
        .map(|c| c.to_string_lossy().into_owned());
    match text {
        Some(t) if !t.is_empty() => format!("{t} ({name})"),
        _ => name,
    }
}

/// A cuBLAS status in words, with its name.
fn cublas_words(e: CublasError) -> String {
    use cudarc::cublas::sys::cublasStatus_t as S;
    let text = match e.0 {
        S::CUBLAS_STATUS_NOT_INITIALIZED => "could not initialise (no usable GPU?)",
        S::CUBLAS_STATUS_ALLOC_FAILED => "could not allocate GPU memory",
        S::CUBLAS_STATUS_INVALID_VALUE => "an invalid value was passed",
        S::CUBLAS_STATUS_ARCH_MISMATCH => "this GPU's architecture is not supported",
        S::CUBLAS_STATUS_MAPPING_ERROR => "could not map GPU memory",
        S::CUBLAS_STATUS_EXECUTION_FAILED => "the GPU kernel failed to run",
        S::CUBLAS_STATUS_INTERNAL_ERROR => "internal error",
        S::CUBLAS_STATUS_NOT_SUPPORTED => "the operation is not supported here",
        S::CUBLAS_STATUS_LICENSE_ERROR => "license error",
        S::CUBLAS_STATUS_SUCCESS => "failed",
    };
    format!("{text} ({:?})", e.0)
}

// `From` by hand rather than `#[from]`: the CUDA error is part of the
// message, not a source, so `{:#}` chains do not print it twice.
impl From<DriverError> for GpuError {
    fn from(e: DriverError) -> Self {
        GpuError::Driver(e)
    }
}

impl From<CublasError> for GpuError {
    fn from(e: CublasError) -> Self {
        GpuError::Cublas(e)
    }
}

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
    /// Paced instead of a duty cycle: this many SGEMMs per second, one at a
    /// time (an inference loop: "a 1000×1000 matmul ~10 times a second").
    /// A rate the GPU cannot keep runs back to back. `None`: `duty_pct`.
    #[serde(default)]
    pub per_s: Option<f64>,
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
    /// Held for its drop: the worker stops with the generator.
    _workers: super::Workers,
}

impl GpuBurn {
    /// Start the loop; `Err` says why the GPU is unavailable.
    pub fn start(spec: GpuSpec) -> Result<Self, GpuError> {
        if !cuda_present() {
            return Err(GpuError::NoCuda);
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
            .map_err(GpuError::Spawn)?;
        match ready_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(())) => Ok(GpuBurn {
                _workers: super::Workers::new(stop, vec![thread]),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                stop.store(true, Ordering::Relaxed);
                Err(GpuError::InitTimeout)
            }
        }
    }
}

fn run(
    spec: GpuSpec,
    stop: &AtomicBool,
    gemms: &AtomicU64,
    ready: &mpsc::Sender<Result<(), GpuError>>,
) -> Result<(), GpuError> {
    use cudarc::cublas::{sys::cublasOperation_t, CudaBlas, Gemm, GemmConfig};
    let ctx = cudarc::driver::CudaContext::new(spec.device)?;
    let stream = ctx.default_stream();
    let blas = CudaBlas::new(stream.clone())?;
    let n = spec.size.clamp(16, 16384);
    let a = stream.alloc_zeros::<f32>(n * n)?;
    let b = stream.alloc_zeros::<f32>(n * n)?;
    let mut c = stream.alloc_zeros::<f32>(n * n)?;
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
    if let Some(rate) = spec.per_s.filter(|r| *r > 0.0) {
        let every = Duration::from_secs_f64(1.0 / rate.min(1e6));
        let mut next = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            // SAFETY: a, b, c are n×n device buffers matching cfg.
            unsafe { blas.gemm(cfg, &a, &b, &mut c) }?;
            stream.synchronize()?;
            gemms.fetch_add(1, Ordering::Relaxed);
            next += every;
            let now = Instant::now();
            if next > now {
                // Sleep in slices of at most one period so a stop is seen soon.
                std::thread::sleep((next - now).min(PERIOD));
            } else {
                next = now;
            }
        }
        return Ok(());
    }
    let busy = PERIOD.mul_f64(spec.duty_pct.clamp(0.0, 100.0) / 100.0);
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        while start.elapsed() < busy {
            // SAFETY: a, b, c are n×n device buffers matching cfg.
            unsafe { blas.gemm(cfg, &a, &b, &mut c) }?;
            stream.synchronize()?;
            gemms.fetch_add(1, Ordering::Relaxed);
        }
        let rest = PERIOD.saturating_sub(start.elapsed());
        if !rest.is_zero() {
            std::thread::sleep(rest);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_messages_read_as_before() {
        assert_eq!(
            GpuError::NoCuda.to_string(),
            "unavailable: CUDA driver or cuBLAS not found"
        );
        assert_eq!(
            GpuError::InitTimeout.to_string(),
            "unavailable: CUDA did not initialise within 30 s"
        );
        let e = CublasError(cudarc::cublas::sys::cublasStatus_t::CUBLAS_STATUS_NOT_INITIALIZED);
        assert_eq!(
            GpuError::from(e).to_string(),
            "unavailable: cuBLAS: could not initialise (no usable GPU?) (CUBLAS_STATUS_NOT_INITIALIZED)"
        );
        if !cuda_present() {
            // No driver to ask: the error's name alone, not cudarc's Debug text.
            let d = DriverError(cudarc::driver::sys::CUresult::CUDA_ERROR_NO_DEVICE);
            assert_eq!(
                GpuError::from(d).to_string(),
                "unavailable: CUDA: CUDA_ERROR_NO_DEVICE"
            );
        }
        if !cuda_present() {
            let spec = GpuSpec {
                size: 16,
                duty_pct: 10.0,
                device: 0,
                per_s: None,
            };
            assert!(matches!(GpuBurn::start(spec), Err(GpuError::NoCuda)));
        }
    }
}
