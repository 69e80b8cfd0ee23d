//! The watchers of one service's exit (its monitors, `Ctx::monitor`), told why it exited once
//! it has (G9).
//!
//! Most services have no watcher or one (whoever started it and waits for its end, or its
//! group's registry), so the first is held inline and only a second makes a list; and the
//! answer for the common reasons is one shared value, not a new one per exit. Watching a
//! service and hearing of its exit then costs no allocation on either side.
//!
//! A watcher is held by its address, not its cell: holding the cell would save the exit's one
//! table lookup per watcher (about 90 instructions), but a watcher that exits first would then
//! keep its whole cell (about 600 bytes) allocated until the service it watched exits, where
//! its address costs 16 bytes (a short-lived service watching a long-lived one is common).

use std::sync::OnceLock;

use super::address::{Address, Session};
use super::value::Value;
use crate::executor::ExitReason;

/// Who to tell when the service exits: (watcher, the session its monitor waits on).
#[derive(Default)]
pub(crate) enum Watchers {
    #[default]
    None,
    One(Address, Session),
    Many(Vec<(Address, Session)>),
}

impl Watchers {
    pub(crate) fn push(&mut self, watcher: Address, session: Session) {
        *self = match std::mem::take(self) {
            Watchers::None => Watchers::One(watcher, session),
            Watchers::One(first, first_session) => Watchers::Many(vec![(first, first_session), (watcher, session)]),
            Watchers::Many(mut all) => {
                all.push((watcher, session));
                Watchers::Many(all)
            }
        };
    }
}

impl Watchers {
    /// How many watch.
    pub(crate) fn len(&self) -> usize {
        match self {
            Watchers::None => 0,
            Watchers::One(..) => 1,
            Watchers::Many(all) => all.len(),
        }
    }

    /// Calls `f` on each watcher, in the order they started watching (no iterator to build
    /// and drop for the common one).
    pub(crate) fn each(self, mut f: impl FnMut(Address, Session)) {
        match self {
            Watchers::None => {}
            Watchers::One(watcher, session) => f(watcher, session),
            Watchers::Many(all) => all.into_iter().for_each(|(watcher, session)| f(watcher, session)),
        }
    }
}

/// The answer a monitor gets: `reason` as an opaque value. Reasons without data share one value
/// each for the process's life (a value is immutable, and equal opaque values are the same
/// one); `InitFailed` makes its own.
pub(crate) fn exit_value(reason: &ExitReason) -> Value {
    static SHARED: [OnceLock<Value>; 4] = [const { OnceLock::new() }; 4];
    let index = match reason {
        ExitReason::Stopped => 0,
        ExitReason::Killed => 1,
        ExitReason::Crashed => 2,
        ExitReason::NoService => 3,
        other => return Value::opaque(other.clone()),
    };
    SHARED[index].get_or_init(|| Value::opaque(reason.clone())).clone()
}
