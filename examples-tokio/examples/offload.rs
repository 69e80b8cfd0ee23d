//! Offloading work a handler must not do itself: blocking calls and tokio-bound futures.
//!
//! A handler may await anything that is woken through its `Waker` only (another service's
//! call, a channel). It must not block (file I/O, a blocking database client, a long
//! computation) nor await tokio's reactor-bound futures (`tokio::time::sleep`, `tokio::net`),
//! which need a tokio runtime on the polling thread. So the `profile` service hands such work to
//! tokio, two ways:
//!
//! 1. `load`: spawn it on tokio and answer at once; the tokio task delivers the result later as
//!    a message (`loaded`) through a [`skygroup::Handle`]. The service never waits.
//! 2. `load_wait`: spawn it on tokio and await a `tokio::sync::oneshot` for the result: that
//!    receiver needs only the `Waker`, so awaiting it in a handler is fine, and the service
//!    keeps taking other messages meanwhile (G12).
//!
//! Run: `cargo run -p skygroup-examples-tokio --example offload`

use std::collections::BTreeMap;
use std::time::Duration;

use skygroup::{Ctx, Handle, Runtime, ServiceKind, Value, anyhow};

/// What the service is given at init: where to offload, and how results come back.
struct Offload {
    tokio: tokio::runtime::Handle,
    back: Handle,
}

#[derive(Default)]
struct Profiles {
    offload: Option<Offload>,
    loaded: BTreeMap<String, String>,
}

/// Stands for a slow lookup that needs tokio (an HTTP request) and a blocking step after it.
async fn fetch(player: String) -> String {
    tokio::time::sleep(Duration::from_millis(20)).await;
    let digest = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(5)); // a blocking client, a heavy computation
        format!("{player}: level {}", player.len() * 7)
    });
    digest.await.expect("the blocking step does not panic")
}

fn profile_kind() -> ServiceKind<Profiles> {
    ServiceKind::new("profile", |_ctx, offload: Offload| async move {
        Ok(Profiles { offload: Some(offload), loaded: BTreeMap::new() })
    })
    // Way 1: start the work on tokio, answer now; the result comes back as a message.
    .command("load", |ctx: Ctx<Profiles>, player: Value| async move {
        let player = String::try_from(player)?;
        let (tokio, back) = ctx.with_state(|p| {
            let o = p.offload.as_ref().expect("set at init");
            (o.tokio.clone(), o.back.clone())
        });
        let me = ctx.address();
        tokio.spawn(async move {
            let profile = fetch(player.clone()).await;
            // Delivered like any message; fails only if the runtime is gone.
            let _ = back.send(me, "loaded", (player, profile));
        });
        Ok("loading")
    })
    .command("loaded", |ctx: Ctx<Profiles>, loaded: Value| async move {
        let (player, profile): (String, String) = loaded.try_into()?;
        ctx.with_state(|p| p.loaded.insert(player, profile));
        Ok(())
    })
    // Way 2: await the tokio work through a oneshot (Waker-only) inside the handler.
    .command("load_wait", |ctx: Ctx<Profiles>, player: Value| async move {
        let player = String::try_from(player)?;
        let tokio = ctx.with_state(|p| p.offload.as_ref().expect("set at init").tokio.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio.spawn(async move {
            let _ = tx.send(fetch(player).await);
        });
        let profile = rx.await.map_err(|_| anyhow::anyhow!("the tokio task was dropped"))?;
        Ok(profile)
    })
    .command("loaded_profiles", |ctx: Ctx<Profiles>, _: Value| async move {
        Ok(ctx.with_state(|p| p.loaded.clone().into_iter().collect::<Vec<_>>()))
    })
}

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let rt = Runtime::threaded(2);
    rt.define(profile_kind()).unwrap();
    let offload = Offload { tokio: tokio.handle().clone(), back: rt.handle() };
    let profiles = rt.spawn("profile", offload).unwrap();

    let out = rt.block_on(move |ctx| async move {
        // Way 2: the handler waits on tokio, the caller on the handler.
        let waited = ctx.call(profiles, "load_wait", "ana").await?;
        println!("load_wait ana -> {waited}");
        // Way 1: answers at once; the profiles arrive as `loaded` messages later.
        for player in ["bo", "cy"] {
            println!("load {player} -> {}", ctx.call(profiles, "load", player).await?);
        }
        loop {
            let loaded = Vec::<Value>::try_from(ctx.call(profiles, "loaded_profiles", ()).await?)?;
            if loaded.len() == 2 {
                return anyhow::Ok(loaded);
            }
            ctx.sleep(Duration::from_millis(5)).await; // skygroup's timer, not tokio's
        }
    });
    for entry in out.unwrap() {
        println!("loaded {entry}");
    }
    drop(rt);
    tokio.shutdown_timeout(Duration::from_secs(1));
}
