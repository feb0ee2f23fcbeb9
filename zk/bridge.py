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


def cmd_build(a) -> dict:
    run_args = json.loads(a.run_args)
    out = a.out
    os.makedirs(out, exist_ok=True)
    p = ezkl.PyRunArgs()
    # Weights are baked into the verifying key ("fixed"): a prover cannot swap them. Input and output are
    # public instances so the on-chain job input and the decoded output are bound to the proof.
    p.param_visibility = "fixed"
    p.input_visibility = "public"
    p.output_visibility = "public"
    for key, value in run_args.items():
        setattr(p, key, value)
    timings: dict = {}
    f = lambda name: os.path.join(out, name)  # noqa: E731
    if not timed("gen_settings", timings, ezkl.gen_settings, a.onnx, f("settings.json"), py_run_args=p):
        raise RuntimeError("gen_settings failed")
    if not timed("compile_circuit", timings, ezkl.compile_circuit, a.onnx, f("network.compiled"), f("settings.json")):
        raise RuntimeError("compile_circuit failed")
    settings = json.load(open(f("settings.json")))
    logrows = settings["run_args"]["logrows"]
    # Prove the circuit can be satisfied on the sample input before the (slower) key generation.
    timed("gen_witness", timings, ezkl.gen_witness, a.sample, f("network.compiled"), f("sample.witness.json"))
    if not timed("mock", timings, ezkl.mock, f("sample.witness.json"), f("network.compiled")):
        raise RuntimeError("mock proving of the sample input failed")
    if not timed("setup", timings, ezkl.setup, f("network.compiled"), f("vk.key"), f("pk.key"), srs_path=a.srs):
        raise RuntimeError("setup failed")

    async def verifier():
        return await ezkl.create_evm_verifier(f("vk.key"), f("settings.json"), f("Verifier.sol"), f("Verifier.abi"), a.srs)

    # create_evm_verifier writes the .sol and then tries to download solc to compile it, which fails offline;
    # the project's Hardhat compiles it instead, so only a missing .sol is an error.
    try:
        timed("create_evm_verifier", timings, asyncio.run, verifier())
    except Exception as e:  # noqa: BLE001
        if not os.path.exists(f("Verifier.sol")):
            raise
        log(f"verifier written; ezkl's own solc step skipped ({str(e)[:80]}...)")
    return {"logrows": logrows, "numRows": settings["num_rows"], "settings": settings["run_args"], "timings": timings}


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


def cmd_verify(a) -> dict:
    timings: dict = {}
    ok = timed("verify", timings, ezkl.verify, a.proof, a.settings, a.vk, a.srs)
    return {"verified": bool(ok), "timings": timings}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("srs", help="generate a development SRS (random; never for production)")
    s.add_argument("--out", required=True)
    s.add_argument("--logrows", type=int, required=True)
    b = sub.add_parser("build", help="settings, compiled circuit, keys and Solidity verifier for an ONNX model")
    b.add_argument("--onnx", required=True)
    b.add_argument("--sample", required=True, help="ezkl input JSON used to check the circuit before setup")
    b.add_argument("--run-args", required=True, help="JSON object of PyRunArgs fields")
    b.add_argument("--srs", required=True)
    b.add_argument("--out", required=True)
    p = sub.add_parser("prove", help="witness, proof and local verification for one input")
    for name in ("dir", "input", "srs", "witness", "proof"):
        p.add_argument(f"--{name}", required=True)
    v = sub.add_parser("verify", help="verify a proof file natively")
    for name in ("proof", "settings", "vk", "srs"):
        v.add_argument(f"--{name}", required=True)
    a = ap.parse_args()
    try:
        result = {"srs": cmd_srs, "build": cmd_build, "prove": cmd_prove, "verify": cmd_verify}[a.cmd](a)
    except Exception as e:  # noqa: BLE001 - every failure becomes one JSON error line for the caller
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
        os._exit(1)
    print(json.dumps(result), flush=True)
    # ezkl's runtime can abort in interpreter finalisation after async calls; skip it, output is flushed.
    os._exit(0)


if __name__ == "__main__":
    main()
