// Settings tuned for cost (issue 13): builds a model under a bounded set of ezkl run arguments (fixed-point
// scales, decomposition base and legs, inner columns, logrows) and picks the cheapest one whose outputs stay within
// a stated tolerance of onnxruntime's. Every candidate is an ordinary cached build (keyed by its run args), so a
// rerun only re-measures. The model's committed settings are measured too, as the "before" of the report.
// Usage: tsx zk/build/tune.ts <model> [--tolerance 0.02] -> a table, and .cache/reports/tune-<model>.json
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { z } from "zod";
import { REPO_ROOT } from "../../shared/paths.js";
import { runBridge } from "../runtime/bridge.js";
import { ensureCircuit, readInputRows, type BuiltCircuit, type ModelSpec } from "./circuit.js";
import { feltFromLeHex, feltToFloat } from "../runtime/felt.js";
import { infer } from "../runtime/inference.js";
import { prove, type ProofResult } from "../runtime/prover.js";

type RunArgs = ModelSpec["runArgs"];

/** What one candidate costs and how far its outputs are from the float model. */
export interface TuneResult {
  runArgs: RunArgs;
  logrows?: number;
  /** Public instances (inputs + outputs): the verifier pays ~1.1k gas for each, on top of the proof's cost. */
  instances?: number;
  numRows?: number;
  /** Proof bytes: the verifier's gas follows the proof's size (commitments and evaluations it checks). */
  proofBytes?: number;
  proveSeconds?: number;
  /** gasUsed of verifyProof on the candidate's own verifier (only when TuneOptions.verifierGas is given). */
  verifierGas?: number;
  /** Largest |proven - float| over the accuracy rows. */
  maxAbsError?: number;
  /** Why the candidate was not usable (build failed, or beyond the tolerance). */
  rejected?: string;
}

/**
 * (input, param) scale pairs tried besides the model's own: a coarser scale shrinks every fixed-point value, so a
 * smaller decomposition (range-check table) may hold them and rescaling lookups get cheaper; the tolerance
 * decides whether the quantization error allows it.
 */
export const SCALES: [number, number][] = [[10, 10], [8, 8], [7, 7]];

/**
 * The candidates tried: each (decomp base, legs) pair covers at least 2^16 (base^legs), with one or two inner
 * columns, at each scale pair (the model's own first). Logrows is left to the search.
 */
export function candidates(base: RunArgs): RunArgs[] {
  const decomps: [number, number][] = [[256, 3], [512, 2], [1024, 2], [1024, 3], [16384, 2]];
  const own: [number, number] = [base.input_scale ?? 10, base.param_scale ?? 10];
  const scales = [own, ...SCALES.filter(([i, p]) => i !== own[0] || p !== own[1])];
  const out: RunArgs[] = [];
  for (const [input_scale, param_scale] of scales) {
    for (const cols of [1, 2]) {
      for (const [decomp_base, decomp_legs] of decomps) {
        out.push({ ...base, input_scale, param_scale, decomp_base, decomp_legs, num_inner_cols: cols, logrows: undefined });
      }
    }
  }
  return out;
}

/**
 * Cheapest first: proof size, then public instances (together they set the verifier's gas), then circuit size
 * (logrows, then rows: what proving time follows; one timed proof on a shared machine is too noisy to rank
 * near-equal circuits), then the smaller error, then the measured proving time.
 */
export function byCost(a: TuneResult, b: TuneResult): number {
  return (
    a.proofBytes! - b.proofBytes! ||
    a.instances! - b.instances! ||
    a.logrows! - b.logrows! ||
    a.numRows! - b.numRows! ||
    a.maxAbsError! - b.maxAbsError! ||
    a.proveSeconds! - b.proveSeconds!
  );
}

/** Rows the accuracy is judged on: the held-out inputs, else the calibration rows, else the sample; at most 32. */
async function accuracyRows(spec: ModelSpec, width: number): Promise<number[][]> {
  if (spec.heldout) {
    const held = z.object({ inputs: z.array(z.array(z.number())) }).parse(JSON.parse(await readFile(path.join(spec.dir, spec.heldout), "utf8")));
    return held.inputs.slice(0, 32);
  }
  const file = spec.calibration ?? spec.sample;
  return (await readInputRows(path.join(spec.dir, file), width, "accuracy rows")).slice(0, 32);
}

async function maxAbsError(circuit: BuiltCircuit, rows: number[][]): Promise<number> {
  const work = await mkdtemp(path.join(tmpdir(), "verdict-tune-"));
  try {
    const rowsFile = path.join(work, "rows.json");
    await writeFile(rowsFile, JSON.stringify({ rows }));
    const { outputs } = await runBridge("outputs", { dir: circuit.dir, rows: rowsFile, work }, z.object({ outputs: z.array(z.array(z.string())) }));
    const onnx = path.join(circuit.spec.dir, circuit.spec.onnx);
    let worst = 0;
    for (const [i, row] of outputs.entries()) {
      const floats = await infer(onnx, rows[i]!);
      row.forEach((h, j) => (worst = Math.max(worst, Math.abs(feltToFloat(feltFromLeHex(h), circuit.outputs.scale) - floats[j]!))));
    }
    return worst;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Smallest logrows a candidate builds at: from the lookup table's size (its base) up, at most `maxLogrows`. */
async function buildSmallest(spec: ModelSpec, runArgs: RunArgs, maxLogrows: number): Promise<BuiltCircuit> {
  if (runArgs.logrows !== undefined) return ensureCircuit({ ...spec, runArgs });
  const from = Math.max(8, Math.ceil(Math.log2(runArgs.decomp_base ?? 256)) + 1);
  let last: unknown = new Error(`no logrows from ${from} to ${maxLogrows}`);
  for (let k = from; k <= maxLogrows; k++) {
    try {
      return await ensureCircuit({ ...spec, runArgs: { ...runArgs, logrows: k } });
    } catch (e) {
      last = e;
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}

export interface TuneOptions {
  /** Largest accepted |proven - float| on any output of the accuracy rows. */
  tolerance: number;
  /** Candidates to try (default `candidates(spec.runArgs)`). */
  tries?: RunArgs[];
  maxLogrows?: number;
  /** Measures a candidate's verifier gas with its proof (the CLI deploys it on an in-process EDR chain). */
  verifierGas?: (circuit: BuiltCircuit, proof: ProofResult) => Promise<number>;
  progress?: (line: string) => void;
}

/** Builds and measures one candidate (logrows given: that one; else the smallest that builds). */
async function measure(spec: ModelSpec, runArgs: RunArgs, opts: TuneOptions, rows: () => Promise<number[][]>): Promise<TuneResult> {
  const r: TuneResult = { runArgs };
  try {
    const circuit = await buildSmallest(spec, runArgs, opts.maxLogrows ?? 17);
    const accuracy = await rows();
    // The sample: inside the calibrated input box, which not every held-out row is.
    const [sample] = await readInputRows(path.join(spec.dir, spec.sample), circuit.inputs.count, "sample");
    const p = await prove(circuit, sample!);
    Object.assign(r, {
      runArgs: { ...runArgs, logrows: circuit.logrows },
      logrows: circuit.logrows,
      instances: p.instances.length,
      numRows: circuit.numRows,
      proofBytes: (p.proof.length - 2) / 2,
      proveSeconds: p.timings.prove ?? 0,
      maxAbsError: await maxAbsError(circuit, accuracy),
    });
    if (r.maxAbsError! > opts.tolerance) r.rejected = `max error ${r.maxAbsError!.toFixed(4)} > tolerance ${opts.tolerance}`;
    else if (opts.verifierGas) r.verifierGas = await opts.verifierGas(circuit, p);
  } catch (e) {
    r.rejected = `build failed: ${(e as Error).message.split("\n")[0]!.slice(0, 120)}`;
  }
  return r;
}

/**
 * Measures the model's committed settings (`current`), then tries each candidate; the best is the cheapest
 * (`byCost`) within the tolerance.
 */
export async function tune(spec: ModelSpec, opts: TuneOptions): Promise<{ current: TuneResult; tried: TuneResult[]; best?: TuneResult }> {
  const say = opts.progress ?? (() => undefined);
  let cached: number[][] | undefined;
  const rows = async () => (cached ??= await accuracyRows(spec, (await ensureCircuit(spec)).inputs.count));
  const current = await measure(spec, spec.runArgs, opts, rows);
  say(`current: ${describe(current)}`);
  const tried: TuneResult[] = [];
  const max = opts.maxLogrows ?? 17;
  for (const runArgs of opts.tries ?? candidates(spec.runArgs)) {
    let r = await measure(spec, runArgs, opts, rows);
    tried.push(r);
    say(describe(r));
    // A circuit with more rows than 2^logrows is folded into extra columns: it builds, but its proof carries a
    // commitment per column (a CNN's 6,632 rows at logrows 10: 9 KB, at 13: 2 KB). When the search's smallest
    // logrows folds, the larger ones up to the first that holds every row are tried too (not for a candidate
    // already beyond the tolerance: its error does not depend on logrows).
    while (runArgs.logrows === undefined && !r.rejected && r.numRows !== undefined && r.numRows >= 2 ** r.logrows! && r.logrows! < max) {
      r = await measure(spec, { ...runArgs, logrows: r.logrows! + 1 }, opts, rows);
      tried.push(r);
      say(describe(r));
    }
  }
  return { current, tried, best: tried.filter((r) => !r.rejected).sort(byCost)[0] };
}

export function describe(r: TuneResult): string {
  const a = r.runArgs;
  const head = `scales ${a.input_scale}/${a.param_scale} decomp ${a.decomp_base}x${a.decomp_legs} cols ${a.num_inner_cols} logrows ${r.logrows ?? "-"}`;
  if (r.proofBytes === undefined) return `${head}: ${r.rejected}`;
  return `${head}: ${r.numRows} rows, proof ${r.proofBytes} B,${r.verifierGas ? ` verifier ${r.verifierGas} gas,` : ""} prove ${r.proveSeconds!.toFixed(2)}s, max error ${r.maxAbsError!.toFixed(4)}${r.rejected ? ` (rejected: ${r.rejected})` : ""}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { loadModelSpec } = await import("./circuit.js");
  const name = process.argv[2];
  if (!name) throw new Error("usage: tsx zk/build/tune.ts <model> [--tolerance <model.json tolerance, else 0.02>]");
  const t = process.argv.indexOf("--tolerance");
  const spec = await loadModelSpec(name);
  const tolerance = t > 0 ? Number(process.argv[t + 1]) : (spec.tolerance ?? 0.02);
  // Verifier gas: each candidate within the tolerance has its verifier compiled, deployed and called once.
  const { network } = await import("hardhat");
  const { deployedVerifierGas } = await import("./verifierGas.js");
  const connection = await network.connect();
  const [signer] = await connection.ethers.getSigners();
  const verifierGas = async (c: BuiltCircuit, p: ProofResult) => (await deployedVerifierGas(signer!, c, p)).gas_used;
  const { current, tried, best } = await tune(spec, { tolerance, verifierGas, progress: (l) => console.log(`  ${l}`) });
  await connection.close();
  console.log(`before: ${describe(current)}`);
  console.log(best ? `best within ${tolerance}: ${describe(best)}` : `no candidate within ${tolerance}`);
  const dir = path.join(REPO_ROOT, ".cache", "reports");
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `tune-${name}.json`), JSON.stringify({ model: name, tolerance, before: current, best, tried }, null, 2));
  process.exit(0);
}
