//! The text form: the trace itself, one line per event, under a title line.

/// `title`, then every trace line.
pub fn render(title: &str, trace: &[String]) -> String {
    let mut out = format!("# {title}\n");
    for line in trace {
        out.push_str(line);
        out.push('\n');
    }
    out
}
