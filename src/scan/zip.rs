//! Zip archives read the way PyTorch's miniz reader reads them: the central directory is
//! authoritative, data starts after the *local* header, CRC and flag bits are not enforced.
//! Every quirk that makes Python's `zipfile` (or another reader) disagree is a finding.

use super::{Blob, Ctx, Member, rules, torch_elsize};
use crate::scan::pickle;
use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read};
use std::sync::Arc;

struct Entry {
    name: String,
    flags: u16,
    method: u16,
    crc: u32,
    csize: u64,
    usize: u64,
    local: u64,
}

fn u16le(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}
fn u32le(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or_default())
}
fn u64le(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default())
}

/// Offset of the end-of-central-directory record, searching the last 64 KiB + 22 bytes.
fn find_eocd(blob: &Blob) -> Option<(u64, Vec<u8>)> {
    if blob.len < 22 {
        return None;
    }
    let tail_len = blob.len.min(65_557);
    let start = blob.len - tail_len;
    let tail = blob.read_at(start, tail_len as usize).ok()?;
    let pos = memchr::memmem::rfind(&tail[..tail.len().saturating_sub(18)], b"PK\x05\x06")?;
    Some((start + pos as u64, tail[pos..].to_vec()))
}

/// Whether the blob ends with a zip directory (Python's `zipfile.is_zipfile` test).
pub(crate) fn has_eocd(blob: &Blob) -> bool {
    find_eocd(blob).is_some()
}

fn read_cd(blob: &Blob) -> Result<(Vec<Entry>, u64, u64, u64), String> {
    let (eocd_at, eocd) = find_eocd(blob).ok_or("no end-of-central-directory record")?;
    let mut count = u16le(&eocd, 10) as u64;
    let mut cd_size = u32le(&eocd, 12) as u64;
    let mut cd_off = u32le(&eocd, 16) as u64;
    let comment = u16le(&eocd, 20) as u64;
    let eocd_end = eocd_at + 22 + comment;
    // zip64
    if (count == 0xffff || cd_size == 0xffff_ffff || cd_off == 0xffff_ffff) && eocd_at >= 20 {
        let loc = blob.read_at(eocd_at - 20, 20).map_err(|e| e.to_string())?;
        if loc.starts_with(b"PK\x06\x07") {
            let e64_at = u64le(&loc, 8);
            let e64 = blob.read_at(e64_at, 56).map_err(|e| e.to_string())?;
            if e64.len() < 56 || !e64.starts_with(b"PK\x06\x06") {
                return Err("zip64 end record missing".into());
            }
            count = u64le(&e64, 32);
            cd_size = u64le(&e64, 40);
            cd_off = u64le(&e64, 48);
        }
    }
    if cd_off.checked_add(cd_size).is_none_or(|e| e > blob.len) {
        return Err(format!(
            "central directory at {cd_off} (+{cd_size}) lies outside the file"
        ));
    }
    if cd_size > 512 << 20 {
        return Err("central directory larger than 512 MiB".into());
    }
    let cd = blob
        .read_at(cd_off, cd_size as usize)
        .map_err(|e| e.to_string())?;
    let mut entries = Vec::new();
    let mut i = 0usize;
    while entries.len() < count as usize {
        if i + 46 > cd.len() || &cd[i..i + 4] != b"PK\x01\x02" {
            return Err(format!(
                "central directory entry {} is malformed",
                entries.len() + 1
            ));
        }
        let flags = u16le(&cd, i + 8);
        let method = u16le(&cd, i + 10);
        let crc = u32le(&cd, i + 16);
        let mut csize = u32le(&cd, i + 20) as u64;
        let mut usize = u32le(&cd, i + 24) as u64;
        let nlen = u16le(&cd, i + 28) as usize;
        let elen = u16le(&cd, i + 30) as usize;
        let clen = u16le(&cd, i + 32) as usize;
        let mut local = u32le(&cd, i + 42) as u64;
        let end = i + 46 + nlen + elen + clen;
        if end > cd.len() {
            return Err("central directory entry runs past the directory".into());
        }
        let name = String::from_utf8_lossy(&cd[i + 46..i + 46 + nlen]).into_owned();
        // zip64 extra field
        let mut x = i + 46 + nlen;
        let xend = x + elen;
        while x + 4 <= xend {
            let id = u16le(&cd, x);
            let sz = u16le(&cd, x + 2) as usize;
            let mut p = x + 4;
            if id == 1 {
                if usize == 0xffff_ffff && p + 8 <= xend {
                    usize = u64le(&cd, p);
                    p += 8;
                }
                if csize == 0xffff_ffff && p + 8 <= xend {
                    csize = u64le(&cd, p);
                    p += 8;
                }
                if local == 0xffff_ffff && p + 8 <= xend {
                    local = u64le(&cd, p);
                }
            }
            x += 4 + sz;
        }
        entries.push(Entry {
            name,
            flags,
            method,
            crc,
            csize,
            usize,
            local,
        });
        i = end;
    }
    Ok((entries, cd_off, cd_off + cd_size, eocd_end))
}

/// Scan a zip archive (PyTorch checkpoint, npz, .keras, nested zips).
pub(crate) fn scan_zip(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member, depth: u32) {
    let (entries, cd_start, _cd_end, eocd_end) = match read_cd(blob) {
        Ok(x) => x,
        Err(e) => {
            ctx.add(
                &rules::UNREADABLE,
                member,
                None,
                format!("zip archive could not be read: {e}"),
            );
            return;
        }
    };
    if eocd_end < blob.len {
        ctx.add(
            &rules::ZIP_STRUCTURE,
            member,
            Some(eocd_end),
            format!(
                "{} byte(s) follow the end of the zip directory",
                blob.len - eocd_end
            ),
        );
    }
    // Duplicates and names.
    let mut names = HashSet::new();
    for e in &entries {
        if !names.insert(e.name.as_str()) {
            ctx.add(&rules::ZIP_STRUCTURE, member, Some(e.local), format!("entry `{}` appears twice in the central directory; readers disagree on which one they load", e.name));
        }
        if e.name.starts_with('/')
            || e.name.split(['/', '\\']).any(|c| c == "..")
            || e.name.contains(':') && e.name.len() > 1 && e.name.as_bytes()[1] == b':'
        {
            ctx.add(
                &rules::ARCHIVE_PATH,
                member,
                Some(e.local),
                format!(
                    "entry name `{}` is absolute or climbs out with `..`",
                    e.name
                ),
            );
        }
    }
    // Local headers, data ranges, overlaps.
    let mut ranges: Vec<(u64, u64, usize)> = Vec::new();
    let mut data_at: Vec<Option<u64>> = Vec::new();
    for (idx, e) in entries.iter().enumerate() {
        let lh = blob.read_at(e.local, 30).unwrap_or_default();
        if lh.len() < 30 || !lh.starts_with(b"PK\x03\x04") {
            ctx.add(
                &rules::ZIP_STRUCTURE,
                member,
                Some(e.local),
                format!("entry `{}`: no local header at offset {}", e.name, e.local),
            );
            data_at.push(None);
            continue;
        }
        let lflags = u16le(&lh, 6);
        let nlen = u16le(&lh, 26) as u64;
        let elen = u16le(&lh, 28) as u64;
        let lname = blob
            .read_at(e.local.saturating_add(30), nlen as usize)
            .unwrap_or_default();
        if lname != e.name.as_bytes() {
            ctx.add(&rules::ZIP_NAME_MISMATCH, member, Some(e.local), format!(
                "entry `{}` is called `{}` in its local header; PyTorch uses the central name, zipfile refuses the entry",
                e.name,
                String::from_utf8_lossy(&lname)
            ));
        }
        let flags = e.flags | lflags;
        if flags & 0x0041 != 0 || flags & 0x0020 != 0 {
            ctx.add(&rules::ZIP_FLAGS, member, Some(e.local), format!(
                "entry `{}` sets flag bits 0x{:04x} (encrypted/patched/strong encryption); PyTorch reads it as plain data, zipfile refuses it",
                e.name,
                flags & 0x0061
            ));
        }
        let start = e.local.saturating_add(30 + nlen + elen);
        let end = start.saturating_add(e.csize);
        if end > cd_start.max(start) && end > blob.len {
            ctx.add(
                &rules::ZIP_STRUCTURE,
                member,
                Some(start),
                format!("entry `{}` runs past the end of the file", e.name),
            );
            data_at.push(None);
            continue;
        }
        ranges.push((e.local, end, idx));
        data_at.push(Some(start));
    }
    ranges.sort();
    if let Some(&(first, _, _)) = ranges.first()
        && first > 0
    {
        let prefix = blob.slice(0, first);
        let head = prefix.read_at(0, 2).unwrap_or_default();
        if head.first() == Some(&0x80) || head.first() == Some(&b'c') || head.first() == Some(&b'(')
        {
            ctx.add(&rules::POLYGLOT, member, Some(0), format!("{first} byte(s) before the first zip entry start like a pickle: pickle.load runs them, zip readers skip them; scanned as a pickle"));
            ctx.pickle_stream(&mut prefix.reader(), Some(&prefix), member);
        } else {
            ctx.add(
                &rules::ZIP_STRUCTURE,
                member,
                Some(0),
                format!("{first} byte(s) precede the first zip entry"),
            );
        }
    }
    for w in ranges.windows(2) {
        if w[0].1 > w[1].0 {
            ctx.add(&rules::ZIP_STRUCTURE, member, Some(w[1].0), format!(
                "entries `{}` and `{}` overlap; different readers would extract different bytes",
                entries[w[0].2].name, entries[w[1].2].name
            ));
        }
    }

    // PyTorch layout: <archive>/data.pkl + <archive>/data/<key>.
    let data_pkl = entries
        .iter()
        .position(|e| e.name == "data.pkl" || e.name.ends_with("/data.pkl"));
    let prefix = data_pkl.map(|i| entries[i].name.trim_end_matches("data.pkl").to_string());
    let mut storages: Vec<pickle::StorageRef> = Vec::new();

    for (idx, e) in entries.iter().enumerate() {
        if e.name.ends_with('/') {
            continue;
        }
        let Some(start) = data_at[idx] else { continue };
        let child = member.child(&e.name);
        if let Some(p) = &prefix
            && let Some(rest) = e.name.strip_prefix(p.as_str())
            && (rest.starts_with("data/")
                || rest.starts_with(".data/")
                || matches!(
                    rest,
                    "version" | "byteorder" | ".format_version" | ".storage_alignment"
                ))
        {
            // Raw tensor bytes and small text records: checked against the storage table below.
            continue;
        }
        let raw = blob.slice(start, e.csize);
        match e.method {
            0 => {
                let is_pickle_name = e.name.ends_with(".pkl") || e.name.ends_with(".pickle");
                if Some(idx) == data_pkl || is_pickle_name {
                    let r = scan_member_pickle(ctx, &raw, &child, e);
                    if Some(idx) == data_pkl {
                        storages = r;
                    }
                } else {
                    let base = e.name.rsplit('/').next().unwrap_or(&e.name).to_string();
                    ctx.blob(&raw, &child, &base, depth + 1);
                    check_crc(ctx, &raw, e, &child);
                }
            }
            8 | 12 => {
                // Deflate/bzip2: decompress into a temporary file (bounded), then scan.
                let mut tmp = match tempfile::tempfile() {
                    Ok(t) => t,
                    Err(err) => {
                        ctx.add(
                            &rules::UNREADABLE,
                            &child,
                            None,
                            format!("no temporary file: {err}"),
                        );
                        continue;
                    }
                };
                let limit = super::bomb_limit(e.csize).max(e.usize.min(super::MAX_DECOMPRESSED));
                let src = raw.reader();
                let dec: Box<dyn Read> = if e.method == 8 {
                    Box::new(flate2::read::DeflateDecoder::new(src))
                } else {
                    Box::new(bzip2::read::BzDecoder::new(src))
                };
                let mut crc = CrcReader {
                    inner: dec.take(limit + 1),
                    hasher: crc32fast::Hasher::new(),
                };
                match io::copy(&mut crc, &mut tmp) {
                    Ok(n) if n > limit => {
                        ctx.add(
                            &rules::ARCHIVE_BOMB,
                            &child,
                            None,
                            format!(
                                "entry `{}` decompresses past {limit} bytes; not scanned",
                                e.name
                            ),
                        );
                    }
                    Ok(n) => {
                        if crc.hasher.clone().finalize() != e.crc {
                            ctx.add(&rules::ZIP_CRC, &child, None, format!("entry `{}`: CRC-32 mismatch (PyTorch ignores it; zipfile refuses the entry)", e.name));
                        }
                        if n != e.usize {
                            ctx.add(
                                &rules::ZIP_STRUCTURE,
                                &child,
                                None,
                                format!(
                                    "entry `{}` decompresses to {n} bytes, the directory says {}",
                                    e.name, e.usize
                                ),
                            );
                        }
                        let inner = Blob {
                            file: Arc::new(tmp),
                            start: 0,
                            len: n,
                        };
                        if Some(idx) == data_pkl || e.name.ends_with(".pkl") {
                            let s = ctx.pickle_stream(&mut inner.reader(), Some(&inner), &child);
                            if Some(idx) == data_pkl {
                                storages =
                                    s.outcomes.iter().flat_map(|o| o.storages.clone()).collect();
                            }
                        } else {
                            let base = e.name.rsplit('/').next().unwrap_or(&e.name).to_string();
                            ctx.blob(&inner, &child, &base, depth + 1);
                        }
                    }
                    Err(err) => ctx.add(
                        &rules::UNREADABLE,
                        &child,
                        None,
                        format!("entry `{}` could not be decompressed: {err}", e.name),
                    ),
                }
            }
            m => ctx.add(
                &rules::UNREADABLE,
                &child,
                None,
                format!(
                    "entry `{}` uses compression method {m}, which modelsec cannot read",
                    e.name
                ),
            ),
        }
    }

    if let Some(p) = prefix {
        check_storages(ctx, &entries, &p, &storages, member);
    }
}

struct CrcReader<R> {
    inner: R,
    hasher: crc32fast::Hasher,
}

impl<R: Read> Read for CrcReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Scan a stored pickle member, checking its CRC on the way. Returns its storage references.
fn scan_member_pickle(
    ctx: &mut Ctx<'_>,
    raw: &Blob,
    child: &Member,
    e: &Entry,
) -> Vec<pickle::StorageRef> {
    let mut r = CrcReader {
        inner: raw.reader(),
        hasher: crc32fast::Hasher::new(),
    };
    let s = ctx.pickle_stream(&mut r, Some(raw), child);
    // Read the rest of the member too, so the CRC covers all of it.
    let _ = io::copy(&mut r, &mut io::sink());
    if r.hasher.finalize() != e.crc {
        crc_mismatch(ctx, e, child);
    }
    s.outcomes.iter().flat_map(|o| o.storages.clone()).collect()
}

fn check_crc(ctx: &mut Ctx<'_>, raw: &Blob, e: &Entry, child: &Member) {
    // Only small members are re-read for their CRC (large stored tensors are not read at all).
    if raw.len > 64 << 20 {
        return;
    }
    let mut r = CrcReader {
        inner: raw.reader(),
        hasher: crc32fast::Hasher::new(),
    };
    if io::copy(&mut r, &mut io::sink()).is_ok() && r.hasher.finalize() != e.crc {
        crc_mismatch(ctx, e, child);
    }
}

fn check_storages(
    ctx: &mut Ctx<'_>,
    entries: &[Entry],
    prefix: &str,
    storages: &[pickle::StorageRef],
    member: &Member,
) {
    let sizes: BTreeMap<&str, u64> = entries.iter().map(|e| (e.name.as_str(), e.usize)).collect();
    let mut seen = HashSet::new();
    for s in storages {
        if !seen.insert(&s.key) {
            continue;
        }
        let name = format!("{prefix}data/{}", s.key);
        let Some(elsize) = torch_elsize(&s.class) else {
            continue;
        };
        match sizes.get(name.as_str()) {
            None => ctx.add(
                &rules::TORCH_STORAGE,
                member,
                None,
                format!("storage `{}` ({}) has no `{name}` entry", s.key, s.class),
            ),
            Some(&size) => {
                let want = s.numel.saturating_mul(elsize);
                if size != want {
                    ctx.add(&rules::TORCH_STORAGE, &member.child(&name), None, format!(
                        "storage `{}` declares {} × {} = {want} bytes but `{name}` holds {size}",
                        s.key, s.numel, s.class
                    ));
                }
            }
        }
    }
}

fn crc_mismatch(ctx: &mut Ctx<'_>, e: &Entry, child: &Member) {
    ctx.add(
        &rules::ZIP_CRC,
        child,
        None,
        format!(
            "entry `{}`: CRC-32 mismatch (PyTorch ignores it; zipfile refuses the entry)",
            e.name
        ),
    );
}
