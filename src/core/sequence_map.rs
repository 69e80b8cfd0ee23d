//! A map keyed by numbers handed out in increasing order: a service's sessions, numbered from 1
//! as its calls and monitors open them and mostly closed in about the order they were opened.
//!
//! Why not a hash map: a service that opens many sessions at once (10,000 monitors, then their
//! answers) made its map rehash as it grew and again as deletions left tombstones (about 190
//! instructions per session opened in `skygroup-bench spawn`), and each growth allocated a new
//! table and copied every entry into it (fresh pages to fault in, the old ones to unmap). Here an
//! entry's place is its number minus the window's first: opening, finding and closing one is an
//! index, and growing the window is a `realloc` that moves nothing when the system can remap.
//!
//! The window runs from the lowest open number to the highest, holes included, so one entry
//! left open for long (a call that never returns, a monitor of a long-lived service) would keep
//! it growing: once it is mostly holes, its first entries move to a hash map of stragglers
//! (`far`), and the window starts at the next open one. A number far past the window's end
//! goes there too. Every entry so moves at most once, and the window holds at most about four
//! times as many slots as open entries (plus a few).

use std::collections::VecDeque;

use super::table::NumberMap;

/// How far past the window's end a key may land and still go into it (the holes between are
/// filled); a key further on goes to the stragglers.
const REACH: u64 = 64;

/// A window shorter than this is never thinned out (moving entries out costs more than the
/// holes).
const SMALL: usize = 64;

/// Values by number, for numbers handed out in increasing order (see the module docs).
pub(crate) struct SequenceMap<V> {
    /// The entry of number `first + i` at `i`; `None` for a hole. Never starts with a hole.
    window: VecDeque<Option<V>>,
    first: u64,
    /// How many entries the window holds (not holes).
    in_window: usize,
    /// Entries outside the window (see the module docs); boxed, since most services never
    /// have one and an empty map is four words in every cell.
    far: Option<Box<Stragglers<V>>>,
}

/// The entries outside the window, and the highest key ever put here (a key above it cannot be
/// here, so placing it in the window needs no look here).
struct Stragglers<V> {
    map: NumberMap<u64, V>,
    highest: u64,
}

impl<V> Stragglers<V> {
    fn insert(&mut self, key: u64, value: V) -> Option<V> {
        self.highest = self.highest.max(key);
        self.map.insert(key, value)
    }
}

impl<V> Default for Stragglers<V> {
    fn default() -> Self {
        Stragglers { map: NumberMap::default(), highest: 0 }
    }
}

impl<V> Default for SequenceMap<V> {
    fn default() -> Self {
        SequenceMap { window: VecDeque::new(), first: 0, in_window: 0, far: None }
    }
}

impl<V> SequenceMap<V> {
    pub(crate) fn is_empty(&self) -> bool {
        self.in_window == 0 && self.far.is_none()
    }

    /// The index of `key` in the window, if the window covers it.
    fn index(&self, key: u64) -> Option<usize> {
        let offset = key.checked_sub(self.first)?;
        (offset < self.window.len() as u64).then_some(offset as usize)
    }

    pub(crate) fn get_mut(&mut self, key: &u64) -> Option<&mut V> {
        match self.index(*key) {
            Some(i) if self.window[i].is_some() => self.window[i].as_mut(),
            _ => self.far.as_mut()?.map.get_mut(key),
        }
    }

    /// Puts `value` at `key`; hands back the value it replaced, if any.
    #[inline]
    pub(crate) fn insert(&mut self, key: u64, value: V) -> Option<V> {
        if self.window.is_empty() {
            self.first = key;
        }
        // The common case: the next number after the window's last.
        if key == self.first.wrapping_add(self.window.len() as u64) && self.far.as_ref().is_none_or(|f| key > f.highest)
        {
            self.window.push_back(Some(value));
            self.in_window += 1;
            return None;
        }
        self.insert_elsewhere(key, value)
    }

    fn insert_elsewhere(&mut self, key: u64, value: V) -> Option<V> {
        let Some(offset) = key.checked_sub(self.first) else {
            return self.far.get_or_insert_default().insert(key, value);
        };
        if offset >= self.window.len() as u64 + REACH {
            // Far ahead (numbers skipped, a cluster's node bits): the window moves there, and
            // what it held becomes stragglers.
            self.move_window_out();
            self.first = key;
        }
        let offset = key - self.first;
        // A key the stragglers hold keeps its place there (keys are not reused in practice).
        if let Some(far) = self.far.as_mut().filter(|far| key <= far.highest && far.map.contains_key(&key)) {
            return far.insert(key, value);
        }
        let offset = offset as usize;
        if offset >= self.window.len() {
            self.window.resize_with(offset + 1, || None);
        }
        let replaced = self.window[offset].replace(value);
        if replaced.is_none() {
            self.in_window += 1;
        }
        replaced
    }

    #[inline]
    pub(crate) fn remove(&mut self, key: &u64) -> Option<V> {
        // The common case: the window's first (it never starts with a hole).
        if *key == self.first
            && let Some(Some(value)) = self.window.pop_front()
        {
            self.first += 1;
            self.in_window -= 1;
            if matches!(self.window.front(), Some(None)) || self.sparse() {
                self.tidy();
            }
            return Some(value);
        }
        self.remove_elsewhere(key)
    }

    fn remove_elsewhere(&mut self, key: &u64) -> Option<V> {
        if let Some(i) = self.index(*key)
            && let Some(value) = self.window[i].take()
        {
            self.in_window -= 1;
            self.tidy();
            return Some(value);
        }
        let far = self.far.as_mut()?;
        let removed = far.map.remove(key);
        if far.map.is_empty() {
            self.far = None;
        }
        removed
    }

    /// Whether dropping it would free anything (no window was ever allocated, no straggler).
    pub(crate) fn holds_memory(&self) -> bool {
        self.window.capacity() != 0 || self.far.is_some()
    }

    /// Moves every entry of the window to the stragglers.
    fn move_window_out(&mut self) {
        let first = self.first;
        let window = std::mem::take(&mut self.window);
        self.in_window = 0;
        if window.iter().any(Option::is_some) {
            let far = self.far.get_or_insert_default();
            for (key, value) in (first..).zip(window).filter_map(|(key, slot)| Some((key, slot?))) {
                far.insert(key, value);
            }
        }
    }

    pub(crate) fn get(&self, key: &u64) -> Option<&V> {
        match self.index(*key) {
            Some(i) if self.window[i].is_some() => self.window[i].as_ref(),
            _ => self.far.as_ref()?.map.get(key),
        }
    }

    /// Whether the window is mostly holes (and not small).
    fn sparse(&self) -> bool {
        self.window.len() > SMALL && self.window.len() > 4 * self.in_window
    }

    /// Drops the holes at the window's front and, where the window is mostly holes (an entry
    /// left open for long at its front), moves its first entries to the stragglers.
    fn tidy(&mut self) {
        loop {
            while let Some(None) = self.window.front() {
                self.window.pop_front();
                self.first += 1;
            }
            if !self.sparse() {
                return;
            }
            if let Some(Some(value)) = self.window.pop_front() {
                self.in_window -= 1;
                self.far.get_or_insert_default().insert(self.first, value);
            }
            self.first += 1;
        }
    }

    /// Every entry with its key: the window's in order, then the stragglers' (in the hash map's
    /// order: callers that show them sort them).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &V)> {
        let window = self.window.iter().zip(self.first..).filter_map(|(slot, key)| Some((key, slot.as_ref()?)));
        window.chain(self.far.iter().flat_map(|far| far.map.iter().map(|(key, value)| (*key, value))))
    }

    /// Every entry with its key, the window's in order, then the stragglers'.
    pub(crate) fn into_entries(self) -> impl Iterator<Item = (u64, V)> {
        let far = self.far.into_iter().flat_map(|far| far.map.into_iter());
        let window = self.window.into_iter().zip(self.first..).filter_map(|(slot, key)| Some((key, slot?)));
        window.chain(far)
    }
}

#[cfg(test)]
mod tests {
    use super::SequenceMap;

    /// The window and its stragglers agree with a plain map through opens and closes in order,
    /// out of order, with one entry left open for long and one far ahead (the sessions of G8's
    /// calls and G9's monitors are kept here).
    #[test]
    fn agrees_with_a_plain_map() {
        let mut map = SequenceMap::default();
        let mut model = std::collections::BTreeMap::new();
        let check = |map: &SequenceMap<u64>, model: &std::collections::BTreeMap<u64, u64>| {
            let mut seen: Vec<_> = map.iter().map(|(k, v)| (k, *v)).collect();
            seen.sort_unstable();
            assert_eq!(seen, model.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>());
            assert_eq!(map.is_empty(), model.is_empty());
        };
        // One long-lived entry, then rounds of many opened and closed in order and out of order.
        assert_eq!(map.insert(1, 1), None);
        model.insert(1, 1);
        let mut next = 2;
        for round in 0..4u64 {
            let keys: Vec<u64> = (next..next + 500).collect();
            next += 500;
            for &k in &keys {
                if k % 7 != 0 {
                    assert_eq!(map.insert(k, k * 10), None);
                    model.insert(k, k * 10);
                }
            }
            check(&map, &model);
            let mut order = keys.clone();
            if round % 2 == 1 {
                order.reverse();
            }
            for k in order {
                assert_eq!(map.remove(&k), model.remove(&k));
                assert_eq!(map.get_mut(&k), None);
            }
            check(&map, &model);
            assert!(map.window.len() <= super::SMALL.max(4 * map.in_window), "the window stays dense");
        }
        // A key far ahead, then the window growing up to it.
        assert_eq!(map.insert(next + 1_000, 7), None);
        model.insert(next + 1_000, 7);
        for k in next..next + 1_100 {
            if k != next + 1_000 {
                map.insert(k, k);
                model.insert(k, k);
            }
        }
        *map.get_mut(&(next + 1_000)).expect("found far ahead") += 1;
        *model.get_mut(&(next + 1_000)).expect("in the model") += 1;
        assert_eq!(map.insert(next + 1_000, 9), Some(8));
        model.insert(next + 1_000, 9);
        check(&map, &model);
        *map.get_mut(&1).expect("the long-lived entry") += 1;
        *model.get_mut(&1).expect("in the model") += 1;
        let mut values: Vec<u64> = map.into_entries().map(|(_, value)| value).collect();
        values.sort_unstable();
        let mut expected: Vec<u64> = model.into_values().collect();
        expected.sort_unstable();
        assert_eq!(values, expected);
    }
}
