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
  iris_zipmap.onnx    the iris LogisticRegression with default options (ZipMap probabilities)
  tree_regressor.onnx DecisionTreeRegressor on 3 features (default export)
  strings_pipeline.onnx  OneHotEncoder on a string column + a float column, LogisticRegression, ZipMap
  stateful_lstm.onnx  silero-like: batch shared by input [batch, sequence] and state [2, batch, 4],
                      sequence >= 8, sr compared with 16000; its LSTM aborts ORT on an empty batch
  stateful_unnamed.onnx  the same with its dimension names dropped
  fixed_batch_relu.onnx  Relu on a fixed [2, 3]
  image_cnn.onnx      Conv + pooling + Softmax over 4 classes, [batch, 3, height, width]
  exact_frames.onnx   frames of exactly 49 samples (no guessed size fits)
  *_seeds.npz         valid inputs, one array per input name
  loop_n.onnx, expand_sum.onnx  hostile fixtures for the monitor: a Loop of n iterations, a
                      ConstantOfShape as large as asked then summed (see below)
  iris_zipmap_names.onnx, text_ids.onnx  ZipMap with string classes; string inputs and outputs
  window_probs.onnx   a classifier reading 6 of its 8 features (NaN where it does not read is not accepted NaN)
  slow_classifier.onnx  a 3-class softmax classifier whose every run spends ~0.3 s in a Loop of
                      150,000 trivial iterations (the --budget-seconds test)
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

# ---- issue 15: real model kinds ---------------------------------------------------------------
from sklearn.compose import ColumnTransformer
from sklearn.tree import DecisionTreeRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from onnx import numpy_helper

rng = np.random.default_rng(15)

# The same iris logistic regression exported with skl2onnx's defaults: ZipMap probabilities.
def named(model, name):
    """skl2onnx names graphs with a random UUID; a fixed name keeps the file reproducible."""
    model.graph.name = name
    return model


save(named(to_onnx(iris, X[:1], target_opset=OPSET), "iris_zipmap"), "iris_zipmap.onnx")

# A tree regressor (default export): NaN in, an ordinary number out.
Xr = rng.normal(size=(60, 3)).astype(np.float32)
reg = DecisionTreeRegressor(max_depth=3, random_state=0).fit(Xr, Xr @ np.array([1.0, -2.0, 0.5]) + 3.0)
save(named(to_onnx(reg, Xr[:1], target_opset=OPSET), "tree_regressor"), "tree_regressor.onnx")

# A tabular pipeline with a string column (one-hot) and a float column, one input each, ZipMap.
cities = np.array(["paris", "berlin", "rome"])
city = cities[rng.integers(0, 3, 90)].reshape(-1, 1)
amount = rng.normal(size=(90, 1)).astype(np.float32)
yc = ((amount[:, 0] + (city[:, 0] == "paris")) > 0.5).astype(int)
import pandas as pd

df = pd.DataFrame({"city": city[:, 0], "amount": amount[:, 0]})
pipe = Pipeline([("pre", ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), ["city"]), ("n", "passthrough", ["amount"])])),
                 ("clf", LogisticRegression())]).fit(df, yc)
save(named(convert_sklearn(pipe, initial_types=[("city", StringTensorType([None, 1])), ("amount", FloatTensorType([None, 1]))],
                           target_opset=OPSET), "strings_pipeline"), "strings_pipeline.onnx")
np.savez(os.path.join(out, "strings_seeds.npz"), city=city[:8].astype(str), amount=amount[:8])

# A stateful streaming model shaped like silero-vad: `batch` is axis 0 of `input` and axis 1 of
# `state`; `sequence` must be at least 8 (a Conv of 8 taps, no padding); `sr` is compared with
# 16000. Its LSTM aborts ONNX Runtime 1.31.1 on a consistent empty batch (a real crash).
H = 4
inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", "sequence"])
st = helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, "batch", H])
sr = helper.make_tensor_value_info("sr", TensorProto.INT64, [])
outp = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 1])
stn = helper.make_tensor_value_info("stateN", TensorProto.FLOAT, [2, "batch", H])
w = lambda a, n: numpy_helper.from_array(np.asarray(a, np.float32), n)
i64 = lambda a, n: numpy_helper.from_array(np.asarray(a, np.int64), n)
inits = [
    w(rng.normal(size=(3, 1, 8)) * 0.3, "conv_w"), i64([1], "ax1"), i64([0], "ax0"), i64([2], "ax2"),
    w(rng.normal(size=(1, 4 * H, 3)), "lstm_w"), w(rng.normal(size=(1, 4 * H, H)), "lstm_r"),
    i64([0], "s0"), i64([1], "s1"), i64([2], "s2"), w(rng.normal(size=(H, 1)), "head_w"),
    i64(16000, "k16000"), w(0.5, "half"),
]
nodes = [
    helper.make_node("Unsqueeze", ["input", "ax1"], ["x3"]),
    helper.make_node("Conv", ["x3", "conv_w"], ["feat"]),
    helper.make_node("ReduceMean", ["feat"], ["pooled"], axes=[2], keepdims=0),
    helper.make_node("Unsqueeze", ["pooled", "ax0"], ["seq1"]),
    helper.make_node("Slice", ["state", "s0", "s1", "ax0"], ["h0"]),
    helper.make_node("Slice", ["state", "s1", "s2", "ax0"], ["c0"]),
    helper.make_node("LSTM", ["seq1", "lstm_w", "lstm_r", "", "", "h0", "c0"], ["", "hn", "cn"], hidden_size=H),
    helper.make_node("Concat", ["hn", "cn"], ["stateN"], axis=0),
    helper.make_node("Squeeze", ["hn", "ax0"], ["h"]),
    helper.make_node("MatMul", ["h", "head_w"], ["logit"]),
    helper.make_node("Equal", ["sr", "k16000"], ["is16k"]),
    helper.make_node("Cast", ["is16k"], ["is16kf"], to=TensorProto.FLOAT),
    helper.make_node("Mul", ["is16kf", "half"], ["bias"]),
    helper.make_node("Add", ["logit", "bias"], ["z"]),
    helper.make_node("Sigmoid", ["z"], ["output"]),
]
g = helper.make_graph(nodes, "stateful", [inp, st, sr], [outp, stn], inits)
stateful = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
save(stateful, "stateful_lstm.onnx")
# The same with every dimension name dropped (as silero_vad.onnx ships): the batch is unnamed.
for vi in list(stateful.graph.input) + list(stateful.graph.output):
    for d in vi.type.tensor_type.shape.dim:
        if d.HasField("dim_param"):
            d.ClearField("dim_param")
save(stateful, "stateful_unnamed.onnx")
audio = (0.3 * np.sin(np.arange(64) / 3.0)).astype(np.float32)[None]
np.savez(os.path.join(out, "stateful_seeds.npz"), input=audio, state=np.zeros((2, 1, H), np.float32), sr=np.array(16000, np.int64))

# A fixed leading dimension of 2 (onnx's pytorch-converted ReLU test has [2, 3, 4, 5]).
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
yv = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [yv])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), "fixed_batch_relu.onnx")

# A small image classifier: [batch, 3, height, width] -> 4 classes (Softmax); any H, W >= 3.
img = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, "height", "width"])
probs = helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 4])
inits = [w(rng.normal(size=(8, 3, 3, 3)) * 0.5, "k1"), w(rng.normal(size=(8, 4)), "fc"), w(rng.normal(size=(4,)) * 0.1, "fb")]
nodes = [
    helper.make_node("Conv", ["image", "k1"], ["c1"], pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c1"], ["r1"]),
    helper.make_node("GlobalAveragePool", ["r1"], ["gp"]),
    helper.make_node("Flatten", ["gp"], ["f"]),
    helper.make_node("Gemm", ["f", "fc", "fb"], ["logits"]),
    helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
]
g = helper.make_graph(nodes, "cnn", [img], [probs], inits)
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), "image_cnn.onnx")
yy, xx = np.mgrid[0:16, 0:16] / 15.0
pictures = np.stack([np.stack([xx, yy, (xx + yy) / 2]), np.stack([yy, 1 - xx, xx * yy])]).astype(np.float32)
np.savez(os.path.join(out, "image_seeds.npz"), image=pictures)

# Audio frames of exactly 49 samples (reshaped to 7 x 7): no size modelsec guesses fits, so it
# must say which flag describes the input.
inp = helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["batch", "samples"])
o = helper.make_tensor_value_info("energy", TensorProto.FLOAT, ["batch", 7])
g = helper.make_graph(
    [helper.make_node("Reshape", ["audio", "shape"], ["grid"]), helper.make_node("ReduceMean", ["grid"], ["energy"], axes=[2], keepdims=0)],
    "exact", [inp], [o], [i64([-1, 7, 7], "shape")])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), "exact_frames.onnx")
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

# Models people serve as exported: iris_zipmap_names.onnx, LogisticRegression with string class
# names and skl2onnx's default ZipMap (label: string [N]; probabilities: seq(map(string,
# float))); text_ids.onnx, string input ids through a LabelEncoder (string [N] -> int64 [N])
# and back (int64 [N] -> string [N], unknown words as "unknown").
names = np.array(["setosa", "versicolor", "virginica"])
iris_s = LogisticRegression(max_iter=1000).fit(X, names[load_iris(return_X_y=True)[1]])
save(named(to_onnx(iris_s, X[:1], target_opset=OPSET), "iris_zipmap_names"), "iris_zipmap_names.onnx")
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

# window_probs.onnx: a classifier that reads only the first 6 of its 8 features (as a
# melspectrogram ignores the samples past its last frame): probs = Softmax(x[:, :6] @ W). NaN in
# a read feature gives NaN probabilities; NaN in features 6 and 7 changes nothing, which is not
# the model accepting NaN.
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])
probs = helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 2])
weights = np.array([[1, -1], [2, 0], [-1, 1], [0.5, 0.5], [0, 2], [-2, 1]], np.float32)
nodes = [
    helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["window"]),
    helper.make_node("MatMul", ["window", "W"], ["logits"]),
    helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
]
g = helper.make_graph(nodes, "window_probs", [x], [probs],
                      [i64([0], "starts"), i64([6], "ends"), i64([1], "axes"), numpy_helper.from_array(weights, "W")])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), "window_probs.onnx")

# slow_classifier.onnx: a 3-class softmax classifier on 4 features whose every run spends a
# fixed time in a Loop of K trivial iterations (the slow model of the budget test).
x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", 4])
p = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 3])
half = helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])
body = helper.make_graph(
    [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
     helper.make_node("Mul", ["v_in", "half"], ["m"]),
     helper.make_node("Add", ["m", "m"], ["v_out"])],
    "body",
    [helper.make_tensor_value_info("i", TensorProto.INT64, []),
     helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
     helper.make_tensor_value_info("v_in", TensorProto.FLOAT, ["batch", 4])],
    [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
     helper.make_tensor_value_info("v_out", TensorProto.FLOAT, ["batch", 4])],
    [half],
)
trips = helper.make_tensor("trips", TensorProto.INT64, [], [150_000])
cond = helper.make_tensor("cond", TensorProto.BOOL, [], [True])
w = helper.make_tensor("W", TensorProto.FLOAT, [4, 3], [1.0, -1.0, 0.0, -1.0, 1.0, 0.0, 0.5, 0.5, -1.0, 0.0, 0.0, 1.0])
nodes = [helper.make_node("Loop", ["trips", "cond", "X"], ["Xs"], body=body),
         helper.make_node("MatMul", ["Xs", "W"], ["logits"]),
         helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1)]
g = helper.make_graph(nodes, "slow_classifier", [x], [p], [trips, cond, w])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), "slow_classifier.onnx")
