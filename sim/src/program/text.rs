//! The text form of a program (see the [parent module](super)): what tests write, the corpus
//! stores and failure reports print, so any program a generator or the fuzzer finds can be
//! pasted back into a test.

use std::fmt;
use std::str::FromStr;

use super::{Op, Program};

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Query(g, n) => write!(f, "q{g} {n}"),
            Op::Race(g, n, k) => write!(f, "r{g} {n} {k}"),
            Op::Call(g, n, c) => write!(f, "c{g} {n} {c}"),
            Op::Send(g, n) => write!(f, "s{g} {n}"),
            Op::Flush(g, n, k) => write!(f, "f{g} {n} {k}"),
            Op::NewService(g, k) => write!(f, "n{g} {k}"),
            Op::Exit(g, n) => write!(f, "x{g} {n}"),
            Op::Shutdown(g) => write!(f, "k{g}"),
            Op::NewGroup(true) => f.write_str("g+"),
            Op::NewGroup(false) => f.write_str("g-"),
            Op::GroupMain => f.write_str("main"),
        }
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps: Vec<String> =
            self.steps.iter().map(|s| s.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")).collect();
        f.write_str(&steps.join("; "))
    }
}

impl FromStr for Op {
    type Err = String;

    fn from_str(s: &str) -> Result<Op, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let bad = || format!("cannot read op `{s}`");
        let (head, rest) = words.split_first().ok_or_else(bad)?;
        let (letter, group) = head.split_at(1);
        let g = || group.parse::<usize>().ok().filter(|g| *g < 2).ok_or_else(bad);
        let word = |i: usize| rest.get(i).map(|w| (*w).to_owned()).ok_or_else(bad);
        let count = || rest.get(1).and_then(|w| w.parse::<u8>().ok()).ok_or_else(bad);
        match (*head, letter) {
            ("main", _) => Ok(Op::GroupMain),
            ("g+", _) => Ok(Op::NewGroup(true)),
            ("g-", _) => Ok(Op::NewGroup(false)),
            (_, "q") => Ok(Op::Query(g()?, word(0)?)),
            (_, "r") => Ok(Op::Race(g()?, word(0)?, count()?)),
            (_, "c") => Ok(Op::Call(g()?, word(0)?, word(1)?)),
            (_, "s") => Ok(Op::Send(g()?, word(0)?)),
            (_, "f") => Ok(Op::Flush(g()?, word(0)?, count()?)),
            (_, "n") => Ok(Op::NewService(g()?, word(0)?)),
            (_, "x") => Ok(Op::Exit(g()?, word(0)?)),
            (_, "k") => Ok(Op::Shutdown(g()?)),
            _ => Err(bad()),
        }
    }
}

impl FromStr for Program {
    type Err = String;

    fn from_str(s: &str) -> Result<Program, String> {
        let step = |text: &str| text.split(',').map(|op| op.trim().parse()).collect::<Result<Vec<Op>, _>>();
        let steps = s.split(';').filter(|t| !t.trim().is_empty()).map(step).collect::<Result<_, _>>()?;
        Ok(Program { steps })
    }
}

/// Parses a program written in the text form (panics on a typo: programs in tests are fixed).
pub fn program(text: &str) -> Program {
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}
