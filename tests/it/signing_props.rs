//! Property tests: any single byte flip in a signed model or in its bundle fails verification.

use modelsec::signing::{self, Algorithm, ManifestOptions, NoProgress, SigningKey, VerifyOptions};
use proptest::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

struct Fixture {
    _dir: tempfile::TempDir,
    model: std::path::PathBuf,
    bundle: Vec<u8>,
    key: signing::VerifyingKey,
    files: Vec<(std::path::PathBuf, u64)>,
}

/// One signed model, shared by all cases (cases copy what they mutate).
fn fixture(alg: Algorithm) -> &'static Fixture {
    static ED: OnceLock<Fixture> = OnceLock::new();
    static P256: OnceLock<Fixture> = OnceLock::new();
    let cell = if alg == Algorithm::Ed25519 {
        &ED
    } else {
        &P256
    };
    cell.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m");
        crate::common::make_model(&model);
        let sk = SigningKey::generate(alg);
        let signed = signing::sign(&model, &ManifestOptions::default(), &sk, &NoProgress).unwrap();
        let files = signed
            .manifest
            .files
            .iter()
            .filter(|f| f.size > 0)
            .map(|f| (Path::new(&f.name).to_path_buf(), f.size))
            .collect();
        Fixture {
            _dir: dir,
            model,
            bundle: signed.bundle,
            key: sk.verifying_key(),
            files,
        }
    })
}

/// Whether verification passes (exit 0) for `model` with `bundle` bytes.
fn passes(model: &Path, bundle: &[u8], key: &signing::VerifyingKey) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let sig = dir.path().join("b.sig");
    std::fs::write(&sig, bundle).unwrap();
    let opts = VerifyOptions {
        model: model.to_path_buf(),
        signatures: vec![sig],
        ignore: vec![],
        require_scan: false,
        ignore_unsigned_files: false,
        trust: signing::Trust::Keys(vec![key.clone()]),
        threshold: None,
        scan_policy: None,
    };
    match signing::verify(&opts, &NoProgress) {
        Ok(report) => !report.failed(),
        Err(_) => false,
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        let dst = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

#[test]
fn untouched_fixture_passes() {
    for alg in [Algorithm::Ed25519, Algorithm::EcdsaP256] {
        let f = fixture(alg);
        assert!(passes(&f.model, &f.bundle, &f.key));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(0x6d6f_6465_6c73_6563), ..ProptestConfig::default() })]

    /// Any single byte flip in the bundle that changes what the bundle says fails verification.
    /// (A flip that turns JSON whitespace into other whitespace changes nothing and is skipped.)
    #[test]
    fn bundle_byte_flip_fails(p256 in any::<bool>(), pos in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let f = fixture(if p256 { Algorithm::EcdsaP256 } else { Algorithm::Ed25519 });
        let mut b = f.bundle.clone();
        let i = pos.index(b.len());
        b[i] ^= mask;
        let before: serde_json::Value = serde_json::from_slice(&f.bundle).unwrap();
        let same_meaning = serde_json::from_slice::<serde_json::Value>(&b).is_ok_and(|v| v == before);
        prop_assume!(!same_meaning);
        prop_assert!(!passes(&f.model, &b, &f.key), "flip at {} with {:#04x} still verifies", i, mask);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(0x6d6f_6465_6c73_6564), ..ProptestConfig::default() })]

    /// Any single byte flip in any file of the model fails verification.
    #[test]
    fn model_byte_flip_fails(file in any::<prop::sample::Index>(), pos in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let f = fixture(Algorithm::Ed25519);
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m");
        copy_tree(&f.model, &model);
        let (rel, size) = &f.files[file.index(f.files.len())];
        let p = model.join(rel);
        let mut data = std::fs::read(&p).unwrap();
        let i = pos.index(*size as usize);
        data[i] ^= mask;
        std::fs::write(&p, data).unwrap();
        prop_assert!(!passes(&model, &f.bundle, &f.key), "flip in {} at {} still verifies", rel.display(), i);
    }
}
