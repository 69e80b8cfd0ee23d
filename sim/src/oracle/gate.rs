//! The gate rules that show in a trace (see "Gate rules" in `SEMANTICS.md`), checked from what
//! each `gate` service issues to the services it reports to:
//! - N2: no `data` of a connection to a receiver after that receiver's `close` of it;
//! - N3: at most one `close` of a connection per receiver (a trace may be cut before the
//!   close, so a missing one is not flagged);
//! - N4: no connection id is `open`ed twice in a run (ids are never reused).
//!
//! Issue order is what counts: G6 (checked in `order.rs`) carries it to delivery order.

use std::collections::BTreeSet;

use skygroup::Address;

use super::Violation;
use crate::record::{Dest, Happening, Record};

pub(super) fn check(records: &[Record]) -> Vec<Violation> {
    let mut gates = BTreeSet::new();
    let mut opened = BTreeSet::new();
    let mut closed: BTreeSet<(Address, Address, i64)> = BTreeSet::new();
    let mut violations = Vec::new();
    for (at, record) in records.iter().enumerate() {
        match &record.event {
            Happening::Spawn { address, kind, .. } if kind == "gate" => {
                gates.insert(*address);
            }
            Happening::Issue { from, to: Dest::Address(to), session: 0, command, args } if gates.contains(from) => {
                let Some(conn) = conn_of(args) else { continue };
                let key = (*from, *to, conn);
                let (rule, message) = match command.as_str() {
                    "open" if !opened.insert(conn) => ("N4", format!("gate {from} opened connection {conn} twice")),
                    "data" if closed.contains(&key) => {
                        ("N2", format!("gate {from} sent {to} a frame of connection {conn} after its close"))
                    }
                    "close" if !closed.insert(key) => {
                        ("N3", format!("gate {from} sent {to} a second close of connection {conn}"))
                    }
                    _ => continue,
                };
                violations.push(Violation { rule, at, message });
            }
            _ => {}
        }
    }
    violations
}

/// The connection id a gate message starts with: `[3, ...]`.
fn conn_of(args: &str) -> Option<i64> {
    let rest = args.strip_prefix('[')?;
    let end = rest.find([',', ']'])?;
    rest[..end].trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn issue(from: u64, to: u64, command: &str, args: &str) -> Record {
        let (from, to) = (address(from), address(to));
        let event =
            Happening::Issue { from, to: Dest::Address(to), session: 0, command: command.into(), args: args.into() };
        Record { time: Duration::ZERO, event }
    }

    /// A real address numbered `raw` (the runtime hands out no others).
    fn address(raw: u64) -> Address {
        let sim = crate::Sim::new(0);
        let rt = sim.runtime();
        rt.define(skygroup::ServiceKind::stateless("x")).unwrap();
        let spawned: Vec<Address> = (0..raw).map(|_| rt.spawn("x", ()).unwrap()).collect();
        spawned[spawned.len() - 1]
    }

    fn spawn_gate(raw: u64) -> Record {
        let event = Happening::Spawn { address: address(raw), kind: "gate".into(), parent: None, group: None };
        Record { time: Duration::ZERO, event }
    }

    // checks N2 N3 N4
    #[test]
    fn frames_after_close_second_closes_and_reused_ids_are_flagged() {
        let fine = [
            spawn_gate(3),
            issue(3, 4, "open", "[1, \"p\"]"),
            issue(3, 4, "data", "[1, b\"x\"]"),
            issue(3, 4, "close", "[1, \"bye\", 0]"),
        ];
        assert!(check(&fine).is_empty());
        let bad = [
            spawn_gate(3),
            issue(3, 4, "open", "[1, \"p\"]"),
            issue(3, 4, "close", "[1, \"bye\", 0]"),
            issue(3, 4, "data", "[1, b\"late\"]"),
            issue(3, 4, "close", "[1, \"again\", 0]"),
            issue(3, 4, "open", "[1, \"p\"]"),
        ];
        let rules: Vec<&str> = check(&bad).iter().map(|v| v.rule).collect();
        assert_eq!(rules, ["N2", "N3", "N4"]);
    }
}
