//! skygroup: skynet-style services with a name registry per group, on a threaded backend or a
//! seeded deterministic simulator.
#![forbid(unsafe_code)]

mod core;
pub mod executor;
mod group;
mod threaded;

pub use crate::core::{
    Address, Args, Call, CallError, Ctx, DefineError, FromValue, Opaque, Responder, Runtime, ServiceInfo, ServiceKind,
    ServiceStats, Sleep, Target, Value, ValueError,
};
pub use executor::{Executor, ExitReason};
pub use group::{Group, GroupError, Member};
pub use threaded::Threaded;
pub use anyhow;
