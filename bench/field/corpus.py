#!/usr/bin/env python3
"""Build the field corpus for `verify`: real OMS bundles as publishers make them, at bench time.

Everything lands under .local/field/verify/ (git-ignored); nothing here is committed but the code.

  1. venvs   one per released model_signing (PyPI), pinned by bench/field/requirements/ms-*.txt
  2. keys    P-256/P-384/P-521 made with openssl; a test PKI made with `openssl ca` (EC and RSA
             roots, intermediates, leaves with the KU/EKU model_signing checks, and broken leaves)
  3. bundles every offline mode each release has: key (3 curves), certificate, via its CLI where it
             has one, via its API for shards/blake2/blake3 and for 0.2.0 (no CLI in that package)
  4. vectors real bundles from a PyPI sdist: rh-model-signing==1.0.5 ships the upstream
             scripts/tests/ folders (Sigstore keyless, certificate and P-384 key bundles, one per
             release) byte-identical to sigstore/model-transparency; trusted roots are the ones
             sigstore==4.5.1 (PyPI) embeds for public-good and staging
  5. negatives tampered model, wrong key, wrong root, expired/misused leaf, wrong identity/issuer,
             staging root, tampered inclusion proof
  6. manifest.json: one record per case (what made it, options, trust inputs, expected exit)

Usage: corpus.py [--fresh]   (rebuilds keys and bundles each run; venvs/sdists are cached)
"""

import argparse
import base64
import copy
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
ROOT = REPO / ".local" / "field" / "verify"
VENVS = ROOT / "venv"
CORPUS = ROOT / "corpus"
DL = ROOT / "download"
PY = os.environ.get("PYTHON", "python3")

VERSIONS = ["0.2.0", "0.3.0", "0.3.1", "1.0.0", "1.0.1", "1.1.0", "1.1.1"]
REFERENCE = "1.1.1"  # the model_signing that verifies everything (has --trust_config: offline)
VECTORS_PKG = ("rh-model-signing", "1.0.5")
SIGSTORE_PKG = ("sigstore", "4.5.1")  # its wheel embeds trusted_root.json for prod and staging
CURVES = {"p256": "prime256v1", "p384": "secp384r1", "p521": "secp521r1"}
IDENTITY = "publisher@example.com"
UPSTREAM_ID = ("stefanb@us.ibm.com", "https://sigstore.verify.ibm.com/oauth2")


def run(cmd, **kw):
    kw.setdefault("check", True)
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run([str(c) for c in cmd], **kw)


def log(msg):
    print(f"corpus: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- 1. venvs
def venv_python(v):
    return VENVS / f"ms-{v}" / "bin" / "python"


def ms_cli(v):
    return VENVS / f"ms-{v}" / "bin" / "model_signing"


def ensure_venvs():
    VENVS.mkdir(parents=True, exist_ok=True)
    for v in VERSIONS:
        req = HERE / "requirements" / f"ms-{v}.txt"
        stamp = VENVS / f"ms-{v}.ok"
        if stamp.exists() and stamp.read_text() == req.read_text():
            continue
        log(f"installing model-signing=={v} into {VENVS}/ms-{v} (PyPI, pinned by {req.name})")
        shutil.rmtree(VENVS / f"ms-{v}", ignore_errors=True)
        run([PY, "-m", "venv", VENVS / f"ms-{v}"])
        run([venv_python(v), "-m", "pip", "install", "--quiet", "--no-deps", "-r", req])
        stamp.write_text(req.read_text())


def sdist(name, version):
    """Download a PyPI sdist (no build) and unpack it under DL; return the unpacked dir."""
    DL.mkdir(parents=True, exist_ok=True)
    stem = f"{name.replace('-', '_')}-{version}"
    out = DL / stem
    if out.is_dir():
        return out
    run([PY, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", name,
         f"{name}=={version}", "-d", DL])
    with tarfile.open(DL / f"{stem}.tar.gz") as t:
        try:
            t.extractall(DL, filter="data")
        except TypeError:  # Python < 3.11.4 has no extraction filters
            t.extractall(DL)
    return out


def trust_inputs():
    """trusted_root.json (prod, staging) as sigstore==4.5.1 embeds them, plus the
    ClientTrustConfig wrapper model_signing 1.1.x wants for --trust_config."""
    sp = run([venv_python(REFERENCE), "-c",
              "import sigstore,os;print(os.path.dirname(sigstore.__file__))"]).stdout.strip()
    got = run([venv_python(REFERENCE), "-c",
               "import importlib.metadata as m;print(m.version('sigstore'))"]).stdout.strip()
    assert got == SIGSTORE_PKG[1], f"sigstore {got} in ms-{REFERENCE}, expected {SIGSTORE_PKG[1]}"
    out = {}
    for inst, host in [("prod", "tuf-repo-cdn.sigstore.dev"), ("staging", "tuf-repo-cdn.sigstage.dev")]:
        store = pathlib.Path(sp) / "_store" / f"https%3A%2F%2F{host}"
        tr = json.loads((store / "trusted_root.json").read_text())
        sc = json.loads((store / "signing_config.v0.2.json").read_text())
        d = CORPUS / "trust"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{inst}-trusted_root.json").write_text(json.dumps(tr, indent=2))
        (d / f"{inst}-trust_config.json").write_text(json.dumps({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": tr, "signingConfig": sc}, indent=2))
        out[inst] = {
            "trusted_root": str(d / f"{inst}-trusted_root.json"),
            "trust_config": str(d / f"{inst}-trust_config.json"),
            "source": f"{SIGSTORE_PKG[0]}=={SIGSTORE_PKG[1]} (PyPI wheel) "
                      f"sigstore/_store/https%3A%2F%2F{host}/trusted_root.json",
        }
    return out


# ---------------------------------------------------------------------------- 2. keys, PKI
CA_CNF = """
[ca]
default_ca = CA_default
[CA_default]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}/newcerts
serial = {dir}/serial
default_md = sha256
policy = policy_any
preserve = yes
unique_subject = no
email_in_dn = no
copy_extensions = none
[policy_any]
commonName = supplied
organizationName = optional
[req]
distinguished_name = dn
[dn]
[v3_root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_int]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_int_nolen]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
# what OMS / model_signing wants of a signing leaf: digitalSignature and/or codeSigning
[v3_leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
subjectAltName = email:{identity}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_leaf_uri]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
subjectAltName = URI:https://github.com/example/models/.github/workflows/release.yml@refs/heads/main
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
# like model_signing's own test leaf (certtool "ca" + code_signing_key + signing_key)
[v3_leaf_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,keyCertSign
extendedKeyUsage = codeSigning
subjectAltName = email:{identity}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_leaf_ekuonly]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = codeSigning
subjectAltName = email:{identity}
[v3_leaf_kuonly]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectAltName = email:{identity}
[v3_leaf_misuse]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = email:{identity}
"""


class PKI:
    def __init__(self, d):
        self.d = d
        d.mkdir(parents=True, exist_ok=True)
        (d / "newcerts").mkdir(exist_ok=True)
        (d / "index.txt").write_text("")
        (d / "serial").write_text("1000\n")
        self.cnf = d / "ca.cnf"
        self.cnf.write_text(CA_CNF.format(dir=d, identity=IDENTITY))

    def key(self, name, kind):
        k = self.d / f"{name}.key"
        if kind.startswith("rsa"):
            run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                 f"rsa_keygen_bits:{kind[3:]}", "-out", k])
        else:
            run(["openssl", "ecparam", "-name", CURVES[kind], "-genkey", "-noout", "-out", k])
        run(["openssl", "pkey", "-in", k, "-pubout", "-out", self.d / f"{name}.pub"])
        return k

    def cert(self, name, kind, cn, ext, issuer=None, start="20200101000000Z", end="20450101000000Z"):
        """Issue NAME (new key of KIND) with extensions section EXT, signed by ISSUER (or self)."""
        k = self.key(name, kind)
        csr = self.d / f"{name}.csr"
        run(["openssl", "req", "-new", "-key", k, "-subj", f"/O=modelsec field bench/CN={cn}",
             "-out", csr, "-config", self.cnf])
        cmd = ["openssl", "ca", "-batch", "-notext", "-config", self.cnf, "-in", csr,
               "-out", self.d / f"{name}.pem", "-extensions", ext, "-startdate", start,
               "-enddate", end]
        if issuer is None:
            cmd += ["-selfsign", "-keyfile", k]
        else:
            cmd += ["-cert", self.d / f"{issuer}.pem", "-keyfile", self.d / f"{issuer}.key"]
        run(cmd)
        return self.d / f"{name}.pem"

    def path(self, name, suffix="pem"):
        return str(self.d / f"{name}.{suffix}")

    def bundle(self, out, *names):
        p = self.d / out
        p.write_text("".join((self.d / f"{n}.pem").read_text() for n in names))
        return str(p)


def make_pki():
    pki = PKI(CORPUS / "pki")
    # EC hierarchy (root P-384 -> intermediate P-256 -> leaves)
    pki.cert("root", "p384", "Field Root CA", "v3_root")
    pki.cert("int", "p256", "Field Intermediate CA", "v3_int", issuer="root")
    for kind in CURVES:
        pki.cert(f"leaf-{kind}", kind, f"Field signer {kind}", "v3_leaf", issuer="int",
                 start="20240101000000Z", end="20440101000000Z")
    pki.cert("leaf-uri", "p256", "Field CI signer", "v3_leaf_uri", issuer="int",
             start="20240101000000Z", end="20440101000000Z")
    for ext in ["ca", "ekuonly", "kuonly", "misuse"]:
        pki.cert(f"leaf-{ext}", "p256", f"Field signer {ext}", f"v3_leaf_{ext}", issuer="int",
                 start="20240101000000Z", end="20440101000000Z")
    pki.cert("leaf-expired", "p256", "Field signer expired", "v3_leaf", issuer="int",
             start="20210101000000Z", end="20210601000000Z")
    # a leaf straight under the root (no intermediate), and a chain with two intermediates
    pki.cert("leaf-direct", "p256", "Field signer direct", "v3_leaf", issuer="root",
             start="20240101000000Z", end="20440101000000Z")
    pki.cert("int1", "p384", "Field Intermediate 1", "v3_int_nolen", issuer="root")
    pki.cert("int2", "p256", "Field Intermediate 2", "v3_int", issuer="int1")
    pki.cert("leaf-deep", "p256", "Field signer deep", "v3_leaf", issuer="int2",
             start="20240101000000Z", end="20440101000000Z")
    # RSA hierarchy, EC leaf (as model_signing's own test PKI: certtool's default RSA CAs)
    pki.cert("rsaroot", "rsa3072", "Field RSA Root CA", "v3_root")
    pki.cert("rsaint", "rsa2048", "Field RSA Intermediate CA", "v3_int", issuer="rsaroot")
    pki.cert("leaf-rsachain", "p256", "Field signer under RSA", "v3_leaf", issuer="rsaint",
             start="20240101000000Z", end="20440101000000Z")
    # an unrelated root (wrong trust anchor)
    pki.cert("otherroot", "p256", "Other Root CA", "v3_root")
    # plain keys
    for kind in CURVES:
        pki.key(f"key-{kind}", kind)
        pki.key(f"other-{kind}", kind)
    return pki


# ---------------------------------------------------------------------------- 3. models
def prng(seed, n):
    return hashlib.shake_256(f"modelsec-field-{seed}".encode()).digest(n)


def make_models():
    d = CORPUS / "models" / "model-dir"
    files = {
        "config.json": b'{"architectures": ["FieldNet"], "hidden_size": 64}\n',
        "model.safetensors": prng("weights", 300_000),
        "tokenizer/tokenizer.json": b'{"version": "1.0", "model": {"type": "BPE"}}\n',
        "tokenizer/vocab.txt": b"a\nb\nc\n",
        ".hidden": b"dotfile\n",
        "a/b": b"ab\n", "a-b": b"a-b\n", "a.txt": b"a.txt\n",
        "__init__.py": b"",
    }
    for name, data in files.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    f = CORPUS / "models" / "model-file" / "model.bin"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_bytes(prng("single", 200_000))
    return d, f


def tampered_copy(src, name):
    dst = CORPUS / "tampered" / name
    shutil.rmtree(dst, ignore_errors=True)
    if src.is_dir():
        shutil.copytree(src, dst)
        target = dst / "config.json" if (dst / "config.json").exists() else sorted(
            p for p in dst.rglob("*") if p.is_file() and p.name != "model.sig" and p.stat().st_size)[0]
    else:
        dst.mkdir(parents=True)
        dst = dst / src.name
        shutil.copy(src, dst)
        target = dst
    b = bytearray(target.read_bytes())
    b[len(b) // 2] ^= 1
    target.write_bytes(bytes(b))
    return dst


# ---------------------------------------------------------------------------- 4. signing
# 0.3.1, 1.0.0 and 1.0.1: signing.Config.__init__ calls use_sigstore_signer(), which refreshes
# Sigstore's TUF metadata over the network, so even `sign key` fails offline ("Failed to refresh
# TUF metadata"). 0.3.0's CLI built its signers directly; 1.1.0 made the default signer lazy.
EAGER_SIGSTORE = {"0.3.1", "1.0.0", "1.0.1"}
OFFLINE_CLI = ("import sys, model_signing.signing as s; "
               "s.Config.use_sigstore_signer = lambda self, *a, **k: self; "
               "from model_signing._cli import main; sys.argv[0] = 'model_signing'; main()")


def sign(v, mode, model, sig, key, cert=None, chain=(), api=False, ser="files", hsh="sha256",
         shard=None):
    """Sign with model_signing==v; CLI unless api (or 0.2.0, which has no CLI)."""
    if v == "0.2.0":
        api = True
    if api:
        cmd = [venv_python(v), HERE / "ms_sign.py", "--mode", mode, "--model", model,
               "--signature", sig, "--private-key", key, "--serialization", ser, "--hash", hsh]
        if shard:
            cmd += ["--shard-size", shard]
        if cert:
            cmd += ["--signing-certificate", cert]
        for c in chain:
            cmd += ["--certificate-chain", c]
    elif v in EAGER_SIGSTORE:
        # same CLI code path, with signing.Config()'s eager Sigstore signer (TUF refresh over
        # the network) turned into a no-op; the key/certificate signer replaces it anyway
        cmd = [venv_python(v), "-c", OFFLINE_CLI, "sign", mode, model, "--signature", sig,
               "--private_key", key]
    else:
        cmd = [ms_cli(v), "sign", mode, model, "--signature", sig, "--private_key", key]
    if cert and not api:
        cmd += ["--signing_certificate", cert]
        for c in chain:
            cmd += ["--certificate_chain", c]
    r = run(cmd, check=False)
    # the CLI of 0.3.x-1.0.x prints "Signing failed" and still exits 0
    text = (r.stderr + r.stdout).strip()
    ok = r.returncode == 0 and os.path.exists(sig) and "failed" not in text.lower()
    err = "" if ok else (text.splitlines() or ["no output"])[-1][:200]
    how = "API" if api else "CLI"
    if v in EAGER_SIGSTORE:
        how += " (eager Sigstore signer disabled)"
    return ok, err, how


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fresh", action="store_true", help="also reinstall venvs and sdists")
    args = ap.parse_args()
    if args.fresh:
        shutil.rmtree(VENVS, ignore_errors=True)
        shutil.rmtree(DL, ignore_errors=True)
    shutil.rmtree(CORPUS, ignore_errors=True)
    CORPUS.mkdir(parents=True)
    ensure_venvs()
    trust = trust_inputs()
    pki = make_pki()
    model_dir, model_file = make_models()
    sigdir = CORPUS / "sigs"
    sigdir.mkdir()
    cases = []

    def add(**c):
        c.setdefault("expect", 0)
        c.setdefault("negative", "")
        c.setdefault("ignore", [])
        c.setdefault("ms_api", None)
        cases.append(c)
        return c

    chain = pki.path("int")
    root = pki.path("root")
    made = {}

    # -- generated: key mode, every release, every curve (directory), P-256 single file
    for v in VERSIONS:
        for kind in CURVES:
            for mname, model in [("dir", model_dir), ("file", model_file)]:
                if mname == "file" and kind != "p256":
                    continue
                cid = f"gen-{v}-key-{kind}-{mname}"
                sig = sigdir / f"{cid}.sig"
                ok, err, how = sign(v, "key", model, sig, pki.path(f"key-{kind}", "key"))
                made[cid] = add(id=cid, source=f"model_signing=={v} {how} (generated)", version=v,
                                mode="key", key=kind, options=f"{mname}, files, sha256",
                                model=str(model), signature=str(sig), signed=ok, sign_error=err,
                                pub=pki.path(f"key-{kind}", "pub"))
        # certificate mode: EC chain, P-256 leaf (P-384/P-521 leaves with 1.1.1 below)
        cid = f"gen-{v}-cert-p256-dir"
        sig = sigdir / f"{cid}.sig"
        ok, err, how = sign(v, "certificate", model_dir, sig, pki.path("leaf-p256", "key"),
                            cert=pki.path("leaf-p256"), chain=[chain])
        made[cid] = add(id=cid, source=f"model_signing=={v} {how} (generated)", version=v,
                        mode="certificate", key="p256 leaf, P-256 int, P-384 root",
                        options="dir, files, sha256", model=str(model_dir), signature=str(sig),
                        signed=ok, sign_error=err, roots=root, leaf=pki.path("leaf-p256"),
                        leaf_pub=pki.path("leaf-p256", "pub"), identity=IDENTITY)

    # -- generated: serialization / hash options through the API (P-256 key)
    api_variants = [("1.1.1", "files", "blake2", None), ("1.1.1", "files", "blake3", None),
                    ("1.1.1", "shards", "sha256", 100_000), ("1.1.1", "shards", "blake2", 100_000),
                    ("1.0.1", "files", "blake2", None), ("1.0.1", "shards", "sha256", 100_000),
                    ("0.3.1", "shards", "sha256", 100_000), ("0.2.0", "shards", "sha256", 100_000)]
    for v, ser, hsh, shard in api_variants:
        cid = f"gen-{v}-key-p256-dir-{ser}-{hsh}"
        sig = sigdir / f"{cid}.sig"
        ok, err, how = sign(v, "key", model_dir, sig, pki.path("key-p256", "key"), api=True,
                            ser=ser, hsh=hsh, shard=shard)
        add(id=cid, source=f"model_signing=={v} API (generated)", version=v, mode="key",
            key="p256", options=f"dir, {ser}, {hsh}" + (f", shard_size={shard}" if shard else ""),
            model=str(model_dir), signature=str(sig), signed=ok, sign_error=err,
            pub=pki.path("key-p256", "pub"),
            ms_api={"serialization": ser, "hash": hsh, "shard_size": shard})

    # -- generated: certificate-mode chain variants (1.1.1 CLI)
    v = REFERENCE
    cert_variants = [
        ("p384", "leaf-p384", [chain], "P-384 leaf"),
        ("p521", "leaf-p521", [chain], "P-521 leaf"),
        ("uri-san", "leaf-uri", [chain], "P-256 leaf, SAN URI (CI workflow identity)"),
        ("leaf-is-ca", "leaf-ca", [chain], "leaf CA:TRUE + codeSigning (as model_signing's test PKI)"),
        ("eku-only", "leaf-ekuonly", [chain], "leaf with EKU codeSigning, no KeyUsage"),
        ("ku-only", "leaf-kuonly", [chain], "leaf with KU digitalSignature, no EKU"),
        ("no-intermediate", "leaf-direct", [root], "leaf issued by the root; bundle = [leaf, root]"),
        ("two-intermediates", "leaf-deep", [pki.path("int2"), pki.path("int1")], "root -> int1 -> int2 -> leaf"),
        ("rsa-cas", "leaf-rsachain", [pki.path("rsaint")], "RSA-3072 root, RSA-2048 int, P-256 leaf"),
    ]
    for tag, leaf, ch, desc in cert_variants:
        cid = f"gen-{v}-cert-{tag}"
        sig = sigdir / f"{cid}.sig"
        ok, err, how = sign(v, "certificate", model_dir, sig, pki.path(leaf, "key"),
                            cert=pki.path(leaf), chain=ch)
        made[cid] = add(id=cid, source=f"model_signing=={v} {how} (generated)", version=v,
                        mode="certificate", key=desc, options="dir, files, sha256",
                        model=str(model_dir), signature=str(sig), signed=ok, sign_error=err,
                        roots=pki.path("rsaroot") if tag == "rsa-cas" else root,
                        leaf=pki.path(leaf), leaf_pub=pki.path(leaf, "pub"),
                        identity=None if tag == "uri-san" else IDENTITY)
    cid = f"gen-{v}-cert-p256-single-file"
    sig = sigdir / f"{cid}.sig"
    ok, err, how = sign(v, "certificate", model_file, sig, pki.path("leaf-p256", "key"),
                        cert=pki.path("leaf-p256"), chain=[chain])
    add(id=cid, source=f"model_signing=={v} {how} (generated)", version=v, mode="certificate",
        key="p256 leaf", options="file, files, sha256", model=str(model_file), signature=str(sig),
        signed=ok, sign_error=err, roots=root, leaf=pki.path("leaf-p256"),
        leaf_pub=pki.path("leaf-p256", "pub"), identity=IDENTITY)

    # -- generated negatives (signing succeeds; verification must not)
    def neg(base, cid, what, **over):
        b = made[base]
        c = copy.deepcopy(b)
        c.update(id=cid, negative=what, expect=1, **over)
        cases.append(c)

    neg("gen-1.1.1-key-p256-dir", "neg-tampered-key", "tampered model file",
        model=str(tampered_copy(model_dir, "key-p256-dir")))
    neg("gen-1.1.1-key-p256-dir", "neg-wrong-key", "wrong key (another P-256)",
        pub=pki.path("other-p256", "pub"))
    neg("gen-1.1.1-key-p384-dir", "neg-wrong-key-p384", "wrong key (another P-384)",
        pub=pki.path("other-p384", "pub"))
    neg("gen-1.1.1-cert-p256-dir", "neg-tampered-cert", "tampered model file",
        model=str(tampered_copy(model_dir, "cert-p256-dir")))
    neg("gen-1.1.1-cert-p256-dir", "neg-wrong-root", "wrong trust anchor", roots=pki.path("otherroot"))
    neg("gen-1.1.1-cert-p256-dir", "neg-intermediate-as-anchor-only",
        "trust anchor = the intermediate only (root not given)", roots=chain)
    neg("gen-1.1.1-cert-p256-dir", "neg-wrong-identity", f"pinned identity other@example.com (SAN {IDENTITY})",
        identity="other@example.com")
    cid = "neg-expired-leaf"
    sig = sigdir / f"{cid}.sig"
    ok, err, how = sign(v, "certificate", model_dir, sig, pki.path("leaf-expired", "key"),
                        cert=pki.path("leaf-expired"), chain=[chain])
    add(id=cid, source=f"model_signing=={v} {how} (generated)", version=v, mode="certificate",
        key="P-256 leaf valid 2021-01-01..2021-06-01", options="dir, files, sha256",
        model=str(model_dir), signature=str(sig), signed=ok, sign_error=err, roots=root,
        leaf=pki.path("leaf-expired"), leaf_pub=pki.path("leaf-expired", "pub"), identity=IDENTITY,
        negative="expired leaf (no timestamp in the bundle)", expect=1)
    cid = "neg-misused-leaf"
    sig = sigdir / f"{cid}.sig"
    ok, err, how = sign(v, "certificate", model_dir, sig, pki.path("leaf-misuse", "key"),
                        cert=pki.path("leaf-misuse"), chain=[chain])
    add(id=cid, source=f"model_signing=={v} {how} (generated)", version=v, mode="certificate",
        key="P-256 leaf KU keyEncipherment, EKU serverAuth", options="dir, files, sha256",
        model=str(model_dir), signature=str(sig), signed=ok, sign_error=err, roots=root,
        leaf=pki.path("leaf-misuse"), leaf_pub=pki.path("leaf-misuse", "pub"), identity=IDENTITY,
        negative="leaf not for signing (no digitalSignature, no codeSigning)", expect=1)

    # -- several signers: two bundles over the same model, distinct keys (P-256 + P-384)
    a, b = made["gen-1.1.1-key-p256-dir"], made["gen-1.1.1-key-p384-dir"]
    add(id="multi-2of2", source="model_signing==1.1.1 CLI x2 (generated)", version="1.1.1",
        mode="threshold", key="p256 + p384", options="--threshold 2, two bundles",
        model=str(model_dir), signature=[a["signature"], b["signature"]],
        pub=[a["pub"], b["pub"]], threshold=2, signed=a["signed"] and b["signed"], sign_error="")
    add(id="neg-multi-2of2-one-sig", source="model_signing==1.1.1 CLI (generated)", version="1.1.1",
        mode="threshold", key="p256 + p384", options="--threshold 2, one bundle",
        model=str(model_dir), signature=[a["signature"]], pub=[a["pub"], b["pub"]], threshold=2,
        signed=a["signed"], sign_error="", negative="threshold 2 but one signer", expect=1)
    add(id="neg-multi-same-key-twice", source="model_signing==1.1.1 CLI (generated)", version="1.1.1",
        mode="threshold", key="p256 twice", options="--threshold 2, same bundle twice",
        model=str(model_dir), signature=[a["signature"], a["signature"]], pub=[a["pub"], b["pub"]],
        threshold=2, signed=a["signed"], sign_error="", negative="same signer counted twice",
        expect=1)

    # -- real vectors (PyPI: rh-model-signing==1.0.5 sdist, scripts/tests/)
    src = sdist(*VECTORS_PKG) / "scripts" / "tests"
    vec = CORPUS / "vectors"
    shutil.copytree(src, vec)
    vsrc = f"{VECTORS_PKG[0]}=={VECTORS_PKG[1]} sdist (PyPI)"
    vroot = str(vec / "keys" / "certificate" / "ca-cert.pem")
    vpub = str(vec / "keys" / "certificate" / "signing-key-pub.pem")
    for rel in ["v0.2.0", "v0.3.1", "v1.0.0", "v1.0.1", "v1.1.0"]:
        for mode in ["certificate", "elliptic-key", "sigstore"]:
            d = vec / f"{rel}-{mode}"
            if not d.is_dir():
                continue
            model = d / "signme-1" if mode == "elliptic-key" and rel in ("v0.3.1", "v1.0.0") else d
            ign = ["ignore-me"] if (d / "ignore-me").exists() else []
            c = dict(id=f"vec-{rel}-{mode}", source=f"{vsrc} scripts/tests/{rel}-{mode}/model.sig",
                     version=rel[1:], model=str(model), signature=str(d / "model.sig"), signed=True,
                     sign_error="", ignore=ign)
            if mode == "certificate":
                c.update(mode="certificate", key="P-384 leaf (CA:TRUE), RSA int + root",
                         options="dir, files, sha256" if rel != "v0.2.0" else "dir, Digests/v0.1",
                         roots=vroot, leaf_pub=vpub, identity=None)
            elif mode == "elliptic-key":
                c.update(mode="key", key="p384", pub=vpub,
                         options="file, files, sha256" if model.is_file() else "dir, files, sha256")
            else:
                c.update(mode="sigstore", key="Fulcio P-256 (email SAN)",
                         options="dir, files, sha256", identity=UPSTREAM_ID[0],
                         issuer=UPSTREAM_ID[1], trust="prod")
            made[c["id"]] = add(**c)

    # -- sigstore negatives on the newest vector (has an RFC 3161 timestamp too) and v1.0.1
    for base in ["vec-v1.1.0-sigstore", "vec-v1.0.1-sigstore"]:
        b = made[base]
        short = base[4:]
        neg(base, f"neg-{short}-wrong-identity", "wrong identity", identity="someone@example.com")
        neg(base, f"neg-{short}-wrong-issuer", "wrong OIDC issuer", issuer="https://accounts.google.com")
        neg(base, f"neg-{short}-staging-root", "staging trusted root for a public-good bundle",
            trust="staging")
        # tampered inclusion proof: flip one byte of the first audit-path hash
        bundle = json.loads(pathlib.Path(b["signature"]).read_text())
        proof = bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
        h = bytearray(base64.b64decode(proof["hashes"][0]))
        h[0] ^= 1
        proof["hashes"][0] = base64.b64encode(bytes(h)).decode()
        tdir = CORPUS / "tampered" / f"{short}-proof"
        shutil.copytree(b["model"], tdir)
        (tdir / "model.sig").write_text(json.dumps(bundle))
        neg(base, f"neg-{short}-tampered-proof", "tampered Rekor inclusion proof",
            model=str(tdir), signature=str(tdir / "model.sig"))
        # tampered SET: flip a byte of the signed entry timestamp
        bundle = json.loads(pathlib.Path(b["signature"]).read_text())
        tl = bundle["verificationMaterial"]["tlogEntries"][0]
        tl["integratedTime"] = str(int(tl["integratedTime"]) + 1)
        tdir = CORPUS / "tampered" / f"{short}-time"
        shutil.copytree(b["model"], tdir)
        (tdir / "model.sig").write_text(json.dumps(bundle))
        neg(base, f"neg-{short}-tampered-time", "integratedTime changed (SET no longer matches)",
            model=str(tdir), signature=str(tdir / "model.sig"))
        t = tampered_copy(pathlib.Path(b["model"]), f"{short}-model")
        neg(base, f"neg-{short}-tampered-model", "tampered model file", model=str(t),
            signature=str(t / "model.sig"))
    neg("vec-v1.1.0-certificate", "neg-vec-v1.1.0-certificate-wrong-root", "wrong trust anchor",
        roots=pki.path("otherroot"))

    manifest = {"trust": trust, "reference": REFERENCE, "cases": cases,
                "pki": str(pki.d), "identity": IDENTITY}
    (ROOT / "manifest.json").write_text(json.dumps(manifest, indent=1))
    bad = [c["id"] for c in cases if not c["signed"]]
    log(f"{len(cases)} cases in {ROOT / 'manifest.json'}; signing failed for: {', '.join(bad) or 'none'}")


if __name__ == "__main__":
    main()
