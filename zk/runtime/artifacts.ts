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
  /** Per input feature [min, max] seen in calibration (or the sample): inputs outside are refused before proving. */
  inputRange: z.array(z.tuple([z.number(), z.number()])),
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

/** Refuses `row` when a feature lies outside the calibrated range (ezkl would fail or clip). */
export function checkInRange(row: readonly number[], range: readonly [number, number][], what: string): void {
  if (row.length !== range.length) throw new VerdictError("INPUT_SHAPE_MISMATCH", `${what} has ${row.length} values, the model takes ${range.length}`);
  row.forEach((v, j) => {
    if (!Number.isFinite(v)) throw new VerdictError("BAD_INPUT", `${what} feature ${j} is ${v}`);
    const [lo, hi] = range[j]!;
    if (v < lo || v > hi) {
      throw new VerdictError(
        "INPUT_OUT_OF_RANGE",
        `${what} feature ${j} = ${v} is outside the calibrated range [${lo}, ${hi}]`,
        "rebuild the model with calibration data that covers such inputs",
      );
    }
  });
}

/**
 * Refuses an input the circuit cannot prove. A feature may lie up to one quantization step (2^-scale) outside
 * the calibrated range: on-chain inputs are rounded to that step, so a calibration row's own extreme value can
 * come back from its felt just beyond the float bound.
 */
export function checkCircuitInput(circuit: Pick<CircuitArtifacts, "inputRange" | "inputs">, row: readonly number[], what: string): void {
  const step = 2 ** -circuit.inputs.scale;
  checkInRange(row, circuit.inputRange.map(([lo, hi]) => [lo - step, hi + step] as [number, number]), what);
}
