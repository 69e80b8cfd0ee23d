//! The Mermaid form: a `sequenceDiagram` that GitHub and most Markdown viewers draw.

use std::fmt::Write;

use super::{Arrow, Diagram, Item};

/// The diagram as Mermaid source.
pub fn render(title: &str, diagram: &Diagram) -> String {
    let mut out = format!("sequenceDiagram\n    title {}\n", clean(title));
    for (i, label) in diagram.participants.iter().enumerate() {
        let _ = writeln!(out, "    participant s{i} as {}", clean(label));
    }
    for item in &diagram.items {
        let _ = match item {
            Item::Message { from, to, arrow, label } => {
                writeln!(out, "    s{from}{}s{to}: {}", arrow_of(*arrow), clean(label))
            }
            Item::Note { at, text } => writeln!(out, "    Note over s{at}: {}", clean(text)),
        };
    }
    out
}

fn arrow_of(arrow: Arrow) -> &'static str {
    match arrow {
        Arrow::Call => "->>",
        Arrow::Send => "-)",
        Arrow::Reply => "-->>",
        Arrow::ErrorReply | Arrow::DeadLetter => "--x",
    }
}

/// Mermaid reads `;` and `#` specially and breaks on newlines: write them as entity codes.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '#' => "#35;".to_owned(),
            ';' => "#59;".to_owned(),
            '\n' => " ".to_owned(),
            c => c.to_string(),
        })
        .collect()
}
