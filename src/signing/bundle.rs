//! The OMS wire format: Sigstore bundle v0.3 JSON → DSSE envelope → in-toto Statement v1 with
//! the `https://model_signing/signature/v1.0` predicate.
//!
//! Writing is canonical (sorted keys, compact payload, sorted ignore paths, no timestamps) so the
//! same model, key and options always give byte-identical bundles. Reading accepts everything
//! `model_signing` 1.1.1 writes in key mode: `files` and `shards`, a float `shard_size`,
//! `sha256-sharded-N` algorithms, a `hint` or the legacy `rawBytes`, `keyid` absent/""/null.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

/// `mediaType` of a Sigstore bundle v0.3.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// DSSE `payloadType` of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// in-toto Statement `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// OMS predicate type.
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// model_signing 0.1/0.2's predicate types: one subject per file (or shard), no root digest.
pub const LEGACY_PREDICATE_TYPES: [&str; 2] = [
    "https://model_signing/Digests/v0.1",
    "https://model_signing/ShardDigests/v0.1",
];

/// DSSE pre-authentication encoding: what is actually signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    v.extend_from_slice(payload);
    v
}

// ---------------------------------------------------------------- writing

/// One resource of the manifest, as signed.
#[derive(Clone, Debug, Serialize)]
pub struct ResourceOut {
    /// Hash algorithm name.
    pub algorithm: String,
    /// Lowercase hex digest.
    pub digest: String,
    /// Manifest name.
    pub name: String,
}

#[derive(Serialize)]
struct SerializationOut<'a> {
    allow_symlinks: bool,
    hash_type: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    ignore_paths: &'a [String],
    method: &'a str,
}

#[derive(Serialize)]
struct PredicateOut<'a> {
    resources: &'a [ResourceOut],
    serialization: SerializationOut<'a>,
}

#[derive(Serialize)]
struct SubjectDigestOut<'a> {
    sha256: &'a str,
}

#[derive(Serialize)]
struct SubjectOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<&'a serde_json::Value>,
    digest: SubjectDigestOut<'a>,
    name: &'a str,
}

// Field order is alphabetical so that serde's output is sorted-key canonical JSON.
#[derive(Serialize)]
struct StatementOut<'a> {
    #[serde(rename = "_type")]
    statement_type: &'a str,
    predicate: PredicateOut<'a>,
    #[serde(rename = "predicateType")]
    predicate_type: &'a str,
    subject: [SubjectOut<'a>; 1],
}

/// Everything that goes into a statement.
pub struct StatementInput<'a> {
    /// Subject name (model directory or file basename).
    pub subject_name: &'a str,
    /// Hex SHA-256 over the concatenated raw resource digests, in resource order.
    pub subject_sha256: &'a str,
    /// Resources in canonical order.
    pub resources: &'a [ResourceOut],
    /// Hash name.
    pub hash_type: &'a str,
    /// Whether symlinks were allowed.
    pub allow_symlinks: bool,
    /// Ignore paths, sorted.
    pub ignore_paths: &'a [String],
    /// in-toto `subject[0].annotations` (modelsec records its scan here), if any.
    pub annotations: Option<&'a serde_json::Value>,
}

/// The canonical payload bytes (compact, sorted keys).
pub fn statement_bytes(input: &StatementInput<'_>) -> Vec<u8> {
    let st = StatementOut {
        statement_type: STATEMENT_TYPE,
        predicate: PredicateOut {
            resources: input.resources,
            serialization: SerializationOut {
                allow_symlinks: input.allow_symlinks,
                hash_type: input.hash_type,
                ignore_paths: input.ignore_paths,
                method: "files",
            },
        },
        predicate_type: PREDICATE_TYPE,
        subject: [SubjectOut {
            annotations: input.annotations,
            digest: SubjectDigestOut {
                sha256: input.subject_sha256,
            },
            name: input.subject_name,
        }],
    };
    // Serialising plain structs of strings cannot fail.
    serde_json::to_vec(&st).unwrap_or_default()
}

// Unknown fields are refused throughout: a bundle with a field we do not understand (or a
// mistyped one) is malformed, never silently accepted.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublicKeyRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
    #[serde(rename = "rawBytes", skip_serializing_if = "Option::is_none")]
    raw_bytes: Option<String>,
    /// model_signing before 1.1 (`PKIX_ECDSA_P256_SHA_256`, …; 0.2.0 wrote P256 for every curve,
    /// so it is reported, never trusted to pick the curve).
    #[serde(rename = "keyDetails", skip_serializing_if = "Option::is_none")]
    key_details: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CertRef {
    #[serde(rename = "rawBytes")]
    raw_bytes: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainRef {
    certificates: Vec<CertRef>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerificationMaterial {
    #[serde(rename = "publicKey", skip_serializing_if = "Option::is_none")]
    public_key: Option<PublicKeyRef>,
    #[serde(rename = "tlogEntries", default)]
    tlog_entries: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate: Option<CertRef>,
    #[serde(
        rename = "x509CertificateChain",
        skip_serializing_if = "Option::is_none"
    )]
    x509_certificate_chain: Option<ChainRef>,
    /// Signed timestamps (Sigstore; checked by the keyless verifier).
    #[serde(
        rename = "timestampVerificationData",
        skip_serializing_if = "Option::is_none"
    )]
    timestamp_verification_data: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureOut {
    sig: String,
    /// `""` (model_signing 1.1), `null` (before 1.1) or absent (Sigstore).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keyid: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    payload: String,
    #[serde(rename = "payloadType")]
    payload_type: String,
    #[serde(default)]
    signatures: Option<Vec<SignatureOut>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleJson {
    #[serde(rename = "mediaType")]
    media_type: String,
    #[serde(rename = "verificationMaterial")]
    verification_material: VerificationMaterial,
    #[serde(rename = "dsseEnvelope")]
    dsse_envelope: Option<Envelope>,
    #[serde(rename = "messageSignature", skip_serializing_if = "Option::is_none")]
    message_signature: Option<serde_json::Value>,
}

/// Who signed a bundle, as written into `verificationMaterial`.
pub enum SignerMaterial<'a> {
    /// Key mode: the OMS `publicKey.hint`.
    KeyHint(&'a str),
    /// Certificate mode: DER certificates, the signing leaf first, then its intermediates.
    Chain(&'a [Vec<u8>]),
}

/// The bundle file for a signed payload (pretty JSON with a trailing newline), in the shape
/// model_signing 1.1 writes (`tlogEntries: []`, `keyid: ""`).
pub fn bundle_bytes(payload: &[u8], signature: &[u8], signer: SignerMaterial<'_>) -> Vec<u8> {
    let (public_key, chain) = match signer {
        SignerMaterial::KeyHint(hint) => (
            Some(PublicKeyRef {
                hint: Some(hint.to_string()),
                raw_bytes: None,
                key_details: None,
            }),
            None,
        ),
        SignerMaterial::Chain(ders) => (
            None,
            Some(ChainRef {
                certificates: ders
                    .iter()
                    .map(|d| CertRef {
                        raw_bytes: B64.encode(d),
                    })
                    .collect(),
            }),
        ),
    };
    let b = BundleJson {
        media_type: BUNDLE_MEDIA_TYPE.to_string(),
        verification_material: VerificationMaterial {
            public_key,
            tlog_entries: Vec::new(),
            certificate: None,
            x509_certificate_chain: chain,
            timestamp_verification_data: None,
        },
        dsse_envelope: Some(Envelope {
            payload: B64.encode(payload),
            payload_type: PAYLOAD_TYPE.to_string(),
            signatures: Some(vec![SignatureOut {
                sig: B64.encode(signature),
                keyid: Some(String::new()),
            }]),
        }),
        message_signature: None,
    };
    let mut v = serde_json::to_vec_pretty(&b).unwrap_or_default();
    v.push(b'\n');
    v
}

// ---------------------------------------------------------------- reading

/// Why a bundle file cannot be read at all (exit 2), naming the field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Not JSON, or a field has the wrong shape.
    #[error("malformed bundle: {0}")]
    Malformed(String),
    /// A kind of bundle modelsec does not verify.
    #[error("unsupported bundle: {0}")]
    Unsupported(String),
}

/// One DSSE signature as found in the bundle.
#[derive(Clone, Debug)]
pub struct EnvelopeSignature {
    /// Decoded signature bytes, or why they could not be decoded.
    pub sig: Result<Vec<u8>, String>,
    /// `keyid`, if any.
    pub keyid: Option<String>,
}

/// What a bundle says about its signer (`verificationMaterial`).
#[derive(Clone, Debug)]
pub enum Material {
    /// Key mode: a reference to the signer's key.
    PublicKey {
        /// `hint` (model_signing 1.1+): hex SHA-256 of the signer's SPKI PEM.
        hint: Option<String>,
        /// `rawBytes` (before 1.1): the signer's public key as the bundle carries it (PEM text
        /// or DER). Only ever compared with a trusted key, never trusted itself.
        raw: Option<Vec<u8>>,
        /// `keyDetails` as written.
        key_details: Option<String>,
    },
    /// Certificate mode (`x509CertificateChain`): DER certificates, the leaf first.
    Chain(Vec<Vec<u8>>),
    /// Sigstore keyless (`certificate`): the DER Fulcio leaf.
    Certificate(Vec<u8>),
}

impl Material {
    /// The kind, in words, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Material::PublicKey { .. } => "a public key (key mode)",
            Material::Chain(_) => "an X.509 certificate chain (certificate mode)",
            Material::Certificate(_) => "a Sigstore (Fulcio) certificate (keyless mode)",
        }
    }
}

/// A bundle read from disk: the outer layers, with the payload still unparsed.
#[derive(Clone, Debug)]
pub struct ParsedBundle {
    /// `mediaType`.
    pub media_type: String,
    /// Who signed it.
    pub material: Material,
    /// Number of transparency-log entries.
    pub tlog_entries: usize,
    /// Decoded DSSE payload bytes (exactly what was signed, never re-serialised).
    pub payload: Vec<u8>,
    /// DSSE `payloadType`.
    pub payload_type: String,
    /// DSSE signatures.
    pub signatures: Vec<EnvelopeSignature>,
}

fn b64_field(v: &str, field: &str) -> Result<Vec<u8>, BundleError> {
    B64.decode(v.as_bytes())
        .map_err(|e| BundleError::Malformed(format!("field `{field}` is not base64: {e}")))
}

/// Parse the outer bundle. Errors say which field is wrong.
pub fn parse_bundle(bytes: &[u8]) -> Result<ParsedBundle, BundleError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let b: BundleJson = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            BundleError::Malformed(format!("{inner}"))
        } else {
            BundleError::Malformed(format!("field `{path}`: {inner}"))
        }
    })?;
    let vm = b.verification_material;
    let material = match (vm.public_key, vm.x509_certificate_chain, vm.certificate) {
        (Some(pk), None, None) => Material::PublicKey {
            hint: pk.hint,
            raw: pk
                .raw_bytes
                .map(|r| b64_field(&r, "verificationMaterial.publicKey.rawBytes"))
                .transpose()?,
            key_details: pk.key_details,
        },
        (None, Some(chain), None) => {
            if chain.certificates.is_empty() {
                return Err(BundleError::Malformed(
                    "field `verificationMaterial.x509CertificateChain.certificates` is empty"
                        .into(),
                ));
            }
            Material::Chain(
                chain
                    .certificates
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        b64_field(
                            &c.raw_bytes,
                            &format!(
                                "verificationMaterial.x509CertificateChain.certificates[{i}].rawBytes"
                            ),
                        )
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
        (None, None, Some(c)) => Material::Certificate(b64_field(
            &c.raw_bytes,
            "verificationMaterial.certificate.rawBytes",
        )?),
        (None, None, None) => {
            return Err(BundleError::Malformed(
                "field `verificationMaterial` names no signer (`publicKey`, `x509CertificateChain` or `certificate`)"
                    .into(),
            ));
        }
        _ => {
            return Err(BundleError::Malformed(
                "field `verificationMaterial` holds more than one of `publicKey`, `x509CertificateChain`, `certificate`"
                    .into(),
            ));
        }
    };
    let Some(env) = b.dsse_envelope else {
        return Err(if b.message_signature.is_some() {
            BundleError::Unsupported(
                "a `messageSignature` bundle signs a single blob; OMS bundles use `dsseEnvelope`"
                    .into(),
            )
        } else {
            BundleError::Malformed("field `dsseEnvelope` is missing".into())
        });
    };
    let payload = b64_field(&env.payload, "dsseEnvelope.payload")?;
    let signatures = env
        .signatures
        .unwrap_or_default()
        .into_iter()
        .map(|s| EnvelopeSignature {
            sig: B64
                .decode(s.sig.as_bytes())
                .map_err(|e| format!("not base64: {e}")),
            keyid: s.keyid,
        })
        .collect();
    Ok(ParsedBundle {
        media_type: b.media_type,
        material,
        tlog_entries: vm.tlog_entries.len(),
        payload,
        payload_type: env.payload_type,
        signatures,
    })
}

/// The pre-authentication encoding model_signing 0.1/0.2 signed by mistake: the payload's
/// Python `bytes` repr (`b'…'`, escapes and all) pasted into a `DSSEV1` (capital V) string.
/// Verifiers accept it for those releases' bundles, as model_signing 1.x does.
pub fn pae_compat(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    format!(
        "DSSEV1 {} {} {} {}",
        payload_type.len(),
        payload_type,
        payload.len(),
        python_bytes_repr(payload)
    )
    .into_bytes()
}

/// Python's `repr(bytes)`.
fn python_bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut s = String::with_capacity(b.len() + 3);
    s.push('b');
    s.push(quote);
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            c if c as char == quote => {
                s.push('\\');
                s.push(quote);
            }
            0x20..=0x7e => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push(quote);
    s
}

/// The serialisation method of a manifest.
#[derive(Clone, Debug, PartialEq)]
pub enum Method {
    /// One resource per file.
    Files,
    /// One resource per `[start, end)` shard of `shard_size` bytes.
    Shards {
        /// Shard size in bytes.
        shard_size: u64,
    },
}

/// One resource as signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Manifest name (`path`, or `path:start:end` for shards).
    pub name: String,
    /// Algorithm as written.
    pub algorithm: String,
    /// Digest as written (hex).
    pub digest: String,
}

/// The statement inside the payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// `_type`.
    pub statement_type: String,
    /// `predicateType`.
    pub predicate_type: String,
    /// `subject[0].name`.
    pub subject_name: String,
    /// `subject[0].digest.sha256`.
    pub subject_sha256: String,
    /// `predicate.serialization.method` (+ shard size).
    pub method: Method,
    /// `predicate.serialization.hash_type`.
    pub hash_type: String,
    /// `predicate.serialization.allow_symlinks`.
    pub allow_symlinks: bool,
    /// `predicate.serialization.ignore_paths`.
    pub ignore_paths: Vec<String>,
    /// `predicate.resources`.
    pub resources: Vec<Resource>,
    /// `subject[0].annotations`, if present (ResourceDescriptor annotations).
    pub annotations: Option<serde_json::Value>,
}

fn field<'a>(v: &'a serde_json::Value, path: &str) -> Result<&'a serde_json::Value, String> {
    let mut cur = v;
    for part in path.split('.') {
        cur = cur
            .get(part)
            .ok_or_else(|| format!("statement field `{path}` is missing"))?;
    }
    Ok(cur)
}

fn string_at(v: &serde_json::Value, path: &str) -> Result<String, String> {
    field(v, path)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("statement field `{path}` must be a string"))
}

/// Parse the in-toto statement of an OMS payload. The error names the field.
pub fn parse_statement(payload: &[u8]) -> Result<Statement, String> {
    let v: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| format!("the payload is not JSON: {e}"))?;
    let statement_type = string_at(&v, "_type")?;
    let predicate_type = string_at(&v, "predicateType")?;
    if LEGACY_PREDICATE_TYPES.contains(&predicate_type.as_str()) {
        return parse_legacy_statement(&v, statement_type, predicate_type);
    }
    let subjects = field(&v, "subject")?
        .as_array()
        .ok_or("statement field `subject` must be a list")?;
    let subject = match subjects.as_slice() {
        [one] => one,
        [] => return Err("statement field `subject` is empty".into()),
        _ => {
            return Err(format!(
                "statement field `subject` has {} entries; OMS statements have exactly one",
                subjects.len()
            ));
        }
    };
    let subject_name = subject
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or_default()
        .to_string();
    let annotations = subject.get("annotations").cloned();
    if annotations.as_ref().is_some_and(|a| !a.is_object()) {
        return Err("statement field `subject[0].annotations` must be an object".into());
    }
    let subject_sha256 = string_at(subject, "digest.sha256")
        .map_err(|_| "statement field `subject[0].digest.sha256` is missing or not a string")?;
    let ser = field(&v, "predicate.serialization")?;
    let method_name = string_at(ser, "method")
        .map_err(|_| "statement field `predicate.serialization.method` is missing")?;
    let method = match method_name.as_str() {
        "files" => Method::Files,
        "shards" => {
            let n = ser.get("shard_size").and_then(|n| n.as_f64()).ok_or(
                "statement field `predicate.serialization.shard_size` is missing for method `shards`",
            )?;
            if !(n >= 1.0 && n.fract() == 0.0 && n <= 2f64.powi(53)) {
                return Err(format!(
                    "statement field `predicate.serialization.shard_size` must be a positive whole number, found {n}"
                ));
            }
            Method::Shards {
                shard_size: n as u64,
            }
        }
        other => {
            return Err(format!(
                "statement field `predicate.serialization.method` is `{other}`; expected `files` or `shards`"
            ));
        }
    };
    let hash_type = string_at(ser, "hash_type")
        .map_err(|_| "statement field `predicate.serialization.hash_type` is missing")?;
    let allow_symlinks = match ser.get("allow_symlinks") {
        None => false,
        Some(b) => b.as_bool().ok_or(
            "statement field `predicate.serialization.allow_symlinks` must be true or false",
        )?,
    };
    let ignore_paths = match ser.get("ignore_paths") {
        None => Vec::new(),
        Some(list) => list
            .as_array()
            .ok_or("statement field `predicate.serialization.ignore_paths` must be a list")?
            .iter()
            .map(|p| {
                p.as_str().map(str::to_string).ok_or(
                    "statement field `predicate.serialization.ignore_paths` must hold strings",
                )
            })
            .collect::<Result<_, _>>()?,
    };
    let list = field(&v, "predicate.resources")?
        .as_array()
        .ok_or("statement field `predicate.resources` must be a list")?;
    let mut resources = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let get = |k: &str| {
            r.get(k)
                .and_then(|x| x.as_str())
                .map(str::to_string)
                .ok_or_else(|| {
                    format!(
                        "statement field `predicate.resources[{i}].{k}` is missing or not a string"
                    )
                })
        };
        resources.push(Resource {
            name: get("name")?,
            algorithm: get("algorithm")?,
            digest: get("digest")?,
        });
    }
    Ok(Statement {
        statement_type,
        predicate_type,
        subject_name,
        subject_sha256,
        method,
        hash_type,
        allow_symlinks,
        ignore_paths,
        resources,
        annotations,
    })
}

/// model_signing 0.1/0.2 statements: every file (`name`) or shard (`path:start:end`) is a subject
/// with its SHA-256 and an `actual_hash_algorithm` annotation (`file-sha256`, or
/// `file-sha256-<shard size>`). Read as the equivalent v1.0 manifest; the subject digest is
/// recomputed over the listed digests (those releases recorded none).
fn parse_legacy_statement(
    v: &serde_json::Value,
    statement_type: String,
    predicate_type: String,
) -> Result<Statement, String> {
    let subjects = field(v, "subject")?
        .as_array()
        .ok_or("statement field `subject` must be a list")?;
    let mut resources = Vec::with_capacity(subjects.len());
    let mut method = if predicate_type.ends_with("/ShardDigests/v0.1") {
        None
    } else {
        Some(Method::Files)
    };
    let mut raw = Vec::with_capacity(subjects.len());
    for (i, s) in subjects.iter().enumerate() {
        let name = string_at(s, "name")
            .map_err(|_| format!("statement field `subject[{i}].name` is missing"))?;
        let digest = string_at(s, "digest.sha256")
            .map_err(|_| format!("statement field `subject[{i}].digest.sha256` is missing"))?;
        let alg = s
            .get("annotations")
            .and_then(|a| a.get("actual_hash_algorithm"))
            .and_then(|a| a.as_str())
            .unwrap_or("file-sha256");
        if let Some(size) = alg.strip_prefix("file-sha256-") {
            let n: u64 = size.parse().map_err(|_| {
                format!(
                    "statement field `subject[{i}].annotations.actual_hash_algorithm` is `{alg}`"
                )
            })?;
            match method {
                None => method = Some(Method::Shards { shard_size: n }),
                Some(Method::Shards { shard_size }) if shard_size == n => {}
                _ => return Err(format!("statement subjects mix hash methods (`{alg}`)")),
            }
        } else if alg != "file-sha256" {
            return Err(format!(
                "statement field `subject[{i}].annotations.actual_hash_algorithm` is `{alg}`; expected file-sha256"
            ));
        }
        raw.push(hex::decode(&digest).unwrap_or_default());
        resources.push(Resource {
            name,
            algorithm: "sha256".into(),
            digest,
        });
    }
    Ok(Statement {
        statement_type,
        predicate_type,
        subject_name: String::new(),
        subject_sha256: super::subject_digest(raw.iter().map(Vec::as_slice)),
        method: method.unwrap_or(Method::Shards { shard_size: 1 }),
        hash_type: "sha256".into(),
        allow_symlinks: false,
        ignore_paths: Vec::new(),
        resources,
        annotations: None,
    })
}

/// Split a shard resource name `path:start:end` from the right (paths may contain `:`).
pub fn split_shard_name(name: &str) -> Option<(&str, u64, u64)> {
    let (rest, end) = name.rsplit_once(':')?;
    let (path, start) = rest.rsplit_once(':')?;
    Some((path, start.parse().ok()?, end.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compat_pae_is_model_signing_0_2s() {
        // What Python prints for f"DSSEV1 28 {type} {len(p)} {p}" with these bytes.
        assert_eq!(
            String::from_utf8(pae_compat(PAYLOAD_TYPE, b"{\"a\":\n'x\x00")).unwrap(),
            r#"DSSEV1 28 application/vnd.in-toto+json 9 b'{"a":\n\'x\x00'"#
        );
        assert_eq!(python_bytes_repr(b"it's"), r#"b"it's""#);
        assert_eq!(python_bytes_repr(b"a\\b\t\r\xff"), r#"b'a\\b\t\r\xff'"#);
    }

    #[test]
    fn pae_matches_dsse_spec() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn statement_is_sorted_compact_json() {
        let res = vec![ResourceOut {
            algorithm: "sha256".into(),
            digest: "00".into(),
            name: "a".into(),
        }];
        let ig = vec![".git".to_string()];
        let b = statement_bytes(&StatementInput {
            subject_name: "m",
            subject_sha256: "ff",
            resources: &res,
            hash_type: "sha256",
            allow_symlinks: false,
            ignore_paths: &ig,
            annotations: None,
        });
        assert_eq!(
            String::from_utf8(b.clone()).unwrap(),
            r#"{"_type":"https://in-toto.io/Statement/v1","predicate":{"resources":[{"algorithm":"sha256","digest":"00","name":"a"}],"serialization":{"allow_symlinks":false,"hash_type":"sha256","ignore_paths":[".git"],"method":"files"}},"predicateType":"https://model_signing/signature/v1.0","subject":[{"digest":{"sha256":"ff"},"name":"m"}]}"#
        );
        let st = parse_statement(&b).unwrap();
        assert_eq!(st.resources[0].name, "a");
        assert_eq!(st.method, Method::Files);
    }

    #[test]
    fn float_shard_size_and_shard_names() {
        let p = br#"{"_type":"t","predicateType":"p","subject":[{"name":"m","digest":{"sha256":"00"}}],
          "predicate":{"serialization":{"method":"shards","hash_type":"sha256","shard_size":64000000.0},"resources":[]}}"#;
        let st = parse_statement(p).unwrap();
        assert_eq!(
            st.method,
            Method::Shards {
                shard_size: 64_000_000
            }
        );
        assert_eq!(split_shard_name("a:b.bin:0:10"), Some(("a:b.bin", 0, 10)));
        assert_eq!(split_shard_name("x"), None);
    }

    #[test]
    fn malformed_bundles_name_the_field() {
        let e = parse_bundle(b"{}").unwrap_err().to_string();
        assert!(e.contains("mediaType"), "{e}");
        let e = parse_bundle(br#"{"mediaType":"x","verificationMaterial":{"publicKey":{}},"dsseEnvelope":{"payload":1,"payloadType":"t"}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("dsseEnvelope.payload"), "{e}");
        let e = parse_bundle(b"not json").unwrap_err().to_string();
        assert!(e.starts_with("malformed bundle"), "{e}");
    }
}
