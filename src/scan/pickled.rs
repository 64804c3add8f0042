//! Running the pickle machine over a blob or stream of a file, and turning what it found into
//! findings located in that file.

use super::ctx::{Blob, Ctx, Member};
use super::input::{Input, Mode};
use super::pickle::{self, End, Loader, Options, Outcome, Stream};
use super::{formats, rules, zip};
use crate::report::Finding;
use std::io::Read;

/// PyTorch's legacy magic number (the first pickle of a pre-1.6 checkpoint).
pub(crate) const TORCH_MAGIC: i128 = 0x1950a86a20f9469cfc6c;

impl Ctx<'_> {
    /// Pickle options for this file: `loader`, and the file's deadline.
    pub(crate) fn pickle_opts(&self, loader: Loader) -> Options {
        Options {
            loader,
            deadline: Some(self.budget.deadline),
        }
    }

    /// Scan a pickle file or member held in a blob.
    pub(crate) fn pickle_blob(&mut self, blob: &Blob, member: &Member) {
        let (first, crossing) = self.first_pass(&mut blob.reader());
        self.finish_pickle_blob(blob, member, first, crossing);
    }

    /// Report a pickle blob's first (linear) pass: as a legacy torch checkpoint when its first
    /// pickle is the torch magic number, otherwise as one stream; then look for a zip behind it.
    pub(crate) fn finish_pickle_blob(
        &mut self,
        blob: &Blob,
        member: &Member,
        first: Stream,
        crossing: Option<u64>,
    ) {
        // Legacy torch: the first pickle is the magic number; five pickles, then raw storages.
        if first.outcomes.first().and_then(|o| o.top_int) == Some(TORCH_MAGIC) {
            formats::torch_legacy::scan_stacked(self, blob, member);
            self.frame_divergence(crossing, None, member, Loader::Python);
        } else {
            self.report_stream(&first, member, true);
            self.frame_divergence(crossing, Some(blob), member, Loader::Python);
        }
        if blob.len >= 22 && zip::has_eocd(blob) {
            self.add(&rules::POLYGLOT, member, Some(0), "the file is a pickle and also ends with a zip directory: pickle.load runs the pickle, zip readers see the archive; both were scanned".into());
            zip::scan_zip(self, blob, member, 1);
        }
    }

    /// The linear pass over a pickle stream (what `pickle.loads` and every linear reader see).
    pub(crate) fn first_pass(&self, r: &mut dyn Read) -> (Stream, Option<u64>) {
        self.first_pass_with(r, Loader::Python)
    }

    fn first_pass_with(&self, r: &mut dyn Read, loader: Loader) -> (Stream, Option<u64>) {
        let mut inp = Input::new(r, Mode::Linear);
        let s = pickle::scan_stream(self.policy, self.pickle_opts(loader), &mut inp, 1);
        (s, inp.crossing)
    }

    /// Scan and report the pickle stream that `first` reads, and return it. `again` holds the
    /// same bytes when they can be read a second time (see [`Ctx::frame_divergence`]).
    pub(crate) fn pickle_stream(
        &mut self,
        first: &mut dyn Read,
        again: Option<&Blob>,
        member: &Member,
    ) -> Stream {
        self.pickle_stream_for(first, again, member, Loader::Python)
    }

    /// [`Ctx::pickle_stream`] for a given loader.
    pub(crate) fn pickle_stream_for(
        &mut self,
        first: &mut dyn Read,
        again: Option<&Blob>,
        member: &Member,
        loader: Loader,
    ) -> Stream {
        let (s, crossing) = self.first_pass_with(first, loader);
        self.report_stream(&s, member, true);
        self.frame_divergence(crossing, again, member, loader);
        s
    }

    /// A read crossed the end of a FRAME: report it, and when the bytes can be read again,
    /// scan them as CPython's C unpickler reads a file without `peek()`.
    pub(crate) fn frame_divergence(
        &mut self,
        crossing: Option<u64>,
        again: Option<&Blob>,
        member: &Member,
        loader: Loader,
    ) {
        let Some(at) = crossing else { return };
        if let Some(blob) = again {
            let mut r = blob.reader();
            let mut inp = Input::new(&mut r, Mode::Buffered);
            let s = pickle::scan_stream(self.policy, self.pickle_opts(loader), &mut inp, 1);
            self.report_stream(&s, member, false);
        }
        self.add(&rules::FRAME_DIVERGENCE, member, Some(at), format!(
            "a read at offset {at} crosses the end of its FRAME: CPython's C unpickler reading a file without peek() skips the rest of the frame there, so it runs different opcodes than a linear reader; {}",
            if again.is_some() { "both readings were scanned" } else { "only the linear reading was scanned" }
        ));
    }

    /// Report what the pickle machine found in a stream.
    pub(crate) fn report_stream(&mut self, s: &Stream, member: &Member, with_end: bool) {
        for o in &s.outcomes {
            self.report_outcome(o, member);
        }
        for o in &s.outcomes {
            for f in &o.side_files {
                self.side_file(f, member);
            }
        }
        if let Some(at) = s.trailing {
            self.add(&rules::TRAILING_DATA, member, Some(at), format!(
                "data follows STOP at offset {at}; it was scanned as further pickles ({} pickle(s) in total)",
                s.outcomes.len()
            ));
        }
        if with_end {
            self.report_end(&s.end, member, s.outcomes.iter().map(|o| o.ops).sum());
        }
    }

    pub(crate) fn report_outcome(&mut self, o: &Outcome, member: &Member) {
        for f in &o.findings {
            let mut finding = Finding::new(f.rule, f.message.clone());
            if let Some(g) = &f.global {
                finding = finding.with_subject(serde_json::json!({
                    "module": g.module,
                    "name": g.name,
                    "called": g.called,
                }));
            }
            self.push(finding, f.severity, member, Some(f.offset));
        }
    }

    /// A file the pickle's loader loads from beside it (joblib < 0.10 `NDArrayWrapper`, with
    /// `allow_pickle=True`): scanned as part of this file, as a `.npy`.
    fn side_file(&mut self, name: &str, member: &Member) {
        let child = member.child(&format!("(loads {name})"));
        if member.0.is_some() || self.following {
            return self.add(&rules::UNREADABLE, &child, None, format!("joblib loads the array file `{name}` named in this pickle from beside it; inside an archive that file cannot be found, so it was not scanned"));
        }
        if !self.followed.insert(name.to_string()) {
            return;
        }
        let path = self.file_dir.join(name);
        match crate::util::fs::open_regular(&path) {
            Ok(f) => {
                let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                self.following = true;
                self.blob(&Blob::whole(f, len), &child, name, 1);
                self.following = false;
            }
            Err(e) => self.add(&rules::UNREADABLE, &child, None, format!("joblib loads the array file `{name}` named in this pickle (np.load with allow_pickle=True), but it could not be opened ({e}); that load was not scanned")),
        }
    }

    pub(crate) fn report_end(&mut self, end: &End, member: &Member, ops: u64) {
        match end {
            End::Stop => {}
            End::Truncated => self.add(&rules::MALFORMED, member, None, format!("the pickle ends before its STOP opcode (truncated after {ops} opcodes); everything before the break was scanned, the loader would run it too")),
            End::Invalid(why) => self.add(&rules::MALFORMED, member, None, format!("not a valid pickle: {why}")),
            End::Io(why) if self.budget.exhausted.get().is_some() => {
                // The budget finding says it once for the whole file.
                let _ = why;
            }
            End::Io(why) => self.add(&rules::UNREADABLE, member, None, format!("could not read the stream: {why}")),
            End::Limit(why) => self.add(&rules::RESOURCE_LIMIT, member, None, format!("analysis stopped: {why}")),
        }
    }
}
