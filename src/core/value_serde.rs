//! serde for payloads: [`Value`] is `Serialize`/`Deserialize`, and any serde type converts to
//! and from a [`Value`] directly ([`Value::from_serialize`], [`Value::deserialize_into`]), with
//! no text in between. This is what typed commands (`command.rs`) stand on: their `Args` and
//! `Reply` travel as the same dynamic values a by-name caller sends, so both styles interoperate.
//!
//! The mapping is serde's usual self-describing one: a struct is a map by field names (so a
//! typed payload prints readably in a simulator trace), a sequence or tuple a list, an enum
//! variant its name (unit) or a one-entry map `{Variant: payload}`, `Option::None` nil, serde
//! bytes (`bytes::Bytes`, `serde_bytes`) bytes. Integers wider than `i64` fit only when their value
//! does. An [`Address`] is a newtype struct with a reserved name, so it stays an address through a
//! `Value` (and a plain integer in other formats). An [`Opaque`](super::value::Opaque) value refuses
//! to serialize, naming its type.

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;
use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};
use serde::{Deserialize, Deserializer, Serializer, forward_to_deserialize_any};

use super::address::Address;
use super::value::Value;

/// The newtype-struct name an [`Address`] serializes under; the `Value` serializer turns it back
/// into [`Value::Address`].
const ADDRESS_TOKEN: &str = "$skygroup::Address";

/// A payload could not be converted: a serde type to or from a [`Value`], or a [`Value`] to or
/// from its binary form ([`Value::to_bytes`], [`Value::from_bytes`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payload: {0}")]
pub struct PayloadError(pub(crate) String);

impl ser::Error for PayloadError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PayloadError(msg.to_string())
    }
}

impl de::Error for PayloadError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PayloadError(msg.to_string())
    }
}

impl Value {
    /// Converts any serde type to a value, directly (no text, no bytes).
    ///
    /// ```
    /// # use skygroup::Value;
    /// #[derive(serde::Serialize)]
    /// struct Login { id: u64, name: String }
    /// let v = Value::from_serialize(&Login { id: 7, name: "ana".into() }).unwrap();
    /// assert_eq!(v.to_string(), r#"{id: 7, name: "ana"}"#);
    /// ```
    #[inline]
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Value, PayloadError> {
        value.serialize(ValueSerializer)
    }

    /// Converts this value to any serde type, directly (no text, no bytes).
    #[inline]
    pub fn deserialize_into<T: DeserializeOwned>(self) -> Result<T, PayloadError> {
        T::deserialize(self)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Nil => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(x) => s.serialize_f64(*x),
            Value::Str(v) => s.serialize_str(v),
            Value::Bytes(b) => s.serialize_bytes(b),
            Value::List(items) => s.collect_seq(items),
            Value::Map(map) => s.collect_map(map),
            Value::Address(a) => a.serialize(s),
            Value::Opaque(o) => Err(ser::Error::custom(format_args!(
                "an opaque value ({}) is in-process only and cannot be serialized",
                o.type_name()
            ))),
        }
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(ADDRESS_TOKEN, &self.raw())
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
        Ok(Address::from_raw(u64::deserialize(d)?))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a skygroup value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    /// Only the `Value` deserializer visits a newtype here: an address (see `deserialize_any`).
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Ok(Value::Address(Address::deserialize(d)?))
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        i64::try_from(u).map(Value::Int).map_err(|_| E::custom(format_args!("integer {u} out of range for int (i64)")))
    }
    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Float(x))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E>(self, b: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(Bytes::copy_from_slice(b)))
    }
    fn visit_byte_buf<E>(self, b: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(b.into()))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // No size hint trusted: a hostile length must not allocate up front.
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            out.insert(k, v);
        }
        Ok(Value::Map(out))
    }
}

/// Builds a [`Value`] from any serde type.
struct ValueSerializer;

fn int<T: TryInto<i64> + fmt::Display + Copy>(n: T) -> Result<Value, PayloadError> {
    n.try_into().map(Value::Int).map_err(|_| PayloadError(format!("integer {n} out of range for int (i64)")))
}

fn variant(name: &str, payload: Value) -> Value {
    Value::Map(BTreeMap::from([(name.to_owned(), payload)]))
}

impl Serializer for ValueSerializer {
    type Ok = Value;
    type Error = PayloadError;
    type SerializeSeq = ListBuilder;
    type SerializeTuple = ListBuilder;
    type SerializeTupleStruct = ListBuilder;
    type SerializeTupleVariant = ListBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = MapBuilder;

    fn serialize_bool(self, v: bool) -> Result<Value, PayloadError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, PayloadError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, PayloadError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, PayloadError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, PayloadError> {
        Ok(Value::Int(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, PayloadError> {
        int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Value, PayloadError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, PayloadError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, PayloadError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, PayloadError> {
        int(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Value, PayloadError> {
        int(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Value, PayloadError> {
        Ok(Value::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, PayloadError> {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, PayloadError> {
        Ok(Value::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, PayloadError> {
        Ok(Value::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, PayloadError> {
        Ok(Value::Bytes(Bytes::copy_from_slice(v)))
    }
    fn serialize_none(self) -> Result<Value, PayloadError> {
        Ok(Value::Nil)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, PayloadError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, PayloadError> {
        Ok(Value::Nil)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, PayloadError> {
        Ok(Value::Nil)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, name: &'static str) -> Result<Value, PayloadError> {
        Ok(Value::Str(name.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, v: &T) -> Result<Value, PayloadError> {
        let inner = v.serialize(self)?;
        match inner {
            Value::Int(raw) if name == ADDRESS_TOKEN => Ok(Value::Address(Address::from_raw(raw as u64))),
            other => Ok(other),
        }
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        v: &T,
    ) -> Result<Value, PayloadError> {
        Ok(variant(name, v.serialize(self)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<ListBuilder, PayloadError> {
        Ok(ListBuilder { items: Vec::with_capacity(len.unwrap_or(0)), variant: None })
    }
    fn serialize_tuple(self, len: usize) -> Result<ListBuilder, PayloadError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<ListBuilder, PayloadError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        len: usize,
    ) -> Result<ListBuilder, PayloadError> {
        Ok(ListBuilder { items: Vec::with_capacity(len), variant: Some(name) })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapBuilder, PayloadError> {
        Ok(MapBuilder { map: BTreeMap::new(), key: None, variant: None })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapBuilder, PayloadError> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        _: usize,
    ) -> Result<MapBuilder, PayloadError> {
        Ok(MapBuilder { map: BTreeMap::new(), key: None, variant: Some(name) })
    }
}

/// A list being serialized (a sequence, tuple, or a tuple variant's fields).
struct ListBuilder {
    items: Vec<Value>,
    variant: Option<&'static str>,
}

impl ListBuilder {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), PayloadError> {
        self.items.push(v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn finish(self) -> Result<Value, PayloadError> {
        let list = Value::List(self.items);
        Ok(match self.variant {
            Some(name) => variant(name, list),
            None => list,
        })
    }
}

macro_rules! list_impls {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for ListBuilder {
            type Ok = Value;
            type Error = PayloadError;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), PayloadError> {
                self.push(v)
            }
            fn end(self) -> Result<Value, PayloadError> {
                self.finish()
            }
        }
    )*};
}

list_impls!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// A map being serialized (a map, a struct, or a struct variant's fields).
struct MapBuilder {
    map: BTreeMap<String, Value>,
    key: Option<String>,
    variant: Option<&'static str>,
}

impl MapBuilder {
    fn finish(self) -> Result<Value, PayloadError> {
        let map = Value::Map(self.map);
        Ok(match self.variant {
            Some(name) => variant(name, map),
            None => map,
        })
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = PayloadError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), PayloadError> {
        match key.serialize(ValueSerializer)? {
            Value::Str(k) => self.key = Some(k),
            other => return Err(PayloadError(format!("map keys must be strings, found {}", other.type_name()))),
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), PayloadError> {
        let key = self.key.take().ok_or_else(|| PayloadError("a map value without its key".into()))?;
        self.map.insert(key, v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, PayloadError> {
        self.finish()
    }
}

macro_rules! struct_impls {
    ($($trait:ident),*) => {$(
        impl ser::$trait for MapBuilder {
            type Ok = Value;
            type Error = PayloadError;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), PayloadError> {
                self.map.insert(key.to_owned(), v.serialize(ValueSerializer)?);
                Ok(())
            }
            fn end(self) -> Result<Value, PayloadError> {
                self.finish()
            }
        }
    )*};
}

struct_impls!(SerializeStruct, SerializeStructVariant);

/// Integer `deserialize_*` methods: an int or an address (its raw number) visited at once,
/// anything else through `deserialize_any`.
macro_rules! integers_from_addresses {
    ($($method:ident)*) => {$(
        #[inline]
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
            match self {
                // first, and inlined: the common case of a typed command's number
                Value::Int(i) => visitor.visit_i64(i),
                Value::Address(a) => visitor.visit_u64(a.raw()),
                other => other.deserialize_any(visitor),
            }
        }
    )*};
}

impl IntoDeserializer<'_, PayloadError> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}

/// Reads any serde type out of a value (consuming it).
impl<'de> Deserializer<'de> for Value {
    type Error = PayloadError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
        match self {
            Value::Nil => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Int(i) => visitor.visit_i64(i),
            Value::Float(x) => visitor.visit_f64(x),
            Value::Str(s) => visitor.visit_string(s),
            Value::Bytes(b) => visitor.visit_byte_buf(b.into()),
            Value::List(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter());
                let out = visitor.visit_seq(&mut seq)?;
                seq.end().map(|()| out)
            }
            Value::Map(map) => {
                let mut entries = MapDeserializer::new(map.into_iter());
                let out = visitor.visit_map(&mut entries)?;
                entries.end().map(|()| out)
            }
            // A newtype, so `Value`'s own visitor keeps it an address; an integer type asks
            // for its raw number below.
            address @ Value::Address(_) => visitor.visit_newtype_struct(address),
            Value::Opaque(o) => {
                Err(PayloadError(format!("an opaque value ({}) cannot be deserialized", o.type_name())))
            }
        }
    }

    integers_from_addresses!(
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
    );

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
        match self {
            Value::Nil => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        match self {
            Value::Str(name) => visitor.visit_enum(name.into_deserializer()),
            Value::Map(map) if map.len() == 1 => {
                let (name, payload) = map.into_iter().next().expect("one entry");
                visitor.visit_enum(EnumValue { name, payload })
            }
            other => Err(PayloadError(format!(
                "expected an enum variant (a string or a one-entry map), found {}",
                other.type_name()
            ))),
        }
    }

    forward_to_deserialize_any! {
        bool f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// A `{Variant: payload}` map read as an enum.
struct EnumValue {
    name: String,
    payload: Value,
}

impl<'de> de::EnumAccess<'de> for EnumValue {
    type Error = PayloadError;
    type Variant = Value;
    fn variant_seed<V: de::DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Value), PayloadError> {
        let name = seed.deserialize(self.name.into_deserializer())?;
        Ok((name, self.payload))
    }
}

impl<'de> de::VariantAccess<'de> for Value {
    type Error = PayloadError;
    fn unit_variant(self) -> Result<(), PayloadError> {
        match self {
            Value::Nil => Ok(()),
            other => Err(PayloadError(format!("expected a unit variant, found {}", other.type_name()))),
        }
    }
    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, PayloadError> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, PayloadError> {
        self.deserialize_any(visitor)
    }
    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], visitor: V) -> Result<V::Value, PayloadError> {
        self.deserialize_any(visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    enum Move {
        Stop,
        Walk(i32, i32),
        Attack { target: Address, weapon: Option<String> },
    }

    #[test]
    fn structs_enums_and_addresses_map_readably_and_back() {
        let target = Address::from_raw(10);
        for m in [Move::Stop, Move::Walk(1, -2), Move::Attack { target, weapon: None }] {
            let v = Value::from_serialize(&m).unwrap();
            assert_eq!(v.clone().deserialize_into::<Move>().unwrap(), m, "{v}");
        }
        let v = Value::from_serialize(&Move::Attack { target, weapon: Some("axe".into()) }).unwrap();
        assert_eq!(v.to_string(), r#"{Attack: {target: :0000000a, weapon: "axe"}}"#);
        assert_eq!(Value::from_serialize(&Move::Stop).unwrap(), Value::from("Stop"));
    }

    #[test]
    fn out_of_range_and_mismatches_say_what() {
        let err = Value::from_serialize(&u64::MAX).unwrap_err();
        assert_eq!(err.to_string(), "payload: integer 18446744073709551615 out of range for int (i64)");
        let err = Value::from("x").deserialize_into::<u64>().unwrap_err();
        assert!(err.to_string().contains("expected u64"), "{err}");
        assert_eq!(Value::Int(5).deserialize_into::<u8>(), Ok(5));
    }
}
