//! Property tests for the scanner: it never panics on arbitrary bytes, in any format the
//! dispatcher recognises, and no truncation of a malicious file is ever "clean".

use modelsec::scan::{self, Allowlist, input::Mode, pickle};
use proptest::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

fn policy() -> &'static Allowlist {
    static P: OnceLock<Allowlist> = OnceLock::new();
    P.get_or_init(Allowlist::builtin)
}

/// Malicious samples built from opcodes (each imports and calls a dangerous global).
fn malicious() -> Vec<Vec<u8>> {
    let mut v = vec![
        b"cos\nsystem\n(S'id'\ntR.".to_vec(),
        b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.".to_vec(),
        b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x8c\x031+1\x85R.".to_vec(),
        b"(S'id'\nisubprocess\ncheck_output\n.".to_vec(),
        // FRAME divergence: the call is visible only to the buffered reader
        {
            let p = b"cos\nsystem\n(S'id'\ntR";
            let mut d = b"\x80\x05\x95\x02\x00\x00\x00\x00\x00\x00\x00B".to_vec();
            d.push(1 + p.len() as u8);
            d.extend_from_slice(b"\0\0\0\0");
            d.extend_from_slice(p);
            d.push(b'.');
            d
        },
    ];
    // payload after a benign pickle
    let mut two = b"\x80\x02}q\x00.".to_vec();
    two.extend_from_slice(&v[1]);
    v.push(two);
    v
}

/// A scan of `data` as a pickle stream found something or did not finish.
fn not_clean(data: &[u8]) -> bool {
    for mode in [Mode::Linear, Mode::Buffered] {
        let (s, crossing) = pickle::scan_bytes(policy(), data, mode);
        if crossing.is_some()
            || s.end != pickle::End::Stop
            || s.trailing.is_some()
            || s.outcomes.iter().any(|o| !o.findings.is_empty())
        {
            return true;
        }
    }
    false
}

#[test]
fn every_malicious_sample_is_flagged_whole() {
    for (i, m) in malicious().iter().enumerate() {
        assert!(not_clean(m), "sample {i} scanned clean");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(0x7363_616e_0001), ..ProptestConfig::default() })]

    #[test]
    fn pickle_machine_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for mode in [Mode::Linear, Mode::Buffered] {
            let _ = pickle::scan_bytes(policy(), &data, mode);
        }
    }

    #[test]
    fn pickle_machine_never_panics_on_opcode_soup(ops in proptest::collection::vec(prop::sample::select(b"()]}.NIJKLMFGSTUVXBCcilpqrdghabeostu012\x80\x81\x82\x85\x86\x87\x88\x89\x8a\x8c\x93\x94\x95\x96\x97\x98\n\x02\x00".to_vec()), 0..512)) {
        for mode in [Mode::Linear, Mode::Buffered] {
            let _ = pickle::scan_bytes(policy(), &ops, mode);
        }
    }

    #[test]
    fn no_truncation_of_a_malicious_pickle_is_clean(which in 0usize..6, cut in 1usize..512) {
        let m = &malicious()[which];
        let cut = cut.min(m.len() - 1).max(1);
        prop_assert!(not_clean(&m[..cut]), "sample {} cut at {} is clean", which, cut);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(0x7363_616e_0002), ..ProptestConfig::default() })]

    /// Random bytes behind every magic number and file name the dispatcher knows.
    #[test]
    fn file_scanner_never_panics(
        prefix in prop::sample::select(vec![
            &b""[..], b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY\x01\x00", b"\x1f\x8b", b"BZh9", b"\xfd7zXZ\x00",
            b"GGUF\x03\x00\x00\x00", b"\x89HDF\r\n\x1a\n", b"\x80\x04", b"\x80\x02", b"ZF0x", b"\x08\x07\x12",
            b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":", b"]\x00\x00\x80\x00",
            b"\x04\x22\x4d\x18", b"\x28\xb5\x2f\xfd", b"\x1c\x00\x00\x00TFL3", b"\xba\x16\x4f\x2f\x0c\x00\x00\x00",
            b"lCRF", b"lmgg", b"2 3\n", b"{\"chat_template\": \"{{", b"{% for", b"\x0a\x05", b"\x08\x01\x12",
        ]),
        name in prop::sample::select(vec![
            "m.pkl", "m.pt", "m.zip", "m.npy", "m.safetensors", "m.gguf", "m.onnx", "m.joblib", "m.keras",
            "m.h5", "m.bin", "m.lzma", "data.txt", "saved_model.pb", "m.tflite", "m.mlmodel", "sp.model",
            "lid.ftz", "tokenizer_config.json", "chat_template.jinja", "m.skops", "w.lz4", "variables.index",
        ]),
        body in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        let mut data = prefix.to_vec();
        data.extend_from_slice(&body);
        std::fs::write(&p, &data).unwrap();
        // scan_file turns a reader's panic into a finding; the property is that none happens.
        let r = scan::scan_file(&p, name, dir.path(), policy());
        prop_assert!(
            !r.findings.iter().any(|f| f.message.contains("internal error")),
            "{:?}",
            r.findings
        );
    }
}

#[test]
fn lzma_dictionary_size_is_capped() {
    // An LZMA-alone header asking for a 1 GiB dictionary (an encoder's largest plausible size):
    // liblzma's memory limit refuses it instead of allocating.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.pkl");
    std::fs::write(
        &p,
        b"\x5d\x00\x00\x00\x40\xff\xff\xff\xff\xff\xff\xff\xff\x00\x3f\x91\x45\x84\x68",
    )
    .unwrap();
    let r = scan::scan_file(&p, "m.pkl", dir.path(), policy());
    assert!(
        r.findings
            .iter()
            .any(|f| f.message.contains("memory limit")),
        "{:?}",
        r.findings
    );
    // Found by cargo-fuzz: a dictionary size no encoder writes (0xffffb584) is not LZMA; the
    // bytes are read as the protocol-1 pickle they start like, and fail as one.
    std::fs::write(&p, b"]Q\x84\xb5\xff\xff\xffN\x03\xec\xec\xec\xec\xec\xec]").unwrap();
    let r = scan::scan_file(&p, "m.pkl", dir.path(), policy());
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule_id == "scan/pickle-malformed"),
        "{:?}",
        r.findings
    );
}

#[test]
fn zip_of_random_members_never_panics() {
    // Structured fuzz: valid zip containers around random member bytes.
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x1234_5678u64;
    for i in 0..200 {
        let p = dir.path().join(format!("z{i}.pt"));
        let f = std::fs::File::create(&p).unwrap();
        let mut z = zip_writer(f);
        for m in 0..3 {
            let mut body = Vec::new();
            for _ in 0..(seed % 300) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                body.push(seed as u8);
            }
            if m == 0 {
                body.insert(0, 0x80);
            }
            let name = [
                ["archive/data.pkl", "archive/data/0", "inner.npy"],
                ["m/data.pkl", "m/constants.pkl", "m/code/__torch__/m.py"],
                ["schema.json", "a.npy", "config.json"],
            ][i % 3][m];
            z.start(name);
            z.write_all(&body).unwrap();
        }
        z.finish();
        let r = scan::scan_file(&p, "z.pt", Path::new("."), policy());
        assert!(
            !r.findings
                .iter()
                .any(|f| f.message.contains("internal error")),
            "{:?}",
            r.findings
        );
    }
}

/// A minimal stored-zip writer (no dependency on a zip crate for tests).
struct ZipW<W: std::io::Write> {
    w: W,
    off: u32,
    cd: Vec<u8>,
    n: u16,
    cur: Option<(String, Vec<u8>)>,
}

fn zip_writer<W: std::io::Write>(w: W) -> ZipW<W> {
    ZipW {
        w,
        off: 0,
        cd: Vec::new(),
        n: 0,
        cur: None,
    }
}

impl<W: std::io::Write> ZipW<W> {
    fn start(&mut self, name: &str) {
        self.flush_entry();
        self.cur = Some((name.to_string(), Vec::new()));
    }
    fn flush_entry(&mut self) {
        if let Some((name, data)) = self.cur.take() {
            let crc = crc32(&data);
            let mut lh = b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
            lh.extend_from_slice(&crc.to_le_bytes());
            lh.extend_from_slice(&(data.len() as u32).to_le_bytes());
            lh.extend_from_slice(&(data.len() as u32).to_le_bytes());
            lh.extend_from_slice(&(name.len() as u16).to_le_bytes());
            lh.extend_from_slice(&0u16.to_le_bytes());
            lh.extend_from_slice(name.as_bytes());
            let mut cd = b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
            cd.extend_from_slice(&crc.to_le_bytes());
            cd.extend_from_slice(&(data.len() as u32).to_le_bytes());
            cd.extend_from_slice(&(data.len() as u32).to_le_bytes());
            cd.extend_from_slice(&(name.len() as u16).to_le_bytes());
            cd.extend_from_slice(&[0; 12]);
            cd.extend_from_slice(&self.off.to_le_bytes());
            cd.extend_from_slice(name.as_bytes());
            self.w.write_all(&lh).unwrap();
            self.w.write_all(&data).unwrap();
            self.off += (lh.len() + data.len()) as u32;
            self.cd.extend_from_slice(&cd);
            self.n += 1;
        }
    }
    fn finish(mut self) {
        self.flush_entry();
        let mut e = b"PK\x05\x06\x00\x00\x00\x00".to_vec();
        e.extend_from_slice(&self.n.to_le_bytes());
        e.extend_from_slice(&self.n.to_le_bytes());
        e.extend_from_slice(&(self.cd.len() as u32).to_le_bytes());
        e.extend_from_slice(&self.off.to_le_bytes());
        e.extend_from_slice(&0u16.to_le_bytes());
        self.w.write_all(&self.cd).unwrap();
        self.w.write_all(&e).unwrap();
    }
}

impl<W: std::io::Write> std::io::Write for ZipW<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.cur.as_mut().unwrap().1.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// Regression: a `.npy` whose `'<U…'` itemsize overflows when multiplied by 4 panicked the
/// header reader; `scan` caught the panic, the scan before `fuzz`/`serve` did not. It is now
/// checked arithmetic, and the guard sits inside `scan_file` for every caller.
#[test]
fn huge_unicode_itemsize_is_not_a_crash_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.npy");
    let mut h =
        "{'descr': '<U9223372036854775807', 'fortran_order': False, 'shape': (3,), }".to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(&[0; 32]);
    std::fs::write(&p, &b).unwrap();
    let r = scan::scan_file(&p, "m.npy", dir.path(), policy());
    assert!(r.scanned, "{:?}", r.findings);
    // The scan before running a model sees the same file without panicking.
    let _ = scan::before_running(&p);
}
