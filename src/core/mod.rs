//! The core runtime: services, their mailboxes and tasks, call/send, and the runtime that owns
//! them. No group logic lives here (see `crate::group`), and no threads, clock or randomness
//! (see `crate::executor`).

mod address;
mod cell;
mod context;
mod error;
mod handoff;
mod kind;
mod memo;
mod outbox;
mod responder;
mod runtime;
mod schedule;
mod session;
mod table;
mod turn;
mod value;

pub use address::Address;
pub use context::{Call, Ctx, Sleep, Target};
pub use error::{CallError, CallErrorKind, DefineError, RuntimeError};
pub use kind::{Args, ServiceKind};
pub use responder::Responder;
pub use runtime::{Runtime, ServiceInfo, ServiceStats};
pub use value::{FromValue, Opaque, Value, ValueError};

pub(crate) use cell::{CommandName, Envelope, Name, Prelude, ServiceCell, intern, lock};
pub(crate) use context::call_address;
pub(crate) use memo::{give_back_reached, remember_name, take_reached};
pub(crate) use runtime::{RuntimeShared, SpawnOptions};
pub(crate) use session::Reply;
pub(crate) use table::NumberHasher;
pub(crate) use turn::panic_message;
