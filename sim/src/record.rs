//! The run's events as data: what the oracle checks and the renderers draw. The text trace is
//! the same events, one line each.

use std::cmp::Ordering;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use skygroup::executor::{Event, Message, Registry, Shortcut, To};
use skygroup::{Address, Value};

/// One event of a run, at a virtual time.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Virtual time of the event.
    pub time: Duration,
    /// What happened.
    pub event: Happening,
}

/// Whom a message was addressed to when issued.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dest {
    /// By address.
    Address(Address),
    /// By a name in the sender's group.
    Name(String),
}

/// A message, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// A call (`session > 0`) or send; `args` as displayed; `via` the name it was sent by.
    Request {
        /// The sender.
        from: Address,
        /// The caller's session, or 0 for a send.
        session: u64,
        /// The command.
        command: String,
        /// Its arguments, as displayed.
        args: Args,
        /// The name it was sent by, if any.
        via: Option<String>,
    },
    /// A reply to the receiver's call.
    Response {
        /// The session it answers.
        session: u64,
        /// Whether it is a value (not an error).
        ok: bool,
    },
    /// A task of the receiver was woken.
    Wake {
        /// The task's number within its service.
        task: usize,
    },
    /// A new task of the receiver (`fork`).
    Fork,
    /// The receiver's init.
    Init,
}

/// What happened (an owned copy of [`Event`], plus what only the simulator sees).
#[derive(Debug, Clone, PartialEq)]
pub enum Happening {
    /// A service was created.
    Spawn {
        /// The new service.
        address: Address,
        /// Its kind.
        kind: String,
        /// The service that started it, if any.
        parent: Option<Address>,
        /// The id of the group it joined, if any.
        group: Option<u64>,
    },
    /// A service issued a call or send (before any queueing by name).
    Issue {
        /// The issuer.
        from: Address,
        /// Whom it was addressed to.
        to: Dest,
        /// The call's session, or 0 for a send.
        session: u64,
        /// The command.
        command: String,
        /// Its arguments, as displayed.
        args: Args,
    },
    /// A message entered `to`'s mailbox.
    Deliver {
        /// The receiver.
        to: Address,
        /// The message.
        message: Msg,
        /// Made while a service's step ran (after a shortcut released the step's held
        /// deliveries), not after the step's runs: it does not end the step.
        mid_step: bool,
    },
    /// `at` started handling a message.
    Handle {
        /// The service handling it.
        at: Address,
        /// The message.
        message: Msg,
    },
    /// A service's init ended (returned its state if `ok`; see [`Event::InitEnd`]).
    InitEnd {
        /// The service.
        address: Address,
        /// Whether its init returned its state.
        ok: bool,
    },
    /// A service exited.
    Exit {
        /// The service.
        address: Address,
        /// Its kind.
        kind: String,
        /// Why it exited, as displayed.
        reason: String,
    },
    /// A send reached no one (G7).
    DeadLetter {
        /// The sender.
        from: Address,
        /// Where it went (0 when its name never resolved).
        to: Address,
        /// The command it carried.
        command: String,
    },
    /// A registry decision about a name.
    Registry {
        /// The group's id.
        group: u64,
        /// The name decided about.
        name: String,
        /// The decision.
        what: Registry,
    },
    /// The services the simulator ran "at once" in one step (more than one).
    Round {
        /// The services run together.
        services: Vec<Address>,
    },
    /// Timers fired: after virtual time jumped, or timers already due fired while services
    /// were runnable.
    Timers {
        /// How many fired.
        fired: usize,
    },
    /// A shortcut ran (`end: false`), or the nested run it began ended and the interrupted
    /// turn goes on (`end: true`; only for shortcuts that run another service).
    Shortcut {
        /// Which shortcut.
        shortcut: Shortcut,
        /// The service it ran (for an answer completed in place, the caller).
        service: Address,
        /// Whether this is the end of the nested run.
        end: bool,
    },
    /// A fault the simulator injected.
    Fault {
        /// Where it was injected, as displayed.
        site: String,
    },
    /// Something happened on the virtual network (`crate::net`): on connection `conn`, or on a
    /// listener if `conn` is 0.
    Net {
        /// The connection's id, 0 for a listener.
        conn: u64,
        /// What happened, as the trace line says it.
        what: String,
    },
    /// The simulated cluster lost a frame from node `from` to node `to` on the way (a
    /// partition, a crash, a disconnect): whatever messages it carried never arrive. The
    /// oracle excuses sends across that pair (G7 holds per node; K4 counts the loss).
    FrameLost {
        /// The sender's node number.
        from: u16,
        /// The receiver's node number.
        to: u16,
        /// Why, as the trace line says it.
        why: String,
    },
    /// A write reached the simulated cluster's store and took effect (a failed one is a
    /// `Cluster` line only): what the cross-node checks replay (`oracle/cluster.rs`).
    StoreWrite {
        /// The node that issued it (0 for an expiry, or a node not attached yet).
        node: u16,
        /// The bucket.
        bucket: skygroup::cluster::Bucket,
        /// The key.
        key: String,
        /// The value written; `None` for a delete or an expiry.
        value: Option<bytes::Bytes>,
        /// How many records the trace had when the node issued the write (it took effect
        /// later, after the store's delay): what happened before index `issued` happened before
        /// the node asked.
        issued: usize,
    },
    /// Something happened in the simulated cluster (`crate::cluster`): a frame, a store
    /// operation, a fault, about node `node` (0: the hub itself).
    Cluster {
        /// The node's number (`NodeId`), 0 for the hub.
        node: u16,
        /// What happened, as the trace line says it.
        what: String,
    },
}

/// A message's arguments as the trace shows them (`Value`'s `Display`). Formatted the first time
/// someone reads them (the oracle reads few, exploration shows none), so keeping records does
/// not format every message's arguments. Prints as that text; compares (and orders, for the
/// oracle's matching of sends) by value when both sides hold one (floats bitwise, as `Value`'s
/// equality), else by text.
#[derive(Clone)]
pub struct Args {
    /// The value, when made from one; `None` when made from text.
    value: Option<Value>,
    shown: OnceLock<String>,
}

impl Args {
    /// The arguments of a runtime event: a clone of the value, unformatted, if it is plain data;
    /// else (bytes or an opaque value anywhere in it) its text at once, so a record never keeps
    /// a user's payload alive (its drop, which may run user code, stays where the runtime puts
    /// it).
    pub fn of(value: &Value) -> Args {
        if plain(value) {
            Args { value: Some(value.clone()), shown: OnceLock::new() }
        } else {
            Args::from(value.to_string())
        }
    }

    /// The text, formatted on first use.
    pub fn as_str(&self) -> &str {
        self.shown.get_or_init(|| self.value.as_ref().map(Value::to_string).unwrap_or_default())
    }
}

impl From<String> for Args {
    fn from(shown: String) -> Args {
        Args { value: None, shown: OnceLock::from(shown) }
    }
}

impl From<&str> for Args {
    fn from(shown: &str) -> Args {
        Args::from(shown.to_owned())
    }
}

impl std::ops::Deref for Args {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Args {
    fn eq(&self, other: &Args) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Args {}

impl PartialOrd for Args {
    fn partial_cmp(&self, other: &Args) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Args {
    /// Values first (by value), then texts (by text). A plain value's text never equals the
    /// text of one with bytes or an opaque value in it (those show as `b"..."` and `<opaque ..>`
    /// outside any string's quotes), so this agrees with comparing texts for equality.
    fn cmp(&self, other: &Args) -> Ordering {
        match (&self.value, &other.value) {
            (Some(a), Some(b)) => order(a, b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => self.as_str().cmp(other.as_str()),
        }
    }
}

/// Whether `value` holds only data the simulator may keep (no bytes, no opaque value).
fn plain(value: &Value) -> bool {
    match value {
        Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_) | Value::Address(_) => true,
        Value::List(items) => items.iter().all(plain),
        Value::Map(map) => map.values().all(plain),
        _ => false,
    }
}

/// A total order on values without formatting them: by variant, then by content (floats by
/// their bits, so it agrees with `Value`'s equality). Only plain values reach it (`plain`).
fn order(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Nil => 0,
            Value::Bool(_) => 1,
            Value::Int(_) => 2,
            Value::Float(_) => 3,
            Value::Str(_) => 4,
            Value::Bytes(_) => 5,
            Value::List(_) => 6,
            Value::Map(_) => 7,
            _ => 8,
        }
    }
    fn all(mut pairs: impl Iterator<Item = Ordering>, lens: (usize, usize)) -> Ordering {
        pairs.find(|o| o.is_ne()).unwrap_or(lens.0.cmp(&lens.1))
    }
    match (a, b) {
        (Value::Nil, Value::Nil) => Ordering::Equal,
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.to_bits().cmp(&y.to_bits()),
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        (Value::Bytes(x), Value::Bytes(y)) => x[..].cmp(&y[..]),
        (Value::List(x), Value::List(y)) => all(x.iter().zip(y).map(|(p, q)| order(p, q)), (x.len(), y.len())),
        (Value::Map(x), Value::Map(y)) => {
            let pairs = x.iter().zip(y).map(|((k, v), (l, w))| k.cmp(l).then_with(|| order(v, w)));
            all(pairs, (x.len(), y.len()))
        }
        (Value::Address(x), Value::Address(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

impl PartialEq<str> for Args {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Args {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Msg {
    fn from_message(m: &Message<'_>) -> Msg {
        match *m {
            Message::Request { from, session, command, args, via } => Msg::Request {
                from,
                session,
                command: command.to_owned(),
                args: Args::of(args),
                via: via.map(str::to_owned),
            },
            Message::Response { session, ok } => Msg::Response { session, ok },
            Message::Wake { task } => Msg::Wake { task },
            Message::Fork => Msg::Fork,
            Message::Init => Msg::Init,
        }
    }
}

impl Happening {
    /// An owned copy of a runtime event.
    pub fn from_event(event: &Event<'_>) -> Happening {
        match *event {
            Event::Spawn { address, kind, parent, group } => {
                Happening::Spawn { address, kind: kind.to_owned(), parent, group }
            }
            Event::Issue { from, to, session, command, args } => {
                let to = match to {
                    To::Address(a) => Dest::Address(a),
                    To::Name(n) => Dest::Name(n.to_owned()),
                };
                Happening::Issue { from, to, session, command: command.to_owned(), args: Args::of(args) }
            }
            Event::Deliver { to, ref message } => {
                Happening::Deliver { to, message: Msg::from_message(message), mid_step: false }
            }
            Event::Handle { at, ref message } => Happening::Handle { at, message: Msg::from_message(message) },
            Event::InitEnd { address, ok } => Happening::InitEnd { address, ok },
            Event::Exit { address, kind, reason } => {
                Happening::Exit { address, kind: kind.to_owned(), reason: reason.to_string() }
            }
            Event::DeadLetter { from, to, command } => Happening::DeadLetter { from, to, command: command.to_owned() },
            Event::Registry { group, name, what } => Happening::Registry { group, name: name.to_owned(), what },
            Event::Shortcut { shortcut, service } => Happening::Shortcut { shortcut, service, end: false },
            Event::ShortcutEnd { shortcut, service } => Happening::Shortcut { shortcut, service, end: true },
            _ => Happening::Fault { site: format!("unknown event {event}") },
        }
    }
}

/// Whether a shortcut runs another service nested in the turn that took it (and so is traced
/// with an end, `Happening::Shortcut { end: true, .. }`).
pub fn nests(shortcut: Shortcut) -> bool {
    !matches!(shortcut, Shortcut::AnswerInPlace | Shortcut::InlinePoll)
}

impl fmt::Display for Dest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dest::Address(a) => write!(f, "{a}"),
            Dest::Name(n) => f.write_str(n),
        }
    }
}

/// Virtual time as `seconds.micros s`, right-aligned for columns.
pub fn stamp(t: Duration) -> String {
    let micros = t.as_micros();
    format!("{:>6}.{:06}s", micros / 1_000_000, micros % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    // checks G6 (the oracle matches a handled send to its issue by its arguments): arguments
    // kept as values compare equal exactly when their text does, without being formatted.
    #[test]
    fn args_compare_by_value_as_their_text_does() {
        let values = [
            Value::Nil,
            Value::from(1),
            Value::from(2),
            Value::from("1"),
            Value::from(1.5),
            Value::from(vec![Value::from(1), Value::from("a")]),
            Value::from(vec![Value::from(1)]),
            Value::opaque(7u8),
            Value::opaque(8u8),
            Value::from(vec![Value::opaque(7u8)]),
            Value::from(&b"x"[..]),
            Value::from("b\"x\""),
        ];
        for a in &values {
            for b in &values {
                let (x, y) = (Args::of(a), Args::of(b));
                let by_text = a.to_string() == b.to_string();
                assert_eq!(x == y, by_text, "{a} vs {b}");
                assert_eq!(x.cmp(&y) == Ordering::Equal, by_text, "{a} vs {b}");
            }
        }
        assert_eq!(Args::of(&Value::from(5)), "5");
        assert!(Args::of(&Value::from(5)) < Args::of(&Value::opaque(1u8)), "values order before texts");
        assert_eq!(format!("{:?}", Args::from("[1]")), "\"[1]\"");
    }

    // checks G9, G14 on the simulator (tests/robust.rs,
    // task_payload_drop_panic_keeps_workers::sim failed while records kept opaque payloads): a
    // record never keeps a user's payload alive past the runtime's own drop of it.
    #[test]
    fn args_do_not_keep_an_opaque_payload_alive() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
        struct Dropped(Arc<AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, AtomicOrdering::SeqCst);
            }
        }
        let flag = Arc::new(AtomicBool::new(false));
        let value = Value::from(vec![Value::opaque(Dropped(flag.clone()))]);
        let args = Args::of(&value);
        drop(value);
        assert!(flag.load(AtomicOrdering::SeqCst), "the payload outlived its value");
        assert!(args.starts_with("[<opaque"), "{args}");
    }
}
