//! The printed report: figures, targets, and the markdown table.

use crate::measure::Rates;

/// What a workload is expected to reach.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// At least this many times the tokio baseline's rate.
    Ratio(f64),
    /// At least this many times the rate of the row's own baseline, named (not tokio).
    RatioTo(f64, &'static str),
    /// At least this many operations per second.
    Rate(f64),
    /// No target: reported for information.
    None,
}

impl Target {
    fn describe(self) -> String {
        match self {
            Target::Ratio(r) => format!(">= {r:.1}x tokio"),
            Target::RatioTo(r, baseline) => format!(">= {r:.2}x {baseline}"),
            Target::Rate(r) => format!(">= {}/s", si(r)),
            Target::None => "-".to_owned(),
        }
    }
}

/// One line of the table.
pub struct Row {
    pub label: String,
    pub ours: Rates,
    pub theirs: Option<Rates>,
    pub ratio: Option<f64>,
    pub target: Target,
}

impl Row {
    /// Whether the target is met; None when there is none.
    pub fn met(&self) -> Option<bool> {
        match self.target {
            Target::Ratio(min) | Target::RatioTo(min, _) => self.ratio.map(|r| r >= min),
            Target::Rate(min) => Some(self.ours.median() >= min),
            Target::None => None,
        }
    }

    /// The target with how it went, e.g. `>= 1.2x tokio: missed (0.61 of target)`.
    fn verdict(&self) -> String {
        let attained = match self.target {
            Target::Ratio(min) | Target::RatioTo(min, _) => self.ratio.map(|r| r / min),
            Target::Rate(min) => Some(self.ours.median() / min),
            Target::None => None,
        };
        match (self.met(), attained) {
            (Some(true), _) => format!("{}: met", self.target.describe()),
            (Some(false), Some(a)) => format!("{}: **missed** ({a:.2} of target)", self.target.describe()),
            _ => self.target.describe(),
        }
    }
}

/// `1234567.8` as `1,234,568`.
pub fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `5_000_000.0` as `5M`, `12_300.0` as `12.3k`.
fn si(x: f64) -> String {
    let (value, unit) = match x {
        x if x >= 1e6 => (x / 1e6, "M"),
        x if x >= 1e3 => (x / 1e3, "k"),
        x => (x, ""),
    };
    let text = format!("{value:.1}");
    format!("{}{unit}", text.trim_end_matches(".0"))
}

/// Each run's rate, for judging the spread.
pub fn runs_line(key: &str, side: &str, rates: &Rates) -> String {
    let all: Vec<String> = rates.0.iter().map(|r| thousands(*r)).collect();
    format!("{key:>9} {side:<8} median {:>12}  runs [{}]", thousands(rates.median()), all.join(", "))
}

/// The markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut out =
        String::from("| workload | skygroup ops/s | baseline (tokio, or as named) ops/s | ratio | target |\n");
    out.push_str("|---|---:|---:|---:|---|\n");
    for row in rows {
        let theirs = row.theirs.as_ref().map_or("-".to_owned(), |t| thousands(t.median()));
        let ratio = row.ratio.map_or("-".to_owned(), |r| format!("{r:.2}x"));
        let line =
            format!("| {} | {} | {theirs} | {ratio} | {} |\n", row.label, thousands(row.ours.median()), row.verdict());
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(si(5_000_000.0), "5M");
        assert_eq!(si(12_300.0), "12.3k");
    }

    #[test]
    fn verdicts() {
        let row =
            |ratio, target| Row { label: "x".into(), ours: Rates(vec![6e6]), theirs: None, ratio: Some(ratio), target };
        assert_eq!(row(1.3, Target::Ratio(1.2)).met(), Some(true));
        assert_eq!(row(0.6, Target::Ratio(1.2)).verdict(), ">= 1.2x tokio: **missed** (0.50 of target)");
        assert_eq!(row(0.0, Target::Rate(5e6)).verdict(), ">= 5M/s: met");
        assert_eq!(row(0.0, Target::None).met(), None);
    }
}
