//! Frames on a byte stream: skynet's 2-byte big-endian length prefix (the default), a 4-byte
//! prefix, or no framing at all (each read is a frame). Kept apart from the gate so the byte
//! arithmetic is tested on its own, whatever split the network delivers the stream in.

/// How a gate cuts a connection's byte stream into frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// A 2-byte big-endian length, then that many bytes (skynet's gate; frames up to 65,535).
    #[default]
    Len2,
    /// A 4-byte big-endian length, then that many bytes.
    Len4,
    /// No framing: every chunk the network delivers is one frame, split wherever it was split.
    Raw,
}

impl Framing {
    fn prefix(self) -> usize {
        match self {
            Framing::Len2 => 2,
            Framing::Len4 => 4,
            Framing::Raw => 0,
        }
    }

    /// `payload` with its length prefix, or why it cannot be framed.
    pub(crate) fn encode(self, payload: &[u8]) -> Result<Vec<u8>, String> {
        let len = payload.len();
        let mut out = Vec::with_capacity(self.prefix() + len);
        match self {
            Framing::Len2 => {
                let n =
                    u16::try_from(len).map_err(|_| format!("a frame of {len} bytes does not fit a 2-byte length"))?;
                out.extend_from_slice(&n.to_be_bytes());
            }
            Framing::Len4 => {
                let n =
                    u32::try_from(len).map_err(|_| format!("a frame of {len} bytes does not fit a 4-byte length"))?;
                out.extend_from_slice(&n.to_be_bytes());
            }
            Framing::Raw => {}
        }
        out.extend_from_slice(payload);
        Ok(out)
    }
}

/// A frame longer than the gate allows (N8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TooLarge {
    pub(crate) len: usize,
    pub(crate) max: usize,
}

/// One connection's incoming stream, cut into frames as bytes arrive.
#[derive(Debug)]
pub(crate) struct Deframer {
    framing: Framing,
    max_frame: usize,
    buf: Vec<u8>,
}

impl Deframer {
    pub(crate) fn new(framing: Framing, max_frame: usize) -> Deframer {
        Deframer { framing, max_frame, buf: Vec::new() }
    }

    /// Adds `bytes` and appends every frame now complete to `frames`, in stream order. A
    /// length over `max_frame` is refused as soon as its prefix has arrived.
    pub(crate) fn push(&mut self, bytes: &[u8], frames: &mut Vec<Vec<u8>>) -> Result<(), TooLarge> {
        let prefix = self.framing.prefix();
        if prefix == 0 {
            if !bytes.is_empty() {
                frames.push(bytes.to_vec());
            }
            return Ok(());
        }
        self.buf.extend_from_slice(bytes);
        let mut at = 0;
        while self.buf.len() - at >= prefix {
            let len = self.buf[at..at + prefix].iter().fold(0usize, |n, b| (n << 8) | usize::from(*b));
            if len > self.max_frame {
                return Err(TooLarge { len, max: self.max_frame });
            }
            if self.buf.len() - at - prefix < len {
                break;
            }
            frames.push(self.buf[at + prefix..at + prefix + len].to_vec());
            at += prefix + len;
        }
        self.buf.drain(..at);
        Ok(())
    }

    /// Bytes of a frame begun and not finished (reported at close, N9).
    pub(crate) fn partial(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames_of(framing: Framing, chunks: &[&[u8]]) -> (Vec<Vec<u8>>, usize) {
        let mut d = Deframer::new(framing, 1000);
        let mut frames = Vec::new();
        for c in chunks {
            d.push(c, &mut frames).unwrap();
        }
        (frames, d.partial())
    }

    #[test]
    fn every_split_of_a_stream_gives_the_same_frames() {
        let mut stream = Framing::Len2.encode(b"hello").unwrap();
        stream.extend(Framing::Len2.encode(b"").unwrap());
        stream.extend(Framing::Len2.encode(b"world!").unwrap());
        for cut in 0..=stream.len() {
            for cut2 in cut..=stream.len() {
                let (frames, partial) =
                    frames_of(Framing::Len2, &[&stream[..cut], &stream[cut..cut2], &stream[cut2..]]);
                assert_eq!(frames, vec![b"hello".to_vec(), vec![], b"world!".to_vec()]);
                assert_eq!(partial, 0);
            }
        }
    }

    #[test]
    fn len4_and_partial_bytes() {
        let stream = Framing::Len4.encode(b"abcdef").unwrap();
        let (frames, partial) = frames_of(Framing::Len4, &[&stream[..7]]);
        assert!(frames.is_empty());
        assert_eq!(partial, 7);
    }

    // checks N8
    #[test]
    fn a_length_over_max_frame_is_refused_at_its_prefix() {
        let mut d = Deframer::new(Framing::Len2, 10);
        let err = d.push(&[0, 11], &mut Vec::new()).unwrap_err();
        assert_eq!(err, TooLarge { len: 11, max: 10 });
    }

    #[test]
    fn len2_refuses_to_encode_what_does_not_fit() {
        assert!(Framing::Len2.encode(&vec![0; 70_000]).is_err());
        assert_eq!(Framing::Raw.encode(b"x").unwrap(), b"x");
    }
}
