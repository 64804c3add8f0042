#!/usr/bin/env python3
"""Bare ONNX Runtime throughput on one model and one valid input, for bench/field/fuzz.sh.

Usage: ort_throughput.py MODEL.onnx INPUT.npz [SECONDS] [RUNS_PER_LOOP]
Prints one JSON object: inferences per second with modelsec's session settings (intra-op and
inter-op threads 1, sequential execution, default graph optimisation: what `open` in
src/fuzz/mod.rs builds) and with ONNX Runtime's defaults (all cores), each the best of 3 timed
loops of about SECONDS/3 (default 3 s in all) after a warm-up, or of exactly RUNS_PER_LOOP runs
(what fuzz's own measurement ran per loop, so both count the same runs); or the error the valid
input got.
One inference is one run on the valid input; when every input's axis 0 is dynamic (a batch) and
the file holds several rows (the seeds of a tabular model), only the first row is sent, so the
rate compares with fuzz's one-row attack queries.
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def rate(sess, feeds, seconds, runs=None):
    names = [o.name for o in sess.get_outputs()]
    for _ in range(3):
        sess.run(names, feeds)
    # size the loop from one timed run so each of the 3 loops takes about seconds/3
    t = time.perf_counter()
    sess.run(names, feeds)
    one = max(time.perf_counter() - t, 1e-7)
    n = runs or int(min(50_000, max(5, seconds / 3 / one)))
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(n):
            sess.run(names, feeds)
        best = max(best, n / (time.perf_counter() - t))
    return best, n


def main():
    path, npz = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else None
    data = np.load(npz)
    feeds = {k: data[k] for k in data.files}
    out = {"onnxruntime": ort.__version__}
    probe = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    if all(i.shape and not isinstance(i.shape[0], int) for i in probe.get_inputs()) and all(
            v.ndim and v.shape[0] > 1 for v in feeds.values()):
        feeds = {k: v[:1] for k, v in feeds.items()}
    out["input_shapes"] = {k: list(v.shape) for k, v in feeds.items()}
    del probe
    for label, threads in (("one_thread", 1), ("default_threads", 0)):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = threads
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            r, n = rate(sess, feeds, seconds / 2, runs)
            out[f"{label}_inf_per_s"] = round(r, 1)
            out[f"{label}_loop"] = n
        except Exception as e:  # noqa: BLE001 - reported
            out[f"{label}_error"] = str(e).splitlines()[0][:300]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
