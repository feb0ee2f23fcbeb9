// Model spec (models/<name>/model.json) -> ezkl circuit artifacts (settings, compiled circuit, keys, Solidity
// verifier), built once and cached under .cache/zk by the content hash of everything that determines them.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { REPO_ROOT } from "../shared/paths.js";
import { runBridge, timingsSchema } from "./bridge.js";
import { ensureDevSrs } from "./srs.js";

export const CACHE_DIR = path.join(REPO_ROOT, ".cache", "zk");

const runArgsSchema = z
  .object({
    input_scale: z.number().int().min(0).max(30),
    param_scale: z.number().int().min(0).max(30),
    logrows: z.number().int().min(6).max(26),
    decomp_base: z.number().int().positive().optional(),
    decomp_legs: z.number().int().positive().optional(),
    num_inner_cols: z.number().int().positive().optional(),
  })
  .strict();

export const modelSpecSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]*$/, "lower-case letters, digits and dashes"),
    description: z.string(),
    onnx: z.string(),
    sample: z.string(),
    runArgs: runArgsSchema,
  })
  .strict();
export type ModelSpec = z.infer<typeof modelSpecSchema> & { dir: string };

/** Fixed-point layout of one side (inputs or outputs) of the circuit's public instances. */
export interface InstanceLayout {
  count: number;
  scale: number;
}

export interface CircuitArtifacts {
  spec: ModelSpec;
  dir: string;
  hash: string;
  srs: string;
  logrows: number;
  inputs: InstanceLayout;
  outputs: InstanceLayout;
  /** Seconds per ezkl step when the circuit was built (absent steps were cached). */
  buildTimings: Record<string, number>;
  file(name: "settings.json" | "network.compiled" | "vk.key" | "pk.key" | "Verifier.sol"): string;
}

/** Content hashes the model registry records for a circuit (sha256, as bytes32 hex). */
export async function registryHashes(c: CircuitArtifacts): Promise<{ onnxHash: string; circuitHash: string; vkHash: string }> {
  const hex = async (...files: string[]) => `0x${await sha256(...(await Promise.all(files.map((f) => readFile(f)))))}`;
  return {
    onnxHash: await hex(path.join(c.spec.dir, c.spec.onnx)),
    circuitHash: await hex(c.file("settings.json"), c.file("network.compiled")),
    vkHash: await hex(c.file("vk.key")),
  };
}

export async function loadModelSpec(name: string): Promise<ModelSpec> {
  const dir = path.join(REPO_ROOT, "models", name);
  const raw: unknown = JSON.parse(await readFile(path.join(dir, "model.json"), "utf8"));
  return { ...modelSpecSchema.parse(raw), dir };
}

const buildResultSchema = z.object({
  logrows: z.number(),
  numRows: z.number(),
  timings: timingsSchema,
});

const settingsSchema = z.object({
  model_instance_shapes: z.array(z.array(z.number())),
  model_input_scales: z.array(z.number()),
  model_output_scales: z.array(z.number()),
});

const manifestSchema = z.object({
  hash: z.string(),
  logrows: z.number(),
  inputs: z.object({ count: z.number(), scale: z.number() }),
  outputs: z.object({ count: z.number(), scale: z.number() }),
  buildTimings: timingsSchema,
});

async function sha256(...parts: (string | Buffer)[]): Promise<string> {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex");
}

function layoutFrom(settings: z.infer<typeof settingsSchema>): { inputs: InstanceLayout; outputs: InstanceLayout } {
  const [inShape, outShape, ...rest] = settings.model_instance_shapes;
  const [inScale] = settings.model_input_scales;
  const [outScale] = settings.model_output_scales;
  if (!inShape || !outShape || rest.length || inScale === undefined || outScale === undefined) {
    throw new Error("only models with one input tensor and one output tensor are supported");
  }
  const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  return { inputs: { count: count(inShape), scale: inScale }, outputs: { count: count(outShape), scale: outScale } };
}

/**
 * Returns the circuit artifacts for `spec`, building them only when no cached build has the same content hash
 * (ONNX bytes, sample, run args, SRS, ezkl bridge source and pinned requirements).
 */
export async function ensureCircuit(spec: ModelSpec, srsPath?: string): Promise<CircuitArtifacts> {
  const srs = srsPath ?? (await ensureDevSrs(spec.runArgs.logrows));
  const onnx = path.join(spec.dir, spec.onnx);
  const sample = path.join(spec.dir, spec.sample);
  const hash = await sha256(
    await readFile(onnx),
    await readFile(sample),
    JSON.stringify(spec.runArgs),
    await readFile(srs),
    await readFile(path.join(REPO_ROOT, "zk", "bridge.py")),
    await readFile(path.join(REPO_ROOT, "requirements.txt")),
  );
  const dir = path.join(CACHE_DIR, `${spec.name}-${hash.slice(0, 16)}`);
  const manifestPath = path.join(dir, "manifest.json");
  if (!existsSync(manifestPath)) {
    // Build into a scratch folder and rename it into place, so an interrupted build is never taken for a cached one.
    const scratch = `${dir}.tmp-${process.pid}`;
    await rm(scratch, { recursive: true, force: true });
    await mkdir(scratch, { recursive: true });
    const built = await runBridge(
      "build",
      { onnx, sample, "run-args": JSON.stringify(spec.runArgs), srs, out: scratch },
      buildResultSchema,
    );
    const settings = settingsSchema.parse(JSON.parse(await readFile(path.join(scratch, "settings.json"), "utf8")));
    const manifest: z.infer<typeof manifestSchema> = { hash, logrows: built.logrows, ...layoutFrom(settings), buildTimings: built.timings };
    await writeFile(path.join(scratch, "manifest.json"), JSON.stringify(manifest, null, 2));
    await rm(dir, { recursive: true, force: true });
    await rename(scratch, dir);
  }
  const manifest = manifestSchema.parse(JSON.parse(await readFile(manifestPath, "utf8")));
  return { spec, dir, srs, ...manifest, file: (name) => path.join(dir, name) };
}
