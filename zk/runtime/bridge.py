"""Thin bridge from TypeScript to ezkl's native Python binding.

Every subcommand reads paths from argv, writes artifacts to files and prints one JSON object on stdout; logic
(caching, decoding, policy) lives in TypeScript (zk/*.ts). Progress goes to stderr.
"""

import argparse
import asyncio
import json
import os
import sys
import time

import ezkl


def log(msg: str) -> None:
    print(f"[ezkl] {msg}", file=sys.stderr, flush=True)


def timed(label: str, timings: dict, fn, *args, **kwargs):
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    timings[label] = round(time.perf_counter() - t0, 4)
    log(f"{label}: {timings[label]:.2f}s")
    return result


def cmd_srs(a) -> dict:
    # gen_srs is random and for development only; a deployment passes a ceremony SRS file instead.
    timings: dict = {}
    timed("gen_srs", timings, ezkl.gen_srs, a.out, a.logrows)
    return {"srs": a.out, "timings": timings}


# Ops Verdict onboards today: the MLP/CNN building blocks that ezkl proves efficiently. Others are refused up
# front with a clear message rather than failing deep inside ezkl.
SUPPORTED_OPS = {
    "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "Conv",
    "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization", "Flatten", "Reshape", "Transpose",
    "Concat", "Squeeze", "Unsqueeze", "Identity", "Constant", "Clip", "ReduceMean", "ReduceSum", "ArgMax",
}


def cmd_inspect(a) -> dict:
    import numpy as np
    import onnx

    model = onnx.load(a.onnx)
    onnx.checker.check_model(model)
    initializers = {t.name for t in model.graph.initializer}

    def tensor(v):
        dims = v.type.tensor_type.shape.dim
        return {
            "name": v.name,
            "shape": [d.dim_value if d.HasField("dim_value") else None for d in dims],
            "dynamic": [d.dim_param or "?" for d in dims if not d.HasField("dim_value") or d.dim_value <= 0],
        }

    ops = [n.op_type for n in model.graph.node]
    return {
        "inputs": [tensor(v) for v in model.graph.input if v.name not in initializers],
        "outputs": [tensor(v) for v in model.graph.output],
        "ops": sorted(set(ops)),
        "unsupported": sorted({op for op in ops if op not in SUPPORTED_OPS}),
        "parameters": int(sum(int(np.prod(t.dims)) for t in model.graph.initializer)),
    }


def cmd_batch_onnx(a) -> dict:
    """The model for N jobs at once: the leading (batch) dimension of its input and output fixed to N. ezkl can
    also fix a symbolic batch axis through PyRunArgs.variables, but the demo models are exported with a fixed
    batch of 1; re-shaping the graph's interface works for both, and the batch ONNX file is then an ordinary
    fixed-shape model for every later step (settings, keys, witness)."""
    _batch_onnx(a.onnx, a.n, a.out)
    return {"out": a.out}


def _batch_onnx(src: str, n: int, out: str) -> None:
    import onnx

    model = onnx.load(src)
    initializers = {t.name for t in model.graph.initializer}
    for v in [*(v for v in model.graph.input if v.name not in initializers), *model.graph.output]:
        dim = v.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_param")
        dim.dim_value = n
    # Inferred intermediate shapes were for batch 1; let ezkl's tract re-infer them.
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, out)


def _run_args(params: dict) -> "ezkl.PyRunArgs":
    p = ezkl.PyRunArgs()
    # Weights are baked into the verifying key ("fixed"): a prover cannot swap them. Input and output are
    # public instances so the on-chain job input and the decoded output are bound to the proof.
    p.param_visibility = "fixed"
    p.input_visibility = "public"
    p.output_visibility = "public"
    for key, value in params.items():
        setattr(p, key, value)
    return p


def cmd_settings(a) -> dict:
    run_args = json.loads(a.run_args)
    os.makedirs(a.out, exist_ok=True)
    f = lambda name: os.path.join(a.out, name)  # noqa: E731
    timings: dict = {}
    if not timed("gen_settings", timings, ezkl.gen_settings, a.onnx, f("settings.json"), py_run_args=_run_args(run_args)):
        raise RuntimeError("gen_settings failed")
    if "logrows" not in run_args:
        # No hand-picked run args: let ezkl choose scales and logrows from the calibration data.
        if not a.calibration:
            raise RuntimeError("run args without logrows need calibration data")
        timed(
            "calibrate_settings", timings, ezkl.calibrate_settings, a.calibration, a.onnx, f("settings.json"),
            "resources", max_logrows=a.max_logrows,
        )
    if not timed("compile_circuit", timings, ezkl.compile_circuit, a.onnx, f("network.compiled"), f("settings.json")):
        raise RuntimeError("compile_circuit failed")
    settings = json.load(open(f("settings.json")))
    return {"logrows": settings["run_args"]["logrows"], "numRows": settings["num_rows"], "timings": timings}


def cmd_setup(a) -> dict:
    f = lambda name: os.path.join(a.dir, name)  # noqa: E731
    timings: dict = {}
    # Prove the circuit can be satisfied on the sample input before the (slower) key generation.
    timed("gen_witness", timings, ezkl.gen_witness, a.sample, f("network.compiled"), f("sample.witness.json"))
    if not timed("mock", timings, ezkl.mock, f("sample.witness.json"), f("network.compiled")):
        raise RuntimeError("mock proving of the sample input failed")
    if not timed("setup", timings, ezkl.setup, f("network.compiled"), f("vk.key"), f("pk.key"), srs_path=a.srs):
        raise RuntimeError("setup failed")

    # Both verifier flavours: a single-model verifier with the key baked in, and ezkl's reusable verifier (one
    # contract for all circuits) plus this circuit's verifying-key artifact (vka), for circuits whose single
    # verifier would exceed the 24 KB contract limit. The model spec picks which one is registered.
    async def verifiers():
        for name, reusable in (("Verifier", False), ("Reusable", True)):
            try:
                await ezkl.create_evm_verifier(f("vk.key"), f("settings.json"), f(f"{name}.sol"), f(f"{name}.abi"), a.srs, reusable)
            except Exception as e:  # noqa: BLE001
                # ezkl writes the .sol and then tries to download solc to compile it, which fails offline; the
                # project's Hardhat compiles it instead, so only a missing .sol is an error.
                if not os.path.exists(f(f"{name}.sol")):
                    raise
                log(f"{name}.sol written; ezkl's own solc step skipped ({str(e)[:60]}...)")
        await ezkl.create_evm_vka(f("vk.key"), f("settings.json"), f("vka.bin"), a.srs)

    timed("create_evm_verifiers", timings, asyncio.run, verifiers())
    return {"timings": timings}


def cmd_prove(a) -> dict:
    d = a.dir
    f = lambda name: os.path.join(d, name)  # noqa: E731
    timings: dict = {}
    timed("witness", timings, ezkl.gen_witness, a.input, f("network.compiled"), a.witness)
    timed("prove", timings, ezkl.prove, a.witness, f("network.compiled"), f("pk.key"), a.proof, a.srs)
    ok = timed("verify", timings, ezkl.verify, a.proof, f("settings.json"), f("vk.key"), a.srs)
    proof = json.load(open(a.proof))
    return {
        "verified": bool(ok),
        "hexProof": proof["hex_proof"],
        # 32-byte little-endian hex felts, in circuit order (inputs, then outputs).
        "instances": [x for group in proof["instances"] for x in group],
        "timings": timings,
    }


def cmd_outputs(a) -> dict:
    # Quantized outputs for many rows in one process: exactly what proofs of those rows would carry.
    rows = json.load(open(a.rows))["rows"]
    return {"outputs": [_row_outputs(a.work, os.path.join(a.dir, "network.compiled"), row, f"row{i}") for i, row in enumerate(rows)]}


def _witness_outputs(work: str, compiled: str, flat: list, name: str) -> list:
    """The witness's outputs, one list per output tensor (each flat, rows after one another)."""
    inp = os.path.join(work, f"{name}.json")
    with open(inp, "w") as fh:
        json.dump({"input_data": [flat]}, fh)
    # An explicit output path: without one ezkl writes witness.json into the working directory.
    return ezkl.gen_witness(inp, compiled, os.path.join(work, f"{name}.witness.json"))["outputs"]


def _row_outputs(work: str, compiled: str, row: list, name: str) -> list:
    return [x for group in _witness_outputs(work, compiled, row, name) for x in group]


# Rows a check network takes at once: ezkl's witness generation costs ~4 ms a call plus ~0.45 ms a row of a demo
# model (measured with ezkl 23.0.5), so rows checked together cost ~0.5-1 ms each instead of ~5.
CHECK_SLOTS = (8, 64, 256)
# Rows a new check network is compared on with the circuit's own witnesses before it is used.
SELF_CHECK_ROWS = 16
# Check networks of this process, by (circuit folder, slots): {"compiled": file or None, "checked": bool}. None
# where the model cannot be batched or the batched witness disagreed with the circuit's own (rows are then checked
# one by one); not yet checked until a request brings rows to compare on. Their files live in one folder of the
# process, removed when it stops serving.
_check_networks: dict = {}
_check_folder: list = []


def _batched_outputs(work: str, compiled: str, rows: list, n: int) -> list:
    """Each row's outputs from one witness of an n-row network, rows padded with the first."""
    padded = rows + [rows[0]] * (n - len(rows))
    groups = _witness_outputs(work, compiled, [x for r in padded for x in r], "group")
    return [[x for g in groups for x in g[i * (len(g) // n) : (i + 1) * (len(g) // n)]] for i in range(len(rows))]


def _built_check_network(d: str, onnx_path: str, n: int) -> dict:
    """The circuit's model with its batch dimension fixed to n, compiled with the circuit's own settings.json: the
    same scales and range checks, so each row's witness is the one the circuit itself computes."""
    key = (d, n)
    if key not in _check_networks:
        import tempfile

        if not _check_folder:
            _check_folder.append(tempfile.mkdtemp(prefix="verdict-check-"))
        folder = tempfile.mkdtemp(dir=_check_folder[0])
        compiled = os.path.join(folder, f"check-x{n}.compiled")
        try:
            _batch_onnx(onnx_path, n, os.path.join(folder, "batch.onnx"))
            if not ezkl.compile_circuit(os.path.join(folder, "batch.onnx"), compiled, os.path.join(d, "settings.json")):
                raise RuntimeError("compile_circuit failed")
        except Exception as e:  # noqa: BLE001 - a model that cannot be batched is checked row by row
            log(f"check network x{n} of {d}: {type(e).__name__}: {e}; rows checked one by one")
            compiled = None
        _check_networks[key] = {"compiled": compiled, "checked": compiled is None}
    return _check_networks[key]


def _check_network(d: str, onnx_path: str, n: int, work: str, rows: list) -> "str | None":
    """The n-row check network, taken into use once its outputs equal the circuit's, row by row, on rows of the
    first request that needs it (those the circuit proves)."""
    entry = _built_check_network(d, onnx_path, n)
    if not entry["checked"]:
        proven = [(r, o) for r, o in ((r, _single(work, d, r, "self")) for r in rows[:SELF_CHECK_ROWS]) if o is not None]
        if not proven:
            return None  # nothing to compare with yet: decided on a later request
        try:
            agrees = _batched_outputs(work, entry["compiled"], [r for r, _ in proven], n) == [o for _, o in proven]
        except Exception as e:  # noqa: BLE001 - rows the circuit proves, refused batched: not the same network
            log(f"check network x{n} of {d}: {type(e).__name__}: {e}")
            agrees = False
        entry["checked"] = True
        if not agrees:
            entry["compiled"] = None
        log(f"check network x{n} of {d}: {'in use' if agrees else 'disagrees with the circuit: rows checked one by one'}")
    return entry["compiled"]


def cmd_prepare(a) -> dict:
    """Builds a circuit's check networks ahead of its first checks (the operator's start-up; `serve` only, since
    they live in the process)."""
    return {"slots": [n for n in CHECK_SLOTS if _built_check_network(a.dir, a.onnx, n)["compiled"]]}


def _single(work: str, d: str, row: list, name: str) -> "list | None":
    """One row's outputs from the circuit itself; None when its witness fails (a value overflows the range checks)."""
    try:
        return _row_outputs(work, os.path.join(d, "network.compiled"), row, name)
    except Exception as e:  # noqa: BLE001 - only a refused witness is an answer; anything else is raised
        if "Failed to generate witness" not in str(e):
            raise
        return None


def cmd_check(a) -> dict:
    """Each row's quantized outputs, or null for a row the circuit cannot prove: the operator's test of jobs before
    it locks them. Rows go through a check network in groups; a group in which a witness fails is checked again row
    by row on the circuit itself, so a refusal is always the circuit's own."""
    rows = json.load(open(a.rows))["rows"]
    out: list = []
    batched = 0
    for start in range(0, len(rows), CHECK_SLOTS[-1]):
        group = rows[start : start + CHECK_SLOTS[-1]]
        n = next(s for s in CHECK_SLOTS if s >= len(group))
        network = _check_network(a.dir, a.onnx, n, a.work, group) if len(group) > 1 else None
        if network:
            try:
                out += _batched_outputs(a.work, network, group, n)
                batched += len(group)
                continue
            except Exception as e:  # noqa: BLE001 - a row overflows: which one, the circuit tells row by row
                if "Failed to generate witness" not in str(e):
                    raise
        out += [_single(a.work, a.dir, row, f"row{i}") for i, row in enumerate(group)]
    return {"outputs": out, "batched": batched}


def cmd_verify(a) -> dict:
    import resource

    timings: dict = {}
    ok = timed("verify", timings, ezkl.verify, a.proof, a.settings, a.vk, a.srs)
    # Peak memory of this verifying process (Linux reports KiB), to show what re-verification costs.
    return {"verified": bool(ok), "timings": timings, "maxRssMb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def serve(commands: dict) -> None:
    """One process for many requests (the operator's warm prover): a JSON line in, {"cmd": ..., "args": {...}}
    with the same arguments as the command line, a JSON line out. Interpreter start-up and `import ezkl` are paid
    once, not per proof. Only run-time commands are served: a prover never generates keys or an SRS."""
    print(json.dumps({"ready": True, "ezkl": ezkl.__version__}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            args = argparse.Namespace(**{k.replace("-", "_"): v for k, v in req.get("args", {}).items()})
            out = commands[req["cmd"]](args)
        except Exception as e:  # noqa: BLE001 - one JSON error line per failed request; the process serves on
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)
    _remove_check_folder()
    os._exit(0)


def _remove_check_folder() -> None:
    if _check_folder:
        import shutil

        shutil.rmtree(_check_folder[0], ignore_errors=True)


def die_with_parent() -> None:
    """A proof must not outlive the operator that asked for it (a SIGKILLed parent would leave it holding the CPU
    or GPU, and its restart would prove the job again): Linux kills us when the parent dies."""
    parent = os.getppid()
    try:
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return  # not Linux: the parent's timeout still bounds the proof
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def main() -> None:
    die_with_parent()
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("srs", help="generate a development SRS (random; never for production)")
    s.add_argument("--out", required=True)
    s.add_argument("--logrows", type=int, required=True)
    i = sub.add_parser("inspect", help="inputs, outputs, ops and parameter count of an ONNX model")
    i.add_argument("--onnx", required=True)
    t = sub.add_parser("settings", help="ezkl settings (calibrated when no logrows is given) and compiled circuit")
    t.add_argument("--onnx", required=True)
    t.add_argument("--run-args", required=True, help="JSON object of PyRunArgs fields")
    t.add_argument("--calibration", default="")
    t.add_argument("--max-logrows", type=int, default=17)
    t.add_argument("--out", required=True)
    b = sub.add_parser("setup", help="keys and Solidity verifier for a compiled circuit")
    b.add_argument("--dir", required=True)
    b.add_argument("--sample", required=True, help="ezkl input JSON used to check the circuit before setup")
    b.add_argument("--srs", required=True)
    p = sub.add_parser("prove", help="witness, proof and local verification for one input")
    for name in ("dir", "input", "srs", "witness", "proof"):
        p.add_argument(f"--{name}", required=True)
    o = sub.add_parser("outputs", help="quantized outputs (witness only, no proof) for many input rows")
    for name in ("dir", "rows", "work"):
        o.add_argument(f"--{name}", required=True)
    c = sub.add_parser("check", help="each row's quantized outputs, or null where the circuit cannot prove it")
    for name in ("dir", "onnx", "rows", "work"):
        c.add_argument(f"--{name}", required=True)
    v = sub.add_parser("verify", help="verify a proof file natively")
    for name in ("proof", "settings", "vk", "srs"):
        v.add_argument(f"--{name}", required=True)
    n = sub.add_parser("batch-onnx", help="the model with its batch dimension fixed to N (one proof for N jobs)")
    n.add_argument("--onnx", required=True)
    n.add_argument("--n", type=int, required=True)
    n.add_argument("--out", required=True)
    sub.add_parser("serve", help="prove, verify, outputs, check and prepare requests as JSON lines on stdin (a warm prover)")
    a = ap.parse_args()
    if a.cmd == "serve":
        serve({"prove": cmd_prove, "outputs": cmd_outputs, "check": cmd_check, "prepare": cmd_prepare, "verify": cmd_verify})
    try:
        commands = {"srs": cmd_srs, "inspect": cmd_inspect, "settings": cmd_settings, "setup": cmd_setup, "prove": cmd_prove, "outputs": cmd_outputs, "check": cmd_check, "verify": cmd_verify, "batch-onnx": cmd_batch_onnx}
        result = commands[a.cmd](a)
    except Exception as e:  # noqa: BLE001 - every failure becomes one JSON error line for the caller
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
        _remove_check_folder()
        os._exit(1)
    _remove_check_folder()
    print(json.dumps(result), flush=True)
    # ezkl's runtime can abort in interpreter finalisation after async calls; skip it, output is flushed.
    os._exit(0)


if __name__ == "__main__":
    main()
