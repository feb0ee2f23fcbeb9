// A circuit's run-time artifacts, wherever they come from (a local build or an installed bundle): the files the
// prover needs, its instance layout and calibrated input range, and the content hashes the model registry
// records for them. Build-time code (zk/build/circuit.ts) produces these; nothing here can generate keys or an SRS.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { VerdictError } from "../../shared/errors.js";
import { timingsSchema } from "./bridge.js";

/** Fixed-point layout of one side (inputs or outputs) of the circuit's public instances. */
export interface InstanceLayout {
  count: number;
  scale: number;
}

export const manifestSchema = z.object({
  hash: z.string(),
  srsHash: z.string(),
  logrows: z.number(),
  numRows: z.number(),
  parameters: z.number(),
  inputs: z.object({ count: z.number(), scale: z.number() }),
  outputs: z.object({ count: z.number(), scale: z.number() }),
  /**
   * Per input feature [min, max] seen in calibration (or the sample): where the circuit's accuracy was checked.
   * Not a limit: an input outside it is still proven whenever the circuit takes it (see checkCircuitInput).
   */
  inputRange: z.array(z.tuple([z.number(), z.number()])),
  /** Largest |round(x * 2^scale)| of an input the circuit's range checks take (circuitInputBound). */
  inputBound: z.number().int().positive(),
  /**
   * How far a proven output may be from onnxruntime's float output, relative to max(1, |float|), as the model
   * states it (model.json `tolerance`); absent: the operator's `outputTolerance`.
   */
  outputTolerance: z.number().positive().optional(),
  buildTimings: timingsSchema,
});
export type CircuitManifest = z.infer<typeof manifestSchema>;

export type ArtifactFile = "settings.json" | "network.compiled" | "vk.key" | "pk.key" | "Verifier.sol" | "Reusable.sol" | "vka.bin";
export type VerifierKind = "single" | "reusable";

export type CircuitArtifacts = CircuitManifest & {
  /** Model name (lower-case, dashes). */
  name: string;
  /** Which verifier the model registers (see ModelSpec.verifier). */
  verifier: VerifierKind;
  /** Folder with settings.json, network.compiled, pk.key and vk.key (what the ezkl bridge reads). */
  dir: string;
  onnx: string;
  srs: string;
  file(name: ArtifactFile): string;
};

/** sha256 of the parts, each followed by "\0" (so ("ab","c") and ("a","bc") differ). */
export function sha256Parts(...parts: (string | Buffer)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex");
}

export interface RegistryHashes {
  onnxHash: string;
  circuitHash: string;
  vkHash: string;
}

/** Content hashes the model registry records for a circuit's files (sha256, as bytes32 hex). */
export async function registryHashes(files: { onnx: string; settings: string; compiled: string; vk: string }): Promise<RegistryHashes> {
  const hex = async (...paths: string[]) => `0x${sha256Parts(...(await Promise.all(paths.map((f) => readFile(f)))))}`;
  return { onnxHash: await hex(files.onnx), circuitHash: await hex(files.settings, files.compiled), vkHash: await hex(files.vk) };
}

/** The registry hashes of a circuit's artifacts. */
export function circuitHashes(c: CircuitArtifacts): Promise<RegistryHashes> {
  return registryHashes({ onnx: c.onnx, settings: c.file("settings.json"), compiled: c.file("network.compiled"), vk: c.file("vk.key") });
}

const settingsBoundSchema = z.object({ run_args: z.object({ decomp_base: z.number().int().positive(), decomp_legs: z.number().int().positive() }) });

/**
 * The largest |quantised input| an ezkl (23.0.5) circuit can take, from its settings.json: every input is
 * range-checked by decomposition into `decomp_legs` digits of base `decomp_base` (plus a sign), so
 * |round(x * 2^input_scale)| <= decomp_base^decomp_legs - 1 (checked at both ends with ezkl: 512^2 - 1 passes,
 * 512^2 fails). Values inside the circuit (hidden layers, outputs) are range-checked the same way, which only a
 * witness generation can tell (witnessOutputs in prover.ts).
 */
export function circuitInputBound(settings: unknown): number {
  const { decomp_base: base, decomp_legs: legs } = settingsBoundSchema.parse(settings).run_args;
  return base ** legs - 1;
}

/**
 * Refuses an input that no proof of this circuit can carry: the wrong width, NaN/Infinity, or a feature whose
 * quantised value overflows the circuit's input range check. Pure TypeScript (no ezkl), so a requester's SDK and
 * CLI run the same rule an operator runs first; it is necessary, not sufficient: a value computed from an input
 * can still overflow inside the circuit, which the operator finds with a witness generation before it locks.
 * The calibrated range is no limit: a model onboarded from 16 rows refused 12 of 16 held-out rows under it,
 * although the circuit proves every one of them (test/zk/inputs.circuit.test.ts).
 */
export function checkCircuitInput(circuit: Pick<CircuitManifest, "inputBound" | "inputs">, row: readonly number[], what: string): void {
  const { count, scale } = circuit.inputs;
  if (row.length !== count) throw new VerdictError("INPUT_SHAPE_MISMATCH", `${what} has ${row.length} values, the model takes ${count}`);
  row.forEach((v, j) => {
    if (!Number.isFinite(v)) throw new VerdictError("BAD_INPUT", `${what} feature ${j} is ${v}`);
    const q = Math.round(Math.abs(v) * 2 ** scale);
    if (q > circuit.inputBound) {
      throw new VerdictError(
        "INPUT_OUT_OF_RANGE",
        `${what} feature ${j} = ${v} is beyond what the circuit can take: |x| * 2^${scale} must round to at most ${circuit.inputBound} (|x| < ${(circuit.inputBound + 1) / 2 ** scale})`,
        "scale the input as the model expects, or rebuild the model with a larger decomp_base^decomp_legs",
      );
    }
  });
}

/**
 * The first feature of `row` outside the calibrated range (widened by one quantisation step: an input posted
 * on-chain is rounded to that step), described; undefined when the row lies inside. Outside is allowed, but the
 * circuit's accuracy was not checked there: the SDK and CLI warn.
 */
export function calibrationGap(circuit: Pick<CircuitManifest, "inputRange" | "inputs">, row: readonly number[]): string | undefined {
  const step = 2 ** -circuit.inputs.scale;
  const j = row.findIndex((v, k) => v < circuit.inputRange[k]![0] - step || v > circuit.inputRange[k]![1] + step);
  return j < 0 ? undefined : `feature ${j} = ${row[j]} is outside the calibrated range [${circuit.inputRange[j]![0]}, ${circuit.inputRange[j]![1]}]`;
}
