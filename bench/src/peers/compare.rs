//! Running every side of a workload side by side: one warm-up run each, then rounds in which
//! every side runs once, so machine drift hits all sides alike. The side that goes first
//! rotates from round to round.

use std::time::Duration;

/// The implementations compared, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// skygroup with `command_sync` handlers (or no handler in the timed path).
    Skygroup,
    /// skygroup with `command` (async) handlers, where the workload has handlers.
    SkygroupAsync,
    Ractor,
    Kameo,
    Actix,
    Tokio,
}

impl Peer {
    pub const ALL: [Peer; 6] =
        [Peer::Skygroup, Peer::SkygroupAsync, Peer::Ractor, Peer::Kameo, Peer::Actix, Peer::Tokio];

    /// The implementations skygroup is compared with.
    pub const PEERS: [Peer; 4] = [Peer::Ractor, Peer::Kameo, Peer::Actix, Peer::Tokio];

    pub fn name(self) -> &'static str {
        match self {
            Peer::Skygroup => "skygroup",
            Peer::SkygroupAsync => "skygroup-async",
            Peer::Ractor => "ractor",
            Peer::Kameo => "kameo",
            Peer::Actix => "actix",
            Peer::Tokio => "tokio",
        }
    }

    pub fn index(self) -> usize {
        Peer::ALL.iter().position(|&p| p == self).expect("listed")
    }
}

/// One run of one side; gets the run's index and returns the elapsed time of each of the
/// workload's metrics (most workloads have one; the storm has two: storm and harness).
pub type RunFn = Box<dyn Fn(usize) -> Vec<Duration>>;

pub struct Side {
    pub peer: Peer,
    pub run: RunFn,
}

impl Side {
    pub fn new(peer: Peer, run: impl Fn(usize) -> Vec<Duration> + 'static) -> Side {
        Side { peer, run: Box::new(run) }
    }
}

/// Every side's measured times: `times[side][metric][round]`.
pub struct Times(pub Vec<Vec<Vec<Duration>>>);

/// Warms each side up once, then runs `rounds` rounds; round `i` starts with side `i % n`.
pub fn rounds(rounds: usize, sides: &[Side]) -> Times {
    for side in sides {
        (side.run)(rounds);
    }
    let mut times: Vec<Vec<Vec<Duration>>> = vec![Vec::new(); sides.len()];
    for round in 0..rounds {
        for k in 0..sides.len() {
            let s = (round + k) % sides.len();
            let metrics = (sides[s].run)(round);
            let slots = &mut times[s];
            slots.resize(slots.len().max(metrics.len()), Vec::new());
            for (m, elapsed) in metrics.into_iter().enumerate() {
                slots[m].push(elapsed);
            }
        }
    }
    Times(times)
}

/// The middle value (the mean of the two middle ones for an even count); NaN if empty.
pub fn median(values: &[f64]) -> f64 {
    crate::measure::median(values)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    #[test]
    fn warms_up_then_rotates_the_first_side() {
        let order = Rc::new(RefCell::new(Vec::new()));
        let side = |peer: Peer, order: Rc<RefCell<Vec<(Peer, usize)>>>| {
            Side::new(peer, move |run| {
                order.borrow_mut().push((peer, run));
                vec![Duration::from_millis(run as u64 + 1)]
            })
        };
        let sides = [side(Peer::Skygroup, order.clone()), side(Peer::Tokio, order.clone())];
        let times = rounds(2, &sides);
        let seen = order.borrow().clone();
        let want = [(Peer::Skygroup, 2), (Peer::Tokio, 2), (Peer::Skygroup, 0), (Peer::Tokio, 0)];
        assert_eq!(&seen[..4], &want);
        assert_eq!(&seen[4..], &[(Peer::Tokio, 1), (Peer::Skygroup, 1)]);
        assert_eq!(times.0[0][0], vec![Duration::from_millis(1), Duration::from_millis(2)]);
    }
}
