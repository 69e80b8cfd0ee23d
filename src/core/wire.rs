//! A [`Value`]'s binary form, for crossing a process boundary: MessagePack, the format closest to
//! skynet's own Lua serializer (self-describing, so a by-name caller or a tool can read any
//! payload without its Rust type; BENCHMARKS.md has the size and speed figures behind the
//! choice). An [`Address`] is MessagePack extension type 1 (eight bytes, big-endian), so it
//! stays an address; floats are always 64-bit, so they round-trip bit for bit.
//!
//! The decoder faces hostile input (a client, another machine): it never panics, trusts no
//! length (a claimed length larger than the bytes left is an error before anything is
//! allocated), bounds nesting depth, and refuses trailing bytes. The `payload` fuzz target
//! (`sim/src/fuzz/payload.rs`) drives it.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::address::Address;
use super::value::Value;
use super::value_serde::PayloadError;

/// MessagePack extension type of an [`Address`].
const ADDRESS_EXT: i8 = 1;
/// Lists and maps nested deeper than this are refused (the decoder recurses).
const MAX_DEPTH: usize = 128;

impl Value {
    /// This value in its binary form (MessagePack). Fails only on an
    /// [`Opaque`](crate::Opaque) value (in-process only), naming its type.
    ///
    /// ```
    /// # use skygroup::Value;
    /// let v = Value::map([("id", Value::Int(7)), ("token", Value::from(vec![1u8, 2]))]);
    /// assert_eq!(Value::from_bytes(&v.to_bytes().unwrap()).unwrap(), v);
    /// assert!(Value::opaque(1u8).to_bytes().unwrap_err().to_string().contains("u8"));
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>, PayloadError> {
        let mut out = Vec::new();
        encode(self, &mut out)?;
        Ok(out)
    }

    /// Reads a value from its binary form (all of `bytes`, nothing left over).
    pub fn from_bytes(bytes: &[u8]) -> Result<Value, PayloadError> {
        let mut reader = Reader { bytes, at: 0 };
        let value = reader.value(0)?;
        match reader.bytes.len() - reader.at {
            0 => Ok(value),
            left => Err(reader.error(format!("{left} bytes after the value"))),
        }
    }
}

/// Appends `v`'s binary form to `out` (the cluster's frames write their header around it
/// without building a list of values first).
pub(crate) fn encode(v: &Value, out: &mut Vec<u8>) -> Result<(), PayloadError> {
    match v {
        Value::Nil => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Int(i) => encode_int(*i, out),
        Value::Float(x) => {
            out.push(0xcb);
            out.extend_from_slice(&x.to_be_bytes());
        }
        Value::Str(s) => {
            length(s.len(), [0xa0, 0xd9, 0xda, 0xdb], 31, out)?;
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bytes(b) => {
            length(b.len(), [0, 0xc4, 0xc5, 0xc6], 0, out)?;
            out.extend_from_slice(b);
        }
        Value::List(items) => {
            length(items.len(), [0x90, 0, 0xdc, 0xdd], 15, out)?;
            items.iter().try_for_each(|item| encode(item, out))?;
        }
        Value::Map(map) => {
            length(map.len(), [0x80, 0, 0xde, 0xdf], 15, out)?;
            for (k, v) in map {
                length(k.len(), [0xa0, 0xd9, 0xda, 0xdb], 31, out)?;
                out.extend_from_slice(k.as_bytes());
                encode(v, out)?;
            }
        }
        Value::Address(a) => {
            out.extend_from_slice(&[0xd7, ADDRESS_EXT as u8]);
            out.extend_from_slice(&a.raw().to_be_bytes());
        }
        Value::Opaque(o) => {
            let what = o.type_name();
            return Err(PayloadError(format!("an opaque value ({what}) is in-process only and cannot be serialized")));
        }
    }
    Ok(())
}

pub(crate) fn encode_int(i: i64, out: &mut Vec<u8>) {
    match i {
        0..=127 => out.push(i as u8),
        -32..=-1 => out.push(i as i8 as u8),
        _ if i8::try_from(i).is_ok() => out.extend_from_slice(&[0xd0, i as i8 as u8]),
        _ if i16::try_from(i).is_ok() => {
            out.push(0xd1);
            out.extend_from_slice(&(i as i16).to_be_bytes());
        }
        _ if i32::try_from(i).is_ok() => {
            out.push(0xd2);
            out.extend_from_slice(&(i as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&i.to_be_bytes());
        }
    }
}

/// Writes a length header: `[fix, 8-bit, 16-bit, 32-bit]` markers (`0`: that width is not in
/// the format), the fix form when `len <= fix_max` (and `fix != 0`).
fn length(len: usize, markers: [u8; 4], fix_max: usize, out: &mut Vec<u8>) -> Result<(), PayloadError> {
    let [fix, m8, m16, m32] = markers;
    if fix != 0 && len <= fix_max {
        out.push(fix | len as u8);
    } else if m8 != 0 && len <= 0xff {
        out.extend_from_slice(&[m8, len as u8]);
    } else if len <= 0xffff {
        out.push(m16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        let len = u32::try_from(len).map_err(|_| PayloadError(format!("{len} elements: over MessagePack's 2^32-1")))?;
        out.push(m32);
        out.extend_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, what: String) -> PayloadError {
        PayloadError(format!("bad MessagePack at byte {}: {what}", self.at))
    }

    fn take(&mut self, n: usize) -> Result<&[u8], PayloadError> {
        let left = self.bytes.len() - self.at;
        if n > left {
            return Err(self.error(format!("{n} bytes claimed, {left} left")));
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PayloadError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn len(&mut self, width: usize) -> Result<usize, PayloadError> {
        Ok(match width {
            1 => u8::from_be_bytes(self.array()?) as usize,
            2 => u16::from_be_bytes(self.array()?) as usize,
            _ => u32::from_be_bytes(self.array()?) as usize,
        })
    }

    fn value(&mut self, depth: usize) -> Result<Value, PayloadError> {
        let [marker] = self.array()?;
        Ok(match marker {
            0x00..=0x7f => Value::Int(marker.into()),
            0xe0..=0xff => Value::Int((marker as i8).into()),
            0xc0 => Value::Nil,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xcc => Value::Int(u8::from_be_bytes(self.array()?).into()),
            0xcd => Value::Int(u16::from_be_bytes(self.array()?).into()),
            0xce => Value::Int(u32::from_be_bytes(self.array()?).into()),
            0xcf => {
                let u = u64::from_be_bytes(self.array()?);
                Value::Int(i64::try_from(u).map_err(|_| self.error(format!("integer {u} out of range for int (i64)")))?)
            }
            0xd0 => Value::Int(i8::from_be_bytes(self.array()?).into()),
            0xd1 => Value::Int(i16::from_be_bytes(self.array()?).into()),
            0xd2 => Value::Int(i32::from_be_bytes(self.array()?).into()),
            0xd3 => Value::Int(i64::from_be_bytes(self.array()?)),
            0xca => Value::Float(f32::from_be_bytes(self.array()?).into()),
            0xcb => Value::Float(f64::from_be_bytes(self.array()?)),
            0xa0..=0xbf => self.string((marker & 0x1f) as usize).map(Value::Str)?,
            0xd9..=0xdb => {
                let n = self.len(1 << (marker - 0xd9))?;
                self.string(n).map(Value::Str)?
            }
            0xc4..=0xc6 => {
                let n = self.len(1 << (marker - 0xc4))?;
                Value::Bytes(Bytes::copy_from_slice(self.take(n)?))
            }
            0x90..=0x9f => self.list((marker & 0x0f) as usize, depth)?,
            0xdc | 0xdd => {
                let n = self.len(if marker == 0xdc { 2 } else { 4 })?;
                self.list(n, depth)?
            }
            0x80..=0x8f => self.map((marker & 0x0f) as usize, depth)?,
            0xde | 0xdf => {
                let n = self.len(if marker == 0xde { 2 } else { 4 })?;
                self.map(n, depth)?
            }
            0xd7 => {
                let [ext] = self.array()?;
                if ext as i8 != ADDRESS_EXT {
                    return Err(self.error(format!("extension type {} (only 1, an address, is known)", ext as i8)));
                }
                Value::Address(Address::from_raw(u64::from_be_bytes(self.array()?)))
            }
            other => return Err(self.error(format!("marker 0x{other:02x} is not used by skygroup payloads"))),
        })
    }

    fn string(&mut self, n: usize) -> Result<String, PayloadError> {
        let raw = self.take(n)?;
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(self.error(format!("a string that is not UTF-8: {e}"))),
        }
    }

    fn key(&mut self) -> Result<String, PayloadError> {
        let [marker] = self.array()?;
        let n = match marker {
            0xa0..=0xbf => (marker & 0x1f) as usize,
            0xd9..=0xdb => self.len(1 << (marker - 0xd9))?,
            other => return Err(self.error(format!("map key with marker 0x{other:02x}: keys are strings"))),
        };
        self.string(n)
    }

    /// Each element takes at least one byte, so `n` is checked against what is left before
    /// anything is reserved.
    fn list(&mut self, n: usize, depth: usize) -> Result<Value, PayloadError> {
        self.room(n, 1, depth)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::List(items))
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value, PayloadError> {
        self.room(n, 2, depth)?;
        let mut map = BTreeMap::new();
        for _ in 0..n {
            let key = self.key()?;
            let value = self.value(depth + 1)?;
            if map.insert(key, value).is_some() {
                return Err(self.error("a map key twice".into()));
            }
        }
        Ok(Value::Map(map))
    }

    fn room(&self, n: usize, min_size: usize, depth: usize) -> Result<(), PayloadError> {
        if depth >= MAX_DEPTH {
            return Err(self.error(format!("nested deeper than {MAX_DEPTH}")));
        }
        let left = self.bytes.len() - self.at;
        if n.saturating_mul(min_size) > left {
            return Err(self.error(format!("{n} elements claimed, {left} bytes left")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: Value) {
        let bytes = v.to_bytes().unwrap();
        assert_eq!(Value::from_bytes(&bytes).unwrap(), v, "{bytes:02x?}");
    }

    #[test]
    fn every_variant_round_trips() {
        for i in [0, 1, 127, 128, 255, 256, -1, -32, -33, -128, -129, 65535, 65536, i64::MIN, i64::MAX] {
            round_trip(Value::Int(i));
        }
        round_trip(Value::Float(f64::NAN));
        round_trip(Value::from("x".repeat(40)));
        round_trip(Value::from(vec![9u8; 300]));
        round_trip(Value::map([
            ("a", Value::from(vec![Value::Nil, true.into()])),
            ("b", Value::Address(Address::from_raw(9))),
        ]));
        round_trip(Value::List((0..70000).map(Value::Int).collect()));
    }

    #[test]
    fn hostile_lengths_fail_before_allocating() {
        // a list claiming 2^32-1 elements in 5 bytes
        let err = Value::from_bytes(&[0xdd, 0xff, 0xff, 0xff, 0xff]).unwrap_err();
        assert!(err.to_string().contains("elements claimed"), "{err}");
        let err = Value::from_bytes(&[0xc6, 0xff, 0xff, 0xff, 0xff]).unwrap_err();
        assert!(err.to_string().contains("bytes claimed"), "{err}");
        let deep = vec![0x91; 1000];
        assert!(Value::from_bytes(&deep).unwrap_err().to_string().contains("nested deeper"));
        assert!(Value::from_bytes(&[0xc0, 0xc0]).is_err(), "trailing bytes");
        assert!(Value::from_bytes(&[0xc1]).is_err());
    }
}
