//! Starting services in a group: `newservice`, and the dependency list resolved before init.

use std::sync::Arc;

use futures::FutureExt;

use super::{GroupError, GroupShared, Membership, membership};
use crate::core::{Address, Args, Call, Ctx, SpawnOptions, Value};

/// Options for a service joining `group`: its name table, and its dependencies resolved
/// before its init (G5).
pub(crate) fn group_options(group: &Arc<GroupShared>) -> SpawnOptions {
    SpawnOptions {
        membership: Some(Membership::for_group(group.clone())),
        group: Some(group.id),
        prelude: Some(Box::new(resolve_dependencies)),
        ..SpawnOptions::default()
    }
}

/// Resolves every name of the kind's dependency list, in order, in the new service's group.
/// Runs as the first part of its init, so a failure is an init failure naming the dependency.
pub(crate) fn resolve_dependencies(ctx: Ctx) -> crate::core::Prelude {
    let names = ctx.cell.kind.depends_on.clone();
    async move {
        for name in names {
            if let Err(e) = ctx.query(&name).await {
                anyhow::bail!("dependency `{name}` failed: {e}");
            }
        }
        Ok(())
    }
    .boxed()
}

/// Makes `instance`, just started as a `kind` in `group`, a member: listed at once, so the
/// listing shows it by the time `newservice` (or `newgroup`) returns (G11); the registry's
/// `_member` then watches it, and stops it if the group has closed meanwhile.
pub(crate) fn join<S: 'static>(ctx: &Ctx<S>, group: &GroupShared, instance: Address, kind: &str) {
    group.listing().members.insert(instance, kind.to_owned());
    ctx.send(group.registry(), "_member", (instance, kind));
}

/// `newservice` for a service in a group (the new one joins it and may become the binding,
/// G4) or outside any (a plain service).
pub(crate) fn newservice(cell: Arc<crate::core::ServiceCell>, kind: &str, args: Args) -> Call {
    let ctx: Ctx = Ctx::new(cell);
    let Some(group) = membership(&ctx.cell).map(|m| m.group.clone()) else {
        let options = SpawnOptions { prelude: Some(Box::new(resolve_dependencies)), ..SpawnOptions::default() };
        return ctx.start(kind, args, options).1;
    };
    if group.is_closed() {
        let error = GroupError::ShutDown { group: group.label.clone(), name: kind.to_owned() };
        return Call::boxed(async move { Err(error.into()) });
    }
    let (instance, init) = ctx.start(kind, args, group_options(&group));
    let Ok(instance) = instance else { return init };
    let registry = group.registry();
    let kind = kind.to_owned();
    join(&ctx, &group, instance, &kind);
    Call::boxed(async move {
        let address = init.await?;
        ctx.send(registry, "_register", (kind, instance));
        Ok::<Value, _>(address)
    })
}
