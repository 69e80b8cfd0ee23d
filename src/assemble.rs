//! Where the layers are put together: a [`Runtime`] is the core, on an executor, with the
//! group module as its naming layer.
//!
//! The core (`core/`) knows nothing of groups: it asks the `Naming` seam (`core/naming.rs`)
//! for everything by name. The group module (`group/`) is built on the core and answers that
//! seam (`group/layer.rs`). Only this module names both, in the public constructors.

use std::sync::Arc;

use crate::group::Groups;
use crate::{Executor, Runtime, Threaded};

impl Runtime {
    /// A runtime on the threaded backend with `workers` worker threads (0: one per core).
    pub fn threaded(workers: usize) -> Runtime {
        Runtime::new(Threaded::new(workers))
    }

    /// A runtime on any executor (the simulator's, or your own).
    pub fn new(executor: impl Executor) -> Runtime {
        Runtime::with_executor(Arc::new(executor))
    }

    /// A runtime on a shared executor (the simulator keeps a handle to read its trace).
    pub fn with_executor(executor: Arc<dyn Executor>) -> Runtime {
        Runtime::assemble(executor, Arc::new(Groups::default()))
    }
}
