//! Deadlock reports in the form people reason about: the cycle of waiting calls.
//!
//! The runtime's stall report (`Runtime::block_on`'s panic) lists one line per outstanding
//! call, `X :addr waits on Y :addr for `cmd``. Read as a graph of services, a deadlock is a
//! cycle in it (`login.call(db) -> db.call(login)`); when there is none, the chains from the
//! services nobody waits on end at a service that waits on nothing, which is where an answer
//! got lost (`_main.call(racer) -> racer.call(_registry) -> _registry (waits on nothing)`).

use std::collections::{BTreeMap, BTreeSet};

/// One waiting call from the stall report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Wait {
    /// The waiting service's kind.
    pub from: String,
    /// Its address, as printed.
    pub from_address: String,
    /// The kind it waits on.
    pub to: String,
    /// That service's address, as printed.
    pub to_address: String,
    /// The command it called.
    pub command: String,
}

/// The waiting calls listed in a stall report (other lines are ignored).
pub fn waits(report: &str) -> Vec<Wait> {
    report.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Wait> {
    let (left, right) = line.trim().split_once(" waits on ")?;
    let (from, from_address) = left.rsplit_once(' ')?;
    let (target, command) = right.split_once(" for `")?;
    let (to, to_address) = target.rsplit_once(' ')?;
    let command = command.strip_suffix('`')?;
    let wait = |s: &str| s.to_owned();
    Some(Wait {
        from: wait(from),
        from_address: wait(from_address),
        to: wait(to),
        to_address: wait(to_address),
        command: wait(command),
    })
}

/// The waits as cycles (`a.call(b) -> b.call(a)`), or, if there are none, as chains ending at a
/// service that waits on nothing. Empty if the report lists no waits.
pub fn describe(report: &str) -> Vec<String> {
    let waits = waits(report);
    let graph = Graph::new(&waits);
    let cycles = graph.cycles();
    if !cycles.is_empty() {
        return cycles.iter().map(|c| graph.render(c, true)).collect();
    }
    graph.roots().into_iter().map(|root| graph.render(&graph.chain(root), false)).collect()
}

/// Services (by address) and who waits on whom.
struct Graph {
    names: BTreeMap<String, String>,
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    fn new(waits: &[Wait]) -> Graph {
        let mut names = BTreeMap::new();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for w in waits {
            names.insert(w.from_address.clone(), w.from.clone());
            names.insert(w.to_address.clone(), w.to.clone());
            edges.entry(w.from_address.clone()).or_default().insert(w.to_address.clone());
        }
        Graph { names, edges }
    }

    fn next<'a>(&'a self, address: &str) -> impl Iterator<Item = &'a String> + use<'a> {
        self.edges.get(address).into_iter().flatten()
    }

    /// Every elementary cycle once, starting at its smallest address.
    fn cycles(&self) -> Vec<Vec<String>> {
        let mut found = Vec::new();
        for start in self.edges.keys() {
            let mut path = vec![start.clone()];
            self.extend_cycles(start, &mut path, &mut found);
        }
        found
    }

    fn extend_cycles(&self, start: &str, path: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
        let last = path.last().cloned().unwrap_or_default();
        for next in self.next(&last) {
            if next == start {
                found.push(path.clone());
            } else if next.as_str() > start && !path.contains(next) {
                path.push(next.clone());
                self.extend_cycles(start, path, found);
                path.pop();
            }
        }
    }

    /// Services that wait but that nobody waits on.
    fn roots(&self) -> Vec<&String> {
        let waited_on: BTreeSet<&String> = self.edges.values().flatten().collect();
        self.edges.keys().filter(|a| !waited_on.contains(a)).collect()
    }

    /// From `root`, the first waited-on service each time, until one waits on nothing.
    fn chain(&self, root: &str) -> Vec<String> {
        let mut chain = vec![root.to_owned()];
        while let Some(next) = self.next(chain.last().map_or("", String::as_str)).next().cloned() {
            if chain.contains(&next) {
                break;
            }
            chain.push(next);
        }
        chain
    }

    /// A service's kind name, with its address when two waiting services share the name.
    fn label(&self, address: &str) -> String {
        let name = self.names.get(address).map_or("?", String::as_str);
        let shared = self.names.values().filter(|n| *n == name).count() > 1;
        if shared { format!("{name}{address}") } else { name.to_owned() }
    }

    fn render(&self, path: &[String], cycle: bool) -> String {
        let mut parts: Vec<String> =
            path.windows(2).map(|w| format!("{}.call({})", self.label(&w[0]), self.label(&w[1]))).collect();
        match (cycle, path.first(), path.last()) {
            (true, Some(first), Some(last)) => parts.push(format!("{}.call({})", self.label(last), self.label(first))),
            (false, _, Some(last)) => {
                parts.push(format!("{} (waits on nothing: the answer never comes)", self.label(last)))
            }
            _ => {}
        }
        parts.join(" -> ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "deadlock: every service is blocked and no timer is pending
  _main :00000001 waits on login :00000004 for `login`
  login :00000004 waits on db :00000005 for `get`
  db :00000005 waits on login :00000004 for `auth`";

    #[test]
    fn a_two_service_cycle_reads_as_calls() {
        assert_eq!(describe(TWO), ["login.call(db) -> db.call(login)"]);
    }

    #[test]
    fn without_a_cycle_the_chain_ends_where_the_answer_got_lost() {
        let report = "deadlock: ...\n  _main :00000001 waits on racer :00000004 for `race`\n  racer :00000004 waits on _registry :00000002 for `_query`\n  racer :00000004 waits on _registry :00000002 for `_query`";
        assert_eq!(
            describe(report),
            ["_main.call(racer) -> racer.call(_registry) -> _registry (waits on nothing: the answer never comes)"]
        );
    }

    #[test]
    fn shared_names_get_addresses() {
        let report = "  db :00000005 waits on db :00000006 for `x`\n  db :00000006 waits on db :00000005 for `y`";
        assert_eq!(describe(report), ["db:00000005.call(db:00000006) -> db:00000006.call(db:00000005)"]);
    }

    #[test]
    fn lines_parse_into_waits() {
        let w = &waits(TWO)[1];
        assert_eq!((w.from.as_str(), w.to.as_str(), w.command.as_str()), ("login", "db", "get"));
        assert_eq!(w.to_address, ":00000005");
    }
}
