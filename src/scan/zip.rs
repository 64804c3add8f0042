//! Zip archives read the way PyTorch's miniz reader reads them: the central directory is
//! authoritative, data starts after the *local* header, CRC and flag bits are not enforced.
//! Every quirk that makes Python's `zipfile` (or another reader) disagree is a finding.

use super::ctx::{Blob, Ctx, Limited, Member};
use super::formats::torch_legacy::torch_elsize;
use super::formats::{skops, torchscript};
use super::pickle::{self, Loader};
use super::rules;
use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read};

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

/// Largest TorchScript source file or skops schema read.
const MAX_TEXT: u64 = 64 << 20;

/// What kind of archive the member names say this is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `torch.save`: `<prefix>data.pkl` + `<prefix>data/<key>`.
    Torch,
    /// `torch.jit.save`: also `constants.pkl` and TorchScript source in `code/`; torch.load
    /// hands such archives to torch.jit.load, whose unpickler is TorchScript's.
    TorchScript,
    /// skops: `schema.json` describing the object tree, arrays as `.npy` members.
    Skops,
    /// Anything else (npz, .keras, zips of files).
    Plain,
}

/// Scan a zip archive (PyTorch checkpoint, TorchScript, skops, npz, .keras, nested zips).
pub(crate) fn scan_zip(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member, depth: u32) {
    let analysed_before = ctx.analysed;
    scan_entries(ctx, blob, member, depth);
    if ctx.analysed == analysed_before && member.0.is_none() {
        // Nothing inside is a model file: a zip is a model only by what it holds.
        if super::sniff::model_ext(&ctx.path) && !ctx.path.to_ascii_lowercase().ends_with(".zip") {
            ctx.mark("zip");
            ctx.add(
                &rules::UNSUPPORTED,
                member,
                Some(0),
                "a zip archive with a model file name, but no member is a format modelsec recognises; it cannot be called clean".into(),
            );
        }
    }
}

fn scan_entries(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member, depth: u32) {
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
    let root_named = |n: &str| {
        entries
            .iter()
            .any(|e| e.name == n || e.name.split_once('/').is_some_and(|(_, r)| r == n))
    };
    let layout = if prefix.is_some() && root_named("constants.pkl") {
        Layout::TorchScript
    } else if prefix.is_some() {
        Layout::Torch
    } else if entries.iter().any(|e| e.name == "schema.json") {
        Layout::Skops
    } else {
        Layout::Plain
    };
    let loader = if layout == Layout::TorchScript {
        Loader::TorchScript
    } else {
        Loader::Python
    };
    // Storage references by the directory their bytes live in (`data/`, `constants/`).
    let mut storages: Vec<(String, pickle::StorageRef)> = Vec::new();

    for (idx, e) in entries.iter().enumerate() {
        if e.name.ends_with('/') {
            continue;
        }
        let Some(start) = data_at[idx] else { continue };
        let child = member.child(&e.name);
        let rest = prefix
            .as_deref()
            .and_then(|p| e.name.strip_prefix(p))
            .filter(|_| layout != Layout::Plain && layout != Layout::Skops);
        if let Some(rest) = rest
            && (rest.starts_with("data/")
                || rest.starts_with(".data/")
                || rest.starts_with("constants/")
                || matches!(
                    rest,
                    "version" | "byteorder" | ".format_version" | ".storage_alignment"
                ))
        {
            // Raw tensor bytes and small text records: checked against the storage table below.
            continue;
        }
        if !ctx.budget.take_member() {
            break;
        }
        let raw = blob.slice(start, e.csize);
        let Some(data) = member_data(ctx, &raw, e, &child) else {
            continue;
        };
        let base = e.name.rsplit('/').next().unwrap_or(&e.name).to_string();
        let is_pickle_name = e.name.ends_with(".pkl") || e.name.ends_with(".pickle");
        match (layout, rest) {
            (Layout::Torch | Layout::TorchScript, Some(rest))
                if rest == "data.pkl"
                    || rest == "constants.pkl"
                    || (layout == Layout::TorchScript
                        && (rest.ends_with(".debug_pkl") || rest == "attributes.pkl")) =>
            {
                ctx.mark(if layout == Layout::TorchScript {
                    "torchscript"
                } else {
                    "pytorch-zip"
                });
                let s = ctx.pickle_stream_for(&mut data.reader(), Some(&data), &child, loader);
                let dir = if rest == "constants.pkl" {
                    "constants/"
                } else {
                    "data/"
                };
                for o in &s.outcomes {
                    storages.extend(o.storages.iter().map(|r| (dir.to_string(), r.clone())));
                }
            }
            (Layout::TorchScript, Some(rest))
                if rest.starts_with("code/") && rest.ends_with(".py") =>
            {
                torchscript_source(ctx, &data, &child);
            }
            (Layout::Skops, _) if e.name == "schema.json" => {
                ctx.mark("skops");
                match data.read_all(MAX_TEXT) {
                    Ok(Some(text)) => skops::scan_schema(ctx, &text, &child),
                    _ => ctx.add(
                        &rules::RESOURCE_LIMIT,
                        &child,
                        None,
                        "skops schema.json is larger than 64 MiB; not checked".into(),
                    ),
                }
            }
            _ if is_pickle_name => {
                ctx.mark("pickle");
                ctx.pickle_stream(&mut data.reader(), Some(&data), &child);
            }
            _ => ctx.blob(&data, &child, &base, depth + 1),
        }
        check_crc(ctx, &data, e, &child);
    }

    if let Some(p) = &prefix
        && layout != Layout::Plain
    {
        check_storages(ctx, &entries, p, &storages, member);
    }
}

/// The bytes of a member: the stored range itself, or its decompressed content in a temporary
/// file (bounded by the file's budget, CRC checked). `None` after reporting why not.
fn member_data(ctx: &mut Ctx<'_>, raw: &Blob, e: &Entry, child: &Member) -> Option<Blob> {
    match e.method {
        0 => Some(raw.clone()),
        8 | 12 => {
            let mut tmp = match tempfile::tempfile() {
                Ok(t) => t,
                Err(err) => {
                    ctx.add(
                        &rules::UNREADABLE,
                        child,
                        None,
                        format!("no temporary file: {err}"),
                    );
                    return None;
                }
            };
            let src = raw.reader();
            let dec: Box<dyn Read> = if e.method == 8 {
                Box::new(flate2::read::DeflateDecoder::new(src))
            } else {
                Box::new(bzip2::read::BzDecoder::new(src))
            };
            let mut r = Limited {
                inner: dec,
                budget: ctx.budget.clone(),
            };
            match io::copy(&mut r, &mut tmp) {
                Ok(n) => {
                    if n != e.usize {
                        ctx.add(
                            &rules::ZIP_STRUCTURE,
                            child,
                            None,
                            format!(
                                "entry `{}` decompresses to {n} bytes, the directory says {}",
                                e.name, e.usize
                            ),
                        );
                    }
                    Some(Blob::whole(tmp, n))
                }
                Err(_) if ctx.budget.exhausted.get().is_some() => None,
                Err(err) => {
                    ctx.add(
                        &rules::UNREADABLE,
                        child,
                        None,
                        format!("entry `{}` could not be decompressed: {err}", e.name),
                    );
                    None
                }
            }
        }
        m => {
            ctx.add(
                &rules::UNREADABLE,
                child,
                None,
                format!(
                    "entry `{}` uses compression method {m}, which modelsec cannot read",
                    e.name
                ),
            );
            None
        }
    }
}

/// A TorchScript source file of `code/`.
fn torchscript_source(ctx: &mut Ctx<'_>, data: &Blob, child: &Member) {
    let text = match data.read_all(MAX_TEXT) {
        Ok(Some(t)) => String::from_utf8_lossy(&t).into_owned(),
        _ => {
            return ctx.add(
                &rules::RESOURCE_LIMIT,
                child,
                None,
                "TorchScript source larger than 64 MiB; not checked".into(),
            );
        }
    };
    for i in torchscript::analyse(&text) {
        ctx.add_sev(
            i.rule,
            Some(i.severity),
            child,
            None,
            format!("TorchScript code {}", i.what),
        );
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

fn check_crc(ctx: &mut Ctx<'_>, data: &Blob, e: &Entry, child: &Member) {
    // Large members are not re-read for their CRC (PyTorch never checks it either).
    if data.len > 64 << 20 {
        return;
    }
    let mut r = CrcReader {
        inner: data.reader(),
        hasher: crc32fast::Hasher::new(),
    };
    if io::copy(&mut r, &mut io::sink()).is_ok() && r.hasher.finalize() != e.crc {
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
}

fn check_storages(
    ctx: &mut Ctx<'_>,
    entries: &[Entry],
    prefix: &str,
    storages: &[(String, pickle::StorageRef)],
    member: &Member,
) {
    let sizes: BTreeMap<&str, u64> = entries.iter().map(|e| (e.name.as_str(), e.usize)).collect();
    let mut seen = HashSet::new();
    for (dir, s) in storages {
        if !seen.insert((dir, &s.key)) {
            continue;
        }
        let name = format!("{prefix}{dir}{}", s.key);
        let Some(elsize) = torch_elsize(&s.class) else {
            continue;
        };
        match sizes.get(name.as_str()) {
            None if s.numel == 0 => {}
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
