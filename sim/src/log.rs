//! The decision log: everything needed to re-run one run exactly, as one copyable string (S2).
//!
//! A run is its seed (faults and scenario data come from the seed's data stream), its virtual
//! worker count, and the index chosen at each decision point. The log keeps the option count
//! beside each choice, so a replay against changed code can say at which step it stopped
//! matching. Format `v2:` + base64url (no padding) of:
//!
//! ```text
//! varint seed, varint workers, byte flags (bit 0: faults, bit 1: after the log, choose 0),
//! then one token per decision: varint (pair index + 1), where (n, c) with 0 <= c < n numbers
//! as n(n-1)/2 - 1 + c (so (2,0) -> 0, (2,1) -> 1, (3,0) -> 2, ...); token 0 followed by a
//! varint k repeats the previous decision k more times.
//! ```
//!
//! Choices under 16 options take one byte, and runs of one repeated decision two bytes, so a
//! run of a few hundred decisions is a few hundred characters.
//!
//! `v1` logs came from a simulator that decided neither shortcuts nor due timers: their
//! decisions would mean other things now, so they are refused ([`LogError::Older`]) rather than
//! replayed as a different run; their seed still reproduces a run of today's simulator.

use std::fmt;
use std::str::FromStr;

/// The version prefix of the current format.
pub const VERSION: &str = "v2";

/// Versions this simulator knows but can no longer replay.
const OLDER: &[&str] = &["v1"];

/// A run's decisions plus what else it takes to replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionLog {
    /// The run's seed (faults and data; the schedule is `decisions`).
    pub seed: u64,
    /// Virtual workers.
    pub workers: usize,
    /// Whether faults were injected.
    pub faults: bool,
    /// What to choose once the log runs out: the seed's own choices (a recorded run), or
    /// option 0, the default order (a shrunk log, cut after its last deviation).
    pub tail: Tail,
    /// (options, chosen) per decision point with at least two options.
    pub decisions: Vec<(u32, u32)>,
}

/// What a replay chooses after the log's last decision (or after it stops matching).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// The seed's own choices, as if the run had been driven by the seed all along.
    Seed,
    /// Option 0 everywhere: the default order.
    Default,
}

/// Why a string is not a decision log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// It does not start with this simulator's version.
    #[error("a decision log starts with `{VERSION}:`; this one starts with {0:?}")]
    Version(String),
    #[error(
        "this decision log ({0}) was recorded by an older simulator, whose decisions mean other things \
         now; replay with --seed instead"
    )]
    /// It was recorded by an older simulator version.
    Older(&'static str),
    /// A character outside base64url.
    #[error("the decision log is not base64url: bad character {0:?}")]
    Base64(char),
    /// It ends in the middle of a decision.
    #[error("the decision log is cut short or corrupt: {0}")]
    Truncated(&'static str),
}

impl DecisionLog {
    /// Choices that differ from the default order (option 0).
    pub fn deviations(&self) -> usize {
        self.decisions.iter().filter(|(_, c)| *c != 0).count()
    }

    /// The log as one string.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(16 + self.decisions.len());
        put_varint(&mut bytes, self.seed);
        put_varint(&mut bytes, self.workers as u64);
        bytes.push(u8::from(self.faults) | (u8::from(self.tail == Tail::Default) << 1));
        put_decisions(&mut bytes, &self.decisions);
        format!("{VERSION}:{}", base64url(&bytes))
    }

    /// Reads a log written by [`encode`](Self::encode).
    pub fn decode(text: &str) -> Result<DecisionLog, LogError> {
        let text = text.trim();
        let Some(body) = text.strip_prefix(VERSION).and_then(|t| t.strip_prefix(':')) else {
            if let Some(old) = OLDER.iter().find(|v| text.strip_prefix(**v).is_some_and(|t| t.starts_with(':'))) {
                return Err(LogError::Older(old));
            }
            return Err(LogError::Version(text.chars().take(4).collect()));
        };
        let bytes = unbase64url(body)?;
        let mut at = 0;
        let seed = get_varint(&bytes, &mut at).ok_or(LogError::Truncated("no seed"))?;
        let workers = get_varint(&bytes, &mut at).ok_or(LogError::Truncated("no worker count"))? as usize;
        let flags = *bytes.get(at).ok_or(LogError::Truncated("no flags"))?;
        at += 1;
        let tail = if flags & 2 != 0 { Tail::Default } else { Tail::Seed };
        let decisions = get_decisions(&bytes, at)?;
        Ok(DecisionLog { seed, workers, faults: flags & 1 != 0, tail, decisions })
    }
}

impl fmt::Display for DecisionLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl FromStr for DecisionLog {
    type Err = LogError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DecisionLog::decode(s)
    }
}

/// More options than any run has at one point: a token beyond this is corruption.
const OPTIONS_MAX: u32 = 1 << 20;

fn pair_index(n: u32, c: u32) -> u64 {
    let n = u64::from(n);
    n * (n - 1) / 2 - 1 + u64::from(c)
}

fn pair_of(index: u64) -> (u32, u32) {
    let mut n: u64 = 2;
    while n * (n + 1) / 2 - 1 <= index {
        n += 1;
    }
    let c = index - (n * (n - 1) / 2 - 1);
    (n as u32, c as u32)
}

fn put_decisions(bytes: &mut Vec<u8>, decisions: &[(u32, u32)]) {
    let mut i = 0;
    while i < decisions.len() {
        let run = decisions[i..].iter().take_while(|d| **d == decisions[i]).count();
        put_varint(bytes, pair_index(decisions[i].0, decisions[i].1) + 1);
        if run >= 3 {
            put_varint(bytes, 0);
            put_varint(bytes, (run - 1) as u64);
            i += run;
        } else {
            i += 1;
        }
    }
}

fn get_decisions(bytes: &[u8], mut at: usize) -> Result<Vec<(u32, u32)>, LogError> {
    let mut decisions: Vec<(u32, u32)> = Vec::new();
    while at < bytes.len() {
        let token = get_varint(bytes, &mut at).ok_or(LogError::Truncated("a decision is cut off"))?;
        if token > 0 {
            if token > pair_index(OPTIONS_MAX, 0) {
                return Err(LogError::Truncated("an absurd option count"));
            }
            decisions.push(pair_of(token - 1));
            continue;
        }
        let repeat = get_varint(bytes, &mut at).ok_or(LogError::Truncated("a repeat count is cut off"))?;
        let last = *decisions.last().ok_or(LogError::Truncated("a repeat before any decision"))?;
        if repeat > 1 << 24 {
            return Err(LogError::Truncated("an absurd repeat count"));
        }
        decisions.extend(std::iter::repeat_n(last, repeat as usize));
    }
    Ok(decisions)
}

fn put_varint(bytes: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        bytes.push((v as u8) | 0x80);
        v >>= 7;
    }
    bytes.push(v as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 3);
    for chunk in bytes.chunks(3) {
        let word = chunk.iter().enumerate().fold(0u32, |w, (i, b)| w | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(word >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn unbase64url(text: &str) -> Result<Vec<u8>, LogError> {
    let sextets: Vec<u32> = text
        .chars()
        .map(|ch| ALPHABET.iter().position(|&a| a as char == ch).map(|p| p as u32).ok_or(LogError::Base64(ch)))
        .collect::<Result<_, _>>()?;
    let mut bytes = Vec::with_capacity(sextets.len() * 3 / 4);
    for chunk in sextets.chunks(4) {
        if chunk.len() == 1 {
            return Err(LogError::Truncated("a lone base64 character at the end"));
        }
        let word = chunk.iter().enumerate().fold(0u32, |w, (i, s)| w | s << (18 - 6 * i));
        bytes.extend((0..chunk.len() - 1).map(|i| (word >> (16 - 8 * i)) as u8));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_index_is_a_bijection_on_small_pairs() {
        let mut next = 0;
        for n in 2..40u32 {
            for c in 0..n {
                assert_eq!(pair_index(n, c), next);
                assert_eq!(pair_of(next), (n, c));
                next += 1;
            }
        }
    }

    #[test]
    fn base64url_round_trips_every_length() {
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37).wrapping_add(200)).collect();
            assert_eq!(unbase64url(&base64url(&bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn a_v1_log_is_refused_with_a_clear_message() {
        let log = DecisionLog { seed: 7, workers: 2, faults: false, tail: Tail::Seed, decisions: vec![(2, 1)] };
        let old = log.encode().replacen(VERSION, "v1", 1);
        let err = DecisionLog::decode(&old).unwrap_err();
        assert_eq!(err, LogError::Older("v1"));
        assert!(err.to_string().contains("older simulator") && err.to_string().contains("--seed"), "{err}");
        assert_eq!(DecisionLog::decode(&log.encode()).unwrap(), log);
    }

    #[test]
    fn varints_round_trip() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut bytes = Vec::new();
            put_varint(&mut bytes, v);
            assert_eq!(get_varint(&bytes, &mut 0), Some(v));
        }
    }
}
