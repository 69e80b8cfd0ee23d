//! The conversions a typed command's payloads take (`command.rs`): `Args` into a [`Value`] in
//! `ask`/`tell` and out of it in the handler, `Reply` the same way back.
//!
//! Why not [`Value::from_serialize`] / [`Value::deserialize_into`] alone: for the payloads a
//! command carries most (an `i64`, a `bool`, `()`, a `String`, a [`Value`], an [`Address`], and
//! `u64`, `i32`, `u32`, `f64`) serde's machinery (a serializer, a visitor, a `Result` rebuilt at
//! each layer, a copy of a string it could have moved) was most of what a typed send cost over
//! a dynamic one. Here those types convert with a plain match, and every other type goes
//! through serde. The result is exactly serde's (the same value, and where serde fails, serde's
//! own error, because a value a fast path does not take falls through to serde), which the
//! tests below check for every such type, edge values included.
//!
//! Why by [`TypeId`]: stable Rust has no specialization, and a payload type is a `'static`
//! type parameter, so each test below is a constant once the function is monomorphized: a
//! command of `i64` compiles to the match alone, a command of a struct to the serde call alone.

use std::any::{Any, TypeId};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::address::Address;
use super::value::Value;
use super::value_serde::PayloadError;

/// `a` as a `B`, when `A` and `B` are one type (a constant test after monomorphization);
/// otherwise `a` back.
#[inline(always)]
fn cast<A: 'static, B: 'static>(a: A) -> Result<B, A> {
    if TypeId::of::<A>() != TypeId::of::<B>() {
        return Err(a);
    }
    let mut slot = Some(a);
    match (&mut slot as &mut dyn Any).downcast_mut::<Option<B>>().and_then(Option::take) {
        Some(b) => Ok(b),
        None => Err(slot.expect("a value the downcast did not take")),
    }
}

/// `T` into a value: [`Value::from_serialize`] with the common types first.
#[inline(always)]
pub(crate) fn into_value<T: Serialize + 'static>(value: T) -> Result<Value, PayloadError> {
    let value = match cast::<T, i64>(value) {
        Ok(i) => return Ok(Value::Int(i)),
        Err(value) => value,
    };
    let value = match cast::<T, ()>(value) {
        Ok(()) => return Ok(Value::Nil),
        Err(value) => value,
    };
    let value = match cast::<T, bool>(value) {
        Ok(b) => return Ok(Value::Bool(b)),
        Err(value) => value,
    };
    let value = match cast::<T, String>(value) {
        Ok(s) => return Ok(Value::Str(s)),
        Err(value) => value,
    };
    let value = match cast::<T, f64>(value) {
        Ok(x) => return Ok(Value::Float(x)),
        Err(value) => value,
    };
    let value = match cast::<T, i32>(value) {
        Ok(i) => return Ok(Value::Int(i.into())),
        Err(value) => value,
    };
    let value = match cast::<T, u32>(value) {
        Ok(i) => return Ok(Value::Int(i.into())),
        Err(value) => value,
    };
    let value = match cast::<T, u64>(value) {
        Ok(u) => return i64::try_from(u).map(Value::Int).or_else(|_| Value::from_serialize(&u)),
        Err(value) => value,
    };
    let value = match cast::<T, Address>(value) {
        // serde carries an address as its raw number in an `i64`
        Ok(a) if i64::try_from(a.raw()).is_ok() => return Ok(Value::Address(a)),
        Ok(a) => return Value::from_serialize(&a),
        Err(value) => value,
    };
    match cast::<T, Value>(value) {
        Ok(v) if serializes_as_itself(&v) => Ok(v),
        Ok(v) => Value::from_serialize(&v),
        Err(value) => Value::from_serialize(&value),
    }
}

/// Whether serde would make `value` of `value` (it refuses an opaque value, and an address
/// past `i64`); the same value then, as `Bytes` compare by content.
fn serializes_as_itself(value: &Value) -> bool {
    match value {
        Value::Opaque(_) => false,
        Value::Address(a) => i64::try_from(a.raw()).is_ok(),
        Value::List(items) => items.iter().all(serializes_as_itself),
        Value::Map(map) => map.values().all(serializes_as_itself),
        _ => true,
    }
}

/// Whether serde would read `value` back as `value` (it refuses an opaque value only).
fn deserializes_as_itself(value: &Value) -> bool {
    match value {
        Value::Opaque(_) => false,
        Value::List(items) => items.iter().all(deserializes_as_itself),
        Value::Map(map) => map.values().all(deserializes_as_itself),
        _ => true,
    }
}

/// A value into `T`: [`Value::deserialize_into`] with the common types first; a value a fast
/// path does not take (another variant, a number out of range) gets serde's answer.
#[inline(always)]
pub(crate) fn from_value<T: DeserializeOwned + 'static>(value: Value) -> Result<T, PayloadError> {
    if !has_fast_path::<T>() {
        return value.deserialize_into();
    }
    match fast_from_value(value) {
        Ok(out) => Ok(out),
        Err(value) => serde_from_value(value),
    }
}

/// Whether [`fast_from_value`] knows `T`.
#[inline(always)]
fn has_fast_path<T: 'static>() -> bool {
    let id = TypeId::of::<T>();
    [
        TypeId::of::<i64>(),
        TypeId::of::<u64>(),
        TypeId::of::<i32>(),
        TypeId::of::<u32>(),
        TypeId::of::<()>(),
        TypeId::of::<bool>(),
        TypeId::of::<f64>(),
        TypeId::of::<Address>(),
        TypeId::of::<String>(),
        TypeId::of::<Value>(),
    ]
    .contains(&id)
}

/// The value as a `T` of [`has_fast_path`] when it is one as it stands, else the value back.
#[inline(always)]
fn fast_from_value<T: 'static>(value: Value) -> Result<T, Value> {
    let id = TypeId::of::<T>();
    let copied = match value {
        Value::Int(i) if id == TypeId::of::<i64>() => cast(i).ok(),
        Value::Int(i) if id == TypeId::of::<u64>() => u64::try_from(i).ok().and_then(|u| cast(u).ok()),
        Value::Int(i) if id == TypeId::of::<i32>() => i32::try_from(i).ok().and_then(|n| cast(n).ok()),
        Value::Int(i) if id == TypeId::of::<u32>() => u32::try_from(i).ok().and_then(|n| cast(n).ok()),
        Value::Nil if id == TypeId::of::<()>() => cast(()).ok(),
        Value::Bool(b) if id == TypeId::of::<bool>() => cast(b).ok(),
        Value::Float(x) if id == TypeId::of::<f64>() => cast(x).ok(),
        Value::Address(a) if id == TypeId::of::<Address>() => cast(a).ok(),
        _ => None,
    };
    if let Some(out) = copied {
        // The variant held a copied scalar: nothing to drop (the compiler would otherwise run
        // `Value`'s whole drop glue here, as `value.rs`'s `try_into_copied!` says).
        std::mem::forget(value);
        return Ok(out);
    }
    if id == TypeId::of::<String>() {
        return match value {
            Value::Str(s) => cast(s).map_err(Value::Str),
            other => Err(other),
        };
    }
    if id == TypeId::of::<Value>() && deserializes_as_itself(&value) {
        return cast(value);
    }
    Err(value)
}

/// serde's answer, for a value the fast path did not take. Out of line: a typed command of a
/// fast-path type rarely receives another shape.
#[cold]
#[inline(never)]
fn serde_from_value<T: DeserializeOwned>(value: Value) -> Result<T, PayloadError> {
    value.deserialize_into()
}

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use bytes::Bytes;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use super::{from_value, into_value};
    use crate::core::address::Address;
    use crate::core::value::Value;

    const BIG: u64 = i64::MAX as u64 + 1;

    /// Every variant, with the edge values a fast path could get wrong.
    fn values() -> Vec<Value> {
        let mut values = vec![Value::Nil, Value::Bool(false), Value::Bool(true)];
        let ints = [0, 1, -1, i64::MIN, i64::MAX, i32::MIN.into(), i32::MAX.into(), u32::MAX.into()];
        values.extend(ints.iter().flat_map(|&i| [i, i.wrapping_add(1), i.wrapping_sub(1)]).map(Value::Int));
        let floats = [0.0, -0.0, 1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE, f64::MAX];
        values.extend(floats.map(Value::Float));
        values.extend(["", "x", "\0héllo"].map(Value::from));
        values.extend([Value::Bytes(Bytes::new()), Value::from(vec![0u8, 255])]);
        values.extend([0, 7, i64::MAX as u64, BIG, u64::MAX].map(|raw| Value::Address(Address::from_raw(raw))));
        let opaque = Value::opaque(3u8);
        values.push(opaque.clone());
        let high = Value::Address(Address::from_raw(u64::MAX));
        for inner in [Value::Int(1), Value::from("s"), Value::Float(f64::NAN), high, opaque] {
            values.push(Value::List(vec![inner.clone(), Value::List(vec![inner.clone()])]));
            values.push(Value::map([("a", inner.clone()), ("b", Value::map([("c", inner)]))]));
        }
        values.extend([Value::List(vec![]), Value::map::<&str, Value>([])]);
        values
    }

    /// `from_value` answers exactly what serde answers, for every value.
    fn reads_as_serde<T: DeserializeOwned + Debug + 'static>(same: impl Fn(&T, &T) -> bool) {
        for value in values() {
            let fast = from_value::<T>(value.clone());
            let serde = value.clone().deserialize_into::<T>();
            let agree = match (&fast, &serde) {
                (Ok(a), Ok(b)) => same(a, b),
                (Err(a), Err(b)) => a == b,
                _ => false,
            };
            let ty = std::any::type_name::<T>();
            assert!(agree, "{value} as {ty}: fast {fast:?}, serde {serde:?}");
        }
    }

    /// `into_value` gives exactly what serde gives, for every sample.
    fn writes_as_serde<T: Serialize + Clone + Debug + 'static>(samples: impl IntoIterator<Item = T>) {
        for sample in samples {
            let fast = into_value(sample.clone());
            let serde = Value::from_serialize(&sample);
            assert_eq!(fast, serde, "{sample:?} as {}", std::any::type_name::<T>());
        }
    }

    // checks G8: a typed payload travels as the value serde makes of it (the wire form is the
    // dynamic one), fast path or not: same values, same errors, edge values included.
    #[test]
    fn fast_paths_read_exactly_as_serde() {
        reads_as_serde::<i64>(|a, b| a == b);
        reads_as_serde::<u64>(|a, b| a == b);
        reads_as_serde::<i32>(|a, b| a == b);
        reads_as_serde::<u32>(|a, b| a == b);
        reads_as_serde::<f64>(|a, b| a.to_bits() == b.to_bits());
        reads_as_serde::<bool>(|a, b| a == b);
        reads_as_serde::<()>(|a, b| a == b);
        reads_as_serde::<String>(|a, b| a == b);
        reads_as_serde::<Address>(|a, b| a == b);
        reads_as_serde::<Value>(|a, b| a == b);
        // and a type without a fast path, through serde
        reads_as_serde::<Option<i64>>(|a, b| a == b);
    }

    // checks G8: as above, from the typed side to the value.
    #[test]
    fn fast_paths_write_exactly_as_serde() {
        writes_as_serde([0, 1, -1, i64::MIN, i64::MAX]);
        writes_as_serde([0, 1, i64::MAX as u64, BIG, u64::MAX]);
        writes_as_serde([0, -1, i32::MIN, i32::MAX]);
        writes_as_serde([0, u32::MAX]);
        writes_as_serde([0.0, -0.0, 1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE]);
        writes_as_serde([false, true]);
        writes_as_serde([()]);
        writes_as_serde(["", "x", "\0héllo"].map(String::from));
        writes_as_serde([0, 7, i64::MAX as u64, BIG, u64::MAX].map(Address::from_raw));
        writes_as_serde(values());
        writes_as_serde([Some(3i64), None]);
    }

    #[test]
    fn a_string_moves_into_its_value_and_back() {
        let name = String::from("a name long enough to be on the heap");
        let at = name.as_ptr();
        let value = into_value(name).unwrap();
        assert_eq!(value.as_str().map(str::as_ptr), Some(at), "moved, not copied");
        let back = from_value::<String>(value).unwrap();
        assert_eq!(back.as_ptr(), at, "and back without a copy");
    }
}
