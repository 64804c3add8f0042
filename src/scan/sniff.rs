//! What the first bytes (and, second, the name) say a blob is. Content decides wherever a
//! format has a signature; names only pick between formats that have none (protobuf files,
//! protocol-0 pickles, text formats), and a name alone never makes bytes a pickle.

/// Bytes read to sniff.
pub(super) const HEAD: usize = 4096;

/// Compression formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    Gzip,
    Bzip2,
    Xz,
    /// LZMA-alone (`.lzma`, joblib `compress='lzma'`).
    Lzma,
    Zlib,
    /// joblib < 0.10: `ZF` + the length in hex padded to 19 characters, then zlib.
    JoblibZlib,
    /// LZ4 frame (joblib `compress='lz4'`).
    Lz4,
    Zstd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Zip,
    Compressed(Codec),
    SevenZip,
    Tar,
    Npy,
    Gguf,
    /// Older llama.cpp files (`ggml`, `ggmf`, `ggjt`, `ggla`).
    Ggml,
    Hdf5,
    Safetensors,
    Tflite,
    Onnx,
    /// A `.pb` file: TensorFlow SavedModel or GraphDef, or ONNX (model or test tensor).
    Protobuf,
    CoreMl,
    /// A CoreML `.mlpackage` weight blob file.
    CoreMlWeights,
    SentencePiece,
    FastText,
    Word2Vec {
        binary: bool,
    },
    Crfsuite,
    /// TensorFlow checkpoint index (an SSTable).
    TfIndex,
    /// TensorFlow checkpoint shard (raw tensor bytes).
    TfData,
    Json,
    /// A Jinja chat template.
    Template,
    /// Tokenizer vocabularies and merges (text).
    Vocab,
    /// OpenVINO IR topology (`model.xml`, layers and their attributes).
    OpenVinoXml,
    /// DyNet parameter files (text: `#Parameter# name {dims} …` then the numbers).
    Dynet,
    /// Flax weights (`flax_model.msgpack`): a msgpack map of arrays.
    Msgpack,
    /// Weight shards of a TF.js model (`group1-shard1of2.bin`), raw numbers.
    TfjsShard,
    Pickle,
    Python,
    Other,
}

fn ext_of(lower: &str) -> &str {
    lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("")
}

pub(crate) fn sniff(head: &[u8], name: &str, len: u64) -> Kind {
    let lower = name.to_ascii_lowercase();
    let ext = ext_of(&lower);
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Kind::Zip;
    }
    if head.starts_with(b"\x93NUMPY") {
        return Kind::Npy;
    }
    const MAGIC: &[(&[u8], Kind)] = &[
        (b"\x1f\x8b", Kind::Compressed(Codec::Gzip)),
        (b"\xfd7zXZ\x00", Kind::Compressed(Codec::Xz)),
        (b"\x28\xb5\x2f\xfd", Kind::Compressed(Codec::Zstd)),
        (b"\x04\x22\x4d\x18", Kind::Compressed(Codec::Lz4)),
        (b"ZF0x", Kind::Compressed(Codec::JoblibZlib)),
        (b"7z\xbc\xaf\x27\x1c", Kind::SevenZip),
        (b"GGUF", Kind::Gguf),
        (b"\x89HDF\r\n\x1a\n", Kind::Hdf5),
        (b"lCRF", Kind::Crfsuite),
        (b"\xba\x16\x4f\x2f", Kind::FastText),
    ];
    if let Some((_, k)) = MAGIC.iter().find(|(m, _)| head.starts_with(m)) {
        return *k;
    }
    // ggml family: the magic is a little-endian u32 ('ggml' is written as "lmgg").
    if [b"lmgg", b"fmgg", b"tjgg", b"algg"]
        .iter()
        .any(|m| head.starts_with(*m))
    {
        return Kind::Ggml;
    }
    if head.len() >= 8 && (&head[4..8] == b"TFL3" || &head[4..8] == b"TFL2") {
        return Kind::Tflite;
    }
    // bzip2: "BZh" + level, then a block magic (pi) or the end-of-stream magic (sqrt pi).
    if head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (head[4..10] == *b"1AY&SY" || head[4..10] == *b"\x17rE8P\x90")
    {
        return Kind::Compressed(Codec::Bzip2);
    }
    if head.len() > 262 && &head[257..262] == b"ustar" {
        return Kind::Tar;
    }
    if head.len() >= 9 && head[8] == b'{' {
        let n = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
        if n > 0 && n <= len.saturating_sub(8) {
            return Kind::Safetensors;
        }
    }
    if head.len() >= 2 && head[0] == 0x80 && head[1] <= 5 {
        return Kind::Pickle;
    }
    // CoreML's weight blob (version 2, then a 0xDEADBEEF sentinel at byte 64) before the
    // weak LZMA-alone test: its first word is a blob count, and 93 blobs read as LZMA's most
    // common properties byte (0x5d).
    if head.len() >= 68 && head[4..8] == [2, 0, 0, 0] && head[64..68] == [0xef, 0xbe, 0xad, 0xde] {
        return Kind::CoreMlWeights;
    }
    if looks_like_lzma_alone(head, len) {
        return Kind::Compressed(Codec::Lzma);
    }
    if head.len() >= 2
        && head[0] == 0x78
        && (u16::from(head[0]) << 8 | u16::from(head[1])) % 31 == 0
        && matches!(head[1], 0x01 | 0x5e | 0x9c | 0xda)
    {
        return Kind::Compressed(Codec::Zlib);
    }
    if head.starts_with(b"#Parameter#") || head.starts_with(b"#LookupParameter#") {
        return Kind::Dynet;
    }
    if let Some(binary) = word2vec_header(head, ext) {
        return Kind::Word2Vec { binary };
    }
    // fastText models written before the magic number existed start with their arguments.
    if matches!(ext, "bin" | "ftz" | "model" | "") && super::formats::vectors::fasttext_args(head) {
        return Kind::FastText;
    }
    let base = lower.rsplit('/').next().unwrap_or(&lower);
    match ext {
        "onnx" => Kind::Onnx,
        "safetensors" if head.len() >= 8 => Kind::Safetensors,
        "pb" => Kind::Protobuf,
        "mlmodel" => Kind::CoreMl,
        "model" if head.first() == Some(&0x0a) => Kind::SentencePiece,
        "ftz" => Kind::FastText,
        "json" => Kind::Json,
        "jinja" | "j2" | "jinja2" => Kind::Template,
        "vocab" => Kind::Vocab,
        "xml" if memchr::memmem::find(head, b"<net ").is_some() => Kind::OpenVinoXml,
        "msgpack"
            if head
                .first()
                .is_some_and(|b| matches!(b, 0x80..=0x8f | 0xde | 0xdf)) =>
        {
            Kind::Msgpack
        }
        _ if is_tfjs_shard(base) => Kind::TfjsShard,
        "index" if base.contains("ckpt") || base.starts_with("variables") => Kind::TfIndex,
        "py" => Kind::Python,
        _ if is_tf_shard(base) => Kind::TfData,
        _ if matches!(base, "vocab.txt" | "merges.txt" | "spiece.vocab") => Kind::Vocab,
        // A protocol-0/1 pickle has no magic: with a model file name, bytes that can start a
        // pickle are read as one (and any break in them is reported).
        _ if model_ext(name) && head.first().is_some_and(|b| PICKLE_FIRST.contains(b)) => {
            Kind::Pickle
        }
        _ => Kind::Other,
    }
}

/// `group1-shard1of3` (`.bin`): a TF.js weight shard.
fn is_tfjs_shard(base: &str) -> bool {
    let stem = base.strip_suffix(".bin").unwrap_or(base);
    let Some(rest) = stem.strip_prefix("group") else {
        return false;
    };
    let Some((g, rest)) = rest.split_once("-shard") else {
        return false;
    };
    let Some((a, b)) = rest.split_once("of") else {
        return false;
    };
    [g, a, b]
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

/// `*.data-00000-of-00001`: a TensorFlow checkpoint shard.
fn is_tf_shard(base: &str) -> bool {
    let Some((_, tail)) = base.rsplit_once(".data-") else {
        return false;
    };
    let b = tail.as_bytes();
    b.len() == 14
        && &b[5..9] == b"-of-"
        && b.iter()
            .enumerate()
            .all(|(i, c)| (5..9).contains(&i) || c.is_ascii_digit())
}

/// LZMA-alone: a properties byte (lc/lp/pb, `0x5d` by default), a dictionary size that an
/// encoder actually writes (2^n or 2^n + 2^(n-1), 4 KiB to 1.5 GiB) and an uncompressed size
/// that is unknown (all ones) or plausible. A protocol-1 pickle starting with EMPTY_LIST (`]`,
/// also 0x5d) fails the dictionary test.
fn looks_like_lzma_alone(head: &[u8], len: u64) -> bool {
    if head.len() < 13 || head[0] >= 9 * 5 * 5 {
        return false;
    }
    let dict = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
    let plausible_dict = (12..=30).any(|n| dict == 1 << n || dict == (1 << n) | (1 << (n - 1)));
    let size = u64::from_le_bytes(head[5..13].try_into().unwrap_or_default());
    let plausible_size = size == u64::MAX || size <= len.saturating_mul(10_000).max(1 << 20);
    plausible_dict && plausible_size
}

/// word2vec's header `COUNT DIM\n`; then either text rows or binary vectors (a word, a space,
/// DIM little-endian float32s). `Some(binary)` when the head fits one of the two.
fn word2vec_header(head: &[u8], ext: &str) -> Option<bool> {
    let nl = head.iter().take(64).position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&head[..nl]).ok()?;
    let mut it = line.split_ascii_whitespace();
    let (count, dim): (u64, u64) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    if it.next().is_some() || count == 0 || dim == 0 || dim > 100_000 {
        return None;
    }
    let rest = &head[nl + 1..];
    if rest.is_empty() {
        return None;
    }
    // Text: the first row is a word (any bytes: gensim writes what the corpus had) and DIM
    // numbers; a row longer than the head window is judged on the numbers it shows.
    let (row, whole) = match rest.iter().position(|&b| b == b'\n') {
        Some(end) => (&rest[..end], true),
        None => (rest, false),
    };
    let row = String::from_utf8_lossy(row);
    let mut f = row.split_ascii_whitespace();
    f.next()?;
    let nums: Vec<&str> = f.collect();
    let shown = if whole {
        nums.len()
    } else {
        nums.len().saturating_sub(1)
    };
    let parse = nums[..shown].iter().all(|n| n.parse::<f64>().is_ok());
    if parse
        && (whole && nums.len() as u64 == dim
            || !whole && shown as u64 <= dim && shown >= 8.min(dim as usize))
    {
        return Some(false);
    }
    // Binary: a word (no space or newline), a space, then DIM*4 bytes of floats, which are
    // not all printable text.
    let sp = rest.iter().take(1024).position(|&b| b == b' ')?;
    if sp == 0 || rest[..sp].contains(&b'\n') {
        return None;
    }
    let floats = &rest[sp + 1..];
    let need = usize::try_from(dim.checked_mul(4)?).ok()?;
    let window = &floats[..floats.len().min(need)];
    if floats.len() < need.min(HEAD / 2)
        || window.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
    {
        return None;
    }
    matches!(
        ext,
        "bin" | "w2v" | "kv" | "vec" | "txt" | "" | "model" | "vectors"
    )
    .then_some(true)
}

/// Opcodes a pickle can start with (protocol 0/1 pickles have no magic).
const PICKLE_FIRST: &[u8] = b"()]}.NIJKLMFGSTUVXBCcilpqrdgh\x80";

/// Protocol-0/1 pickles start with an opcode and usually a GLOBAL or MARK; the GLOBAL's two
/// lines must be Python names (a gzipped git object, `commit 126\0…`, is not a pickle).
pub(super) fn looks_like_text_pickle(head: &[u8]) -> bool {
    match head.first() {
        Some(b'c') => {
            let mut lines = head[1..].splitn(3, |&b| b == b'\n');
            let (Some(m), Some(n), Some(_)) = (lines.next(), lines.next(), lines.next()) else {
                return false;
            };
            is_dotted_name(m) && is_dotted_name(n)
        }
        Some(b'(') => matches!(
            head.get(1),
            Some(
                b'c' | b'd'
                    | b'l'
                    | b'i'
                    | b'S'
                    | b'V'
                    | b'I'
                    | b'X'
                    | b'U'
                    | b'K'
                    | b'J'
                    | b'('
                    | b']'
                    | b'}'
                    | b')'
            )
        ),
        Some(b']' | b'}' | b')') => {
            matches!(head.get(1), Some(b'q' | b'r' | b'(' | b'.' | b'c' | b'X'))
        }
        _ => false,
    }
}

fn is_dotted_name(s: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.split(|&b| b == b'.').all(|part| {
            !part.is_empty()
                && !part[0].is_ascii_digit()
                && part.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

pub(super) fn model_ext(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let ext = ext_of(&lower);
    matches!(
        ext,
        "pkl"
            | "pickle"
            | "pt"
            | "pth"
            | "bin"
            | "ckpt"
            | "joblib"
            | "jl"
            | "sav"
            | "p"
            | "model"
            | "mar"
            | "npy"
            | "npz"
            | "safetensors"
            | "gguf"
            | "ggml"
            | "keras"
            | "h5"
            | "hdf5"
            | "pdparams"
            | "nemo"
            | "dill"
            | "cloudpickle"
            | "onnx"
            | "ort"
            | "tflite"
            | "lite"
            | "pb"
            | "mlmodel"
            | "jit"
            | "torchscript"
            | "ptl"
            | "skops"
            | "dat"
            | "tar"
            | "gz"
            | "bz2"
            | "xz"
            | "lzma"
            | "lz4"
            | "zst"
            | "z"
            | "zip"
            | "7z"
    ) || lower == "data.pkl"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protocol_1_list_pickle_is_not_lzma_issue_14_item_4() {
        let p = b"]q\x00(X\x05\x00\x00\x00helloq\x01X\x05\x00\x00\x00worldq\x02e.";
        assert_ne!(
            sniff(p, "m.pkl", p.len() as u64),
            Kind::Compressed(Codec::Lzma)
        );
        // A real LZMA-alone header: lc=3 lp=0 pb=2, 8 MiB dictionary, unknown size.
        let mut l = vec![0x5d, 0, 0, 0x80, 0];
        l.extend_from_slice(&[0xff; 8]);
        l.extend_from_slice(&[0; 16]);
        assert_eq!(sniff(&l, "m.pkl", 1000), Kind::Compressed(Codec::Lzma));
    }

    #[test]
    fn a_coreml_weight_blob_with_93_blobs_is_not_lzma() {
        // basic-pitch's weight.bin pattern: 93 blobs (0x5d, LZMA-alone's usual first byte),
        // storage version 2, the first blob's metadata sentinel at byte 64.
        let mut w = vec![0u8; 128];
        w[0] = 0x5d;
        w[4] = 2;
        w[64..68].copy_from_slice(&[0xef, 0xbe, 0xad, 0xde]);
        assert!(
            looks_like_lzma_alone(&w, 1 << 20),
            "the collision this guards against"
        );
        assert_eq!(sniff(&w, "weight.bin", 1 << 20), Kind::CoreMlWeights);
    }

    #[test]
    fn a_git_object_is_not_a_text_pickle_issue_14_item_4() {
        assert!(!looks_like_text_pickle(
            b"commit 126\x00tree 9f2a\nparent 1\nauthor x\n"
        ));
        assert!(!looks_like_text_pickle(b"config: value\nother\nmore\n"));
        assert!(looks_like_text_pickle(
            b"cnumpy.core.multiarray\n_reconstruct\nq\x00"
        ));
        assert!(looks_like_text_pickle(b"ccopy_reg\n_reconstructor\np0\n"));
    }

    #[test]
    fn formats_with_signatures_are_told_by_content() {
        assert_eq!(
            sniff(b"\x04\x22\x4d\x18\x64\x40", "w.lz4", 9),
            Kind::Compressed(Codec::Lz4)
        );
        assert_eq!(
            sniff(b"\x28\xb5\x2f\xfd\x00", "w", 9),
            Kind::Compressed(Codec::Zstd)
        );
        assert_eq!(
            sniff(b"\x1c\x00\x00\x00TFL3\x00\x00", "m.bin", 9),
            Kind::Tflite
        );
        assert_eq!(
            sniff(b"\xba\x16\x4f\x2f\x0c\x00\x00\x00", "lid.176.ftz", 9),
            Kind::FastText
        );
        assert_eq!(sniff(b"lCRF\x00", "m.crfsuite", 9), Kind::Crfsuite);
        assert_eq!(
            sniff(b"3 4\nthe 0.1 0.2 0.3 0.4\n", "w2v.txt", 30),
            Kind::Word2Vec { binary: false }
        );
        assert_eq!(
            sniff(
                b"3 2\nthe \x00\x00\x80\x3f\x00\x00\x80\x3f\n",
                "vectors.bin",
                30
            ),
            Kind::Word2Vec { binary: true }
        );
        assert_eq!(sniff(b"2 3\nfoo bar\n", "notes.txt", 10), Kind::Other);
        // bzip2 needs its block magic as well as "BZh".
        assert_ne!(
            sniff(b"BZh9 not bzip2 at all", "x.bz2", 20),
            Kind::Compressed(Codec::Bzip2)
        );
        assert_eq!(sniff(b"\n\x04abcd", "sp.model", 9), Kind::SentencePiece);
        assert_eq!(
            sniff(b"x", "variables.data-00000-of-00001", 1),
            Kind::TfData
        );
        assert_eq!(sniff(b"x", "model.data-00000-of-00002", 1), Kind::TfData);
        assert_eq!(sniff(b"x", "my.data-backup", 1), Kind::Other);
        assert_eq!(
            sniff(b"\x00\x01", "group1-shard2of3.bin", 2),
            Kind::TfjsShard
        );
        assert_eq!(
            sniff(b"\x82\xa6params", "flax_model.msgpack", 9),
            Kind::Msgpack
        );
    }
}
