//! The core runtime: services, their mailboxes and tasks, call/send, and the runtime that owns
//! them. No group logic lives here, and no threads, clock or randomness (see
//! `crate::executor`). The core does not know the group module: what it needs from a naming
//! layer goes through the [`Naming`] seam (`naming.rs`), and what a layer may use of the
//! core's fast paths goes through the shortcut hook (`hook.rs`). The crate root
//! (`src/assemble.rs`) puts the layers together.

mod address;
mod cell;
mod command;
mod context;
mod declared;
mod delivery;
mod direct;
mod error;
mod exit;
mod handoff;
mod hook;
mod init_notice;
mod kept_cells;
mod kind;
mod memo;
mod naming;
pub(crate) mod observe;
mod outbox;
mod remote;
mod responder;
mod rng;
mod runtime;
mod schedule;
mod sequence_map;
mod session;
mod slot;
mod table;
mod turn;
mod typed_payload;
mod value;
mod value_serde;
mod waker;
mod watchers;
pub(crate) mod wire;

pub use address::{Address, AddressParseError, NodeId};
pub use command::{Ask, AskError, Command, NoError, Rejection};
pub use context::{Call, Ctx, Sleep, Target};
pub use declared::Kind;
pub use error::{CallError, CallErrorKind, DefineError, RuntimeError};
pub use kind::{Args, ServiceKind};
pub use responder::Responder;
pub use rng::ServiceRng;
pub use runtime::{Runtime, ServiceInfo, ServiceStats};
pub use value::{FromValue, IntRangeError, Opaque, Value, ValueError};
pub use value_serde::PayloadError;

pub(crate) use cell::{CommandName, Envelope, Name, Prelude, ServiceCell, intern, lock};
pub(crate) use context::call_address;
pub(crate) use kind::KindDef;
pub(crate) use naming::Naming;
pub(crate) use remote::Remote;
pub(crate) use runtime::{RuntimeShared, SpawnOptions};
pub(crate) use session::Reply;
pub(crate) use table::NumberHasher;
pub(crate) use turn::panic_message;
