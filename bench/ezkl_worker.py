"""Long-lived ezkl process for the benchmarks (bench/scaling.ts, bench/compare.ts).

zk/bridge.py starts one interpreter per command, which is what the operator does today; this worker instead
reads one JSON request per line on stdin and answers one JSON line on stdout, so a bench can prove many times in
one process ("warm"), or start a fresh one per proof ("cold"), with the same ezkl calls either way. It runs
under the project's ezkl (23.x) and under the pinned ezkl 21 venv that compare.ts builds, so it passes every
ezkl argument by keyword: positional orders differ between the two (v21's prove takes proof_type before
srs_path). Bench-only: never imported by the services.
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
sys.path[:0] = [os.path.join(REPO, "zk"), os.path.join(REPO, "models")]
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


def cmd_srs(r: dict) -> dict:
    call(ezkl.gen_srs, r["out"], r["logrows"])
    return {}


def cmd_build(r: dict) -> dict:
    """settings, compiled circuit and keys into r["dir"] (used for the ezkl 21 artifacts of compare.ts)."""
    f = lambda name: os.path.join(r["dir"], name)  # noqa: E731
    os.makedirs(r["dir"], exist_ok=True)
    t: dict = {}
    if not timed(t, "gen_settings", ezkl.gen_settings, model=r["onnx"], output=f("settings.json"), py_run_args=run_args(r["run_args"])):
        raise RuntimeError("gen_settings failed")
    if not timed(t, "compile_circuit", ezkl.compile_circuit, model=r["onnx"], compiled_circuit=f("network.compiled"), settings_path=f("settings.json")):
        raise RuntimeError("compile_circuit failed")
    timed(t, "gen_witness", ezkl.gen_witness, data=r["sample"], model=f("network.compiled"), output=f("sample.witness.json"))
    if not timed(t, "mock", ezkl.mock, witness=f("sample.witness.json"), model=f("network.compiled")):
        raise RuntimeError("mock proving failed")
    if not timed(t, "setup", ezkl.setup, model=f("network.compiled"), vk_path=f("vk.key"), pk_path=f("pk.key"), srs_path=r["srs"]):
        raise RuntimeError("setup failed")
    return {"timings": t, "logrows": json.load(open(f("settings.json")))["run_args"]["logrows"]}


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


def cmd_verify(r: dict) -> dict:
    """Native verification of a proof file (e.g. one the WASM engine wrote), for cross-checking provers."""
    ok = call(ezkl.verify, proof_path=r["proof"], settings_path=os.path.join(r["dir"], "settings.json"), vk_path=os.path.join(r["dir"], "vk.key"), srs_path=r["srs"])
    return {"verified": bool(ok)}


COMMANDS = {"mlp": cmd_mlp, "rows": cmd_rows, "srs": cmd_srs, "build": cmd_build, "prove": cmd_prove, "verify": cmd_verify}


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
    # As in zk/bridge.py: ezkl's runtime can abort during interpreter finalisation; output is flushed.
    os._exit(0)


if __name__ == "__main__":
    main()
