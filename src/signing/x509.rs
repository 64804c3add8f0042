//! Certificate mode: the signing certificate of an OMS `x509CertificateChain` bundle must chain,
//! through the bundle's intermediates, to a self-signed root the verifier trusts, and be fit to
//! sign models.
//!
//! The policy (RFC 5280 path validation, restricted to what OMS chains need):
//! - the path is built by issuer name and checked by signature, from the leaf up to a
//!   **self-signed** certificate of the trust anchors (as OpenSSL does without partial chains:
//!   an intermediate in the roots file is trusted as a link, never as the end of the path);
//! - every certificate of the path is valid at the verification time (the bundle carries no
//!   trusted timestamp, so that is now: an expired leaf fails, unlike in model_signing, which
//!   checks at the leaf's own notBefore);
//! - every issuer is a CA (`basicConstraints CA:TRUE`, path length respected, `keyCertSign` when
//!   it has a key usage, and `codeSigning` or any-EKU when it restricts extended key usage);
//! - the leaf may sign: key usage, when present, has `digitalSignature`; extended key usage,
//!   when present, has `codeSigning`; at least one of the two is present;
//! - unknown critical extensions and name constraints fail closed.
//!
//! A leaf marked `CA:TRUE` is the one deliberate leniency: model_signing's own test PKI (every
//! real certificate-mode vector upstream publishes) has one, with `digitalSignature` and without
//! `keyCertSign`, so by RFC 5280 §4.2.1.3 its key cannot sign certificates and it cannot act as a
//! CA. Such a leaf is accepted and reported; a `CA:TRUE` leaf whose key may sign certificates
//! (`keyCertSign`, or no key usage at all) is refused: a CA key must not sign models.

use super::keys::{EcdsaHash, VerifyingKey};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName, name::GeneralName,
};

const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_EXT_KEY_USAGE: &str = "2.5.29.37";
const OID_SAN: &str = "2.5.29.17";
const OID_NAME_CONSTRAINTS: &str = "2.5.29.30";
const OID_SKI: &str = "2.5.29.14";
const OID_AKI: &str = "2.5.29.35";
const OID_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
const OID_ANY_EKU: &str = "2.5.29.37.0";
/// Longest path tried (leaf to root).
const MAX_DEPTH: usize = 8;
/// Signature checks allowed while building a path (a hostile bundle of look-alike names must
/// not make path building exponential).
const MAX_SIGNATURE_CHECKS: usize = 64;

/// A certificate that could not be parsed (the input is unusable: exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{what} is not a valid X.509 certificate: {why}")]
pub struct CertParseError {
    /// Which certificate.
    pub what: String,
    /// Why.
    pub why: String,
}

/// One subject alternative name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum San {
    /// rfc822Name.
    Email(String),
    /// uniformResourceIdentifier.
    Uri(String),
    /// dNSName.
    Dns(String),
}

impl San {
    /// The value, whatever the kind.
    pub fn value(&self) -> &str {
        match self {
            San::Email(v) | San::Uri(v) | San::Dns(v) => v,
        }
    }
}

/// A parsed certificate with what the policy reads from it.
#[derive(Clone, Debug)]
pub struct Cert {
    /// The DER bytes.
    pub der: Vec<u8>,
    cert: Certificate,
    /// Subject (RFC 4514).
    pub subject: String,
    /// Issuer (RFC 4514).
    pub issuer: String,
    /// Subject alternative names.
    pub sans: Vec<San>,
    /// Hex SHA-256 of the DER.
    pub fingerprint: String,
    /// Validity start.
    pub not_before: SystemTime,
    /// Validity end.
    pub not_after: SystemTime,
    basic: Option<BasicConstraints>,
    key_usage: Option<KeyUsage>,
    ext_key_usage: Option<Vec<String>>,
    unknown_critical: Vec<String>,
    name_constraints: bool,
}

fn ext_err(what: &str, oid: &str, e: der::Error) -> CertParseError {
    CertParseError {
        what: what.to_string(),
        why: format!("extension {oid}: {e}"),
    }
}

impl Cert {
    /// Parse DER; `what` names the certificate in errors.
    pub fn from_der(der: &[u8], what: &str) -> Result<Self, CertParseError> {
        let cert = Certificate::from_der(der).map_err(|e| CertParseError {
            what: what.to_string(),
            why: e.to_string(),
        })?;
        let tbs = &cert.tbs_certificate;
        let mut c = Cert {
            der: der.to_vec(),
            subject: tbs.subject.to_string(),
            issuer: tbs.issuer.to_string(),
            sans: Vec::new(),
            fingerprint: hex::encode(Sha256::digest(der)),
            not_before: tbs.validity.not_before.to_system_time(),
            not_after: tbs.validity.not_after.to_system_time(),
            basic: None,
            key_usage: None,
            ext_key_usage: None,
            unknown_critical: Vec::new(),
            name_constraints: false,
            cert: cert.clone(),
        };
        for ext in tbs.extensions.iter().flatten() {
            let oid = ext.extn_id.to_string();
            let value = ext.extn_value.as_bytes();
            match oid.as_str() {
                OID_BASIC_CONSTRAINTS => {
                    c.basic = Some(
                        BasicConstraints::from_der(value).map_err(|e| ext_err(what, &oid, e))?,
                    );
                }
                OID_KEY_USAGE => {
                    c.key_usage =
                        Some(KeyUsage::from_der(value).map_err(|e| ext_err(what, &oid, e))?);
                }
                OID_EXT_KEY_USAGE => {
                    let eku =
                        ExtendedKeyUsage::from_der(value).map_err(|e| ext_err(what, &oid, e))?;
                    c.ext_key_usage = Some(eku.0.iter().map(|o| o.to_string()).collect());
                }
                OID_SAN => {
                    let san =
                        SubjectAltName::from_der(value).map_err(|e| ext_err(what, &oid, e))?;
                    for n in san.0 {
                        match n {
                            GeneralName::Rfc822Name(v) => c.sans.push(San::Email(v.to_string())),
                            GeneralName::UniformResourceIdentifier(v) => {
                                c.sans.push(San::Uri(v.to_string()))
                            }
                            GeneralName::DnsName(v) => c.sans.push(San::Dns(v.to_string())),
                            _ => {}
                        }
                    }
                }
                OID_NAME_CONSTRAINTS => c.name_constraints = true,
                OID_SKI | OID_AKI => {}
                _ if ext.critical => c.unknown_critical.push(oid),
                _ => {}
            }
        }
        Ok(c)
    }

    /// Parse every certificate of a PEM text (`what` names the file in errors).
    pub fn all_from_pem(text: &str, what: &str) -> Result<Vec<Self>, CertParseError> {
        let ders = Certificate::load_pem_chain(text.as_bytes()).map_err(|e| CertParseError {
            what: what.to_string(),
            why: format!("not a PEM list of certificates: {e}"),
        })?;
        if ders.is_empty() {
            return Err(CertParseError {
                what: what.to_string(),
                why: "no `-----BEGIN CERTIFICATE-----` block".into(),
            });
        }
        ders.iter()
            .enumerate()
            .map(|(i, c)| {
                let der = c.to_der().map_err(|e| CertParseError {
                    what: what.to_string(),
                    why: e.to_string(),
                })?;
                Cert::from_der(&der, &format!("{what} (certificate {})", i + 1))
            })
            .collect()
    }

    /// The subject public key.
    pub fn public_key(&self) -> Result<VerifyingKey, super::KeyError> {
        let spki = self
            .cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| super::KeyError::Malformed(e.to_string()))?;
        VerifyingKey::from_spki_der(&spki)
    }

    /// Whether `basicConstraints` says CA.
    pub fn is_ca(&self) -> bool {
        self.basic.as_ref().is_some_and(|b| b.ca)
    }

    fn self_issued(&self) -> bool {
        self.cert.tbs_certificate.subject == self.cert.tbs_certificate.issuer
    }

    fn issued_by_name(&self, issuer: &Cert) -> bool {
        self.cert.tbs_certificate.issuer == issuer.cert.tbs_certificate.subject
    }

    /// The identity in words: SANs, else the subject.
    pub fn identity(&self) -> String {
        if self.sans.is_empty() {
            format!("subject `{}` (no SAN)", self.subject)
        } else {
            self.sans
                .iter()
                .map(San::value)
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// Verify `cert`'s signature with `issuer`'s key.
fn signed_by(cert: &Cert, issuer: &Cert) -> Result<(), String> {
    let tbs = cert
        .cert
        .tbs_certificate
        .to_der()
        .map_err(|e| e.to_string())?;
    let sig = cert
        .cert
        .signature
        .as_bytes()
        .ok_or("the signature has unused bits")?;
    let alg = cert.cert.signature_algorithm.oid.to_string();
    let spki = &issuer.cert.tbs_certificate.subject_public_key_info;
    let ok = match alg.as_str() {
        "1.2.840.10045.4.3.2" | "1.2.840.10045.4.3.3" | "1.2.840.10045.4.3.4" => {
            let hash = match alg.as_str() {
                "1.2.840.10045.4.3.2" => EcdsaHash::Sha256,
                "1.2.840.10045.4.3.3" => EcdsaHash::Sha384,
                _ => EcdsaHash::Sha512,
            };
            let key = VerifyingKey::from_spki_der(&spki.to_der().map_err(|e| e.to_string())?)
                .map_err(|e| format!("the issuer's key: {e}"))?;
            key.verify_ecdsa(&tbs, sig, hash)
        }
        "1.3.101.112" => {
            let key = VerifyingKey::from_spki_der(&spki.to_der().map_err(|e| e.to_string())?)
                .map_err(|e| format!("the issuer's key: {e}"))?;
            matches!(key, VerifyingKey::Ed25519(_)) && key.verify(&tbs, sig)
        }
        "1.2.840.113549.1.1.11" | "1.2.840.113549.1.1.12" | "1.2.840.113549.1.1.13" => {
            use rsa::pkcs1v15::{Signature, VerifyingKey as RsaKey};
            use rsa::pkcs8::DecodePublicKey;
            use rsa::signature::Verifier;
            let der = spki.to_der().map_err(|e| e.to_string())?;
            let key = rsa::RsaPublicKey::from_public_key_der(&der)
                .map_err(|e| format!("the issuer's key is not an RSA key: {e}"))?;
            if key_bits(&key) < 2048 {
                return Err("the issuer's RSA key is shorter than 2048 bits".into());
            }
            let sig = Signature::try_from(sig).map_err(|e| e.to_string())?;
            match alg.as_str() {
                "1.2.840.113549.1.1.11" => RsaKey::<sha2::Sha256>::new(key).verify(&tbs, &sig),
                "1.2.840.113549.1.1.12" => RsaKey::<sha2::Sha384>::new(key).verify(&tbs, &sig),
                _ => RsaKey::<sha2::Sha512>::new(key).verify(&tbs, &sig),
            }
            .is_ok()
        }
        other => return Err(format!("unsupported signature algorithm {other}")),
    };
    if ok {
        Ok(())
    } else {
        Err("the signature does not verify".into())
    }
}

fn key_bits(k: &rsa::RsaPublicKey) -> usize {
    use rsa::traits::PublicKeyParts;
    k.n().bits()
}

/// Why a chain is not trusted (verification failed: exit 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainFailure {
    /// No path to a trusted root.
    Untrusted(String),
    /// A certificate of the path is outside its validity period.
    Expired(String),
    /// The leaf may not sign models, or an issuer may not issue.
    Usage(String),
}

impl ChainFailure {
    /// The message.
    pub fn message(&self) -> &str {
        match self {
            ChainFailure::Untrusted(m) | ChainFailure::Expired(m) | ChainFailure::Usage(m) => m,
        }
    }
}

/// A chain that verified.
#[derive(Clone, Debug)]
pub struct VerifiedChain {
    /// Leaf, intermediates, root.
    pub path: Vec<Cert>,
    /// Accepted oddities worth telling the user (a `CA:TRUE` leaf).
    pub notes: Vec<String>,
}

fn fmt_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    jiff::Timestamp::from_second(secs as i64).map_or_else(|_| format!("{secs}s"), |t| t.to_string())
}

/// Check the leaf may sign models (OMS: digitalSignature / codeSigning).
fn leaf_usage(leaf: &Cert, notes: &mut Vec<String>) -> Result<(), ChainFailure> {
    if leaf.key_usage.is_none() && leaf.ext_key_usage.is_none() {
        return Err(ChainFailure::Usage(format!(
            "the signing certificate `{}` has neither key usage nor extended key usage; OMS needs digitalSignature and/or codeSigning",
            leaf.subject
        )));
    }
    if let Some(ku) = &leaf.key_usage
        && !ku.0.contains(KeyUsages::DigitalSignature)
    {
        return Err(ChainFailure::Usage(format!(
            "the signing certificate `{}` may not sign: its key usage lacks digitalSignature",
            leaf.subject
        )));
    }
    if let Some(eku) = &leaf.ext_key_usage
        && !eku.iter().any(|o| o == OID_CODE_SIGNING)
    {
        return Err(ChainFailure::Usage(format!(
            "the signing certificate `{}` is not for code signing: its extended key usage lacks codeSigning ({})",
            leaf.subject,
            eku.join(", ")
        )));
    }
    if leaf.is_ca() {
        let can_issue = leaf
            .key_usage
            .as_ref()
            .is_none_or(|ku| ku.0.contains(KeyUsages::KeyCertSign));
        if can_issue {
            return Err(ChainFailure::Usage(format!(
                "the signing certificate `{}` is a CA certificate whose key may sign certificates (CA:TRUE{}); a CA key must not sign models: issue a leaf certificate (CA:FALSE) for signing",
                leaf.subject,
                if leaf.key_usage.is_some() {
                    ", keyCertSign"
                } else {
                    ", no key usage"
                }
            )));
        }
        notes.push(format!(
            "the signing certificate `{}` is marked CA:TRUE, but its key usage has no keyCertSign, so it cannot issue certificates; accepted as a leaf (model_signing's own test PKI makes such leaves)",
            leaf.subject
        ));
    }
    Ok(())
}

fn common_checks(c: &Cert, at: SystemTime, role: &str) -> Result<(), ChainFailure> {
    if at < c.not_before || at > c.not_after {
        return Err(ChainFailure::Expired(format!(
            "the {role} certificate `{}` is valid from {} to {}, not at {}",
            c.subject,
            fmt_time(c.not_before),
            fmt_time(c.not_after),
            fmt_time(at)
        )));
    }
    if let Some(oid) = c.unknown_critical.first() {
        return Err(ChainFailure::Usage(format!(
            "the {role} certificate `{}` has a critical extension modelsec does not know ({oid}); refusing it",
            c.subject
        )));
    }
    if c.name_constraints {
        return Err(ChainFailure::Usage(format!(
            "the {role} certificate `{}` has name constraints, which modelsec does not evaluate; refusing the chain rather than ignoring them",
            c.subject
        )));
    }
    Ok(())
}

/// Whether `ca` may issue the certificate below it with `below` non-self-issued intermediates
/// between them and the leaf.
fn issuer_ok(ca: &Cert, below: usize, is_anchor: bool) -> Result<(), String> {
    match &ca.basic {
        Some(b) if b.ca => {
            if let Some(n) = b.path_len_constraint
                && below > n as usize
            {
                return Err(format!(
                    "`{}` allows {n} intermediate(s) below it (pathLen), the chain has {below}",
                    ca.subject
                ));
            }
        }
        // A v1 root (no extensions) is trusted as configured; anything else must say CA.
        None if is_anchor && ca.cert.tbs_certificate.extensions.is_none() => {}
        _ => {
            return Err(format!(
                "`{}` is not a CA certificate (basicConstraints)",
                ca.subject
            ));
        }
    }
    if let Some(ku) = &ca.key_usage
        && !ku.0.contains(KeyUsages::KeyCertSign)
    {
        return Err(format!(
            "`{}` may not sign certificates (key usage lacks keyCertSign)",
            ca.subject
        ));
    }
    if !is_anchor
        && let Some(eku) = &ca.ext_key_usage
        && !eku
            .iter()
            .any(|o| o == OID_CODE_SIGNING || o == OID_ANY_EKU)
    {
        return Err(format!(
            "`{}` restricts extended key usage to {} (no codeSigning)",
            ca.subject,
            eku.join(", ")
        ));
    }
    Ok(())
}

/// Verify that `chain[0]` (the leaf) chains through `chain[1..]` to a self-signed certificate of
/// `anchors`, valid at `at` and fit to sign models.
pub fn verify_chain(
    chain: &[Cert],
    anchors: &[Cert],
    at: SystemTime,
) -> Result<VerifiedChain, ChainFailure> {
    let leaf = chain
        .first()
        .ok_or_else(|| ChainFailure::Untrusted("the bundle holds no certificate".into()))?;
    let mut notes = Vec::new();
    leaf_usage(leaf, &mut notes)?;
    common_checks(leaf, at, "signing")?;
    let mut budget = MAX_SIGNATURE_CHECKS;
    let mut path = vec![leaf.clone()];
    let mut last_error: Option<String> = None;
    if extend(
        &mut path,
        &chain[1..],
        anchors,
        at,
        &mut budget,
        &mut last_error,
    )? {
        return Ok(VerifiedChain { path, notes });
    }
    let anchor_names: Vec<&str> = anchors.iter().map(|a| a.subject.as_str()).collect();
    Err(ChainFailure::Untrusted(match last_error {
        Some(e) => format!(
            "the signing certificate `{}` does not chain to a trusted root: {e}",
            leaf.subject
        ),
        None => format!(
            "the signing certificate `{}` (issuer `{}`) does not chain to a root of the given trust anchors ({})",
            leaf.subject,
            leaf.issuer,
            anchor_names.join("; ")
        ),
    }))
}

/// Depth-first: extend `path` until it ends at a self-signed anchor. `Ok(false)`: no path.
fn extend(
    path: &mut Vec<Cert>,
    intermediates: &[Cert],
    anchors: &[Cert],
    at: SystemTime,
    budget: &mut usize,
    last_error: &mut Option<String>,
) -> Result<bool, ChainFailure> {
    let current = path.last().expect("path starts with the leaf").clone();
    if path.len() > MAX_DEPTH {
        *last_error = Some(format!("the path is longer than {MAX_DEPTH} certificates"));
        return Ok(false);
    }
    // Non-self-issued intermediates below the next issuer (RFC 5280 path length).
    let below = path[1..].iter().filter(|c| !c.self_issued()).count();
    let candidates = anchors
        .iter()
        .map(|c| (c, true))
        .chain(intermediates.iter().map(|c| (c, false)));
    for (cand, is_anchor) in candidates {
        if !current.issued_by_name(cand) || path.iter().any(|p| p.der == cand.der) {
            continue;
        }
        if *budget == 0 {
            *last_error = Some("too many candidate issuers".into());
            return Ok(false);
        }
        *budget -= 1;
        if let Err(e) = signed_by(&current, cand) {
            *last_error = Some(format!(
                "`{}` is not signed by `{}`: {e}",
                current.subject, cand.subject
            ));
            continue;
        }
        if let Err(e) = issuer_ok(cand, below, is_anchor) {
            *last_error = Some(e);
            continue;
        }
        common_checks(cand, at, if is_anchor { "root" } else { "intermediate" })?;
        path.push(cand.clone());
        if is_anchor && cand.self_issued() && signed_by(cand, cand).is_ok() {
            return Ok(true);
        }
        if extend(path, intermediates, anchors, at, budget, last_error)? {
            return Ok(true);
        }
        path.pop();
    }
    Ok(false)
}

/// Whether the certificate's SANs satisfy an identity requirement.
pub fn identity_matches(sans: &[San], exact: Option<&str>, re: Option<&regex::Regex>) -> bool {
    sans.iter()
        .any(|s| exact.is_none_or(|e| s.value() == e) && re.is_none_or(|r| r.is_match(s.value())))
}
