//! The cells of exited services, kept for the next services started (issue 13, item 3).
//!
//! Why: a program that starts and stops services in waves (10,000 started, then 10,000
//! stopped, again and again) freed every cell back to the allocator, which gave the emptied
//! pages back to the system (glibc trims a thread arena's top once more than 128 KiB of it is
//! free), and the next wave faulted the same pages in again: about a fifth of a round's time
//! in the kernel (`perf`: page faults, page clearing, unmapping), plus a `malloc` and a `free`
//! per service. A cell whose service has exited, found by the exit with no other reference to
//! it, is kept here instead, and the next `insert` fills it anew (the allocation is reused, the
//! service is a new one: a new address, fresh fields).
//!
//! How many: never more than the runtime's peak of live services less those live now, so the
//! memory in cells, spare or live, never exceeds what the busiest moment already needed (a
//! runtime that ran ten services keeps at most ten), and at most [`MOST`]. Shutdown empties it
//! (each cell refers to the runtime, so keeping them would keep the runtime alive).
//!
//! Nothing here reaches behaviour: which allocation a service gets is not observable (its
//! address comes from the runtime's counter), in the simulator as on the threaded backend.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::cell::{ServiceCell, lock};

/// The most spare cells one runtime keeps (about 12 MB of cells at 744 bytes each).
const MOST: usize = 16_384;

/// The spare cells of one runtime, and its peak of live services.
#[derive(Default)]
pub(crate) struct SpareCells {
    /// `None` once shutdown emptied it: an exit after that keeps nothing.
    cells: Mutex<Option<Vec<Arc<ServiceCell>>>>,
    /// The most services the runtime's table has held at once.
    peak: AtomicUsize,
}

impl SpareCells {
    pub(crate) fn new() -> SpareCells {
        SpareCells { cells: Mutex::new(Some(Vec::new())), peak: AtomicUsize::new(0) }
    }

    /// Notes that the table holds `live` services now (after an insert). One plain load in the
    /// common case (no new peak).
    #[inline]
    pub(crate) fn note_live(&self, live: usize) {
        if live > self.peak.load(Ordering::Relaxed) {
            self.peak.fetch_max(live, Ordering::Relaxed);
        }
    }

    /// A spare cell, if one is kept: nobody else refers to it.
    pub(crate) fn take(&self) -> Option<Arc<ServiceCell>> {
        lock(&self.cells).as_mut()?.pop()
    }

    /// Keeps `cell`, whose service has exited, if nobody else refers to it and there is room
    /// (`live`: the services live now); else drops it. What the group layer kept in it goes at
    /// once (its drop may be the group's), as it would with the cell.
    pub(crate) fn keep(&self, mut cell: Arc<ServiceCell>, live: usize) {
        let Some(unique) = Arc::get_mut(&mut cell) else { return };
        let membership = unique.membership.take();
        drop(membership);
        let room = self.peak.load(Ordering::Relaxed).saturating_sub(live).min(MOST);
        let mut cells = lock(&self.cells);
        if let Some(cells) = cells.as_mut()
            && cells.len() < room
        {
            cells.push(cell);
        }
    }

    /// Drops every spare cell and keeps none from now on (shutdown).
    pub(crate) fn close(&self) {
        let cells = lock(&self.cells).take();
        drop(cells);
    }
}
