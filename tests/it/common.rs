//! Helpers shared by integration tests: fixture paths, private copies of
//! fixture trees (tests that change sensor files work on a copy), and a
//! command run to success.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `cmd`'s output once it has exited 0; a failure shows its stderr.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", cmd.get_program().display()));
    assert!(
        out.status.success(),
        "{} exited {}: {}",
        cmd.get_program().display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `tests/fixtures/<name>`.
pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Copy a directory tree (plain files and directories).
pub fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}
