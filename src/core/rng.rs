//! `Ctx::rng`: a random generator per service, seeded through the executor seam.
//!
//! Game logic draws (loot, matchmaking, a shuffled deck); for a simulator run to replay, those
//! draws must come from the run's seed, and on real threads from the OS. The core never touches
//! randomness itself (the determinism discipline): at a service's first draw it asks the
//! executor for a seed ([`Executor::seed_for`](crate::Executor::seed_for), with the service's
//! address) and keeps a ChaCha8 generator seeded with it in the service's cell. The simulator
//! derives that seed from its own and the address (S1: same seed, same draws); the threaded
//! backend takes it from the OS. One stream per service, never a global: the draws of one
//! service do not shift another's.

use std::sync::{Arc, Mutex};

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

use super::cell::{ServiceCell, lock};
use super::context::Ctx;

/// A service's generator, made at its first draw (boxed: most services never draw).
#[derive(Default)]
pub(crate) struct RngSlot(Mutex<Option<Box<ChaCha8Rng>>>);

/// The random generator of one service, from [`Ctx::rng`]: a [`RngCore`] (with `rand` 0.9,
/// `rand::Rng`'s `random_range` and the rest work on it). Every `ServiceRng` of one service
/// draws from that service's one stream.
pub struct ServiceRng {
    cell: Arc<ServiceCell>,
}

impl<S: 'static> Ctx<S> {
    /// This service's random generator: drawn from the simulator's seed in the simulator (a
    /// run replays its draws, S1), from the OS on the threaded backend.
    ///
    /// ```
    /// use skygroup::rand_core::RngCore;
    /// # use skygroup::{Runtime, ServiceKind, Value};
    /// let rt = Runtime::threaded(1);
    /// rt.define(ServiceKind::stateless("loot").command("roll", |ctx, _: Value| async move {
    ///     Ok(ctx.rng().next_u32() % 100)
    /// }))
    /// .unwrap();
    /// # let loot = rt.spawn("loot", ()).unwrap();
    /// # let roll = rt.block_on(move |ctx| async move { ctx.call(loot, "roll", ()).await.unwrap() });
    /// # assert!(i64::try_from(roll).unwrap() < 100);
    /// ```
    pub fn rng(&self) -> ServiceRng {
        ServiceRng { cell: self.cell.clone() }
    }
}

impl ServiceRng {
    fn with<R>(&mut self, draw: impl FnOnce(&mut ChaCha8Rng) -> R) -> R {
        let mut slot = lock(&self.cell.rng.0);
        let rng = slot.get_or_insert_with(|| {
            let seed = self.cell.runtime.executor.seed_for(self.cell.address);
            Box::new(ChaCha8Rng::seed_from_u64(seed))
        });
        draw(rng)
    }
}

impl RngCore for ServiceRng {
    fn next_u32(&mut self) -> u32 {
        self.with(RngCore::next_u32)
    }

    fn next_u64(&mut self) -> u64 {
        self.with(RngCore::next_u64)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.with(|rng| rng.fill_bytes(dest));
    }
}

impl std::fmt::Debug for ServiceRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServiceRng({})", self.cell.address)
    }
}
