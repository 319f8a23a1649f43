//! GPUs: the Jetson iGPU through devfreq ([`tegra`]) and discrete NVIDIA GPUs
//! through NVML ([`nvml`]). A missing GPU or library is "no GPU", not an error.
//! Per-process GPU memory of the watched entries comes from NVML or from
//! nvmap's iovmm clients ([`nvmap`] parses, [`process`] reads).

pub(crate) mod nvmap;
pub(crate) mod nvml;
pub(crate) mod process;
pub(crate) mod tegra;
