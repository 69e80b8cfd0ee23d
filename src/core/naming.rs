//! The seam between the core and a naming layer: what the core asks of whatever gives services
//! names (in this crate, the group module).
//!
//! The core knows addresses only. A call or send by name, a `newservice`, a by-name message
//! that bounced off a dead address, the dependency list run before an init: the core hands
//! each of these to the [`Naming`] its runtime was built with and never names the layer that
//! answers. The crate root (`src/assemble.rs`) puts the two together when it builds a
//! [`Runtime`](crate::Runtime). So the layering `lib.rs` states holds in the code: the group
//! module is built on the core, and the core compiles without knowing it exists.

use std::any::Any;
use std::sync::Arc;

use super::cell::{CommandName, Envelope, Prelude, ServiceCell};
use super::context::{Call, Ctx};
use super::kind::{Args, KindDef};
use super::runtime::RuntimeShared;
use super::value::Value;
use crate::core::Address;

/// What the core needs from a naming layer. One per runtime, shared by all its services
/// (`RuntimeShared::naming`). `Any` so the layer can find its own data again
/// (`&*runtime.naming as &dyn Any`, then a downcast), without the core naming its type.
pub(crate) trait Naming: Any + Send + Sync {
    /// The layer's own service kinds (the group registry), installed when the runtime is
    /// built, before any user kind.
    fn kinds(&self) -> Vec<KindDef>;

    /// `Ctx::call` to a name: the answer's future (an error for a caller that cannot resolve
    /// names). Asked only when the shortcut hook (`hook.rs`) had no service this turn already
    /// reached by `name`.
    fn call_by_name(&self, caller: &Arc<ServiceCell>, name: &str, command: CommandName, args: Value) -> Call;

    /// `Ctx::send` to a name. Never fails here: a send that cannot be resolved is a dead letter
    /// (G7).
    fn send_by_name(&self, sender: &Arc<ServiceCell>, name: &str, command: CommandName, args: Value);

    /// `request`, an `Envelope::Request` sent by `name` (its `via`), bounced off `dead`, the
    /// address the name had resolved to: resolve the name again and send it there (G9).
    /// Returns the envelope if it cannot be rerouted (its sender is gone or resolves no
    /// names); the core then fails it as any message to a dead address.
    fn reroute(&self, runtime: &Arc<RuntimeShared>, dead: Address, request: Envelope) -> Option<Envelope>;

    /// `Ctx::newservice`: starts `kind` on behalf of `parent` (joining `parent`'s naming scope,
    /// if it has one) and resolves to its address once its init has returned.
    fn newservice(&self, parent: Arc<ServiceCell>, kind: &str, args: Args) -> Call;

    /// What runs before the init of a service whose kind has a dependency list (G5).
    fn prelude(&self) -> fn(Ctx) -> Prelude;
}
