#!/usr/bin/env python3
"""ART baseline for bench/fuzz.sh: SquareAttack (L-inf) through ART 1.20.1's black-box wrapper
on the same rows modelsec attacks, against the same ONNX model served by onnxruntime 1.31.1,
counting the rows sent to the model per example; plus the Python onnxruntime single-row loop.

Usage: fuzz_art.py MODEL.onnx ROWS.npy N_ROWS EPS
Prints one JSON object.
"""
import json
import sys
import time
import warnings

import numpy as np
import onnxruntime as ort

warnings.filterwarnings("ignore")
from art.attacks.evasion import SquareAttack  # noqa: E402
from art.estimators.classification import BlackBoxClassifierNeuralNetwork  # noqa: E402

path, rows_path, n_rows, eps = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
so = ort.SessionOptions()
so.intra_op_num_threads = 1
so.inter_op_num_threads = 1
sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
in_name = sess.get_inputs()[0].name
prob_name = [o.name for o in sess.get_outputs() if "prob" in o.name][0]
X = np.load(rows_path).astype(np.float32)[:n_rows]
nfeat = X.shape[1]
side = int(round(nfeat ** 0.5))


class Counter:
    def __init__(self):
        self.rows = 0

    def predict(self, x):
        x = np.asarray(x, dtype=np.float32).reshape(len(x), nfeat)
        self.rows += len(x)
        return sess.run([prob_name], {in_name: x})[0]


base = Counter()
labels = base.predict(X).argmax(1)  # untargeted against the model's own labels, as modelsec
c = Counter()
# ART's SquareAttack only takes image-shaped inputs: 64 features as 1x8x8.
clf = BlackBoxClassifierNeuralNetwork(c.predict, input_shape=(1, side, side), nb_classes=10,
                                      clip_values=(0.0, 1.0), channels_first=True)
attack = SquareAttack(clf, norm=np.inf, eps=eps, max_iter=1000, nb_restarts=1, p_init=0.3, verbose=False)
queries, success = [], []
t0 = time.perf_counter()
for i in range(len(X)):
    before = c.rows
    adv = attack.generate(x=X[i:i + 1].reshape(1, 1, side, side), y=np.eye(10)[labels[i:i + 1]])
    queries.append(c.rows - before)
    success.append(base.predict(adv.reshape(1, nfeat)).argmax(1)[0] != labels[i])
art_seconds = time.perf_counter() - t0
q = np.array(queries)
s = np.array(success)

names = [o.name for o in sess.get_outputs()]
rows = np.load(rows_path).astype(np.float32)
n = 100_000
for i in range(2000):
    sess.run(names, {in_name: rows[i % len(rows):i % len(rows) + 1]})
best = 0.0
for _ in range(3):
    t = time.perf_counter()
    for i in range(n):
        sess.run(names, {in_name: rows[i % len(rows):i % len(rows) + 1]})
    best = max(best, n / (time.perf_counter() - t))

print(json.dumps({
    "art_success_rate": float(s.mean()),
    "art_median_queries_success": float(np.median(q[s])) if s.any() else None,
    "art_median_queries_all": float(np.median(q)),
    "art_seconds": round(art_seconds, 3),
    "python_ort_inf_per_s": round(best),
}))
