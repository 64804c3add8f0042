//! Legacy PyTorch checkpoints: stacked pickles (torch < 1.6) and tar archives (torch 0.1.x),
//! and tar archives in general.

use crate::scan::ctx::{Blob, Ctx, Member};
use crate::scan::input::{Input, Mode, ReadError};
use crate::scan::pickle::{self, End, Loader, Machine};
use crate::scan::pickled::TORCH_MAGIC;
use crate::scan::rules;
use std::io;

fn read_err(e: ReadError) -> String {
    match e {
        ReadError::Eof => "the data ends early".into(),
        ReadError::Io(e) => e.to_string(),
    }
}

/// Legacy (torch < 1.6) checkpoint: magic, protocol, sys_info, the object pickle, the storage
/// keys pickle, then raw storages (8-byte element count + data, in sorted key order).
pub(crate) fn scan_stacked(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    ctx.add(
        &rules::TORCH_LEGACY,
        member,
        Some(0),
        "legacy PyTorch checkpoint (pre-1.6 stacked pickles); all five pickles were scanned".into(),
    );
    let mut r = blob.reader();
    let mut inp = Input::new(&mut r, Mode::Linear);
    let mut storages = Vec::new();
    for i in 0..5 {
        let (o, end) = Machine::new(ctx.policy, ctx.pickle_opts(Loader::Python)).run(&mut inp);
        ctx.report_outcome(&o, member);
        storages.extend(o.storages);
        if end != End::Stop {
            ctx.report_end(&end, member, o.ops);
            return;
        }
        if i == 0 && o.top_int != Some(TORCH_MAGIC) {
            return;
        }
    }
    let mut keys: Vec<&pickle::StorageRef> = Vec::new();
    for s in &storages {
        if !keys.iter().any(|k| k.key == s.key) {
            keys.push(s);
        }
    }
    keys.sort_by(|a, b| a.key.cmp(&b.key));
    for s in keys {
        let at = inp.pos();
        let numel = match inp.array::<8>() {
            Ok(b) => u64::from_le_bytes(b),
            Err(e) => {
                ctx.add(
                    &rules::TORCH_STORAGE,
                    member,
                    Some(at),
                    format!("storage `{}`: {}", s.key, read_err(e)),
                );
                return;
            }
        };
        let Some(elsize) = torch_elsize(&s.class) else {
            ctx.add(
                &rules::UNREADABLE,
                member,
                Some(at),
                format!(
                    "storage `{}` has unknown class `{}`; the rest of the file cannot be located",
                    s.key, s.class
                ),
            );
            return;
        };
        if numel != s.numel {
            ctx.add(
                &rules::TORCH_STORAGE,
                member,
                Some(at),
                format!(
                    "storage `{}` declares {} elements in the pickle but {numel} in the data",
                    s.key, s.numel
                ),
            );
        }
        if let Err(e) = inp.raw_skip(numel.saturating_mul(elsize)) {
            ctx.add(
                &rules::TORCH_STORAGE,
                member,
                Some(at),
                format!("storage `{}`: {}", s.key, read_err(e)),
            );
            return;
        }
    }
    legacy_tail(ctx, &mut inp, member, "the last storage");
}

/// Tar archives, including torch 0.1.x checkpoints (`sys_info`, `pickle`, `storages`, `tensors`).
pub(crate) fn scan_tar(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member, depth: u32) {
    let mut entries = Vec::new();
    {
        let mut ar = tar::Archive::new(blob.reader());
        let iter = match ar.entries() {
            Ok(i) => i,
            Err(e) => {
                ctx.add(
                    &rules::UNREADABLE,
                    member,
                    None,
                    format!("tar archive could not be read: {e}"),
                );
                return;
            }
        };
        for e in iter {
            match e {
                Ok(e) => {
                    let name = e
                        .path()
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let kind = e.header().entry_type();
                    entries.push((name, kind, e.raw_file_position(), e.size()));
                }
                Err(err) => {
                    ctx.add(
                        &rules::UNREADABLE,
                        member,
                        None,
                        format!("tar archive is corrupt: {err}"),
                    );
                    break;
                }
            }
        }
    }
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    let torch = names.contains(&"pickle") && names.contains(&"storages");
    if torch {
        ctx.add(
            &rules::TORCH_LEGACY,
            member,
            None,
            "legacy PyTorch tar checkpoint (torch 0.1.x); every pickle in it was scanned".into(),
        );
    }
    for (name, kind, pos, size) in &entries {
        if name.starts_with('/') || name.split('/').any(|c| c == "..") {
            ctx.add(
                &rules::ARCHIVE_PATH,
                member,
                Some(*pos),
                format!("member name `{name}` is absolute or climbs out with `..`"),
            );
        }
        if kind.is_symlink() || kind.is_hard_link() {
            ctx.add(
                &rules::ARCHIVE_PATH,
                member,
                Some(*pos),
                format!(
                    "member `{name}` is a link; extraction can write or read outside the target"
                ),
            );
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let child = member.child(name);
        let data = blob.slice(*pos, *size);
        match (torch, name.as_str()) {
            (true, "pickle" | "sys_info") => {
                ctx.pickle_stream(&mut data.reader(), Some(&data), &child);
            }
            (true, "storages") => walk_tar_storages(ctx, &data, &child),
            (true, "tensors") => walk_tar_tensors(ctx, &data, &child),
            _ => {
                let base = name.rsplit('/').next().unwrap_or(name).to_string();
                ctx.blob(&data, &child, &base, depth + 1);
            }
        }
    }
}

fn run_one(ctx: &mut Ctx<'_>, inp: &mut Input<'_>, member: &Member) -> Option<pickle::Outcome> {
    let (o, end) = Machine::new(ctx.policy, ctx.pickle_opts(Loader::Python)).run(inp);
    ctx.report_outcome(&o, member);
    if end != End::Stop {
        ctx.report_end(&end, member, o.ops);
        return None;
    }
    Some(o)
}

/// The count pickle that starts a legacy `storages` or `tensors` member.
fn legacy_count(
    ctx: &mut Ctx<'_>,
    inp: &mut Input<'_>,
    member: &Member,
    what: &str,
) -> Option<i128> {
    let first = run_one(ctx, inp, member)?;
    let count = first.top_int.unwrap_or(-1);
    if !(0..=1 << 24).contains(&count) {
        ctx.add(
            &rules::UNREADABLE,
            member,
            Some(0),
            format!("the {what} count is not a small integer; the member cannot be walked"),
        );
        return None;
    }
    Some(count)
}

/// Anything after the records a legacy member should end with is trailing data (and scanned).
fn legacy_tail(ctx: &mut Ctx<'_>, inp: &mut Input<'_>, member: &Member, what: &str) {
    if !inp.at_end().unwrap_or(true) {
        let at = inp.pos();
        ctx.add(
            &rules::TRAILING_DATA,
            member,
            Some(at),
            format!("data follows {what} at offset {at}"),
        );
        let s = pickle::scan_stream(ctx.policy, ctx.pickle_opts(Loader::Python), inp, 1);
        ctx.report_stream(&s, member, false);
    }
}

fn walk_tar_storages(ctx: &mut Ctx<'_>, data: &Blob, member: &Member) {
    let mut r = data.reader();
    let mut inp = Input::new(&mut r, Mode::Linear);
    let Some(count) = legacy_count(ctx, &mut inp, member, "storage") else {
        return;
    };
    for _ in 0..count {
        let Some(o) = run_one(ctx, &mut inp, member) else {
            return;
        };
        let at = inp.pos();
        let elsize = o.top_tuple.get(2).and_then(|c| torch_elsize(c));
        let Some(elsize) = elsize else {
            ctx.add(
                &rules::UNREADABLE,
                member,
                Some(at),
                "a storage record does not name a known storage class; the member cannot be walked"
                    .into(),
            );
            return;
        };
        let res = inp
            .array::<8>()
            .and_then(|b| inp.raw_skip(u64::from_le_bytes(b).saturating_mul(elsize)));
        if let Err(e) = res {
            ctx.add(
                &rules::TORCH_STORAGE,
                member,
                Some(at),
                format!("storage data: {}", read_err(e)),
            );
            return;
        }
    }
    // storage views, then the end.
    if run_one(ctx, &mut inp, member).is_none() {
        return;
    }
    legacy_tail(ctx, &mut inp, member, "the storage records");
}

fn walk_tar_tensors(ctx: &mut Ctx<'_>, data: &Blob, member: &Member) {
    let mut r = data.reader();
    let mut inp = Input::new(&mut r, Mode::Linear);
    let Some(count) = legacy_count(ctx, &mut inp, member, "tensor") else {
        return;
    };
    for _ in 0..count {
        if run_one(ctx, &mut inp, member).is_none() {
            return;
        }
        let at = inp.pos();
        let res = inp.array::<4>().and_then(|nd| {
            let ndim = i32::from_le_bytes(nd);
            if !(0..=64).contains(&ndim) {
                return Err(ReadError::Io(io::Error::other(format!(
                    "tensor with {ndim} dimensions"
                ))));
            }
            inp.raw_skip(4 + 16 * ndim as u64 + 8)
        });
        if let Err(e) = res {
            ctx.add(
                &rules::UNREADABLE,
                member,
                Some(at),
                format!("tensor record: {}", read_err(e)),
            );
            return;
        }
    }
    legacy_tail(ctx, &mut inp, member, "the tensor records");
}

/// Element size of a torch storage class (`torch.FloatStorage` …); `None` when unknown.
pub(crate) fn torch_elsize(class: &str) -> Option<u64> {
    let name = class.rsplit('.').next()?;
    Some(match name {
        "UntypedStorage" | "ByteStorage" | "CharStorage" | "BoolStorage" | "QUInt8Storage"
        | "QInt8Storage" | "QUInt4x2Storage" | "QUInt2x4Storage" => 1,
        "HalfStorage" | "BFloat16Storage" | "ShortStorage" => 2,
        "FloatStorage" | "IntStorage" | "QInt32Storage" => 4,
        "DoubleStorage" | "LongStorage" | "ComplexFloatStorage" => 8,
        "ComplexDoubleStorage" => 16,
        _ => return None,
    })
}
