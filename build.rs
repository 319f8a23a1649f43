//! Stamps the binary with the git commit and the build date for
//! `jetstress --version`: `JETSTRESS_GIT_COMMIT` (short hash, `-dirty` when the
//! tree had changes) and `JETSTRESS_BUILD_DATE` (UTC, `YYYY-MM-DD`), each
//! `unknown` when it cannot be told (a source tarball has no `.git`; no `git`).
//!
//! Cheap on purpose: two or three `git` calls, and it reruns only when HEAD or
//! the branch it points at moves, so tests do not rebuild the crate each time.
//! The `-dirty` mark and the date are therefore those of the last rerun.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let commit = match git_dirs(&manifest) {
        Some((git_dir, common_dir)) => {
            // HEAD moves on checkout; the branch's ref on commit (loose, or
            // packed). Only files that exist: cargo reruns a build script
            // every time for a missing one.
            let branch = git(&manifest, &["symbolic-ref", "-q", "HEAD"]);
            let watched = [
                Some(git_dir.join("HEAD")),
                branch.map(|r| common_dir.join(r)),
                Some(common_dir.join("packed-refs")),
            ];
            for path in watched.into_iter().flatten().filter(|p| p.is_file()) {
                println!("cargo:rerun-if-changed={}", path.display());
            }
            commit(&manifest)
        }
        None => "unknown".to_string(),
    };
    println!("cargo:rustc-env=JETSTRESS_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=JETSTRESS_BUILD_DATE={}", build_date());
    link_order(&manifest);
}

/// Run git in `dir`; its trimmed stdout when it succeeded.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

/// This crate's git directory and the common one (they differ in a
/// worktree) — only when the crate is the top of a work tree, so a tarball
/// unpacked inside some other repository does not take that one's commit.
fn git_dirs(manifest: &Path) -> Option<(PathBuf, PathBuf)> {
    // No `--path-format=absolute`: JetPack 5's git (2.25) predates it, and
    // relative answers are relative to `-C manifest`.
    let out = git(
        manifest,
        &[
            "rev-parse",
            "--show-toplevel",
            "--git-dir",
            "--git-common-dir",
        ],
    )?;
    let mut lines = out.lines().map(|l| manifest.join(l));
    let (top, git_dir, common) = (lines.next()?, lines.next()?, lines.next()?);
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    same(&top, manifest).then_some((git_dir, common))
}

fn commit(manifest: &Path) -> String {
    let Some(hash) = git(manifest, &["rev-parse", "--short=7", "HEAD"]) else {
        return "unknown".to_string();
    };
    // Tracked files only: build outputs and scratch files are not "dirty".
    let dirty = Command::new("git")
        .arg("-C")
        .arg(manifest)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if dirty {
        format!("{hash}-dirty")
    } else {
        hash
    }
}

/// Today (UTC), or `SOURCE_DATE_EPOCH`'s day for reproducible builds.
fn build_date() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs())
        });
    match secs {
        Some(s) => {
            let (y, m, d) = civil_from_days((s / 86_400) as i64);
            format!("{y:04}-{m:02}-{d:02}")
        }
        None => "unknown".to_string(),
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Release binaries place the functions the console runs side by side
/// (`link/<target>.txt`, written by `benches/symbol-order.sh`), so the code
/// the kernel faults in, 64 KiB around each touched page, is the code that
/// runs rather than its neighbours. Only where the linker is known to read
/// the list: rust-lld, the default on x86_64-unknown-linux-gnu, unless a
/// linker is set; elsewhere `JETSTRESS_LINK_ORDER=1` asks for it (lld,
/// mold), and `=0` turns it off.
fn link_order(manifest: &Path) {
    println!("cargo:rerun-if-env-changed=JETSTRESS_LINK_ORDER");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let target = env("TARGET");
    let default_lld = target == "x86_64-unknown-linux-gnu"
        && env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_empty()
        && !env("CARGO_ENCODED_RUSTFLAGS").contains("link");
    let wanted = match env("JETSTRESS_LINK_ORDER").as_str() {
        "1" => true,
        "0" => false,
        _ => default_lld && env("PROFILE") == "release",
    };
    // The folder, not the file: a target without a list (a missing file
    // would rerun this script, and rebuild the crate, on every build).
    let dir = manifest.join("link");
    if dir.is_dir() {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    let list = dir.join(format!("{target}.txt"));
    if wanted && list.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            list.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
