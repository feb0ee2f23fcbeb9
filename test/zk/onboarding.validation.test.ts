// Onboarding refuses bad input with a clear, coded error before any ezkl key generation or chain interaction.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { REPO_ROOT } from "../../shared/paths.js";
import { CACHE_DIR, ensureCircuit, loadModelSpec, type BuiltCircuit, type ModelSpec } from "../../zk/build/circuit.js";
import { prove } from "../../zk/runtime/prover.js";
import { ensureDevSrs } from "../../zk/build/srs.js";
import { checkVerifierCurrent } from "../../zk/build/verifier.js";
import { rejection } from "../fixtures/errors.js";

/** A model folder in a temp dir: `onnx` copied in, data files as given, optional calibration. */
async function modelDir(onnx: string, sample: number[][], calibration?: number[][]): Promise<ModelSpec> {
  const dir = await mkdtemp(path.join(tmpdir(), "verdict-model-"));
  await copyFile(onnx, path.join(dir, "network.onnx"));
  await writeFile(path.join(dir, "sample.json"), JSON.stringify({ input_data: sample }));
  if (calibration) await writeFile(path.join(dir, "calibration.json"), JSON.stringify({ input_data: calibration }));
  const spec = { name: `bad-${path.basename(dir).slice(-6).toLowerCase()}`, description: "test", onnx: "network.onnx", sample: "sample.json", ...(calibration ? { calibration: "calibration.json" } : {}), runArgs: { input_scale: 10, param_scale: 10, logrows: 11, decomp_base: 1024, decomp_legs: 3 } };
  await writeFile(path.join(dir, "model.json"), JSON.stringify(spec));
  return loadModelSpec(dir);
}

describe("model onboarding: bad input is refused before any key generation", () => {
  let bad: string;
  const spikeOnnx = path.join(REPO_ROOT, "models", "spike", "network.onnx");
  const buildsBefore = async () => (existsSync(CACHE_DIR) ? (await readdir(CACHE_DIR)).length : 0);

  before(async () => {
    bad = await mkdtemp(path.join(tmpdir(), "verdict-bad-"));
    execFileSync(path.join(REPO_ROOT, ".venv", "bin", "python"), [path.join(REPO_ROOT, "test", "fixtures", "bad_models.py"), bad]);
  });

  it("ensureCircuit refuses an unsupported ONNX op with UNSUPPORTED_OP", async () => {
    const n = await buildsBefore();
    const err = await rejection(ensureCircuit(await modelDir(path.join(bad, "unsupported.onnx"), [[1, 2, 3, 4]])));
    expect(err.code).to.equal("UNSUPPORTED_OP");
    expect(err.message).to.match(/Det/);
    expect(await buildsBefore()).to.equal(n);
  });

  it("ensureCircuit refuses dynamic shapes with DYNAMIC_SHAPE", async () => {
    const err = await rejection(ensureCircuit(await modelDir(path.join(bad, "dynamic.onnx"), [[1, 2, 3]])));
    expect(err.code).to.equal("DYNAMIC_SHAPE");
    expect(err.message).to.match(/batch/);
  });

  it("ensureCircuit refuses data whose shape does not match the model input with DATA_SHAPE_MISMATCH", async () => {
    const err = await rejection(ensureCircuit(await modelDir(spikeOnnx, [[1, 2, 3, 4]])));
    expect(err.code).to.equal("DATA_SHAPE_MISMATCH");
    expect(err.message).to.match(/input size 3/);
  });

  it("onboarding refuses a compiled verifier from another build of the circuit with STALE_VERIFIER (it would reject every proof)", async () => {
    const circuit = await ensureCircuit(await loadModelSpec("spike"));
    expect(await checkVerifierCurrent(circuit)).to.equal("SpikeVerifier");
    // The same model rebuilt (new keys) but not placed and compiled: its Verifier.sol differs from the compiled one.
    const rebuilt = await mkdtemp(path.join(tmpdir(), "verdict-rebuilt-"));
    const original = await readFile(circuit.file("Verifier.sol"), "utf8");
    await writeFile(path.join(rebuilt, "Verifier.sol"), `${original}\n// rebuilt\n`);
    const err = await rejection(checkVerifierCurrent({ ...circuit, file: (name: string) => path.join(rebuilt, name) }));
    expect(err.code).to.equal("STALE_VERIFIER");
    expect(err.message).to.match(/make build/);
  });

  it("ensureCircuit refuses calibration that does not cover the data with CALIBRATION_DOES_NOT_COVER_DATA", async () => {
    const err = await rejection(ensureCircuit(await modelDir(spikeOnnx, [[0.5, -1, 0.25]], [[0, 0, 0], [0.1, 0.1, 0.1]])));
    expect(err.code).to.equal("CALIBRATION_DOES_NOT_COVER_DATA");
    expect(err.message).to.match(/feature 0 = 0.5/);
  });

  it("ensureCircuit refuses an SRS smaller than the circuit with SRS_TOO_SMALL", async () => {
    const small = await ensureDevSrs(8);
    const err = await rejection(ensureCircuit(await loadModelSpec("spike"), { srs: small }));
    expect(err.code).to.equal("SRS_TOO_SMALL");
    expect(err.message).to.match(/logrows >= 10.*has 8/);
  });
});

describe("prover: inputs ezkl cannot prove are refused before proving (or at the witness, its first step)", () => {
  let circuit: BuiltCircuit;
  before(async () => {
    circuit = await ensureCircuit(await loadModelSpec("spike"));
  });

  for (const [what, input, code] of [
    ["beyond the circuit's input range check (|x| * 2^10 > 512^2 - 1)", [256, 0, 0], "INPUT_OUT_OF_RANGE"],
    ["whose values overflow inside the circuit", [255, 255, 255], "INPUT_NOT_PROVABLE"],
    ["NaN", [Number.NaN, 0, 0], "BAD_INPUT"],
    ["Infinity", [Number.POSITIVE_INFINITY, 0, 0], "BAD_INPUT"],
    ["of the wrong length", [0.5, -1], "INPUT_SHAPE_MISMATCH"],
  ] as const) {
    it(`prove refuses an input ${what} with ${code}`, async () => {
      const err = await rejection(prove(circuit, [...input]));
      expect(err.code).to.equal(code);
    });
  }
});
