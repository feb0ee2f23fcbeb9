"""Shared by the demo models' training scripts: export a one-hidden-layer scikit-learn MLP as the ONNX graph
Gemm + Relu + Gemm (ops ezkl proves cheaply), run it with onnxruntime, and write JSON data files."""

import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def export_mlp(mlp, graph_name: str, path: str) -> int:
    """Writes the ONNX file and returns the parameter count."""
    # sklearn stores weights as (in, out); Gemm with transB=1 takes (out, in).
    (w1, w2), (b1, b2) = mlp.coefs_, mlp.intercepts_
    return write_mlp_onnx({"W1": w1.T, "b1": b1, "W2": w2.T, "b2": b2}, graph_name, path)


def write_mlp_onnx(params: dict, graph_name: str, path: str) -> int:
    """Gemm + Relu + Gemm from weights W1 (hidden, in), b1, W2 (out, hidden), b2; returns the parameter count."""
    n_in, n_out = params["W1"].shape[1], params["W2"].shape[0]
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], transB=1),
            helper.make_node("Relu", ["h"], ["r"]),
            helper.make_node("Gemm", ["r", "W2", "b2"], ["y"], transB=1),
        ],
        graph_name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n_out])],
        [numpy_helper.from_array(a.astype(np.float32), n) for n, a in params.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return int(sum(a.size for a in params.values()))


def onnx_outputs(path: str, rows: list) -> list:
    """Float outputs of the exported model, one row at a time (batch 1, as jobs are proven), rounded to 6 places."""
    session = ort.InferenceSession(path)
    return [np.round(session.run(None, {"x": np.array([r], dtype=np.float32)})[0][0], 6).tolist() for r in rows]


def write_json(folder: str, name: str, obj) -> None:
    with open(os.path.join(folder, name), "w") as f:
        json.dump(obj, f)
        f.write("\n")
