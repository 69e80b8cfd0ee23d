//! The group module as the runtime's naming layer: its answers to the core's `Naming` seam,
//! and the data it keeps per runtime (the list of groups).
//!
//! The core calls in here for everything by name (see `core/naming.rs`); the group module finds
//! its own data again from any `RuntimeShared` through [`directory`].

use std::any::Any;
use std::sync::Arc;

use super::{Directory, names, registry, start};
use crate::core::{Address, Args, Call, CommandName, Ctx, Envelope, KindDef, Naming, Prelude, RuntimeShared};
use crate::core::{ServiceCell, Value};

/// The group layer of one runtime.
#[derive(Default)]
pub(crate) struct Groups {
    /// The runtime's groups, by creation order.
    directory: Directory,
}

impl Naming for Groups {
    fn kinds(&self) -> Vec<KindDef> {
        vec![registry::registry_kind().into_def()]
    }

    fn call_by_name(&self, caller: &Arc<ServiceCell>, name: &str, command: CommandName, args: Value) -> Call {
        names::call_by_name(caller, name, command, args)
    }

    fn send_by_name(&self, sender: &Arc<ServiceCell>, name: &str, command: CommandName, args: Value) {
        names::send_by_name(sender, name, command, args);
    }

    fn reroute(&self, runtime: &Arc<RuntimeShared>, dead: Address, request: Envelope) -> Option<Envelope> {
        names::reroute(runtime, dead, request)
    }

    fn newservice(&self, parent: Arc<ServiceCell>, kind: &str, args: Args) -> Call {
        start::newservice(parent, kind, args)
    }

    fn prelude(&self) -> fn(Ctx) -> Prelude {
        start::resolve_dependencies
    }
}

/// The list of groups of `runtime`, which the group layer was built into (`src/assemble.rs`).
pub(crate) fn directory(runtime: &RuntimeShared) -> &Directory {
    let naming: &dyn Any = &*runtime.naming;
    let groups = naming.downcast_ref::<Groups>().expect("every runtime is assembled with the group layer");
    &groups.directory
}
