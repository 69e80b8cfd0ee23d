//! Runtime events, as the simulator records them: a text line each for people, and the same
//! events as data for the trace checker (the oracle).

use std::fmt;

use super::Shortcut;
use crate::core::{Address, Value};

/// Why a service exited.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitReason {
    /// The service called `exit`.
    Stopped,
    /// Someone stopped it: a group shutdown, a manager, the runtime shutting down.
    Killed,
    /// Its init returned an error or panicked; the message says which.
    InitFailed(String),
    /// The simulator injected a crash after one of its steps.
    Crashed,
    /// There was no such service when a monitor asked (Erlang's `noproc`).
    NoService,
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Stopped => f.write_str("stopped"),
            ExitReason::Killed => f.write_str("killed"),
            ExitReason::InitFailed(m) => write!(f, "init failed: {m}"),
            ExitReason::Crashed => f.write_str("crashed (injected)"),
            ExitReason::NoService => f.write_str("no such service"),
        }
    }
}

/// A message as it enters a mailbox or starts being handled.
#[derive(Debug, Clone, Copy)]
pub enum Message<'a> {
    /// A call (`session > 0`) or a send (`session == 0`); `via` is the name it was sent by.
    Request {
        /// The sender.
        from: Address,
        /// The caller's session, or 0 for a send.
        session: u64,
        /// The command.
        command: &'a str,
        /// Its arguments.
        args: &'a Value,
        /// The name it was sent by, if any.
        via: Option<&'a str>,
    },
    /// A reply to the receiver's call `session`.
    Response {
        /// The session it answers.
        session: u64,
        /// Whether the answer is a value (not an error).
        ok: bool,
    },
    /// A task of the receiver was woken (timer, channel).
    Wake {
        /// The task's number within its service.
        task: usize,
    },
    /// A new task of the receiver (`fork`).
    Fork,
    /// The receiver's init.
    Init,
}

/// Whom a message was addressed to when it was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To<'a> {
    /// By address.
    Address(Address),
    /// By a name in the sender's group.
    Name(&'a str),
}

/// One thing that happened in the runtime.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A service was created, in group `group` (by id) if any.
    Spawn {
        /// The new service.
        address: Address,
        /// Its kind.
        kind: &'a str,
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
        to: To<'a>,
        /// The call's session, or 0 for a send.
        session: u64,
        /// The command.
        command: &'a str,
        /// Its arguments.
        args: &'a Value,
    },
    /// A message entered `to`'s mailbox.
    Deliver {
        /// The receiver.
        to: Address,
        /// The message.
        message: Message<'a>,
    },
    /// `at` started handling a message (a handler or task step begins).
    Handle {
        /// The service handling it.
        at: Address,
        /// The message.
        message: Message<'a>,
    },
    /// A service's init ended: it returned its state (`ok`), or an error, or panicked. Traced
    /// in the step that ran its end, before the starter is told (G5: requests are handled only
    /// after this). A service that exits during its init has no such event.
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
        kind: &'a str,
        /// Why it exited.
        reason: &'a ExitReason,
    },
    /// A message could not be delivered: its target is gone or its start failed (G7).
    DeadLetter {
        /// The sender.
        from: Address,
        /// Where it went (0 when its name never resolved).
        to: Address,
        /// The command it carried.
        command: &'a str,
    },
    /// A shortcut ran (see [`Shortcut`]); `service` is the one handled at once (for an answer
    /// completed in place, the caller). Its messages are traced as if they had taken the
    /// ordinary path.
    Shortcut {
        /// Which shortcut.
        shortcut: Shortcut,
        /// The service it ran.
        service: Address,
    },
    /// The nested run a `Shortcut` event began is over: the interrupted turn goes on (not
    /// traced for `AnswerInPlace` and `InlinePoll`, which nest no other service).
    ShortcutEnd {
        /// Which shortcut.
        shortcut: Shortcut,
        /// The service it ran.
        service: Address,
    },
    /// A registry decision about a name of group `group`.
    Registry {
        /// The group's id.
        group: u64,
        /// The name decided about.
        name: &'a str,
        /// The decision.
        what: Registry,
    },
}

/// What a group registry decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    /// A lazy start of the name began; `instance` is the new service.
    StartBegin {
        /// The service started.
        instance: Address,
    },
    /// That start ended; on success the name is now bound to `instance`.
    StartEnd {
        /// The service started.
        instance: Address,
        /// Whether its init succeeded.
        ok: bool,
    },
    /// The name now resolves to `address` (a lazy start or a `newservice`, G4).
    Bind {
        /// The service now bound.
        address: Address,
    },
    /// The binding to `address` was dropped (its service exited, or the group shut down).
    Unbind {
        /// The service no longer bound.
        address: Address,
    },
    /// A query for the name was answered with `address` (or an error if `None`).
    Answer {
        /// The member that asked.
        asker: Address,
        /// The answer, or `None` for an error.
        address: Option<Address>,
    },
    /// A query closed a ring of starts waiting on each other; it was refused (G13).
    Cycle {
        /// The member whose query was refused.
        asker: Address,
    },
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let via = |via: &Option<&str>| via.map(|n| format!(" via {n}")).unwrap_or_default();
        match self {
            Message::Request { from, session: 0, command, args, via: v } => {
                write!(f, "send {from} {command} {args}{}", via(v))
            }
            Message::Request { from, session, command, args, via: v } => {
                write!(f, "call {from}#{session} {command} {args}{}", via(v))
            }
            Message::Response { session, ok: true } => write!(f, "reply #{session} ok"),
            Message::Response { session, ok: false } => write!(f, "reply #{session} err"),
            Message::Wake { task } => write!(f, "wake task{task}"),
            Message::Fork => f.write_str("fork"),
            Message::Init => f.write_str("init"),
        }
    }
}

impl fmt::Display for To<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            To::Address(a) => write!(f, "{a}"),
            To::Name(n) => write!(f, "{n}"),
        }
    }
}

/// Compact, column-friendly: `deliver :00000002 <- call :00000001#1 echo "hi"`.
impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Spawn { address, kind, parent, group } => {
                write!(f, "spawn   {address} {kind}")?;
                if let Some(p) = parent {
                    write!(f, " by {p}")?;
                }
                if let Some(g) = group {
                    write!(f, " in group#{g}")?;
                }
                Ok(())
            }
            Event::Issue { from, to, session: 0, command, args } => {
                write!(f, "issue   {from} send {to} {command} {args}")
            }
            Event::Issue { from, to, session, command, args } => {
                write!(f, "issue   {from}#{session} call {to} {command} {args}")
            }
            Event::Deliver { to, message } => write!(f, "deliver {to} <- {message}"),
            Event::Handle { at, message } => write!(f, "handle  {at} {message}"),
            Event::InitEnd { address, ok: true } => write!(f, "init    {address} returned"),
            Event::InitEnd { address, ok: false } => write!(f, "init    {address} failed"),
            Event::Exit { address, kind, reason } => write!(f, "exit    {address} {kind} ({reason})"),
            Event::DeadLetter { from, to, command } => write!(f, "dead    {to} <- {from} {command}"),
            Event::Registry { group, name, what } => write!(f, "group#{group} {name}: {what}"),
            Event::Shortcut { shortcut, service } => write!(f, "shortcut {} {service}", shortcut.name()),
            Event::ShortcutEnd { shortcut, service } => write!(f, "resume  after {} {service}", shortcut.name()),
        }
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Registry::StartBegin { instance } => write!(f, "start {instance}"),
            Registry::StartEnd { instance, ok: true } => write!(f, "started {instance}"),
            Registry::StartEnd { instance, ok: false } => write!(f, "start of {instance} failed"),
            Registry::Bind { address } => write!(f, "bind {address}"),
            Registry::Unbind { address } => write!(f, "unbind {address}"),
            Registry::Answer { asker, address: Some(a) } => write!(f, "answer {asker} -> {a}"),
            Registry::Answer { asker, address: None } => write!(f, "answer {asker} -> error"),
            Registry::Cycle { asker } => write!(f, "cycle refused for {asker}"),
        }
    }
}
