//! Data-only formats: word vectors (word2vec text and binary, fastText), SentencePiece models,
//! CRFsuite models, the older ggml family and tokenizer vocabularies. Their loaders parse
//! numbers and strings and never run code; modelsec checks that the structure is what the
//! format says (so a file is not called data on the strength of its name) and reports it as
//! data.

use super::protobuf::{Val, conforms, fields};
use crate::scan::ctx::{Blob, Ctx, Member};
use crate::scan::rules;

fn malformed(ctx: &mut Ctx<'_>, member: &Member, what: &str, why: String) {
    ctx.add(
        &rules::FORMAT_MALFORMED,
        member,
        None,
        format!("not a valid {what}: {why}"),
    );
}

fn i32_at(b: &[u8], i: usize) -> Option<i32> {
    b.get(i..i + 4)
        .map(|x| i32::from_le_bytes(x.try_into().unwrap_or_default()))
}

/// fastText's training arguments (12 int32 and a double): plausible values, the way a file
/// written by fastText (with or without the magic number of versions ≥ 0.2) has them.
pub(crate) fn fasttext_args(b: &[u8]) -> bool {
    let r = [
        (1, 100_000),   // dim
        (1, 10_000),    // ws
        (1, 1_000_000), // epoch
        (0, i32::MAX),  // minCount
        (0, 100_000),   // neg
        (1, 1_000),     // wordNgrams
        (1, 4),         // loss
        (1, 3),         // model
        (0, i32::MAX),  // bucket
        (0, 1_000),     // minn
        (0, 1_000),     // maxn
        (1, i32::MAX),  // lrUpdateRate
    ];
    r.iter()
        .enumerate()
        .all(|(k, (lo, hi))| i32_at(b, 4 * k).is_some_and(|v| (*lo..=*hi).contains(&v)))
}

pub(crate) fn scan_fasttext(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    let head = blob.read_at(0, 64).unwrap_or_default();
    let args = if head.starts_with(b"\xba\x16\x4f\x2f") {
        let version = i32_at(&head, 4).unwrap_or(0);
        if !(11..=12).contains(&version) {
            return malformed(
                ctx,
                member,
                "fastText model",
                format!("unknown version {version}"),
            );
        }
        &head[8.min(head.len())..]
    } else {
        &head[..]
    };
    if !fasttext_args(args) {
        malformed(
            ctx,
            member,
            "fastText model",
            "its training arguments are out of range".into(),
        );
    }
}

pub(crate) fn scan_word2vec(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member, binary: bool) {
    let head = blob.read_at(0, 64).unwrap_or_default();
    let nl = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let mut it = std::str::from_utf8(&head[..nl])
        .unwrap_or("")
        .split_ascii_whitespace()
        .map(|n| n.parse::<u64>().unwrap_or(0));
    let (count, dim) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    if binary {
        // Each record is at least a one-byte word, a space and DIM float32s.
        let need = count.saturating_mul(dim.saturating_mul(4).saturating_add(2));
        let have = blob.len.saturating_sub(nl as u64 + 1);
        if have < need {
            malformed(
                ctx,
                member,
                "word2vec binary file",
                format!(
                    "{count} vectors of {dim} floats need at least {need} bytes, the file has {have}"
                ),
            );
        }
    }
}

pub(crate) fn scan_sentencepiece(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    let buf = match blob.read_all(1 << 30) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return ctx.add(
                &rules::RESOURCE_LIMIT,
                member,
                None,
                "SentencePiece model larger than 1 GiB; not read".into(),
            );
        }
        Err(e) => {
            return ctx.add(
                &rules::UNREADABLE,
                member,
                None,
                format!("could not read: {e}"),
            );
        }
    };
    let shaped = conforms(&buf, |f| (1..=5).contains(&f).then_some(true));
    let pieces_ok = fields(&buf).flatten().all(|(f, v)| {
        f != 1
            || v.bytes().is_some_and(|p| {
                conforms(p, |n| match n {
                    1 => Some(true),
                    2 | 3 => Some(false),
                    _ => None,
                })
            })
    });
    let has_pieces = fields(&buf)
        .flatten()
        .any(|(f, v)| f == 1 && matches!(v, Val::Bytes(_)));
    if !(shaped && pieces_ok && has_pieces) {
        malformed(
            ctx,
            member,
            "SentencePiece model",
            "the protobuf does not have the ModelProto shape (pieces, trainer and normalizer specs)".into(),
        );
    }
}

pub(crate) fn scan_crfsuite(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    // "lCRF", then the total size of the model as a little-endian u32.
    let head = blob.read_at(0, 12).unwrap_or_default();
    let size = i32_at(&head, 4).unwrap_or(-1);
    if size < 12 || size as u64 > blob.len {
        malformed(
            ctx,
            member,
            "CRFsuite model",
            format!("the header says {size} bytes, the file has {}", blob.len),
        );
    }
}

pub(crate) fn scan_ggml(ctx: &mut Ctx<'_>, blob: &Blob, member: &Member) {
    if blob.len < 32 {
        malformed(ctx, member, "ggml model", "shorter than its header".into());
    }
}

/// Tokenizer vocabularies and merges: text (data), lines of tokens and counts. Tokens are
/// whatever bytes the corpus had (not always valid UTF-8), but a vocabulary has no NUL and
/// hardly any control characters. Anything else is not one.
pub(crate) fn scan_vocab(ctx: &mut Ctx<'_>, blob: &Blob) {
    let head = blob.read_at(0, 1 << 16).unwrap_or_default();
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t'))
        .count();
    if !head.is_empty() && !head.contains(&0) && control * 100 <= head.len() {
        ctx.mark("tokenizer-vocab");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fasttext_arguments_with_and_without_the_magic() {
        // gensim's lee_fasttext.bin (written by fastText before the magic number existed).
        let old: Vec<u8> = [10i32, 5, 5, 5, 5, 1, 2, 2, 1000, 3, 6, 10000]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert!(fasttext_args(&old));
        let junk: Vec<u8> = [10i32, 5, 5, 5, 5, 1, 9, 2, 1000, 3, 6, 10000]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert!(!fasttext_args(&junk), "loss 9 does not exist");
    }
}
