// Model spec (models/<name>/model.json) -> ezkl circuit artifacts (settings, compiled circuit, keys, Solidity
// verifier), built once and cached under .cache/zk by the content hash of everything that determines them.
// Bad input (unsupported op, dynamic shape, data of the wrong shape, calibration that does not cover the data,
// an SRS too small for the circuit) is refused before any ezkl work with a VerdictError saying what to do.
import { existsSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { VerdictError } from "../../shared/errors.js";
import { REPO_ROOT } from "../../shared/paths.js";
import { calibrationGap, circuitInputBound, manifestSchema, sha256Parts, type CircuitArtifacts, type CircuitManifest, type InstanceLayout } from "../runtime/artifacts.js";
import { runBridge, timingsSchema } from "../runtime/bridge.js";
import { ensureDevSrs } from "./srs.js";

export const CACHE_DIR = path.join(REPO_ROOT, ".cache", "zk");
const MAX_LOGROWS = 17;

const runArgsSchema = z
  .object({
    input_scale: z.number().int().min(0).max(30),
    param_scale: z.number().int().min(0).max(30),
    logrows: z.number().int().min(6).max(26),
    decomp_base: z.number().int().positive(),
    decomp_legs: z.number().int().positive(),
    num_inner_cols: z.number().int().positive(),
    /** ezkl turns on its Freivalds argument for batched matmuls (N >= 4): +20-40 % gas and a verifier over 24 KB. */
    disable_freivalds: z.boolean(),
  })
  .partial()
  .strict();

export const modelSpecSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]*$/, "lower-case letters, digits and dashes"),
    description: z.string(),
    onnx: z.string(),
    /** One input (ezkl format) checked by mock proving before key generation. */
    sample: z.string(),
    /** Representative inputs: ezkl calibrates on them when runArgs has no logrows (inputs outside are still proven). */
    calibration: z.string().optional(),
    /** Held-out inputs, labels and float outputs, for reporting proven-vs-float agreement. */
    heldout: z.string().optional(),
    /**
     * How far a proven output may be from onnxruntime's float output (relative to max(1, |float|)) before an
     * operator refuses to deliver it; zk/build/tune.ts picks settings within such a tolerance. Recorded in the
     * bundle manifest; absent, each operator's `outputTolerance` applies.
     */
    tolerance: z.number().positive().optional(),
    /** ezkl run arguments; without `logrows`, ezkl calibrates them on the calibration data. */
    runArgs: runArgsSchema.default({}),
    /**
     * "single": an ezkl verifier with the key baked in (cheapest per proof, but over 24 KB for big circuits);
     * "reusable": ezkl's shared reusable verifier plus this model's verifying-key artifact (VkaVerifier).
     */
    verifier: z.enum(["single", "reusable"]).default("single"),
    /**
     * Batch sizes N: for each, a circuit proving N runs of the model at once (`ensureBatchCircuit`), registered
     * next to the base version so one proof settles up to N of its jobs (`fulfilBatchProof`).
     */
    batch: z.array(z.number().int().min(2).max(64)).optional(),
  })
  .strict();
export type ModelSpec = z.infer<typeof modelSpecSchema> & { dir: string };

/** A circuit as built here: its run-time artifacts plus the model folder it was built from. */
export type BuiltCircuit = CircuitArtifacts & { spec: ModelSpec };

export async function loadModelSpec(nameOrDir: string): Promise<ModelSpec> {
  const dir = nameOrDir.includes("/") ? path.resolve(nameOrDir) : path.join(REPO_ROOT, "models", nameOrDir);
  const file = path.join(dir, "model.json");
  if (!existsSync(file)) throw new VerdictError("MODEL_NOT_FOUND", `no model.json in ${dir}`, "`verdict model build --help`");
  const parsed = modelSpecSchema.safeParse(JSON.parse(await readFile(file, "utf8")));
  if (!parsed.success) throw new VerdictError("BAD_MODEL_SPEC", `${file}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return { ...parsed.data, dir };
}

// ---------------------------------------------------------------------------------------------- validation

const inspectSchema = z.object({
  inputs: z.array(z.object({ name: z.string(), shape: z.array(z.number().nullable()), dynamic: z.array(z.string()) })),
  outputs: z.array(z.object({ name: z.string(), shape: z.array(z.number().nullable()), dynamic: z.array(z.string()) })),
  ops: z.array(z.string()),
  unsupported: z.array(z.string()),
  parameters: z.number(),
});
const ezklInputSchema = z.object({ input_data: z.array(z.array(z.number())).min(1) });

/** Rows of an ezkl input file; one flattened list may hold several rows back to back. */
export async function readInputRows(file: string, width: number, what: string): Promise<number[][]> {
  const parsed = ezklInputSchema.safeParse(JSON.parse(await readFile(file, "utf8")));
  if (!parsed.success) throw new VerdictError("BAD_DATA", `${what} ${file} is not ezkl input JSON ({"input_data": [[...]]})`);
  const flat = parsed.data.input_data.flat();
  if (flat.length === 0 || flat.length % width !== 0) {
    throw new VerdictError(
      "DATA_SHAPE_MISMATCH",
      `${what} ${path.basename(file)} holds ${flat.length} values, not a multiple of the model's input size ${width}`,
      "export rows with exactly as many features as the ONNX input has",
    );
  }
  const bad = flat.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new VerdictError("BAD_DATA", `${what} value #${bad} is ${flat[bad]}`);
  return Array.from({ length: flat.length / width }, (_, r) => flat.slice(r * width, (r + 1) * width));
}

export function rangeOf(rows: number[][]): [number, number][] {
  return rows[0]!.map((_, j) => [Math.min(...rows.map((r) => r[j]!)), Math.max(...rows.map((r) => r[j]!))]);
}

interface Validated {
  width: number;
  parameters: number;
  inputRange: [number, number][];
}

/** Inputs, outputs, ops and parameter count of an ONNX file, plus the flattened size of its (first) input. */
export async function inspectOnnx(onnx: string): Promise<z.infer<typeof inspectSchema> & { width: number }> {
  const info = await runBridge("inspect", { onnx }, inspectSchema);
  return { ...info, width: (info.inputs[0]?.shape ?? []).reduce<number>((a, b) => a * (b ?? 1), 1) };
}

async function validate(spec: ModelSpec, onnx: string): Promise<Validated> {
  const info = await inspectOnnx(onnx);
  if (info.unsupported.length) {
    throw new VerdictError(
      "UNSUPPORTED_OP",
      `${spec.name}: unsupported ONNX op(s) ${info.unsupported.join(", ")} (model uses ${info.ops.join(", ")})`,
      "export the model with MLP/CNN building blocks (Gemm, MatMul, Add, Relu, Conv, ...)",
    );
  }
  if (info.inputs.length !== 1 || info.outputs.length !== 1) {
    throw new VerdictError("UNSUPPORTED_GRAPH", `${spec.name}: ${info.inputs.length} inputs and ${info.outputs.length} outputs; Verdict proves models with exactly one of each`);
  }
  for (const t of [...info.inputs, ...info.outputs]) {
    if (t.dynamic.length) {
      throw new VerdictError(
        "DYNAMIC_SHAPE",
        `${spec.name}: tensor '${t.name}' has dynamic dimension(s) ${t.dynamic.join(", ")}`,
        "export the ONNX file with fixed shapes (batch size 1), e.g. torch.onnx.export without dynamic_axes",
      );
    }
  }
  const { width } = info;
  const sample = await readInputRows(path.join(spec.dir, spec.sample), width, "sample");
  if (!spec.calibration) return { width, parameters: info.parameters, inputRange: rangeOf(sample) };
  const calibration = await readInputRows(path.join(spec.dir, spec.calibration), width, "calibration data");
  const inputRange = rangeOf(calibration);
  sample.forEach((row, i) => {
    // No quantisation step of slack here: the sample is float data, not an input read back from its felts.
    const gap = calibrationGap({ inputRange, inputs: { count: width, scale: Infinity } }, row);
    if (gap) {
      throw new VerdictError("CALIBRATION_DOES_NOT_COVER_DATA", `${spec.name}: calibration does not cover the data: sample row ${i} ${gap}`, "add representative rows (including extremes) to the calibration data");
    }
  });
  return { width, parameters: info.parameters, inputRange };
}

/** logrows (k) of a KZG SRS file: ezkl writes k as a little-endian u32 first. */
export async function srsLogrows(file: string): Promise<number> {
  const fh = await open(file, "r");
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead !== 4) throw new VerdictError("BAD_SRS", `${file} is not an SRS file`);
    return buffer.readUInt32LE(0);
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------------------------- build

const settingsResultSchema = z.object({ logrows: z.number(), numRows: z.number(), timings: timingsSchema });
const settingsFileSchema = z.object({
  model_instance_shapes: z.array(z.array(z.number())),
  model_input_scales: z.array(z.number()),
  model_output_scales: z.array(z.number()),
});

function layoutFrom(settings: z.infer<typeof settingsFileSchema>): { inputs: InstanceLayout; outputs: InstanceLayout } {
  const [inShape, outShape] = settings.model_instance_shapes;
  const [inScale] = settings.model_input_scales;
  const [outScale] = settings.model_output_scales;
  const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  return { inputs: { count: count(inShape!), scale: inScale! }, outputs: { count: count(outShape!), scale: outScale! } };
}

/** Runs `build` into a scratch folder and renames it into place, so an interrupted build is never taken for a done one. */
async function atomically(dir: string, build: (scratch: string) => Promise<void>): Promise<void> {
  const scratch = `${dir}.tmp-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(path.dirname(scratch), { recursive: true });
  if (existsSync(dir)) await rename(dir, scratch);
  else await mkdir(scratch);
  await build(scratch);
  await rename(scratch, dir);
}

export interface EnsureOptions {
  /** A ceremony SRS file; without it a development SRS is generated locally (insecure, cached). */
  srs?: string;
  /** Called with a line per step, for progress output. */
  progress?: (line: string) => void;
}

/** The `ezkl==…` line of requirements.txt: other Python packages (training, static analysis) do not change circuits. */
async function ezklPin(): Promise<string> {
  const pin = (await readFile(path.join(REPO_ROOT, "requirements.txt"), "utf8")).split("\n").find((l) => /^ezkl==/.test(l.trim()));
  if (!pin) throw new VerdictError("NO_EZKL_PIN", "requirements.txt does not pin ezkl (ezkl==<version>)");
  return pin.trim();
}

/**
 * Returns the circuit artifacts for `spec`, building only what no cached build already has: settings and the
 * compiled circuit are keyed by the content hash of the ONNX file, calibration, run args, bridge and the pinned
 * ezkl version; keys and verifier additionally by the SRS.
 */
export async function ensureCircuit(spec: ModelSpec, opts: EnsureOptions = {}): Promise<BuiltCircuit> {
  const say = opts.progress ?? (() => undefined);
  const onnx = path.join(spec.dir, spec.onnx);
  // Validation spawns Python; a cached build of the same content hash was validated when it was made.
  let checked: Validated | undefined;
  const check = async (): Promise<Validated> => {
    if (!checked) {
      const t0 = performance.now();
      checked = await validate(spec, onnx);
      say(`${spec.name}: ONNX checked (${checked.parameters} parameters, ${checked.width} inputs) in ${secs(t0)}`);
    }
    return checked;
  };
  const hash = sha256Parts(
    await readFile(onnx),
    await readFile(path.join(spec.dir, spec.sample)),
    spec.calibration ? await readFile(path.join(spec.dir, spec.calibration)) : "",
    JSON.stringify(spec.runArgs),
    await readFile(path.join(REPO_ROOT, "zk", "runtime", "bridge.py")),
    await ezklPin(),
  );
  const dir = path.join(CACHE_DIR, `${spec.name}-${hash.slice(0, 16)}`);
  const file = (name: string) => path.join(dir, name);

  if (!existsSync(file("network.compiled"))) {
    await check();
    const t = performance.now();
    await atomically(dir, async (scratch) => {
      await runBridge(
        "settings",
        {
          onnx,
          "run-args": JSON.stringify(spec.runArgs),
          calibration: spec.calibration ? path.join(spec.dir, spec.calibration) : "",
          "max-logrows": MAX_LOGROWS,
          out: scratch,
        },
        settingsResultSchema,
      );
    });
    say(`${spec.name}: settings and compiled circuit in ${secs(t)}`);
  }
  const settings = JSON.parse(await readFile(file("settings.json"), "utf8")) as { run_args: { logrows: number }; num_rows: number };
  const logrows = settings.run_args.logrows;

  const srs = opts.srs ? path.resolve(opts.srs) : await ensureDevSrs(logrows);
  const srsK = await srsLogrows(srs);
  if (srsK < logrows) {
    throw new VerdictError("SRS_TOO_SMALL", `${spec.name}: the circuit needs an SRS of logrows >= ${logrows}, ${srs} has ${srsK}`, "pass a larger ceremony SRS file (--srs)");
  }
  const srsHash = sha256Parts(await readFile(srs));
  const manifestPath = file("manifest.json");
  // Fields derived from settings.json and model.json alone, (re)stated on every call: a cached build made before
  // they existed, or a new tolerance in model.json, needs no new keys.
  const derived = { inputBound: circuitInputBound(settings), outputTolerance: spec.tolerance };
  const old = existsSync(manifestPath) ? keyedManifestSchema.safeParse(JSON.parse(await readFile(manifestPath, "utf8"))) : undefined;
  if (!old?.success || old.data.srsHash !== srsHash) {
    const { parameters, inputRange } = await check();
    const t = performance.now();
    say(`${spec.name}: key generation at logrows ${logrows} (${settings.num_rows} rows) ...`);
    const setup = await runBridge("setup", { dir, sample: path.join(spec.dir, spec.sample), srs }, z.object({ timings: timingsSchema }));
    const manifest: CircuitManifest = {
      hash,
      srsHash,
      logrows,
      numRows: settings.num_rows,
      parameters,
      ...layoutFrom(settingsFileSchema.parse(settings)),
      inputRange,
      ...derived,
      buildTimings: setup.timings,
    };
    await writeManifest(manifestPath, manifest);
    say(`${spec.name}: keys and Solidity verifier in ${secs(t)}`);
  } else if (old.data.inputBound !== derived.inputBound || old.data.outputTolerance !== derived.outputTolerance) {
    await writeManifest(manifestPath, manifestSchema.parse({ ...old.data, ...derived }));
  }
  const manifest = manifestSchema.parse(JSON.parse(await readFile(manifestPath, "utf8")));
  return { ...manifest, name: spec.name, verifier: spec.verifier, onnx, spec, dir, srs, file };
}

/** A cached manifest as far as key generation goes: the fields `ensureCircuit` derives on every call may be missing. */
const keyedManifestSchema = manifestSchema.partial({ inputBound: true });

async function writeManifest(file: string, manifest: CircuitManifest): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(manifest, null, 2));
  await rename(`${file}.tmp`, file);
}

function secs(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(2)}s`;
}

// ---------------------------------------------------------------------------------------------- batch circuits

/** The model spec of `spec`'s batch circuit for `n` jobs: name `<name>-x<n>`. */
export function batchName(spec: Pick<ModelSpec, "name">, n: number): string {
  return `${spec.name}-x${n}`;
}

/**
 * The circuit proving `n` runs of `spec` at once (issue 13): the ONNX model with its batch dimension fixed to n
 * (bridge `batch-onnx`), n copies of the sample as its sample, and calibration rows tiled so that every slot sees
 * every calibration row (the accepted input range per feature is the base model's). Run arguments are the base
 * model's, with logrows raised by ceil(log2 n) for n times the rows, and Freivalds off. Public instances: the n
 * inputs, then the n outputs, slot-major: the layout `fulfilBatchProof` reads. Cached like any circuit.
 */
export async function ensureBatchCircuit(spec: ModelSpec, n: number, opts: EnsureOptions = {}): Promise<BuiltCircuit> {
  if (spec.runArgs.logrows === undefined) {
    throw new VerdictError("BATCH_NEEDS_LOGROWS", `${spec.name}: a batch circuit needs run args with logrows (calibrated models are not batched yet)`, "set runArgs.logrows in model.json");
  }
  const base = await inspectOnnx(path.join(spec.dir, spec.onnx));
  const width = base.width;
  const hash = sha256Parts(
    await readFile(path.join(spec.dir, spec.onnx)),
    await readFile(path.join(spec.dir, spec.sample)),
    spec.calibration ? await readFile(path.join(spec.dir, spec.calibration)) : "",
    String(n),
    await readFile(path.join(REPO_ROOT, "zk", "runtime", "bridge.py")),
  );
  const dir = path.join(CACHE_DIR, `${batchName(spec, n)}-src-${hash.slice(0, 16)}`);
  if (!existsSync(path.join(dir, "network.onnx"))) {
    await atomically(dir, async (scratch) => {
      await runBridge("batch-onnx", { onnx: path.join(spec.dir, spec.onnx), n, out: path.join(scratch, "network.onnx") }, z.object({ out: z.string() }));
      const [sample] = await readInputRows(path.join(spec.dir, spec.sample), width, "sample");
      await writeFile(path.join(scratch, "sample.json"), JSON.stringify({ input_data: [Array.from({ length: n }, () => sample!).flat()] }));
      if (spec.calibration) {
        const rows = await readInputRows(path.join(spec.dir, spec.calibration), width, "calibration data");
        const tiled = rows.map((_, j) => Array.from({ length: n }, (__, k) => rows[(j + k) % rows.length]!).flat());
        await writeFile(path.join(scratch, "calibration.json"), JSON.stringify({ input_data: [tiled.flat()] }));
      }
    });
  }
  const batchSpec: ModelSpec = {
    ...spec,
    name: batchName(spec, n),
    description: `${spec.name} for ${n} jobs at once`,
    onnx: "network.onnx",
    sample: "sample.json",
    calibration: spec.calibration ? "calibration.json" : undefined,
    runArgs: { ...spec.runArgs, logrows: spec.runArgs.logrows + Math.ceil(Math.log2(n)), disable_freivalds: true },
    batch: undefined,
    dir,
  };
  return ensureCircuit(batchSpec, opts);
}
