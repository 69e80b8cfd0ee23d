//! skygroup: skynet-style services with a name registry per group, on a threaded backend or a
//! seeded deterministic simulator.
//!
//! Many single-threaded services live in one process and talk by `call` (request/response) and
//! `send` (one-way). Each service belongs to a **group**, one name registry per game server, so
//! one process hosts many game servers whose services never see each other's names. The rules
//! the runtime keeps are numbered G1–G17 and S1–S4 in the repository's `SEMANTICS.md`; tests name
//! the rule they check.
//!
//! # A race, on real threads
//!
//! Two players log in at once; both make the first use of the `db` name of their server, which
//! is not started yet. skygroup starts `db` exactly once and hands both the same address (G2):
//!
//! ```
//! use skygroup::{Runtime, ServiceKind, Value};
//!
//! let rt = Runtime::threaded(2);
//! rt.define(ServiceKind::stateless("boot")).unwrap();
//! rt.define(ServiceKind::stateless("db")).unwrap();
//! rt.define(ServiceKind::stateless("login").command("login", |ctx, _player: Value| async move {
//!     Ok(ctx.query("db").await?) // first use of `db` in this group: a lazy start
//! }))
//! .unwrap();
//! let server = rt.newgroup("server-1", "boot", ()).unwrap();
//! let (a, b) = rt.block_on(move |ctx| async move {
//!     let login = server.query(&ctx, "login").await.unwrap();
//!     let (a, b) = futures::join!(ctx.call(login, "login", "ana"), ctx.call(login, "login", "bo"));
//!     (a.unwrap(), b.unwrap())
//! });
//! assert_eq!(a, b);
//! ```
//!
//! # The same test, in the simulator
//!
//! A passing threaded run proves little: the scheduler may never have tried the bad order.
//! `skygroup-sim` runs the same code on one thread with every scheduling choice drawn from a
//! seed, over many seeds, and prints the seed and a replay command on failure (S1, S2):
//!
//! ```
//! # use skygroup::{ServiceKind, Value};
//! skygroup_sim::check("lib_docs::race", 0..50, |sim| {
//!     let rt = sim.runtime();
//!     rt.define(ServiceKind::stateless("boot")).unwrap();
//!     rt.define(ServiceKind::stateless("db")).unwrap();
//!     rt.define(ServiceKind::stateless("login").command("login", |ctx, _p: Value| async move {
//!         Ok(ctx.query("db").await?)
//!     }))
//!     .unwrap();
//!     let server = rt.newgroup("server-1", "boot", ()).unwrap();
//!     let (a, b) = rt.block_on(move |ctx| async move {
//!         let login = server.query(&ctx, "login").await.unwrap();
//!         futures::join!(ctx.call(login, "login", "ana"), ctx.call(login, "login", "bo"))
//!     });
//!     assert_eq!(a.unwrap(), b.unwrap());
//! });
//! ```
//!
//! Had a seed failed, the output would end with the seed, the end of its trace and a line like
//! `replay: SKYGROUP_SEED=17 cargo test --test lib_docs -- --exact race`, which reruns exactly
//! that interleaving.
//!
//! # Map
//!
//! - core runtime (`core`): [`Runtime`], [`ServiceKind`], [`Ctx`], [`Value`], [`CallError`] (what went wrong: [`CallErrorKind`]);
//! - group module (`group`): [`Group`], `Ctx::query`, `Ctx::newservice`, `Ctx::newgroup`;
//! - from outside (other threads, tokio): [`Handle`], from `Runtime::handle` (`src/handle.rs`);
//! - many nodes (`cluster`): `Runtime::join_cluster`, [`cluster::Node`], `Ctx::cluster_call` and
//!   its siblings for cluster-wide names, over a [`cluster::Transport`] (NATS in `skygroup-nats`);
//! - backends: the [`Executor`] trait, the [`Threaded`] backend, and the simulator in the
//!   `skygroup-sim` crate.
//!
//! The layers stack one way: the group module is built on the core, the core on the executor
//! seam. The core never names the group module: what it needs from a naming layer (calls and
//! sends by name, `newservice`, rerouting) goes through a small internal trait, the group
//! module answers it, and `src/assemble.rs` puts the two together in `Runtime::threaded`,
//! `Runtime::new` and `Runtime::with_executor`. The errors both layers share ([`CallError`]
//! carries a [`GroupError`]) live in a leaf module of their own. The group module takes the
//! core's shortcuts (`core/handoff.rs`) only through one narrow hook both backends answer.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod assemble;
pub mod cluster;
pub mod console;
mod core;
mod error;
pub mod executor;
pub mod gate;
mod group;
mod handle;
// Not part of the API (see its docs): public only so `skygroup-sim` and the mutation tests
// reach it.
#[doc(hidden)]
pub mod mutants;
mod threaded;

pub use crate::core::{
    Address, AddressParseError, Args, Ask, AskError, Call, CallError, CallErrorKind, Command, Ctx, DefineError,
    FromValue, IntRangeError, Kind, NoError, Opaque, PayloadError, Rejection, Responder, Runtime, RuntimeError,
    ServiceInfo, ServiceKind, ServiceRng, ServiceStats, Sleep, Target, Value, ValueError,
};
pub use executor::{Executor, ExitReason};
pub use group::{Group, GroupError, Member};
pub use handle::Handle;
pub use threaded::{Builder as ThreadedBuilder, Threaded};

/// Handlers and inits return `anyhow::Result`; re-exported so `?` and `bail!` need no extra
/// dependency.
pub use anyhow;
/// The shared byte buffer inside [`Value::Bytes`]; re-exported so payload code needs no extra
/// dependency.
pub use bytes::Bytes;
/// The traits [`ServiceRng`] implements (`RngCore`): with `rand` 0.9, `rand::Rng`'s methods
/// (`random_range`, `random_bool`, ..) work on it too.
pub use rand_chacha::rand_core;
