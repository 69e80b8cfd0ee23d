//! The run's events as data: what the oracle checks and the renderers draw. The text trace is
//! the same events, one line each.

use std::fmt;
use std::time::Duration;

use skygroup::Address;
use skygroup::executor::{Event, Message, Registry, Shortcut, To};

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
    Address(Address),
    Name(String),
}

/// A message, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// A call (`session > 0`) or send; `args` as displayed; `via` the name it was sent by.
    Request {
        from: Address,
        session: u64,
        command: String,
        args: String,
        via: Option<String>,
    },
    Response {
        session: u64,
        ok: bool,
    },
    Wake {
        task: usize,
    },
    Fork,
    Init,
}

/// What happened (an owned copy of [`Event`], plus what only the simulator sees).
#[derive(Debug, Clone, PartialEq)]
pub enum Happening {
    Spawn {
        address: Address,
        kind: String,
        parent: Option<Address>,
        group: Option<u64>,
    },
    Issue {
        from: Address,
        to: Dest,
        session: u64,
        command: String,
        args: String,
    },
    Deliver {
        to: Address,
        message: Msg,
        /// Made while a service's step ran (after a shortcut released the step's held
        /// deliveries), not after the step's runs: it does not end the step.
        mid_step: bool,
    },
    Handle {
        at: Address,
        message: Msg,
    },
    Exit {
        address: Address,
        kind: String,
        reason: String,
    },
    DeadLetter {
        from: Address,
        to: Address,
        command: String,
    },
    Registry {
        group: u64,
        name: String,
        what: Registry,
    },
    /// The services the simulator ran "at once" in one step (more than one).
    Round {
        services: Vec<Address>,
    },
    /// Timers fired: after virtual time jumped, or timers already due fired while services
    /// were runnable.
    Timers {
        fired: usize,
    },
    /// A shortcut ran (`end: false`), or the nested run it began ended and the interrupted
    /// turn goes on (`end: true`; only for shortcuts that run another service).
    Shortcut {
        shortcut: Shortcut,
        service: Address,
        end: bool,
    },
    /// A fault the simulator injected.
    Fault {
        site: String,
    },
    /// Something happened on the virtual network (`crate::net`): on connection `conn`, or on a
    /// listener if `conn` is 0.
    Net {
        conn: u64,
        what: String,
    },
}

impl Msg {
    fn from_message(m: &Message<'_>) -> Msg {
        match *m {
            Message::Request { from, session, command, args, via } => Msg::Request {
                from,
                session,
                command: command.to_owned(),
                args: args.to_string(),
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
                Happening::Issue { from, to, session, command: command.to_owned(), args: args.to_string() }
            }
            Event::Deliver { to, ref message } => {
                Happening::Deliver { to, message: Msg::from_message(message), mid_step: false }
            }
            Event::Handle { at, ref message } => Happening::Handle { at, message: Msg::from_message(message) },
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
