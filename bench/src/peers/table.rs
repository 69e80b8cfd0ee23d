//! The peers report: one row per measured figure, a column per implementation (each peer's
//! cell with skygroup's ratio to it), skynet's reference figure, and the targets table.

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
    pub values: [Option<Vec<f64>>; 5],
    /// skynet's figure on this machine (ops/s), for reference.
    pub skynet: Option<f64>,
    /// Ratios from the medians rather than round by round (for differences of two timings,
    /// which can be near zero in a single round).
    pub of_medians: bool,
}

impl Row {
    /// Metric `metric` of every side; `ops` operations per run (for a rate).
    pub fn metric(
        key: &'static str,
        label: String,
        unit: Unit,
        ops: u64,
        sides: &[Side],
        times: &Times,
        metric: usize,
    ) -> Row {
        let mut values: [Option<Vec<f64>>; 5] = Default::default();
        for (side, per_metric) in sides.iter().zip(&times.0) {
            let Some(runs) = per_metric.get(metric) else { continue };
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
        let mut values: [Option<Vec<f64>>; 5] = Default::default();
        for (i, slot) in values.iter_mut().enumerate() {
            if let (Some(a), Some(b)) = (&self.values[i], &other.values[i]) {
                *slot = Some(a.iter().zip(b).map(|(a, b)| a - b).collect());
            }
        }
        Row { key, label, unit: self.unit, values, skynet: None, of_medians: true }
    }

    pub fn median(&self, peer: Peer) -> Option<f64> {
        self.values[peer.index()].as_deref().map(median)
    }

    /// How many times faster skygroup is than `peer` (median over the rounds of the ratio in
    /// each round): ops/s over ops/s, or the peer's time over skygroup's.
    pub fn ratio(&self, peer: Peer) -> Option<f64> {
        let ours = self.values[Peer::Skygroup.index()].as_ref()?;
        let theirs = self.values[peer.index()].as_ref()?;
        Some(self.per_round(ours, theirs)).filter(|r| r.is_finite() && *r > 0.0)
    }

    /// skygroup's figure in this row against skygroup's in `other`, round by round.
    pub fn ratio_to_row(&self, other: &Row) -> Option<f64> {
        let ours = self.values[Peer::Skygroup.index()].as_ref()?;
        let theirs = other.values[Peer::Skygroup.index()].as_ref()?;
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
    pub fn new(row: &'static str, against: Against, min: f64) -> Target {
        Target { row, against, min }
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
            Against::Peer(p) => row.ratio(*p),
            Against::Skynet => Some(row.median(Peer::Skygroup)? / row.skynet?),
            Against::Row(other) => row.ratio_to_row(rows.iter().find(|r| r.key == *other)?),
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
                "{:>12} {:<8} median {median:>14}  runs [{}]\n",
                row.key,
                peer.name(),
                all.join(", ")
            ));
        }
    }
    out
}

/// The figures table: medians, and skygroup's ratio to each peer in brackets.
pub fn figures(rows: &[Row]) -> String {
    let mut out = String::from(
        "| workload | skygroup | ractor | kameo | actix (1 thread) | tokio mpsc+oneshot | skynet (ref.) |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let mut cells = vec![row.label.clone()];
        for peer in Peer::ALL {
            let cell = match (row.median(peer), row.ratio(peer)) {
                (None, _) => "-".to_owned(),
                (Some(m), Some(r)) if peer != Peer::Skygroup => format!("{} ({r:.2}x)", row.figure(m)),
                (Some(m), _) => row.figure(m),
            };
            cells.push(cell);
        }
        cells.push(row.skynet.map_or("-".to_owned(), |s| format!("{} ({:.2}x)", thousands(s), skynet_ratio(row, s))));
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

fn skynet_ratio(row: &Row, skynet: f64) -> f64 {
    row.median(Peer::Skygroup).map_or(f64::NAN, |m| m / skynet)
}

/// The targets table: each target of a workload that ran, the measured ratio, and met or by how
/// much it is missed.
pub fn targets(targets: &[Target], rows: &[Row]) -> String {
    let mut out = String::from("| workload | target | measured | verdict |\n|---|---|---:|---|\n");
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
        out.push_str(&format!("| {} | {} | {measured} | {verdict} |\n", target.row, target.describe()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(unit: Unit, sky: Vec<f64>, tokio: Vec<f64>) -> Row {
        let mut values: [Option<Vec<f64>>; 5] = Default::default();
        values[0] = Some(sky);
        values[4] = Some(tokio);
        Row { key: "x", label: "x".into(), unit, values, skynet: Some(10.0), of_medians: false }
    }

    #[test]
    fn ratios_read_faster_as_larger() {
        assert_eq!(row(Unit::Rate, vec![4.0, 6.0, 9.0], vec![2.0, 2.0, 3.0]).ratio(Peer::Tokio), Some(3.0));
        assert_eq!(row(Unit::Micros, vec![10.0], vec![30.0]).ratio(Peer::Tokio), Some(3.0));
        assert_eq!(row(Unit::Rate, vec![1.0], vec![1.0]).ratio(Peer::Ractor), None);
    }

    #[test]
    fn a_difference_row_compares_medians() {
        let storm = row(Unit::Micros, vec![10.0, 12.0, 11.0], vec![30.0, 30.0, 30.0]);
        let harness = row(Unit::Micros, vec![10.0, 2.0, 1.0], vec![10.0, 10.0, 10.0]);
        let net = storm.minus(&harness, "net", "net".into());
        assert_eq!(net.values[0], Some(vec![0.0, 10.0, 10.0]));
        assert_eq!(net.ratio(Peer::Tokio), Some(2.0));
        let negative = harness.minus(&storm, "neg", "neg".into());
        assert_eq!(negative.ratio(Peer::Tokio), None, "no ratio of a negative difference");
        assert_eq!(negative.figure(-9.6), "-10 µs");
    }

    #[test]
    fn verdicts() {
        let rows = [row(Unit::Rate, vec![30.0], vec![20.0])];
        let table = targets(
            &[Target::new("x", Against::Peer(Peer::Tokio), 1.0), Target::new("x", Against::Skynet, 20.0)],
            &rows,
        );
        assert!(table.contains("| x | >= 1.0x tokio | 1.50x | met |"), "{table}");
        assert!(table.contains("| x | >= 20x skynet | 3.00x | **missed**: 15% of target, needs 6.67x |"), "{table}");
    }
}
