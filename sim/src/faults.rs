//! Fault injection, FoundationDB style: two levels, both drawn from the seed's data stream
//! (never the scheduling stream, so switching faults on does not reshuffle the schedule).
//!
//! Each fault site (a kind of fault at one service kind and command, e.g. "init of db" or
//! "handler login.login") is switched on for the whole run with probability
//! [`SITE_ON_PROBABILITY`] the first time it is reached; a site that is on then fires with
//! probability [`FIRE_PROBABILITY`] each time. Most runs thus see a few sites misbehave often
//! rather than every site misbehave rarely, which is what finds recovery bugs. Timers can also
//! fire late (by up to [`TIMER_DELAY_MAX`]), and deliveries to a service can be slow: it is
//! left out of a step's scheduling while other services run (a legal order, S3).

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use skygroup::executor::FaultSite;

use crate::chooser::data_rng;

/// Chance a fault site is switched on for a run.
pub const SITE_ON_PROBABILITY: f64 = 0.3;
/// Chance a switched-on site fires each time it is reached.
pub const FIRE_PROBABILITY: f64 = 0.2;
/// The most a timer fires late when timer delays are on.
pub const TIMER_DELAY_MAX: Duration = Duration::from_millis(20);

pub(crate) struct Faults {
    rng: ChaCha8Rng,
    sites: BTreeMap<String, bool>,
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Faults {
        Faults { rng: data_rng(seed), sites: BTreeMap::new() }
    }

    fn fires(&mut self, site: String) -> Option<String> {
        let rng = &mut self.rng;
        let on = *self.sites.entry(site.clone()).or_insert_with(|| rng.random_bool(SITE_ON_PROBABILITY));
        (on && self.rng.random_bool(FIRE_PROBABILITY)).then_some(site)
    }

    /// Whether the fault at `site` fires; its description if so.
    pub(crate) fn inject(&mut self, site: &FaultSite<'_>) -> Option<String> {
        let name = match site {
            FaultSite::Init { kind, .. } => format!("init of {kind} fails"),
            FaultSite::Handler { kind, command, .. } => format!("handler {kind}.{command} panics"),
            FaultSite::Crash { kind, .. } => format!("{kind} crashes after a step"),
            _ => return None,
        };
        self.fires(name)
    }

    /// Whether deliveries to `service` are slow this step (it is not scheduled).
    pub(crate) fn delay(&mut self, service: skygroup::Address) -> bool {
        self.fires(format!("deliveries to {service} are slow")).is_some()
    }

    /// Extra lateness for a timer.
    pub(crate) fn timer_delay(&mut self) -> Duration {
        match self.fires("timers fire late".to_owned()) {
            Some(_) => TIMER_DELAY_MAX.mul_f64(self.rng.random::<f64>()),
            None => Duration::ZERO,
        }
    }
}
