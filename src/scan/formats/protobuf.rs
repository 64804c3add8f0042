//! A protobuf wire-format reader over a byte slice, for the schemas read here (TensorFlow
//! SavedModel/GraphDef, ONNX tensors, CoreML, SentencePiece): fields are yielded one at a time,
//! every length is checked against the enclosing message, and nothing is allocated from a
//! length the data claims.

/// One field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Val<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl<'a> Val<'a> {
    pub fn bytes(self) -> Option<&'a [u8]> {
        match self {
            Val::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// A string field, lossily decoded.
    pub fn text(self) -> Option<String> {
        self.bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

/// The fields of one message.
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

/// Iterate over the fields of message `buf`.
pub(crate) fn fields(buf: &[u8]) -> Fields<'_> {
    Fields {
        buf,
        pos: 0,
        failed: false,
    }
}

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(format!("truncated varint at {}", self.pos));
            };
            self.pos += 1;
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(format!("varint longer than 10 bytes at {}", self.pos))
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], String> {
        let end = (self.pos as u64)
            .checked_add(n)
            .filter(|&e| e <= self.buf.len() as u64)
            .ok_or_else(|| format!("a field of {n} bytes at {} runs past its message", self.pos))?;
        let s = &self.buf[self.pos..end as usize];
        self.pos = end as usize;
        Ok(s)
    }

    fn next_field(&mut self) -> Result<(u32, Val<'a>), String> {
        let at = self.pos;
        let tag = self.varint()?;
        let field =
            u32::try_from(tag >> 3).map_err(|_| format!("field number too large at {at}"))?;
        if field == 0 {
            return Err(format!("field number 0 at {at}"));
        }
        let val = match tag & 7 {
            0 => Val::Varint(self.varint()?),
            1 => Val::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().unwrap_or_default(),
            )),
            2 => {
                let n = self.varint()?;
                Val::Bytes(self.take(n)?)
            }
            5 => Val::Fixed32(u32::from_le_bytes(
                self.take(4)?.try_into().unwrap_or_default(),
            )),
            w => return Err(format!("wire type {w} (groups or invalid) at {at}")),
        };
        Ok((field, val))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Val<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let r = self.next_field();
        self.failed = r.is_err();
        Some(r)
    }
}

/// Whether `buf` parses as a message whose fields all have the expected wire kinds:
/// `kinds(field)` returns `Some(true)` for length-delimited fields, `Some(false)` for numeric
/// ones, `None` for fields the schema does not have.
pub(crate) fn conforms(buf: &[u8], kinds: impl Fn(u32) -> Option<bool>) -> bool {
    let mut any = false;
    for f in fields(buf) {
        let Ok((n, v)) = f else { return false };
        match (kinds(n), v) {
            (Some(true), Val::Bytes(_)) => {}
            (Some(false), Val::Varint(_) | Val::Fixed32(_) | Val::Fixed64(_)) => {}
            // Packed repeated numbers are length-delimited too.
            (Some(false), Val::Bytes(_)) => {}
            _ => return false,
        }
        any = true;
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_and_lengths_checked() {
        // field 1 varint 150, field 2 bytes "hi", field 5 fixed32
        let m = b"\x08\x96\x01\x12\x02hi\x2d\x01\x00\x00\x00";
        let got: Vec<_> = fields(m).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            got,
            [
                (1, Val::Varint(150)),
                (2, Val::Bytes(b"hi")),
                (5, Val::Fixed32(1))
            ]
        );
        assert!(fields(b"\x12\x05hi").any(|f| f.is_err()));
        assert!(fields(b"\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01").any(|f| f.is_err()));
        assert!(fields(b"\x0b").any(|f| f.is_err()), "groups are refused");
    }
}
