//! Just enough MessagePack (<https://github.com/msgpack/msgpack/blob/master/spec.md>)
//! for cty: a writer that picks the same compact encodings as the Go
//! library go-cty uses, and a bounds-checked reader over a byte slice.

/// Appends MessagePack items to a buffer.
#[derive(Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn nil(&mut self) {
        self.buf.push(0xc0);
    }

    pub(crate) fn bool(&mut self, b: bool) {
        self.buf.push(if b { 0xc3 } else { 0xc2 });
    }

    /// Smallest encoding; non-negative values use the unsigned family, as
    /// Go's `EncodeInt` does.
    pub(crate) fn int(&mut self, i: i64) {
        if let Ok(u) = u64::try_from(i) {
            return self.uint(u);
        }
        if i >= -32 {
            self.buf.push(i as u8); // negative fixint: the two's-complement byte
        } else if let Ok(v) = i8::try_from(i) {
            self.buf.push(0xd0);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else if let Ok(v) = i16::try_from(i) {
            self.buf.push(0xd1);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else if let Ok(v) = i32::try_from(i) {
            self.buf.push(0xd2);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else {
            self.buf.push(0xd3);
            self.buf.extend_from_slice(&i.to_be_bytes());
        }
    }

    pub(crate) fn uint(&mut self, u: u64) {
        if u <= 0x7f {
            self.buf.push(u as u8);
        } else if let Ok(v) = u8::try_from(u) {
            self.buf.push(0xcc);
            self.buf.push(v);
        } else if let Ok(v) = u16::try_from(u) {
            self.buf.push(0xcd);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else if let Ok(v) = u32::try_from(u) {
            self.buf.push(0xce);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else {
            self.buf.push(0xcf);
            self.buf.extend_from_slice(&u.to_be_bytes());
        }
    }

    pub(crate) fn f64(&mut self, f: f64) {
        self.buf.push(0xcb);
        self.buf.extend_from_slice(&f.to_be_bytes());
    }

    pub(crate) fn str(&mut self, s: &str) {
        let len = s.len() as u32;
        if len < 32 {
            self.buf.push(0xa0 | len as u8);
        } else {
            self.sized(len, [0xd9, 0xda, 0xdb]);
        }
        self.buf.extend_from_slice(s.as_bytes());
    }

    pub(crate) fn bin(&mut self, b: &[u8]) {
        self.sized(b.len() as u32, [0xc4, 0xc5, 0xc6]);
        self.buf.extend_from_slice(b);
    }

    pub(crate) fn array_len(&mut self, len: u32) {
        if len < 16 {
            self.buf.push(0x90 | len as u8);
        } else {
            self.sized16(len, [0xdc, 0xdd]);
        }
    }

    pub(crate) fn map_len(&mut self, len: u32) {
        if len < 16 {
            self.buf.push(0x80 | len as u8);
        } else {
            self.sized16(len, [0xde, 0xdf]);
        }
    }

    /// Extension header: fixext for the lengths that have one, else ext
    /// 8/16/32 (the same choice as go-cty's encoder).
    pub(crate) fn ext_header(&mut self, type_code: i8, len: u32) {
        match len {
            1 => self.buf.push(0xd4),
            2 => self.buf.push(0xd5),
            4 => self.buf.push(0xd6),
            8 => self.buf.push(0xd7),
            16 => self.buf.push(0xd8),
            _ => self.sized(len, [0xc7, 0xc8, 0xc9]),
        }
        self.buf.push(type_code as u8);
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Length with 8-, 16- or 32-bit size markers.
    fn sized(&mut self, len: u32, markers: [u8; 3]) {
        if let Ok(l) = u8::try_from(len) {
            self.buf.push(markers[0]);
            self.buf.push(l);
        } else {
            self.sized16(len, [markers[1], markers[2]]);
        }
    }

    /// Length with 16- or 32-bit size markers.
    fn sized16(&mut self, len: u32, markers: [u8; 2]) {
        if let Ok(l) = u16::try_from(len) {
            self.buf.push(markers[0]);
            self.buf.extend_from_slice(&l.to_be_bytes());
        } else {
            self.buf.push(markers[1]);
            self.buf.extend_from_slice(&len.to_be_bytes());
        }
    }
}

/// One MessagePack item header (and, for scalars, its content).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Token<'a> {
    Nil,
    Bool(bool),
    /// Fixints and the signed family.
    Int(i64),
    /// The unsigned family.
    Uint(u64),
    F32(f32),
    F64(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    /// Followed by this many items.
    Array(u32),
    /// Followed by this many key/value pairs.
    Map(u32),
    Ext(i8, &'a [u8]),
}

/// Reads tokens from a slice; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

const TRUNCATED: &str = "unexpected end of msgpack data";

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if n > self.remaining() {
            return Err(TRUNCATED);
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, &'static str> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn len_bytes(&mut self, len: u32) -> Result<&'a [u8], &'static str> {
        self.take(usize::try_from(len).map_err(|_| TRUNCATED)?)
    }

    fn ext(&mut self, len: u32) -> Result<Token<'a>, &'static str> {
        let code = self.u8()? as i8;
        Ok(Token::Ext(code, self.len_bytes(len)?))
    }

    pub(crate) fn next(&mut self) -> Result<Token<'a>, &'static str> {
        let marker = self.u8()?;
        Ok(match marker {
            0x00..=0x7f => Token::Int(i64::from(marker)),
            0x80..=0x8f => Token::Map(u32::from(marker & 0x0f)),
            0x90..=0x9f => Token::Array(u32::from(marker & 0x0f)),
            0xa0..=0xbf => {
                let len = u32::from(marker & 0x1f);
                Token::Str(self.len_bytes(len)?)
            }
            0xc0 => Token::Nil,
            0xc1 => return Err("invalid msgpack marker 0xc1"),
            0xc2 => Token::Bool(false),
            0xc3 => Token::Bool(true),
            0xc4 => {
                let len = u32::from(self.u8()?);
                Token::Bin(self.len_bytes(len)?)
            }
            0xc5 => {
                let len = u32::from(self.u16()?);
                Token::Bin(self.len_bytes(len)?)
            }
            0xc6 => {
                let len = self.u32()?;
                Token::Bin(self.len_bytes(len)?)
            }
            0xc7 => {
                let len = u32::from(self.u8()?);
                self.ext(len)?
            }
            0xc8 => {
                let len = u32::from(self.u16()?);
                self.ext(len)?
            }
            0xc9 => {
                let len = self.u32()?;
                self.ext(len)?
            }
            0xca => Token::F32(f32::from_be_bytes(self.array()?)),
            0xcb => Token::F64(f64::from_be_bytes(self.array()?)),
            0xcc => Token::Uint(u64::from(self.u8()?)),
            0xcd => Token::Uint(u64::from(self.u16()?)),
            0xce => Token::Uint(u64::from(self.u32()?)),
            0xcf => Token::Uint(u64::from_be_bytes(self.array()?)),
            0xd0 => Token::Int(i64::from(i8::from_be_bytes(self.array()?))),
            0xd1 => Token::Int(i64::from(i16::from_be_bytes(self.array()?))),
            0xd2 => Token::Int(i64::from(i32::from_be_bytes(self.array()?))),
            0xd3 => Token::Int(i64::from_be_bytes(self.array()?)),
            0xd4 => self.ext(1)?,
            0xd5 => self.ext(2)?,
            0xd6 => self.ext(4)?,
            0xd7 => self.ext(8)?,
            0xd8 => self.ext(16)?,
            0xd9 => {
                let len = u32::from(self.u8()?);
                Token::Str(self.len_bytes(len)?)
            }
            0xda => {
                let len = u32::from(self.u16()?);
                Token::Str(self.len_bytes(len)?)
            }
            0xdb => {
                let len = self.u32()?;
                Token::Str(self.len_bytes(len)?)
            }
            0xdc => Token::Array(u32::from(self.u16()?)),
            0xdd => Token::Array(self.u32()?),
            0xde => Token::Map(u32::from(self.u16()?)),
            0xdf => Token::Map(self.u32()?),
            0xe0..=0xff => Token::Int(i64::from(marker as i8)),
        })
    }

    /// Skips one complete item, however deeply nested, without recursion.
    pub(crate) fn skip(&mut self) -> Result<(), &'static str> {
        let mut pending: u64 = 1;
        while pending > 0 {
            pending -= 1;
            match self.next()? {
                Token::Array(n) => pending = pending.saturating_add(u64::from(n)),
                Token::Map(n) => pending = pending.saturating_add(2 * u64::from(n)),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::default();
        f(&mut w);
        w.buf
    }

    #[test]
    fn integer_encodings_follow_the_spec() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (127, &[0x7f]),
            (128, &[0xcc, 0x80]),
            (255, &[0xcc, 0xff]),
            (256, &[0xcd, 0x01, 0x00]),
            (65536, &[0xce, 0x00, 0x01, 0x00, 0x00]),
            (1 << 32, &[0xcf, 0, 0, 0, 1, 0, 0, 0, 0]),
            (-1, &[0xff]),
            (-32, &[0xe0]),
            (-33, &[0xd0, 0xdf]),
            (-128, &[0xd0, 0x80]),
            (-129, &[0xd1, 0xff, 0x7f]),
            (-32769, &[0xd2, 0xff, 0xff, 0x7f, 0xff]),
            (i64::MIN, &[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        ];
        for &(i, want) in cases {
            let bytes = written(|w| w.int(i));
            assert_eq!(bytes, want, "encoding {i}");
            let mut r = Reader::new(&bytes);
            let back = match r.next() {
                Ok(Token::Int(v)) => Some(v),
                Ok(Token::Uint(v)) => i64::try_from(v).ok(),
                _ => None,
            };
            assert_eq!(back, Some(i));
            assert_eq!(r.remaining(), 0);
        }
    }

    #[test]
    fn length_prefixed_encodings() {
        assert_eq!(written(|w| w.str("")), [0xa0]);
        assert_eq!(written(|w| w.str("abc")), [0xa3, b'a', b'b', b'c']);
        let s32 = "x".repeat(32);
        assert_eq!(written(|w| w.str(&s32))[..2], [0xd9, 32]);
        let s256 = "x".repeat(256);
        assert_eq!(written(|w| w.str(&s256))[..3], [0xda, 0x01, 0x00]);
        assert_eq!(written(|w| w.bin(b"ab")), [0xc4, 2, b'a', b'b']);
        assert_eq!(written(|w| w.array_len(15)), [0x9f]);
        assert_eq!(written(|w| w.array_len(16)), [0xdc, 0, 16]);
        assert_eq!(written(|w| w.map_len(2)), [0x82]);
        assert_eq!(written(|w| w.map_len(70000)), [0xdf, 0, 1, 0x11, 0x70]);
        assert_eq!(written(|w| w.ext_header(12, 3)), [0xc7, 3, 12]);
        assert_eq!(written(|w| w.ext_header(12, 4)), [0xd6, 12]);
    }

    #[test]
    fn reader_rejects_truncation_and_reserved_marker() {
        for bad in [&[][..], &[0xc1], &[0xa3, b'a'], &[0xcd, 0x01], &[0xdb, 0xff, 0xff, 0xff, 0xff], &[0xd4, 0]] {
            assert!(Reader::new(bad).next().is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn skip_handles_nesting() {
        // [ {1: [nil, "a"]}, 2 ] then a trailing 7
        let bytes = [0x92, 0x81, 0x01, 0x92, 0xc0, 0xa1, b'a', 0x02, 0x07];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.skip(), Ok(()));
        assert_eq!(r.next(), Ok(Token::Int(7)));
        // A header claiming more items than exist fails instead of looping.
        assert!(Reader::new(&[0xdd, 0xff, 0xff, 0xff, 0xff]).skip().is_err());
    }
}
