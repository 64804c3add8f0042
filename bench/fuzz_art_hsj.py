#!/usr/bin/env python3
"""ART baseline for bench/fuzz.sh: HopSkipJump (L-inf, untargeted, label-only) through ART
1.20.1's BlackBoxClassifier on the same rows modelsec attacks, the model answering only its label
(one-hot), served by onnxruntime 1.31.1. A row counts as a success when the label flips within
L-inf <= EPS; queries are the rows sent to the model for that example (ART does not stop early).

Usage: fuzz_art_hsj.py MODEL.onnx ROWS.npy N_ROWS EPS MAX_ITER
Prints one JSON object.
"""
import json
import sys
import time
import warnings

import numpy as np
import onnxruntime as ort

warnings.filterwarnings("ignore")
from art.attacks.evasion import HopSkipJump  # noqa: E402
from art.estimators.classification import BlackBoxClassifier  # noqa: E402

path, rows_path, n_rows, eps, max_iter = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
so = ort.SessionOptions()
so.intra_op_num_threads = 1
so.inter_op_num_threads = 1
sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
in_name = sess.get_inputs()[0].name
label_name = [o.name for o in sess.get_outputs() if "label" in o.name][0]
X = np.load(rows_path).astype(np.float32)[:n_rows]
nfeat = X.shape[1]
classes = 10


class Counter:
    rows = 0

    def predict(self, x):
        x = np.asarray(x, dtype=np.float32).reshape(len(x), nfeat)
        self.rows += len(x)
        return np.eye(classes)[sess.run([label_name], {in_name: x})[0]]


c = Counter()
clf = BlackBoxClassifier(c.predict, input_shape=(nfeat,), nb_classes=classes, clip_values=(0.0, 1.0))
labels = Counter().predict(X).argmax(1)
np.random.seed(0)
attack = HopSkipJump(clf, targeted=False, norm=np.inf, max_iter=max_iter, max_eval=10000, init_eval=100,
                     init_size=100, verbose=False)
queries, success = [], []
t0 = time.perf_counter()
for i in range(len(X)):
    before = c.rows
    adv = attack.generate(x=X[i:i + 1])
    queries.append(c.rows - before)
    linf = float(np.abs(adv - X[i:i + 1]).max())
    success.append(bool(Counter().predict(adv).argmax(1)[0] != labels[i] and linf <= eps + 1e-6))
seconds = time.perf_counter() - t0
q = np.array(queries)
s = np.array(success)
print(json.dumps({
    "success": int(s.sum()),
    "rows": len(X),
    "median_queries_per_row": float(np.median(q)),
    "seconds": round(seconds, 3),
}))
