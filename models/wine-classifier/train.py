"""Trains the wine-classifier demo model and writes its ONNX export and ezkl input files.

sklearn's wine data set (178 rows, 13 features, 3 cultivars), 75/25 stratified split, MLP 13 -> 8 ReLU -> 3.
The ONNX model takes features standardized with the training split's mean/std (printed below), not raw ones:
raw features span 0.13..1680 (proline), so folding 1/std into the first layer would leave weights like
0.5/315 that quantize to one or two steps at param_scale 10; standardized inputs keep every value in +-5.
Output "y" is the three raw logits (no softmax); the predicted cultivar is their argmax.
Deterministic (fixed split and init seeds, full-batch L-BFGS). Run from the repo root:
    .venv/bin/python models/wine-classifier/train.py
"""

import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

HERE = os.path.dirname(os.path.abspath(__file__))

X, y = load_wine(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
mean, std = X_train.mean(axis=0), X_train.std(axis=0)
X_train, X_test = (X_train - mean) / std, (X_test - mean) / std

# alpha=1.0 (L2) keeps weights below ~1, which keeps the fixed-point intermediates small for the circuit.
clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", alpha=1.0, max_iter=5000, random_state=0)
clf.fit(X_train, y_train)

# sklearn stores weights as (in, out); Gemm with transB=1 takes (out, in).
(w1, w2), (b1, b2) = clf.coefs_, clf.intercepts_
params = {"W1": w1.T, "b1": b1, "W2": w2.T, "b2": b2}
n_in, n_out = w1.shape[0], w2.shape[1]
graph = helper.make_graph(
    [
        helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "W2", "b2"], ["y"], transB=1),
    ],
    "wine_classifier",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n_in])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n_out])],
    [numpy_helper.from_array(a.astype(np.float32), n) for n, a in params.items()],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(HERE, "network.onnx"))

session = ort.InferenceSession(os.path.join(HERE, "network.onnx"))
# Six decimals keep the JSON short and are far finer than ezkl's fixed-point step (2^-input_scale).
rows = np.round(X_test, 6).tolist()
logits = [np.round(session.run(None, {"x": np.array([r], dtype=np.float32)})[0][0], 6).tolist() for r in rows]
onnx_pred = np.argmax(logits, axis=1)
assert (onnx_pred == clf.predict(X_test)).all(), "ONNX export disagrees with sklearn"


def dump(name, obj):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(obj, f)
        f.write("\n")


# ezkl 23 reads "input_data" as one flat list per model input. calibrate_settings splits that list into
# samples of the input size (13 values each; a length that is not a multiple is an error), so all training
# rows go concatenated into the single list. Checked by experiment: per-row lists ([[row], [row], ...]) are
# not rejected, but every list after the first is silently ignored (taken as inputs this model lacks), and
# gen_witness, unlike calibrate_settings, accepts exactly one sample (65 values fail to reshape to [1, 13]).
calibration = np.round(X_train, 6)
dump("calibration.json", {"input_data": [calibration.ravel().tolist()]})
# Verdict refuses inputs outside the calibration rows' per-feature [min, max], so the sample (mock-proven at
# build time) is the first held-out row inside that box; the held-out rows outside it are counted below.
inside = [bool(((calibration.min(axis=0) <= r) & (r <= calibration.max(axis=0))).all()) for r in rows]
dump("sample.json", {"input_data": [rows[inside.index(True)]]})
dump("heldout.json", {"inputs": rows, "labels": y_test.tolist(), "float_outputs": logits})

print(f"train {len(X_train)} / held-out {len(X_test)} rows; params {sum(a.size for a in params.values())}")
print(f"held-out accuracy (onnxruntime float): {(onnx_pred == y_test).mean():.4f}")
print(f"held-out rows outside the calibrated input range: {inside.count(False)}")
print("feature mean:", np.round(mean, 4).tolist())
print("feature std:", np.round(std, 4).tolist())
