"""A seeded random MLP for the scaling bench (bench/scaling.ts): Gemm(n_in -> hidden) + Relu + Gemm(hidden -> n_out)
written as ONNX with a sample input, and the rows its circuit needs at the bench's run arguments (settings at a
generous logrows), so the caller can pick the smallest logrows. Proving is the product's warm prover's job.
    python bench/mlp.py '{"out": DIR, "n_in": 16, "hidden": 64, "n_out": 4, "seed": 1, "run_args": {...}}'
prints one JSON line: parameters, numRows, the ezkl version and this process's peak RSS right after `import ezkl`.
"""

import json
import os
import resource
import sys

import ezkl

# Peak RSS (Linux: KiB) of an interpreter that has imported ezkl: the baseline under the prover's figures.
BASELINE_MB = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "zk", "runtime"), os.path.join(REPO, "models")]
from bridge import _run_args as run_args  # noqa: E402
from mlp_export import write_mlp_onnx  # noqa: E402


def main() -> None:
    import numpy as np

    r = json.loads(sys.argv[1])
    n_in, hidden, n_out = r["n_in"], r["hidden"], r["n_out"]
    rng = np.random.default_rng(r["seed"])
    # 1/sqrt(fan-in) keeps every intermediate near unit size, far inside the fixed-point range the run args allow.
    params = {
        "W1": rng.normal(0, 1 / np.sqrt(n_in), (hidden, n_in)),
        "b1": rng.normal(0, 0.1, (hidden,)),
        "W2": rng.normal(0, 1 / np.sqrt(hidden), (n_out, hidden)),
        "b2": rng.normal(0, 0.1, (n_out,)),
    }
    out = r["out"]
    os.makedirs(out, exist_ok=True)
    onnx = os.path.join(out, "network.onnx")
    parameters = write_mlp_onnx(params, f"mlp_{n_in}_{hidden}_{n_out}", onnx)
    with open(os.path.join(out, "sample.json"), "w") as f:
        json.dump({"input_data": [np.round(rng.uniform(-1, 1, n_in), 4).tolist()]}, f)
    settings = os.path.join(out, "rows.settings.json")
    if not ezkl.gen_settings(model=onnx, output=settings, py_run_args=run_args({**r["run_args"], "logrows": 20})):
        raise RuntimeError("gen_settings failed")
    rows = json.load(open(settings))["num_rows"]
    print(json.dumps({"parameters": parameters, "numRows": rows, "ezkl": ezkl.__version__, "baselineRssMb": BASELINE_MB}), flush=True)
    # As in zk/runtime/bridge.py: ezkl's runtime can abort during interpreter finalisation; output is flushed.
    os._exit(0)


if __name__ == "__main__":
    main()
