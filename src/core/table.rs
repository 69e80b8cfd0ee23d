//! The table of live services, by address: the lookup every delivery makes.
//!
//! Sharded by address so workers delivering to different services do not share one lock's
//! cache line. Addresses are handed out in increasing order, so each shard keeps its services
//! in a window by number (`sequence_map.rs`: an index, where a hash map cost about 130
//! instructions per insert with its rehashes, and grew by copying), with the long-lived ones
//! beside it once they would keep it mostly empty. Nothing iterates a shard in a way that
//! reaches behaviour: listings are sorted by address.
//!
//! [`NumberMap`], hashed with one multiplication (sequential numbers, not attacker-chosen
//! keys, so SipHash buys nothing), serves the other maps keyed by numbers and the window's
//! stragglers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

// Under `--cfg loom` the shards' locks and the count are loom's (`make loom`: the model at the
// end of this file checks the count against a removal racing its insert).
#[cfg(loom)]
use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(loom)]
use loom::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(loom))]
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::address::Address;
use super::cell::ServiceCell;
use super::sequence_map::SequenceMap;

const SHARDS: usize = 16;

/// Fibonacci hashing of a `u64` key: one multiplication, well spread in the high bits that
/// hashbrown uses.
#[derive(Default)]
pub(crate) struct NumberHasher(u64);

impl Hasher for NumberHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    /// Word at a time (FxHash's mixing step), for short keys such as service names.
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        let rest = chunks.remainder();
        // Byte by byte: a copy of a runtime length would be a `memcpy` call per hash.
        let tail = rest.iter().enumerate().fold(0u64, |w, (i, &b)| w | u64::from(b) << (8 * i));
        let word = tail ^ ((rest.len() as u64) << 59);
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_u8(&mut self, n: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by sequential numbers (addresses, sessions).
pub(crate) type NumberMap<K, V> = HashMap<K, V, BuildHasherDefault<NumberHasher>>;

/// One shard: its services by `address / SHARDS` (dense: the shard holds every `SHARDS`th).
type Shard<V> = SequenceMap<V>;

/// The live services by address: a [`Table`] of their cells.
pub(crate) type ServiceTable = Table<Arc<ServiceCell>>;

/// Values by address, sharded, with their count. Generic over the value only so that the loom
/// model below can run it without building service cells.
pub(crate) struct Table<V> {
    shards: [RwLock<Shard<V>>; SHARDS],
    len: AtomicUsize,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table { shards: std::array::from_fn(|_| RwLock::new(Shard::default())), len: AtomicUsize::new(0) }
    }
}

impl<V: Clone> Table<V> {
    fn shard(&self, address: Address) -> &RwLock<Shard<V>> {
        &self.shards[address.raw() as usize % SHARDS]
    }

    /// `address`'s number in its shard.
    fn key(address: Address) -> u64 {
        address.raw() / SHARDS as u64
    }

    fn read(&self, address: Address) -> RwLockReadGuard<'_, Shard<V>> {
        self.shard(address).read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, address: Address) -> RwLockWriteGuard<'_, Shard<V>> {
        self.shard(address).write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn get(&self, address: Address) -> Option<V> {
        self.read(address).get(&Self::key(address)).cloned()
    }

    /// Runs `f` on the service at `address` (None if there is none) under the shard's read lock,
    /// without taking a reference: a delivery costs no reference-count traffic. `f` must not
    /// touch the table.
    pub(crate) fn with<R>(&self, address: Address, f: impl FnOnce(Option<&V>) -> R) -> R {
        f(self.read(address).get(&Self::key(address)))
    }

    /// Counted before it is listed, so the count is never below what the shards hold: a
    /// service removed right after its insert (shutdown saw it listed and stopped it before the
    /// insert had counted it) once took the count below zero and back, and the removal that
    /// emptied the table saw no `1 -> 0` step to wake shutdown with (it waited for good).
    /// Returns the count it made (the runtime's peak of live services, `kept_cells.rs`).
    pub(crate) fn insert(&self, address: Address, value: V) -> usize {
        let live = self.len.fetch_add(1, Ordering::AcqRel) + 1;
        if self.write(address).insert(Self::key(address), value).is_some() {
            self.len.fetch_sub(1, Ordering::AcqRel); // replaced one: counted already
            return live - 1;
        }
        live
    }

    /// Removes `address`; true if the table is empty afterwards.
    pub(crate) fn remove(&self, address: Address) -> bool {
        let removed = self.write(address).remove(&Self::key(address)).is_some();
        let before = if removed { self.len.fetch_sub(1, Ordering::AcqRel) } else { self.len() + 1 };
        before == 1
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Every value, by address.
    pub(crate) fn all(&self) -> Vec<V> {
        let mut entries = Vec::with_capacity(self.len());
        for (index, shard) in self.shards.iter().enumerate() {
            let shard = shard.read().unwrap_or_else(|e| e.into_inner());
            entries.extend(shard.iter().map(|(key, value)| (key * SHARDS as u64 + index as u64, value.clone())));
        }
        entries.sort_by_key(|(address, _)| *address);
        entries.into_iter().map(|(_, value)| value).collect()
    }
}

#[cfg(all(test, loom))]
mod loom_models {
    use super::{Address, Table};
    use loom::sync::Arc;

    /// checks G14 (shutdown ends once every service has exited): shutdown stops each service it
    /// sees listed, so a service may be removed right after its insert listed it; the removal
    /// that empties the table must say so (it wakes shutdown). Counting after listing, as the
    /// table once did, fails here: the removal takes the count from 0 and says "not empty".
    #[test]
    fn loom_a_removal_racing_its_insert_sees_the_table_empty() {
        loom::model(|| {
            let table: Arc<Table<u8>> = Arc::new(Table::default());
            let address = Address::from_raw(7);
            let inserter = {
                let table = table.clone();
                loom::thread::spawn(move || table.insert(address, 1))
            };
            let emptied = loop {
                if table.get(address).is_some() {
                    break table.remove(address);
                }
                loom::thread::yield_now();
            };
            inserter.join().expect("the inserter ends");
            assert!(emptied, "the removal that emptied the table did not say so");
            assert_eq!(table.len(), 0);
        });
    }
}
