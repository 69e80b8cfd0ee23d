//! Runtime events, as the simulator records them in its trace (one line each).

use std::fmt;

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
    /// There was no such service when a monitor asked (Erlang's `noproc`).
    NoService,
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Stopped => f.write_str("stopped"),
            ExitReason::Killed => f.write_str("killed"),
            ExitReason::InitFailed(m) => write!(f, "init failed: {m}"),
            ExitReason::NoService => f.write_str("no such service"),
        }
    }
}

/// A message as it enters a mailbox or starts being handled.
#[derive(Debug, Clone, Copy)]
pub enum Message<'a> {
    /// A call (`session > 0`) or a send (`session == 0`).
    Request { from: Address, session: u64, command: &'a str, args: &'a Value },
    /// A reply to the receiver's call `session`.
    Response { session: u64, ok: bool },
    /// A task of the receiver was woken (timer, channel).
    Wake { task: usize },
    /// A new task of the receiver (`fork`).
    Fork,
    /// The receiver's init.
    Init,
}

/// One thing that happened in the runtime.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A service was created.
    Spawn { address: Address, kind: &'a str, parent: Option<Address> },
    /// A message entered `to`'s mailbox.
    Deliver { to: Address, message: Message<'a> },
    /// `at` started handling a message (a handler or task step begins).
    Handle { at: Address, message: Message<'a> },
    /// A service exited.
    Exit { address: Address, kind: &'a str, reason: &'a ExitReason },
    /// A message could not be delivered: its target is gone or its start failed (G7).
    DeadLetter { from: Address, to: Address, command: &'a str },
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Request { from, session: 0, command, args } => write!(f, "send {from} {command} {args}"),
            Message::Request { from, session, command, args } => {
                write!(f, "call {from}#{session} {command} {args}")
            }
            Message::Response { session, ok: true } => write!(f, "reply #{session} ok"),
            Message::Response { session, ok: false } => write!(f, "reply #{session} err"),
            Message::Wake { task } => write!(f, "wake task{task}"),
            Message::Fork => f.write_str("fork"),
            Message::Init => f.write_str("init"),
        }
    }
}

/// Compact, column-friendly: `deliver :00000002 <- call :00000001#1 echo "hi"`.
impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Spawn { address, kind, parent: Some(p) } => write!(f, "spawn   {address} {kind} by {p}"),
            Event::Spawn { address, kind, parent: None } => write!(f, "spawn   {address} {kind}"),
            Event::Deliver { to, message } => write!(f, "deliver {to} <- {message}"),
            Event::Handle { at, message } => write!(f, "handle  {at} {message}"),
            Event::Exit { address, kind, reason } => write!(f, "exit    {address} {kind} ({reason})"),
            Event::DeadLetter { from, to, command } => write!(f, "dead    {to} <- {from} {command}"),
        }
    }
}
