//! Groups (stub while the core lands).
use std::sync::Arc;
use crate::core::{Args, Call, CommandName, ServiceCell, ServiceKind, Value, CallError, Ctx, SpawnOptions};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GroupError {
    #[error("service {service} ({address}) is not in a group: it cannot resolve `{name}`")]
    NotInGroup { service: String, address: crate::Address, name: String },
}

#[derive(Default)]
pub(crate) struct Directory;
pub struct Group;

pub(crate) fn registry_kind() -> ServiceKind<()> { ServiceKind::stateless("_registry") }

pub(crate) fn call_by_name(cell: Arc<ServiceCell>, name: &str, _c: CommandName, _a: Value) -> Call {
    let e: CallError = GroupError::NotInGroup { service: cell.name().into(), address: cell.address, name: name.into() }.into();
    Call::boxed(async move { Err(e) })
}
pub(crate) fn send_by_name(_cell: &Arc<ServiceCell>, _name: &str, _c: CommandName, _a: Value) {}
pub(crate) fn newservice(cell: Arc<ServiceCell>, kind: &str, args: Args) -> Call {
    let ctx: Ctx = Ctx::new(cell);
    Call::reply(ctx.spawn_with(kind, args, SpawnOptions { parent: Some(ctx.address()), ..Default::default() }))
}
