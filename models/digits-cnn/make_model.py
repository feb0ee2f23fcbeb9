"""Trains the digits-cnn demo model and writes its ONNX export and ezkl input files.

sklearn's bundled 8x8 handwritten digits (1,797 images, 10 classes; load_digits, no download), 75/25 stratified
split. A small CNN: Conv(1->6 channels, 4x4 kernel, stride 4) + Relu -> a 6x2x2 feature map, Flatten, Gemm(24->10).
The stride-4 convolution reads the image as four non-overlapping 4x4 patches (a vision transformer's patch
embedding, or a conv with its pooling folded into the stride): it keeps the circuit at ~3,500 rows, logrows 12,
where a 3x3 stride-2 padded conv (97.6% too) needs 6,600 rows and twice the proving time.
Input: the image's 64 pixels divided by 16 (0..1, multiples of 1/16, exact in fixed point), row-major, as a flat
[1, 64] row like every Verdict model's input (onnxruntime and the operator feed [1, n]); a Reshape to [-1, 1, 8, 8]
(batch kept free, so batch circuits work) makes the image. Output "y": ten raw logits; the digit is their argmax.
Trained in numpy (im2col + backprop by hand, full-batch L-BFGS from scipy): torch is not a dependency and a
352-parameter model needs nothing more. Deterministic (fixed split and init seeds). Run from the repo root:
    .venv/bin/python models/digits-cnn/make_model.py
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from scipy.optimize import minimize
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mlp_export import write_json  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CHANNELS, K, STRIDE, PAD, SIDE = 6, 4, 4, 0, 8
OUT_SIDE = (SIDE + 2 * PAD - K) // STRIDE + 1  # 2
N_CLASSES = 10
# L2 on all weights: keeps them (and so every fixed-point intermediate) small for the circuit.
ALPHA = 1e-3

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)

# im2col: for each output position (OUT_SIDE^2) the K*K padded-image indices it reads; index SIDE*SIDE is the
# zero pad.
padded = np.full((SIDE + 2 * PAD, SIDE + 2 * PAD), SIDE * SIDE)
padded[PAD:PAD + SIDE, PAD:PAD + SIDE] = np.arange(SIDE * SIDE).reshape(SIDE, SIDE)
PATCH = np.array([
    padded[r * STRIDE:r * STRIDE + K, c * STRIDE:c * STRIDE + K].ravel()
    for r in range(OUT_SIDE) for c in range(OUT_SIDE)
])  # (OUT_SIDE^2 positions, K*K pixels)

shapes = [("Wc", (CHANNELS, K * K)), ("bc", (CHANNELS,)), ("Wd", (N_CLASSES, CHANNELS * OUT_SIDE ** 2)), ("bd", (N_CLASSES,))]
sizes = [int(np.prod(s)) for _, s in shapes]


def unpack(theta):
    out, i = {}, 0
    for (name, shape), n in zip(shapes, sizes):
        out[name] = theta[i:i + n].reshape(shape)
        i += n
    return out


def forward(p, x):
    patches = np.concatenate([x, np.zeros((len(x), 1))], axis=1)[:, PATCH]  # (n, 16, 9)
    conv = patches @ p["Wc"].T + p["bc"]  # (n, positions, channels)
    act = np.maximum(conv, 0)
    # ONNX Flatten of NCHW: channel-major, then row, then column.
    flat = act.transpose(0, 2, 1).reshape(len(x), -1)  # (n, CHANNELS * OUT_SIDE^2)
    return patches, conv, act, flat, flat @ p["Wd"].T + p["bd"]


def loss_and_grad(theta, x, labels):
    p = unpack(theta)
    patches, conv, _, flat, logits = forward(p, x)
    z = logits - logits.max(axis=1, keepdims=True)
    prob = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    n = len(x)
    loss = -np.log(prob[np.arange(n), labels] + 1e-12).mean() + ALPHA / 2 * (np.sum(p["Wc"] ** 2) + np.sum(p["Wd"] ** 2))
    d_logits = prob.copy()
    d_logits[np.arange(n), labels] -= 1
    d_logits /= n
    g = {"Wd": d_logits.T @ flat + ALPHA * p["Wd"], "bd": d_logits.sum(axis=0)}
    d_flat = d_logits @ p["Wd"]
    d_act = d_flat.reshape(n, CHANNELS, OUT_SIDE ** 2).transpose(0, 2, 1)
    d_conv = d_act * (conv > 0)
    g["Wc"] = np.einsum("npc,npk->ck", d_conv, patches) + ALPHA * p["Wc"]
    g["bc"] = d_conv.sum(axis=(0, 1))
    return loss, np.concatenate([g[name].ravel() for name, _ in shapes])


rng = np.random.default_rng(0)
theta0 = np.concatenate([rng.normal(0, 1 / np.sqrt(K * K), sizes[0]), np.zeros(sizes[1]), rng.normal(0, 1 / np.sqrt(64), sizes[2]), np.zeros(sizes[3])])
fit = minimize(loss_and_grad, theta0, args=(X_train, y_train), jac=True, method="L-BFGS-B", options={"maxiter": 2000})
params = unpack(fit.x)

graph = helper.make_graph(
    [
        helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(np.array([-1, 1, SIDE, SIDE], dtype=np.int64))),
        helper.make_node("Reshape", ["x", "shape"], ["img"]),
        helper.make_node("Conv", ["img", "Wc", "bc"], ["c"], kernel_shape=[K, K], strides=[STRIDE, STRIDE], pads=[PAD] * 4),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "Wd", "bd"], ["y"], transB=1),
    ],
    "digits_cnn",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, SIDE * SIDE])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, N_CLASSES])],
    [
        numpy_helper.from_array(params["Wc"].reshape(CHANNELS, 1, K, K).astype(np.float32), "Wc"),
        numpy_helper.from_array(params["bc"].astype(np.float32), "bc"),
        numpy_helper.from_array(params["Wd"].astype(np.float32), "Wd"),
        numpy_helper.from_array(params["bd"].astype(np.float32), "bd"),
    ],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx_path = os.path.join(HERE, "network.onnx")
onnx.save(model, onnx_path)

import onnxruntime as ort  # noqa: E402

session = ort.InferenceSession(onnx_path)
rows = np.round(X_test, 6).tolist()
logits = [np.round(session.run(None, {"x": np.array([r], dtype=np.float32)})[0][0], 6).tolist() for r in rows]
onnx_pred = np.argmax(logits, axis=1)
numpy_pred = np.argmax(forward(params, X_test)[4], axis=1)
assert (onnx_pred == numpy_pred).all(), "ONNX export disagrees with the numpy model"

# ezkl 23 input files: one flat list per model input; the calibration rows go concatenated into that list (see
# models/wine-classifier/train.py for why).
calibration = np.round(X_train, 6)
write_json(HERE, "calibration.json", {"input_data": [calibration.ravel().tolist()]})
# Verdict refuses inputs outside the calibration rows' per-feature [min, max]; the sample (mock-proven at build
# time) is the first held-out row inside that box.
inside = [bool(((calibration.min(axis=0) <= r) & (r <= calibration.max(axis=0))).all()) for r in rows]
write_json(HERE, "sample.json", {"input_data": [rows[inside.index(True)]]})
write_json(HERE, "heldout.json", {"inputs": rows, "labels": y_test.tolist(), "float_outputs": logits})

train_acc = (np.argmax(forward(params, X_train)[4], axis=1) == y_train).mean()
print(f"train {len(X_train)} / held-out {len(X_test)} rows; params {sum(sizes)}; L-BFGS {fit.nit} iterations, loss {fit.fun:.4f}")
print(f"accuracy: train {train_acc:.4f}, held-out (onnxruntime float) {(onnx_pred == y_test).mean():.4f}")
print(f"held-out rows outside the calibrated input range: {inside.count(False)}")
print(f"largest |logit| on held-out rows: {np.abs(logits).max():.2f}; largest |weight|: {max(np.abs(v).max() for v in params.values()):.3f}")
