//! Key pairs: generation, PKCS#8 / SPKI PEM encoding (optionally PBES2-scrypt encrypted), loading
//! keys made by OpenSSL, signing, verifying, and the OMS `publicKey.hint`.
//!
//! Ed25519 (our default) and ECDSA over P-256/SHA-256, P-384/SHA-384 and P-521/SHA-512 with DER
//! signatures (the OMS algorithm registry; what `model_signing` signs and verifies). Private keys never reach a formatter: the
//! types have a redacted `Debug` and the underlying keys zeroize on drop.

use pkcs8::der::pem::LineEnding;
use pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// OID of Ed25519 keys (RFC 8410).
const OID_ED25519: &str = "1.3.101.112";
/// OID of elliptic-curve public keys (RFC 5480).
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// OID of RSA keys.
const OID_RSA: &str = "1.2.840.113549.1.1.1";

fn curve_name(oid: &str) -> &str {
    match oid {
        "1.2.840.10045.3.1.7" => "P-256",
        "1.3.132.0.34" => "P-384",
        "1.3.132.0.35" => "P-521",
        "1.3.132.0.10" => "secp256k1",
        other => other,
    }
}

/// scrypt cost for encrypted private keys: N = 2^14, r = 8 (16 MiB, within OpenSSL's default
/// 32 MiB scrypt memory limit, so `openssl pkey` can decrypt it), p = 4 for extra CPU cost.
const SCRYPT_LOG_N: u8 = 14;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 4;

/// A signature algorithm modelsec can sign and verify with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Algorithm {
    /// Ed25519 (default; verifiable by modelsec, not by model_signing).
    Ed25519,
    /// ECDSA P-256 with SHA-256 (verifiable by every OMS tool).
    EcdsaP256,
    /// ECDSA P-384 with SHA-384 (OMS algorithm registry).
    EcdsaP384,
    /// ECDSA P-521 with SHA-512 (OMS algorithm registry).
    EcdsaP521,
}

impl Algorithm {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP256 => "ecdsa-p256",
            Algorithm::EcdsaP384 => "ecdsa-p384",
            Algorithm::EcdsaP521 => "ecdsa-p521",
        }
    }

    /// The hash ECDSA signs over with this curve (OMS: by curve); `None` for Ed25519.
    pub fn ecdsa_hash(self) -> Option<EcdsaHash> {
        match self {
            Algorithm::Ed25519 => None,
            Algorithm::EcdsaP256 => Some(EcdsaHash::Sha256),
            Algorithm::EcdsaP384 => Some(EcdsaHash::Sha384),
            Algorithm::EcdsaP521 => Some(EcdsaHash::Sha512),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key could not be made, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not PEM.
    #[error(
        "not a PEM key file ({0}); expected `-----BEGIN PRIVATE KEY-----` or `-----BEGIN PUBLIC KEY-----`"
    )]
    NotPem(String),
    /// A PEM block of a kind we do not read.
    #[error("unsupported PEM block `{label}`; {hint}")]
    UnsupportedLabel {
        /// The PEM label.
        label: String,
        /// What to do instead.
        hint: &'static str,
    },
    /// A public key where a private key is needed.
    #[error("this is a public key, but signing needs the private key (the file without `.pub`)")]
    PublicWherePrivate,
    /// A private key where a public key is needed.
    #[error(
        "this is a private key; verify needs the public key (`KEY.pub`, or `openssl pkey -in KEY -pubout`); never hand a private key to a verifier"
    )]
    PrivateWherePublic,
    /// Key type or curve we do not support.
    #[error(
        "unsupported key type {0}; modelsec signs with ed25519 or ECDSA P-256, P-384 or P-521 keys"
    )]
    UnsupportedAlgorithm(String),
    /// DER / PKCS#8 / SPKI structure is invalid.
    #[error("malformed key: {0}")]
    Malformed(String),
    /// The key is encrypted and no passphrase is available.
    #[error(
        "the private key is encrypted; set MODELSEC_PASSPHRASE or run in a terminal to be asked for the passphrase"
    )]
    PassphraseRequired,
    /// The passphrase did not decrypt the key.
    #[error("wrong passphrase: the encrypted private key could not be decrypted with it")]
    WrongPassphrase,
    /// Could not encode or encrypt the key.
    #[error("could not encode the key: {0}")]
    Encode(String),
}

/// A private key.
pub enum SigningKey {
    /// Ed25519.
    Ed25519(Box<ed25519_dalek::SigningKey>),
    /// ECDSA P-256.
    EcdsaP256(Box<p256::SecretKey>),
    /// ECDSA P-384.
    EcdsaP384(Box<p384::SecretKey>),
    /// ECDSA P-521.
    EcdsaP521(Box<p521::SecretKey>),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, <redacted>)", self.algorithm())
    }
}

/// A public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyingKey {
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// ECDSA P-256.
    EcdsaP256(p256::PublicKey),
    /// ECDSA P-384.
    EcdsaP384(p384::PublicKey),
    /// ECDSA P-521.
    EcdsaP521(p521::PublicKey),
}

/// The hash an ECDSA signature was computed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EcdsaHash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl EcdsaHash {
    fn digest(self, message: &[u8]) -> Vec<u8> {
        use sha2::{Sha384, Sha512};
        match self {
            EcdsaHash::Sha256 => Sha256::digest(message).to_vec(),
            EcdsaHash::Sha384 => Sha384::digest(message).to_vec(),
            EcdsaHash::Sha512 => Sha512::digest(message).to_vec(),
        }
    }
}

/// Left-pad a digest shorter than the curve's field to the field size: the same integer (FIPS
/// 186 bits2int takes a short hash as it is), which RustCrypto's prehash API otherwise refuses
/// below half the field size (P-521 with SHA-256, as model_signing 0.2.0 signed).
fn field_sized(digest: Vec<u8>, field_bytes: usize) -> Vec<u8> {
    if digest.len() >= field_bytes {
        return digest;
    }
    let mut v = vec![0u8; field_bytes - digest.len()];
    v.extend_from_slice(&digest);
    v
}

fn ec_verify<C>(pk: &elliptic_curve::PublicKey<C>, digest: &[u8], der_sig: &[u8]) -> bool
where
    C: ecdsa::PrimeCurve + elliptic_curve::CurveArithmetic,
    ecdsa::der::MaxSize<C>: elliptic_curve::generic_array::ArrayLength<u8>,
    <elliptic_curve::FieldBytesSize<C> as std::ops::Add>::Output:
        std::ops::Add<ecdsa::der::MaxOverhead> + elliptic_curve::generic_array::ArrayLength<u8>,
    elliptic_curve::AffinePoint<C>: ecdsa::hazmat::VerifyPrimitive<C>,
    ecdsa::SignatureSize<C>: elliptic_curve::generic_array::ArrayLength<u8>,
{
    use ecdsa::signature::hazmat::PrehashVerifier;
    use elliptic_curve::generic_array::typenum::Unsigned;
    let Ok(sig) = ecdsa::Signature::<C>::from_der(der_sig) else {
        return false;
    };
    let digest = field_sized(digest.to_vec(), elliptic_curve::FieldBytesSize::<C>::USIZE);
    ecdsa::VerifyingKey::<C>::from(pk)
        .verify_prehash(&digest, &sig)
        .is_ok()
}

fn oid_and_params(alg: &spki::AlgorithmIdentifierRef<'_>) -> (String, Option<String>) {
    (
        alg.oid.to_string(),
        alg.parameters_oid().ok().map(|o| o.to_string()),
    )
}

fn classify(oid: &str, params: Option<&str>) -> Result<Algorithm, KeyError> {
    match (oid, params) {
        (OID_ED25519, _) => Ok(Algorithm::Ed25519),
        (OID_EC_PUBLIC_KEY, Some("1.2.840.10045.3.1.7")) => Ok(Algorithm::EcdsaP256),
        (OID_EC_PUBLIC_KEY, Some("1.3.132.0.34")) => Ok(Algorithm::EcdsaP384),
        (OID_EC_PUBLIC_KEY, Some("1.3.132.0.35")) => Ok(Algorithm::EcdsaP521),
        (OID_EC_PUBLIC_KEY, Some(curve)) => Err(KeyError::UnsupportedAlgorithm(format!(
            "EC {}",
            curve_name(curve)
        ))),
        (OID_RSA, _) => Err(KeyError::UnsupportedAlgorithm("RSA".into())),
        (other, _) => Err(KeyError::UnsupportedAlgorithm(format!("OID {other}"))),
    }
}

fn decode_pem(text: &str) -> Result<(String, Zeroizing<Vec<u8>>), KeyError> {
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(KeyError::UnsupportedLabel {
            label: "legacy OpenSSL-encrypted PEM".into(),
            hint: "convert it with `openssl pkcs8 -topk8 -scrypt -in OLD -out NEW`",
        });
    }
    // OpenSSL's `ecparam -genkey` writes an `EC PARAMETERS` block before the key: skip it.
    let mut rest = text;
    loop {
        let start = rest
            .find("-----BEGIN ")
            .ok_or_else(|| KeyError::NotPem("no `-----BEGIN` line".into()))?;
        rest = &rest[start..];
        if rest.starts_with("-----BEGIN EC PARAMETERS-----") {
            let end = rest
                .find("-----END EC PARAMETERS-----")
                .ok_or_else(|| KeyError::NotPem("unterminated `EC PARAMETERS` block".into()))?;
            rest = &rest[end + "-----END EC PARAMETERS-----".len()..];
            continue;
        }
        break;
    }
    // Only the first block: a certificate or a second key after it is not ours to read here.
    let block_end = match rest.find("-----END ") {
        Some(e) => rest[e..].find('\n').map_or(rest.len(), |n| e + n),
        None => rest.len(),
    };
    let (label, der) = pkcs8::der::pem::decode_vec(rest[..block_end].trim_end().as_bytes())
        .map_err(|e| KeyError::NotPem(e.to_string()))?;
    Ok((label.to_string(), Zeroizing::new(der)))
}

fn unsupported_label(label: &str) -> KeyError {
    let hint = match label {
        "OPENSSH PRIVATE KEY" => {
            "convert an OpenSSH key with `ssh-keygen -p -m PKCS8 -f KEY`, or make one with `modelsec keygen`"
        }
        "RSA PRIVATE KEY" | "RSA PUBLIC KEY" => {
            "RSA keys are not supported; use ed25519 or an ECDSA P-256/P-384/P-521 key"
        }
        "CERTIFICATE" => {
            "this is a certificate: verify certificate-signed models with --certificate-chain ROOTS.pem; sign with --key KEY --certificate CHAIN.pem"
        }
        _ => {
            "expected PKCS#8 `PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, SEC1 `EC PRIVATE KEY` or SPKI `PUBLIC KEY`"
        }
    };
    KeyError::UnsupportedLabel {
        label: label.to_string(),
        hint,
    }
}

impl SigningKey {
    /// A fresh key from the operating system's random source.
    pub fn generate(alg: Algorithm) -> Self {
        match alg {
            Algorithm::Ed25519 => {
                SigningKey::Ed25519(Box::new(ed25519_dalek::SigningKey::generate(&mut OsRng)))
            }
            Algorithm::EcdsaP256 => {
                SigningKey::EcdsaP256(Box::new(p256::SecretKey::random(&mut OsRng)))
            }
            Algorithm::EcdsaP384 => {
                SigningKey::EcdsaP384(Box::new(p384::SecretKey::random(&mut OsRng)))
            }
            Algorithm::EcdsaP521 => {
                SigningKey::EcdsaP521(Box::new(p521::SecretKey::random(&mut OsRng)))
            }
        }
    }

    /// Which algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            SigningKey::Ed25519(_) => Algorithm::Ed25519,
            SigningKey::EcdsaP256(_) => Algorithm::EcdsaP256,
            SigningKey::EcdsaP384(_) => Algorithm::EcdsaP384,
            SigningKey::EcdsaP521(_) => Algorithm::EcdsaP521,
        }
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            SigningKey::Ed25519(k) => VerifyingKey::Ed25519(k.verifying_key()),
            SigningKey::EcdsaP256(k) => VerifyingKey::EcdsaP256(k.public_key()),
            SigningKey::EcdsaP384(k) => VerifyingKey::EcdsaP384(k.public_key()),
            SigningKey::EcdsaP521(k) => VerifyingKey::EcdsaP521(k.public_key()),
        }
    }

    /// Sign `message`. Deterministic: Ed25519 by design, P-256/P-384 ECDSA by RFC 6979 (P-521
    /// signatures are randomized: the `p521` crate has no RFC 6979 signer). ECDSA hashes with
    /// the curve's hash (P-256 SHA-256, P-384 SHA-384, P-521 SHA-512) and writes ASN.1 DER, as
    /// OMS and model_signing do.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        use ecdsa::signature::hazmat::PrehashSigner;
        let digest = self.algorithm().ecdsa_hash().map(|h| h.digest(message));
        match self {
            SigningKey::Ed25519(k) => {
                use ed25519_dalek::Signer;
                k.sign(message).to_bytes().to_vec()
            }
            SigningKey::EcdsaP256(k) => {
                let sig: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(k.as_ref())
                    .sign_prehash(digest.as_deref().unwrap_or_default())
                    .expect("a SHA-256 digest is a valid P-256 prehash");
                sig.to_der().as_bytes().to_vec()
            }
            SigningKey::EcdsaP384(k) => {
                let sig: p384::ecdsa::Signature = p384::ecdsa::SigningKey::from(k.as_ref())
                    .sign_prehash(digest.as_deref().unwrap_or_default())
                    .expect("a SHA-384 digest is a valid P-384 prehash");
                sig.to_der().as_bytes().to_vec()
            }
            SigningKey::EcdsaP521(k) => {
                let sk = p521::ecdsa::SigningKey::from_bytes(&k.to_bytes())
                    .expect("a P-521 secret key is a valid signing key");
                let sig: p521::ecdsa::Signature = sk
                    .sign_prehash(digest.as_deref().unwrap_or_default())
                    .expect("a SHA-512 digest is a valid P-521 prehash");
                sig.to_der().as_bytes().to_vec()
            }
        }
    }

    fn to_pkcs8_der(&self) -> Result<pkcs8::SecretDocument, KeyError> {
        match self {
            // PKCS#8 v1 (no embedded public key): OpenSSL 3.0 cannot read the v2 form.
            SigningKey::Ed25519(k) => ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: k.to_bytes(),
                public_key: None,
            }
            .to_pkcs8_der(),
            SigningKey::EcdsaP256(k) => k.to_pkcs8_der(),
            SigningKey::EcdsaP384(k) => k.to_pkcs8_der(),
            SigningKey::EcdsaP521(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| KeyError::Encode(e.to_string()))
    }

    /// PKCS#8 PEM; with a passphrase, `ENCRYPTED PRIVATE KEY` (PBES2, scrypt, AES-256-CBC).
    pub fn to_pkcs8_pem(&self, passphrase: Option<&[u8]>) -> Result<Zeroizing<String>, KeyError> {
        let doc = self.to_pkcs8_der()?;
        let enc = |e: &dyn std::fmt::Display| KeyError::Encode(e.to_string());
        match passphrase {
            None => doc
                .to_pem("PRIVATE KEY", LineEnding::LF)
                .map_err(|e| enc(&e)),
            Some(pw) => {
                let mut salt = [0u8; 16];
                let mut iv = [0u8; 16];
                OsRng.fill_bytes(&mut salt);
                OsRng.fill_bytes(&mut iv);
                let params =
                    pkcs8::pkcs5::scrypt::Params::new(SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, 32)
                        .map_err(|e| enc(&e))?;
                let pbes2 = pkcs8::pkcs5::pbes2::Parameters::scrypt_aes256cbc(params, &salt, &iv)
                    .map_err(|e| enc(&e))?;
                let info = pkcs8::PrivateKeyInfo::try_from(doc.as_bytes()).map_err(|e| enc(&e))?;
                let encrypted = info.encrypt_with_params(pbes2, pw).map_err(|e| enc(&e))?;
                encrypted
                    .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
                    .map_err(|e| enc(&e))
            }
        }
    }

    /// Read a private key from PEM text: PKCS#8 (plain or encrypted) or SEC1 `EC PRIVATE KEY`
    /// (P-256, P-384, P-521; with or without a leading `EC PARAMETERS` block), as `modelsec
    /// keygen`, `openssl genpkey` and `openssl ecparam -genkey` write them. `passphrase` is
    /// called only when the key is encrypted.
    pub fn from_pem(
        text: &str,
        passphrase: &mut dyn FnMut() -> Result<Zeroizing<String>, KeyError>,
    ) -> Result<Self, KeyError> {
        let (label, der) = decode_pem(text)?;
        match label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "ENCRYPTED PRIVATE KEY" => {
                let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
                    .map_err(|e| KeyError::Malformed(e.to_string()))?;
                let pw = passphrase()?;
                let doc = info
                    .decrypt(pw.as_bytes())
                    .map_err(|_| KeyError::WrongPassphrase)?;
                Self::from_pkcs8_der(doc.as_bytes())
            }
            "EC PRIVATE KEY" => Self::from_sec1_der(&der),
            "PUBLIC KEY" => Err(KeyError::PublicWherePrivate),
            other => Err(unsupported_label(other)),
        }
    }

    fn from_sec1_der(der: &[u8]) -> Result<Self, KeyError> {
        let parsed = sec1::EcPrivateKey::try_from(der)
            .map_err(|e| KeyError::Malformed(format!("SEC1 EC private key: {e}")))?;
        let curve = parsed
            .parameters
            .and_then(|p| p.named_curve())
            .map(|o| o.to_string());
        let malformed = |e: elliptic_curve::Error| KeyError::Malformed(format!("SEC1: {e}"));
        match curve.as_deref() {
            Some("1.2.840.10045.3.1.7") => Ok(SigningKey::EcdsaP256(Box::new(
                p256::SecretKey::from_sec1_der(der).map_err(malformed)?,
            ))),
            Some("1.3.132.0.34") => Ok(SigningKey::EcdsaP384(Box::new(
                p384::SecretKey::from_sec1_der(der).map_err(malformed)?,
            ))),
            Some("1.3.132.0.35") => Ok(SigningKey::EcdsaP521(Box::new(
                p521::SecretKey::from_sec1_der(der).map_err(malformed)?,
            ))),
            Some(other) => Err(KeyError::UnsupportedAlgorithm(format!(
                "EC {}",
                curve_name(other)
            ))),
            None => Err(KeyError::Malformed(
                "SEC1 EC private key without a named curve; convert it with `openssl pkcs8 -topk8 -nocrypt`"
                    .into(),
            )),
        }
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let info =
            pkcs8::PrivateKeyInfo::try_from(der).map_err(|e| KeyError::Malformed(e.to_string()))?;
        let (oid, params) = oid_and_params(&info.algorithm);
        let malformed = |e: pkcs8::Error| KeyError::Malformed(e.to_string());
        match classify(&oid, params.as_deref())? {
            Algorithm::Ed25519 => Ok(SigningKey::Ed25519(Box::new(
                ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(malformed)?,
            ))),
            Algorithm::EcdsaP256 => Ok(SigningKey::EcdsaP256(Box::new(
                p256::SecretKey::from_pkcs8_der(der).map_err(malformed)?,
            ))),
            Algorithm::EcdsaP384 => Ok(SigningKey::EcdsaP384(Box::new(
                p384::SecretKey::from_pkcs8_der(der).map_err(malformed)?,
            ))),
            Algorithm::EcdsaP521 => Ok(SigningKey::EcdsaP521(Box::new(
                p521::SecretKey::from_pkcs8_der(der).map_err(malformed)?,
            ))),
        }
    }
}

impl VerifyingKey {
    /// Which algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            VerifyingKey::Ed25519(_) => Algorithm::Ed25519,
            VerifyingKey::EcdsaP256(_) => Algorithm::EcdsaP256,
            VerifyingKey::EcdsaP384(_) => Algorithm::EcdsaP384,
            VerifyingKey::EcdsaP521(_) => Algorithm::EcdsaP521,
        }
    }

    /// Read an SPKI `PUBLIC KEY` PEM (as `modelsec keygen` and `openssl pkey -pubout` write).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let (label, der) = decode_pem(text)?;
        match label.as_str() {
            "PUBLIC KEY" => {}
            "PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" | "EC PRIVATE KEY" => {
                return Err(KeyError::PrivateWherePublic);
            }
            other => return Err(unsupported_label(other)),
        }
        Self::from_spki_der(&der)
    }

    /// Read a DER SubjectPublicKeyInfo (a certificate's key, say).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let info = spki::SubjectPublicKeyInfoRef::try_from(der)
            .map_err(|e| KeyError::Malformed(e.to_string()))?;
        let (oid, params) = oid_and_params(&info.algorithm);
        let malformed = |e: spki::Error| KeyError::Malformed(e.to_string());
        match classify(&oid, params.as_deref())? {
            Algorithm::Ed25519 => Ok(VerifyingKey::Ed25519(
                ed25519_dalek::VerifyingKey::from_public_key_der(der).map_err(malformed)?,
            )),
            Algorithm::EcdsaP256 => Ok(VerifyingKey::EcdsaP256(
                p256::PublicKey::from_public_key_der(der).map_err(malformed)?,
            )),
            Algorithm::EcdsaP384 => Ok(VerifyingKey::EcdsaP384(
                p384::PublicKey::from_public_key_der(der).map_err(malformed)?,
            )),
            Algorithm::EcdsaP521 => Ok(VerifyingKey::EcdsaP521(
                p521::PublicKey::from_public_key_der(der).map_err(malformed)?,
            )),
        }
    }

    /// SPKI DER.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, KeyError> {
        match self {
            VerifyingKey::Ed25519(k) => k.to_public_key_der(),
            VerifyingKey::EcdsaP256(k) => k.to_public_key_der(),
            VerifyingKey::EcdsaP384(k) => k.to_public_key_der(),
            VerifyingKey::EcdsaP521(k) => k.to_public_key_der(),
        }
        .map(|d| d.into_vec())
        .map_err(|e| KeyError::Encode(e.to_string()))
    }

    /// SPKI PEM with LF line endings and 64-column lines, as OpenSSL and Python write it.
    pub fn to_pem(&self) -> Result<String, KeyError> {
        match self {
            VerifyingKey::Ed25519(k) => k.to_public_key_pem(LineEnding::LF),
            VerifyingKey::EcdsaP256(k) => k.to_public_key_pem(LineEnding::LF),
            VerifyingKey::EcdsaP384(k) => k.to_public_key_pem(LineEnding::LF),
            VerifyingKey::EcdsaP521(k) => k.to_public_key_pem(LineEnding::LF),
        }
        .map_err(|e| KeyError::Encode(e.to_string()))
    }

    /// The OMS `verificationMaterial.publicKey.hint`: lowercase hex SHA-256 of [`Self::to_pem`],
    /// exactly as `model_signing` computes it.
    pub fn hint(&self) -> Result<String, KeyError> {
        Ok(hex::encode(Sha256::digest(self.to_pem()?.as_bytes())))
    }

    /// Whether `signature` is a valid signature of `message` by this key. Ed25519 uses strict
    /// verification (no malleable or small-order forms); ECDSA takes DER over the curve's hash.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self.algorithm().ecdsa_hash() {
            Some(h) => self.verify_ecdsa(message, signature, h),
            None => match self {
                VerifyingKey::Ed25519(k) => match ed25519_dalek::Signature::from_slice(signature) {
                    Ok(sig) => k.verify_strict(message, &sig).is_ok(),
                    Err(_) => false,
                },
                _ => false,
            },
        }
    }

    /// ECDSA verification over `message` hashed with `hash` (any hash with any curve: what
    /// model_signing 0.2.0 wrote was SHA-256 whatever the curve). False for Ed25519.
    pub fn verify_ecdsa(&self, message: &[u8], signature: &[u8], hash: EcdsaHash) -> bool {
        let digest = hash.digest(message);
        match self {
            VerifyingKey::Ed25519(_) => false,
            VerifyingKey::EcdsaP256(k) => ec_verify(k, &digest, signature),
            VerifyingKey::EcdsaP384(k) => ec_verify(k, &digest, signature),
            VerifyingKey::EcdsaP521(k) => ec_verify(k, &digest, signature),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_pw() -> Result<Zeroizing<String>, KeyError> {
        Err(KeyError::PassphraseRequired)
    }

    #[test]
    fn roundtrip_both_algorithms() {
        for alg in [
            Algorithm::Ed25519,
            Algorithm::EcdsaP256,
            Algorithm::EcdsaP384,
            Algorithm::EcdsaP521,
        ] {
            let sk = SigningKey::generate(alg);
            let pem = sk.to_pkcs8_pem(None).unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            let back = SigningKey::from_pem(&pem, &mut no_pw).unwrap();
            assert_eq!(back.algorithm(), alg);
            let vk = VerifyingKey::from_pem(&sk.verifying_key().to_pem().unwrap()).unwrap();
            let sig = back.sign(b"hello");
            assert!(vk.verify(b"hello", &sig));
            assert!(!vk.verify(b"hellO", &sig));
            if alg != Algorithm::EcdsaP521 {
                assert_eq!(sk.sign(b"x"), sk.sign(b"x"), "deterministic signatures");
            }
        }
    }

    #[test]
    fn encrypted_key_needs_the_right_passphrase() {
        let sk = SigningKey::generate(Algorithm::Ed25519);
        let pem = sk.to_pkcs8_pem(Some(b"correct horse")).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assert!(matches!(
            SigningKey::from_pem(&pem, &mut no_pw),
            Err(KeyError::PassphraseRequired)
        ));
        let mut wrong = || Ok(Zeroizing::new("wrong".to_string()));
        assert!(matches!(
            SigningKey::from_pem(&pem, &mut wrong),
            Err(KeyError::WrongPassphrase)
        ));
        let mut right = || Ok(Zeroizing::new("correct horse".to_string()));
        let back = SigningKey::from_pem(&pem, &mut right).unwrap();
        assert_eq!(back.verifying_key(), sk.verifying_key());
    }

    #[test]
    fn oms_example_key_and_hint() {
        // The throw-away P-256 test key from the OMS research (SEC1 PEM, made by openssl).
        let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIK155yTVIzoVU0B/NDLnmRUQjmcH4t5E2eALzp/M4/BOoAoGCCqGSM49\nAwEHoUQDQgAErzzDURAjZ2pIMMkD0eIatCm7Gf0WF+eeOOc51SWSoR5xddOERHxU\nMu0qI90J0Pq/MfPNqDF5l724W1ExXsWEFg==\n-----END EC PRIVATE KEY-----\n";
        let public = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAErzzDURAjZ2pIMMkD0eIatCm7Gf0W\nF+eeOOc51SWSoR5xddOERHxUMu0qI90J0Pq/MfPNqDF5l724W1ExXsWEFg==\n-----END PUBLIC KEY-----\n";
        let vk = VerifyingKey::from_pem(public).unwrap();
        assert_eq!(
            vk.hint().unwrap(),
            "b84667b779d91106f6cfb8ce5b71e8f4b98c1cbca2402c08903b426dc9306793"
        );
        let sk = SigningKey::from_pem(sec1, &mut no_pw).unwrap();
        assert_eq!(sk.algorithm(), Algorithm::EcdsaP256);
        assert_eq!(sk.verifying_key(), vk);
    }

    #[test]
    fn wrong_kinds_are_explained() {
        let sk = SigningKey::generate(Algorithm::Ed25519);
        let pub_pem = sk.verifying_key().to_pem().unwrap();
        assert!(matches!(
            SigningKey::from_pem(&pub_pem, &mut no_pw),
            Err(KeyError::PublicWherePrivate)
        ));
        let priv_pem = sk.to_pkcs8_pem(None).unwrap();
        assert!(matches!(
            VerifyingKey::from_pem(&priv_pem),
            Err(KeyError::PrivateWherePublic)
        ));
        assert!(matches!(
            VerifyingKey::from_pem("hello"),
            Err(KeyError::NotPem(_))
        ));
    }
}
