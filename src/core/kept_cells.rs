//! The cells of exited services, kept for the next services started (issue 13, item 3).
//!
//! Why: a program that starts and stops services in waves (10,000 started, then 10,000
//! stopped, again and again) freed every cell back to the allocator, which gave the emptied
//! pages back to the system (glibc trims a thread arena's top once more than 128 KiB of it is
//! free), and the next wave faulted the same pages in again: about a fifth of a round's time
//! in the kernel (`perf`: page faults, page clearing, unmapping), plus a `malloc` and a `free`
//! per service. A cell whose service has exited, found by the end of its exit's turn with no
//! other reference to it, is kept here instead, and the next `insert` fills it anew (the
//! allocation is reused, the service is a new one: a new address, every field as new).
//!
//! How many: never more than the runtime's peak of live services less those live now, so the
//! memory in cells, kept or live, never exceeds what the busiest moment already needed (a
//! runtime that ran ten services keeps at most ten), and at most [`MOST`]. Shutdown empties it
//! (each cell refers to the runtime, so keeping them would keep the runtime alive). (Not to be
//! confused with `memo::spare`, a reference to a live service's cell kept for its next
//! context within one turn.)
//!
//! Nothing here reaches behaviour: which allocation a service gets is not observable (its
//! address comes from the runtime's counter), in the simulator as on the threaded backend.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::cell::{ServiceCell, lock};

/// The most cells one runtime keeps (about 11 MB of cells at 672 bytes each).
const MOST: usize = 16_384;

/// The kept cells of one runtime, and its peak of live services.
pub(crate) struct KeptCells {
    /// `None` once shutdown emptied it: an exit after that keeps nothing.
    cells: Mutex<Option<Vec<Arc<ServiceCell>>>>,
    /// How many `cells` holds, stored under its lock: a start finds none without taking it
    /// (a runtime that never stops a service, or a fresh one, pays one load per start).
    count: AtomicUsize,
    /// The most services the runtime's table has held at once.
    peak: AtomicUsize,
}

impl KeptCells {
    pub(crate) fn new() -> KeptCells {
        KeptCells { cells: Mutex::new(Some(Vec::new())), count: AtomicUsize::new(0), peak: AtomicUsize::new(0) }
    }

    /// Notes that the table holds `live` services now (after an insert). One plain load in the
    /// common case (no new peak).
    #[inline]
    pub(crate) fn note_live(&self, live: usize) {
        if live > self.peak.load(Ordering::Relaxed) {
            self.peak.fetch_max(live, Ordering::Relaxed);
        }
    }

    /// A kept cell, if there is one: nobody else refers to it. (A cell kept by another thread
    /// a moment ago may be missed: a new one is allocated then, as without this.)
    pub(crate) fn take(&self) -> Option<Arc<ServiceCell>> {
        if self.count.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut cells = lock(&self.cells);
        let cells = cells.as_mut()?;
        let cell = cells.pop();
        self.count.store(cells.len(), Ordering::Relaxed);
        cell
    }

    /// Keeps `cell`, whose service has exited, if nobody else refers to it and there is room
    /// (`live`: the services live now); else drops it. What the group layer kept in it goes at
    /// once (its drop may be the group's), as it would with the cell.
    pub(crate) fn keep(&self, mut cell: Arc<ServiceCell>, live: usize) {
        let Some(unique) = Arc::get_mut(&mut cell) else { return };
        let membership = unique.membership.take();
        drop(membership);
        let room = self.peak.load(Ordering::Relaxed).saturating_sub(live).min(MOST);
        if self.count.load(Ordering::Relaxed) >= room {
            return;
        }
        let mut cells = lock(&self.cells);
        if let Some(cells) = cells.as_mut()
            && cells.len() < room
        {
            cells.push(cell);
            self.count.store(cells.len(), Ordering::Relaxed);
        }
    }

    /// Drops every kept cell and keeps none from now on (shutdown).
    pub(crate) fn close(&self) {
        let cells = lock(&self.cells).take();
        self.count.store(0, Ordering::Relaxed);
        drop(cells);
    }
}
