//! The layout's one rule, checked on the source: imports point down only.
//! Each room of `src/` has a rank; a file may name its own room or rooms of
//! a lower rank (`crate::x` in the library, `jetstress::x` or `crate::x` in
//! the binary), never one beside or above it. Nothing in the library
//! derives clap types: the command line lives in the binary's `cli/`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Rooms from the top down. Rooms of one rank may not import each other.
const RANKS: &[(&str, u32)] = &[
    ("main", 12),
    ("commands", 11),
    ("cli", 10),
    ("ui", 9),
    ("campaign", 9),
    ("session", 8),
    ("report", 7),
    ("export", 7),
    ("recording", 6),
    ("check", 6),
    ("load", 5),
    ("config", 4),
    ("predict", 3),
    ("history", 3),
    ("collector", 2),
    ("probes", 1),
    ("snapshot", 0),
];

/// Files of the binary crate (they reach the library as `jetstress::`).
const BINARY: &[&str] = &["main", "cli", "commands"];

fn rank(room: &str) -> Option<u32> {
    RANKS.iter().find(|(r, _)| *r == room).map(|(_, n)| *n)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The room a file under `src/` belongs to (`src/load/engine/mod.rs` → `load`).
fn room_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a file without comments and string literals' contents, so a
/// doc link or a message naming a room does not count as an import.
fn code_only(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Rooms a piece of code names through `prefix` (`crate::`, `jetstress::`),
/// including the `prefix{a, b}` form.
fn named(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn imports_point_down_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut rooms_seen = BTreeSet::new();
    for f in &files {
        let room = room_of(&src, f);
        if room == "lib" {
            continue;
        }
        let Some(own) = rank(&room) else {
            wrong.push(format!(
                "{}: room '{room}' has no rank in tests/it/layers.rs (add it where it belongs)",
                f.display()
            ));
            continue;
        };
        rooms_seen.insert(room.clone());
        let code = code_only(&std::fs::read_to_string(f).unwrap());
        let mut names = named(&code, "crate::");
        if BINARY.contains(&room.as_str()) {
            names.extend(named(&code, "jetstress::"));
        }
        for other in names {
            if other == room {
                continue;
            }
            match rank(&other) {
                Some(r) if r < own => {}
                Some(_) => wrong.push(format!(
                    "{}: room '{room}' imports '{other}', which is not below it",
                    f.display()
                )),
                None => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "upward or sideways imports:\n{}",
        wrong.join("\n")
    );
    // The table is the layout: every ranked room exists.
    for (room, _) in RANKS {
        assert!(
            rooms_seen.contains(*room),
            "room '{room}' is ranked but has no files"
        );
    }
}

#[test]
fn the_library_has_no_clap_types() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for f in files {
        let room = room_of(&src, &f);
        if BINARY.contains(&room.as_str()) {
            continue;
        }
        let code = code_only(&std::fs::read_to_string(&f).unwrap());
        for needle in [
            "clap::",
            "#[arg(",
            "#[command(",
            "derive(Parser",
            "ValueEnum",
        ] {
            if code.contains(needle) {
                wrong.push(format!("{}: `{needle}` below the CLI layer", f.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_rule_reader_sees_imports() {
    // The scanner itself: grouped, nested and prefixed forms; comments ignored.
    let code = code_only("use crate::{load, report::Report};\n// crate::ui\nlet x = my_crate::ui;");
    assert_eq!(
        named(&code, "crate::"),
        ["load", "report"].iter().map(ToString::to_string).collect()
    );
}
