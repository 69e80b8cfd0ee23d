//! Reading fuzzer bytes as choices. Every reader answers something when the bytes run out
//! (zero: the first option, the default order), so every input is a valid one and a shorter
//! input is a simpler one, which is what libFuzzer's minimisation and `cmin` want.
//!
//! A choice among at most 256 options takes one byte, more take two (little endian), modulo
//! the option count. That keeps one mutated byte one changed choice, so libFuzzer's coverage
//! feedback maps onto decisions rather than onto bits of a random seed (the reason madsim's
//! libFuzzer mode could not steer: its choices came from a seeded RNG).

use crate::chooser::{Chooser, Decision};

/// A cursor over fuzzer bytes.
#[derive(Debug, Clone)]
pub struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    /// Reads `data` from its start.
    pub fn new(data: &'a [u8]) -> Bytes<'a> {
        Bytes { data, at: 0 }
    }

    /// The next byte, or 0 past the end.
    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at = (self.at + 1).min(self.data.len());
        b
    }

    /// A number in `0..n` (`n >= 1`): one byte for up to 256 options, two beyond.
    pub fn below(&mut self, n: usize) -> usize {
        let raw =
            if n <= 256 { usize::from(self.byte()) } else { usize::from(self.byte()) | usize::from(self.byte()) << 8 };
        raw % n.max(1)
    }

    /// A bool (the low bit of a byte).
    pub fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// Eight bytes, little endian (missing bytes are 0).
    pub fn u64(&mut self) -> u64 {
        (0..8).fold(0, |v, i| v | u64::from(self.byte()) << (8 * i))
    }

    /// The next `n` bytes, or as many as are left.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let end = (self.at + n).min(self.data.len());
        let taken = &self.data[self.at..end];
        self.at = end;
        taken
    }

    /// Everything not read yet.
    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.at..]
    }
}

/// A [`Chooser`] whose every decision is the next bytes of the input; option 0 (the default
/// order) once they run out.
#[derive(Debug, Clone)]
pub struct ByteChooser {
    data: Vec<u8>,
    at: usize,
}

impl ByteChooser {
    /// Chooses from `data`, one byte per decision, from its start.
    pub fn new(data: &[u8]) -> ByteChooser {
        ByteChooser { data: data.to_vec(), at: 0 }
    }
}

impl Chooser for ByteChooser {
    fn choose(&mut self, n: usize) -> usize {
        let mut bytes = Bytes { data: &self.data, at: self.at };
        let chosen = bytes.below(n);
        self.at = bytes.at;
        chosen
    }

    fn decide(&mut self, decision: &Decision<'_>) -> usize {
        self.choose(decision.options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_answer_zero_past_the_end() {
        let mut bytes = Bytes::new(&[7]);
        assert_eq!(bytes.below(5), 2);
        assert_eq!((bytes.byte(), bytes.below(300), bytes.u64(), bytes.bool()), (0, 0, 0, false));
        assert!(bytes.take(3).is_empty() && bytes.rest().is_empty());
    }

    #[test]
    fn wide_choices_read_two_bytes() {
        let mut bytes = Bytes::new(&[0xe9, 0x03, 9]);
        assert_eq!(bytes.below(1000), 0x03e9 % 1000);
        assert_eq!(bytes.rest(), &[9]);
    }

    #[test]
    fn the_chooser_follows_the_bytes_then_the_default_order() {
        let mut chooser = ByteChooser::new(&[3, 4]);
        assert_eq!([chooser.choose(2), chooser.choose(3), chooser.choose(4)], [1, 1, 0]);
    }
}
