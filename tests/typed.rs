//! Typed commands on both backends: `ask`/`tell` against `on`/`on_sync` handlers, by address
//! and by name, interoperating with dynamic callers and handlers (same wire form), domain
//! errors coming back as their type and runtime errors staying distinct.

mod common;

use common::backend_test;
use serde::{Deserialize, Serialize};
use skygroup::{
    Address, AskError, Bytes, CallErrorKind, Command, Ctx, NoError, Rejection, Runtime, ServiceKind, Value, anyhow,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LoginRequest {
    id: u64,
    token: Bytes,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Session {
    player: u64,
    gold: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
enum LoginError {
    #[error("bad token for player {0}")]
    BadToken(u64),
    #[error("player is banned")]
    Banned,
}

struct Login;
impl Command for Login {
    const NAME: &'static str = "login";
    type Args = LoginRequest;
    type Reply = Session;
    type Error = LoginError;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("not enough gold: have {have}, need {need}")]
struct NotEnoughGold {
    have: u64,
    need: u64,
}

struct Spend;
impl Command for Spend {
    const NAME: &'static str = "spend";
    type Args = u64;
    type Reply = u64;
    type Error = NotEnoughGold;
}

/// Answered by a dynamic handler (`"echo"` on `dyn`), asked with a typed `ask`.
struct Echo;
impl Command for Echo {
    const NAME: &'static str = "echo";
    type Args = (String, i64);
    type Reply = (String, i64);
    type Error = NoError;
}

/// A command the `wallet` kind does not define.
struct Missing;
impl Command for Missing {
    const NAME: &'static str = "missing";
    type Args = ();
    type Reply = ();
    type Error = NoError;
}

/// The wallet, whose `fail` command errs with plain text (not its domain error).
struct Fail;
impl Command for Fail {
    const NAME: &'static str = "fail";
    type Args = ();
    type Reply = ();
    type Error = NotEnoughGold;
}

fn define_kinds(rt: &Runtime) {
    rt.define(ServiceKind::stateless("boot")).unwrap();
    rt.define(
        ServiceKind::new("wallet", |_ctx, (): ()| async move { Ok(10u64) })
            .on_sync(Spend, |gold: &mut u64, _ctx, need| {
                if need > *gold {
                    Err(NotEnoughGold { have: *gold, need })?
                }
                *gold -= need;
                Ok(*gold)
            })
            .on(Fail, |_ctx, ()| async move { anyhow::bail!("disk on fire") }),
    )
    .unwrap();
    // A login service in a group: asks its group's `wallet` by name.
    rt.define(ServiceKind::stateless("login").on(Login, |ctx: Ctx, req| async move {
        match req.name.as_str() {
            "mallory" => Err(LoginError::Banned)?,
            _ if req.token.len() != 32 => Err(LoginError::BadToken(req.id))?,
            _ => {}
        }
        let gold = ctx.ask::<Spend>("wallet", 0).await?;
        Ok(Session { player: req.id, gold })
    }))
    .unwrap();
    rt.define(ServiceKind::stateless("dyn").command("echo", |_ctx, v: Value| async move { Ok(v) }).command(
        "refuse",
        |_ctx, _v: Value| async move {
            Err::<(), _>(Rejection::new("closed for the night", Value::map([("reopens", 8)])).into())
        },
    ))
    .unwrap();
}

fn request(id: u64, name: &str) -> LoginRequest {
    LoginRequest { id, token: Bytes::from(vec![7; 32]), name: name.into() }
}

/// Starts a group whose `login` is queried; returns its address.
fn login_service(rt: &Runtime) -> Address {
    let server = rt.newgroup("server-1", "boot", ()).unwrap();
    rt.block_on(move |ctx| async move { server.query(&ctx, "login").await.unwrap() })
}

backend_test! {
    // checks G8: a typed ask by address gets the typed reply; the handler's own typed ask by
    // name (a lazy start, G2) works inside a group.
    fn typed_ask_by_address_and_name(rt) {
        define_kinds(&rt);
        let login = login_service(&rt);
        let session = rt.block_on(move |ctx| async move { ctx.ask::<Login>(login, request(u64::MAX, "ana")).await });
        let err = session.unwrap_err();
        assert!(matches!(&err, AskError::Payload { command: "login", .. }), "{err}");
        let session = rt.block_on(move |ctx| async move { ctx.ask::<Login>(login, request(42, "ana")).await });
        assert_eq!(session.unwrap(), Session { player: 42, gold: 10 });
    }
}

backend_test! {
    // checks G8: a handler's domain error comes back as its type (typed and dynamic), and
    // runtime failures stay runtime failures.
    fn domain_errors_come_back_typed(rt) {
        define_kinds(&rt);
        let login = login_service(&rt);
        let wallet = rt.spawn("wallet", ()).unwrap();
        let (banned, bad, short, left) = rt.block_on(move |ctx| async move {
            let banned = ctx.ask::<Login>(login, request(1, "mallory")).await;
            let mut short_token = request(2, "bo");
            short_token.token = Bytes::from_static(b"short");
            let bad = ctx.ask::<Login>(login, short_token).await;
            let short = ctx.ask::<Spend>(wallet, 11).await;
            let left = ctx.ask::<Spend>(wallet, 4).await;
            (banned, bad, short, left)
        });
        assert!(matches!(banned, Err(AskError::Rejected { error: LoginError::Banned, .. })));
        let Err(AskError::Rejected { error, call }) = bad else { panic!("{bad:?}") };
        assert_eq!(error, LoginError::BadToken(2));
        assert_eq!(call.to_string(), format!("service login ({login}) refused `login`: bad token for player 2"));
        assert!(matches!(short, Err(AskError::Rejected { error: NotEnoughGold { have: 10, need: 11 }, .. })));
        assert_eq!(left.unwrap(), 6);

        // the dynamic view of the same refusal: `Rejected`, with the error as a value
        let err = rt.block_on(move |ctx| async move { ctx.call(wallet, "spend", 7).await }).unwrap_err();
        let CallErrorKind::Rejected { error, message, command, .. } = err.kind() else { panic!("{err}") };
        assert_eq!((command.as_str(), message.as_str()), ("spend", "not enough gold: have 6, need 7"));
        assert_eq!(error, &Value::map([("have", 6), ("need", 7)]));

        let (missing, fail) = rt.block_on(move |ctx| async move {
            (ctx.ask::<Missing>(wallet, ()).await, ctx.ask::<Fail>(wallet, ()).await)
        });
        let kind = missing.unwrap_err().call_error().map(|e| e.kind().clone());
        assert!(matches!(kind, Some(CallErrorKind::UnknownCommand { .. })), "{kind:?}");
        let Err(AskError::Call(fail)) = fail else { panic!("{fail:?}") };
        assert!(matches!(fail.kind(), CallErrorKind::Handler { message, .. } if message == "disk on fire"));
        assert!(rt.kill(wallet));
        let gone = rt.block_on(move |ctx| async move { ctx.ask::<Spend>(wallet, 1).await });
        assert!(matches!(gone, Err(AskError::Call(_))), "{gone:?}");
    }
}

backend_test! {
    // checks G8: the wire form is the dynamic one, both ways: a dynamic call reaches a typed
    // handler, a typed ask a dynamic handler, and a dynamic `Rejection` is a rejected call.
    fn typed_and_dynamic_interoperate(rt) {
        define_kinds(&rt);
        let login = login_service(&rt);
        let d = rt.spawn("dyn", ()).unwrap();
        let (by_name, echoed, refused) = rt.block_on(move |ctx| async move {
            let req = Value::map([
                ("id", Value::Int(5)),
                ("token", Value::from(vec![1u8; 32])),
                ("name", Value::from("cy")),
            ]);
            let by_name = ctx.call(login, "login", req).await;
            let echoed = ctx.ask::<Echo>(d, ("hi".to_owned(), 3)).await;
            let refused = ctx.call(d, "refuse", ()).await;
            (by_name, echoed, refused)
        });
        assert_eq!(by_name.unwrap(), Value::map([("player", 5), ("gold", 10)]));
        assert_eq!(echoed.unwrap(), ("hi".to_owned(), 3));
        let err = refused.unwrap_err();
        let CallErrorKind::Rejected { error, .. } = err.kind() else { panic!("{err}") };
        assert_eq!(error, &Value::map([("reopens", 8)]));
    }
}

backend_test! {
    // checks G6, G7: a typed tell is a send (in order with the call after it).
    fn typed_tell_is_a_send(rt) {
        define_kinds(&rt);
        let wallet = rt.spawn("wallet", ()).unwrap();
        let left = rt.block_on(move |ctx| async move {
            ctx.tell::<Spend>(wallet, 3).unwrap();
            ctx.tell::<Spend>(wallet, 100).unwrap(); // refused: the reply (an error) is dropped
            ctx.ask::<Spend>(wallet, 0).await
        });
        assert_eq!(left.unwrap(), 7);
    }
}

/// A simulator trace shows a typed payload as readably as a dynamic one: a struct is a map by
/// field names.
#[test]
fn traces_show_typed_payloads_by_field() {
    let sim = skygroup_sim::Sim::builder(1).trace(true).build();
    let rt = sim.runtime();
    define_kinds(&rt);
    let wallet = rt.spawn("wallet", ()).unwrap();
    let login = login_service(&rt);
    let _ = rt.block_on(move |ctx| async move {
        let _ = ctx.ask::<Spend>(wallet, 1).await;
        ctx.ask::<Login>(login, request(9, "di")).await
    });
    let trace = sim.trace().join("\n");
    assert!(trace.contains(r#"{id: 9, name: "di", token: b""#), "{trace}");
}

/// `dyn`'s `echo`, asked with any payload type (the types typed commands convert without serde
/// among them).
struct Pass<T>(std::marker::PhantomData<T>);
impl<T: Serialize + serde::de::DeserializeOwned + Send + 'static> Command for Pass<T> {
    const NAME: &'static str = "echo";
    type Args = T;
    type Reply = T;
    type Error = NoError;
}

/// `dyn`'s `echo` asked for a number with a string: its reply is not an `i64`.
struct Mismatch;
impl Command for Mismatch {
    const NAME: &'static str = "echo";
    type Args = String;
    type Reply = i64;
    type Error = NoError;
}

backend_test! {
    // checks G8: common payload types (converted without serde's machinery) keep the wire form
    // and the errors of the serde mapping: a dynamic handler sees the value serde makes, and
    // what serde refuses is refused before anything is sent.
    fn common_payloads_keep_the_wire_form(rt) {
        define_kinds(&rt);
        let d = rt.spawn("dyn", ()).unwrap();
        let addr = rt.spawn("dyn", ()).unwrap();
        let nested = Value::map([("to", Value::from(addr)), ("xs", Value::from(vec![Value::Float(f64::NAN)]))]);
        let sent = nested.clone();
        let (s, a, v, big, f) = rt.block_on(move |ctx| async move {
            (
                ctx.ask::<Pass<String>>(d, "héllo".into()).await,
                ctx.ask::<Pass<Address>>(d, addr).await,
                ctx.ask::<Pass<Value>>(d, sent).await,
                ctx.ask::<Pass<u64>>(d, i64::MAX as u64).await,
                ctx.ask::<Pass<f64>>(d, -0.0).await,
            )
        });
        assert_eq!(s.unwrap(), "héllo");
        assert_eq!(a.unwrap(), addr);
        assert_eq!(v.unwrap(), nested);
        assert_eq!(big.unwrap(), i64::MAX as u64);
        assert_eq!(f.unwrap().to_bits(), (-0.0f64).to_bits());

        let (too_big, opaque, wrong) = rt.block_on(move |ctx| async move {
            (
                ctx.ask::<Pass<u64>>(d, u64::MAX).await,
                ctx.ask::<Pass<Value>>(d, Value::List(vec![Value::opaque(1u8)])).await,
                ctx.ask::<Echo>(d, ("x".into(), 1)).await.map(|_| ()),
            )
        });
        let Err(AskError::Payload { error, .. }) = too_big else { panic!("{too_big:?}") };
        assert!(error.to_string().contains("out of range"), "{error}");
        let Err(AskError::Payload { error, .. }) = opaque else { panic!("{opaque:?}") };
        assert!(error.to_string().contains("opaque"), "{error}");
        wrong.unwrap();
        // a reply of another shape than the fast path's type: serde's error, naming the command
        let mismatch = rt.block_on(move |ctx| async move { ctx.ask::<Mismatch>(d, "seven".into()).await });
        let Err(AskError::Payload { command: "echo", error }) = mismatch else { panic!("{mismatch:?}") };
        assert!(error.to_string().contains("expected i64"), "{error}");
    }
}
