//! Sigstore keyless verification, offline: a bundle whose signer is a Fulcio certificate, checked
//! against a Sigstore trusted root (Fulcio chain, SCT, Rekor inclusion proof + checkpoint +
//! signed entry timestamp, RFC 3161 timestamps) by `sigstore-verify`, with the OMS subject
//! digest as the artifact, and the OIDC identity and issuer pinned by the caller.
//!
//! Nothing here touches the network: `sigstore-verify` is built without its TUF client, HTTP
//! client and aws-lc; the cryptography is RustCrypto through [`RustCrypto`] below.
//!
//! The embedded trusted root is the public-good instance's `trusted_root.json` as the
//! `sigstore-trust-root` 0.15.1 crate embeds it (`SIGSTORE_PRODUCTION_TRUSTED_ROOT`), byte-identical
//! to the copy the `sigstore==4.5.1` wheel on PyPI ships at
//! `sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json`
//! (SHA-256 [`EMBEDDED_TRUSTED_ROOT_SHA256`]). To refresh it: bump `sigstore-trust-root` (and
//! `sigstore-verify`), compare the new file with the one the newest `sigstore` wheel ships, and
//! update the digest (a unit test pins it). Until then `--trusted-root FILE` overrides it, e.g.
//! with a root fetched by `cosign trusted-root` / sigstore-python's TUF cache, or a private
//! Sigstore deployment's.

use sigstore_verify::crypto::provider::{CryptoProvider, HashContext};
use sigstore_verify::crypto::{Error as CryptoError, SigningScheme};
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::{Bundle, HashAlgorithm, Sha256Hash};

/// SHA-256 of the embedded public-good trusted root.
pub const EMBEDDED_TRUSTED_ROOT_SHA256: &str =
    "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66";

/// The embedded public-good trusted root (JSON).
pub fn embedded_trusted_root() -> &'static str {
    sigstore_verify::trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT
}

/// The Sigstore staging instance's trusted root (for tests: a bundle from production must not
/// verify with it).
pub fn staging_trusted_root() -> &'static str {
    sigstore_verify::trust_root::SIGSTORE_STAGING_TRUSTED_ROOT
}

/// Whether a trusted root can be used at all (an unusable one is a bad input: exit 2).
pub fn check_trusted_root(json: &str) -> Result<(), String> {
    install_provider();
    let root = TrustedRoot::from_json(json).map_err(|e| e.to_string())?;
    sigstore_verify::Verifier::new(&root).map_err(|e| e.to_string())?;
    Ok(())
}

/// What identity and issuer the signer must have (cosign's four flags).
#[derive(Clone, Debug, Default)]
pub struct IdentityPolicy {
    /// `--certificate-identity`: a SAN equal to this.
    pub identity: Option<String>,
    /// `--certificate-identity-regexp`: a SAN this matches (unanchored, as cosign).
    pub identity_regexp: Option<regex::Regex>,
    /// `--certificate-oidc-issuer`: the OIDC issuer extension equal to this.
    pub issuer: Option<String>,
    /// `--certificate-oidc-issuer-regexp`.
    pub issuer_regexp: Option<regex::Regex>,
}

/// What the keyless check established.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeylessSigner {
    /// The certificate's SAN.
    pub identity: String,
    /// The OIDC issuer claim.
    pub issuer: String,
    /// Rekor integrated time and RFC 3161 times that were verified (RFC 3339).
    pub verified_times: Vec<String>,
    /// Whether the transparency-log inclusion was verified.
    pub tlog: bool,
    /// Whether the SCT was verified.
    pub sct: bool,
}

/// Why keyless verification failed (exit 1), or could not run (exit 2).
#[derive(Debug)]
pub enum KeylessFailure {
    /// The bundle or trusted root cannot be read as Sigstore data.
    Unusable(String),
    /// A trust check failed.
    Failed(String),
    /// Identity or issuer do not match the policy.
    Identity(String),
}

/// Verify `bundle_json` (the whole bundle file) offline against `trusted_root_json`, for the
/// OMS statement whose subject digest is `subject_sha256` (hex).
pub fn verify(
    bundle_json: &str,
    trusted_root_json: &str,
    subject_sha256: &str,
    policy: &IdentityPolicy,
) -> Result<KeylessSigner, KeylessFailure> {
    install_provider();
    let root = TrustedRoot::from_json(trusted_root_json)
        .map_err(|e| KeylessFailure::Unusable(format!("the trusted root is not usable: {e}")))?;
    let bundle = Bundle::from_json(bundle_json).map_err(|e| {
        KeylessFailure::Unusable(format!("the bundle is not a Sigstore bundle: {e}"))
    })?;
    let digest = Sha256Hash::from_hex(subject_sha256).map_err(|e| {
        KeylessFailure::Failed(format!(
            "the statement's subject digest is not SHA-256: {e}"
        ))
    })?;
    let verifier = sigstore_verify::Verifier::new(&root)
        .map_err(|e| KeylessFailure::Unusable(format!("the trusted root is not usable: {e}")))?;
    // Identity and issuer: exact values through the library's policy; regexps are matched below
    // on the verified certificate's claims.
    let mut p = sigstore_verify::VerificationPolicy::any_identity();
    if let Some(id) = &policy.identity {
        p = p.require_identity(id.as_str());
    }
    if let Some(iss) = &policy.issuer {
        p = p.require_issuer(iss.as_str());
    }
    let result = verifier.verify(digest, &bundle, &p).map_err(|e| match e {
        sigstore_verify::Error::IdentityMismatch { .. }
        | sigstore_verify::Error::IssuerMismatch { .. } => KeylessFailure::Identity(e.to_string()),
        other => KeylessFailure::Failed(other.to_string()),
    })?;
    if !result.certificate_verified() || !result.tlog_verified() {
        return Err(KeylessFailure::Failed(
            "the certificate chain or the transparency log entry was not verified".into(),
        ));
    }
    let identity = result
        .identity()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let issuer = result.issuer().unwrap_or_default().to_string();
    if let Some(re) = &policy.identity_regexp
        && !re.is_match(&identity)
    {
        return Err(KeylessFailure::Identity(format!(
            "identity mismatch: `{identity}` does not match the regular expression `{}`",
            re.as_str()
        )));
    }
    if let Some(re) = &policy.issuer_regexp
        && !re.is_match(&issuer)
    {
        return Err(KeylessFailure::Identity(format!(
            "issuer mismatch: `{issuer}` does not match the regular expression `{}`",
            re.as_str()
        )));
    }
    Ok(KeylessSigner {
        identity,
        issuer,
        verified_times: result
            .verified_timestamps()
            .iter()
            .map(|t| t.to_string())
            .collect(),
        tlog: result.tlog_verified(),
        sct: result.sct_verified(),
    })
}

fn install_provider() {
    static PROVIDER: RustCrypto = RustCrypto;
    // Err only when already installed (by an earlier call): nothing to do.
    let _ = sigstore_verify::crypto::provider::install_default_provider(&PROVIDER);
}

/// `sigstore-crypto`'s cryptography, done with RustCrypto (verification only).
#[derive(Debug)]
struct RustCrypto;

struct Hasher<D: sha2::Digest + Send>(D);

impl<D: sha2::Digest + Send> HashContext for Hasher<D> {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn finalize(self: Box<Self>) -> Vec<u8> {
        self.0.finalize().to_vec()
    }
}

fn bad(scheme: SigningScheme) -> CryptoError {
    CryptoError::Verification(format!("{} signature invalid", scheme.name()))
}

fn ec_key(scheme: SigningScheme, point: &[u8]) -> Result<super::VerifyingKey, CryptoError> {
    let key = match scheme {
        SigningScheme::EcdsaP256Sha256 | SigningScheme::EcdsaP256Sha384 => {
            p256::PublicKey::from_sec1_bytes(point).map(super::VerifyingKey::EcdsaP256)
        }
        SigningScheme::EcdsaP384Sha256 | SigningScheme::EcdsaP384Sha384 => {
            p384::PublicKey::from_sec1_bytes(point).map(super::VerifyingKey::EcdsaP384)
        }
        _ => return Err(unsupported(scheme)),
    };
    key.map_err(|_| CryptoError::InvalidKey(format!("not a {} key", scheme.name())))
}

fn unsupported(scheme: SigningScheme) -> CryptoError {
    CryptoError::UnsupportedAlgorithm(format!("{} is not supported by modelsec", scheme.name()))
}

fn ecdsa_hash(scheme: SigningScheme) -> Option<super::keys::EcdsaHash> {
    use super::keys::EcdsaHash;
    match scheme {
        SigningScheme::EcdsaP256Sha256 | SigningScheme::EcdsaP384Sha256 => Some(EcdsaHash::Sha256),
        SigningScheme::EcdsaP256Sha384 | SigningScheme::EcdsaP384Sha384 => Some(EcdsaHash::Sha384),
        _ => None,
    }
}

fn rsa_verify(
    scheme: SigningScheme,
    pkcs1: &[u8],
    msg_or_digest: &[u8],
    signature: &[u8],
    prehashed: bool,
) -> Result<(), CryptoError> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::signature::Verifier;
    use rsa::signature::hazmat::PrehashVerifier;
    use sha2::{Sha256, Sha384, Sha512};
    let key = rsa::RsaPublicKey::from_pkcs1_der(pkcs1)
        .map_err(|e| CryptoError::InvalidKey(format!("RSA: {e}")))?;
    macro_rules! check {
        ($vk:ty, $sig:ty) => {{
            let vk = <$vk>::new(key);
            let sig = <$sig>::try_from(signature).map_err(|_| bad(scheme))?;
            if prehashed {
                vk.verify_prehash(msg_or_digest, &sig)
            } else {
                vk.verify(msg_or_digest, &sig)
            }
            .map_err(|_| bad(scheme))
        }};
    }
    use rsa::pkcs1v15::{Signature as P1, VerifyingKey as P1Key};
    use rsa::pss::{Signature as Pss, VerifyingKey as PssKey};
    match scheme {
        SigningScheme::RsaPkcs1Sha256 => check!(P1Key<Sha256>, P1),
        SigningScheme::RsaPkcs1Sha384 => check!(P1Key<Sha384>, P1),
        SigningScheme::RsaPkcs1Sha512 => check!(P1Key<Sha512>, P1),
        SigningScheme::RsaPssSha256 => check!(PssKey<Sha256>, Pss),
        SigningScheme::RsaPssSha384 => check!(PssKey<Sha384>, Pss),
        SigningScheme::RsaPssSha512 => check!(PssKey<Sha512>, Pss),
        _ => Err(unsupported(scheme)),
    }
}

impl CryptoProvider for RustCrypto {
    fn hash(
        &self,
        algorithm: HashAlgorithm,
    ) -> sigstore_verify::crypto::Result<Box<dyn HashContext>> {
        Ok(match algorithm {
            HashAlgorithm::Sha2256 => Box::new(Hasher(sha2::Sha256::default())),
            HashAlgorithm::Sha2384 => Box::new(Hasher(sha2::Sha384::default())),
            HashAlgorithm::Sha2512 => Box::new(Hasher(sha2::Sha512::default())),
            #[allow(unreachable_patterns)]
            other => {
                return Err(CryptoError::UnsupportedAlgorithm(format!("{other:?}")));
            }
        })
    }

    fn verify_raw(
        &self,
        scheme: SigningScheme,
        spki_pubkey_bytes: &[u8],
        data: &[u8],
        signature: &[u8],
    ) -> sigstore_verify::crypto::Result<()> {
        if let Some(h) = ecdsa_hash(scheme) {
            let key = ec_key(scheme, spki_pubkey_bytes)?;
            return if key.verify_ecdsa(data, signature, h) {
                Ok(())
            } else {
                Err(bad(scheme))
            };
        }
        match scheme {
            SigningScheme::Ed25519 => {
                let key: [u8; 32] = spki_pubkey_bytes
                    .try_into()
                    .map_err(|_| CryptoError::InvalidKey("Ed25519 key is not 32 bytes".into()))?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&key)
                    .map_err(|e| CryptoError::InvalidKey(e.to_string()))?;
                let sig =
                    ed25519_dalek::Signature::from_slice(signature).map_err(|_| bad(scheme))?;
                key.verify_strict(data, &sig).map_err(|_| bad(scheme))
            }
            _ => rsa_verify(scheme, spki_pubkey_bytes, data, signature, false),
        }
    }

    fn verify_prehashed(
        &self,
        scheme: SigningScheme,
        spki_pubkey_bytes: &[u8],
        digest: &[u8],
        signature: &[u8],
    ) -> sigstore_verify::crypto::Result<()> {
        if ecdsa_hash(scheme).is_some() {
            use ecdsa::signature::hazmat::PrehashVerifier;
            let ok = match ec_key(scheme, spki_pubkey_bytes)? {
                super::VerifyingKey::EcdsaP256(k) => p256::ecdsa::Signature::from_der(signature)
                    .is_ok_and(|s| {
                        p256::ecdsa::VerifyingKey::from(k)
                            .verify_prehash(digest, &s)
                            .is_ok()
                    }),
                super::VerifyingKey::EcdsaP384(k) => p384::ecdsa::Signature::from_der(signature)
                    .is_ok_and(|s| {
                        p384::ecdsa::VerifyingKey::from(k)
                            .verify_prehash(digest, &s)
                            .is_ok()
                    }),
                _ => false,
            };
            return if ok { Ok(()) } else { Err(bad(scheme)) };
        }
        rsa_verify(scheme, spki_pubkey_bytes, digest, signature, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    /// The embedded root is the one the note above names; a crate bump that changes it must
    /// update the note (where it came from) and this digest.
    #[test]
    fn embedded_trusted_root_is_the_pinned_one() {
        assert_eq!(
            hex::encode(sha2::Sha256::digest(embedded_trusted_root().as_bytes())),
            EMBEDDED_TRUSTED_ROOT_SHA256
        );
        assert!(TrustedRoot::from_json(embedded_trusted_root()).is_ok());
    }
}
