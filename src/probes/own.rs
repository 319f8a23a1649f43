//! This process's own resource use (RSS, peak RSS, CPU time), read from the
//! kernel's `/proc/self` and `getrusage` — never from `--root`: it is
//! jetstress itself being measured (the console's footprint in a run's
//! summary, `mcp-serve`'s usage tool).

/// This process's resource use.
#[derive(Debug, Clone, Copy, Default)]
pub struct OwnUsage {
    pub rss_mb: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    pub cpu_s: Option<f64>,
}

pub fn own_usage() -> OwnUsage {
    let mut u = OwnUsage::default();
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        u.rss_mb = status_kb(&status, "VmRSS:").map(|kb| kb / 1024.0);
        u.peak_rss_mb = status_kb(&status, "VmHWM:").map(|kb| kb / 1024.0);
    }
    // SAFETY: getrusage only writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &raw mut ru) } == 0 {
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        u.cpu_s = Some(tv(ru.ru_utime) + tv(ru.ru_stime));
    }
    u
}

/// A `Key:   1234 kB` line from `/proc/<pid>/status`.
pub fn status_kb(status: &str, key: &str) -> Option<f64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        let s = "Name:\tjetstress\nVmHWM:\t   12345 kB\nVmRSS:\t    2048 kB\n";
        assert_eq!(status_kb(s, "VmRSS:"), Some(2048.0));
        assert_eq!(status_kb(s, "VmHWM:"), Some(12345.0));
        assert_eq!(status_kb(s, "VmSwap:"), None);
    }

    #[test]
    fn own_usage_reads_this_process() {
        let u = own_usage();
        assert!(u.rss_mb.unwrap() > 0.0);
        assert!(u.cpu_s.is_some());
    }
}
