//! The fuzzers' inputs as plain tests, so CI needs no fuzzer: every committed corpus file
//! (`fuzz/corpus/<target>/`), every fixed crash (`fuzz/regressions/<target>/`) and any crash a
//! local fuzzing run saved (`fuzz/artifacts/<target>/`, git-ignored) goes through the same
//! library function as the cargo-fuzz target (`skygroup_sim::fuzz`), which panics on a broken
//! rule. `make fuzz` grows the corpus; see `fuzz/README.md`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use skygroup_sim::fuzz::{TARGETS, Target};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files under `fuzz/<kind>/<target>/`, sorted (none if the folder is missing).
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else { return Vec::new() };
    let mut files: Vec<PathBuf> = dir.map(|e| e.expect("a readable folder").path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

/// Runs every input of `kind` through its target; fails naming each input that panicked.
fn replay(kind: &str) -> usize {
    let mut count = 0;
    let mut failed = Vec::new();
    for (name, target) in TARGETS {
        for path in inputs(kind, name) {
            count += 1;
            if let Some(report) = failure(target, &path) {
                failed.push(format!("{}:\n{report}", path.display()));
            }
        }
    }
    assert!(failed.is_empty(), "{} of {count} inputs failed:\n{}", failed.len(), failed.join("\n"));
    count
}

fn failure(target: Target, path: &Path) -> Option<String> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let panic = catch_unwind(AssertUnwindSafe(|| target(&data))).err()?;
    let text = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
    Some(text.unwrap_or_else(|| "non-string panic".to_owned()))
}

// checks G1-G9, G12, G13 (oracle), the scenarios' own assertions, and Value's conversions
#[test]
fn corpus_inputs_pass() {
    let count = replay("corpus");
    for (name, _) in TARGETS {
        assert!(!inputs("corpus", name).is_empty(), "fuzz/corpus/{name} is empty");
    }
    println!("{count} corpus inputs");
}

// checks the rules each fixed crash once broke
#[test]
fn fixed_crashes_stay_fixed() {
    replay("regressions");
}

/// Crashes a local `make fuzz` saved and nobody fixed yet fail here until they are fixed (then
/// move them to `fuzz/regressions/`). The folder is git-ignored, so this is empty in CI.
#[test]
fn saved_crashes_are_fixed() {
    replay("artifacts");
}

/// A few hundred pseudo-random inputs per target, so a plain `cargo test` fuzzes a little
/// beyond the corpus (the same inputs every run).
#[test]
fn pseudo_random_inputs_pass() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (_, target) in TARGETS {
        for _ in 0..200 {
            let len = (next() % 64) as usize;
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            target(&data);
        }
    }
}

/// What the `schedule` corpus covers, per scenario: "sometimes" marks reached of those
/// declared, and distinct interleavings (`--nocapture` prints them; BENCHMARKS.md quotes
/// them). Every built-in scenario is in it and every mark is reached, among them
/// startup-race's two, which 20,000 random-walk runs never reach (they need one racer held
/// back for most of the run). `make fuzz-corpus` minimises by code edges, not marks: if it
/// drops a mark, copy an input that reaches it from `fuzz/corpus-work/schedule/`.
#[test]
fn schedule_corpus_reaches_every_mark() {
    let reached = schedule_corpus_marks();
    for scenario in skygroup_sim::scenario::builtin() {
        let (marks, interleavings) = reached.get(scenario.name()).expect("every scenario is in the corpus");
        let (declared, missed) = (marks.reached.len(), marks.never_reached());
        println!(
            "{}: {}/{declared} marks, {} interleavings",
            scenario.name(),
            declared - missed.len(),
            interleavings.len()
        );
        assert!(missed.is_empty(), "{}: the corpus never reaches {missed:?}", scenario.name());
    }
}

type Coverage = std::collections::BTreeMap<String, (skygroup_sim::scenario::Marks, std::collections::BTreeSet<u64>)>;

/// Per scenario: the marks the corpus reached, and its runs' interleaving fingerprints.
fn schedule_corpus_marks() -> Coverage {
    let mut reached = Coverage::new();
    for path in inputs("corpus", "schedule") {
        let input = skygroup_sim::fuzz::ScheduleInput::decode(&std::fs::read(&path).expect("a readable input"));
        let run = input.run(false);
        let (marks, interleavings) = reached.entry(input.scenario().name().to_owned()).or_default();
        marks.merge(&run.marks);
        interleavings.insert(run.interleaving);
    }
    reached
}
