#!/usr/bin/env python3
"""Make the small ONNX test models for `modelsec fuzz` (committed under tests/fixtures/onnx/).

Run through scripts/gen_onnx_models.sh (a venv with pinned scikit-learn, skl2onnx, onnx):
  iris_logreg.onnx    LogisticRegression on iris (4 features), zipmap off: label i64 [N], probabilities f32 [N,3]
  iris_label_only.onnx  the same model with the probabilities output removed (label-only attacks)
  digits_mlp.onnx     MLPClassifier(32) on 8x8 digits scaled to [0,1] (64 features), zipmap off
  digits_rf.onnx      RandomForestClassifier(10 trees, depth 8) on digits, zipmap off
  dynamic_scale.onnx  Y = X * 2 with input X float [batch, n] (two dynamic dims)
  range_len.onnx      Y = Range(0, n, 1) for an int64 scalar input n (input-controlled allocation)
  int_inputs.onnx     int32 token ids through an embedding Gather, a bool mask, uint8 pixels
  loop_n.onnx, expand_sum.onnx  hostile fixtures for the monitor: a Loop of n iterations, a
                      ConstantOfShape as large as asked then summed (see below)
  iris_zipmap.onnx, text_ids.onnx  ZipMap with string classes; string inputs and outputs
  *_rows.npy          a few real rows per classifier, for seeds
  digits_benign.npy   500 other digits rows: benign traffic for the monitor tests
Deterministic: fixed random_state everywhere.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/onnx"
os.makedirs(out, exist_ok=True)
OPSET = {"": 17, "ai.onnx.ml": 3}


def save(model, name):
    onnx.checker.check_model(model)
    with open(os.path.join(out, name), "wb") as f:
        f.write(model.SerializeToString())


X, y = load_iris(return_X_y=True)
X = X.astype(np.float32)
iris = LogisticRegression(max_iter=1000).fit(X, y)
save(to_onnx(iris, X[:1], options={id(iris): {"zipmap": False}}, target_opset=OPSET), "iris_logreg.onnx")
np.save(os.path.join(out, "iris_rows.npy"), X[::10])
label_only = to_onnx(iris, X[:1], options={id(iris): {"zipmap": False}}, target_opset=OPSET)
keep = [o for o in label_only.graph.output if o.name == "label"]
del label_only.graph.output[:]
label_only.graph.output.extend(keep)
save(label_only, "iris_label_only.onnx")

Xd, yd = load_digits(return_X_y=True)
Xd = (Xd / 16.0).astype(np.float32)
mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=400, random_state=0).fit(Xd, yd)
save(to_onnx(mlp, Xd[:1], options={id(mlp): {"zipmap": False}}, target_opset=OPSET), "digits_mlp.onnx")
rf = RandomForestClassifier(n_estimators=10, max_depth=8, random_state=0).fit(Xd, yd)
save(to_onnx(rf, Xd[:1], options={id(rf): {"zipmap": False}}, target_opset=OPSET), "digits_rf.onnx")
np.save(os.path.join(out, "digits_rows.npy"), Xd[:40])
# Held-out rows for the monitor's benign traffic (serve tests, bench/monitor.sh): every
# third row from 40 on, so each benign client sends distinct, natural inputs.
np.save(os.path.join(out, "digits_benign.npy"), Xd[40::3][:500])

x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", "n"])
yv = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", "n"])
two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
g = helper.make_graph([helper.make_node("Mul", ["X", "two"], ["Y"])], "scale", [x], [yv], [two])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), "dynamic_scale.onnx")

n = helper.make_tensor_value_info("n", TensorProto.INT64, [])
r = helper.make_tensor_value_info("Y", TensorProto.INT64, ["len"])
zero = helper.make_tensor("zero", TensorProto.INT64, [], [0])
one = helper.make_tensor("one", TensorProto.INT64, [], [1])
g = helper.make_graph([helper.make_node("Range", ["zero", "n", "one"], ["Y"])], "range", [n], [r], [zero, one])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), "range_len.onnx")

ids = helper.make_tensor_value_info("ids", TensorProto.INT32, ["batch", 3])
mask = helper.make_tensor_value_info("mask", TensorProto.BOOL, ["batch", 3])
pixels = helper.make_tensor_value_info("pixels", TensorProto.UINT8, ["batch", 4])
emb_out = helper.make_tensor_value_info("embedded", TensorProto.FLOAT, ["batch", 3, 2])
pix_out = helper.make_tensor_value_info("brightness", TensorProto.FLOAT, ["batch", 1])
table = helper.make_tensor("table", TensorProto.FLOAT, [10, 2], [float(i) / 10 for i in range(20)])
axes2 = helper.make_tensor("axes2", TensorProto.INT64, [1], [2])
axes1 = helper.make_tensor("axes1", TensorProto.INT64, [1], [1])
nodes = [
    helper.make_node("Gather", ["table", "ids"], ["emb"]),
    helper.make_node("Cast", ["mask"], ["maskf"], to=TensorProto.FLOAT),
    helper.make_node("Unsqueeze", ["maskf", "axes2"], ["mask3"]),
    helper.make_node("Mul", ["emb", "mask3"], ["embedded"]),
    helper.make_node("Cast", ["pixels"], ["pixf"], to=TensorProto.FLOAT),
    helper.make_node("ReduceMean", ["pixf", "axes1"], ["brightness"], keepdims=1),
]
g = helper.make_graph(nodes, "ints", [ids, mask, pixels], [emb_out, pix_out], [table, axes2, axes1])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=8), "int_inputs.onnx")

print("train accuracy: iris", iris.score(X, y), "mlp", mlp.score(Xd, yd), "rf", rf.score(Xd, yd))

# A model whose inference never ends in practice: a Loop with a constant trip count of 10^12 and
# a trivial body (for the hang-is-a-finding test).
x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", 4])
y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", 4])
body = helper.make_graph(
    [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Identity", ["v_in"], ["v_out"])],
    "body",
    [helper.make_tensor_value_info("i", TensorProto.INT64, []),
     helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
     helper.make_tensor_value_info("v_in", TensorProto.FLOAT, ["batch", 4])],
    [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
     helper.make_tensor_value_info("v_out", TensorProto.FLOAT, ["batch", 4])],
)
trips = helper.make_tensor("trips", TensorProto.INT64, [], [10**12])
cond = helper.make_tensor("cond", TensorProto.BOOL, [], [True])
g = helper.make_graph([helper.make_node("Loop", ["trips", "cond", "X"], ["Y"], body=body)], "slow", [x], [y], [trips, cond])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), "slow_loop.onnx")

# Hostile fixtures for the monitor (tests/it/hostile.rs): each answers small inputs at once
# and a crafted one with unbounded work, so one server sees both benign and hostile traffic.
# loop_n.onnx: Y = X + n, computed by a Loop of n iterations (n an int64 scalar input): a
# runaway loop when n is huge.
n = helper.make_tensor_value_info("n", TensorProto.INT64, [])
x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])
y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 4])
one_f = helper.make_tensor("one_f", TensorProto.FLOAT, [], [1.0])
body = helper.make_graph(
    [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Add", ["v_in", "one_f"], ["v_out"])],
    "body",
    [helper.make_tensor_value_info("i", TensorProto.INT64, []),
     helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
     helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [1, 4])],
    [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
     helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1, 4])],
    [one_f],
)
g = helper.make_graph([helper.make_node("Loop", ["n", "cond", "X"], ["Y"], body=body)], "loop_n", [n, x], [y], [cond])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), "loop_n.onnx")

# expand_sum.onnx: Y = the sum of a tensor of ones shaped by the input (int64 [2]): a tiny
# output over an intermediate as large as the client asks (only a memory cap stops it).
shape = helper.make_tensor_value_info("shape", TensorProto.INT64, [2])
total = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [])
nodes = [
    helper.make_node("ConstantOfShape", ["shape"], ["ones"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
    helper.make_node("ReduceSum", ["ones"], ["Y"], keepdims=0),
]
g = helper.make_graph(nodes, "expand_sum", [shape], [total])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), "expand_sum.onnx")

# Models people serve as exported: iris_zipmap.onnx, LogisticRegression with string class
# names and skl2onnx's default ZipMap (label: string [N]; probabilities: seq(map(string,
# float))); text_ids.onnx, string input ids through a LabelEncoder (string [N] -> int64 [N])
# and back (int64 [N] -> string [N], unknown words as "unknown").
names = np.array(["setosa", "versicolor", "virginica"])
iris_s = LogisticRegression(max_iter=1000).fit(X, names[load_iris(return_X_y=True)[1]])
save(to_onnx(iris_s, X[:1], target_opset=OPSET), "iris_zipmap.onnx")
text = helper.make_tensor_value_info("text", TensorProto.STRING, ["N"])
ids = helper.make_tensor_value_info("ids", TensorProto.INT64, ["N"])
words = helper.make_tensor_value_info("words", TensorProto.STRING, ["N"])
nodes = [
    helper.make_node("LabelEncoder", ["text"], ["ids"], domain="ai.onnx.ml",
                     keys_strings=["cat", "dog", "bird"], values_int64s=[0, 1, 2], default_int64=-1),
    helper.make_node("LabelEncoder", ["ids"], ["words"], domain="ai.onnx.ml",
                     keys_int64s=[0, 1, 2], values_strings=["cat", "dog", "bird"], default_string="unknown"),
]
g = helper.make_graph(nodes, "text_ids", [text], [ids, words])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)], ir_version=8), "text_ids.onnx")
