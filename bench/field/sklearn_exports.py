#!/usr/bin/env python3
"""scikit-learn models exported with skl2onnx's default options, for bench/field/fuzz.sh.

Usage: sklearn_exports.py OUT_DIR NAME...
Writes OUT_DIR/NAME.onnx and OUT_DIR/NAME.rows.npz (the training rows, one array per ONNX input
name) for each NAME. Datasets are the ones bundled with scikit-learn (no download). Exports use
`skl2onnx.to_onnx` / `convert_sklearn` with default options (ZipMap on for classifiers) unless the
name says otherwise (`_nozipmap`: options {'zipmap': False}).
"""
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from skl2onnx import convert_sklearn, to_onnx
from skl2onnx.common.data_types import FloatTensorType, StringTensorType


def rf_iris():
    X, y = datasets.load_iris(return_X_y=True)
    X = X.astype(np.float32)
    m = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(X, y)
    return to_onnx(m, X[:1]), {"X": X}


def _cancer():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    X = X.astype(np.float32)
    m = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))]).fit(X, y)
    return m, X


def logreg_cancer():
    m, X = _cancer()
    return to_onnx(m, X[:1]), {"X": X}


def logreg_cancer_nozipmap():
    m, X = _cancer()
    return to_onnx(m, X[:1], options={"zipmap": False}), {"X": X}


def svc_digits():
    X, y = datasets.load_digits(return_X_y=True)
    X = X.astype(np.float32)
    m = SVC(probability=True, random_state=0).fit(X, y)
    return to_onnx(m, X[:1]), {"X": X}


def rf_regressor_diabetes():
    X, y = datasets.load_diabetes(return_X_y=True)
    X = X.astype(np.float32)
    m = RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0).fit(X, y)
    return to_onnx(m, X[:1]), {"X": X}


def ohe_logreg_strings():
    # A typical tabular pipeline: one categorical string column one-hot encoded, three numeric
    # columns scaled, logistic regression. Two ONNX inputs: `city` string [N,1], `num` float [N,3].
    rng = np.random.default_rng(0)
    n = 300
    cities = np.array(["paris", "berlin", "madrid", "rome", "lisbon"])
    city = cities[rng.integers(0, len(cities), n)].reshape(-1, 1)
    num = rng.normal(size=(n, 3)).astype(np.float32)
    y = ((num[:, 0] + (city[:, 0] == "paris") * 1.5 + rng.normal(scale=0.5, size=n)) > 0.5).astype(int)
    import pandas as pd  # skl2onnx depends on it only for this kind of pipeline

    df = pd.DataFrame({"city": city[:, 0], "n0": num[:, 0], "n1": num[:, 1], "n2": num[:, 2]})
    pre = ColumnTransformer([("city", OneHotEncoder(handle_unknown="ignore"), ["city"]),
                             ("num", StandardScaler(), ["n0", "n1", "n2"])])
    m = Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(df, y)
    # convert_sklearn needs one ONNX input per column group; a ColumnTransformer on named
    # columns takes one input per column name.
    onx = convert_sklearn(m, initial_types=[("city", StringTensorType([None, 1])),
                                            ("n0", FloatTensorType([None, 1])),
                                            ("n1", FloatTensorType([None, 1])),
                                            ("n2", FloatTensorType([None, 1]))])
    return onx, {"city": city.astype(str), "n0": num[:, :1], "n1": num[:, 1:2], "n2": num[:, 2:3]}


EXPORTS = {f.__name__: f for f in (rf_iris, logreg_cancer, logreg_cancer_nozipmap, svc_digits,
                                   rf_regressor_diabetes, ohe_logreg_strings)}

if __name__ == "__main__":
    # SVC(probability=True) is deprecated in scikit-learn 1.9 (still the usual way to get an SVC
    # with probabilities, and what skl2onnx converts); keep the bench output quiet about it.
    warnings.filterwarnings("ignore", category=FutureWarning)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[2:]:
        onx, rows = EXPORTS[name]()
        (out / f"{name}.onnx").write_bytes(onx.SerializeToString())
        np.savez(out / f"{name}.rows.npz", **rows)
