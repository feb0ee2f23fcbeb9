// Settings tuned for cost (issue 13): builds a model under a bounded set of ezkl run arguments (decomposition
// base and legs, inner columns, logrows) and picks the cheapest one whose outputs stay within a stated tolerance of
// onnxruntime's. Every candidate is an ordinary cached build (keyed by its run args), so a rerun only re-measures.
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
import { prove } from "../runtime/prover.js";

type RunArgs = ModelSpec["runArgs"];

/** What one candidate costs and how far its outputs are from the float model. */
export interface TuneResult {
  runArgs: RunArgs;
  logrows?: number;
  numRows?: number;
  /** Proof bytes: the verifier's gas follows the proof's size (commitments and evaluations it checks). */
  proofBytes?: number;
  proveSeconds?: number;
  /** Largest |proven - float| over the accuracy rows. */
  maxAbsError?: number;
  /** Why the candidate was not usable (build failed, or beyond the tolerance). */
  rejected?: string;
}

/** The candidates tried: each (decomp base, legs) pair covers at least the base model's range (base^legs). */
export function candidates(base: RunArgs): RunArgs[] {
  const decomps: [number, number][] = [[256, 3], [512, 2], [1024, 2], [1024, 3], [16384, 2]];
  const out: RunArgs[] = [];
  for (const cols of [1, 2]) {
    for (const [decomp_base, decomp_legs] of decomps) {
      out.push({ ...base, decomp_base, decomp_legs, num_inner_cols: cols, logrows: undefined });
    }
  }
  return out;
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
  progress?: (line: string) => void;
}

/** Tries each candidate; the best is the one with the smallest proof, then the fastest proving, within tolerance. */
export async function tune(spec: ModelSpec, opts: TuneOptions): Promise<{ tried: TuneResult[]; best?: TuneResult }> {
  const say = opts.progress ?? (() => undefined);
  const tried: TuneResult[] = [];
  let rows: number[][] | undefined;
  for (const runArgs of opts.tries ?? candidates(spec.runArgs)) {
    const r: TuneResult = { runArgs };
    try {
      const circuit = await buildSmallest(spec, runArgs, opts.maxLogrows ?? 17);
      rows ??= await accuracyRows(spec, circuit.inputs.count);
      const p = await prove(circuit, rows[0]!);
      Object.assign(r, {
        runArgs: { ...runArgs, logrows: circuit.logrows },
        logrows: circuit.logrows,
        numRows: circuit.numRows,
        proofBytes: (p.proof.length - 2) / 2,
        proveSeconds: p.timings.prove ?? 0,
        maxAbsError: await maxAbsError(circuit, rows),
      });
      if (r.maxAbsError! > opts.tolerance) r.rejected = `max error ${r.maxAbsError!.toFixed(4)} > tolerance ${opts.tolerance}`;
    } catch (e) {
      r.rejected = `build failed: ${(e as Error).message.split("\n")[0]!.slice(0, 120)}`;
    }
    tried.push(r);
    say(describe(r));
  }
  const ok = tried.filter((r) => !r.rejected);
  ok.sort((a, b) => a.proofBytes! - b.proofBytes! || a.proveSeconds! - b.proveSeconds!);
  return { tried, best: ok[0] };
}

export function describe(r: TuneResult): string {
  const a = r.runArgs;
  const head = `decomp ${a.decomp_base}x${a.decomp_legs} cols ${a.num_inner_cols} logrows ${r.logrows ?? "-"}`;
  if (r.proofBytes === undefined) return `${head}: ${r.rejected}`;
  return `${head}: ${r.numRows} rows, proof ${r.proofBytes} B, prove ${r.proveSeconds!.toFixed(2)}s, max error ${r.maxAbsError!.toFixed(4)}${r.rejected ? ` (rejected: ${r.rejected})` : ""}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { loadModelSpec } = await import("./circuit.js");
  const name = process.argv[2];
  if (!name) throw new Error("usage: tsx zk/build/tune.ts <model> [--tolerance 0.02]");
  const t = process.argv.indexOf("--tolerance");
  const tolerance = t > 0 ? Number(process.argv[t + 1]) : 0.02;
  const spec = await loadModelSpec(name);
  const { tried, best } = await tune(spec, { tolerance, progress: (l) => console.log(`  ${l}`) });
  console.log(best ? `best within ${tolerance}: ${describe(best)}` : `no candidate within ${tolerance}`);
  const dir = path.join(REPO_ROOT, ".cache", "reports");
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `tune-${name}.json`), JSON.stringify({ model: name, tolerance, tried, best }, null, 2));
}
