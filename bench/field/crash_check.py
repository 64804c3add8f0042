#!/usr/bin/env python3
"""Does bare ONNX Runtime crash on the input a `fuzz/runtime-crash` finding reports?

Usage: crash_check.py MODEL.onnx REPRODUCER.json
The reproducer holds each input's dtype and shape (and values when few). The input is rebuilt
(missing values drawn at random, seeded) and run once in this process with modelsec's session
settings (1 intra-op and 1 inter-op thread). fuzz_run.py runs this in a child process: death by a
signal there means ONNX Runtime itself crashes on that input (the finding is real); a clean
result or error means the crash was the fuzzer's own.
"""
import json
import sys

import numpy as np
import onnxruntime as ort

DTYPES = {"f32": np.float32, "f64": np.float64, "i64": np.int64, "i32": np.int32, "i16": np.int16,
          "i8": np.int8, "u64": np.uint64, "u32": np.uint32, "u16": np.uint16, "u8": np.uint8,
          "bool": np.bool_, "string": np.str_}


def main():
    model, repro = sys.argv[1], json.loads(open(sys.argv[2]).read())
    rng = np.random.default_rng(0)
    feeds = {}
    for name, spec in repro["input"].items():
        dtype, shape = DTYPES[spec["dtype"]], spec["shape"]
        if "values" in spec:
            vals = [float("nan") if v == "NaN" else float("inf") if v == "Infinity" else
                    float("-inf") if v == "-Infinity" else v for v in spec["values"]]
            feeds[name] = np.array(vals, dtype=dtype).reshape(shape)
        elif dtype is np.str_:
            feeds[name] = np.full(shape, "word")
        else:
            feeds[name] = rng.random(shape).astype(dtype)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    try:
        sess.run(None, feeds)
        print("ran")
    except Exception as e:  # noqa: BLE001 - a clean error is an answer
        print("error: " + str(e).splitlines()[0][:200])


if __name__ == "__main__":
    main()
