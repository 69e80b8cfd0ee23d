//! The corpus file format: a program and the decision log of one run of it, replayed with the
//! simulator's own [`Replayer`] (the log is `skygroup_sim::log`'s one-line encoding, which
//! carries the seed, the worker count and whether faults were on).
//!
//! ```text
//! # why this run is worth keeping
//! program r0 slow 3; c0 slow echo
//! log v2:BwIA...
//! ```

use std::fmt;
use std::str::FromStr;

use skygroup_sim::log::{DecisionLog, Tail};
use skygroup_sim::replay::Replayer;

use super::{Program, Run, Setup, run_checked};

/// One stored run.
#[derive(Debug, Clone)]
pub struct Entry {
    pub note: String,
    pub program: Program,
    pub log: DecisionLog,
}

impl Entry {
    /// The entry for a run of `program` under `setup` that made `decisions`.
    pub fn new(note: &str, program: &Program, setup: Setup, decisions: Vec<(u32, u32)>) -> Entry {
        let Setup { seed, workers, faults } = setup;
        let log = DecisionLog { seed, workers, faults, tail: Tail::Seed, decisions };
        Entry { note: note.to_owned(), program: program.clone(), log }
    }

    pub fn setup(&self) -> Setup {
        Setup { seed: self.log.seed, workers: self.log.workers, faults: self.log.faults }
    }

    /// Replays the run; `Err` if the replay stopped following the log.
    pub fn replay(&self) -> Result<Run, String> {
        let replayer = Replayer::new(&self.log);
        let run = run_checked(&self.program, self.setup(), Some(Box::new(replayer.clone())));
        match replayer.divergence() {
            Some(divergence) => Err(divergence.to_string()),
            None => Ok(run),
        }
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# {}", self.note)?;
        writeln!(f, "program {}", self.program)?;
        writeln!(f, "log {}", self.log.encode())
    }
}

impl FromStr for Entry {
    type Err = String;

    fn from_str(text: &str) -> Result<Entry, String> {
        let (mut note, mut program, mut log) = (String::new(), None, None);
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(text) = line.strip_prefix('#') {
                note = text.trim().to_owned();
            } else if let Some(text) = line.strip_prefix("program ") {
                program = Some(text.parse::<Program>()?);
            } else if let Some(text) = line.strip_prefix("log ") {
                log = Some(DecisionLog::decode(text).map_err(|e| e.to_string())?);
            } else {
                return Err(format!("unknown line `{line}`"));
            }
        }
        let program = program.ok_or("no `program` line")?;
        Ok(Entry { note, program, log: log.ok_or("no `log` line")? })
    }
}
