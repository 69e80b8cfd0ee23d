//! Kinds for the gate tests: a `watchdog` that logs what its gate tells it (into a list the
//! test reads) and echoes frames, and a `server_boot` that starts a gate in a group.

use std::sync::{Arc, Mutex};

use skygroup::executor::ConnId;
use skygroup::gate::{Closed, Frame, GateConfig, GateRef, Opened};
use skygroup::{Address, Ctx, ServiceKind, Value};

/// What a watchdog saw, in order: `open 3`, `data 3 hi`, `close 3 kicked 0`, `error ..`.
pub type Seen = Arc<Mutex<Vec<String>>>;

/// A watchdog (also usable as an agent) whose gate is the one it starts in its init with the
/// config it is given (`listen` and limits; `watchdog` is set to itself). It echoes every frame
/// back unless the frame is `quiet`, and logs everything into `seen`.
pub fn watchdog_kind(name: &str, seen: Seen) -> ServiceKind<Option<GateRef>> {
    let (s1, s2, s3, s4) = (seen.clone(), seen.clone(), seen.clone(), seen);
    let kind = ServiceKind::new(name, |ctx: Ctx<Option<GateRef>>, config: Option<MakeConfig>| async move {
        let Some(config) = config else { return Ok(None) };
        let gate = ctx.newservice("gate", config(ctx.address())).await?;
        Ok(Some(GateRef(Address::try_from(gate)?)))
    })
    .command("open", move |_ctx, v: Value| {
        let seen = s1.clone();
        async move {
            let o = Opened::try_from(v)?;
            seen.lock().unwrap().push(format!("open {}", o.conn.0));
            Ok(())
        }
    })
    .command("data", move |ctx: Ctx<Option<GateRef>>, v: Value| {
        let seen = s2.clone();
        async move {
            let f = Frame::try_from(v)?;
            seen.lock().unwrap().push(format!("data {} {}", f.conn.0, String::from_utf8_lossy(&f.bytes)));
            if f.bytes != b"quiet"
                && let Some(gate) = ctx.with_state(|g| *g)
            {
                gate.write(&ctx, f.conn, f.bytes);
            }
            Ok(())
        }
    })
    .command("close", move |_ctx, v: Value| {
        let seen = s3.clone();
        async move {
            let c = Closed::try_from(v)?;
            seen.lock().unwrap().push(format!("close {} {} {}", c.conn.0, c.reason, c.partial));
            Ok(())
        }
    })
    .command("error", move |_ctx, v: Value| {
        let seen = s4.clone();
        async move {
            seen.lock().unwrap().push(format!("error {}", String::try_from(v)?));
            Ok(())
        }
    })
    .command("gate", |ctx: Ctx<Option<GateRef>>, _v: Value| async move {
        Ok(ctx.with_state(|g| g.map(|g| Value::Address(g.0))).unwrap_or_default())
    });
    with_controls(kind)
}

/// The commands a test drives a watchdog's gate with: `kick`, `forward`, `flood`, `drip`.
fn with_controls(kind: ServiceKind<Option<GateRef>>) -> ServiceKind<Option<GateRef>> {
    kind.command("kick", |ctx: Ctx<Option<GateRef>>, v: Value| async move {
        let gate = ctx.with_state(|g| *g).ok_or_else(|| skygroup::anyhow::anyhow!("no gate"))?;
        gate.kick(&ctx, ConnId(i64::try_from(v)? as u64));
        Ok(())
    })
    .command("forward", |ctx: Ctx<Option<GateRef>>, v: Value| async move {
        let (conn, agent): (i64, Address) = v.try_into()?;
        let gate = ctx.with_state(|g| *g).ok_or_else(|| skygroup::anyhow::anyhow!("no gate"))?;
        Ok(gate.forward(&ctx, ConnId(conn as u64), agent).await?)
    })
    .command("drip", |ctx: Ctx<Option<GateRef>>, v: Value| async move {
        // `frames` frames of `size` bytes to `conn`, one every `gap_us` microseconds.
        let (conn, frames, size, gap_us): (i64, i64, i64, i64) = v.try_into()?;
        let gate = ctx.with_state(|g| *g).ok_or_else(|| skygroup::anyhow::anyhow!("no gate"))?;
        for _ in 0..frames {
            gate.write(&ctx, ConnId(conn as u64), vec![b'x'; size as usize]);
            ctx.sleep(std::time::Duration::from_micros(gap_us as u64)).await;
        }
        Ok(())
    })
    .command("flood", |ctx: Ctx<Option<GateRef>>, v: Value| async move {
        let (conn, frames, size): (i64, i64, i64) = v.try_into()?;
        let gate = ctx.with_state(|g| *g).ok_or_else(|| skygroup::anyhow::anyhow!("no gate"))?;
        for _ in 0..frames {
            gate.write(&ctx, ConnId(conn as u64), vec![b'x'; size as usize]);
        }
        Ok(())
    })
}

/// A watchdog's init argument: its gate's config, made once its address is known.
pub type MakeConfig = Box<dyn FnOnce(Address) -> GateConfig + Send>;

/// A config for tests on 127.0.0.1, any port, changed by `tweak`.
pub fn config(tweak: impl FnOnce(&mut GateConfig) + Send + 'static) -> Option<MakeConfig> {
    Some(Box::new(move |watchdog| {
        let mut config = GateConfig::new("127.0.0.1:0", watchdog);
        tweak(&mut config);
        config
    }))
}

/// `payload` with skynet's 2-byte length prefix.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// The lines of `seen` that start with `prefix`.
pub fn lines(seen: &Seen, prefix: &str) -> Vec<String> {
    seen.lock().unwrap().iter().filter(|l| l.starts_with(prefix)).cloned().collect()
}
