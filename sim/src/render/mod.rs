//! Pictures of one run: a sequence diagram a person can read, from the run's records.
//!
//! [`Diagram::from_records`] turns records into lifelines (one per service, in spawn order)
//! and items in delivery order: an arrow when a message enters a mailbox (so the picture shows
//! the order services actually received things in), a note for registry decisions, exits and
//! faults. [`text`] prints the trace itself, [`mermaid`] a `sequenceDiagram` for Markdown, and
//! [`svg`] a standalone picture for a browser.

pub mod mermaid;
pub mod svg;
pub mod text;

use std::collections::BTreeMap;

use skygroup::Address;

use crate::record::{Happening, Msg, Record};

/// An output format of `trace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain text, one event per line.
    Text,
    /// A Mermaid sequence diagram.
    Mermaid,
    /// An SVG sequence diagram.
    Svg,
}

/// What an arrow stands for (it sets the arrow's style).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrow {
    /// A call.
    Call,
    /// A send.
    Send,
    /// A reply with a value.
    Reply,
    /// A reply with an error.
    ErrorReply,
    /// A message that reached no one.
    DeadLetter,
}

/// One row of the diagram.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// An arrow between two lifelines.
    Message {
        /// The sender's lifeline.
        from: usize,
        /// The receiver's lifeline.
        to: usize,
        /// What it stands for.
        arrow: Arrow,
        /// Its text.
        label: String,
    },
    /// A note over one lifeline.
    Note {
        /// The lifeline.
        at: usize,
        /// Its text.
        text: String,
    },
}

/// Lifelines and rows.
#[derive(Debug, Clone, Default)]
pub struct Diagram {
    /// One label per lifeline, e.g. `login :06`.
    pub participants: Vec<String>,
    /// The rows, top to bottom.
    pub items: Vec<Item>,
}

/// Renders `records` (or `trace` lines for text) in `format`; `title` heads the picture.
pub fn render(format: Format, title: &str, records: &[Record], trace: &[String]) -> String {
    match format {
        Format::Text => text::render(title, trace),
        Format::Mermaid => mermaid::render(title, &Diagram::from_records(records)),
        Format::Svg => svg::render(title, &Diagram::from_records(records)),
    }
}

impl Diagram {
    /// The diagram of a run.
    pub fn from_records(records: &[Record]) -> Diagram {
        let mut builder = Builder::default();
        for record in records {
            builder.add(&record.event);
        }
        builder.diagram
    }
}

#[derive(Default)]
struct Builder {
    diagram: Diagram,
    lifelines: BTreeMap<Address, usize>,
    /// (caller, session) -> callee, to draw replies back.
    calls: BTreeMap<(Address, u64), Address>,
    /// group id -> its registry's lifeline.
    registries: BTreeMap<u64, usize>,
}

impl Builder {
    fn add(&mut self, event: &Happening) {
        match event {
            Happening::Spawn { address, kind, group, .. } => self.spawn(*address, kind, *group),
            Happening::Deliver { to, message, .. } => self.deliver(*to, message),
            Happening::Exit { address, reason, .. } => self.note(*address, format!("exit ({reason})")),
            Happening::DeadLetter { from, to, command } => self.arrow(*from, *to, Arrow::DeadLetter, command.clone()),
            Happening::Registry { group, name, what } => {
                if let Some(&at) = self.registries.get(group) {
                    self.diagram.items.push(Item::Note { at, text: format!("{name}: {what}") });
                }
            }
            Happening::Fault { site } => {
                let at = self.diagram.participants.len().saturating_sub(1);
                self.diagram.items.push(Item::Note { at, text: format!("fault: {site}") });
            }
            Happening::Net { conn, what } => {
                let at = self.diagram.participants.len().saturating_sub(1);
                self.diagram.items.push(Item::Note { at, text: format!("net conn#{conn} {what}") });
            }
            _ => {}
        }
    }

    fn spawn(&mut self, address: Address, kind: &str, group: Option<u64>) {
        let lifeline = self.diagram.participants.len();
        self.diagram.participants.push(format!("{kind} :{:02x}", address.raw()));
        self.lifelines.insert(address, lifeline);
        if kind == "_registry" {
            let next_group = self.registries.len() as u64 + 1;
            self.registries.insert(group.unwrap_or(next_group), lifeline);
        }
    }

    fn deliver(&mut self, to: Address, message: &Msg) {
        match message {
            Msg::Request { from, session, command, args, via } => {
                let via = via.as_ref().map(|n| format!(" (via {n})")).unwrap_or_default();
                let (arrow, label) = match session {
                    0 => (Arrow::Send, format!("{command} {args}{via}")),
                    s => (Arrow::Call, format!("{command} {args} #{s}{via}")),
                };
                if *session != 0 {
                    self.calls.insert((*from, *session), to);
                }
                self.arrow(*from, to, arrow, label);
            }
            Msg::Response { session, ok } => {
                let label = format!("reply #{session} {}", if *ok { "ok" } else { "err" });
                let arrow = if *ok { Arrow::Reply } else { Arrow::ErrorReply };
                match self.calls.remove(&(to, *session)) {
                    Some(from) => self.arrow(from, to, arrow, label),
                    // The answer to a start or a monitor: no request arrow to draw it back along.
                    None => self.note(to, format!("got {label} (start or monitor)")),
                }
            }
            _ => {}
        }
    }

    fn arrow(&mut self, from: Address, to: Address, arrow: Arrow, label: String) {
        let (Some(&from), Some(&to)) = (self.lifelines.get(&from), self.lifelines.get(&to)) else { return };
        self.diagram.items.push(Item::Message { from, to, arrow, label });
    }

    fn note(&mut self, at: Address, text: String) {
        if let Some(&at) = self.lifelines.get(&at) {
            self.diagram.items.push(Item::Note { at, text });
        }
    }
}
