"""Writes the zk spike model: Gemm(3->4) + Relu + Gemm(4->2) with seeded weights, its sample input and
calibration rows (inputs in [-1, 1], the range the prover then accepts).

Small on purpose: it proves at logrows 11 in about a second on two cores. Run from the repo root:
    .venv/bin/python models/spike/make_model.py
"""

import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)
w1 = rng.normal(0, 0.5, (4, 3)).astype(np.float32)
b1 = rng.normal(0, 0.1, (4,)).astype(np.float32)
w2 = rng.normal(0, 0.5, (2, 4)).astype(np.float32)
b2 = rng.normal(0, 0.1, (2,)).astype(np.float32)

graph = helper.make_graph(
    [
        helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "W2", "b2"], ["y"], transB=1),
    ],
    "spike",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
    [numpy_helper.from_array(a, n) for a, n in ((w1, "W1"), (b1, "b1"), (w2, "W2"), (b2, "b2"))],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(HERE, "network.onnx"))
with open(os.path.join(HERE, "sample.json"), "w") as f:
    json.dump({"input_data": [[0.5, -1.0, 0.25]]}, f)
    f.write("\n")
# Corners of [-1, 1]^3 plus random rows: one flattened list, three values per row.
corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
rows = np.vstack([corners, np.round(rng.uniform(-1, 1, (24, 3)), 4)])
with open(os.path.join(HERE, "calibration.json"), "w") as f:
    json.dump({"input_data": [rows.flatten().tolist()]}, f)
    f.write("\n")
