//! The shortcut hook: the one door through which a layer above the core (the group module)
//! takes the core's fast paths.
//!
//! The shortcuts themselves (`handoff.rs`: a handler run like a function, a turn run inline,
//! an answer completed in place, a task polled where it is forked) and the turn's memo of the
//! service it last reached (`memo.rs`) are the core's business, and both backends answer them:
//! the threaded backend's workers take each one where it is possible, the simulator decides
//! each one from its seed (`Executor::shortcuts`, `Executor::take_shortcut`). A layer does not
//! look at whose turn runs on this thread, at the memo or at the executor's mode: it asks one
//! of the methods below, named `shortcut_*`, and gets either the fast answer or a "no" (its
//! arguments handed back) and takes its ordinary path. Every method answers "no" outside a
//! turn of the runtime and on an executor that never takes shortcuts, so a layer's behaviour
//! never depends on which backend runs it, only its speed and the orders it can show do.

use std::sync::Arc;

use super::address::Address;
use super::cell::{CommandName, Name, ServiceCell};
use super::context::Call;
use super::memo;
use super::value::Value;

impl ServiceCell {
    /// Shortcut hook: whether a task this service is about to fork should be polled once right
    /// here first (`Shortcut::InlinePoll`): this thread runs this service's turn and the
    /// executor takes the shortcut. If it says yes, the caller polls the task (with a waker
    /// nobody wakes) and forks it only if it is still pending.
    pub(crate) fn shortcut_poll_here(&self) -> bool {
        self.runs_here()
    }

    /// Shortcut hook: a call to the service this turn last reached by `name` (see
    /// [`shortcut_call_named`](Self::shortcut_call_named)), handled like a function call if it
    /// is idle and `command` is synchronous (`Shortcut::Direct`). `args` back otherwise, and
    /// when nothing was reached by `name` this turn. Costs no table and no reference count.
    /// `Ctx::call` asks this before the naming layer, so a loop of calls by one name never
    /// leaves the core.
    #[inline]
    pub(crate) fn shortcut_call_reached(
        self: &Arc<Self>,
        name: &str,
        command: &CommandName,
        args: Value,
    ) -> Result<Call, Value> {
        let Some(reached) = memo::take_reached(self, name) else { return Err(args) };
        let call = self.call_direct_to(reached.service(), command, args);
        memo::give_back_reached(reached);
        call
    }

    /// Shortcut hook: a call to `service`, which `name` resolved to, handled like a function
    /// call if it is idle and `command` is synchronous (`Shortcut::Direct`); `args` back
    /// otherwise. A call taken is remembered for the rest of the turn, so the next call by
    /// `name` finds `service` through [`shortcut_call_reached`](Self::shortcut_call_reached).
    #[inline]
    pub(crate) fn shortcut_call_named(
        self: &Arc<Self>,
        name: Name,
        service: &Arc<ServiceCell>,
        command: &CommandName,
        args: Value,
    ) -> Result<Call, Value> {
        let call = self.call_direct_to(service, command, args)?;
        memo::remember_name(self, name, service);
        Ok(call)
    }

    /// Shortcut hook: the address of the live service this turn last reached by `name`
    /// (through a call or [`shortcut_remember`](Self::shortcut_remember)), if shortcuts are on
    /// for this turn. Not a decision of its own: it answers what the name table would (a name
    /// stays bound to a live service, G4), without the table's lock.
    pub(crate) fn shortcut_reached(&self, name: &str) -> Option<Address> {
        if !self.runtime.handoff() {
            return None;
        }
        let reached = memo::take_reached(self, name)?;
        let address = reached.service().alive().then_some(reached.service().address);
        memo::give_back_reached(reached);
        address
    }

    /// Shortcut hook: remembers for the rest of this turn that this service resolved `name` to
    /// the live `service` (read back by [`shortcut_reached`](Self::shortcut_reached) and
    /// [`shortcut_call_reached`](Self::shortcut_call_reached)). Does nothing outside a turn.
    pub(crate) fn shortcut_remember(&self, name: Name, service: &Arc<ServiceCell>) {
        memo::remember_name(self, name, service);
    }
}
