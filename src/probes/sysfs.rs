//! Root-relative file access for every probe: paths under a configurable root
//! (so fixture trees stand in for hardware), and [`Pinned`] files kept open and
//! re-read with `pread(…, 0)` so a sample costs one syscall per value.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The filesystem root every probe path is resolved under (`/` on a real board).
#[derive(Debug, Clone)]
pub struct Root {
    base: PathBuf,
}

impl Root {
    pub fn new(base: impl Into<PathBuf>) -> Self {
        Root { base: base.into() }
    }

    /// True when reading the real machine (`/`), e.g. to enable NVML.
    pub fn is_host(&self) -> bool {
        self.base == Path::new("/")
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Resolve a path given relative to the root (a leading `/` is ignored).
    pub fn path(&self, rel: &str) -> PathBuf {
        self.base.join(rel.trim_start_matches('/'))
    }

    /// Read a whole small file as text.
    pub fn read(&self, rel: &str) -> io::Result<String> {
        std::fs::read_to_string(self.path(rel))
    }

    /// Read a file and trim whitespace and trailing NULs; `None` when unreadable or empty.
    pub fn read_trimmed(&self, rel: &str) -> Option<String> {
        read_trimmed(&self.path(rel))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    /// Entries of a directory whose names start with `prefix`, naturally sorted
    /// (`thermal_zone2` before `thermal_zone10`). Missing directory = empty list.
    pub fn list(&self, rel: &str, prefix: &str) -> Vec<(String, PathBuf)> {
        list_dir(&self.path(rel), prefix)
    }
}

/// Entries of `dir` whose names start with `prefix`, naturally sorted.
pub fn list_dir(dir: &Path, prefix: &str) -> Vec<(String, PathBuf)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = rd
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.starts_with(prefix).then(|| (name, e.path()))
        })
        .collect();
    out.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    out
}

/// Read a file, trim whitespace and NULs; `None` when unreadable or empty.
pub fn read_trimmed(path: &Path) -> Option<String> {
    let s = std::fs::read(path).ok()?;
    let s = String::from_utf8_lossy(&s);
    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!t.is_empty()).then(|| t.to_string())
}

/// Read a file and parse it as an integer (`None` when missing, empty or not a number).
pub fn read_int(path: &Path) -> Option<i64> {
    read_trimmed(path)?.parse().ok()
}

/// Compare strings so that embedded numbers sort by value.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |s: &str| -> (String, Option<u64>) {
        let digits_at = s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (head, tail) = s.split_at(digits_at);
        (head.to_string(), tail.parse().ok())
    };
    let (ha, na) = split(a);
    let (hb, nb) = split(b);
    ha.cmp(&hb).then(na.cmp(&nb)).then(a.cmp(b))
}

/// A file kept open and re-read from offset 0 each sample (sysfs and procfs
/// regenerate their contents on every read). A failed read drops the handle so
/// the next sample re-opens it; the error is returned to the caller to classify.
#[derive(Debug)]
pub struct Pinned {
    path: PathBuf,
    file: Option<File>,
    buf: Vec<u8>,
}

impl Pinned {
    pub fn new(path: PathBuf) -> Self {
        Pinned {
            path,
            file: None,
            buf: Vec::with_capacity(64),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read the whole file; the returned text is untrimmed.
    pub fn read(&mut self) -> io::Result<&str> {
        if self.file.is_none() {
            self.file = Some(File::open(&self.path)?);
        }
        let file = self.file.as_ref().expect("opened above");
        self.buf.clear();
        let mut off = 0u64;
        loop {
            if self.buf.capacity() - self.buf.len() < 256 {
                self.buf.reserve(self.buf.capacity().max(256));
            }
            let len = self.buf.len();
            let spare = self.buf.capacity() - len;
            self.buf.resize(len + spare, 0);
            match file.read_at(&mut self.buf[len..], off) {
                Ok(0) => {
                    self.buf.truncate(len);
                    break;
                }
                Ok(n) => {
                    self.buf.truncate(len + n);
                    off += n as u64;
                    // A short read means end of file for sysfs, procfs and
                    // regular files alike: saves the extra read that returns 0.
                    if n < spare {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.buf.truncate(len);
                }
                Err(e) => {
                    self.buf.truncate(len);
                    self.file = None;
                    return Err(e);
                }
            }
        }
        std::str::from_utf8(&self.buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Read and trim; empty content becomes `None`.
    pub fn read_trimmed(&mut self) -> Option<&str> {
        let s = self
            .read()
            .ok()?
            .trim_matches(|c: char| c.is_whitespace() || c == '\0');
        (!s.is_empty()).then_some(s)
    }

    /// Read and parse as an integer.
    pub fn read_int(&mut self) -> Option<i64> {
        self.read_trimmed()?.parse().ok()
    }
}

/// A malformed kernel CPU list; holds the offending entry as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuListError {
    /// `a-b` with a bound that is not a number, reversed, or too wide.
    #[error("bad cpu range '{0}'")]
    BadRange(String),
    /// A single entry that is not a number.
    #[error("bad cpu id '{0}'")]
    BadId(String),
}

/// Parse a kernel CPU list such as `0-3,6,8-11`.
pub fn parse_cpu_list(s: &str) -> Result<Vec<u32>, CpuListError> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.trim().is_empty()) {
        let part = part.trim();
        let bad_range = || CpuListError::BadRange(part.to_string());
        if let Some((a, b)) = part.split_once('-') {
            let a: u32 = a.trim().parse().map_err(|_| bad_range())?;
            let b: u32 = b.trim().parse().map_err(|_| bad_range())?;
            if b < a || b - a > 4096 {
                return Err(bad_range());
            }
            out.extend(a..=b);
        } else {
            out.push(
                part.parse()
                    .map_err(|_| CpuListError::BadId(part.to_string()))?,
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_puts_10_after_2() {
        let mut v = vec!["thermal_zone10", "thermal_zone2", "thermal_zone1"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["thermal_zone1", "thermal_zone2", "thermal_zone10"]);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(
            parse_cpu_list("0-3,6,8-9\n").unwrap(),
            vec![0, 1, 2, 3, 6, 8, 9]
        );
        assert_eq!(parse_cpu_list("").unwrap(), Vec::<u32>::new());
        assert!(parse_cpu_list("3-1").is_err());
        assert!(parse_cpu_list("x").is_err());
        assert_eq!(
            parse_cpu_list("0,3-1").unwrap_err().to_string(),
            "bad cpu range '3-1'"
        );
        assert_eq!(
            parse_cpu_list("x").unwrap_err().to_string(),
            "bad cpu id 'x'"
        );
    }

    #[test]
    fn pinned_rereads_changed_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("temp");
        std::fs::write(&p, "41000\n").unwrap();
        let mut f = Pinned::new(p.clone());
        assert_eq!(f.read_int(), Some(41000));
        std::fs::write(&p, "42500\n").unwrap();
        assert_eq!(f.read_int(), Some(42500));
        std::fs::remove_file(&p).unwrap();
        // An open handle to a deleted file still reads the old inode; a fresh
        // Pinned on a missing file reports the error.
        let mut g = Pinned::new(dir.path().join("missing"));
        assert!(g.read().is_err());
    }

    #[test]
    fn pinned_reads_large_files_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("stat");
        let text = (0..2000)
            .map(|i| format!("line {i}\n"))
            .collect::<Vec<_>>()
            .concat();
        std::fs::write(&p, &text).unwrap();
        let mut f = Pinned::new(p);
        assert_eq!(f.read().unwrap(), text);
        assert_eq!(f.read().unwrap(), text);
    }
}
