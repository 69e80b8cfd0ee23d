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
