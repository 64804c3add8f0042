#!/usr/bin/env python3
"""The input-contract experiments behind bench/field/fuzz-dev-analysis.md: for each dev model, the
inputs that fuzz generated (or that a correct fuzzer would generate) run through Python ONNX
Runtime 1.31.1 with modelsec's session settings (1 thread), each in its own process so that an
abort of the runtime is seen as such.

Usage: dev_checks.py [ID...]      (after bench/field/fuzz.sh has fetched the models and inputs;
                                   run with .local/field/venv/bin/python)
Prints one line per check: model, what was sent, and ok (output shapes and value ranges) or the
runtime's error (first line), or the signal the process died on.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent.parent
MODELS = ROOT / ".local" / "field" / "fuzz" / "models"
INPUTS = ROOT / ".local" / "field" / "fuzz" / "inputs"


def valid(mid):
    d = np.load(INPUTS / f"{mid}.npz")
    return {k: d[k] for k in d.files}


def f32(*shape, lo=0.0, hi=1.0, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, size=shape).astype(np.float32)


def with_(base, **kw):
    d = dict(base)
    d.update(kw)
    return d


def silero(mid):
    v = valid(mid)
    x, st = v["input"], v["state"]
    sr16 = np.array(16000, np.int64)
    return [
        ("valid: input [1,576], state [2,1,128] zeros, sr 16000", v),
        ("sr 8000 with 256+32 = 288 samples", with_(v, input=x[:, :288], sr=np.array(8000, np.int64))),
        ("sr 2 (fuzz's draw from [0,10)), otherwise valid", with_(v, sr=np.array(2, np.int64))),
        ("sr 0", with_(v, sr=np.array(0, np.int64))),
        ("sequence 1 (fuzz's 'other dynamic dim' = 1), sr 16000", with_(v, input=x[:, :1])),
        ("sequence 64", with_(v, input=x[:, :64])),
        ("sequence 65", with_(v, input=x[:, :65])),
        ("sequence 256 (fuzz's large dim), sr 16000", with_(v, input=f32(1, 256, lo=-1))),
        ("sequence 512 (no context), sr 16000", with_(v, input=x[:, :512])),
        ("sequence 4096", with_(v, input=f32(1, 4096, lo=-1))),
        ("batch 8 tied: input [8,576], state [2,8,128]", with_(v, input=np.repeat(x, 8, 0), state=np.zeros((2, 8, 128), np.float32))),
        ("batch 8 untied: input [8,576], state [2,1,128] (what fuzz sends)", with_(v, input=np.repeat(x, 8, 0))),
        ("empty batch tied: input [0,576], state [2,0,128]", with_(v, input=x[:0], state=np.zeros((2, 0, 128), np.float32))),
        ("empty batch untied: input [0,576], state [2,1,128]", with_(v, input=x[:0])),
        ("fuzz's baseline exactly: input [8,1] U[0,1), state [2,1,128], sr 2",
         with_(v, input=f32(8, 1), state=f32(2, 1, 128), sr=np.array(2, np.int64))),
        ("NaN in input[0,100]", with_(v, input=np.where(np.arange(576) == 100, np.nan, x).astype(np.float32))),
        ("NaN in state[0,0,0]", with_(v, state=np.where(np.arange(128) == 0, np.nan, st).astype(np.float32))),
        ("input 1e30 in one sample", with_(v, input=np.where(np.arange(576) == 100, 1e30, x).astype(np.float32))),
        ("state [2,1,128] = 1e30", with_(v, state=np.full((2, 1, 128), 1e30, np.float32))),
        ("sr 16000 with 8k-length 288", with_(v, input=x[:, :288], sr=sr16)),
    ]


def image(mid, name, c, h, w, lo, hi):
    v = valid(mid)
    return [
        (f"valid [1,{c},{h},{w}]", v),
        (f"batch 8 [8,{c},{h},{w}]", {name: np.repeat(v[name], 8, 0)}),
        (f"empty batch [0,{c},{h},{w}]", {name: v[name][:0]}),
        (f"fuzz's baseline [8,{c},1,1]", {name: f32(8, c, 1, 1, lo=lo, hi=hi)}),
        (f"1x1 image [1,{c},1,1]", {name: f32(1, c, 1, 1, lo=lo, hi=hi)}),
        (f"0x0 image [1,{c},0,0]", {name: f32(1, c, 0, 0)}),
        (f"256x256 [1,{c},256,256]", {name: f32(1, c, 256, 256, lo=lo, hi=hi)}),
        (f"H, W not multiples of 32 [1,{c},100,100]", {name: f32(1, c, 100, 100, lo=lo, hi=hi)}),
        (f"H, W multiples of 32 [1,{c},96,160]", {name: f32(1, c, 96, 160, lo=lo, hi=hi)}),
        (f"H 48, W 100 [1,{c},48,100]", {name: f32(1, c, 48, 100, lo=lo, hi=hi)}),
        (f"H 32, W 320 [1,{c},32,320]", {name: f32(1, c, 32, 320, lo=lo, hi=hi)}),
        (f"H 64, W 320 [1,{c},64,320]", {name: f32(1, c, 64, 320, lo=lo, hi=hi)}),
        (f"H 48, W 8 [1,{c},48,8]", {name: f32(1, c, 48, 8, lo=lo, hi=hi)}),
        ("NaN in one pixel", {name: np.where(np.arange(v[name].shape[-1]) == 5, np.nan, v[name]).astype(np.float32)}),
        ("1e30 in one pixel", {name: np.where(np.arange(v[name].shape[-1]) == 5, 1e30, v[name]).astype(np.float32)}),
    ]


def oww_mel():
    v = valid("oww_melspectrogram")
    x = v["input"]
    return [
        ("valid [1,1760] int16-scaled", v),
        ("fuzz's baseline [8,1]", {"input": f32(8, 1, lo=-32768, hi=32767)}),
        ("[1,1]", {"input": x[:, :1]}),
        ("[1,399]", {"input": x[:, :399]}),
        ("[1,400]", {"input": x[:, :400]}),
        ("[1,511]", {"input": x[:, :511]}),
        ("[1,512]", {"input": x[:, :512]}),
        ("[1,0]", {"input": x[:, :0]}),
        ("batch 8 [8,1760]", {"input": np.repeat(x, 8, 0)}),
        ("empty batch [0,1760]", {"input": x[:0]}),
        ("NaN in one sample", {"input": np.where(np.arange(1760) == 7, np.nan, x).astype(np.float32)}),
        ("all zeros (silence) [1,1760]", {"input": np.zeros_like(x)}),
        ("values in [0,1) as fuzz samples [1,1760]", {"input": f32(1, 1760)}),
    ]


def oww_emb():
    v = valid("oww_embedding")
    x = v["input_1"]
    return [
        ("valid [1,76,32,1]", v),
        ("empty batch [0,76,32,1]", {"input_1": x[:0]}),
        ("batch 4096 [4096,76,32,1] (fuzz's large batch)", {"input_1": np.repeat(x, 4096, 0)}),
        ("batch 2432 (fuzz's special-value batch: one row per feature)", {"input_1": np.repeat(x, 2432, 0)}),
        ("NaN in one value", {"input_1": np.where(np.arange(32)[None, None, :, None] == 3, np.nan, x).astype(np.float32)}),
    ]


def oww_alexa():
    v = valid("oww_alexa")
    x = v["onnx::Flatten_0"]
    return [
        ("valid [1,16,96]", v),
        ("NaN in one value", {"onnx::Flatten_0": np.where(np.arange(96) == 3, np.nan, x).astype(np.float32)}),
        ("f32::MAX in one value", {"onnx::Flatten_0": np.where(np.arange(96) == 3, np.finfo(np.float32).max, x).astype(np.float32)}),
        ("1e30 in one value", {"onnx::Flatten_0": np.where(np.arange(96) == 3, 1e30, x).astype(np.float32)}),
        ("[2,16,96] (batch > 1)", {"onnx::Flatten_0": np.repeat(x, 2, 0)}),
    ]


def magika():
    v = valid("magika")
    x = v["bytes"]
    return [
        ("valid [1,2048] ids 0..256", v),
        ("all 255", {"bytes": np.full((1, 2048), 255, np.int32)}),
        ("all 256 (padding)", {"bytes": np.full((1, 2048), 256, np.int32)}),
        ("all 257 (past the vocabulary)", {"bytes": np.full((1, 2048), 257, np.int32)}),
        ("all 1000", {"bytes": np.full((1, 2048), 1000, np.int32)}),
        ("all -1", {"bytes": np.full((1, 2048), -1, np.int32)}),
        ("all i32::MIN", {"bytes": np.full((1, 2048), np.iinfo(np.int32).min, np.int32)}),
        ("all i32::MAX", {"bytes": np.full((1, 2048), np.iinfo(np.int32).max, np.int32)}),
        ("fuzz's draw: ids in [0,10)", {"bytes": np.random.default_rng(0).integers(0, 10, (1, 2048)).astype(np.int32)}),
        ("empty batch [0,2048]", {"bytes": x[:0]}),
        ("batch 4096", {"bytes": np.repeat(x, 4096, 0)}),
    ]


def light(mid, name):
    v = valid(mid)
    x = v[name]
    return [
        ("valid [1,3,224,224]", v),
        ("all zeros", {name: np.zeros_like(x)}),
        ("NaN in one pixel", {name: np.where(np.arange(224) == 3, np.nan, x).astype(np.float32)}),
        ("1e30 in one pixel", {name: np.where(np.arange(224) == 3, 1e30, x).astype(np.float32)}),
    ]


def relu():
    return [
        ("[1,2] NaN", {"x": np.array([[np.nan, 1]], np.float32)}),
        ("[1,2] +Inf", {"x": np.array([[np.inf, 1]], np.float32)}),
    ]


def embedding():
    return [
        ("ids 0..3 (vocabulary 4)", {"0": np.array([[0, 1, 2, 3]], np.int64)}),
        ("id 4 (= vocabulary)", {"0": np.array([[0, 1, 2, 4]], np.int64)}),
        ("id 9 (fuzz's default draw reaches 9)", {"0": np.array([[9, 1, 2, 3]], np.int64)}),
        ("id -1", {"0": np.array([[-1, 1, 2, 3]], np.int64)}),
        ("id -4", {"0": np.array([[-4, 1, 2, 3]], np.int64)}),
        ("id -5", {"0": np.array([[-5, 1, 2, 3]], np.int64)}),
        ("id i64::MIN", {"0": np.array([[np.iinfo(np.int64).min, 1, 2, 3]], np.int64)}),
        ("id 10,000,000", {"0": np.array([[10_000_000, 1, 2, 3]], np.int64)}),
    ]


def strnorm(mid):
    return [
        ("valid 4 weekdays", valid(mid)),
        ("empty strings", {"x": np.array(["", "", "", ""])}),
        ("unicode + control chars", {"x": np.array(["MONDAY\u0000", "\u00e9t\u00e9", "\U0001F600", "a" * 100000])}),
        ("all stop words", {"x": np.array(["monday", "monday", "monday", "monday"])}),
        ("[3] instead of [4]", {"x": np.array(["a", "b", "c"])}),
    ]


def logreg_iris():
    v = valid("ort_logreg_iris")
    x = v["float_input"]
    return [
        ("valid [3,2]", v),
        ("[1,2] (batch 1 of a fixed batch 3)", {"float_input": x[:1]}),
        ("NaN in row 0", {"float_input": np.where(np.arange(2) == 0, np.nan, x).astype(np.float32)}),
        ("+Inf in row 0", {"float_input": np.where(np.arange(2) == 0, np.inf, x).astype(np.float32)}),
        ("f32::MAX", {"float_input": np.where(np.arange(2) == 0, np.finfo(np.float32).max, x).astype(np.float32)}),
    ]


def skl(mid, width):
    v = valid(mid)
    x = v["X"][:1]
    return [
        ("valid row", {"X": x}),
        ("empty batch", {"X": x[:0]}),
        ("NaN in feature 0", {"X": np.where(np.arange(width) == 0, np.nan, x).astype(np.float32)}),
        ("+Inf in feature 0", {"X": np.where(np.arange(width) == 0, np.inf, x).astype(np.float32)}),
        ("f32::MAX in feature 0", {"X": np.where(np.arange(width) == 0, np.finfo(np.float32).max, x).astype(np.float32)}),
        ("-f32::MAX in feature 0", {"X": np.where(np.arange(width) == 0, -np.finfo(np.float32).max, x).astype(np.float32)}),
        ("1e30 in feature 0", {"X": np.where(np.arange(width) == 0, 1e30, x).astype(np.float32)}),
    ]


def ohe():
    v = valid("skl_ohe_logreg_strings")
    one = {k: a[:1] for k, a in v.items()}
    return [
        ("valid row", one),
        ("unknown city", with_(one, city=np.array([["tokyo"]]))),
        ("empty city", with_(one, city=np.array([[""]]))),
        ("NaN in n0", with_(one, n0=np.array([[np.nan]], np.float32))),
        ("f32::MAX in n0", with_(one, n0=np.array([[np.finfo(np.float32).max]], np.float32))),
        ("empty batch", {k: a[:0] for k, a in v.items()}),
    ]


CHECKS = {
    "silero_vad": lambda: silero("silero_vad"),
    "silero_vad_16k_op15": lambda: silero("silero_vad_16k_op15"),
    "silero_vad_op18_ifless": lambda: silero("silero_vad_op18_ifless"),
    "rapidocr_det": lambda: image("rapidocr_det", "x", 3, 320, 320, -1, 1),
    "rapidocr_rec": lambda: image("rapidocr_rec", "x", 3, 48, 320, -1, 1),
    "rapidocr_cls": lambda: image("rapidocr_cls", "x", 3, 48, 192, -1, 1),
    "oww_melspectrogram": oww_mel,
    "oww_embedding": oww_emb,
    "oww_alexa": oww_alexa,
    "magika": magika,
    "nudenet": lambda: image("nudenet", "images", 3, 320, 320, 0, 1),
    "onnx_light_squeezenet": lambda: light("onnx_light_squeezenet", "data_0"),
    "onnx_light_shufflenet": lambda: light("onnx_light_shufflenet", "gpu_0/data_0"),
    "onnx_single_relu": relu,
    "onnx_embedding": embedding,
    "onnx_strnorm": lambda: strnorm("onnx_strnorm"),
    "ort_logreg_iris": logreg_iris,
    "skl_rf_iris": lambda: skl("skl_rf_iris", 4),
    "skl_logreg_cancer": lambda: skl("skl_logreg_cancer", 30),
    "skl_logreg_cancer_nozipmap": lambda: skl("skl_logreg_cancer_nozipmap", 30),
    "skl_svc_digits": lambda: skl("skl_svc_digits", 64),
    "skl_rf_regressor_diabetes": lambda: skl("skl_rf_regressor_diabetes", 10),
    "skl_ohe_logreg_strings": ohe,
}

CHILD = r"""
import json, sys, numpy as np, onnxruntime as ort
so = ort.SessionOptions(); so.intra_op_num_threads = 1; so.inter_op_num_threads = 1
so.log_severity_level = 4
s = ort.InferenceSession(sys.argv[1], so, providers=["CPUExecutionProvider"])
d = np.load(sys.argv[2]); feeds = {k: d[k] for k in d.files}
try:
    out = s.run(None, feeds)
except Exception as e:
    print(json.dumps({"error": str(e).splitlines()[0][:260]})); sys.exit(0)
def desc(r):
    if isinstance(r, list):
        return f"seq(map) x{len(r)}: {r[0] if r else ''}"[:120]
    r = np.asarray(r)
    if r.dtype.kind == "f" and r.size:
        nf = int((~np.isfinite(r)).sum())
        fin = r[np.isfinite(r)]
        rng = f" {fin.min():.4g}..{fin.max():.4g}" if fin.size else ""
        return f"{list(r.shape)}{rng}" + (f" nonfinite {nf}" if nf else "")
    if r.dtype.kind in "iu" and r.size:
        return f"{list(r.shape)} {r.ravel()[:4].tolist()}"
    return f"{list(r.shape)} {r.ravel()[:4].tolist()}"
print(json.dumps({"ok": {o.name: desc(r) for o, r in zip(s.get_outputs(), out)}}))
"""


def main():
    ids = sys.argv[1:] or list(CHECKS)
    with tempfile.TemporaryDirectory() as tmp:
        for mid in ids:
            for label, feeds in CHECKS[mid]():
                npz = Path(tmp) / "feeds.npz"
                np.savez(npz, **feeds)
                r = subprocess.run([sys.executable, "-c", CHILD, str(MODELS / f"{mid}.onnx"), str(npz)],
                                   capture_output=True, text=True, timeout=300)
                if r.returncode < 0:
                    res = f"PROCESS DIED (signal {-r.returncode}): {r.stderr.strip().splitlines()[-1:] }"
                elif r.returncode != 0:
                    res = f"process exit {r.returncode}: {r.stderr.strip().splitlines()[-1:]}"
                else:
                    v = json.loads(r.stdout.strip().splitlines()[-1])
                    res = ("error: " + v["error"]) if "error" in v else "ok " + json.dumps(v["ok"])
                print(f"{mid} | {label} | {res}", flush=True)


if __name__ == "__main__":
    main()
