//! The watchers of one service's exit (its monitors, `Ctx::monitor`), told why it exited once
//! it has (G9).
//!
//! Most services have no watcher or one (whoever started it and waits for its end, or its
//! group's registry), so the first is held inline and only a second makes a list; and the
//! answer for the common reasons is one shared value, not a new one per exit. Watching a
//! service and hearing of its exit then costs no allocation on either side.
//!
//! A watcher is held by its cell, not its address: the exit delivers its answer to the cell in
//! hand (`deliver_to`: the same decisions and trace as a delivery by address), with no lookup
//! in the service table. An exited watcher's cell is kept (not its state, its tasks or its
//! messages, all dropped at its exit) until the service it watched exits too; its mailbox is
//! closed, so the answer bounces as one to its address would.

use std::sync::{Arc, OnceLock};

use super::address::Session;
use super::cell::ServiceCell;
use super::value::Value;
use crate::executor::ExitReason;

/// Who to tell when the service exits: (watcher, the session its monitor waits on).
#[derive(Default)]
pub(crate) enum Watchers {
    #[default]
    None,
    One(Arc<ServiceCell>, Session),
    Many(Vec<(Arc<ServiceCell>, Session)>),
}

impl Watchers {
    pub(crate) fn push(&mut self, watcher: Arc<ServiceCell>, session: Session) {
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
    /// Calls `f` on each watcher, in the order they started watching (no iterator to build
    /// and drop for the common one).
    pub(crate) fn each(self, mut f: impl FnMut(Arc<ServiceCell>, Session)) {
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
