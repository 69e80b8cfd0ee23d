//! The regression corpus: decision logs of interesting runs (`sim/tests/corpus/*.log`, format
//! in `support/replay.rs`), replayed on every `cargo test` and checked by the oracle.
//!
//! A failing property test prints a corpus entry; save it here to keep the run. When the
//! runtime changes its event order a log stops matching: the replay then says where it
//! diverged and goes on with the seed's own choices, still checked, so a stale entry never
//! passes unchecked; regenerate the stock entries with
//! `SKYGROUP_WRITE_CORPUS=1 cargo test -p skygroup-sim --test corpus stock_corpus_entries_exist`.

mod support;

use std::path::{Path, PathBuf};

use support::{Entry, Program, Run, Setup, failure_report, named, program, run_checked};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn entries() -> Vec<(PathBuf, Entry)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("sim/tests/corpus exists")
        .map(|e| e.expect("readable corpus dir").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    files
        .into_iter()
        .map(|p| (p.clone(), read(&p).parse().unwrap_or_else(|e| panic!("{}: {e}", p.display()))))
        .collect()
}

// checks G1-G9, G12, G13 (oracle) and S2 (replay) on the stored runs
#[test]
fn corpus_replays_clean() {
    let entries = entries();
    assert!(!entries.is_empty(), "the corpus is empty");
    for (path, entry) in entries {
        let (run, diverged) = match entry.replay() {
            Ok(run) => (run, None),
            Err(divergence) => (run_checked(&entry.program, entry.setup(), None), Some(divergence)),
        };
        if let Some(divergence) = diverged {
            eprintln!("{}: the log no longer matches the run ({divergence}); checked the seed's run", path.display());
        }
        assert!(run.ok(), "{}:\n{}", path.display(), failure_report(&entry.program, entry.setup(), &run));
    }
}

/// An interesting run to keep: a program, what makes a run of it interesting, where to look.
struct Wanted {
    file: &'static str,
    note: &'static str,
    program: Program,
    workers: usize,
    faults: bool,
    interesting: fn(&Run) -> bool,
}

fn count(run: &Run, needle: &str) -> usize {
    run.trace.iter().filter(|l| l.contains(needle)).count()
}

/// Whether a line with `first` comes before one with `then`.
fn before(run: &Run, first: &str, then: &str) -> bool {
    let at = |needle: &str| run.trace.iter().position(|l| l.contains(needle));
    matches!((at(first), at(then)), (Some(a), Some(b)) if a < b)
}

fn wanted() -> Vec<Wanted> {
    let w = |file, note, program, workers, faults, interesting| Wanted {
        file,
        note,
        program,
        workers,
        faults,
        interesting,
    };
    vec![
        w(
            "cycle-refused-in-both-groups",
            "a start-up cycle refused in both groups, racing askers",
            named("cycle"),
            3,
            false,
            |r| count(r, "cycle refused") >= 2,
        ),
        w(
            "failed-start-three-waiters",
            "a failed start with three parked waiters, all answered errors",
            named("failed-start"),
            2,
            false,
            |r| count(r, "flaky: answer") >= 3 && count(r, "-> error") >= 3,
        ),
        w(
            "exit-then-restart",
            "a bound service exits; later sends re-resolve and start a fresh one",
            named("exit-restart"),
            2,
            false,
            |r| count(r, "counter: unbind") >= 1 && count(r, "counter: start ") >= 1,
        ),
        w(
            "pending-flush-three-at-once",
            "queued sends flushed while three services run at once",
            named("pending-flush"),
            3,
            false,
            |r| r.trace.iter().any(|l| l.contains("round") && l.split_whitespace().count() >= 5),
        ),
        w(
            "queries-after-shutdown",
            "a group shut down while its members race to start names in it",
            program("q0 slow, r0 needs_slow 2, k0; q1 slow"),
            2,
            false,
            |r| before(r, "_shutdown nil", "group#1 slow: answer"),
        ),
        w(
            "faults-crashes-and-failed-inits",
            "injected crashes and init failures during lazy starts",
            program("r0 slow 3, s0 counter, f1 counter 2; q0 needs_slow, x1 counter"),
            2,
            true,
            |r| count(r, "fault") >= 2 && count(r, "failed") >= 1,
        ),
        w(
            "dead-instance-not-answered",
            "regression (G9): an instance that crashed after its init fails its start, never bound",
            program("s0 counter; s0 counter; n0 counter"),
            1,
            true,
            |r| count(r, "fault") >= 1 && count(r, "failed") >= 1,
        ),
    ]
}

/// Every stock entry is in the corpus. With `SKYGROUP_WRITE_CORPUS=1`, first finds a run of each
/// wanted kind and writes it there (regenerating the stock entries by hand).
#[test]
fn stock_corpus_entries_exist() {
    if std::env::var_os("SKYGROUP_WRITE_CORPUS").is_some() {
        write_corpus();
    }
    for want in wanted() {
        let path = corpus_dir().join(format!("{}.log", want.file));
        assert!(path.exists(), "{} is missing: regenerate with SKYGROUP_WRITE_CORPUS=1", path.display());
    }
}

fn write_corpus() {
    std::fs::create_dir_all(corpus_dir()).unwrap();
    for want in wanted() {
        let found = (0..5000u64).find_map(|seed| {
            let setup = Setup { seed, workers: want.workers, faults: want.faults };
            let run = run_checked(&want.program, setup, None);
            (want.interesting)(&run).then_some((setup, run))
        });
        let Some((setup, run)) = found else { panic!("no run of `{}` found", want.file) };
        let entry = Entry::new(want.note, &want.program, setup, run.decisions);
        std::fs::write(corpus_dir().join(format!("{}.log", want.file)), entry.to_string()).unwrap();
        println!("{}: seed {}", want.file, setup.seed);
    }
}
