//! One file's scan: where its bytes are ([`Blob`]), where inside it a finding is ([`Member`]),
//! the budget every nesting level draws from ([`Budget`]), and the dispatch from what the bytes
//! are to the reader for them.

use super::allowlist::Allowlist;
use super::sniff::{self, Kind};
use super::{FileResult, formats, rules, zip};
use crate::report::{Finding, Location, Rule, Severity};
use crate::util::fs::FileIdentity;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Archives and compressed streams nested deeper than this are not opened.
pub(super) const MAX_DEPTH: u32 = 4;

/// What one top-level file may cost, across every nesting level inside it (a zip of zips of
/// bzip2 streams draws from the same budget as the zip itself).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Decompressed bytes per compressed byte of the top-level file …
    pub ratio: u64,
    /// … but never less than this many bytes in total …
    pub floor: u64,
    /// … nor more than this.
    pub cap: u64,
    /// Archive members opened, in total.
    pub members: u64,
    /// Wall time per top-level file.
    pub time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ratio: 5_000,
            floor: 1 << 30,
            cap: 64 << 30,
            members: 1 << 17,
            time: Duration::from_secs(600),
        }
    }
}

/// The budget of one top-level file, shared (through `Rc`) by every reader opened inside it.
pub(super) struct Budget {
    bytes_left: Cell<u64>,
    bytes_total: u64,
    members_left: Cell<u64>,
    pub deadline: Instant,
    /// Set once a limit is hit: what ran out.
    pub exhausted: Cell<Option<&'static str>>,
}

impl Budget {
    fn new(limits: &Limits, file_len: u64) -> Rc<Self> {
        let bytes = file_len
            .saturating_mul(limits.ratio)
            .clamp(limits.floor, limits.cap.max(limits.floor));
        Rc::new(Budget {
            bytes_left: Cell::new(bytes),
            bytes_total: bytes,
            members_left: Cell::new(limits.members),
            deadline: Instant::now() + limits.time,
            exhausted: Cell::new(None),
        })
    }

    /// Take `n` decompressed bytes; false (and exhausted) when the budget cannot cover them.
    pub fn take_bytes(&self, n: u64) -> bool {
        if Instant::now() >= self.deadline {
            self.exhausted.set(Some("time"));
            return false;
        }
        match self.bytes_left.get().checked_sub(n) {
            Some(left) => {
                self.bytes_left.set(left);
                true
            }
            None => {
                self.bytes_left.set(0);
                self.exhausted.set(Some("bytes"));
                false
            }
        }
    }

    /// Open one more archive member; false when the member budget is spent.
    pub fn take_member(&self) -> bool {
        if Instant::now() >= self.deadline {
            self.exhausted.set(Some("time"));
            return false;
        }
        match self.members_left.get().checked_sub(1) {
            Some(left) => {
                self.members_left.set(left);
                true
            }
            None => {
                self.exhausted.set(Some("members"));
                false
            }
        }
    }

    /// The sentence a finding uses for what ran out.
    pub fn describe(&self, what: &str) -> String {
        match what {
            "time" => "the file's time budget ran out (--timeout)".into(),
            "members" => {
                "the file's budget of archive members opened (across all nesting levels) is spent"
                    .into()
            }
            _ => format!(
                "the file's budget of {} decompressed bytes (across all nesting levels) is spent",
                self.bytes_total
            ),
        }
    }
}

/// A byte range of an open file (the file itself, a stored zip member, or a temporary file
/// holding decompressed data).
#[derive(Clone)]
pub(crate) struct Blob {
    pub file: Arc<File>,
    pub start: u64,
    pub len: u64,
}

impl Blob {
    /// A whole open file of `len` bytes.
    pub fn whole(file: File, len: u64) -> Blob {
        Blob {
            file: Arc::new(file),
            start: 0,
            len,
        }
    }

    pub fn reader(&self) -> BlobReader {
        BlobReader {
            blob: self.clone(),
            pos: 0,
        }
    }

    pub fn slice(&self, start: u64, len: u64) -> Blob {
        let start = start.min(self.len);
        Blob {
            file: self.file.clone(),
            start: self.start + start,
            len: len.min(self.len - start),
        }
    }

    /// Read up to `n` bytes at `off` (fewer at the end).
    pub fn read_at(&self, off: u64, n: usize) -> io::Result<Vec<u8>> {
        if off >= self.len {
            return Ok(Vec::new());
        }
        let n = (n as u64).min(self.len - off) as usize;
        let mut buf = vec![0; n];
        self.file.read_exact_at(&mut buf, self.start + off)?;
        Ok(buf)
    }

    /// The whole blob, when it is at most `cap` bytes.
    pub fn read_all(&self, cap: u64) -> io::Result<Option<Vec<u8>>> {
        if self.len > cap {
            return Ok(None);
        }
        self.read_at(0, self.len as usize).map(Some)
    }
}

pub(crate) struct BlobReader {
    blob: Blob,
    pos: u64,
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.blob.len - self.pos;
        let n = (buf.len() as u64).min(left) as usize;
        if n == 0 {
            return Ok(0);
        }
        let got = self
            .blob
            .file
            .read_at(&mut buf[..n], self.blob.start + self.pos)?;
        self.pos += got as u64;
        Ok(got)
    }
}

/// Where inside a file: a chain of container members.
#[derive(Clone, Debug, Default)]
pub(crate) struct Member(pub Option<String>);

impl Member {
    pub fn root() -> Self {
        Member(None)
    }
    pub fn child(&self, name: &str) -> Self {
        Member(Some(match &self.0 {
            None => name.to_string(),
            Some(p) => format!("{p}!{name}"),
        }))
    }
}

/// A reader that charges what it returns to the file's budget and fails when it is spent
/// (decompression bombs, at any nesting level).
pub(super) struct Limited<R> {
    pub inner: R,
    pub budget: Rc<Budget>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if !self.budget.take_bytes(n as u64) {
            return Err(io::Error::other("decompression budget spent"));
        }
        Ok(n)
    }
}

pub(crate) struct Ctx<'p> {
    pub policy: &'p Allowlist,
    pub path: String,
    pub root: PathBuf,
    pub file_dir: PathBuf,
    pub out: FileResult,
    pub budget: Rc<Budget>,
    /// How many things (files, members, streams) were recognised and analysed so far.
    pub analysed: u32,
    /// Side files (joblib `NDArrayWrapper`) already scanned for this file.
    pub followed: std::collections::HashSet<String>,
    /// Scanning a side file now (side files are not followed from side files).
    pub following: bool,
}

/// Scan one file (see [`super::scan_file`]) with `limits`.
pub(super) fn scan_file_with(
    path: &Path,
    shown: &str,
    root: &Path,
    policy: &Allowlist,
    limits: &Limits,
) -> FileResult {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        scan_file_unguarded(path, shown, root, policy, limits)
    }))
    .unwrap_or_else(|_| FileResult {
        findings: vec![
            Finding::new(
                &rules::UNREADABLE,
                "internal error while scanning this file (a modelsec bug; please report it); it is not judged clean",
            )
            .at(Location::path(shown.to_string())),
        ],
        scanned: true,
        format: "error",
        ..FileResult::default()
    })
}

fn scan_file_unguarded(
    path: &Path,
    shown: &str,
    root: &Path,
    policy: &Allowlist,
    limits: &Limits,
) -> FileResult {
    // Regular files only, opened without blocking: a FIFO or device is reported, never read
    // forever.
    let opened = crate::util::fs::open_regular(path)
        .map_err(|e| match e {
            crate::util::fs::ReadError::Io { source, .. } => source,
            other => io::Error::other(other.to_string()),
        })
        .and_then(|f| FileIdentity::of(&f).map(|id| (f, id)));
    let mut ctx = Ctx {
        policy,
        path: shown.to_string(),
        root: root.to_path_buf(),
        file_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        out: FileResult::default(),
        budget: Budget::new(limits, opened.as_ref().map_or(0, |(_, id)| id.size)),
        analysed: 0,
        followed: Default::default(),
        following: false,
    };
    match opened {
        Ok((f, before)) => {
            let blob = Blob::whole(f, before.size);
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            ctx.blob(&blob, &Member::root(), &name, 0);
            if let Some(what) = ctx.budget.exhausted.get() {
                let msg = format!(
                    "analysis stopped: {}; what lies beyond was not scanned",
                    ctx.budget.describe(what)
                );
                ctx.add(&rules::ARCHIVE_BOMB, &Member::root(), None, msg);
            }
            // fstat again on the same descriptor: bytes that changed under the scan were not
            // judged (fail closed).
            match FileIdentity::of(&blob.file) {
                Ok(after) if after == before => ctx.out.identity = Some(before),
                _ => ctx.add(
                    &rules::UNREADABLE,
                    &Member::root(),
                    None,
                    "the file changed while it was being scanned; scan it again when nothing writes to it".to_string(),
                ),
            }
        }
        Err(e) => ctx.add(
            &rules::UNREADABLE,
            &Member::root(),
            None,
            format!("could not read the file: {e}"),
        ),
    }
    ctx.out
}

impl Ctx<'_> {
    pub(crate) fn add(&mut self, rule: &Rule, member: &Member, offset: Option<u64>, msg: String) {
        self.add_sev(rule, None, member, offset, msg);
    }

    pub(crate) fn add_sev(
        &mut self,
        rule: &Rule,
        sev: Option<Severity>,
        member: &Member,
        offset: Option<u64>,
        msg: String,
    ) {
        self.push(Finding::new(rule, msg), sev, member, offset);
    }

    /// Add a finding built by the caller (with a subject), located in this file.
    pub(crate) fn push(
        &mut self,
        mut f: Finding,
        sev: Option<Severity>,
        member: &Member,
        offset: Option<u64>,
    ) {
        f = f.at(Location {
            path: self.path.clone(),
            member: member.0.clone(),
            offset,
            ..Location::default()
        });
        if let Some(s) = sev {
            f = f.with_severity(s);
        }
        if !self.out.findings.contains(&f) {
            self.out.findings.push(f);
        }
    }

    /// Record that the file was analysed as `format` (the first format named wins).
    pub(crate) fn mark(&mut self, format: &'static str) {
        self.analysed += 1;
        if !self.out.scanned {
            self.out.format = format;
        }
        self.out.scanned = true;
    }

    /// Scan a blob whose format is not known yet.
    pub(crate) fn blob(&mut self, blob: &Blob, member: &Member, name: &str, depth: u32) {
        let head = match blob.read_at(0, sniff::HEAD) {
            Ok(h) => h,
            Err(e) => {
                self.add(
                    &rules::UNREADABLE,
                    member,
                    None,
                    format!("could not read: {e}"),
                );
                return;
            }
        };
        if head.is_empty() {
            return;
        }
        let kind = sniff::sniff(&head, name, blob.len);
        match kind {
            Kind::Zip => {
                if self.too_deep(member, depth, "archive") {
                    return;
                }
                zip::scan_zip(self, blob, member, depth);
            }
            Kind::Compressed(c) => {
                if self.too_deep(member, depth, "compression") {
                    return;
                }
                self.compressed(blob, c, member, name, depth);
            }
            Kind::SevenZip => {
                self.mark("7z");
                self.add(
                    &rules::UNREADABLE,
                    member,
                    Some(0),
                    "a 7z archive: modelsec cannot open it, so its content was not scanned; unpack it and scan the files".into(),
                );
            }
            Kind::Tar => {
                self.mark("tar");
                formats::torch_legacy::scan_tar(self, blob, member, depth);
            }
            Kind::Npy => {
                self.mark("npy");
                formats::npy::scan(self, blob, member);
            }
            Kind::Gguf => {
                self.mark("gguf");
                formats::gguf::scan(self, blob, member);
            }
            Kind::Ggml => {
                self.mark("ggml");
                formats::vectors::scan_ggml(self, blob, member);
            }
            Kind::Hdf5 => {
                self.mark("hdf5");
                formats::keras::scan_h5(self, blob, member);
            }
            Kind::Safetensors => {
                self.mark("safetensors");
                formats::safetensors::scan(self, blob, member);
            }
            Kind::Tflite => {
                self.mark("tflite");
                formats::tflite::scan(self, blob, member);
            }
            Kind::Onnx => {
                self.mark("onnx");
                formats::onnx::scan(self, blob, member);
            }
            Kind::Protobuf => formats::protobuf_file(self, blob, member, name),
            Kind::CoreMl => {
                self.mark("coreml");
                formats::coreml::scan(self, blob, member);
            }
            Kind::CoreMlWeights => self.mark("coreml-weights"),
            Kind::SentencePiece => {
                self.mark("sentencepiece");
                formats::vectors::scan_sentencepiece(self, blob, member);
            }
            Kind::FastText => {
                self.mark("fasttext");
                formats::vectors::scan_fasttext(self, blob, member);
            }
            Kind::Word2Vec { binary } => {
                self.mark("word2vec");
                formats::vectors::scan_word2vec(self, blob, member, binary);
            }
            Kind::Crfsuite => {
                self.mark("crfsuite");
                formats::vectors::scan_crfsuite(self, blob, member);
            }
            Kind::TfIndex => {
                self.mark("tf-checkpoint-index");
                formats::tensorflow::scan_index(self, blob, member);
            }
            Kind::TfData => self.mark("tf-checkpoint-data"),
            Kind::Json => formats::json::scan(self, blob, member, name),
            Kind::Template => {
                self.mark("chat-template");
                formats::template::scan_file(self, blob, member);
            }
            Kind::Vocab => formats::vectors::scan_vocab(self, blob),
            // Data only: flax.serialization reads msgpack maps of arrays; TF.js shards are raw
            // numbers the model.json manifest slices.
            Kind::Msgpack => self.mark("flax-msgpack"),
            // DyNet reads names, dimensions and numbers; nothing in the format is code.
            Kind::Dynet => self.mark("dynet"),
            // OpenVINO IR: a graph of standard operations (extensions are libraries the
            // application loads), weights in the `.bin` beside it.
            Kind::OpenVinoXml => self.mark("openvino"),
            Kind::TfjsShard => self.mark("tfjs-weights"),
            Kind::Python => {
                if member.0.is_some() {
                    self.add(
                        &rules::PYTHON_CODE,
                        member,
                        None,
                        format!("Python source `{name}` ships inside the model; `trust_remote_code` loaders import it"),
                    );
                } else {
                    self.out.python_source = true;
                }
            }
            Kind::Pickle => {
                self.mark("pickle");
                self.pickle_blob(blob, member);
            }
            Kind::Other => {
                // Not a known model format. A protocol-0/1 pickle has no magic, so probe: if the
                // whole file is a pickle that imports something, it is one.
                if sniff::looks_like_text_pickle(&head) {
                    let (s, crossing) = self.first_pass(&mut blob.reader());
                    if s.end == super::pickle::End::Stop
                        && s.outcomes.iter().any(|o| !o.imports.is_empty())
                    {
                        self.mark("pickle");
                        self.finish_pickle_blob(blob, member, s, crossing);
                        return;
                    }
                }
                if member.0.is_none() && self.is_openvino_weights(name) {
                    self.mark("openvino-weights");
                    return;
                }
                if sniff::model_ext(name) {
                    self.mark("unknown");
                    self.add(&rules::UNSUPPORTED, member, Some(0), format!("`{name}` has a model file name but its content is not a format modelsec recognises"));
                }
            }
        }
    }

    /// `model.bin` beside an OpenVINO IR `model.xml`: raw weights the XML's layers slice.
    fn is_openvino_weights(&self, name: &str) -> bool {
        let Some(stem) = name.strip_suffix(".bin") else {
            return false;
        };
        let xml = self.file_dir.join(format!("{stem}.xml"));
        crate::util::fs::open_regular(&xml)
            .ok()
            .and_then(|f| {
                let mut head = vec![0; 4096];
                let n = std::io::Read::read(&mut &f, &mut head).ok()?;
                Some(memchr::memmem::find(&head[..n], b"<net ").is_some())
            })
            .unwrap_or(false)
    }

    fn too_deep(&mut self, member: &Member, depth: u32, what: &str) -> bool {
        if depth > MAX_DEPTH {
            self.add(
                &rules::ARCHIVE_DEPTH,
                member,
                None,
                format!("{what} nested more than {MAX_DEPTH} deep; not opened"),
            );
            return true;
        }
        false
    }
}
