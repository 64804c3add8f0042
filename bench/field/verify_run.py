#!/usr/bin/env python3
"""Run model_signing and modelsec side by side on every case of the field corpus.

Reads .local/field/verify/manifest.json (bench/field/corpus.py), prints a Markdown table and
writes results.json / results.md next to the manifest.

Columns:
  expect    what a correct, strict verifier answers (0 verified, 1 verification failed)
  m_s 1.1.1 model_signing 1.1.1 (the reference; offline: --trust_config for Sigstore) CLI;
            for bundles its CLI cannot read (shards, blake2/blake3) also its API with the
            bundle's hashing configuration ("api")
  m_s own   the CLI of the release that made the bundle, where it has one and can run offline
  modelsec  $MODELSEC (default target/release/modelsec): exit code and first line of error

modelsec's flags are detected from `modelsec verify --help`: --certificate-chain,
--certificate-identity, --certificate-oidc-issuer, --trusted-root, --threshold (and then a
repeated --key / --signature). Without the certificate or Sigstore flags the case is still run,
with --key and the leaf certificate's public key, to show what the binary says of the bundle.

Usage: verify_run.py [--only SUBSTRING]
"""

import argparse
import base64
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
ROOT = REPO / ".local" / "field" / "verify"
VENVS = ROOT / "venv"
EAGER_SIGSTORE = {"0.3.1", "1.0.0", "1.0.1"}
OFFLINE_CLI = ("import sys, model_signing.signing as s; "
               "s.Config.use_sigstore_signer = lambda self, *a, **k: self; "
               "from model_signing._cli import main; sys.argv[0] = 'model_signing'; main()")
CLI_VERSIONS = {"0.3.0", "0.3.1", "1.0.0", "1.0.1", "1.1.0", "1.1.1"}
TIMEOUT = 120


def first_line(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    for line in lines:  # model_signing: the one line that says why
        if "failed with error" in line:
            return line.split("failed with error:", 1)[1].strip() or "(empty message)"
    for line in lines:
        if not line.startswith(("WARNING", "INFO", "help:")) and "Warning" not in line:
            return line
    return ""


def execute(cmd, cwd=None):
    try:
        r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=TIMEOUT,
                           cwd=cwd)
    except subprocess.TimeoutExpired:
        return {"rc": "timeout", "msg": f"timeout after {TIMEOUT}s", "cmd": [str(c) for c in cmd]}
    out = r.stdout + r.stderr
    rc = r.returncode
    # model_signing 0.3.x-1.0.x print "Verification failed" and still exit 0
    if rc == 0 and "failed with error" in out:
        rc = "0*"
    msg = "ok" if rc == 0 else (first_line(r.stderr) or first_line(r.stdout))
    msg = msg.replace(str(ROOT) + "/", "").replace("error: ", "", 1)
    msg = re.sub(r"^signature bundle `[^`]*` cannot be used: ", "", msg)
    return {"rc": rc, "msg": msg[:200], "cmd": [str(c) for c in cmd]}


def ms_cmd(v):
    py = VENVS / f"ms-{v}" / "bin" / "python"
    if v in EAGER_SIGSTORE:
        return [py, "-c", OFFLINE_CLI]
    return [VENVS / f"ms-{v}" / "bin" / "model_signing"]


def ignore_args(case, flag):
    out = []
    for i in case.get("ignore", []):
        out += [flag, str(pathlib.Path(case["model"]) / i)]
    return out


def ms_verify(v, case, trust):
    mode = case["mode"]
    m, s = case["model"], case["signature"]
    if mode == "threshold":
        # model_signing has no multi-signer: each bundle on its own against its key
        rs = [execute(ms_cmd(v) + ["verify", "key", m, "--signature", sig, "--public_key", pub])
              for sig, pub in zip(case["signature"], case["pub"])]
        return {"rc": "/".join(str(r["rc"]) for r in rs), "msg": "each bundle alone (no threshold)",
                "cmd": [r["cmd"] for r in rs]}
    base = ms_cmd(v) + ["verify"]
    if mode == "key":
        cmd = base + ["key", m, "--signature", s, "--public_key", case["pub"]]
        cmd += ignore_args(case, "--ignore-paths")
    elif mode == "certificate":
        cmd = base + ["certificate", m, "--signature", s, "--certificate_chain", case["roots"]]
        cmd += ignore_args(case, "--ignore-paths")
    else:
        if v not in ("1.1.0", "1.1.1"):
            return None  # no --trust_config before 1.1: TUF over the network
        cmd = base + ["sigstore", m, "--signature", s, "--identity", case["identity"],
                      "--identity_provider", case["issuer"],
                      "--trust_config", trust[case["trust"]]["trust_config"]]
        cmd += ignore_args(case, "--ignore-paths")
    return execute(cmd)


def ms_api(v, case):
    a = case.get("ms_api")
    if not a or case["mode"] != "key":
        return None
    cmd = [VENVS / f"ms-{v}" / "bin" / "python", HERE / "ms_verify.py", "--model", case["model"],
           "--signature", case["signature"], "--public-key", case["pub"],
           "--serialization", a["serialization"], "--hash", a["hash"]]
    if a.get("shard_size"):
        cmd += ["--shard-size", str(a["shard_size"])]
    return execute(cmd)


class Modelsec:
    def __init__(self, path):
        self.path = path
        h = subprocess.run([path, "verify", "--help"], capture_output=True, text=True).stdout
        self.flags = {f for f in ["--certificate-chain", "--certificate-identity",
                                  "--certificate-oidc-issuer", "--trusted-root", "--threshold",
                                  "--ignore-unsigned-files", "--certificate-identity-regexp"]
                      if f + " " in h or f + "\n" in h or f + "=" in h or f + "<" in h}
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="field-verify-"))

    def leaf_pub(self, case):
        if case.get("leaf_pub"):
            return case["leaf_pub"]
        b = json.loads(pathlib.Path(case["signature"]).read_text())
        der = base64.b64decode(b["verificationMaterial"]["certificate"]["rawBytes"])
        out = self.tmp / (case["id"] + ".leaf.pub")
        pem = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-pubkey"],
                             input=der, capture_output=True, check=True).stdout
        out.write_bytes(pem)
        return str(out)

    def verify(self, case, trust):
        mode = case["mode"]
        base = [self.path, "verify", case["model"]]
        ign = []
        for i in case.get("ignore", []):
            ign += ["--ignore", i]
        note = ""
        if mode == "threshold":
            if "--threshold" not in self.flags:
                return {"rc": "-", "msg": "skipped: no --threshold in `verify --help`", "cmd": []}
            cmd = base + ["--threshold", str(case["threshold"])]
            for p in case["pub"]:
                cmd += ["--key", p]
            for s in case["signature"]:
                cmd += ["--signature", s]
            return execute(cmd)
        cmd = base + ["--signature", case["signature"]] + ign
        if mode == "key":
            cmd += ["--key", case["pub"]]
        elif mode == "certificate":
            if "--certificate-chain" in self.flags:
                cmd += ["--certificate-chain", case["roots"]]
                if case.get("identity") and "--certificate-identity" in self.flags:
                    cmd += ["--certificate-identity", case["identity"]]
            else:
                cmd += ["--key", self.leaf_pub(case)]
                note = " [no --certificate-chain: ran with --key <leaf key>]"
        else:
            if {"--certificate-identity", "--certificate-oidc-issuer"} <= self.flags:
                cmd += ["--certificate-identity", case["identity"],
                        "--certificate-oidc-issuer", case["issuer"]]
                if "--trusted-root" in self.flags:
                    cmd += ["--trusted-root", trust[case["trust"]]["trusted_root"]]
                elif case["trust"] != "prod":
                    note = " [no --trusted-root: staging case not expressible]"
            else:
                cmd += ["--key", self.leaf_pub(case)]
                note = " [no Sigstore flags: ran with --key <Fulcio leaf key>]"
        r = execute(cmd)
        r["msg"] += note
        return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--table", action="store_true", help="reprint the table from results.json")
    args = ap.parse_args()
    if args.table:
        out = json.loads((ROOT / "results.json").read_text())
        md = table(out["results"], json.loads((ROOT / "manifest.json").read_text())["reference"])
        (ROOT / "results.md").write_text(md)
        print(md)
        return
    manifest = json.loads((ROOT / "manifest.json").read_text())
    trust = manifest["trust"]
    ref = manifest["reference"]
    ms = Modelsec(os.environ.get("MODELSEC", str(REPO / "target" / "release" / "modelsec")))
    ver = subprocess.run([ms.path, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"modelsec: {ms.path} ({ver}); verify flags detected: {sorted(ms.flags) or 'none of the new ones'}",
          file=sys.stderr)
    results = []
    for case in manifest["cases"]:
        if args.only not in case["id"]:
            continue
        r = {k: case.get(k) for k in ["id", "source", "version", "mode", "key", "options",
                                      "negative", "expect", "signed", "sign_error"]}
        if case["signed"]:
            r["ms_ref"] = ms_verify(ref, case, trust)
            r["ms_api"] = ms_api(ref, case)
            v = case["version"]
            own = None
            if v != ref and v in CLI_VERSIONS and case["mode"] != "threshold" \
                    and (case["id"].startswith(("gen-", "vec-"))):
                own = ms_verify(v, case, trust)
            r["ms_own"] = own
            r["modelsec"] = ms.verify(case, trust)
        print(f"  {case['id']}: m_s {r.get('ms_ref', {}).get('rc', '-')} modelsec "
              f"{r.get('modelsec', {}).get('rc', '-')}", file=sys.stderr, flush=True)
        results.append(r)
    out = {"modelsec": ms.path, "modelsec_version": ver, "flags": sorted(ms.flags),
           "results": results}
    (ROOT / "results.json").write_text(json.dumps(out, indent=1))
    md = table(results, ref)
    (ROOT / "results.md").write_text(md)
    print(md)


def cell(x, expect=None):
    if x is None:
        return "—"
    rc = x["rc"]
    mark = ""
    if expect is not None and rc != "-":
        mark = " ✓" if str(rc) == str(expect) or (expect == 0 and str(rc) == "0/0") else " ✗"
    m = x["msg"] if len(x["msg"]) <= 110 else x["msg"][:107] + "…"
    msg = "" if x["msg"] == "ok" else ": " + m.replace("|", "\\|")
    return f"{rc}{mark}{msg}"


def short_source(src):
    if src.startswith("model_signing=="):
        return src[len("model_signing=="):].replace(" (generated)", "").replace(
            " (eager Sigstore signer disabled)", "†")
    return "vector (rh-model-signing 1.0.5)"


def table(results, ref):
    lines = [f"| case | made by | key / chain | options | expect | m_s {ref} | m_s own release | modelsec |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        opts = r["options"] + (f"; **{r['negative']}**" if r["negative"] else "")
        if not r["signed"]:
            lines.append(f"| {r['id']} | {short_source(r['source'])} | {r['key']} | {opts} | — | sign failed: "
                         f"{r['sign_error'].replace('|', '/')} | | |")
            continue
        msref = cell(r["ms_ref"], r["expect"])
        if r.get("ms_api"):
            msref += f"<br>api: {cell(r['ms_api'], r['expect'])}"
        lines.append(f"| {r['id']} | {short_source(r['source'])} | {r['key']} | {opts} | {r['expect']} | {msref} "
                     f"| {cell(r['ms_own'], r['expect'])} | {cell(r['modelsec'], r['expect'])} |")
    n = [r for r in results if r["signed"] and r.get("modelsec") and r["modelsec"]["rc"] != "-"]
    ok = sum(1 for r in n if str(r["modelsec"]["rc"]) == str(r["expect"]))
    msok = sum(1 for r in n if str(r["ms_ref"]["rc"]) in (str(r["expect"]),)
               or (r["expect"] == 0 and r["ms_ref"]["rc"] == "0/0")
               or (r.get("ms_api") and str(r["ms_api"]["rc"]) == str(r["expect"])))
    lines.append("")
    skipped = sum(1 for r in results if r.get("modelsec") and r["modelsec"]["rc"] == "-")
    lines.append(f"modelsec answers as expected on {ok}/{len(n)} cases ({skipped} skipped); model_signing {ref} "
                 f"(CLI or API) on {msok}/{len(n)}. ✓/✗: exit code equals / differs from `expect`. "
                 "†: that release's CLI, with the eager Sigstore signer of signing.Config() "
                 "disabled so it can sign offline. 0*: printed \"Verification failed\" but exited 0.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
