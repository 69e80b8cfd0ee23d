//! Typed commands against the dynamic path they are built on, and the payload formats.
//!
//! Calls and sends: the same workloads as `skygroup_side` (sequential echo calls; a flood of
//! sends then one call), once through `ask`/`tell` and `on`/`on_sync` handlers and once through
//! `call`/`send` and `command`/`command_sync` handlers, with the same payload (an integer, so
//! the figure is the typed layer's own cost: serde to and from `Value`, the `Ask` future). The
//! dynamic run is the row's baseline; the target is that typed costs at most 10% more
//! (`>= 0.91x`).
//!
//! Formats: a login request (u64 id, 32-byte token, short name) encoded and decoded per second
//! by skygroup's binary form (serde -> `Value` -> MessagePack and back, what crosses a process
//! boundary), by rmp-serde (MessagePack straight from serde) and by postcard (compact, not
//! self-describing); the label carries each encoding's size.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use skygroup::{Bytes, Command, NoError, Runtime, ServiceKind, Value};

use crate::measure::Sample;
use crate::skygroup_side::workers;

/// Which handler form a workload's service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `command` / `on`: an async handler (a future per message).
    Async,
    /// `command_sync` / `on_sync`: a plain function of the state.
    Sync,
}

/// Which caller API a run uses.
#[derive(Debug, Clone, Copy)]
pub enum Path {
    Typed,
    Dynamic,
}

struct Echo;
impl Command for Echo {
    const NAME: &'static str = "echo";
    type Args = i64;
    type Reply = i64;
    type Error = NoError;
}

struct Add;
impl Command for Add {
    const NAME: &'static str = "add";
    type Args = i64;
    type Reply = ();
    type Error = NoError;
}

struct Get;
impl Command for Get {
    const NAME: &'static str = "get";
    type Args = ();
    type Reply = i64;
    type Error = NoError;
}

fn echo_kind(path: Path, form: Form) -> ServiceKind<i64> {
    let kind = ServiceKind::new("echo", |_ctx, (): ()| async { Ok(0i64) });
    match (path, form) {
        (Path::Typed, Form::Async) => kind.on(Echo, |_ctx, v| async move { Ok(v) }),
        (Path::Typed, Form::Sync) => kind.on_sync(Echo, |_s, _ctx, v| Ok(v)),
        (Path::Dynamic, Form::Async) => kind.command("echo", |_ctx, v: Value| async move { Ok(i64::try_from(v)?) }),
        (Path::Dynamic, Form::Sync) => kind.command_sync("echo", |_s, _ctx, v: Value| Ok(i64::try_from(v)?)),
    }
}

fn counter_kind(path: Path, form: Form) -> ServiceKind<i64> {
    let kind = ServiceKind::new("counter", |_ctx, (): ()| async { Ok(0i64) });
    match (path, form) {
        (Path::Typed, Form::Async) => kind
            .on(Add, |ctx: skygroup::Ctx<i64>, by| async move {
                ctx.with_state(|n| *n += by);
                Ok(())
            })
            .on(Get, |ctx: skygroup::Ctx<i64>, ()| async move { Ok(ctx.with_state(|n| *n)) }),
        (Path::Typed, Form::Sync) => kind
            .on_sync(Add, |n, _ctx, by| {
                *n += by;
                Ok(())
            })
            .on_sync(Get, |n, _ctx, ()| Ok(*n)),
        (Path::Dynamic, Form::Async) => kind
            .command("add", |ctx: skygroup::Ctx<i64>, by: Value| async move {
                let by = i64::try_from(by)?;
                ctx.with_state(|n| *n += by);
                Ok(())
            })
            .command("get", |ctx: skygroup::Ctx<i64>, _v: Value| async move { Ok(ctx.with_state(|n| *n)) }),
        (Path::Dynamic, Form::Sync) => kind
            .command_sync("add", |n, _ctx, by: Value| {
                *n += i64::try_from(by)?;
                Ok(())
            })
            .command_sync("get", |n, _ctx, _v: Value| Ok(*n)),
    }
}

/// `n` sequential calls to an echo service, checking each answer.
pub fn calls(path: Path, form: Form, n: u64) -> Sample {
    let rt = Runtime::threaded(workers());
    rt.define(echo_kind(path, form)).expect("define echo");
    let echo = rt.spawn("echo", ()).expect("spawn echo");
    let elapsed = rt.block_on(move |ctx| async move {
        let start = Instant::now();
        for i in 0..n as i64 {
            let reply = match path {
                Path::Typed => ctx.ask::<Echo>(echo, i).await.expect("echo answers"),
                Path::Dynamic => i64::try_from(ctx.call(echo, "echo", i).await.expect("echo answers")).expect("an int"),
            };
            assert_eq!(reply, i, "echo answered the wrong value");
        }
        start.elapsed()
    });
    Sample::new(n, elapsed)
}

/// `n` sends of `add 1` to a counter, then one call `get` (ordered after them).
pub fn sends(path: Path, form: Form, n: u64) -> Sample {
    let rt = Runtime::threaded(workers());
    rt.define(counter_kind(path, form)).expect("define counter");
    let counter = rt.spawn("counter", ()).expect("spawn counter");
    let elapsed = rt.block_on(move |ctx| async move {
        ctx.call(counter, "get", ()).await.expect("counter answers"); // untimed: init done
        let start = Instant::now();
        for _ in 0..n {
            match path {
                Path::Typed => ctx.tell::<Add>(counter, 1).expect("an int"),
                Path::Dynamic => ctx.send(counter, "add", 1),
            }
        }
        let count = match path {
            Path::Typed => ctx.ask::<Get>(counter, ()).await.expect("counter answers"),
            Path::Dynamic => i64::try_from(ctx.call(counter, "get", ()).await.expect("counter answers")).expect("int"),
        };
        assert_eq!(count, n as i64, "the counter missed sends");
        start.elapsed()
    });
    Sample::new(n, elapsed)
}

/// A typical game message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginRequest {
    id: u64,
    token: Bytes,
    name: String,
}

fn login() -> LoginRequest {
    LoginRequest { id: 1_234_567_890, token: Bytes::from((0..32).collect::<Vec<u8>>()), name: "ana_the_brave".into() }
}

/// The formats compared on a login request.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    /// serde -> `Value` -> MessagePack (`Value::to_bytes`) and back: the dynamic wire form.
    SkygroupWire,
    /// rmp-serde, structs as maps (MessagePack straight from serde).
    RmpSerde,
    /// postcard (varints, no field names, not self-describing).
    Postcard,
}

fn encode(format: Format, req: &LoginRequest) -> Vec<u8> {
    match format {
        Format::SkygroupWire => Value::from_serialize(req).and_then(|v| v.to_bytes()).expect("encodes"),
        Format::RmpSerde => rmp_serde::to_vec_named(req).expect("encodes"),
        Format::Postcard => postcard::to_allocvec(req).expect("encodes"),
    }
}

fn decode(format: Format, bytes: &[u8]) -> LoginRequest {
    match format {
        Format::SkygroupWire => Value::from_bytes(bytes).and_then(Value::deserialize_into).expect("decodes"),
        Format::RmpSerde => rmp_serde::from_slice(bytes).expect("decodes"),
        Format::Postcard => postcard::from_bytes(bytes).expect("decodes"),
    }
}

/// The size of a login request in `format`.
pub fn encoded_size(format: Format) -> usize {
    encode(format, &login()).len()
}

/// `n` encode-then-decode round trips of a login request.
pub fn round_trips(format: Format, n: u64) -> Sample {
    let req = login();
    let start = Instant::now();
    for _ in 0..n {
        let bytes = encode(format, std::hint::black_box(&req));
        let back = decode(format, std::hint::black_box(&bytes));
        assert_eq!(back.id, req.id);
    }
    Sample::new(n, start.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rmp-serde's MessagePack (structs as maps) is the same wire form as `Value::to_bytes`: a
    /// typed payload could skip the `Value` step at a process boundary, and either side reads
    /// the other's bytes.
    #[test]
    fn rmp_serde_bytes_are_the_wire_form() {
        let req = login();
        let direct = rmp_serde::to_vec_named(&req).unwrap();
        let through_value = encode(Format::SkygroupWire, &req);
        assert_eq!(Value::from_bytes(&direct).unwrap(), Value::from_serialize(&req).unwrap());
        assert_eq!(rmp_serde::from_slice::<LoginRequest>(&through_value).unwrap(), req);
        assert_eq!(decode(Format::Postcard, &encode(Format::Postcard, &req)), req);
    }
}
