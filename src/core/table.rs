//! The table of live services, by address: the lookup every delivery makes.
//!
//! Sharded by address so workers delivering to different services do not share one lock's
//! cache line, and hashed with one multiplication (addresses and sessions are sequential
//! numbers, not attacker-chosen keys, so SipHash buys nothing here). Nothing iterates a shard
//! in a way that reaches behaviour: listings are sorted by address.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::address::Address;
use super::cell::ServiceCell;

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

type Shard = NumberMap<Address, Arc<ServiceCell>>;

#[derive(Default)]
pub(crate) struct ServiceTable {
    shards: [RwLock<Shard>; SHARDS],
    len: AtomicUsize,
}

impl ServiceTable {
    fn shard(&self, address: Address) -> &RwLock<Shard> {
        &self.shards[address.raw() as usize % SHARDS]
    }

    fn read(&self, address: Address) -> RwLockReadGuard<'_, Shard> {
        self.shard(address).read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, address: Address) -> RwLockWriteGuard<'_, Shard> {
        self.shard(address).write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn get(&self, address: Address) -> Option<Arc<ServiceCell>> {
        self.read(address).get(&address).cloned()
    }

    /// Runs `f` on the service at `address` (None if there is none) under the shard's read lock,
    /// without taking a reference: a delivery costs no reference-count traffic. `f` must not
    /// touch the table.
    pub(crate) fn with<R>(&self, address: Address, f: impl FnOnce(Option<&Arc<ServiceCell>>) -> R) -> R {
        f(self.read(address).get(&address))
    }

    /// Counted before it is listed, so the count is never below what the shards hold: a
    /// service removed right after its insert (shutdown saw it listed and stopped it before the
    /// insert had counted it) once took the count below zero and back, and the removal that
    /// emptied the table saw no `1 -> 0` step to wake shutdown with (it waited for good).
    pub(crate) fn insert(&self, cell: Arc<ServiceCell>) {
        let address = cell.address;
        self.len.fetch_add(1, Ordering::AcqRel);
        if self.write(address).insert(address, cell).is_some() {
            self.len.fetch_sub(1, Ordering::AcqRel); // replaced one: counted already
        }
    }

    /// Removes `address`; true if the table is empty afterwards.
    pub(crate) fn remove(&self, address: Address) -> bool {
        let removed = self.write(address).remove(&address).is_some();
        let before = if removed { self.len.fetch_sub(1, Ordering::AcqRel) } else { self.len() + 1 };
        before == 1
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Every live service, by address.
    pub(crate) fn all(&self) -> Vec<Arc<ServiceCell>> {
        let mut cells = Vec::with_capacity(self.len());
        for shard in &self.shards {
            cells.extend(shard.read().unwrap_or_else(|e| e.into_inner()).values().cloned());
        }
        cells.sort_by_key(|c| c.address);
        cells
    }
}
