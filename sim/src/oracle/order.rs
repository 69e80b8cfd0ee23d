//! G6, per-sender order per target *service*: the messages one service issued that got handled
//! by one service were handled in the order they were issued, however each was addressed (by
//! address, or by a name in the sender's group: its target is the service it was handled by).
//!
//! One exception, the rebinding rule (`group/names.rs`): a by-name message that reached its
//! instance only after that instance had exited is resolved again and goes to the fresh one,
//! behind what the sender had already delivered there; it counts as issued when resolved again.
//! The trace does not show the bounce, so a by-name message handled after an instance of its
//! name exited (between its issue and its handling) is left out of the order check.
//!
//! Each handled request is matched to the `Issue` it came from: a call by its sender and
//! session (unique per sender); a send, which has no session, by sender, target, command and
//! arguments, the oldest unmatched issue first. When the same send was issued more than once
//! and not every copy got handled, which copy got lost is unknowable, so those copies are left
//! out rather than risk a false alarm; tests that want full coverage send distinct arguments.
//! A request handled more often than issued is flagged too: a message is delivered once.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use skygroup::Address;

use super::Violation;
use super::facts::Facts;
use crate::record::{Args, Dest, Happening, Msg};

/// A send, as it can be matched: sender, target, command, arguments. `Args` formats its text
/// lazily (a `OnceLock`), which clippy sees as a mutable key; its order never changes with that
/// cache (it compares values, or the same text either way), hence the `mutable_key_type` allows.
type SendKey<'a> = (Address, Dest, &'a str, &'a Args);

/// Every G6 violation in the run.
pub(crate) fn check(facts: &Facts<'_>) -> Vec<Violation> {
    let mut matcher = Matcher::new(facts);
    let mut out = Vec::new();
    let mut handled: BTreeMap<(Address, Address), Vec<(usize, usize)>> = BTreeMap::new();
    let exits = exits_by_kind(facts);
    for (i, record) in facts.records.iter().enumerate() {
        let Happening::Handle { at, message: Msg::Request { from, session, command, args, via } } = &record.event
        else {
            continue;
        };
        let dest = via.as_ref().map_or(Dest::Address(*at), |n| Dest::Name(n.clone()));
        let issued = match *session {
            0 => matcher.send(*from, &dest, command, args),
            session => matcher.call(*from, session, &dest),
        };
        match issued {
            Ok(Some(issue)) if via.as_ref().is_some_and(|name| exited_between(&exits, name, issue, i)) => {}
            Ok(Some(issue)) => handled.entry((*from, *at)).or_default().push((i, issue)),
            Ok(None) => {}
            Err(()) => {
                let message = format!(
                    "{} handled `{command} {args}` from {} to {dest} more often than it was issued",
                    facts.who(*at),
                    facts.who(*from)
                );
                out.push(Violation { rule: "G6", at: i, message });
            }
        }
    }
    for ((from, at), list) in &handled {
        out.extend(first_inversion(facts, *from, *at, list));
    }
    out
}

/// Where services exited, by kind (a name is only ever bound to a service of its kind).
fn exits_by_kind<'a>(facts: &Facts<'a>) -> BTreeMap<&'a str, Vec<usize>> {
    let mut exits: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, record) in facts.records.iter().enumerate() {
        if let Happening::Exit { kind, .. } = &record.event {
            exits.entry(kind.as_str()).or_default().push(i);
        }
    }
    exits
}

/// Whether a service of kind `name` exited between events `issue` and `handled`.
fn exited_between(exits: &BTreeMap<&str, Vec<usize>>, name: &str, issue: usize, handled: usize) -> bool {
    exits.get(name).is_some_and(|at| at.iter().any(|&e| issue < e && e < handled))
}

/// The first message handled after one its sender issued later, if any.
fn first_inversion(facts: &Facts<'_>, from: Address, at: Address, list: &[(usize, usize)]) -> Option<Violation> {
    let mut latest = list.first()?;
    for entry in &list[1..] {
        if entry.1 < latest.1 {
            let message = format!(
                "{} issued `{}` (event {}) before `{}` (event {}), both handled by {}, but it was handled \
                 after it (events {} and {})",
                facts.who(from),
                describe(facts, entry.1),
                entry.1,
                describe(facts, latest.1),
                latest.1,
                facts.who(at),
                entry.0,
                latest.0
            );
            return Some(Violation { rule: "G6", at: entry.0, message });
        }
        latest = entry;
    }
    None
}

fn describe(facts: &Facts<'_>, issue: usize) -> String {
    match &facts.records[issue].event {
        Happening::Issue { session: 0, command, args, to, .. } => format!("send {command} {args} to {to}"),
        Happening::Issue { session, command, args, to, .. } => format!("call#{session} {command} {args} to {to}"),
        other => format!("{other:?}"),
    }
}

/// Matches handled requests to their issues.
#[allow(clippy::mutable_key_type)] // see `SendKey`
struct Matcher<'a> {
    calls: BTreeMap<(Address, u64), (usize, &'a Dest)>,
    sends: BTreeMap<SendKey<'a>, VecDeque<usize>>,
    /// Sends issued more than once of which some copy was never handled.
    ambiguous: BTreeSet<SendKey<'a>>,
    calls_seen: BTreeSet<(Address, u64)>,
}

impl<'a> Matcher<'a> {
    #[allow(clippy::mutable_key_type)] // see `SendKey`
    fn new(facts: &Facts<'a>) -> Matcher<'a> {
        let mut matcher = Matcher {
            calls: BTreeMap::new(),
            sends: BTreeMap::new(),
            ambiguous: BTreeSet::new(),
            calls_seen: BTreeSet::new(),
        };
        let mut handled: BTreeMap<SendKey<'a>, usize> = BTreeMap::new();
        for (i, record) in facts.records.iter().enumerate() {
            match &record.event {
                Happening::Issue { from, to, session: 0, command, args } => {
                    matcher.sends.entry((*from, to.clone(), command, args)).or_default().push_back(i);
                }
                Happening::Issue { from, to, session, .. } => {
                    matcher.calls.insert((*from, *session), (i, to));
                }
                Happening::Handle { at, message: Msg::Request { from, session: 0, command, args, via } } => {
                    let dest = via.as_ref().map_or(Dest::Address(*at), |n| Dest::Name(n.clone()));
                    *handled.entry((*from, dest, command, args)).or_default() += 1;
                }
                _ => {}
            }
        }
        for (key, issues) in &matcher.sends {
            let n = handled.get(key).copied().unwrap_or(0);
            if issues.len() > 1 && n != issues.len() {
                matcher.ambiguous.insert(key.clone());
            }
        }
        matcher
    }

    /// The issue of a handled send; `Err` if every issue of it was matched already.
    fn send(&mut self, from: Address, dest: &Dest, command: &'a str, args: &'a Args) -> Result<Option<usize>, ()> {
        let key = (from, dest.clone(), command, args);
        if self.ambiguous.contains(&key) {
            return Ok(None);
        }
        match self.sends.get_mut(&key) {
            Some(queue) => queue.pop_front().map(Some).ok_or(()),
            None => Ok(None),
        }
    }

    /// The issue of a handled call; `Err` if it was handled before.
    fn call(&mut self, from: Address, session: u64, dest: &Dest) -> Result<Option<usize>, ()> {
        let Some(&(issue, to)) = self.calls.get(&(from, session)) else { return Ok(None) };
        if !self.calls_seen.insert((from, session)) {
            return Err(());
        }
        Ok((to == dest).then_some(issue))
    }
}
