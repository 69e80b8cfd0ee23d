//! Building message values from fuzzer bytes for the `payload` target: every variant a value
//! can have outside the runtime (addresses are made only by the runtime, so none here),
//! nested lists and maps, strings that are any UTF-8 (lossily decoded), floats from raw bits
//! (NaNs with payloads, infinities, -0.0, subnormals), and opaque values of two types.

use skygroup::Value;

use super::bytes::Bytes;

/// How deep lists and maps nest.
pub const DEPTH_MAX: u32 = 4;
/// Most items in a list, entries in a map, or bytes in a string or byte string.
pub const LEN_MAX: usize = 8;
/// Map keys come from a few short ones, so duplicates (last one wins) are common.
const KEYS: [&str; 5] = ["", "a", "b", "key", "é"];

/// A value read from `bytes` (nil once they run out).
pub fn value(bytes: &mut Bytes<'_>) -> Value {
    value_at(bytes, 0)
}

fn value_at(b: &mut Bytes<'_>, depth: u32) -> Value {
    let nests = depth < DEPTH_MAX;
    match b.below(10) {
        1 => Value::Bool(b.bool()),
        2 => Value::Int(b.u64() as i64),
        3 => Value::Float(f64::from_bits(b.u64())),
        4 => Value::Str(text(b)),
        5 => Value::Bytes(raw(b).to_vec().into()),
        6 if nests => Value::List((0..len(b)).map(|_| value_at(b, depth + 1)).collect()),
        7 if nests => Value::Map((0..len(b)).map(|_| (key(b), value_at(b, depth + 1))).collect()),
        8 => Value::opaque(b.byte()),
        9 => Value::opaque(text(b)),
        _ => Value::Nil,
    }
}

/// `(key, value)` pairs, keys possibly repeated, in input order.
pub fn pairs(b: &mut Bytes<'_>) -> Vec<(String, Value)> {
    (0..len(b)).map(|_| (key(b), value_at(b, 1))).collect()
}

/// A length in `0..=LEN_MAX`.
pub fn len(b: &mut Bytes<'_>) -> usize {
    b.below(LEN_MAX + 1)
}

/// Up to [`LEN_MAX`] raw bytes.
pub fn raw<'a>(b: &mut Bytes<'a>) -> &'a [u8] {
    let n = len(b);
    b.take(n)
}

/// Up to [`LEN_MAX`] bytes as UTF-8, invalid sequences replaced.
pub fn text(b: &mut Bytes<'_>) -> String {
    String::from_utf8_lossy(raw(b)).into_owned()
}

/// A map key: one of [`KEYS`], or any text.
pub fn key(b: &mut Bytes<'_>) -> String {
    match b.below(KEYS.len() + 1) {
        i if i < KEYS.len() => KEYS[i].to_owned(),
        _ => text(b),
    }
}
