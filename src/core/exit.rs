//! A service's exit: what happens once its exit was requested, at the end of the step that saw
//! the request (a turn, or a handler run directly, `direct.rs`).
//!
//! Apart from the turn (`turn.rs`) because the end has its own order to keep (G9): close the
//! mailbox, leave the table, fail what the service still owes, tell its monitors, and only then
//! drop its tasks, unhandled messages and state, whose drops are user code. An idle service
//! (the common exit) has nothing unhandled and no task, and builds no lists for them.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::cell::{Envelope, ServiceCell, lock};
use super::error::{CallError, CallErrorKind};
use super::turn::{Origin, Phase, ReplyTo, ServiceCore};
use crate::executor::{Event, ExitReason};

impl ServiceCell {
    /// Ends the service whose exit was requested, at the end of the step that saw the request
    /// (a turn, or a handler run directly); it keeps its claim for good.
    pub(crate) fn exit_now(self: &Arc<Self>, core: &mut ServiceCore) {
        let reason = lock(&self.exit_reason).clone().unwrap_or(ExitReason::Killed);
        self.finalize(core, reason);
    }

    /// The service's end (G9): close the mailbox, leave the table, fail every call it still
    /// owes, tell its monitors (the group's registry among them: the listing and the binding),
    /// and only then drop its tasks, unhandled messages and state. Those drops are user code:
    /// each is caught (`drop_user`), so a panicking `Drop` neither hides the exit from anyone
    /// nor kills the worker (G9, G14).
    fn finalize(self: &Arc<Self>, core: &mut ServiceCore, reason: ExitReason) {
        core.phase = Phase::Exited;
        self.exiting.store(true, Ordering::Release);
        // An idle service (the common exit) has nothing unhandled and no task: no lists then,
        // and none to drop (each empty one's drop cost about 25-35 instructions).
        let (queue, monitors) = {
            let mut mailbox = lock(&self.mailbox);
            mailbox.closed = true;
            let queue = (!mailbox.queue.is_empty()).then(|| std::mem::take(&mut mailbox.queue));
            (queue, std::mem::take(&mut mailbox.monitors))
        };
        self.runtime.remove_service(self.address);
        let busy = core.has_deferred() || !core.batch.is_empty() || queue.is_some() || !core.tasks.is_empty();
        let cut_off = busy.then(|| self.cut_off(core, queue.unwrap_or_default(), &reason));
        monitors.each(|watcher, session| {
            let response = Envelope::Response { session, result: Ok(super::watchers::exit_value(&reason)) };
            self.runtime.deliver(watcher, response);
        });
        // User values last, each drop caught.
        if let Some(cut_off) = cut_off {
            for (value, what) in cut_off {
                self.drop_user(value, what);
            }
        }
        if let Some(rare) = core.rare.as_mut() {
            rare.wakers.clear();
        }
        let slot = std::mem::take(&mut *self.state_slot());
        self.drop_user(slot, "dropping its state"); // outside the borrow: the state's drop is user code
        let open = {
            let mut sessions = lock(&self.sessions);
            (!sessions.open.is_empty()).then(|| std::mem::take(&mut sessions.open))
        };
        if let Some(open) = open {
            for (session, waiting) in open.into_entries() {
                waiting.unwatch(self, session);
                self.drop_user(waiting, "dropping an answer nobody took");
            }
        }
        if self.runtime.trace_all {
            self.runtime.trace(&Event::Exit { address: self.address, kind: self.name(), reason: &reason });
        }
    }

    /// What an exiting service leaves undone: every envelope it never handled (calls get an
    /// error, sends are dead letters) and every task cut off (its caller, or its starter, gets
    /// an error). Hands back the values to drop once its monitors have their answers (their
    /// drops are user code): the tasks' futures, then the envelopes' payloads.
    fn cut_off(
        self: &Arc<Self>,
        core: &mut ServiceCore,
        queue: VecDeque<Envelope>,
        reason: &ExitReason,
    ) -> Vec<(Box<dyn Any + Send>, &'static str)> {
        let unhandled: Vec<Envelope> =
            core.take_deferred().into_iter().chain(core.batch.drain(..)).chain(queue).collect();
        let payloads: Vec<_> = unhandled.into_iter().filter_map(|envelope| self.reject(envelope)).collect();
        let tasks = std::mem::take(&mut core.tasks);
        let mut cut_off = Vec::with_capacity(tasks.len() + payloads.len());
        for (_, task) in tasks {
            match task.origin {
                Origin::Call(reply_to) => {
                    let err = self.exited_error(&reply_to.command);
                    self.answer(reply_to, Err(err));
                }
                Origin::Deferred(slot) => slot.fail_with(self, |command| self.exited_error(command)),
                Origin::Init(notify) => self.notify_init_error(notify, format!("exited during init ({reason})")),
                Origin::Fork => {}
            }
            cut_off.push((Box::new(task.future) as Box<dyn Any + Send>, "dropping a task cut off by its exit"));
        }
        cut_off.extend(payloads.into_iter().map(|payload| (payload, "dropping a message it never handled")));
        cut_off
    }

    pub(crate) fn exited_error(&self, command: &str) -> CallError {
        CallErrorKind::Exited { service: self.name().to_owned(), address: self.address, command: command.to_owned() }
            .into()
    }

    /// An envelope the service will never handle: calls get an error, sends become dead letters.
    /// What it carries is handed back, to be dropped by `drop_user` (its `Drop` is user code).
    fn reject(&self, envelope: Envelope) -> Option<Box<dyn Any + Send>> {
        match envelope {
            Envelope::Request { from, session: 0, command, args, .. } => {
                self.runtime.dead_letter(from, self.address, &command);
                Some(Box::new(args))
            }
            Envelope::Request { from, session, command, args, .. } => {
                let err = self.exited_error(&command);
                self.answer(ReplyTo { to: from, session, command }, Err(err));
                Some(Box::new(args))
            }
            Envelope::Init { notify, args, prelude } => {
                self.notify_init_error(notify, "exited before init ran".into());
                Some(Box::new((args, prelude)))
            }
            Envelope::Response { result, .. } => Some(Box::new(result)),
            Envelope::Fork { task } => Some(Box::new(task)),
            Envelope::Wake { .. } => None,
        }
    }
}
