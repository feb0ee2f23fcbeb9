"""Long-lived ezkl process for the scaling bench (bench/scaling.ts): seeded MLP models and many proofs in one
process, one JSON request per line on stdin and one JSON line out. Bench-only: the services' warm prover is
zk/runtime/bridge.py serve.
"""

import asyncio
import inspect
import json
import os
import resource
import sys
import time

import ezkl

# The bridge's run arguments (same visibility: weights fixed in the key, input and output public) and the demo
# models' MLP export; both import only what this interpreter has when they are used.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "zk", "runtime"), os.path.join(REPO, "models")]
from bridge import _run_args as run_args  # noqa: E402


def rss_mb() -> float:
    # Linux reports ru_maxrss in KiB; it is the peak of this process so far, never lowered.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# Some calls are coroutines in one release and plain functions in the other (gen_witness is async in ezkl 21 and
# needs a running loop); every call runs inside this one loop so both releases pay the same (tiny) wrapper.
LOOP = asyncio.new_event_loop()


def call(fn, *args, **kwargs):
    async def go():
        out = fn(*args, **kwargs)
        return await out if inspect.isawaitable(out) else out

    return LOOP.run_until_complete(go())


def timed(timings: dict, label: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = call(fn, *args, **kwargs)
    timings[label] = round(time.perf_counter() - t0, 5)
    return out


def cmd_mlp(r: dict) -> dict:
    """Gemm(n_in -> hidden) + Relu + Gemm(hidden -> n_out) with seeded random weights, plus a sample input."""
    import numpy as np
    from mlp_export import write_mlp_onnx

    n_in, hidden, n_out = r["n_in"], r["hidden"], r["n_out"]
    rng = np.random.default_rng(r.get("seed", 0))
    # 1/sqrt(fan-in) keeps every intermediate near unit size, far inside the fixed-point range the run args allow.
    params = {
        "W1": rng.normal(0, 1 / np.sqrt(n_in), (hidden, n_in)),
        "b1": rng.normal(0, 0.1, (hidden,)),
        "W2": rng.normal(0, 1 / np.sqrt(hidden), (n_out, hidden)),
        "b2": rng.normal(0, 0.1, (n_out,)),
    }
    os.makedirs(r["out"], exist_ok=True)
    parameters = write_mlp_onnx(params, f"mlp_{n_in}_{hidden}_{n_out}", os.path.join(r["out"], "network.onnx"))
    sample = np.round(rng.uniform(-1, 1, n_in), 4).tolist()
    with open(os.path.join(r["out"], "sample.json"), "w") as f:
        json.dump({"input_data": [sample]}, f)
    return {"parameters": parameters}


def cmd_rows(r: dict) -> dict:
    """Rows the circuit needs (settings at a generous logrows), so the caller can pick the smallest logrows."""
    out = r["settings"]
    if not call(ezkl.gen_settings, model=r["onnx"], output=out, py_run_args=run_args({**r["run_args"], "logrows": 20})):
        raise RuntimeError("gen_settings failed")
    s = json.load(open(out))
    return {"numRows": s["num_rows"], "rangeChecks": s.get("required_range_checks", [])}


def cmd_prove(r: dict) -> dict:
    """One job as the operator's bridge call does it: witness, proof, native verification. pk is read from its
    path on every call (ezkl's Python prove takes a path, not a loaded key)."""
    d, w = r["dir"], r["work"]
    f = lambda name: os.path.join(d, name)  # noqa: E731
    t: dict = {}
    witness, proof = os.path.join(w, "witness.json"), os.path.join(w, "proof.json")
    timed(t, "witness", ezkl.gen_witness, data=r["input"], model=f("network.compiled"), output=witness)
    timed(t, "prove", ezkl.prove, witness=witness, model=f("network.compiled"), pk_path=f("pk.key"), proof_path=proof, srs_path=r["srs"])
    ok = timed(t, "verify", ezkl.verify, proof_path=proof, settings_path=f("settings.json"), vk_path=f("vk.key"), srs_path=r["srs"])
    p = json.load(open(proof))
    return {
        "verified": bool(ok),
        "hexProof": p["hex_proof"],
        "instances": [x for group in p["instances"] for x in group],
        "timings": t,
        "maxRssMb": rss_mb(),
    }


COMMANDS = {"mlp": cmd_mlp, "rows": cmd_rows, "prove": cmd_prove}


def main() -> None:
    # ezkl logs to stdout in some versions; keep stdout for our JSON lines only.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    out.write(json.dumps({"ready": True, "ezkl": ezkl.__version__, "maxRssMb": rss_mb()}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if req.get("cmd") == "quit":
            break
        try:
            res = COMMANDS[req["cmd"]](req)
        except Exception as e:  # noqa: BLE001 - one error line per failed request; the worker keeps serving
            res = {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(res) + "\n")
        out.flush()
    out.flush()
    # As in zk/runtime/bridge.py: ezkl's runtime can abort during interpreter finalisation; output is flushed.
    os._exit(0)


if __name__ == "__main__":
    main()
