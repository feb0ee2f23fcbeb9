"""Trains the diabetes-regressor demo model and writes its ONNX export and ezkl input files.

sklearn's diabetes data set (442 rows, 10 features, target = disease progression one year on, 25..346),
75/25 split, MLP 10 -> 8 ReLU -> 1. The target is divided by 100 (so 0.25..3.46): the model's output "y" times
100 is the prediction in the data set's units. The ONNX model takes features standardized with the training
split's mean/std (printed below). sklearn ships these features already scaled to |x| < 0.2; folding 1/std
(about 21) into the first layer would feed those raw values, where ezkl's 2^-10 step is 2% of a feature's
spread, while standardized inputs (within +-5) lose only 0.1%.
Deterministic (fixed split and init seeds, full-batch L-BFGS). Run from the repo root:
    .venv/bin/python models/diabetes-regressor/train.py
"""

import os
import sys

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mlp_export import export_mlp, onnx_outputs, write_json  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

X, y = load_diabetes(return_X_y=True)
y = y / 100
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
mean, std = X_train.mean(axis=0), X_train.std(axis=0)
X_train, X_test = (X_train - mean) / std, (X_test - mean) / std

# Strong L2 (alpha=10): 331 noisy rows overfit an 8-unit MLP otherwise (held-out R^2 falls below a linear fit's).
reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", alpha=10.0, max_iter=5000, random_state=0)
reg.fit(X_train, y_train)

n_params = export_mlp(reg, "diabetes_regressor", os.path.join(HERE, "network.onnx"))

# Six decimals keep the JSON short and are far finer than ezkl's fixed-point step (2^-input_scale).
rows = np.round(X_test, 6).tolist()
preds = onnx_outputs(os.path.join(HERE, "network.onnx"), rows)
flat_preds = np.array(preds)[:, 0]
assert np.allclose(flat_preds, reg.predict(X_test), atol=1e-4), "ONNX export disagrees with sklearn"




# ezkl 23 reads "input_data" as one flat list per model input. calibrate_settings splits that list into
# samples of the input size (10 values each; a length that is not a multiple is an error), so all training
# rows go concatenated into the single list. Checked by experiment: per-row lists ([[row], [row], ...]) are
# not rejected, but every list after the first is silently ignored (taken as inputs this model lacks), and
# gen_witness, unlike calibrate_settings, accepts exactly one sample (a longer list fails to reshape to [1, 10]).
calibration = np.round(X_train, 6)
write_json(HERE, "calibration.json", {"input_data": [calibration.ravel().tolist()]})
# Verdict refuses inputs outside the calibration rows' per-feature [min, max], so the sample (mock-proven at
# build time) is the first held-out row inside that box; the held-out rows outside it are counted below.
inside = [bool(((calibration.min(axis=0) <= r) & (r <= calibration.max(axis=0))).all()) for r in rows]
write_json(HERE, "sample.json", {"input_data": [rows[inside.index(True)]]})
write_json(HERE, "heldout.json", {"inputs": rows, "labels": np.round(y_test, 6).tolist(), "float_outputs": preds})

print(f"train {len(X_train)} / held-out {len(X_test)} rows; params {n_params}")
print(f"held-out (onnxruntime float): R^2 {r2_score(y_test, flat_preds):.4f}, "
      f"MAE {mean_absolute_error(y_test, flat_preds):.4f} (x100 = {100 * mean_absolute_error(y_test, flat_preds):.1f})")
print(f"held-out rows outside the calibrated input range: {inside.count(False)}")
print("feature mean:", np.round(mean, 6).tolist())
print("feature std:", np.round(std, 6).tolist())
