//! The message payload: a small dynamic value, the Rust stand-in for skynet's Lua values.
//!
//! Why a dynamic value and not one generic message type per service: a service is addressed by
//! name at run time (`call("db", "get", ..)`), so the caller cannot know the target's Rust type,
//! and the same service code must run on both backends and be traced by the simulator. A small
//! closed enum (nil, bool, int, float, string, bytes, list, map, address) covers what game
//! services exchange, prints readably in traces, and converts from and to plain Rust values with
//! `From` / `TryFrom`, so handlers rarely name it.
//!
//! Bytes are [`bytes::Bytes`]: a clone shares the buffer, so a payload forwarded through many
//! services is never copied. `Vec<u8>`, `&[u8]` and `[u8; N]` become bytes (so `u8` alone has
//! no `From`); integers wider than `i64` convert with `TryFrom`, failing when out of range. A
//! value is serde-serializable and has a binary form (`value_serde.rs`, `wire.rs`).
//!
//! The escape hatch is [`Value::opaque`]: any `Send + Sync + 'static` Rust value, shared by
//! `Arc`, for in-process payloads (a connection handle, a large world snapshot). It is never
//! copied and never encoded; [`Value::downcast_ref`] gets it back. A payload that cannot cross
//! threads cannot become a value, so it can never reach the threaded backend:
//!
//! ```compile_fail
//! let not_send = std::rc::Rc::new(1);
//! let _ = skygroup::Value::opaque(not_send);
//! ```
//!
//! ```
//! use skygroup::Value;
//! let v: Value = ("hello", 3).into();
//! assert_eq!(v, Value::List(vec!["hello".into(), 3.into()]));
//! let (s, n): (String, i64) = v.try_into().unwrap();
//! assert_eq!((s.as_str(), n), ("hello", 3));
//! ```

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use super::address::Address;

/// A message payload or reply: dynamic, because a service is addressed by name at run time and
/// the caller cannot know the target's Rust types. Plain Rust values convert to and from it
/// with `From` / `TryFrom`; [`Value::opaque`] carries any in-process value by reference.
#[derive(Clone, Default)]
pub enum Value {
    /// No value (Lua `nil`); what a handler returning `()` replies.
    #[default]
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// Raw bytes, shared: cloning (a send, a trace, a forward) never copies them.
    Bytes(Bytes),
    /// A list (Lua array).
    List(Vec<Value>),
    /// A map by string keys (Lua table), ordered.
    Map(BTreeMap<String, Value>),
    /// A service address, so services can hand each other references.
    Address(Address),
    /// Any in-process Rust value; see [`Value::opaque`].
    Opaque(Opaque),
}

/// An in-process Rust value inside a [`Value`], shared and never copied.
#[derive(Clone)]
pub struct Opaque {
    value: Arc<dyn Any + Send + Sync>,
    type_name: &'static str,
}

/// A [`Value`] did not have the shape a conversion expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, found {found}")]
pub struct ValueError {
    /// What the conversion wanted, e.g. `"int"`.
    pub expected: &'static str,
    /// What the value was, e.g. `"string"`.
    pub found: &'static str,
}

impl Opaque {
    /// The Rust type inside, as `std::any::type_name` spells it.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }
}

impl Value {
    /// Wraps any Rust value as an in-process payload.
    pub fn opaque<T: Any + Send + Sync>(value: T) -> Value {
        Value::Opaque(Opaque { value: Arc::new(value), type_name: std::any::type_name::<T>() })
    }

    /// The Rust value inside an [`Value::Opaque`], if it is a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        match self {
            Value::Opaque(o) => o.value.downcast_ref(),
            _ => None,
        }
    }

    /// The name of this value's variant, as used in [`ValueError`].
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Address(_) => "address",
            Value::Opaque(_) => "opaque",
        }
    }

    /// The string inside, if this is a [`Value::Str`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside, if this is a [`Value::Int`].
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Builds a [`Value::Map`] from `(key, value)` pairs.
    pub fn map<K: Into<String>, V: Into<Value>>(pairs: impl IntoIterator<Item = (K, V)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }

    pub(crate) fn mismatch(&self, expected: &'static str) -> ValueError {
        ValueError { expected, found: self.type_name() }
    }
}

impl PartialEq for Value {
    /// Structural equality; floats compare bitwise (so `NaN == NaN`, as a message log wants),
    /// opaque values by identity.
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Nil, Nil) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            (Str(a), Str(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (List(a), List(b)) => a == b,
            (Map(a), Map(b)) => a == b,
            (Address(a), Address(b)) => a == b,
            (Opaque(a), Opaque(b)) => Arc::ptr_eq(&a.value, &b.value),
            _ => false,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A compact, Lua-like rendering used in traces: `nil`, `true`, `3`, `"hi"`, `b"\x01"`,
/// `[1, 2]`, `{k: 1}`, `:0000000a`, `<opaque Type>`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "b\"{}\"", b.escape_ascii()),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(map) => {
                f.write_str("{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            Value::Address(a) => write!(f, "{a}"),
            Value::Opaque(o) => write!(f, "<opaque {}>", o.type_name),
        }
    }
}

macro_rules! from_scalar {
    ($($t:ty => $variant:ident as $conv:ty),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant(<$conv>::from(v))
            }
        }
    )*};
}

from_scalar!(
    bool => Bool as bool,
    i8 => Int as i64, i16 => Int as i64, i32 => Int as i64, i64 => Int as i64,
    u16 => Int as i64, u32 => Int as i64,
    f32 => Float as f64, f64 => Float as f64,
    String => Str as String, &str => Str as String,
    Address => Address as Address,
);

impl From<()> for Value {
    fn from(_: ()) -> Value {
        Value::Nil
    }
}

// `u8` alone has no `From`: a `Vec<u8>` must become bytes, not the list of ints the generic
// `From<Vec<T>>` would make of it (and a byte is rarely a message's number).
impl From<&[u8]> for Value {
    fn from(b: &[u8]) -> Value {
        Value::Bytes(Bytes::copy_from_slice(b))
    }
}

impl<const N: usize> From<[u8; N]> for Value {
    fn from(b: [u8; N]) -> Value {
        Value::Bytes(Bytes::copy_from_slice(&b))
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Value {
        Value::Bytes(b.into())
    }
}

impl From<Bytes> for Value {
    fn from(b: Bytes) -> Value {
        Value::Bytes(b)
    }
}

/// A Rust integer that does not fit a [`Value::Int`] (an `i64`), or a [`Value::Int`] that does
/// not fit the Rust integer asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("integer {value} out of range for {target}")]
pub struct IntRangeError {
    /// The integer, as text (it may not fit an `i64`).
    pub value: String,
    /// The type it did not fit, e.g. `"u64"` or `"int (i64)"`.
    pub target: &'static str,
}

macro_rules! wide_integers {
    ($($t:ty),*) => {$(
        /// Lossless only within `i64`: a larger value is an [`IntRangeError`].
        impl TryFrom<$t> for Value {
            type Error = IntRangeError;
            fn try_from(n: $t) -> Result<Value, IntRangeError> {
                i64::try_from(n)
                    .map(Value::Int)
                    .map_err(|_| IntRangeError { value: n.to_string(), target: "int (i64)" })
            }
        }
        /// A [`Value::Int`] that fits; a negative (or otherwise out of range) int is an error.
        impl TryFrom<Value> for $t {
            type Error = IntRangeError;
            fn try_from(v: Value) -> Result<$t, IntRangeError> {
                match v {
                    Value::Int(i) => <$t>::try_from(i)
                        .map_err(|_| IntRangeError { value: i.to_string(), target: stringify!($t) }),
                    other => Err(IntRangeError { value: format!("{} ({other})", other.type_name()), target: stringify!($t) }),
                }
            }
        }
    )*};
}

wide_integers!(u64, usize, i128, u128);

impl From<IntRangeError> for ValueError {
    fn from(e: IntRangeError) -> ValueError {
        ValueError { expected: e.target, found: "an out-of-range int" }
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(items: Vec<T>) -> Value {
        Value::List(items.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Nil, Into::into)
    }
}

impl<V: Into<Value>> From<BTreeMap<String, V>> for Value {
    fn from(map: BTreeMap<String, V>) -> Value {
        Value::Map(map.into_iter().map(|(k, v)| (k, v.into())).collect())
    }
}

macro_rules! from_tuple {
    ($(($($name:ident),+)),* $(,)?) => {$(
        impl<$($name: Into<Value>),+> From<($($name,)+)> for Value {
            #[allow(non_snake_case)]
            fn from(($($name,)+): ($($name,)+)) -> Value {
                Value::List(vec![$($name.into()),+])
            }
        }
        impl<$($name: FromValue),+> TryFrom<Value> for ($($name,)+) {
            type Error = ValueError;
            #[allow(non_snake_case)]
            fn try_from(v: Value) -> Result<Self, ValueError> {
                const LEN: usize = [$(stringify!($name)),+].len();
                match v {
                    Value::List(items) if items.len() == LEN => {
                        let mut items = items.into_iter();
                        $(let $name = $name::from_value(items.next().unwrap_or_default())?;)+
                        Ok(($($name,)+))
                    }
                    other => Err(other.mismatch("a list of matching length")),
                }
            }
        }
    )*};
}

from_tuple!((A, B), (A, B, C), (A, B, C, D));

/// Conversion out of a [`Value`] for the element types of tuples (`let (a, b): (String, i64) =
/// v.try_into()?`). Implemented for every type with a `TryFrom<Value>` here, and for `Value`.
pub trait FromValue: Sized {
    /// Converts, or says what was expected and found.
    fn from_value(v: Value) -> Result<Self, ValueError>;
}

impl FromValue for Value {
    fn from_value(v: Value) -> Result<Value, ValueError> {
        Ok(v)
    }
}

macro_rules! try_into_scalar {
    ($($t:ty: $expected:literal, |$v:ident| $pat:pat => $out:expr);* $(;)?) => {$(
        impl TryFrom<Value> for $t {
            type Error = ValueError;
            fn try_from($v: Value) -> Result<$t, ValueError> {
                match $v {
                    $pat => Ok($out),
                    other => Err(other.mismatch($expected)),
                }
            }
        }
        impl FromValue for $t {
            fn from_value(v: Value) -> Result<$t, ValueError> {
                <$t>::try_from(v)
            }
        }
    )*};
}

try_into_scalar!(
    String: "string", |v| Value::Str(s) => s;
    Vec<Value>: "list", |v| Value::List(items) => items;
    BTreeMap<String, Value>: "map", |v| Value::Map(m) => m;
);

/// [`try_into_scalar!`] for the variants whose payload is copied out: the value left has
/// nothing to drop, which the compiler does not see (it would call `Value`'s whole drop glue
/// after every `i64::try_from(v)?` of a handler, about 16 instructions a message).
macro_rules! try_into_copied {
    ($($t:ty: $expected:literal, |$v:ident| $pat:pat => $out:expr);* $(;)?) => {$(
        impl TryFrom<Value> for $t {
            type Error = ValueError;
            #[inline]
            fn try_from($v: Value) -> Result<$t, ValueError> {
                match $v {
                    $pat => {
                        let out = $out;
                        std::mem::forget($v); // holds nothing: the payload was copied
                        Ok(out)
                    }
                    other => Err(other.mismatch($expected)),
                }
            }
        }
        impl FromValue for $t {
            fn from_value(v: Value) -> Result<$t, ValueError> {
                <$t>::try_from(v)
            }
        }
    )*};
}

try_into_copied!(
    bool: "bool", |v| Value::Bool(b) => b;
    i64: "int", |v| Value::Int(i) => i;
    f64: "float", |v| Value::Float(x) => x;
    Address: "address", |v| Value::Address(a) => a;
    (): "nil", |v| Value::Nil => ();
);

/// Bytes come back from [`Value::Bytes`], and also from a list of ints in `0..=255`, which is
/// what `Value::from(Vec<u8>)` makes (it goes through the generic `From<Vec<T>>`), so a byte
/// vector round-trips either way.
impl TryFrom<Value> for Vec<u8> {
    type Error = ValueError;
    fn try_from(v: Value) -> Result<Vec<u8>, ValueError> {
        match v {
            Value::Bytes(b) => Ok(b.into()),
            Value::List(items) => {
                let byte = |item: &Value| item.as_int().and_then(|i| u8::try_from(i).ok());
                items
                    .iter()
                    .map(byte)
                    .collect::<Option<Vec<u8>>>()
                    .ok_or(ValueError { expected: "bytes (or a list of ints 0..=255)", found: "list" })
            }
            other => Err(other.mismatch("bytes")),
        }
    }
}

/// Bytes without a copy from [`Value::Bytes`]; a list of ints in `0..=255` is copied.
impl TryFrom<Value> for Bytes {
    type Error = ValueError;
    fn try_from(v: Value) -> Result<Bytes, ValueError> {
        match v {
            Value::Bytes(b) => Ok(b),
            other => Vec::<u8>::try_from(other).map(Bytes::from),
        }
    }
}

impl FromValue for Bytes {
    fn from_value(v: Value) -> Result<Bytes, ValueError> {
        Bytes::try_from(v)
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: Value) -> Result<Vec<u8>, ValueError> {
        Vec::<u8>::try_from(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_round_trip() {
        assert_eq!(i64::try_from(Value::from(7)).unwrap(), 7);
        assert_eq!(String::try_from(Value::from("x")).unwrap(), "x");
        assert!(bool::try_from(Value::from(true)).unwrap());
        assert_eq!(Value::from(Some(3)), Value::Int(3));
        assert_eq!(Value::from(None::<i64>), Value::Nil);
    }

    #[test]
    fn byte_vectors_round_trip() {
        let bytes = vec![0u8, 1, 255];
        assert_eq!(Value::from(bytes.clone()), Value::Bytes(Bytes::from(bytes.clone())), "bytes, not a list");
        assert_eq!(Value::from(&bytes[..]), Value::from([0u8, 1, 255]));
        assert_eq!(Vec::<u8>::try_from(Value::from(bytes.clone())), Ok(bytes.clone()));
        assert_eq!(Vec::<u8>::try_from(Value::from(vec![0, 1, 255])), Ok(bytes.clone()));
        assert!(Vec::<u8>::try_from(Value::from(vec![256])).is_err());
    }

    #[test]
    fn bytes_are_shared_not_copied() {
        let payload = Bytes::from(vec![7u8; 64]);
        let v = Value::from(payload.clone());
        let copy = v.clone();
        let back = Bytes::try_from(copy).unwrap();
        assert_eq!(back.as_ptr(), payload.as_ptr(), "a clone of a bytes value shares its buffer");
    }

    #[test]
    fn wide_integers_convert_where_lossless() {
        assert_eq!(Value::try_from(7u64), Ok(Value::Int(7)));
        assert_eq!(u64::try_from(Value::Int(7)), Ok(7));
        assert_eq!(usize::try_from(Value::Int(3)), Ok(3));
        assert_eq!(i128::try_from(Value::Int(-3)), Ok(-3));
        let err = Value::try_from(u64::MAX).unwrap_err();
        assert_eq!(err.to_string(), "integer 18446744073709551615 out of range for int (i64)");
        let err = u64::try_from(Value::Int(-1)).unwrap_err();
        assert_eq!(err.to_string(), "integer -1 out of range for u64");
        assert!(u64::try_from(Value::from("x")).unwrap_err().to_string().contains("string"));
    }

    #[test]
    fn mismatch_names_both_sides() {
        let err = i64::try_from(Value::from("x")).unwrap_err();
        assert_eq!(err.to_string(), "expected int, found string");
    }

    #[test]
    fn opaque_keeps_identity() {
        let v = Value::opaque(vec![1u8, 2, 3]);
        assert_eq!(v.downcast_ref::<Vec<u8>>(), Some(&vec![1, 2, 3]));
        assert_eq!(v.clone(), v);
        assert_ne!(Value::opaque(1u8), Value::opaque(1u8));
        assert!(v.to_string().starts_with("<opaque alloc::vec::Vec<u8>"));
    }

    #[test]
    fn display_is_compact() {
        let v = Value::map([("a", Value::from(vec![1, 2])), ("b", Value::Nil)]);
        assert_eq!(v.to_string(), "{a: [1, 2], b: nil}");
    }
}
