//! cgroup v2 directories watched as one entry (`--watch-cgroup`,
//! `--watch-container`): where the v2 hierarchy is mounted under the root
//! (`sys/fs/cgroup`, or `sys/fs/cgroup/unified` on a hybrid host), finding a
//! container's directory (Docker, containerd, Podman, CRI-O), how an entry is
//! named and keyed, and the pure parsers of `memory.current` and `cpu.stat`.
//! Sampling lives with the watched processes in [`super::memory`].

use std::collections::VecDeque;
use std::path::{Component, Path, PathBuf};

use super::sysfs::Root;
use crate::snapshot::CGROUP_KEY_BASE;

/// Where a cgroup v2 hierarchy may be mounted, relative to the root.
const MOUNTS: &[&str] = &["sys/fs/cgroup", "sys/fs/cgroup/unified"];

/// Directory prefixes container runtimes give a container's cgroup (systemd
/// driver): `system.slice/docker-<ID>.scope`, `…/cri-containerd-<ID>.scope`.
const RUNTIME_PREFIXES: &[&str] = &["docker-", "cri-containerd-", "libpod-", "crio-"];

/// The walk looking for a container stops after this many directories, and
/// below this depth (a Kubernetes container sits at depth 4).
const MAX_DIRS: usize = 20_000;
const MAX_DEPTH: usize = 8;

/// Docker's per-container config is small; a larger file is not one.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Why a cgroup or container to watch could not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CgroupError {
    #[error(
        "no cgroup v2 hierarchy under {}: no cgroup.controllers in sys/fs/cgroup or \
         sys/fs/cgroup/unified",
        root.display()
    )]
    NoHierarchy { root: PathBuf },
    #[error("{}: no such cgroup (no cgroup.procs there)", path.display())]
    NoSuchCgroup { path: PathBuf },
    #[error(
        "no cgroup for container `{want}`: searched {} directories under {} for a name \
         containing {}{}",
        scanned, mount.display(), needles.join(" or "),
        if *docker_named { "" } else { " (no Docker container of that name in var/lib/docker/containers)" }
    )]
    NoContainer {
        want: String,
        mount: PathBuf,
        scanned: usize,
        /// What was looked for: the name or id given, and the ids of Docker
        /// containers of that name.
        needles: Vec<String>,
        docker_named: bool,
    },
    #[error("container `{want}` matches several cgroups: {}", matches.join(", "))]
    Ambiguous { want: String, matches: Vec<String> },
}

/// `usage_usec` of a `cpu.stat` (pure).
pub fn parse_usage_usec(cpu_stat: &str) -> Option<u64> {
    cpu_stat.lines().find_map(|l| {
        let mut it = l.split_ascii_whitespace();
        (it.next()? == "usage_usec")
            .then(|| it.next()?.parse().ok())
            .flatten()
    })
}

/// `memory.current` in bytes (pure).
pub fn parse_memory_current(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// The PIDs in a `cgroup.procs`, one a line (pure); lines that are not a
/// PID are skipped.
pub fn parse_procs(text: &str) -> impl Iterator<Item = u32> + '_ {
    text.lines().filter_map(|l| l.trim().parse().ok())
}

/// The cgroup v2 path in a `/proc/PID/cgroup` (`0::/user.slice/…`), pure.
pub fn parse_proc_cgroup(text: &str) -> Option<&str> {
    text.lines().find_map(|l| l.strip_prefix("0::"))
}

/// The v2 hierarchy under `root`: `sys/fs/cgroup` on a unified host,
/// `sys/fs/cgroup/unified` on a hybrid one (cgroup v1 controllers beside).
pub fn mount(root: &Root) -> Result<PathBuf, CgroupError> {
    MOUNTS
        .iter()
        .map(|m| root.path(m))
        .find(|p| p.join("cgroup.controllers").is_file())
        .ok_or_else(|| CgroupError::NoHierarchy {
            root: root.base().to_path_buf(),
        })
}

/// A cgroup path as given (`system.slice/x.scope`, `/system.slice/x.scope` as
/// `/proc/PID/cgroup` prints it, or `/sys/fs/cgroup/system.slice/x.scope`)
/// made relative to the mount, without `.` or `..` (pure).
pub fn relative(path: &Path) -> PathBuf {
    let mut p = path;
    for m in MOUNTS.iter().rev() {
        if let Ok(rest) = p.strip_prefix(Path::new("/").join(m)) {
            p = rest;
            break;
        }
    }
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// How a watched cgroup is named: its last directory, `.scope` dropped and a
/// runtime's 64-digit id cut to the 12 `docker ps` shows (pure).
pub fn display_name(rel: &Path) -> String {
    let Some(last) = rel.file_name().map(|s| s.to_string_lossy().into_owned()) else {
        return "/".to_string();
    };
    let base = last.strip_suffix(".scope").unwrap_or(&last);
    for p in RUNTIME_PREFIXES {
        if let Some(id) = base.strip_prefix(p) {
            if id.len() > 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return format!("{p}{}", &id[..12]);
            }
        }
    }
    base.to_string()
}

/// The `pid` key of a watched cgroup: FNV-1a of its path, in the range no
/// PID reaches (pure, stable across runs).
pub fn key(rel: &Path) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in rel.as_os_str().as_encoded_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h | CGROUP_KEY_BASE
}

/// Check that `path` (see [`relative`]) is a cgroup under the root's v2
/// hierarchy; the path relative to the mount.
pub fn resolve_cgroup(root: &Root, path: &Path) -> Result<PathBuf, CgroupError> {
    let m = mount(root)?;
    let rel = relative(path);
    let dir = m.join(&rel);
    if !dir.join("cgroup.procs").is_file() {
        return Err(CgroupError::NoSuchCgroup { path: dir });
    }
    Ok(rel)
}

/// How well a directory name matches what is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fit {
    /// The name contains it somewhere.
    Contains,
    /// A runtime's own form (`docker-<ID…>.scope`) or exactly the name
    /// (Docker's cgroupfs driver: `docker/<ID>`).
    Runtime,
}

/// How `dir` (a directory's name) matches `needle` (pure).
fn fit(dir: &str, needle: &str) -> Option<Fit> {
    if needle.is_empty() {
        return None;
    }
    let base = dir.strip_suffix(".scope").unwrap_or(dir);
    if base == needle
        || RUNTIME_PREFIXES.iter().any(|p| {
            base.strip_prefix(p)
                .is_some_and(|id| id.starts_with(needle))
        })
    {
        Some(Fit::Runtime)
    } else if dir.contains(needle) {
        Some(Fit::Contains)
    } else {
        None
    }
}

/// The ids of Docker containers called `want` (`"Name": "/want"` in
/// `var/lib/docker/containers/*/config.v2.json`).
fn docker_ids_named(root: &Root, want: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (id, dir) in root.list("var/lib/docker/containers", "") {
        let cfg = dir.join("config.v2.json");
        if std::fs::metadata(&cfg).map_or(true, |m| m.len() > MAX_CONFIG_BYTES) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&cfg) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let name = v["Name"].as_str().unwrap_or_default();
        if name.trim_start_matches('/') == want {
            out.push(v["ID"].as_str().map_or(id, str::to_string));
        }
    }
    out
}

/// Find the cgroup of container `want` (an id, an id prefix, or a name:
/// Docker names are looked up in `var/lib/docker/containers`) by walking the
/// v2 hierarchy; the path relative to the mount.
pub fn resolve_container(root: &Root, want: &str) -> Result<PathBuf, CgroupError> {
    let m = mount(root)?;
    let want = want.trim();
    let docker = docker_ids_named(root, want);
    let docker_named = !docker.is_empty();
    let mut needles = vec![want.to_string()];
    needles.extend(docker);
    let mut best: Option<Fit> = None;
    let mut found: Vec<PathBuf> = Vec::new();
    let mut scanned = 0;
    let mut queue: VecDeque<(PathBuf, usize)> = VecDeque::from([(PathBuf::new(), 0)]);
    while let Some((rel, depth)) = queue.pop_front() {
        if scanned >= MAX_DIRS {
            break;
        }
        let Ok(rd) = std::fs::read_dir(m.join(&rel)) else {
            continue;
        };
        for e in rd.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            scanned += 1;
            let name = e.file_name().to_string_lossy().into_owned();
            let child = rel.join(&name);
            match needles.iter().filter_map(|n| fit(&name, n)).max() {
                Some(f) if best.is_none_or(|b| f > b) => {
                    best = Some(f);
                    found = vec![child];
                }
                Some(f) if best == Some(f) => found.push(child),
                // A match's own sub-cgroups are not other matches.
                Some(_) => {}
                None if depth + 1 < MAX_DEPTH => queue.push_back((child, depth + 1)),
                None => {}
            }
        }
    }
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(CgroupError::NoContainer {
            want: want.to_string(),
            mount: m,
            scanned,
            needles,
            docker_named,
        }),
        _ => Err(CgroupError::Ambiguous {
            want: want.to_string(),
            matches: found.iter().map(|p| p.display().to_string()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPU_STAT: &str = "usage_usec 8423419\nuser_usec 5212003\nsystem_usec 3211416\n\
                            nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n";

    #[test]
    fn parsers() {
        assert_eq!(parse_usage_usec(CPU_STAT), Some(8_423_419));
        assert_eq!(parse_usage_usec("user_usec 5\n"), None);
        assert_eq!(parse_memory_current("734003200\n"), Some(734_003_200));
        assert_eq!(parse_memory_current("max\n"), None);
        assert_eq!(
            parse_proc_cgroup("12:memory:/docker/x\n0::/system.slice/ssh.service\n"),
            Some("/system.slice/ssh.service")
        );
        assert_eq!(parse_proc_cgroup("4:memory:/x\n"), None);
        assert_eq!(
            parse_procs("2314\n2377\n\n2378\n").collect::<Vec<_>>(),
            [2314, 2377, 2378]
        );
        assert_eq!(parse_procs("").count(), 0);
    }

    #[test]
    fn paths_as_given_become_relative() {
        let want = Path::new("system.slice/docker-ab.scope");
        for given in [
            "system.slice/docker-ab.scope",
            "/system.slice/docker-ab.scope",
            "/sys/fs/cgroup/system.slice/docker-ab.scope",
            "/sys/fs/cgroup/unified/system.slice/docker-ab.scope",
            "system.slice/../system.slice/./docker-ab.scope",
        ] {
            let r = relative(Path::new(given));
            // `..` is dropped, never followed up out of the hierarchy.
            assert!(r.ends_with(want), "{given} -> {}", r.display());
            assert!(!r.has_root(), "{given}");
        }
        assert_eq!(relative(Path::new("/")), PathBuf::new());
    }

    #[test]
    fn names_and_keys() {
        let id = "4f3c2a1b9e0d7c6b5a49382716051f2e3d4c5b6a798877665544332211009988";
        let rel = PathBuf::from(format!("system.slice/docker-{id}.scope"));
        assert_eq!(display_name(&rel), format!("docker-{}", &id[..12]));
        assert_eq!(
            display_name(Path::new("system.slice/containerd.service")),
            "containerd.service"
        );
        assert_eq!(display_name(Path::new("")), "/");
        assert!(key(&rel) >= CGROUP_KEY_BASE);
        assert_eq!(key(&rel), key(&rel.clone()));
        assert_ne!(key(&rel), key(Path::new("system.slice/containerd.service")));
    }

    #[test]
    fn runtime_forms_beat_a_name_inside() {
        assert_eq!(fit("docker-4f3c2a.scope", "4f3c"), Some(Fit::Runtime));
        assert_eq!(fit("4f3c2a", "4f3c2a"), Some(Fit::Runtime));
        assert_eq!(fit("lxc.payload.web", "web"), Some(Fit::Contains));
        assert_eq!(fit("docker-4f3c2a.scope", "2a"), Some(Fit::Contains));
        assert_eq!(fit("user.slice", ""), None);
        assert!(Fit::Runtime > Fit::Contains);
    }
}
