//! The `payload` target: conversions of the dynamic message [`Value`] never panic on any
//! input and round-trip: `Display`/`Debug`, `PartialEq`, `From` / `TryFrom` / [`FromValue`]
//! for scalars and tuples, [`Value::map`], the accessors, a value's trip through a call on the
//! simulator, and its binary form and serde (below).
//!
//! The binary form ([`Value::to_bytes`], [`Value::from_bytes`], MessagePack) is fuzzed two
//! ways: the whole input goes to the decoder as hostile bytes (it must fail cleanly or give a
//! value that round-trips; a claimed length is checked against the bytes left before anything
//! is allocated, so no input allocates more than a small multiple of its own size), and every
//! value built below goes through `to_bytes` and back (and through serde, to and from itself).
//!
//! Input: one arbitrary value ([`values`](super::values)), then the bytes for the Rust-side
//! round trips (scalars, a map's pairs, a second value for tuples).
//!
//! Found so far: `Vec<u8>` did not round-trip (`Value::from(vec![1u8])` is a list of ints, and
//! `Vec::<u8>::try_from` took only bytes); fixed in `src/core/value.rs` (a list of ints in
//! `0..=255` converts back), kept by `fuzz/regressions/payload/`.

use std::collections::BTreeMap;
use std::fmt::Debug;

use skygroup::{FromValue, ServiceKind, Value, ValueError};

use super::bytes::Bytes;
use super::values::{self, pairs, text, value};
use crate::Sim;

/// Builds values from `data` and checks every conversion; panics on the first that breaks.
pub fn payload(data: &[u8]) {
    check_decoder(data);
    let mut bytes = Bytes::new(data);
    let v = value(&mut bytes);
    check_value(&v);
    check_encoding(&v);
    check_scalar_round_trips(&mut bytes);
    check_map(pairs(&mut bytes));
    let w = value(&mut bytes);
    check_tuples(&v, &w);
    check_call_echoes(&v);
}

/// Hostile bytes: the decoder never panics; what it accepts encodes and decodes to itself.
fn check_decoder(data: &[u8]) {
    if let Ok(v) = Value::from_bytes(data) {
        let again = v.to_bytes().expect("a decoded value has no opaque part");
        assert_eq!(Value::from_bytes(&again).as_ref(), Ok(&v), "decoded {v} re-encodes to itself");
    }
}

/// A value without an opaque part round-trips through its binary form and through serde; one
/// with an opaque part refuses, naming the opaque type.
fn check_encoding(v: &Value) {
    match (v.to_bytes(), opaque_type(v)) {
        (Ok(bytes), None) => {
            assert_eq!(Value::from_bytes(&bytes).as_ref(), Ok(v), "{v} through its binary form");
            assert_eq!(Value::from_serialize(v).as_ref(), Ok(v), "{v} through serde");
            assert_eq!(v.clone().deserialize_into::<Value>().as_ref(), Ok(v), "{v} out of itself");
        }
        (Err(e), Some(type_name)) => assert!(e.to_string().contains(type_name), "{e} names {type_name}"),
        (result, opaque) => panic!("{v}: encoding {result:?} with opaque part {opaque:?}"),
    }
}

/// The type of the first opaque value inside `v`, depth first.
fn opaque_type(v: &Value) -> Option<&'static str> {
    match v {
        Value::Opaque(o) => Some(o.type_name()),
        Value::List(items) => items.iter().find_map(opaque_type),
        Value::Map(map) => map.values().find_map(opaque_type),
        _ => None,
    }
}

/// Printing never panics, equality is reflexive, and the accessors agree with the variant.
fn check_value(v: &Value) {
    let shown = v.to_string();
    assert_eq!(format!("{v:?}"), shown, "Debug is Display");
    assert_eq!(v, &v.clone(), "a value equals its clone");
    assert_eq!(Value::from_value(v.clone()).as_ref(), Ok(v), "FromValue for Value is the identity");
    assert_eq!(v.as_str().is_some(), v.type_name() == "string", "{shown}");
    assert_eq!(v.as_int().is_some(), v.type_name() == "int", "{shown}");
    let downcasts = v.downcast_ref::<u8>().is_some() || v.downcast_ref::<String>().is_some();
    assert_eq!(downcasts, v.type_name() == "opaque", "{shown}");
    check_try_from_any(v);
}

/// Every `TryFrom<Value>` on any value: `Ok` exactly for its variant, and then converting
/// back gives the value again; `Err` names what was expected and what was found.
fn check_try_from_any(v: &Value) {
    back::<bool>(v, "bool");
    back::<i64>(v, "int");
    back::<f64>(v, "float");
    back::<String>(v, "string");
    back::<Vec<Value>>(v, "list");
    back::<BTreeMap<String, Value>>(v, "map");
    back::<()>(v, "nil");
    check_bytes_from_any(v);
    let address = skygroup::Address::try_from(v.clone());
    assert_eq!(address.map_err(|e| e.found), Err(v.type_name()), "no value here holds an address");
}

/// Bytes come from a byte string, or from a list of ints that all fit a byte.
fn check_bytes_from_any(v: &Value) {
    let want: Option<Vec<u8>> = match v {
        Value::Bytes(b) => Some(b.to_vec()),
        Value::List(items) => items.iter().map(|i| i.as_int().and_then(|i| u8::try_from(i).ok())).collect(),
        _ => None,
    };
    assert_eq!(Vec::<u8>::try_from(v.clone()).ok(), want, "bytes from {v}");
}

fn back<T>(v: &Value, expected: &'static str)
where
    T: TryFrom<Value, Error = ValueError> + Into<Value>,
{
    match T::try_from(v.clone()) {
        Ok(t) => assert_eq!(&t.into(), v, "{expected} converted back"),
        Err(e) => {
            assert_ne!(v.type_name(), expected, "a {expected} refused: {e}");
            assert_eq!(e, ValueError { expected, found: v.type_name() });
            assert_eq!(e.to_string(), format!("expected {expected}, found {}", v.type_name()));
        }
    }
}

/// `From<T>` then `TryFrom` back gives `T` (integers widened to `i64`, `f32` to `f64`).
fn check_scalar_round_trips(b: &mut Bytes<'_>) {
    let n = b.u64();
    round_trip(b.bool());
    round_trip(n as i64);
    for narrow in [n as i8 as i64, n as i16 as i64, n as i32 as i64, n as u8 as i64, n as u16 as i64, n as u32 as i64] {
        assert_eq!(i64::try_from(Value::from(narrow)), Ok(narrow));
    }
    assert_eq!(i64::try_from(Value::from(n as i8)), Ok(i64::from(n as i8)));
    assert_eq!(i64::try_from(Value::from(n as u32)), Ok(i64::from(n as u32)));
    float_round_trip(f64::from_bits(b.u64()));
    let text = text(b);
    round_trip(text.clone());
    assert_eq!(String::try_from(Value::from(text.as_str())).as_ref(), Ok(&text));
    let raw = values::raw(b);
    assert_eq!(Vec::<u8>::try_from(Value::from(raw)).as_deref(), Ok(raw), "&[u8] becomes bytes");
    assert_eq!(Vec::<u8>::try_from(Value::from(raw.to_vec())).as_deref(), Ok(raw), "Vec<u8> round-trips");
    round_trip(());
    assert_eq!(Value::from(Some(n as i64)), Value::Int(n as i64));
    assert_eq!(Value::from(None::<i64>), Value::Nil);
}

fn round_trip<T>(t: T)
where
    T: TryFrom<Value, Error = ValueError> + Into<Value> + Clone + PartialEq + Debug,
{
    assert_eq!(T::try_from(t.clone().into()), Ok(t));
}

/// Floats keep their bits through a value (NaN payloads included); `f32` widens exactly.
fn float_round_trip(x: f64) {
    assert_eq!(f64::try_from(Value::from(x)).map(f64::to_bits), Ok(x.to_bits()));
    let narrow = x as f32;
    let back = f64::try_from(Value::from(narrow)).expect("a float");
    assert!(back.to_bits() == f64::from(narrow).to_bits() || narrow.is_nan() && back.is_nan());
}

/// [`Value::map`] keeps the last value of a repeated key, like inserting in order, and
/// agrees with `From<BTreeMap>` and with `TryFrom` back.
fn check_map(pairs: Vec<(String, Value)>) {
    let mut want = BTreeMap::new();
    for (k, v) in pairs.clone() {
        want.insert(k, v);
    }
    let map = Value::map(pairs);
    assert_eq!(map, Value::from(want.clone()));
    assert_eq!(BTreeMap::<String, Value>::try_from(map.clone()), Ok(want));
    check_value(&map);
}

/// Tuples of any values round-trip, and on any value `TryFrom` into a tuple succeeds exactly
/// for a list of its length and gives the value back.
fn check_tuples(v: &Value, w: &Value) {
    assert_eq!(<(Value, Value)>::try_from(Value::from((v.clone(), w.clone()))), Ok((v.clone(), w.clone())));
    let triple = (text_of(v), v.as_int().unwrap_or(0), w.clone());
    assert_eq!(<(String, i64, Value)>::try_from(Value::from(triple.clone())), Ok(triple));
    tuple_of::<(Value, Value)>(v, 2);
    tuple_of::<(Value, Value, Value)>(v, 3);
    tuple_of::<(Value, Value, Value, Value)>(v, 4);
    typed_pair(v);
}

fn text_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn tuple_of<T>(v: &Value, len: usize)
where
    T: TryFrom<Value, Error = ValueError> + Into<Value>,
{
    let fits = matches!(v, Value::List(items) if items.len() == len);
    match T::try_from(v.clone()) {
        Ok(t) => assert!(fits && &t.into() == v, "a {len}-tuple from {v}"),
        Err(e) => assert!(!fits && e.found == v.type_name(), "{len}-tuple from {v}: {e}"),
    }
}

/// A typed pair: `Ok` only for `[string, int]`; a mismatch names the culprit.
fn typed_pair(v: &Value) {
    let items = match v {
        Value::List(items) if items.len() == 2 => Some(items),
        _ => None,
    };
    match <(String, i64)>::try_from(v.clone()) {
        Ok(pair) => assert_eq!(&Value::from(pair), v),
        Err(e) => {
            let culprit = items
                .map_or(v.type_name(), |i| if i[0].as_str().is_none() { i[0].type_name() } else { i[1].type_name() });
            assert_eq!(e.found, culprit, "(string, int) from {v}: {e}");
        }
    }
}

/// A value sent in a call on the simulator comes back from an echo handler unchanged (and
/// the trace records it without panicking).
fn check_call_echoes(v: &Value) {
    let sim = Sim::builder(0).text(false).build();
    let rt = sim.runtime();
    rt.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) })).expect("define");
    let echo = rt.spawn("echo", ()).expect("spawn");
    let sent = v.clone();
    match rt.block_on(move |ctx| async move { ctx.call(echo, "echo", sent).await }) {
        Ok(reply) => assert_eq!(&reply, v, "a call's argument echoed back"),
        Err(e) => panic!("echo of {v} failed: {e}"),
    }
}
