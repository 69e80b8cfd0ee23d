//! Property: every value without an opaque part survives its binary form (MessagePack,
//! `Value::to_bytes` / `Value::from_bytes`) and serde (`Value::from_serialize`,
//! `Value::deserialize_into`) unchanged — every variant, nested, floats bit for bit (NaN
//! payloads too), addresses as addresses, bytes as bytes. The decoder's hostile side is the
//! `payload` fuzz target's (`sim/src/fuzz/payload.rs`).

use proptest::prelude::*;
use skygroup::{Bytes, Value};

/// Any value except `Opaque` (in-process only). Addresses come from the runtime, so one is
/// made by spawning a service; its raw form is all that matters here.
fn any_value() -> impl Strategy<Value = Value> {
    let address = {
        let rt = skygroup::Runtime::threaded(1);
        rt.define(skygroup::ServiceKind::stateless("s")).unwrap();
        rt.spawn("s", ()).unwrap()
    };
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        prop_oneof![Just(0i64), Just(127), Just(128), Just(-32), Just(-33), Just(65536), Just(i64::MIN)]
            .prop_map(Value::Int),
        any::<u64>().prop_map(|bits| Value::Float(f64::from_bits(bits))),
        ".{0,40}".prop_map(Value::Str),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| Value::Bytes(Bytes::from(b))),
        Just(Value::Address(address)),
    ];
    leaf.prop_recursive(4, 64, 20, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..20).prop_map(Value::List),
            proptest::collection::btree_map(".{0,8}", inner, 0..20).prop_map(Value::Map),
        ]
    })
}

proptest! {
    // checks the payload contract of issue 14: Value -> bytes -> Value is the identity
    #[test]
    fn binary_form_round_trips(v in any_value()) {
        let bytes = v.to_bytes().unwrap();
        prop_assert_eq!(Value::from_bytes(&bytes).unwrap(), v);
    }

    #[test]
    fn serde_round_trips(v in any_value()) {
        prop_assert_eq!(Value::from_serialize(&v).unwrap(), v.clone());
        prop_assert_eq!(v.clone().deserialize_into::<Value>().unwrap(), v);
    }
}

#[test]
fn opaque_refuses_naming_its_type() {
    let v = Value::List(vec![Value::Int(1), Value::opaque(std::time::Duration::from_secs(1))]);
    let err = v.to_bytes().unwrap_err().to_string();
    assert!(err.contains("core::time::Duration") && err.contains("cannot be serialized"), "{err}");
    let err = Value::from_serialize(&v).unwrap_err().to_string();
    assert!(err.contains("core::time::Duration"), "{err}");
}
