//! The oracle on hand-built record lists: for each rule, a list that breaks it is flagged with
//! that rule, and the same story told correctly is accepted.
//!
//! The cast: `main` (the embedding program), `reg` (group 1's registry), `drv` (a member of
//! group 1 that asks for names; `reg` and `drv` have run their init), `db` and `db2` (instances in group 1), `far` (a member of
//! group 2).

use skygroup::executor::Registry as D;
use skygroup::{Address, ServiceKind};

use super::check;
use crate::Sim;
use crate::record::{Dest, Happening, Msg, Record};

/// Real addresses (the runtime hands out no others): 1..=n.
fn addresses(n: usize) -> Vec<Address> {
    let sim = Sim::new(0);
    let rt = sim.runtime();
    rt.define(ServiceKind::stateless("x")).unwrap();
    (0..n).map(|_| rt.spawn("x", ()).unwrap()).collect()
}

#[derive(Clone, Copy)]
struct Cast {
    main: Address,
    reg: Address,
    drv: Address,
    db: Address,
    db2: Address,
    far: Address,
}

#[derive(Clone)]
struct Trace {
    records: Vec<Record>,
    c: Cast,
}

fn req(from: Address, session: u64, command: &str, args: &str, via: Option<&str>) -> Msg {
    let (command, args, via) = (command.to_owned(), args.into(), via.map(str::to_owned));
    Msg::Request { from, session, command, args, via }
}

impl Trace {
    /// Everyone spawned, `drv` running.
    fn new() -> Trace {
        let a = addresses(6);
        let c = Cast { main: a[0], reg: a[1], drv: a[2], db: a[3], db2: a[4], far: a[5] };
        let mut t = Trace { records: Vec::new(), c };
        let (main, reg) = (t.c.main, t.c.reg);
        t.spawn(main, "_main", None).spawn(reg, "_registry", None);
        let members = [(t.c.drv, "driver", 1), (t.c.db, "db", 1), (t.c.db2, "db", 1), (t.c.far, "db", 2)];
        for (address, kind, group) in members {
            t.spawn(address, kind, Some(group));
        }
        let (reg, drv) = (t.c.reg, t.c.drv);
        t.handle(reg, Msg::Init).init_end(reg, true).handle(drv, Msg::Init).init_end(drv, true);
        t
    }

    fn push(&mut self, event: Happening) -> &mut Trace {
        self.records.push(Record { time: std::time::Duration::ZERO, event });
        self
    }

    fn spawn(&mut self, address: Address, kind: &str, group: Option<u64>) -> &mut Trace {
        self.push(Happening::Spawn { address, kind: kind.into(), parent: None, group })
    }

    fn handle(&mut self, at: Address, message: Msg) -> &mut Trace {
        self.push(Happening::Handle { at, message })
    }

    /// `at`'s init ended (returned if `ok`), as the runtime traces it.
    fn init_end(&mut self, at: Address, ok: bool) -> &mut Trace {
        self.push(Happening::InitEnd { address: at, ok })
    }

    fn deliver(&mut self, to: Address, message: Msg) -> &mut Trace {
        self.push(Happening::Deliver { to, message, mid_step: false })
    }

    fn issue(&mut self, from: Address, to: Dest, session: u64, command: &str, args: &str) -> &mut Trace {
        self.push(Happening::Issue { from, to, session, command: command.into(), args: args.into() })
    }

    fn reg(&mut self, name: &str, what: D) -> &mut Trace {
        self.push(Happening::Registry { group: 1, name: name.into(), what })
    }

    fn exit(&mut self, address: Address) -> &mut Trace {
        self.push(Happening::Exit { address, kind: "db".into(), reason: "stopped".into() })
    }

    /// The registry handles `asker`'s query for `db` (session `s`).
    fn query(&mut self, asker: Address, s: u64) -> &mut Trace {
        let reg = self.c.reg;
        self.handle(reg, req(asker, s, "_query", "\"db\"", None))
    }

    /// The registry learns the end of `instance`'s init (its reply #9).
    fn init_reply(&mut self, ok: bool) -> &mut Trace {
        let reg = self.c.reg;
        self.deliver(reg, Msg::Response { session: 9, ok }).handle(reg, Msg::Response { session: 9, ok })
    }

    /// `drv` asks for `db`, which starts as `db` and binds.
    fn started(&mut self) -> &mut Trace {
        let (drv, db) = (self.c.drv, self.c.db);
        self.query(drv, 1)
            .reg("db", D::StartBegin { instance: db })
            .handle(db, Msg::Init)
            .init_end(db, true)
            .init_reply(true);
        self.reg("db", D::StartEnd { instance: db, ok: true }).reg("db", D::Bind { address: db });
        self.reg("db", D::Answer { asker: drv, address: Some(db) })
    }

    fn rules(&self) -> Vec<&'static str> {
        check(&self.records).iter().map(|v| v.rule).collect()
    }
}

#[test]
fn a_plain_lazy_start_is_accepted() {
    assert_eq!(Trace::new().started().rules(), Vec::<&str>::new());
}

#[test]
fn g1_an_instance_of_another_group() {
    let mut t = Trace::new();
    let (drv, far) = (t.c.drv, t.c.far);
    t.query(drv, 1).reg("db", D::StartBegin { instance: far });
    assert_eq!(t.rules(), ["G1"]);
    let mut t = Trace::new();
    let drv = t.c.drv;
    t.started().deliver(far, req(drv, 0, "push", "1", Some("db")));
    assert_eq!(t.rules(), ["G1"]);
}

#[test]
fn g2_a_second_start_while_one_is_pending() {
    let mut t = Trace::new();
    let (main, drv, db, db2) = (t.c.main, t.c.drv, t.c.db, t.c.db2);
    t.query(drv, 1).reg("db", D::StartBegin { instance: db }).query(main, 1);
    assert_eq!(t.rules(), Vec::<&str>::new(), "the second asker is parked");
    t.query(main, 2).reg("db", D::StartBegin { instance: db2 });
    assert_eq!(t.rules(), ["G2"]);
}

#[test]
fn g2_waiters_of_one_start_get_one_answer() {
    let mut t = Trace::new();
    let (main, drv, db, db2) = (t.c.main, t.c.drv, t.c.db, t.c.db2);
    t.query(drv, 1).reg("db", D::StartBegin { instance: db }).query(main, 1).init_reply(true);
    t.reg("db", D::StartEnd { instance: db, ok: true }).reg("db", D::Bind { address: db });
    t.reg("db", D::Answer { asker: drv, address: Some(db) });
    let mut bad = t.clone();
    t.reg("db", D::Answer { asker: main, address: Some(db) });
    assert_eq!(t.rules(), Vec::<&str>::new());
    bad.reg("db", D::Answer { asker: main, address: Some(db2) });
    assert_eq!(bad.rules(), ["G2"]);
}

#[test]
fn g3_a_failed_start_answers_every_waiter_with_an_error() {
    let mut t = Trace::new();
    let (main, drv, db) = (t.c.main, t.c.drv, t.c.db);
    t.query(drv, 1).reg("db", D::StartBegin { instance: db }).query(main, 1).init_reply(false);
    t.reg("db", D::StartEnd { instance: db, ok: false }).reg("db", D::Answer { asker: drv, address: None });
    let mut hanging = t.clone();
    t.reg("db", D::Answer { asker: main, address: None });
    assert_eq!(t.rules(), Vec::<&str>::new());
    assert_eq!(hanging.handle(main, Msg::Fork).rules(), ["G3"], "main is never answered");
}

#[test]
fn g3_a_query_neither_answered_nor_parked() {
    let mut t = Trace::new();
    let drv = t.c.drv;
    t.started().query(drv, 2);
    assert_eq!(t.rules(), ["G3"]);
}

#[test]
fn g4_binding_a_bound_name() {
    let mut t = Trace::new();
    let db2 = t.c.db2;
    t.started().reg("db", D::Bind { address: db2 });
    assert_eq!(t.rules(), ["G4"]);
    let mut t = Trace::new();
    let db = t.c.db;
    t.started().reg("db", D::Unbind { address: db }).reg("db", D::Bind { address: db2 });
    assert_eq!(t.rules(), Vec::<&str>::new());
}

#[test]
fn g5_a_request_handled_during_init() {
    let mut t = Trace::new();
    let (drv, db) = (t.c.drv, t.c.db);
    t.query(drv, 1).reg("db", D::StartBegin { instance: db }).handle(db, Msg::Init);
    t.handle(db, req(drv, 0, "push", "1", None)).init_end(db, true).init_reply(true);
    t.reg("db", D::StartEnd { instance: db, ok: true }).reg("db", D::Answer { asker: drv, address: None });
    assert_eq!(t.rules(), ["G5"]);
    let mut t = Trace::new();
    t.started().handle(db, req(drv, 0, "push", "1", None));
    assert_eq!(t.rules(), Vec::<&str>::new());
}

// checks G5: an init whose end is never traced has not returned; one that failed never has.
#[test]
fn g5_a_request_handled_though_init_never_returned_or_failed() {
    for end in [None, Some(false)] {
        let mut t = Trace::new();
        let (drv, db) = (t.c.drv, t.c.db);
        t.handle(db, Msg::Init);
        if let Some(ok) = end {
            t.init_end(db, ok);
        }
        t.handle(db, req(drv, 0, "push", "1", None));
        assert_eq!(t.rules(), ["G5"], "init end {end:?}");
    }
}

#[test]
fn g6_a_later_message_handled_first() {
    let mut t = Trace::new();
    let (drv, db) = (t.c.drv, t.c.db);
    let name = || Dest::Name("db".into());
    t.started().issue(drv, name(), 0, "push", "1").issue(drv, name(), 5, "seen", "nil");
    t.deliver(db, req(drv, 0, "push", "1", Some("db")));
    let mut swapped = t.clone();
    t.handle(db, req(drv, 0, "push", "1", Some("db"))).handle(db, req(drv, 5, "seen", "nil", Some("db")));
    assert_eq!(t.rules(), Vec::<&str>::new());
    swapped.handle(db, req(drv, 5, "seen", "nil", Some("db"))).handle(db, req(drv, 0, "push", "1", Some("db")));
    assert_eq!(swapped.rules(), ["G6"]);
}

// checks G6 (issue 11): order is per target service, however addressed: a call by address
// handled before a send by name issued earlier to the service the name resolved to.
#[test]
fn g6_a_message_by_address_overtakes_one_by_name() {
    let mut t = Trace::new();
    let (drv, db) = (t.c.drv, t.c.db);
    t.started().issue(drv, Dest::Name("db".into()), 0, "push", "1").issue(drv, Dest::Address(db), 5, "seen", "nil");
    let mut swapped = t.clone();
    t.deliver(db, req(drv, 0, "push", "1", Some("db"))).deliver(db, req(drv, 5, "seen", "nil", None));
    t.handle(db, req(drv, 0, "push", "1", Some("db"))).handle(db, req(drv, 5, "seen", "nil", None));
    assert_eq!(t.rules(), Vec::<&str>::new());
    swapped.deliver(db, req(drv, 5, "seen", "nil", None)).deliver(db, req(drv, 0, "push", "1", Some("db")));
    swapped.handle(db, req(drv, 5, "seen", "nil", None)).handle(db, req(drv, 0, "push", "1", Some("db")));
    assert_eq!(swapped.rules(), ["G6"]);
}

// checks G6, G9: a by-name message whose instance exited before it got there goes to the fresh
// instance behind what the sender had already delivered there (the rebinding rule); the same
// order with no exit in between is a violation.
#[test]
fn g6_a_rebound_by_name_message_counts_from_its_new_resolution() {
    let mut t = Trace::new();
    let (drv, db, db2) = (t.c.drv, t.c.db, t.c.db2);
    t.started().issue(drv, Dest::Name("db".into()), 0, "push", "1").issue(drv, Dest::Address(db2), 0, "push", "2");
    let mut no_exit = t.clone();
    t.exit(db);
    for trace in [&mut t, &mut no_exit] {
        trace.deliver(db2, req(drv, 0, "push", "2", None)).deliver(db2, req(drv, 0, "push", "1", Some("db")));
        trace.handle(db2, req(drv, 0, "push", "2", None)).handle(db2, req(drv, 0, "push", "1", Some("db")));
    }
    assert!(!t.rules().contains(&"G6"), "{:?}", t.rules());
    assert!(no_exit.rules().contains(&"G6"), "{:?}", no_exit.rules());
}

#[test]
fn g7_a_send_lost_in_a_mailbox() {
    let mut t = Trace::new();
    let (drv, db) = (t.c.drv, t.c.db);
    t.started().deliver(db, req(drv, 0, "push", "1", None));
    let mut counted = t.clone();
    t.exit(db);
    assert_eq!(t.rules(), ["G7"]);
    counted.exit(db).push(Happening::DeadLetter { from: drv, to: db, command: "push".into() });
    assert_eq!(counted.rules(), Vec::<&str>::new());
}

#[test]
fn g7_a_send_by_address_that_went_nowhere() {
    let mut t = Trace::new();
    let (drv, db) = (t.c.drv, t.c.db);
    t.started().issue(drv, Dest::Address(db), 0, "push", "1");
    assert_eq!(t.rules(), ["G7"]);
    t.deliver(db, req(drv, 0, "push", "1", None));
    assert_eq!(t.rules(), Vec::<&str>::new());
}

#[test]
fn g8_a_reserved_command_succeeds() {
    let mut t = Trace::new();
    let (drv, db) = (t.c.drv, t.c.db);
    t.started().handle(db, req(drv, 3, "_link", "nil", None));
    let mut refused = t.clone();
    t.deliver(drv, Msg::Response { session: 3, ok: true });
    assert_eq!(t.rules(), ["G8"]);
    refused.deliver(drv, Msg::Response { session: 3, ok: false });
    assert_eq!(refused.rules(), Vec::<&str>::new());
}

#[test]
fn g9_a_dead_binding_answered() {
    let mut t = Trace::new();
    let (main, db) = (t.c.main, t.c.db);
    t.started().exit(db);
    let mut unbound = t.clone();
    t.query(main, 1).reg("db", D::Answer { asker: main, address: Some(db) });
    assert_eq!(t.rules(), ["G9"]);
    unbound.query(main, 1).reg("db", D::Unbind { address: db });
    unbound.reg("db", D::StartBegin { instance: t.c.db2 });
    assert_eq!(unbound.rules(), Vec::<&str>::new());
}

#[test]
fn g9_a_delivery_to_the_dead() {
    let mut t = Trace::new();
    let (drv, db) = (t.c.drv, t.c.db);
    t.started().exit(db).deliver(db, req(drv, 0, "push", "1", None));
    assert!(t.rules().contains(&"G9"), "{:?}", t.rules());
}

#[test]
fn g12_one_service_twice_in_a_round() {
    let mut t = Trace::new();
    let (drv, db) = (t.c.drv, t.c.db);
    t.push(Happening::Round { services: vec![drv, db] });
    assert_eq!(t.rules(), Vec::<&str>::new());
    t.push(Happening::Round { services: vec![db, db] });
    assert_eq!(t.rules(), ["G12"]);
}

/// `db`'s instance (`db`) starts and asks for `dep`, whose instance (`db2`) asks for `db`.
fn ring_pending() -> Trace {
    let mut t = Trace::new();
    let (reg, drv, db, db2) = (t.c.reg, t.c.drv, t.c.db, t.c.db2);
    t.query(drv, 1).reg("db", D::StartBegin { instance: db });
    t.handle(reg, req(db, 1, "_query", "\"dep\"", None)).reg("dep", D::StartBegin { instance: db2 });
    t.handle(reg, req(db2, 1, "_query", "\"db\"", None));
    t
}

#[test]
fn g13_a_ring_of_starts_not_refused() {
    assert_eq!(ring_pending().rules(), ["G13"]);
}

#[test]
fn g13_a_refused_cycle_must_be_a_ring() {
    let mut t = Trace::new();
    let (reg, drv, db, db2) = (t.c.reg, t.c.drv, t.c.db, t.c.db2);
    t.query(drv, 1).reg("db", D::StartBegin { instance: db });
    t.handle(reg, req(db, 1, "_query", "\"dep\"", None)).reg("dep", D::StartBegin { instance: db2 });
    let mut ring = t.clone();
    t.handle(reg, req(db2, 1, "_query", "\"other\"", None)).reg("other", D::Cycle { asker: db2 });
    t.reg("other", D::Answer { asker: db2, address: None });
    assert_eq!(t.rules(), ["G13"], "`other` is not pending: no ring");
    ring.handle(reg, req(db2, 1, "_query", "\"db\"", None)).reg("db", D::Cycle { asker: db2 });
    ring.reg("db", D::Answer { asker: db2, address: None });
    assert_eq!(ring.rules(), Vec::<&str>::new());
}

impl Trace {
    fn shortcut(&mut self, service: Address, end: bool) -> &mut Trace {
        self.push(Happening::Shortcut { shortcut: skygroup::executor::Shortcut::Direct, service, end })
    }
}

#[test]
fn g6_a_direct_call_overtaking_a_held_send() {
    // A direct call is traced like any message (issue, delivery, handling) between the shortcut's
    // begin and end records, so per-sender order is checked across shortcuts too.
    let mut t = Trace::new();
    let (drv, db) = (t.c.drv, t.c.db);
    t.started().handle(drv, req(db, 7, "go", "nil", None));
    t.issue(drv, Dest::Address(db), 0, "push", "1").issue(drv, Dest::Address(db), 5, "seen", "nil");
    let mut in_order = t.clone();
    t.shortcut(db, false).push(Happening::Deliver {
        to: db,
        message: req(drv, 5, "seen", "nil", None),
        mid_step: true,
    });
    t.handle(db, req(drv, 5, "seen", "nil", None)).shortcut(db, true);
    t.deliver(db, req(drv, 0, "push", "1", None)).handle(db, req(drv, 0, "push", "1", None));
    assert_eq!(t.rules(), ["G6"]);
    in_order.deliver(db, req(drv, 0, "push", "1", None)).handle(db, req(drv, 0, "push", "1", None));
    in_order.deliver(db, req(drv, 5, "seen", "nil", None)).handle(db, req(drv, 5, "seen", "nil", None));
    assert_eq!(in_order.rules(), Vec::<&str>::new());
}

#[test]
fn a_query_whose_step_runs_a_nested_service_is_still_tied_to_its_decision() {
    // The registry's step is interrupted by a service run at once (a shortcut) and by a delivery
    // made mid-step; its decision after the nested run still settles the query (no false G3).
    let mut t = Trace::new();
    let (drv, db, reg) = (t.c.drv, t.c.db, t.c.reg);
    t.started().query(drv, 2);
    t.push(Happening::Deliver { to: drv, message: Msg::Wake { task: 0 }, mid_step: true });
    t.shortcut(db, false).handle(db, req(reg, 0, "note", "1", None)).shortcut(db, true);
    t.reg("db", D::Answer { asker: drv, address: Some(db) });
    assert_eq!(t.rules(), Vec::<&str>::new());
}

impl Trace {
    /// `drv` calls `db` (call#3), and `db`, handling it, sends `drv` a `note` first.
    fn noted_call(&mut self) -> &mut Trace {
        let (drv, db) = (self.c.drv, self.c.db);
        self.started().issue(drv, Dest::Address(db), 3, "ask", "1").deliver(db, req(drv, 3, "ask", "1", None));
        self.handle(db, req(drv, 3, "ask", "1", None)).issue(db, Dest::Address(drv), 0, "note", "1");
        self.push(Happening::Deliver { to: drv, message: req(db, 0, "note", "1", None), mid_step: true })
    }

    /// `db`'s answer to call#3 completes in place in `drv`'s running turn.
    fn answer_in_place(&mut self) -> &mut Trace {
        let drv = self.c.drv;
        let shortcut = skygroup::executor::Shortcut::AnswerInPlace;
        self.push(Happening::Shortcut { shortcut, service: drv, end: false });
        self.push(Happening::Deliver { to: drv, message: Msg::Response { session: 3, ok: true }, mid_step: true })
    }
}

// checks G6 (issue 11): an answer completed in place overtakes the `note` its callee sent the
// caller before answering; in place after the note was handled, it is legal.
#[test]
fn g6_an_answer_in_place_overtaking_the_callees_earlier_send() {
    let mut t = Trace::new();
    let (drv, db) = (t.c.drv, t.c.db);
    t.noted_call();
    let mut handled_first = t.clone();
    t.answer_in_place().handle(drv, req(db, 0, "note", "1", None));
    assert_eq!(t.rules(), ["G6"]);
    handled_first.handle(drv, req(db, 0, "note", "1", None)).answer_in_place();
    assert_eq!(handled_first.rules(), Vec::<&str>::new());
}

// checks G6, G12 (issue 11): a queued answer is handled behind the callee's earlier send, even
// while the caller runs another task in between (reentrant); handled before it, it overtook it.
#[test]
fn g6_a_queued_answer_handled_before_the_callees_earlier_send() {
    let mut t = Trace::new();
    let (main, drv, db) = (t.c.main, t.c.drv, t.c.db);
    let answer = Msg::Response { session: 3, ok: true };
    t.noted_call().deliver(drv, answer.clone());
    let mut swapped = t.clone();
    t.issue(main, Dest::Address(drv), 0, "poke", "1").deliver(drv, req(main, 0, "poke", "1", None));
    t.handle(drv, req(main, 0, "poke", "1", None));
    t.handle(drv, req(db, 0, "note", "1", None)).handle(drv, answer.clone());
    assert_eq!(t.rules(), Vec::<&str>::new());
    swapped.handle(drv, answer).handle(drv, req(db, 0, "note", "1", None));
    assert_eq!(swapped.rules(), ["G6"]);
}

// checks G6, G7: a send left in the caller's mailbox at its exit is rejected, not handled: an
// answer consumed before it is not flagged (the exit may have been under way).
#[test]
fn g6_a_send_rejected_at_the_callers_exit_is_not_waited_for() {
    let mut t = Trace::new();
    let (drv, db) = (t.c.drv, t.c.db);
    t.noted_call().answer_in_place().exit(drv);
    t.push(Happening::DeadLetter { from: db, to: drv, command: "note".into() });
    assert_eq!(t.rules(), Vec::<&str>::new());
}
