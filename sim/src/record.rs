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
        args: String,
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
        args: String,
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
