//! What crosses nodes, byte for byte: a frame is one MessagePack value (`core/wire.rs`), a list
//! `[from node, sequence, tag, ...]`.
//!
//! - tag 0, a request: `[.., from address, to address, session, command, args]` (session 0: a
//!   send);
//! - tag 1, an answer: `[.., to address, session, value]`;
//! - tag 2, a failed answer: `[.., to address, session, error]`, the error a map naming its
//!   kind and fields (see [`error_to_value`]);
//! - tag 3, the sender is leaving the cluster: `[..]` (its calls will not be answered).
//!
//! The sequence number counts the frames from one node to one node from 1, so the receiver
//! sees a gap when frames were lost on the way (K4). The frame is the only place the cluster
//! layer turns values into bytes: a value that cannot be serialized (an opaque one) fails here,
//! and the caller gets [`CallErrorKind::NotSerializable`].

use std::time::Duration;

use bytes::Bytes;

use crate::core::wire::{encode, encode_int};
use crate::core::{Address, CallError, CallErrorKind, NodeId, PayloadError, Value};

const REQUEST: i64 = 0;
const ANSWER: i64 = 1;
const FAILED: i64 = 2;
const LEAVING: i64 = 3;

/// One frame, decoded.
#[derive(Debug, PartialEq)]
pub(crate) struct Frame {
    pub(crate) from: NodeId,
    pub(crate) sequence: u64,
    pub(crate) body: Body,
}

/// What a frame carries.
#[derive(Debug, PartialEq)]
pub(crate) enum Body {
    Request { from: Address, to: Address, session: u64, command: String, args: Value },
    Answer { to: Address, session: u64, result: Result<Value, RemoteError> },
    Leaving,
}

/// A failed answer as it came off the wire: the error, minus what the caller's side knows
/// better (for [`CallErrorKind::NotSerializable`], which target and command it was).
#[derive(Debug, PartialEq)]
pub(crate) enum RemoteError {
    /// The answering side could not serialize the answer.
    NotSerializable(String),
    /// Any other error, as the answering side had it.
    Call(CallError),
}

impl Frame {
    /// The frame's bytes; fails if a value inside cannot be serialized. Written straight into
    /// one buffer (the same bytes as the list of values the module docs describe, without
    /// building that list: a cross-node call's two frames are on its every round trip).
    pub(crate) fn encode(self) -> Result<Bytes, PayloadError> {
        /// A 64-byte payload and its header fit without growing.
        const FRAME_BYTES: usize = 128;
        let mut out = Vec::with_capacity(FRAME_BYTES);
        let items: u8 = match self.body {
            Body::Request { .. } => 8,
            Body::Answer { .. } => 6,
            Body::Leaving => 3,
        };
        out.push(0x90 | items); // a list of up to 15 items
        encode_int(i64::from(self.from.0), &mut out);
        encode_int(self.sequence as i64, &mut out);
        match self.body {
            Body::Request { from, to, session, command, args } => {
                encode_int(REQUEST, &mut out);
                encode(&Value::Address(from), &mut out)?;
                encode(&Value::Address(to), &mut out)?;
                encode_int(session as i64, &mut out);
                encode(&Value::Str(command), &mut out)?;
                encode(&args, &mut out)?;
            }
            Body::Answer { to, session, result } => {
                let (tag, value) = match result {
                    Ok(value) => (ANSWER, value),
                    Err(RemoteError::NotSerializable(message)) => {
                        (FAILED, Value::map([("kind", "NotSerializable"), ("message", message.as_str())]))
                    }
                    Err(RemoteError::Call(e)) => (FAILED, error_to_value(e.kind())),
                };
                encode_int(tag, &mut out);
                encode(&Value::Address(to), &mut out)?;
                encode_int(session as i64, &mut out);
                encode(&value, &mut out)?;
            }
            Body::Leaving => encode_int(LEAVING, &mut out),
        }
        Ok(Bytes::from(out))
    }

    /// Reads a frame; `Err` says what was wrong with it.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Frame, String> {
        let value = Value::from_bytes(bytes).map_err(|e| e.to_string())?;
        let Value::List(items) = value else { return Err("a frame is not a list".into()) };
        let mut items = items.into_iter();
        let mut next = || items.next().ok_or_else(|| "a frame is too short".to_owned());
        let from = NodeId(u16::try_from(int(next()?)?).map_err(|e| e.to_string())?);
        let sequence = int(next()?)? as u64;
        let body = match int(next()?)? {
            REQUEST => Body::Request {
                from: address(next()?)?,
                to: address(next()?)?,
                session: int(next()?)? as u64,
                command: match next()? {
                    Value::Str(s) => s,
                    other => return Err(format!("a command is a string, not {}", other.type_name())),
                },
                args: next()?,
            },
            tag @ (ANSWER | FAILED) => {
                let (to, session, value) = (address(next()?)?, int(next()?)? as u64, next()?);
                let result = if tag == ANSWER { Ok(value) } else { Err(error_from_value(&value)) };
                Body::Answer { to, session, result }
            }
            LEAVING => Body::Leaving,
            other => return Err(format!("unknown frame tag {other}")),
        };
        Ok(Frame { from, sequence, body })
    }
}

fn int(v: Value) -> Result<i64, String> {
    v.as_int().ok_or_else(|| format!("expected an integer in a frame, found {}", v.type_name()))
}

fn address(v: Value) -> Result<Address, String> {
    match v {
        Value::Address(a) => Ok(a),
        other => Err(format!("expected an address in a frame, found {}", other.type_name())),
    }
}

/// A call error as a map: `kind` (the variant's name), `text` (its message) and its fields.
pub(crate) fn error_to_value(kind: &CallErrorKind) -> Value {
    use CallErrorKind as K;
    let text = kind.to_string();
    let mut fields: Vec<(&str, Value)> = Vec::new();
    let name = match kind {
        K::UnknownKind { kind } => {
            fields.push(("service", kind.as_str().into()));
            "UnknownKind"
        }
        K::UnknownAddress { address, command } => {
            fields.extend([("address", (*address).into()), ("command", command.as_str().into())]);
            "UnknownAddress"
        }
        K::Exited { service, address, command } => service_fields(&mut fields, service, *address, command, "Exited"),
        K::UnknownCommand { service, address, command } => {
            service_fields(&mut fields, service, *address, command, "UnknownCommand")
        }
        K::ReservedCommand { service, address, command } => {
            service_fields(&mut fields, service, *address, command, "ReservedCommand")
        }
        K::NoReply { service, address, command } => service_fields(&mut fields, service, *address, command, "NoReply"),
        K::Handler { service, address, command, message } => {
            fields.push(("message", message.as_str().into()));
            service_fields(&mut fields, service, *address, command, "Handler")
        }
        K::Panic { service, address, command, message } => {
            fields.push(("message", message.as_str().into()));
            service_fields(&mut fields, service, *address, command, "Panic")
        }
        K::Rejected { service, address, command, message, error } => {
            fields.extend([("message", message.as_str().into()), ("error", error.clone())]);
            service_fields(&mut fields, service, *address, command, "Rejected")
        }
        K::Overloaded { service, address, command, limit } => {
            fields.push(("limit", Value::Int(*limit as i64)));
            service_fields(&mut fields, service, *address, command, "Overloaded")
        }
        K::Timeout { target, command, after } => {
            fields.extend([("target", target.as_str().into()), ("command", command.as_str().into())]);
            fields.push(("after_us", Value::Int(after.as_micros() as i64)));
            "Timeout"
        }
        K::Shutdown { command } => {
            fields.push(("command", command.as_str().into()));
            "Shutdown"
        }
        // Anything else (a group's error, a nested cluster error, an init failure) crosses as
        // its text: the caller's side sees a handler error with that message.
        _ => "Other",
    };
    let mut map: std::collections::BTreeMap<String, Value> =
        fields.into_iter().filter(|(_, v)| !matches!(v, Value::Opaque(_))).map(|(k, v)| (k.to_owned(), v)).collect();
    map.insert("kind".into(), name.into());
    map.insert("text".into(), text.into());
    Value::Map(map)
}

fn service_fields(
    fields: &mut Vec<(&str, Value)>,
    service: &str,
    address: Address,
    command: &str,
    name: &'static str,
) -> &'static str {
    fields.extend([("service", service.into()), ("address", address.into()), ("command", command.into())]);
    name
}

/// The error [`error_to_value`] wrote (an unknown or malformed one as a handler error with its
/// text, so nothing is silently turned into success).
pub(crate) fn error_from_value(value: &Value) -> RemoteError {
    use CallErrorKind as K;
    let Value::Map(map) = value else {
        return RemoteError::Call(other("?", Address::from_raw(0), "?", format!("a malformed error: {value}")));
    };
    let text = |k: &str| map.get(k).and_then(Value::as_str).unwrap_or("?").to_owned();
    let address = match map.get("address") {
        Some(Value::Address(a)) => *a,
        _ => Address::from_raw(0),
    };
    let (service, command) = (text("service"), text("command"));
    let kind = match text("kind").as_str() {
        "NotSerializable" => return RemoteError::NotSerializable(text("message")),
        "UnknownKind" => K::UnknownKind { kind: service },
        "UnknownAddress" => K::UnknownAddress { address, command },
        "Exited" => K::Exited { service, address, command },
        "UnknownCommand" => K::UnknownCommand { service, address, command },
        "ReservedCommand" => K::ReservedCommand { service, address, command },
        "NoReply" => K::NoReply { service, address, command },
        "Handler" => K::Handler { service, address, command, message: text("message") },
        "Panic" => K::Panic { service, address, command, message: text("message") },
        "Rejected" => K::Rejected {
            service,
            address,
            command,
            message: text("message"),
            error: map.get("error").cloned().unwrap_or_default(),
        },
        "Overloaded" => {
            let limit = map.get("limit").and_then(Value::as_int).unwrap_or(0) as usize;
            K::Overloaded { service, address, command, limit }
        }
        "Timeout" => {
            let after = Duration::from_micros(map.get("after_us").and_then(Value::as_int).unwrap_or(0) as u64);
            K::Timeout { target: text("target"), command, after }
        }
        "Shutdown" => K::Shutdown { command },
        _ => return RemoteError::Call(other(&service, address, &command, text("text"))),
    };
    RemoteError::Call(kind.into())
}

fn other(service: &str, address: Address, command: &str, message: String) -> CallError {
    CallErrorKind::Handler { service: service.into(), address, command: command.into(), message }.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(frame: Frame) -> Frame {
        Frame::decode(&frame.encode().expect("serializable")).expect("decodable")
    }

    #[test]
    fn a_request_and_its_answers_round_trip() {
        let (a, b) = (Address::cluster_agent(NodeId(1)), Address::cluster_agent(NodeId(2)));
        let request = Body::Request { from: a, to: b, session: 7, command: "login".into(), args: Value::from("ana") };
        let frame = Frame { from: NodeId(1), sequence: 3, body: request };
        assert_eq!(round_trip(Frame { from: frame.from, sequence: 3, body: clone_body(&frame.body) }), frame);
        let answer =
            Frame { from: NodeId(2), sequence: 1, body: Body::Answer { to: a, session: 7, result: Ok(1.into()) } };
        assert_eq!(round_trip(Frame { from: NodeId(2), sequence: 1, body: clone_body(&answer.body) }), answer);
    }

    #[test]
    fn errors_keep_their_kind_across_nodes() {
        let address = Address::cluster_agent(NodeId(4));
        let kinds = [
            CallErrorKind::Exited { service: "db".into(), address, command: "get".into() },
            CallErrorKind::Handler { service: "db".into(), address, command: "get".into(), message: "no".into() },
            CallErrorKind::Rejected {
                service: "db".into(),
                address,
                command: "get".into(),
                message: "no".into(),
                error: Value::Int(3),
            },
            CallErrorKind::Timeout { target: "x".into(), command: "get".into(), after: Duration::from_millis(5) },
            CallErrorKind::UnknownAddress { address, command: "get".into() },
        ];
        for kind in kinds {
            assert_eq!(error_from_value(&error_to_value(&kind)), RemoteError::Call(kind.into()));
        }
    }

    #[test]
    fn an_opaque_value_cannot_cross() {
        let (a, b) = (Address::cluster_agent(NodeId(1)), Address::cluster_agent(NodeId(2)));
        let request = Body::Request { from: a, to: b, session: 1, command: "x".into(), args: Value::opaque(5u8) };
        let err = Frame { from: NodeId(1), sequence: 1, body: request }.encode().unwrap_err();
        assert!(err.to_string().contains("u8"), "{err}");
    }

    /// A frame as the list of values of the module docs, encoded as one value (how frames were
    /// written before the direct encoder).
    fn as_list(frame: &Frame) -> Vec<u8> {
        let mut items = vec![Value::Int(i64::from(frame.from.0)), Value::Int(frame.sequence as i64)];
        match &frame.body {
            Body::Request { from, to, session, command, args } => items.extend([
                Value::Int(REQUEST),
                Value::Address(*from),
                Value::Address(*to),
                Value::Int(*session as i64),
                Value::Str(command.clone()),
                args.clone(),
            ]),
            Body::Answer { to, session, result: Ok(value) } => {
                items.extend([Value::Int(ANSWER), Value::Address(*to), Value::Int(*session as i64), value.clone()]);
            }
            Body::Answer { to, session, result: Err(RemoteError::Call(e)) } => items.extend([
                Value::Int(FAILED),
                Value::Address(*to),
                Value::Int(*session as i64),
                error_to_value(e.kind()),
            ]),
            Body::Answer { .. } => unreachable!("not used below"),
            Body::Leaving => items.push(Value::Int(LEAVING)),
        }
        Value::List(items).to_bytes().unwrap()
    }

    // checks K2: frames keep their wire form byte for byte (nodes of two builds interoperate).
    #[test]
    fn the_direct_encoder_writes_the_list_of_the_module_docs() {
        let (a, b) = (Address::cluster_agent(NodeId(1)), Address::cluster_agent(NodeId(300)));
        let big = Value::from(vec![9u8; 300]);
        let failed = CallError::from(CallErrorKind::UnknownAddress { address: b, command: "get".into() });
        let bodies = [
            Body::Request { from: a, to: b, session: 1 << 40, command: "login".into(), args: big.clone() },
            Body::Request { from: b, to: a, session: 0, command: "x".repeat(40), args: Value::Nil },
            Body::Answer { to: a, session: 7, result: Ok(big) },
            Body::Answer { to: b, session: u64::from(u32::MAX), result: Err(RemoteError::Call(failed)) },
            Body::Leaving,
        ];
        for (i, body) in bodies.into_iter().enumerate() {
            let frame = Frame { from: NodeId(300), sequence: 1 + (i as u64) * 1_000_000_007, body };
            let expected = as_list(&frame);
            assert_eq!(frame.encode().unwrap().as_ref(), &expected[..], "frame {i}");
        }
    }

    fn clone_body(body: &Body) -> Body {
        match body {
            Body::Request { from, to, session, command, args } => {
                Body::Request { from: *from, to: *to, session: *session, command: command.clone(), args: args.clone() }
            }
            Body::Answer { to, session, result: Ok(v) } => {
                Body::Answer { to: *to, session: *session, result: Ok(v.clone()) }
            }
            Body::Answer { .. } | Body::Leaving => unreachable!("the tests clone requests and answers only"),
        }
    }
}
