"""Trains the wine-classifier demo model and writes its ONNX export and ezkl input files.

sklearn's wine data set (178 rows, 13 features, 3 cultivars), 75/25 stratified split, MLP 13 -> 8 ReLU -> 3.
The ONNX model takes features standardized with the training split's mean/std (printed below), not raw ones:
raw features span 0.13..1680 (proline), so folding 1/std into the first layer would leave weights like
0.5/315 that quantize to one or two steps at param_scale 10; standardized inputs keep every value in +-5.
Output "y" is the three raw logits (no softmax); the predicted cultivar is their argmax.
Deterministic (fixed split and init seeds, full-batch L-BFGS). Run from the repo root:
    .venv/bin/python models/wine-classifier/train.py
"""

import os
import sys

import numpy as np
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mlp_export import export_mlp, onnx_outputs, write_json  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

X, y = load_wine(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
mean, std = X_train.mean(axis=0), X_train.std(axis=0)
X_train, X_test = (X_train - mean) / std, (X_test - mean) / std

# alpha=1.0 (L2) keeps weights below ~1, which keeps the fixed-point intermediates small for the circuit.
clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", alpha=1.0, max_iter=5000, random_state=0)
clf.fit(X_train, y_train)

n_params = export_mlp(clf, "wine_classifier", os.path.join(HERE, "network.onnx"))

# Six decimals keep the JSON short and are far finer than ezkl's fixed-point step (2^-input_scale).
rows = np.round(X_test, 6).tolist()
logits = onnx_outputs(os.path.join(HERE, "network.onnx"), rows)
onnx_pred = np.argmax(logits, axis=1)
assert (onnx_pred == clf.predict(X_test)).all(), "ONNX export disagrees with sklearn"




# ezkl 23 reads "input_data" as one flat list per model input. calibrate_settings splits that list into
# samples of the input size (13 values each; a length that is not a multiple is an error), so all training
# rows go concatenated into the single list. Checked by experiment: per-row lists ([[row], [row], ...]) are
# not rejected, but every list after the first is silently ignored (taken as inputs this model lacks), and
# gen_witness, unlike calibrate_settings, accepts exactly one sample (65 values fail to reshape to [1, 13]).
calibration = np.round(X_train, 6)
write_json(HERE, "calibration.json", {"input_data": [calibration.ravel().tolist()]})
# Verdict refuses inputs outside the calibration rows' per-feature [min, max], so the sample (mock-proven at
# build time) is the first held-out row inside that box; the held-out rows outside it are counted below.
inside = [bool(((calibration.min(axis=0) <= r) & (r <= calibration.max(axis=0))).all()) for r in rows]
write_json(HERE, "sample.json", {"input_data": [rows[inside.index(True)]]})
write_json(HERE, "heldout.json", {"inputs": rows, "labels": y_test.tolist(), "float_outputs": logits})

print(f"train {len(X_train)} / held-out {len(X_test)} rows; params {n_params}")
print(f"held-out accuracy (onnxruntime float): {(onnx_pred == y_test).mean():.4f}")
print(f"held-out rows outside the calibrated input range: {inside.count(False)}")
print("feature mean:", np.round(mean, 4).tolist())
print("feature std:", np.round(std, 4).tolist())
