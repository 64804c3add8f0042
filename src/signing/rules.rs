//! The catalogue of `verify` rule ids. Ids are stable: never rename one, add a new one instead.

use crate::report::{Rule, Severity};

crate::rule_catalogue! {
    SIGNATURE_INVALID = ("verify/signature-invalid", Critical,
        "No DSSE signature in the bundle verifies with the given public key",
        "the bundle or its payload was altered, or it was signed by another key: re-sign the model, or verify with the signer's public key");
    WRONG_KEY = ("verify/wrong-key", Critical,
        "The bundle names (publicKey.hint) a different key than the one given",
        "verify with the public key that signed the model; the hint is the SHA-256 of the signer's SPKI PEM");
    NO_SIGNATURE = ("verify/no-signature", Critical,
        "The DSSE envelope holds no signatures",
        "the bundle is incomplete; sign the model again");
    MEDIA_TYPE = ("verify/bundle-media-type", High,
        "The bundle's mediaType is not a Sigstore bundle v0.3",
        "OMS bundles use application/vnd.dev.sigstore.bundle.v0.3+json");
    PAYLOAD_TYPE = ("verify/payload-type", Critical,
        "The DSSE payloadType is not an in-toto statement",
        "OMS payloads are application/vnd.in-toto+json; the bundle was altered or is not an OMS signature");
    STATEMENT_INVALID = ("verify/statement-invalid", Critical,
        "The signed payload is not a well-formed in-toto Statement v1",
        "the payload was altered or was not written by an OMS signer; sign the model again");
    PREDICATE_TYPE = ("verify/predicate-type", Critical,
        "The statement's predicateType is not the OMS model-signing predicate",
        "expected https://model_signing/signature/v1.0; the payload was altered or signs something other than a model");
    SUBJECT_DIGEST = ("verify/subject-digest", Critical,
        "The subject digest does not match the signed resources",
        "the statement is inconsistent (subject or resources edited); sign the model again");
    MANIFEST_PATH = ("verify/manifest-path", Critical,
        "A manifest path is absolute, contains `..`, or is otherwise not a plain relative path",
        "a legitimate signer never writes such a path; treat the bundle as hostile");
    MANIFEST_DUPLICATE = ("verify/manifest-duplicate", Critical,
        "A path appears more than once in the manifest",
        "a legitimate signer never writes duplicates; treat the bundle as hostile");
    MANIFEST_EMPTY = ("verify/manifest-empty", High,
        "The manifest signs no files",
        "an empty signature proves nothing about the model; sign the model again");
    HASH_ALGORITHM = ("verify/hash-algorithm", Critical,
        "A resource uses a hash algorithm modelsec does not know, so it cannot be checked",
        "OMS allows sha256, blake2b and blake3");
    FILE_MODIFIED = ("verify/file-modified", Critical,
        "A signed file's content differs from its signed digest",
        "the file changed after signing: restore it from a trusted source, or re-sign if the change is intended");
    FILE_MISSING = ("verify/file-missing", Critical,
        "A signed file is missing from the model",
        "restore the file, or re-sign if removing it is intended");
    FILE_UNEXPECTED = ("verify/file-unexpected", Critical,
        "The model contains a file that the signature does not cover",
        "remove the file, or re-sign the model if it belongs there");
    FILE_RENAMED = ("verify/file-renamed", Critical,
        "A signed file was renamed (same content, other path)",
        "rename it back, or re-sign the model if the rename is intended");
    SYMLINK = ("verify/symlink", Critical,
        "The model contains a symlink the signature does not allow (or one that is never allowed)",
        "replace the symlink with the signed file; symlinked directories and links out of the model are always refused");
    SPECIAL_FILE = ("verify/special-file", High,
        "The model contains a FIFO, socket or device",
        "remove it; a model holds regular files only");
    NON_UTF8 = ("verify/non-utf8-name", High,
        "A file name in the model is not valid UTF-8",
        "rename the file; OMS manifests record UTF-8 names only");
    UNREADABLE = ("verify/unreadable", High,
        "A file could not be fully read, so it is not verified",
        "fix permissions or I/O errors and verify again; an unread file is never treated as verified");
    IGNORE_PATH = ("verify/ignore-path", High,
        "An ignore path differs from what was signed",
        "verify re-applies exactly the ignore paths recorded in the signature; drop the extra --ignore or re-sign with it");
    UNSIGNED_EMPTY_FILE = ("verify/unsigned-empty-file", Info,
        "An empty file exists that a shards-method bundle cannot record",
        "model_signing's shards method omits empty files; re-sign with the files method (modelsec sign) to cover them");
    SCAN_MISSING = ("verify/scan-missing", High,
        "--require-scan: the signature does not record a modelsec scan",
        "sign with modelsec (it scans first), or drop --require-scan for signatures made by other OMS tools");
    SCAN_NOT_CLEAN = ("verify/scan-not-clean", High,
        "--require-scan: the signature records a scan that was not clean (signed with --allow-unsafe)",
        "the signer overrode scan findings; review the model, fix it and re-sign");
    SCAN_POLICY = ("verify/scan-policy", High,
        "--scan-policy: the recorded scan used a different allow-list than the one required",
        "a signer's own allow-list (or profile) can accept globals the required policy does not; re-scan and re-sign with the required policy");
    LEGACY_KEY_REFERENCE = ("verify/legacy-key-reference", Info,
        "The bundle does not name its key (no publicKey.hint)",
        "bundles from model_signing before 1.1 lack the hint; the signature is still checked against the given key");
    MATERIAL_MISMATCH = ("verify/material-mismatch", Critical,
        "The bundle is signed in another mode than the trust input given (key, certificate chain, Sigstore keyless)",
        "verify a key-mode bundle with --key, a certificate-mode bundle with --certificate-chain, a Sigstore bundle with --certificate-identity and --certificate-oidc-issuer");
    CERT_UNTRUSTED = ("verify/certificate-untrusted", Critical,
        "The signing certificate does not chain to a root of the given trust anchors",
        "pass the publisher's root certificate with --certificate-chain; the bundle must carry the intermediates");
    CERT_EXPIRED = ("verify/certificate-expired", Critical,
        "A certificate of the signing chain is not valid at the verification time",
        "certificate-mode bundles carry no trusted timestamp, so the chain must be valid now: ask the publisher to re-sign with a current certificate");
    CERT_USAGE = ("verify/certificate-usage", Critical,
        "The signing certificate may not sign models (key usage, extended key usage, a CA key), or a chain certificate may not issue",
        "OMS signing certificates have keyUsage digitalSignature and/or extendedKeyUsage codeSigning and are not CA keys; issuers are CAs with keyCertSign");
    LEAF_IS_CA = ("verify/leaf-is-ca", Info,
        "The signing certificate is marked CA:TRUE but its key usage forbids certificate signing; accepted as a leaf",
        "issue signing certificates with basicConstraints CA:FALSE (model_signing's test PKI does not)");
    IDENTITY_MISMATCH = ("verify/identity-mismatch", Critical,
        "The signer's identity (certificate SAN) or OIDC issuer is not the one required",
        "check --certificate-identity(-regexp) and --certificate-oidc-issuer(-regexp): the model was signed by someone else");
    IDENTITY_NOT_PINNED = ("verify/identity-not-pinned", Info,
        "Certificate mode without --certificate-identity: any certificate the trust anchors issued is accepted",
        "pin the publisher's signing identity with --certificate-identity SAN or --certificate-identity-regexp RE");
    KEYLESS_INVALID = ("verify/keyless-invalid", Critical,
        "The Sigstore keyless evidence does not verify: Fulcio chain, SCT, transparency log inclusion, timestamps or signature",
        "the bundle was altered or comes from another Sigstore instance: pass that instance's --trusted-root, or obtain an untampered bundle");
    THRESHOLD_NOT_MET = ("verify/threshold-not-met", Critical,
        "Fewer distinct trusted signers than --threshold signed the model",
        "each valid bundle counts once per distinct signer; add the missing signatures or lower --threshold if policy allows");
    UNSIGNED_FILE_IGNORED = ("verify/unsigned-file-ignored", Info,
        "A file not covered by the signature was left unchecked (--ignore-unsigned-files or an --ignore that covers no signed file)",
        "the signature proves nothing about this file; remove it if it should not be there");
}
