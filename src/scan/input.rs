//! A streaming byte reader for the pickle machine: absolute offsets, bounded buffering, and
//! CPython's FRAME semantics in two flavours (see [`Mode`]).

use std::io::{self, Read};

const BUF: usize = 64 * 1024;

/// How reads that cross the end of a FRAME behave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Frames are ignored: `pickle.loads(bytes)`, peekable files, and every linear scanner.
    Linear,
    /// CPython's C unpickler on a file without `peek()` (BytesIO, custom streams): a read that
    /// does not fit in the rest of the current frame discards that rest and continues after it.
    Buffered,
}

/// Why a read failed.
#[derive(Debug)]
pub enum ReadError {
    /// The data ended early.
    Eof,
    /// The underlying reader failed (I/O error, corrupt compression).
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// A buffered reader that knows its absolute offset.
pub struct Input<'r> {
    inner: &'r mut dyn Read,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Absolute offset of `buf[start]`.
    pos: u64,
    eof: bool,
    mode: Mode,
    frame_end: Option<u64>,
    /// First offset where a read crossed a frame end.
    pub crossing: Option<u64>,
}

impl<'r> Input<'r> {
    /// Wrap a reader; offsets start at 0.
    pub fn new(inner: &'r mut dyn Read, mode: Mode) -> Self {
        Input {
            inner,
            buf: vec![0; BUF].into_boxed_slice(),
            start: 0,
            end: 0,
            pos: 0,
            eof: false,
            mode,
            frame_end: None,
            crossing: None,
        }
    }

    /// Absolute offset of the next byte.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Make at least `need` (≤ buffer size) bytes available; false at end of data.
    fn fill(&mut self, need: usize) -> Result<bool, ReadError> {
        debug_assert!(need <= BUF);
        if self.end - self.start >= need {
            return Ok(true);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end < need && !self.eof {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(self.end - self.start >= need)
    }

    /// True when no byte is left.
    pub fn at_end(&mut self) -> Result<bool, ReadError> {
        Ok(!self.fill(1)?)
    }

    /// True when at most `max` bytes are left and all are ASCII whitespace; they are then
    /// consumed. Otherwise nothing is consumed.
    pub fn rest_is_whitespace(&mut self, max: usize) -> Result<bool, ReadError> {
        let want = (max + 1).min(BUF);
        self.fill(want)?;
        let rest = &self.buf[self.start..self.end];
        if rest.len() > max || !self.eof && rest.len() == want {
            return Ok(false);
        }
        if !rest.iter().all(u8::is_ascii_whitespace) {
            return Ok(false);
        }
        let n = rest.len();
        self.start += n;
        self.pos += n as u64;
        Ok(true)
    }

    /// Apply frame rules before reading `n` bytes at the current position.
    fn frame_check(&mut self, n: u64) -> Result<(), ReadError> {
        if let Some(e) = self.frame_end {
            if self.pos >= e {
                self.frame_end = None;
            } else if self.pos.saturating_add(n) > e {
                self.crossing.get_or_insert(self.pos);
                self.frame_end = None;
                if self.mode == Mode::Buffered {
                    let skip = e - self.pos;
                    self.raw_skip(skip)?;
                }
            }
        }
        Ok(())
    }

    /// Start a frame of `len` bytes at the current position (after the FRAME opcode's argument).
    pub fn begin_frame(&mut self, len: u64) -> Result<(), ReadError> {
        match (self.mode, self.frame_end) {
            (Mode::Buffered, Some(e)) if self.pos < e => {
                if self.pos.saturating_add(len) > e {
                    // The C reader refetches `len` bytes from after the current buffer.
                    self.crossing.get_or_insert(self.pos);
                    let skip = e - self.pos;
                    self.raw_skip(skip)?;
                    self.frame_end = Some(self.pos.saturating_add(len));
                }
                // Otherwise the new frame is inside the current buffer: boundary unchanged.
            }
            (Mode::Linear, Some(e)) if self.pos < e && self.pos.saturating_add(len) != e => {
                // A new frame before the end of the current one (pure-Python unpickler raises).
                self.crossing.get_or_insert(self.pos);
                self.frame_end = Some(self.pos.saturating_add(len));
            }
            _ => self.frame_end = Some(self.pos.saturating_add(len)),
        }
        Ok(())
    }

    /// One byte (an opcode).
    #[inline]
    pub fn byte(&mut self) -> Result<u8, ReadError> {
        if self.start < self.end {
            // A one-byte read never crosses a frame end; it may finish a frame.
            if self.frame_end.is_some_and(|e| self.pos >= e) {
                self.frame_end = None;
            }
            let b = self.buf[self.start];
            self.start += 1;
            self.pos += 1;
            return Ok(b);
        }
        self.frame_check(1)?;
        if !self.fill(1)? {
            return Err(ReadError::Eof);
        }
        let b = self.buf[self.start];
        self.start += 1;
        self.pos += 1;
        Ok(b)
    }

    /// Exactly `n` bytes (n ≤ 64 KiB).
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&[u8], ReadError> {
        if self.end - self.start >= n
            && self
                .frame_end
                .is_none_or(|e| self.pos.saturating_add(n as u64) <= e)
        {
            let s = self.start;
            self.start += n;
            self.pos += n as u64;
            return Ok(&self.buf[s..s + n]);
        }
        self.frame_check(n as u64)?;
        if !self.fill(n)? {
            return Err(ReadError::Eof);
        }
        let s = self.start;
        self.start += n;
        self.pos += n as u64;
        Ok(&self.buf[s..s + n])
    }

    /// Fixed-size little-endian integer fields.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// Consume `n` bytes: kept (returned) when `n ≤ keep`, otherwise skipped.
    pub fn data(&mut self, n: u64, keep: usize) -> Result<Option<Vec<u8>>, ReadError> {
        self.frame_check(n)?;
        if n <= keep as u64 && n as usize <= BUF {
            let n = n as usize;
            if !self.fill(n)? {
                return Err(ReadError::Eof);
            }
            let v = self.buf[self.start..self.start + n].to_vec();
            self.start += n;
            self.pos += n as u64;
            Ok(Some(v))
        } else {
            self.raw_skip(n)?;
            Ok(None)
        }
    }

    /// Skip `n` bytes without frame rules.
    pub fn raw_skip(&mut self, mut n: u64) -> Result<(), ReadError> {
        let have = (self.end - self.start) as u64;
        if n <= have {
            self.start += n as usize;
            self.pos += n;
            return Ok(());
        }
        n -= have;
        self.pos += have;
        self.start = 0;
        self.end = 0;
        let copied = io::copy(&mut (&mut *self.inner).take(n), &mut io::sink())?;
        self.pos += copied;
        if copied < n {
            self.eof = true;
            return Err(ReadError::Eof);
        }
        Ok(())
    }

    /// Skip `n` bytes with frame rules (a large argument).
    pub fn skip(&mut self, n: u64) -> Result<(), ReadError> {
        self.frame_check(n)?;
        self.raw_skip(n)
    }

    /// A line without its `\n`. Lines longer than 64 KiB are consumed and returned as `None`.
    pub fn line(&mut self) -> Result<Option<Vec<u8>>, ReadError> {
        // Frame rule for lines: the newline must lie inside the frame.
        if let Some(e) = self.frame_end {
            if self.pos >= e {
                self.frame_end = None;
            } else {
                let avail = (e - self.pos).min(BUF as u64) as usize;
                let _ = self.fill(avail)?;
                let window = &self.buf[self.start..self.end.min(self.start + avail)];
                if memchr::memchr(b'\n', window).is_none() {
                    self.crossing.get_or_insert(self.pos);
                    self.frame_end = None;
                    if self.mode == Mode::Buffered {
                        let skip = e - self.pos;
                        self.raw_skip(skip)?;
                    }
                }
            }
        }
        let mut long = false;
        loop {
            let _ = self.fill(BUF)?;
            let window = &self.buf[self.start..self.end];
            if let Some(i) = memchr::memchr(b'\n', window) {
                let line = (!long).then(|| window[..i].to_vec());
                self.start += i + 1;
                self.pos += i as u64 + 1;
                return Ok(line);
            }
            if self.eof || window.is_empty() {
                return Err(ReadError::Eof);
            }
            // No newline in a full buffer: a very long line.
            long = true;
            let n = window.len();
            self.start += n;
            self.pos += n as u64;
        }
    }
}
