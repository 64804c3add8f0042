//! `.npz` archives (numpy's `savez` / `savez_compressed`): a zip of `.npy` members, one array
//! per name. Read from memory, hardened like [`super::npy`]: the central directory is bounded
//! and checked against the file, members are stored or deflated, every size is checked
//! arithmetic, decompression stops at the size the directory declares (and at `limit` in
//! total), and each member's CRC-32 must match.

use super::npy;
use std::io::Read;

/// Why an `.npz` cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NpzError {
    /// The zip structure is broken.
    #[error("not a readable .npz (zip) archive: {0}")]
    Zip(String),
    /// A member is not a readable `.npy` array.
    #[error("member `{name}`: {error}")]
    Member { name: String, error: npy::NpyError },
    /// The arrays are larger than the limit.
    #[error("the arrays hold more than {0} bytes")]
    TooLarge(u64),
}

fn zerr(m: impl Into<String>) -> NpzError {
    NpzError::Zip(m.into())
}

fn u16le(b: &[u8], i: usize) -> Result<u16, NpzError> {
    b.get(i..i + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| zerr("truncated record"))
}
fn u32le(b: &[u8], i: usize) -> Result<u32, NpzError> {
    b.get(i..i + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| zerr("truncated record"))
}
fn u64le(b: &[u8], i: usize) -> Result<u64, NpzError> {
    b.get(i..i + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| zerr("truncated record"))
}

fn slice(b: &[u8], at: u64, len: u64) -> Result<&[u8], NpzError> {
    let end = at
        .checked_add(len)
        .filter(|&e| e <= b.len() as u64)
        .ok_or_else(|| zerr(format!("a record at {at} (+{len}) lies outside the file")))?;
    Ok(&b[at as usize..end as usize])
}

struct Entry {
    name: String,
    method: u16,
    crc: u32,
    csize: u64,
    usize: u64,
    local: u64,
}

/// The members of the central directory.
fn directory(b: &[u8]) -> Result<Vec<Entry>, NpzError> {
    if b.len() < 22 {
        return Err(zerr("too short for a zip archive"));
    }
    let tail_start = b.len().saturating_sub(65_557);
    let eocd = memchr::memmem::rfind(&b[tail_start..b.len() - 18], b"PK\x05\x06")
        .map(|p| tail_start + p)
        .ok_or_else(|| zerr("no end-of-central-directory record"))?;
    let mut count = u64::from(u16le(b, eocd + 10)?);
    let mut cd_size = u64::from(u32le(b, eocd + 12)?);
    let mut cd_off = u64::from(u32le(b, eocd + 16)?);
    if (count == 0xffff || cd_size == 0xffff_ffff || cd_off == 0xffff_ffff) && eocd >= 20 {
        let loc = &b[eocd - 20..eocd];
        if loc.starts_with(b"PK\x06\x07") {
            let e64 = slice(b, u64le(loc, 8)?, 56)?;
            if !e64.starts_with(b"PK\x06\x06") {
                return Err(zerr("zip64 end record missing"));
            }
            count = u64le(e64, 32)?;
            cd_size = u64le(e64, 40)?;
            cd_off = u64le(e64, 48)?;
        }
    }
    let cd = slice(b, cd_off, cd_size)?;
    if count > cd.len() as u64 / 46 {
        return Err(zerr(format!(
            "{count} members do not fit a central directory of {} bytes",
            cd.len()
        )));
    }
    let mut entries = Vec::with_capacity(count as usize);
    let mut at = 0usize;
    for _ in 0..count {
        if u32le(cd, at)? != 0x0201_4b50 {
            return Err(zerr("bad central directory entry"));
        }
        let method = u16le(cd, at + 10)?;
        let crc = u32le(cd, at + 16)?;
        let mut csize = u64::from(u32le(cd, at + 20)?);
        let mut usize_ = u64::from(u32le(cd, at + 24)?);
        let n = usize::from(u16le(cd, at + 28)?);
        let e = usize::from(u16le(cd, at + 30)?);
        let c = usize::from(u16le(cd, at + 32)?);
        let mut local = u64::from(u32le(cd, at + 42)?);
        let name = cd
            .get(at + 46..at + 46 + n)
            .ok_or_else(|| zerr("truncated member name"))?;
        let mut extra = cd
            .get(at + 46 + n..at + 46 + n + e)
            .ok_or_else(|| zerr("truncated extra field"))?;
        // The zip64 extra field holds, in order, whichever of the sizes and offset overflowed.
        while extra.len() >= 4 {
            let (id, len) = (u16le(extra, 0)?, usize::from(u16le(extra, 2)?));
            let body = extra
                .get(4..4 + len)
                .ok_or_else(|| zerr("truncated extra field"))?;
            if id == 1 {
                let mut k = 0;
                for v in [&mut usize_, &mut csize, &mut local] {
                    if *v == 0xffff_ffff {
                        *v = u64le(body, k)?;
                        k += 8;
                    }
                }
            }
            extra = &extra[4 + len..];
        }
        entries.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            method,
            crc,
            csize,
            usize: usize_,
            local,
        });
        at += 46 + n + e + c;
    }
    Ok(entries)
}

/// The arrays of an `.npz` held in `bytes`, by name (the member name without `.npy`), in
/// archive order; at most `limit` bytes of array data in total.
pub fn read(bytes: &[u8], limit: u64) -> Result<Vec<(String, npy::Array)>, NpzError> {
    let mut total = 0u64;
    let mut out = Vec::new();
    for e in directory(bytes)? {
        total = total.saturating_add(e.usize);
        if total > limit {
            return Err(NpzError::TooLarge(limit));
        }
        let header = slice(bytes, e.local, 30)?;
        if u32le(header, 0)? != 0x0403_4b50 {
            return Err(zerr(format!("member `{}`: bad local header", e.name)));
        }
        let skip = 30 + u64::from(u16le(header, 26)?) + u64::from(u16le(header, 28)?);
        let start = e
            .local
            .checked_add(skip)
            .ok_or_else(|| zerr("offset overflows"))?;
        let raw = slice(bytes, start, e.csize)?;
        let data = match e.method {
            0 if e.csize == e.usize => raw.to_vec(),
            8 => {
                let mut d = Vec::with_capacity(e.usize.min(1 << 26) as usize);
                flate2::read::DeflateDecoder::new(raw)
                    .take(e.usize.saturating_add(1))
                    .read_to_end(&mut d)
                    .map_err(|err| zerr(format!("member `{}`: {err}", e.name)))?;
                if d.len() as u64 != e.usize {
                    return Err(zerr(format!(
                        "member `{}` inflates to {} bytes, not the {} its directory entry says",
                        e.name,
                        d.len(),
                        e.usize
                    )));
                }
                d
            }
            m => {
                return Err(zerr(format!(
                    "member `{}`: compression method {m} (numpy writes stored or deflated members)",
                    e.name
                )));
            }
        };
        if crc32fast::hash(&data) != e.crc {
            return Err(zerr(format!("member `{}`: CRC-32 mismatch", e.name)));
        }
        let name = e.name.strip_suffix(".npy").unwrap_or(&e.name).to_string();
        let array = npy::read_array(&data).map_err(|error| NpzError::Member {
            name: name.clone(),
            error,
        })?;
        out.push((name, array));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn npy_f32(shape: &str, values: &[f32]) -> Vec<u8> {
        let mut h = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&(h.len() as u16).to_le_bytes());
        v.extend_from_slice(h.as_bytes());
        for x in values {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v
    }

    /// A stored zip as numpy's savez writes it (without the zip64 extras).
    fn zip(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut cd = Vec::new();
        for (name, data) in members {
            let off = out.len() as u32;
            let crc = crc32fast::hash(data);
            let mut local = b"PK\x03\x04".to_vec();
            local.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            local.extend(crc.to_le_bytes());
            local.extend((data.len() as u32).to_le_bytes());
            local.extend((data.len() as u32).to_le_bytes());
            local.extend((name.len() as u16).to_le_bytes());
            local.extend(0u16.to_le_bytes());
            local.extend(name.as_bytes());
            out.extend(local);
            out.extend(data);
            let mut c = b"PK\x01\x02".to_vec();
            c.extend([20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            c.extend(crc.to_le_bytes());
            c.extend((data.len() as u32).to_le_bytes());
            c.extend((data.len() as u32).to_le_bytes());
            c.extend((name.len() as u16).to_le_bytes());
            c.extend([0u8; 12]);
            c.extend(off.to_le_bytes());
            c.extend(name.as_bytes());
            cd.extend(c);
        }
        let cd_off = out.len() as u32;
        out.extend(&cd);
        out.extend(b"PK\x05\x06");
        out.extend([0u8; 4]);
        out.extend((members.len() as u16).to_le_bytes());
        out.extend((members.len() as u16).to_le_bytes());
        out.extend((cd.len() as u32).to_le_bytes());
        out.extend(cd_off.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out
    }

    #[test]
    fn reads_members_by_name() {
        let z = zip(&[
            ("x.npy", npy_f32("(1, 2)", &[1.0, 2.0])),
            ("state.npy", npy_f32("(2, 1, 1)", &[0.0, 0.5])),
        ]);
        let a = read(&z, 1 << 20).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].0, "x");
        assert_eq!(a[0].1.shape, [1, 2]);
        assert_eq!(a[1].0, "state");
        assert_eq!(a[1].1.values, npy::Values::Float(vec![0.0, 0.5]));
        assert!(matches!(read(&z, 10), Err(NpzError::TooLarge(10))));
    }

    #[test]
    fn corrupt_archives_are_errors() {
        let mut z = zip(&[("x.npy", npy_f32("(2,)", &[1.0, 2.0]))]);
        let at = z.len() - 30; // inside the central directory's sizes
        z[at] ^= 0xff;
        assert!(read(&z, 1 << 20).is_err());
        let mut z = zip(&[("x.npy", npy_f32("(2,)", &[1.0, 2.0]))]);
        z[100] ^= 1; // the data: CRC mismatch
        assert!(read(&z, 1 << 20).unwrap_err().to_string().contains("CRC"));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(1852865025), ..ProptestConfig::default() })]
        #[test]
        fn arbitrary_damage_never_panics(at in any::<usize>(), bytes in proptest::collection::vec(any::<u8>(), 1..16)) {
            let mut z = zip(&[("x.npy", npy_f32("(2,)", &[1.0, 2.0])), ("y.npy", npy_f32("(1,)", &[3.0]))]);
            let at = at % z.len();
            for (i, b) in bytes.iter().enumerate() {
                if let Some(x) = z.get_mut(at + i) {
                    *x = *b;
                }
            }
            let _ = read(&z, 1 << 20);
            let _ = read(&z[..at], 1 << 20);
        }
    }
}
