//! The SVG form: a standalone sequence diagram for a browser. Lifelines are columns, rows go
//! down in delivery order; calls are solid blue arrows, sends solid green, replies dashed grey
//! (red when the reply is an error, or for a dead letter), notes yellow boxes on a lifeline.

use std::fmt::Write;

use super::{Arrow, Diagram, Item};

const COLUMN: usize = 150;
const ROW: usize = 24;
const TOP: usize = 70;
const MARGIN: usize = 20;
/// Characters of a label kept before it is cut with `…`.
const LABEL_MAX: usize = 34;

/// The diagram as an SVG document.
pub fn render(title: &str, diagram: &Diagram) -> String {
    let columns = diagram.participants.len().max(1);
    let width = MARGIN * 2 + COLUMN * columns;
    let height = TOP + ROW * (diagram.items.len() + 1) + MARGIN;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">"##
    );
    out.push_str(DEFS);
    let _ = writeln!(out, r##"<rect width="100%" height="100%" fill="white"/>"##);
    let _ = writeln!(out, r##"<text x="{MARGIN}" y="20" font-size="14" font-weight="bold">{}</text>"##, escape(title));
    for (i, label) in diagram.participants.iter().enumerate() {
        lifeline(&mut out, i, label, height);
    }
    for (row, item) in diagram.items.iter().enumerate() {
        let y = TOP + ROW * (row + 1);
        match item {
            Item::Message { from, to, arrow, label } => message(&mut out, (*from, *to), y, *arrow, label),
            Item::Note { at, text } => note(&mut out, *at, y, text),
        }
    }
    out.push_str("</svg>\n");
    out
}

const DEFS: &str = r##"<defs>
<marker id="head-call" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#1f5fbf"/></marker>
<marker id="head-send" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8" fill="none" stroke="#2e8b3e"/></marker>
<marker id="head-reply" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8" fill="none" stroke="#777"/></marker>
<marker id="head-error" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,8 M0,8 L8,0" stroke="#c0392b"/></marker>
</defs>
"##;

fn center(column: usize) -> usize {
    MARGIN + COLUMN * column + COLUMN / 2
}

fn lifeline(out: &mut String, column: usize, label: &str, height: usize) {
    let x = center(column);
    let left = x - COLUMN / 2 + 6;
    let _ = writeln!(
        out,
        r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#bbb" stroke-dasharray="4,3"/>"##,
        TOP - 12,
        height - MARGIN
    );
    let _ = writeln!(
        out,
        r##"<rect x="{left}" y="32" width="{}" height="26" rx="4" fill="#eef3fb" stroke="#1f5fbf"/>"##,
        COLUMN - 12
    );
    let _ = writeln!(out, r##"<text x="{x}" y="49" text-anchor="middle">{}</text>"##, escape(&cut(label, 20)));
}

fn message(out: &mut String, (from, to): (usize, usize), y: usize, arrow: Arrow, label: &str) {
    let (color, dash, head) = match arrow {
        Arrow::Call => ("#1f5fbf", "", "call"),
        Arrow::Send => ("#2e8b3e", "", "send"),
        Arrow::Reply => ("#777", r#" stroke-dasharray="5,3""#, "reply"),
        Arrow::ErrorReply | Arrow::DeadLetter => ("#c0392b", r#" stroke-dasharray="5,3""#, "error"),
    };
    let (x1, x2) = (center(from), center(to));
    let label = escape(&cut(label, LABEL_MAX));
    if from == to {
        let (right, bottom) = (x1 + 30, y + 8);
        let _ = writeln!(
            out,
            r##"<path d="M{x1},{} L{right},{} L{right},{bottom} L{x1},{bottom}" fill="none" stroke="{color}"{dash} marker-end="url(#head-{head})"/>"##,
            y - 6,
            y - 6
        );
        let _ = writeln!(out, r##"<text x="{}" y="{}" fill="{color}">{label}</text>"##, right + 4, y + 2);
        return;
    }
    let _ = writeln!(
        out,
        r##"<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{color}"{dash} marker-end="url(#head-{head})"/>"##
    );
    let _ = writeln!(
        out,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="{color}">{label}</text>"##,
        x1.min(x2) + x1.abs_diff(x2) / 2,
        y - 4
    );
}

fn note(out: &mut String, column: usize, y: usize, text: &str) {
    let x = center(column);
    let text = cut(text, LABEL_MAX + 10);
    let width = 7 * text.chars().count() + 10;
    let _ = writeln!(
        out,
        r##"<rect x="{}" y="{}" width="{width}" height="18" fill="#fff6c4" stroke="#c9b458"/>"##,
        x - 4,
        y - 13
    );
    let _ = writeln!(out, r##"<text x="{}" y="{}">{}</text>"##, x + 1, y, escape(&text));
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max - 1).collect();
    format!("{kept}…")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
