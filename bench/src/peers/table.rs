//! The peers report: one row per measured figure and skygroup handler form, a column per
//! implementation (each peer's cell with that form's ratio to it), skynet's reference figure,
//! and the targets table.

use super::compare::{Peer, Side, Times, median};
use crate::report::thousands;

/// How a row's figures read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Operations per second: higher is better.
    Rate,
    /// Microseconds per run: lower is better.
    Micros,
}

pub struct Row {
    pub key: &'static str,
    pub label: String,
    pub unit: Unit,
    /// Per implementation (in `Peer::ALL` order), per round.
    pub values: [Option<Vec<f64>>; 6],
    /// skynet's figure on this machine (ops/s), for reference.
    pub skynet: Option<f64>,
    /// Ratios from the medians rather than round by round (for differences of two timings,
    /// which can be near zero in a single round).
    pub of_medians: bool,
}

impl Row {
    /// Metric `metric(peer)` of every side; `ops` operations per run (for a rate).
    pub fn metric(
        key: &'static str,
        label: String,
        unit: Unit,
        ops: u64,
        sides: &[Side],
        times: &Times,
        metric: impl Fn(Peer) -> usize,
    ) -> Row {
        let mut values: [Option<Vec<f64>>; 6] = Default::default();
        for (side, per_metric) in sides.iter().zip(&times.0) {
            let Some(runs) = per_metric.get(metric(side.peer)) else { continue };
            let figures = runs.iter().map(|d| match unit {
                Unit::Rate => ops as f64 / d.as_secs_f64().max(1e-9),
                Unit::Micros => d.as_secs_f64() * 1e6,
            });
            values[side.peer.index()] = Some(figures.collect());
        }
        Row { key, label, unit, values, skynet: None, of_medians: false }
    }

    /// A row of per-round differences `self - other` (times only).
    pub fn minus(&self, other: &Row, key: &'static str, label: String) -> Row {
        let mut values: [Option<Vec<f64>>; 6] = Default::default();
        for (i, slot) in values.iter_mut().enumerate() {
            if let (Some(a), Some(b)) = (&self.values[i], &other.values[i]) {
                *slot = Some(a.iter().zip(b).map(|(a, b)| a - b).collect());
            }
        }
        Row { key, label, unit: self.unit, values, skynet: None, of_medians: true }
    }

    pub fn median(&self, peer: Peer) -> Option<f64> {
        self.of(peer).map(|v| median(v))
    }

    /// The figures of `peer`; for `SkygroupAsync` in a row without a handler in the timed path
    /// (measured once), skygroup's only figures.
    fn of(&self, peer: Peer) -> Option<&Vec<f64>> {
        match (peer, &self.values[peer.index()]) {
            (Peer::SkygroupAsync, None) => self.values[Peer::Skygroup.index()].as_ref(),
            (_, values) => values.as_ref(),
        }
    }

    /// Whether skygroup ran this row with both handler forms.
    pub fn has_forms(&self) -> bool {
        self.values[Peer::SkygroupAsync.index()].is_some()
    }

    /// How many times faster skygroup in handler form `form` (`Skygroup` or `SkygroupAsync`)
    /// is than `peer` (median over the rounds of the ratio in each round): ops/s over ops/s,
    /// or the peer's time over skygroup's.
    pub fn ratio_in(&self, form: Peer, peer: Peer) -> Option<f64> {
        let ours = self.of(form)?;
        let theirs = self.of(peer)?;
        Some(self.per_round(ours, theirs)).filter(|r| r.is_finite() && *r > 0.0)
    }

    /// skygroup's figure (form `form`) in this row against the same form's in `other`.
    pub fn ratio_to_row(&self, form: Peer, other: &Row) -> Option<f64> {
        let ours = self.of(form)?;
        let theirs = other.of(form)?;
        Some(self.per_round(ours, theirs))
    }

    fn per_round(&self, ours: &[f64], theirs: &[f64]) -> f64 {
        if self.of_medians {
            let (a, b) = (median(ours), median(theirs));
            if a <= 0.0 || b <= 0.0 {
                return f64::NAN;
            }
            return if self.unit == Unit::Rate { a / b } else { b / a };
        }
        let ratios: Vec<f64> = ours
            .iter()
            .zip(theirs)
            .map(|(a, b)| match self.unit {
                Unit::Rate => a / b,
                Unit::Micros => b / a,
            })
            .collect();
        median(&ratios)
    }

    fn figure(&self, x: f64) -> String {
        let sign = if x < -0.5 { "-" } else { "" };
        match self.unit {
            Unit::Rate => thousands(x),
            Unit::Micros => format!("{sign}{} µs", thousands(x.abs())),
        }
    }
}

/// What skygroup must reach, in one row.
pub struct Target {
    pub row: &'static str,
    /// skygroup's handler form: `Skygroup` (`command_sync`) or `SkygroupAsync` (`command`).
    pub form: Peer,
    pub against: Against,
    pub min: f64,
}

pub enum Against {
    Peer(Peer),
    /// skygroup's rate over a fixed reference rate (skynet's).
    Skynet,
    /// skygroup in this row over skygroup in another row.
    Row(&'static str),
}

impl Target {
    /// A target for skygroup with `command_sync` handlers.
    pub fn new(row: &'static str, against: Against, min: f64) -> Target {
        Target { row, form: Peer::Skygroup, against, min }
    }

    /// The same target for skygroup with `command` (async) handlers.
    pub fn in_async(self) -> Target {
        Target { form: Peer::SkygroupAsync, ..self }
    }

    fn describe(&self) -> String {
        match &self.against {
            Against::Peer(p) => format!(">= {:.1}x {}", self.min, p.name()),
            Against::Skynet => format!(">= {:.0}x skynet", self.min),
            Against::Row(r) => format!(">= {:.1}x `{r}`", self.min),
        }
    }

    /// The measured ratio, if both figures exist.
    pub fn measured(&self, rows: &[Row]) -> Option<f64> {
        let row = rows.iter().find(|r| r.key == self.row)?;
        match &self.against {
            Against::Peer(p) => row.ratio_in(self.form, *p),
            Against::Skynet => Some(row.median(self.form)? / row.skynet?),
            Against::Row(other) => row.ratio_to_row(self.form, rows.iter().find(|r| r.key == *other)?),
        }
    }
}

/// Every run's figure, for the spread.
pub fn runs_lines(rows: &[Row]) -> String {
    let mut out = String::new();
    for row in rows {
        for peer in Peer::ALL {
            let Some(values) = &row.values[peer.index()] else { continue };
            let all: Vec<String> = values.iter().map(|v| row.figure(*v).trim_end_matches(" µs").to_owned()).collect();
            let median = row.figure(median(values));
            out.push_str(&format!(
                "{:>12} {:<14} median {median:>14}  runs [{}]\n",
                row.key,
                peer.name(),
                all.join(", ")
            ));
        }
    }
    out
}

/// The figures table: a line per row and skygroup handler form, with medians, and that form's
/// ratio to each peer in brackets.
pub fn figures(rows: &[Row]) -> String {
    let mut out = String::from(
        "| workload | skygroup handlers | skygroup | ractor | kameo | actix (1 thread) | tokio mpsc+oneshot | skynet (ref.) |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let forms: &[(Peer, &str)] = if row.has_forms() {
            &[(Peer::SkygroupAsync, "`command` (async)"), (Peer::Skygroup, "`command_sync`")]
        } else {
            &[(Peer::Skygroup, "none timed (either form)")]
        };
        for &(form, form_label) in forms {
            let mut cells = vec![row.label.clone(), form_label.to_owned()];
            cells.push(row.median(form).map_or("-".to_owned(), |m| row.figure(m)));
            for peer in Peer::PEERS {
                let cell = match (row.median(peer), row.ratio_in(form, peer)) {
                    (None, _) => "-".to_owned(),
                    (Some(m), Some(r)) => format!("{} ({r:.2}x)", row.figure(m)),
                    (Some(m), None) => row.figure(m),
                };
                cells.push(cell);
            }
            let skynet = |s: f64| format!("{} ({:.2}x)", thousands(s), row.median(form).map_or(f64::NAN, |m| m / s));
            cells.push(row.skynet.map_or("-".to_owned(), skynet));
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
    }
    out
}

fn form_name(form: Peer) -> &'static str {
    if form == Peer::SkygroupAsync { "`command`" } else { "`command_sync`" }
}

/// The targets table: each target of a workload that ran, the measured ratio, and met or by how
/// much it is missed.
pub fn targets(targets: &[Target], rows: &[Row]) -> String {
    let mut out =
        String::from("| workload | skygroup handlers | target | measured | verdict |\n|---|---|---|---:|---|\n");
    for target in targets.iter().filter(|t| rows.iter().any(|r| r.key == t.row)) {
        let (measured, verdict) = match target.measured(rows) {
            None => ("-".to_owned(), "not measured".to_owned()),
            Some(r) if r >= target.min => (format!("{r:.2}x"), "met".to_owned()),
            Some(r) => {
                let attained = r / target.min;
                (
                    format!("{r:.2}x"),
                    format!("**missed**: {:.0}% of target, needs {:.2}x", attained * 100.0, 1.0 / attained),
                )
            }
        };
        let (row, form) = (target.row, form_name(target.form));
        out.push_str(&format!("| {row} | {form} | {} | {measured} | {verdict} |\n", target.describe()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(unit: Unit, sky: Vec<f64>, tokio: Vec<f64>) -> Row {
        let mut values: [Option<Vec<f64>>; 6] = Default::default();
        values[Peer::Skygroup.index()] = Some(sky);
        values[Peer::Tokio.index()] = Some(tokio);
        Row { key: "x", label: "x".into(), unit, values, skynet: Some(10.0), of_medians: false }
    }

    #[test]
    fn ratios_read_faster_as_larger() {
        assert_eq!(
            row(Unit::Rate, vec![4.0, 6.0, 9.0], vec![2.0, 2.0, 3.0]).ratio_in(Peer::Skygroup, Peer::Tokio),
            Some(3.0)
        );
        assert_eq!(row(Unit::Micros, vec![10.0], vec![30.0]).ratio_in(Peer::Skygroup, Peer::Tokio), Some(3.0));
        assert_eq!(row(Unit::Rate, vec![1.0], vec![1.0]).ratio_in(Peer::Skygroup, Peer::Ractor), None);
    }

    #[test]
    fn a_difference_row_compares_medians() {
        let storm = row(Unit::Micros, vec![10.0, 12.0, 11.0], vec![30.0, 30.0, 30.0]);
        let harness = row(Unit::Micros, vec![10.0, 2.0, 1.0], vec![10.0, 10.0, 10.0]);
        let net = storm.minus(&harness, "net", "net".into());
        assert_eq!(net.values[0], Some(vec![0.0, 10.0, 10.0]));
        assert_eq!(net.ratio_in(Peer::Skygroup, Peer::Tokio), Some(2.0));
        let negative = harness.minus(&storm, "neg", "neg".into());
        assert_eq!(negative.ratio_in(Peer::Skygroup, Peer::Tokio), None, "no ratio of a negative difference");
        assert_eq!(negative.figure(-9.6), "-10 µs");
    }

    #[test]
    fn a_row_with_both_forms_prints_a_line_per_form() {
        let mut both = row(Unit::Rate, vec![4.0], vec![2.0]);
        both.values[Peer::SkygroupAsync.index()] = Some(vec![1.0]);
        assert_eq!(both.ratio_in(Peer::SkygroupAsync, Peer::Tokio), Some(0.5));
        assert_eq!(both.ratio_in(Peer::Skygroup, Peer::Tokio), Some(2.0));
        let table = figures(&[both, row(Unit::Rate, vec![4.0], vec![2.0])]);
        assert!(table.contains("| x | `command` (async) | 1 |"), "{table}");
        assert!(table.contains("| x | `command_sync` | 4 |"), "{table}");
        assert!(table.contains("| x | none timed (either form) | 4 |"), "{table}");
    }

    #[test]
    fn verdicts() {
        let rows = [row(Unit::Rate, vec![30.0], vec![20.0])];
        let table = targets(
            &[Target::new("x", Against::Peer(Peer::Tokio), 1.0), Target::new("x", Against::Skynet, 20.0)],
            &rows,
        );
        assert!(table.contains("| x | `command_sync` | >= 1.0x tokio | 1.50x | met |"), "{table}");
        let skynet = "| x | `command_sync` | >= 20x skynet | 3.00x | **missed**: 15% of target, needs 6.67x |";
        assert!(table.contains(skynet), "{table}");
    }
}
