//! Who signed a bundle, and whether the verifier trusts them. Three modes, each with explicit
//! trust inputs (nothing is trusted by default, and nothing is fetched):
//! - key mode: one or more trusted public keys;
//! - certificate mode: X.509 trust anchors (+ an optional pinned identity);
//! - Sigstore keyless: a Sigstore trusted root (embedded public-good, or given) + the signer's
//!   OIDC identity and issuer.

use super::bundle::{self, Material, ParsedBundle};
use super::keys::{EcdsaHash, VerifyingKey};
use super::{keyless, rules, x509};
use crate::report::{Finding, Report};
use std::time::SystemTime;

/// What the verifier trusts.
#[derive(Clone, Debug)]
pub enum Trust {
    /// Key mode: any of these keys.
    Keys(Vec<VerifyingKey>),
    /// Certificate mode.
    Certificates(CertificateTrust),
    /// Sigstore keyless.
    Keyless(KeylessTrust),
}

/// Certificate-mode trust inputs.
#[derive(Clone, Debug)]
pub struct CertificateTrust {
    /// Trust anchors (`--certificate-chain`).
    pub roots: Vec<x509::Cert>,
    /// A SAN the signing certificate must carry.
    pub identity: Option<String>,
    /// A regular expression one of its SANs must match (unanchored, as cosign).
    pub identity_regexp: Option<regex::Regex>,
    /// When the chain must be valid (now: the bundle carries no trusted time).
    pub at: SystemTime,
}

/// Keyless trust inputs.
#[derive(Clone, Debug)]
pub struct KeylessTrust {
    /// The trusted root JSON.
    pub trusted_root: String,
    /// Where it came from (`embedded public-good`, or the file).
    pub source: String,
    /// Identity and issuer.
    pub policy: keyless::IdentityPolicy,
}

impl Trust {
    fn flag_hint(&self) -> &'static str {
        match self {
            Trust::Keys(_) => "--key",
            Trust::Certificates(_) => "--certificate-chain",
            Trust::Keyless(_) => "--certificate-identity/--certificate-oidc-issuer",
        }
    }
}

fn mode_flags(m: &Material) -> &'static str {
    match m {
        Material::PublicKey { .. } => "--key PUBLIC_KEY",
        Material::Chain(_) => "--certificate-chain ROOTS.pem [--certificate-identity SAN]",
        Material::Certificate(_) => {
            "--certificate-identity SAN --certificate-oidc-issuer URL [--trusted-root FILE]"
        }
    }
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(16)]
}

/// A signer that verified: `id` tells signers apart (threshold), `describe` is for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerId {
    /// Stable identity of the signing key or certificate subject.
    pub id: String,
    /// In words.
    pub describe: String,
}

/// Which pre-authentication encoding a signature was made over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pae {
    Standard,
    /// model_signing 0.1/0.2's (see [`bundle::pae_compat`]).
    Compat,
}

/// Whether one of the envelope's signatures verifies with `key`: the standard DSSE PAE with the
/// key's hash, then (`legacy` bundles only) model_signing 0.1/0.2's PAE with SHA-256 (what that
/// release signed with every curve) or the curve's hash.
fn dsse_verifies(b: &ParsedBundle, key: &VerifyingKey, legacy: bool) -> Option<Pae> {
    let sigs: Vec<&[u8]> = b
        .signatures
        .iter()
        .filter_map(|s| s.sig.as_deref().ok())
        .collect();
    let std = bundle::pae(&b.payload_type, &b.payload);
    if sigs.iter().any(|s| key.verify(&std, s)) {
        return Some(Pae::Standard);
    }
    if legacy && key.algorithm().ecdsa_hash().is_some() {
        let compat = bundle::pae_compat(&b.payload_type, &b.payload);
        if sigs
            .iter()
            .any(|s| key.verify_ecdsa(&compat, s, EcdsaHash::Sha256) || key.verify(&compat, s))
        {
            return Some(Pae::Compat);
        }
    }
    None
}

fn envelope_findings(report: &mut Report, b: &ParsedBundle) -> bool {
    if b.media_type != bundle::BUNDLE_MEDIA_TYPE {
        report.push(Finding::new(
            &rules::MEDIA_TYPE,
            format!(
                "mediaType is `{}`, expected `{}`",
                b.media_type,
                bundle::BUNDLE_MEDIA_TYPE
            ),
        ));
    }
    if b.payload_type != bundle::PAYLOAD_TYPE {
        report.push(Finding::new(
            &rules::PAYLOAD_TYPE,
            format!(
                "payloadType is `{}`, expected `{}`",
                b.payload_type,
                bundle::PAYLOAD_TYPE
            ),
        ));
    }
    if b.signatures.is_empty() {
        report.push(Finding::new(
            &rules::NO_SIGNATURE,
            "dsseEnvelope.signatures is empty",
        ));
        return false;
    }
    true
}

fn signature_invalid(report: &mut Report, b: &ParsedBundle, by: &str) {
    let mut why = format!(
        "none of the {} signature(s) verifies with {by}",
        b.signatures.len()
    );
    for (i, s) in b.signatures.iter().enumerate() {
        if let Err(e) = &s.sig {
            why.push_str(&format!("; signatures[{i}].sig is {e}"));
        }
    }
    report.push(Finding::new(&rules::SIGNATURE_INVALID, why));
    report.fact("signature", "INVALID");
}

/// Check who signed `b` against `trust`; findings for every failure. `bundle_json` is the whole
/// file (keyless verification reads it again as a Sigstore bundle); `subject_sha256` the OMS
/// subject digest recomputed from the signed resources. `Some` when the signer is trusted and
/// the signature verifies.
pub(crate) fn check_signer(
    report: &mut Report,
    b: &ParsedBundle,
    bundle_json: &[u8],
    subject_sha256: &str,
    trust: &Trust,
) -> Result<Option<SignerId>, bundle::BundleError> {
    if !envelope_findings(report, b) {
        return Ok(None);
    }
    Ok(match (trust, &b.material) {
        (Trust::Keys(keys), Material::PublicKey { .. }) => key_mode(report, b, keys),
        (Trust::Certificates(ct), Material::Chain(chain)) => {
            certificate_mode(report, b, chain, ct)?
        }
        (Trust::Keyless(kt), Material::Certificate(_) | Material::Chain(_))
            if b.tlog_entries > 0 || matches!(b.material, Material::Certificate(_)) =>
        {
            keyless_mode(report, bundle_json, subject_sha256, kt)?
        }
        (trust, material) => {
            report.push(Finding::new(
                &rules::MATERIAL_MISMATCH,
                format!(
                    "the bundle is signed with {}, but {} was given; verify it with {}",
                    material.describe(),
                    trust.flag_hint(),
                    mode_flags(material)
                ),
            ));
            None
        }
    })
}

fn key_mode(report: &mut Report, b: &ParsedBundle, keys: &[VerifyingKey]) -> Option<SignerId> {
    let Material::PublicKey {
        hint,
        raw,
        key_details,
    } = &b.material
    else {
        return None;
    };
    let hinted: Vec<(&VerifyingKey, String)> = keys
        .iter()
        .filter_map(|k| k.hint().ok().map(|h| (k, h)))
        .collect();
    let candidates: Vec<&(&VerifyingKey, String)> = match (hint, raw) {
        (Some(h), _) => hinted.iter().filter(|(_, kh)| kh == h).collect(),
        (None, Some(raw)) => {
            let carried = std::str::from_utf8(raw)
                .ok()
                .filter(|t| t.contains("-----BEGIN"))
                .map(VerifyingKey::from_pem)
                .unwrap_or_else(|| VerifyingKey::from_spki_der(raw));
            match carried {
                Ok(c) => hinted.iter().filter(|(k, _)| **k == c).collect(),
                // Unreadable: it names nothing; try every trusted key.
                Err(_) => hinted.iter().collect(),
            }
        }
        (None, None) => hinted.iter().collect(),
    };
    let legacy = hint.is_none();
    if legacy {
        report.push(Finding::new(
            &rules::LEGACY_KEY_REFERENCE,
            format!(
                "the bundle names its key the way model_signing before 1.1 did (publicKey.rawBytes{}); the key it carries is only compared with the trusted keys, never trusted itself",
                key_details
                    .as_deref()
                    .map(|d| format!(", keyDetails {d}"))
                    .unwrap_or_default()
            ),
        ));
    }
    if candidates.is_empty() {
        let given: Vec<String> = hinted
            .iter()
            .map(|(k, h)| format!("{} {}…", k.algorithm(), short(h)))
            .collect();
        report.push(Finding::new(
            &rules::WRONG_KEY,
            match hint {
                Some(h) => format!(
                    "the bundle was signed by the key with hint {}…, which is none of the {} trusted key(s) given ({})",
                    short(h),
                    keys.len(),
                    given.join(", ")
                ),
                None => format!(
                    "the bundle carries a public key that is none of the {} trusted key(s) given ({})",
                    keys.len(),
                    given.join(", ")
                ),
            },
        ));
        // Say also whether any trusted key made the signature (the hint may have been edited).
        if !hinted
            .iter()
            .any(|(k, _)| dsse_verifies(b, k, legacy).is_some())
        {
            signature_invalid(
                report,
                b,
                &format!("any of the {} trusted key(s)", keys.len()),
            );
        }
        report.fact("signature", "INVALID");
        return None;
    }
    for (key, h) in &candidates {
        if let Some(pae) = dsse_verifies(b, key, legacy) {
            report.fact("key", format!("{} {h}", key.algorithm()));
            report.fact(
                "signature",
                match pae {
                    Pae::Standard => format!("valid ({})", key.algorithm()),
                    Pae::Compat => format!(
                        "valid ({}, model_signing 0.1/0.2 encoding: `DSSEV1` over the payload's Python repr)",
                        key.algorithm()
                    ),
                },
            );
            return Some(SignerId {
                id: format!("key:{h}"),
                describe: format!("{} key {}…", key.algorithm(), short(h)),
            });
        }
    }
    let names: Vec<String> = candidates
        .iter()
        .map(|(k, h)| format!("{} key {}…", k.algorithm(), short(h)))
        .collect();
    signature_invalid(report, b, &names.join(" or "));
    None
}

fn certificate_mode(
    report: &mut Report,
    b: &ParsedBundle,
    chain: &[Vec<u8>],
    ct: &CertificateTrust,
) -> Result<Option<SignerId>, bundle::BundleError> {
    let mut certs = Vec::with_capacity(chain.len());
    for (i, der) in chain.iter().enumerate() {
        certs.push(
            x509::Cert::from_der(
                der,
                &format!("verificationMaterial.x509CertificateChain.certificates[{i}]"),
            )
            .map_err(|e| bundle::BundleError::Malformed(e.to_string()))?,
        );
    }
    Ok(certificate_checks(report, b, &certs, ct))
}

fn certificate_checks(
    report: &mut Report,
    b: &ParsedBundle,
    certs: &[x509::Cert],
    ct: &CertificateTrust,
) -> Option<SignerId> {
    let leaf = &certs[0];
    report.fact("certificate", leaf_facts(leaf));
    let verified = match x509::verify_chain(certs, &ct.roots, ct.at) {
        Ok(v) => v,
        Err(f) => {
            let rule = match f {
                x509::ChainFailure::Untrusted(_) => &rules::CERT_UNTRUSTED,
                x509::ChainFailure::Expired(_) => &rules::CERT_EXPIRED,
                x509::ChainFailure::Usage(_) => &rules::CERT_USAGE,
            };
            report.push(Finding::new(rule, f.message()));
            return None;
        }
    };
    report.fact(
        "chain",
        verified
            .path
            .iter()
            .map(|c| c.subject.clone())
            .collect::<Vec<_>>(),
    );
    for n in &verified.notes {
        report.push(Finding::new(&rules::LEAF_IS_CA, n.clone()));
    }
    let pinned = ct.identity.is_some() || ct.identity_regexp.is_some();
    if pinned
        && !x509::identity_matches(
            &leaf.sans,
            ct.identity.as_deref(),
            ct.identity_regexp.as_ref(),
        )
    {
        let wanted = match (&ct.identity, &ct.identity_regexp) {
            (Some(i), _) => format!("`{i}`"),
            (None, Some(r)) => format!("one matching `{}`", r.as_str()),
            _ => String::new(),
        };
        report.push(Finding::new(
            &rules::IDENTITY_MISMATCH,
            format!(
                "the signing certificate's identity is {}, not {wanted}",
                leaf.identity()
            ),
        ));
        return None;
    }
    if !pinned {
        report.push(Finding::new(
            &rules::IDENTITY_NOT_PINNED,
            format!(
                "any certificate the trust anchors issued is accepted (this one: {}); pin the signer with --certificate-identity or --certificate-identity-regexp",
                leaf.identity()
            ),
        ));
    }
    let key = match leaf.public_key() {
        Ok(k) => k,
        Err(e) => {
            report.push(Finding::new(
                &rules::CERT_USAGE,
                format!("the signing certificate's key cannot be used: {e}"),
            ));
            return None;
        }
    };
    // model_signing's certificate verifier accepts 0.2.0's encoding too (with SHA-256).
    match dsse_verifies(b, &key, true) {
        Some(pae) => {
            report.fact(
                "signature",
                format!(
                    "valid ({}{})",
                    key.algorithm(),
                    if pae == Pae::Compat {
                        ", model_signing 0.1/0.2 encoding"
                    } else {
                        ""
                    }
                ),
            );
            Some(SignerId {
                id: format!("certificate:{}", leaf.fingerprint),
                describe: format!("certificate {}", leaf.identity()),
            })
        }
        None => {
            signature_invalid(
                report,
                b,
                &format!("the signing certificate's {} key", key.algorithm()),
            );
            None
        }
    }
}

fn leaf_facts(leaf: &x509::Cert) -> serde_json::Value {
    serde_json::json!({
        "subject": leaf.subject,
        "issuer": leaf.issuer,
        "san": leaf.sans,
        "sha256": leaf.fingerprint,
    })
}

fn keyless_mode(
    report: &mut Report,
    bundle_json: &[u8],
    subject_sha256: &str,
    kt: &KeylessTrust,
) -> Result<Option<SignerId>, bundle::BundleError> {
    report.fact("trusted root", kt.source.clone());
    let json = String::from_utf8_lossy(bundle_json);
    Ok(
        match keyless::verify(&json, &kt.trusted_root, subject_sha256, &kt.policy) {
            Ok(s) => {
                report.fact(
                    "signature",
                    format!(
                        "valid (Sigstore keyless: Fulcio chain, SCT {}, transparency log {})",
                        if s.sct { "verified" } else { "absent" },
                        if s.tlog { "verified" } else { "absent" }
                    ),
                );
                let id = format!("keyless:{}|{}", s.issuer, s.identity);
                let describe = format!("{} (issuer {})", s.identity, s.issuer);
                report.fact(
                    "signer",
                    serde_json::to_value(&s).unwrap_or(serde_json::Value::Null),
                );
                Some(SignerId { id, describe })
            }
            Err(keyless::KeylessFailure::Identity(m)) => {
                report.push(Finding::new(&rules::IDENTITY_MISMATCH, m));
                None
            }
            Err(keyless::KeylessFailure::Failed(m)) => {
                report.push(Finding::new(&rules::KEYLESS_INVALID, m));
                report.fact("signature", "INVALID");
                None
            }
            Err(keyless::KeylessFailure::Unusable(m)) => {
                return Err(bundle::BundleError::Malformed(m));
            }
        },
    )
}
