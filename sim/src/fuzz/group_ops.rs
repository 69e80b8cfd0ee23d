//! The `group_ops` target: the input decodes into a program of group operations (the model
//! proptest generates, [`crate::program`]) plus simulator options and a schedule; the program
//! runs in the simulator and the oracle must accept the run (checked at the program's end and
//! after shutdown, as every program run is).
//!
//! Input: one options byte `o` (workers `[2, 1, 3][o % 3]`, faults when `(o / 3) % 2 == 1`),
//! then with faults one seed byte for them; then the program: a step count byte
//! (`1 + b % 4`), and per step an op count byte (`1 + b % 4`) and the ops, each an op byte
//! (weighted as proptest's generator, see [`OPS`]) and one byte per argument; then the rest of
//! the input is the decision stream, as in the `schedule` target. Every byte string is an input.

use super::bytes::{ByteChooser, Bytes};
use super::quiet::quietly;
use super::schedule::WORKER_CHOICES;
use crate::log::{DecisionLog, Tail};
use crate::program::kinds::{COMMANDS, NAMES, NEW_KINDS};
use crate::program::{Limits, Op, Program, Run, Setup, run_with};

/// Steps after which a program run is stopped as runaway: programs are a few hundred steps,
/// and a short cap keeps a livelock from stalling the fuzzer.
pub const PROGRAM_STEPS_MAX: u64 = 200_000;

/// Most steps, and most ops in one step, a decoded program has (proptest's bounds).
pub const STEPS_MAX: usize = 4;

/// Op tags with proptest's weights (each tag repeated by its weight), plus `main` once.
const OPS: [u8; 20] = [
    b'q', b'q', b'q', b'r', b'r', b'c', b'c', b'c', b's', b's', b's', b'f', b'f', b'n', b'n', b'x', b'x', b'k', b'g',
    b'm',
];

/// One decoded `group_ops` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOpsInput {
    /// The program to run.
    pub program: Program,
    /// How to run it.
    pub setup: Setup,
    /// The schedule: one byte per decision.
    pub decisions: Vec<u8>,
}

impl GroupOpsInput {
    /// Reads an input; every byte string is one.
    pub fn decode(data: &[u8]) -> GroupOpsInput {
        let mut bytes = Bytes::new(data);
        let options = usize::from(bytes.byte());
        let (workers, faults) = (WORKER_CHOICES[options % 3], (options / 3) % 2 == 1);
        let seed = if faults { u64::from(bytes.byte()) } else { 0 };
        let steps = 1 + bytes.below(STEPS_MAX);
        let program = Program { steps: (0..steps).map(|_| step(&mut bytes)).collect() };
        GroupOpsInput { program, setup: Setup { seed, workers, faults }, decisions: bytes.rest().to_vec() }
    }

    fn run(&self, text: bool) -> Run {
        let chooser = Box::new(ByteChooser::new(&self.decisions));
        quietly(|| run_with(&self.program, self.setup, Some(chooser), Limits { text, steps_max: PROGRAM_STEPS_MAX }))
    }
}

fn step(bytes: &mut Bytes<'_>) -> Vec<Op> {
    let ops = 1 + bytes.below(STEPS_MAX);
    (0..ops).map(|_| op(bytes)).collect()
}

fn op(bytes: &mut Bytes<'_>) -> Op {
    let tag = OPS[bytes.below(OPS.len())];
    let b = bytes;
    match tag {
        b'q' => Op::Query(group(b), pick(b, &NAMES)),
        b'r' => Op::Race(group(b), pick(b, &NAMES), 2 + b.below(3) as u8),
        b'c' => Op::Call(group(b), pick(b, &NAMES), pick(b, &COMMANDS)),
        b's' => Op::Send(group(b), pick(b, &NAMES)),
        b'f' => Op::Flush(group(b), pick(b, &NAMES), 1 + b.below(3) as u8),
        b'n' => Op::NewService(group(b), pick(b, &NEW_KINDS)),
        b'x' => Op::Exit(group(b), pick(b, &NAMES)),
        b'k' => Op::Shutdown(group(b)),
        b'g' => Op::NewGroup(b.bool()),
        _ => Op::GroupMain,
    }
}

fn group(bytes: &mut Bytes<'_>) -> usize {
    bytes.below(2)
}

fn pick(bytes: &mut Bytes<'_>, from: &[&str]) -> String {
    from[bytes.below(from.len())].to_owned()
}

/// Decodes `data`, runs the program and panics with a report (program, setup, violations,
/// a corpus entry that replays the run, trace tail) unless the oracle accepts the run.
pub fn group_ops(data: &[u8]) {
    #[cfg(skygroup_mutants)]
    super::mutant::pinned();
    let input = GroupOpsInput::decode(data);
    if !input.run(false).ok() {
        panic!("{}", failure_report(&input, &input.run(true)));
    }
}

fn failure_report(input: &GroupOpsInput, run: &Run) -> String {
    let Setup { seed, workers, faults } = input.setup;
    let mut report =
        format!("group_ops: program `{}`, seed {seed}, {workers} workers, faults {faults}\n", input.program);
    for v in &run.violations {
        report += &format!("  {v}\n");
    }
    if let Some(panic) = &run.panic {
        report += &format!("  panicked: {panic}\n");
    }
    let log = DecisionLog { seed, workers, faults, tail: Tail::Default, decisions: run.decisions.clone() };
    report += "replay it: save these 3 lines as sim/tests/corpus/<name>.log (the corpus test replays them)\n";
    report += &format!("# found by the group_ops fuzzer\nprogram {}\nlog {log}\n", input.program);
    report + &trace_tail(&run.trace)
}

/// The last 40 lines of a trace, indented.
fn trace_tail(trace: &[String]) -> String {
    let tail = &trace[trace.len().saturating_sub(40)..];
    let lines: String = tail.iter().map(|line| format!("  {line}\n")).collect();
    format!("last {} of {} trace lines:\n{lines}", tail.len(), trace.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_input_is_one_query_on_two_workers() {
        let input = GroupOpsInput::decode(&[]);
        assert_eq!(input.program.to_string(), "q0 counter");
        assert_eq!(input.setup, Setup { seed: 0, workers: 2, faults: false });
    }

    #[test]
    fn options_seed_program_then_decisions() {
        // options 3: 2 workers, faults; seed 9; 2 steps: [race 3 of slow in group 1], [main]
        let input = GroupOpsInput::decode(&[3, 9, 1, 0, 3, 1, 1, 1, 0, 19, 7, 7]);
        assert_eq!(input.setup, Setup { seed: 9, workers: 2, faults: true });
        assert_eq!(input.program.to_string(), "r1 slow 3; main");
        assert_eq!(input.decisions, [7, 7]);
    }

    #[test]
    fn decoded_programs_print_as_text_that_parses_back() {
        for seed in 0..200u32 {
            let data: Vec<u8> = (0..40).map(|i| (seed.wrapping_mul(2_654_435_761) >> (i % 24)) as u8 ^ i).collect();
            let program = GroupOpsInput::decode(&data).program;
            assert_eq!(program.to_string().parse::<Program>(), Ok(program));
        }
    }
}
