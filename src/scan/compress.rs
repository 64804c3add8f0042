//! Compressed wrappers: gzip, bzip2, xz, LZMA-alone, zlib, joblib's `ZF` zlib, LZ4 frames and
//! zstd. Decompressed bytes that look like a pickle stream straight through the pickle machine
//! (joblib's inline arrays are skipped as joblib skips them); anything else is spooled to a
//! temporary file and scanned as a blob of its own. Every byte decompressed, at any nesting
//! level, is charged to the file's one budget.

use super::ctx::{Blob, Ctx, Limited, Member};
use super::pickle::End;
use super::rules;
use super::sniff::{self, Codec, Kind};
use std::io::{self, BufRead, Read};

/// Memory liblzma may use for one stream (xz -9e needs 674 MiB to compress, 65 MiB to decode).
const LZMA_MEMLIMIT: u64 = 256 << 20;

/// joblib < 0.10 `ZF` header: `ZF` and the length as `0x…` hex, left-justified to 19
/// characters (`len(hex(2**64))`), then an optional space (joblib/numpy_pickle_compat.py,
/// `read_zfile`).
const ZF_HEADER: usize = 2 + 19;

fn codec_name(c: Codec) -> &'static str {
    match c {
        Codec::Gzip => "gzip",
        Codec::Bzip2 => "bzip2",
        Codec::Xz => "xz",
        Codec::Lzma => "lzma",
        Codec::Zlib => "zlib",
        Codec::JoblibZlib => "joblib zlib",
        Codec::Lz4 => "lz4",
        Codec::Zstd => "zstd",
    }
}

/// The name of the decompressed data: the file name without its compression extension.
fn inner_name(name: &str) -> String {
    name.rsplit_once('.')
        .filter(|(_, e)| {
            matches!(
                e.to_ascii_lowercase().as_str(),
                "gz" | "bz2" | "xz" | "lzma" | "z" | "zlib" | "lz4" | "zst" | "zstd"
            )
        })
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| format!("{name}.decompressed"))
}

impl Ctx<'_> {
    fn decoder<'a>(
        &mut self,
        codec: Codec,
        mut src: super::ctx::BlobReader,
        member: &Member,
    ) -> Option<Box<dyn Read + 'a>> {
        Some(match codec {
            Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(src)),
            Codec::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(src)),
            // A crafted header can ask liblzma for a 4 GiB dictionary: cap its memory.
            Codec::Xz => match liblzma::stream::Stream::new_stream_decoder(
                LZMA_MEMLIMIT,
                liblzma::stream::CONCATENATED,
            ) {
                Ok(s) => Box::new(liblzma::read::XzDecoder::new_stream(src, s)),
                Err(e) => {
                    self.add(&rules::UNREADABLE, member, None, format!("xz decoder: {e}"));
                    return None;
                }
            },
            Codec::Lzma => match liblzma::stream::Stream::new_lzma_decoder(LZMA_MEMLIMIT) {
                Ok(s) => Box::new(liblzma::read::XzDecoder::new_stream(src, s)),
                Err(e) => {
                    self.add(
                        &rules::UNREADABLE,
                        member,
                        None,
                        format!("lzma decoder: {e}"),
                    );
                    return None;
                }
            },
            Codec::JoblibZlib => {
                let mut hdr = [0u8; ZF_HEADER];
                if src.read_exact(&mut hdr).is_err() {
                    self.add(
                        &rules::UNREADABLE,
                        member,
                        None,
                        "truncated joblib zlib header".into(),
                    );
                    return None;
                }
                let mut src = io::BufReader::new(src);
                // joblib skips one space after the header when there is one.
                if src.fill_buf().is_ok_and(|b| b.first() == Some(&b' ')) {
                    src.consume(1);
                }
                Box::new(flate2::read::ZlibDecoder::new(src))
            }
            Codec::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(src)),
            Codec::Zstd => match ruzstd::decoding::StreamingDecoder::new(src) {
                Ok(d) => Box::new(d),
                Err(e) => {
                    self.add(
                        &rules::UNREADABLE,
                        member,
                        Some(0),
                        format!("zstd frame header: {e}"),
                    );
                    return None;
                }
            },
            Codec::Zlib => Box::new(flate2::read::ZlibDecoder::new(src)),
        })
    }

    /// A decompression failure, unless it is the budget running out (reported once per file).
    fn decompress_error(&mut self, member: &Member, codec: Codec, e: &io::Error) {
        if self.budget.exhausted.get().is_none() {
            self.add(
                &rules::UNREADABLE,
                member,
                None,
                format!("could not decompress ({}): {e}", codec_name(codec)),
            );
        }
    }

    pub(crate) fn compressed(
        &mut self,
        blob: &Blob,
        codec: Codec,
        member: &Member,
        name: &str,
        depth: u32,
    ) {
        let inner = inner_name(name);
        let Some(dec) = self.decoder(codec, blob.reader(), member) else {
            return;
        };
        let mut lim = io::BufReader::with_capacity(
            64 * 1024,
            Limited {
                inner: dec,
                budget: self.budget.clone(),
            },
        );
        let head = match lim.fill_buf() {
            Ok(h) => h[..h.len().min(sniff::HEAD)].to_vec(),
            Err(e) => {
                self.decompress_error(member, codec, &e);
                return;
            }
        };
        let child = member.child(&inner);
        let kind = sniff::sniff(&head, &inner, u64::MAX);
        let pickle_like = match kind {
            Kind::Pickle => head.first() == Some(&0x80) || sniff::looks_like_text_pickle(&head),
            Kind::Other => sniff::looks_like_text_pickle(&head),
            _ => false,
        };
        if pickle_like {
            self.mark("pickle");
            // Stream straight through the pickle machine (joblib arrays are skipped inline).
            let (mut s, crossing) = self.first_pass(&mut lim);
            if self.budget.exhausted.get().is_some() {
                s.end = End::Stop;
            } else if s.end == End::Stop {
                // Drain to surface corrupt compressed data after STOP.
                if let Err(e) = io::copy(&mut lim, &mut io::sink()) {
                    self.decompress_error(&child, codec, &e);
                }
            }
            self.report_stream(&s, &child, true);
            self.frame_divergence(crossing, None, &child, super::pickle::Loader::Python);
            return;
        }
        if codec == Codec::JoblibZlib {
            // joblib < 0.10 writes two kinds of `ZF` file: the pickle, and the raw bytes of an
            // array a ZNDArrayWrapper in that pickle reads back (data, never unpickled).
            self.mark("joblib-zf-array");
            if let Err(e) = io::copy(&mut lim, &mut io::sink()) {
                self.decompress_error(&child, codec, &e);
            }
            return;
        }
        // Anything else: decompress into a temporary file and scan that.
        let mut tmp = match tempfile::tempfile() {
            Ok(t) => t,
            Err(e) => {
                self.add(
                    &rules::UNREADABLE,
                    member,
                    None,
                    format!("no temporary file for decompression: {e}"),
                );
                return;
            }
        };
        match io::copy(&mut lim, &mut tmp) {
            Ok(n) => {
                // Whatever the content is decides whether this is a model file.
                self.blob(&Blob::whole(tmp, n), &child, &inner, depth + 1);
            }
            Err(e) => self.decompress_error(member, codec, &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_names_drop_the_compression_extension() {
        assert_eq!(inner_name("w.pkl.gz"), "w.pkl");
        assert_eq!(inner_name("pnet.lz4"), "pnet");
        assert_eq!(inner_name("model.joblib"), "model.joblib.decompressed");
    }
}
