//! The layering `lib.rs` states, checked on the source: the core does not name the group
//! module, and the group module takes the core's fast paths only through the shortcut hook
//! (`src/core/hook.rs`). Not a contract rule (G/S): a guard on the structure (issue 11, item 9).

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, sorted (so a failure names the same file every time).
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `(file, line number, line)` for each line under `dir` containing one of `needles`.
fn occurrences(dir: &str, needles: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut found = Vec::new();
    for file in sources(&root) {
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        for (n, line) in text.lines().enumerate() {
            if needles.iter().any(|needle| line.contains(needle)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

// checks the layering: the core reaches the group module only through its `Naming` seam.
#[test]
fn the_core_does_not_name_the_group_module() {
    let found = occurrences("src/core", &["crate::group", "super::group"]);
    assert!(found.is_empty(), "the core names the group module:\n{}", found.join("\n"));
}

// checks the layering: the group module takes shortcuts only through the core's hook.
#[test]
fn the_group_module_uses_only_the_shortcut_hook() {
    let internals = [
        "runs_here",
        ".handoff()",
        "take_reached",
        "give_back_reached",
        "remember_name",
        ".call_direct",
        ".send_direct(",
        "memo::",
        "handoff::",
        "capture::",
    ];
    let found: Vec<String> = occurrences("src/group", &internals)
        .into_iter()
        .filter(|line| !line.split(": ").nth(1).is_some_and(|code| code.starts_with("//")))
        .collect();
    assert!(found.is_empty(), "the group module reaches past the shortcut hook:\n{}", found.join("\n"));
}

// checks the layering: the core reaches the cluster layer only through its `Remote` seam.
#[test]
fn the_core_does_not_name_the_cluster_layer() {
    let found = occurrences("src/core", &["crate::cluster", "super::cluster"]);
    assert!(found.is_empty(), "the core names the cluster layer:\n{}", found.join("\n"));
}
