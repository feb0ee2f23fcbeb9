// Side-by-side ratios measured in one run (issue 7), per demo model:
//  (a) native ezkl proving vs the @ezkljs/engine WASM prover. npm has the engine only at 21.0.0 while the project
//      proves with ezkl 23; the bench first checks whether the engine can read the project's v23 artifacts, then
//      compares like with like: ezkl 21.0.0 from PyPI (a pinned venv under .cache/bench, made by this bench only)
//      builds v21 artifacts of the same ONNX and run args, and both native-v21 and WASM-v21 prove with them.
//  (b) proving keys warm vs reloaded per job: "cold" is a fresh process per proof (today's operator: interpreter
//      start, import ezkl, read pk, prove), "warm" one long-lived process proving N times.
//   tsx bench/compare.ts [--runs N]  ->  bench/results/compare.json
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { z } from "zod";
import { REPO_ROOT } from "../shared/paths.js";
import { ensureCircuit, loadModelSpec, readInputRows, type BuiltCircuit, type ModelSpec } from "../zk/circuit.js";
import { prove } from "../zk/prover.js";
import { isMain, machineInfo, type MachineInfo } from "./machine.js";
import { median, round } from "../infra/stats.js";
import { loadWasmProver, type WasmFiles } from "./wasm_prover.js";
import { PROJECT_PYTHON, startWorker, workerProveSchema, type EzklWorker } from "./worker.js";

const BENCH_CACHE = path.join(REPO_ROOT, ".cache", "bench");
const RESULTS_DIR = path.join(REPO_ROOT, "bench", "results");
/** The PyPI ezkl whose artifacts @ezkljs/engine 21.0.0 (the only 21.x on npm, and the newest) reads: same release. */
export const EZKL_V21 = "21.0.0";
const V21_VENV = path.join(BENCH_CACHE, `ezkl-${EZKL_V21}-venv`);
const V21_PYTHON = path.join(V21_VENV, "bin", "python");
const WASM_SCRIPT = path.join(REPO_ROOT, "bench", "wasm_prover.ts");

export interface CompareOptions {
  /** Demo models to compare on; default wine-classifier and diabetes-regressor. */
  models?: string[];
  /** Proofs per prover and mode (each figure is their median; warm modes add one untimed warm-up proof); default 5. */
  runs?: number;
  progress?: (line: string) => void;
}

/** Medians over the runs of one prover in one mode. */
export interface ProverFigure {
  /** Per proof, as the caller waits for it: process start-up included for cold runs. */
  wall_s: number;
  witness_s: number;
  prove_s: number;
  samples: { wall_s: number[]; witness_s: number[]; prove_s: number[] };
}

export interface WarmCold {
  cold: ProverFigure;
  warm: ProverFigure;
  /** cold.wall_s / warm.wall_s: how much slower a job is when every proof starts a fresh process. */
  cold_over_warm_wall: number;
  /** cold.wall_s − warm.wall_s: what the fresh process costs per job, in seconds. */
  cold_overhead_s: number;
}

export interface NativeVsWasmModel {
  logrows: number;
  native_v21: { warm: ProverFigure; cold: ProverFigure };
  wasm_v21: { warm: ProverFigure; cold: ProverFigure };
  /** The project's own prover (ezkl 23) on its own artifacts, warm, for reference (a different ezkl release). */
  native_v23_warm: ProverFigure;
  ratios: {
    /** WASM ÷ native ezkl 21 proving time (prove only, warm, same artifacts). */
    wasm_over_native_prove: number;
    /** WASM ÷ native ezkl 21, witness + prove, warm. */
    wasm_over_native_witness_and_prove: number;
    /** WASM-21 ÷ native ezkl 23 (the production prover) proving time, warm. */
    wasm_v21_over_native_v23_prove: number;
  };
  proof_bytes: { native_v21: number; wasm_v21: number };
  /** Each prover's proof verified by the other implementation (native ezkl 21 and the WASM verifier). */
  cross_verified: boolean;
}

/** @ezkljs/engine 21 given the project's ezkl 23 artifacts of the first model. */
export interface V23InWasm {
  proves: boolean;
  /** The engine's error when proving with them. */
  error?: string;
  /** Per artifact: "ok" or the engine's validation error. */
  validation: Record<string, string>;
}

export type NativeVsWasm =
  | { supported: false; reason: string; v23_artifacts_in_wasm: V23InWasm | string }
  | { supported: true; ezkl_native: string; engine: string; v23_artifacts_in_wasm: V23InWasm; models: Record<string, NativeVsWasmModel> };

export interface CompareResult {
  generatedAt: string;
  machine: MachineInfo;
  runs: number;
  versions: Record<string, string>;
  native_vs_wasm: NativeVsWasm;
  /** Per model: warm vs cold for the project's prover (ezkl 23, the bridge), and for ezkl 21 and WASM where they ran. */
  warm_vs_cold: Record<string, { native_v23: WarmCold; native_v21?: WarmCold; wasm_v21?: WarmCold }>;
  /** The headline ratios per model, for merging into bench/results/latest.json. */
  summary: Record<string, CompareSummary>;
  wall_s: number;
  notes: Record<string, string>;
}

export interface CompareSummary {
  /** Production prover (ezkl 23): fresh bridge process per job ÷ long-lived process, wall per proof. */
  cold_over_warm_native: number;
  /** Seconds a fresh bridge process adds per job. */
  cold_overhead_native_s: number;
  /** @ezkljs/engine 21 ÷ native ezkl 21 proving time, same artifacts (null where WASM was not measured). */
  wasm_over_native_prove: number | null;
}

interface Sample {
  wall_s: number;
  witness_s: number;
  prove_s: number;
}

function figure(samples: Sample[]): ProverFigure {
  const col = (k: keyof Sample) => samples.map((s) => round(s[k], 5));
  return {
    wall_s: round(median(col("wall_s"))),
    witness_s: round(median(col("witness_s"))),
    prove_s: round(median(col("prove_s"))),
    samples: { wall_s: col("wall_s"), witness_s: col("witness_s"), prove_s: col("prove_s") },
  };
}

function warmCold(cold: ProverFigure, warm: ProverFigure): WarmCold {
  return { cold, warm, cold_over_warm_wall: round(cold.wall_s / warm.wall_s, 2), cold_overhead_s: round(cold.wall_s - warm.wall_s) };
}

const since = (t0: number) => (performance.now() - t0) / 1000;

/** `runs` timed calls after `warmup` untimed ones. */
async function repeat(runs: number, warmup: number, one: () => Promise<Sample>, say: (s: Sample, i: number) => void): Promise<ProverFigure> {
  for (let i = 0; i < warmup; i++) await one();
  const out: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    out.push(await one());
    say(out.at(-1)!, i);
  }
  return figure(out);
}

// ------------------------------------------------------------------------------------------- native ezkl (worker)

async function workerProof(worker: EzklWorker, dir: string, input: string, srs: string, work: string) {
  const t0 = performance.now();
  const p = await worker.request("prove", { dir, input, srs, work }, workerProveSchema);
  if (!p.verified) throw new Error(`ezkl ${worker.ezkl} produced a proof it does not verify (${dir})`);
  return { p, sample: { wall_s: since(t0), witness_s: p.timings.witness ?? Number.NaN, prove_s: p.timings.prove ?? Number.NaN } };
}

/** Warm: one worker, a warm-up proof, then `runs` proofs. */
async function nativeWarm(python: string, dir: string, input: string, srs: string, runs: number, log: (l: string) => void): Promise<ProverFigure> {
  const worker = await startWorker(python);
  const work = await mkdtemp(path.join(os.tmpdir(), "verdict-compare-"));
  try {
    return await repeat(runs, 1, async () => (await workerProof(worker, dir, input, srs, work)).sample, (s, i) => log(`warm ${i + 1}/${runs}: ${s.wall_s.toFixed(3)}s (prove ${s.prove_s.toFixed(3)}s)`));
  } finally {
    await worker.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** Cold: a fresh worker (interpreter, import ezkl) per proof. */
async function nativeCold(python: string, dir: string, input: string, srs: string, runs: number, log: (l: string) => void): Promise<ProverFigure> {
  const work = await mkdtemp(path.join(os.tmpdir(), "verdict-compare-"));
  try {
    return await repeat(
      runs,
      0,
      async () => {
        const t0 = performance.now();
        const worker = await startWorker(python);
        const { sample } = await workerProof(worker, dir, input, srs, work).finally(() => worker.close());
        return { ...sample, wall_s: since(t0) };
      },
      (s, i) => log(`cold ${i + 1}/${runs}: ${s.wall_s.toFixed(3)}s (prove ${s.prove_s.toFixed(3)}s)`),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------- ezkl 21 artifacts

const exec = promisify(execFile);

/** The pinned ezkl 21 venv under .cache/bench (created on first use; PyPI only). Throws with pip's message. */
async function ensureV21Python(say: (l: string) => void): Promise<string> {
  const version = async () => (await exec(V21_PYTHON, ["-c", "import ezkl; print(ezkl.__version__)"])).stdout.trim();
  if (existsSync(V21_PYTHON) && (await version().catch(() => "")) === EZKL_V21) return V21_PYTHON;
  say(`creating ${path.relative(REPO_ROOT, V21_VENV)} with ezkl==${EZKL_V21} from PyPI (bench only)`);
  await exec(PROJECT_PYTHON, ["-m", "venv", V21_VENV]);
  await exec(path.join(V21_VENV, "bin", "pip"), ["install", "--quiet", "--disable-pip-version-check", `ezkl==${EZKL_V21}`], { maxBuffer: 1 << 24 });
  const got = await version();
  if (got !== EZKL_V21) throw new Error(`the venv has ezkl ${got}, not ${EZKL_V21}`);
  return V21_PYTHON;
}

const buildSchema = z.object({ timings: z.record(z.string(), z.number()), logrows: z.number() });

/** ezkl 21 settings, compiled circuit and keys of the model's ONNX with its run args, cached by content hash. */
async function ensureV21Circuit(worker: EzklWorker, spec: ModelSpec, srs: string): Promise<string> {
  const hash = createHash("sha256");
  for (const part of [await readFile(path.join(spec.dir, spec.onnx)), await readFile(path.join(spec.dir, spec.sample)), JSON.stringify(spec.runArgs), await readFile(srs), EZKL_V21]) hash.update(part).update("\0");
  const dir = path.join(BENCH_CACHE, `ezkl-${EZKL_V21}`, `${spec.name}-${hash.digest("hex").slice(0, 16)}`);
  if (existsSync(path.join(dir, "pk.key"))) return dir;
  const scratch = `${dir}.tmp-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  await worker.request("build", { dir: scratch, onnx: path.join(spec.dir, spec.onnx), sample: path.join(spec.dir, spec.sample), srs, run_args: spec.runArgs }, buildSchema);
  await rename(scratch, dir);
  return dir;
}

// ------------------------------------------------------------------------------------------- WASM

const wasmColdSchema = z.object({ load_s: z.number(), read_s: z.number(), witness_s: z.number(), prove_s: z.number() });

function wasmFiles(dir: string, srs: string, input: string): WasmFiles {
  const f = (n: string) => path.join(dir, n);
  return { compiled: f("network.compiled"), pk: f("pk.key"), vk: f("vk.key"), settings: f("settings.json"), srs, input };
}

/** One WASM proof in a fresh Node process (type stripping, no tsx), timed from spawn to its answer. */
async function wasmColdProof(files: WasmFiles): Promise<Sample> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ["--experimental-strip-types", "--no-warnings", WASM_SCRIPT, JSON.stringify(files)], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0) throw new Error(`WASM prover process exited ${code}: ${err.slice(-500)}`);
  const r = wasmColdSchema.parse(JSON.parse(out.trim().split("\n").at(-1) ?? ""));
  return { wall_s: since(t0), witness_s: r.witness_s, prove_s: r.prove_s };
}

/** What the WASM engine makes of the project's own (ezkl 23) artifacts: each file's validation, then a proof attempt. */
async function wasmOnV23(circuit: BuiltCircuit, input: string): Promise<V23InWasm> {
  const prover = await loadWasmProver(wasmFiles(circuit.dir, circuit.srs, input));
  const validation = prover.validate();
  try {
    prover.prove();
    return { proves: true, validation };
  } catch (e) {
    return { proves: false, error: String(e instanceof Error ? e.message : e).trim(), validation };
  }
}

const proofJsonSchema = z.object({ hex_proof: z.string() });

// ------------------------------------------------------------------------------------------- entry points

export async function benchCompare(opts: CompareOptions = {}): Promise<CompareResult> {
  const t0 = performance.now();
  const say = opts.progress ?? (() => undefined);
  const runs = opts.runs ?? 5;
  const names = opts.models ?? ["wine-classifier", "diabetes-regressor"];
  const machine = machineInfo();
  const versions: Record<string, string> = { node: process.version };
  const warmVsCold: CompareResult["warm_vs_cold"] = {};
  const nativeV23Warm: Record<string, ProverFigure> = {};
  const circuits: Record<string, { spec: ModelSpec; circuit: BuiltCircuit }> = {};

  // (b) the project's prover, warm vs cold
  for (const name of names) {
    const spec = await loadModelSpec(name);
    const circuit = await ensureCircuit(spec, { progress: (l) => say(`  ${l}`) });
    circuits[name] = { spec, circuit };
    const input = path.join(spec.dir, spec.sample);
    const [row] = await readInputRows(input, circuit.inputs.count, "sample");
    const log = (l: string) => say(`  ${name} ezkl 23 ${l}`);
    // Cold exactly as the operator proves today: zk/prover.ts -> zk/bridge.ts -> a fresh `python zk/bridge.py prove`.
    const cold = await repeat(
      runs,
      0,
      async () => {
        const t = performance.now();
        const p = await prove(circuit, row!);
        return { wall_s: since(t), witness_s: p.timings.witness ?? Number.NaN, prove_s: p.timings.prove ?? Number.NaN };
      },
      (s, i) => log(`cold (bridge) ${i + 1}/${runs}: ${s.wall_s.toFixed(3)}s (prove ${s.prove_s.toFixed(3)}s)`),
    );
    const warm = await nativeWarm(PROJECT_PYTHON, circuit.dir, input, circuit.srs, runs, log);
    nativeV23Warm[name] = warm;
    warmVsCold[name] = { native_v23: warmCold(cold, warm) };
  }
  const probe = await startWorker();
  versions.ezkl = probe.ezkl;
  await probe.close();

  // (a) native vs WASM
  const first = circuits[names[0]!]!;
  let nativeVsWasm: NativeVsWasm;
  let v23InWasm: V23InWasm | string = "not tried: the engine did not load";
  try {
    const engineVersion = (await loadWasmProver(wasmFiles(first.circuit.dir, first.circuit.srs, path.join(first.spec.dir, first.spec.sample))).catch((e: Error) => {
      throw new Error(`@ezkljs/engine cannot be loaded (${e.message.split("\n")[0]}); it is a devDependency: npm ci`);
    })).engineVersion;
    versions["@ezkljs/engine"] = engineVersion;
    const v23 = await wasmOnV23(first.circuit, path.join(first.spec.dir, first.spec.sample));
    v23InWasm = v23;
    say(`@ezkljs/engine ${engineVersion} on the project's ezkl ${versions.ezkl} artifacts: ${v23.proves ? "proves" : `fails (${v23.error})`}; validation ${JSON.stringify(v23.validation)}`);
    const python21 = await ensureV21Python(say).catch((e: Error) => {
      throw new Error(`ezkl ${EZKL_V21} (the native twin of @ezkljs/engine ${engineVersion}) could not be installed from PyPI: ${e.message.split("\n").slice(-3).join(" ")}`);
    });
    versions[`ezkl (bench venv)`] = EZKL_V21;
    const models: Record<string, NativeVsWasmModel> = {};
    for (const name of names) {
      const { spec, circuit } = circuits[name]!;
      const input = path.join(spec.dir, spec.sample);
      // The SRS the circuit was built with: KZG parameters are a plain curve-point file both releases read.
      const { srs } = circuit;
      const builder = await startWorker(python21);
      const dir = await ensureV21Circuit(builder, spec, srs).finally(() => builder.close());
      const log21 = (l: string) => say(`  ${name} ezkl ${EZKL_V21} ${l}`);
      const logWasm = (l: string) => say(`  ${name} wasm ${engineVersion} ${l}`);
      const nativeWarmFig = await nativeWarm(python21, dir, input, srs, runs, log21);
      const nativeColdFig = await nativeCold(python21, dir, input, srs, runs, log21);

      const files = wasmFiles(dir, srs, input);
      const wasm = await loadWasmProver(files);
      let wasmProof: Uint8Array | undefined;
      const wasmWarmFig = await repeat(
        runs,
        1,
        async () => {
          const t = performance.now();
          const p = wasm.prove();
          const wall_s = since(t);
          if (!wasm.verify(p.proof)) throw new Error(`${name}: the WASM prover's proof does not verify`);
          wasmProof = p.proof;
          return { wall_s, witness_s: p.witness_s, prove_s: p.prove_s };
        },
        (s, i) => logWasm(`warm ${i + 1}/${runs}: ${s.wall_s.toFixed(3)}s (prove ${s.prove_s.toFixed(3)}s)`),
      );
      const wasmColdFig = await repeat(runs, 0, () => wasmColdProof(files), (s, i) => logWasm(`cold ${i + 1}/${runs}: ${s.wall_s.toFixed(3)}s (prove ${s.prove_s.toFixed(3)}s)`));

      // Cross-check: native ezkl 21 verifies the WASM proof; the WASM verifier verifies a native proof.
      const work = await mkdtemp(path.join(os.tmpdir(), "verdict-compare-"));
      const checker = await startWorker(python21);
      let crossVerified: boolean;
      let nativeProofBytes: number;
      try {
        const wasmProofFile = path.join(work, "wasm.proof.json");
        await writeFile(wasmProofFile, wasmProof!);
        const nativeOk = (await checker.request("verify", { dir, proof: wasmProofFile, srs }, z.object({ verified: z.boolean() }))).verified;
        const { p } = await workerProof(checker, dir, input, srs, work);
        nativeProofBytes = (p.hexProof.length - 2) / 2;
        crossVerified = nativeOk && wasm.verify(new Uint8Array(await readFile(path.join(work, "proof.json"))));
      } finally {
        await checker.close();
        await rm(work, { recursive: true, force: true });
      }
      const wasmHex = proofJsonSchema.parse(JSON.parse(Buffer.from(wasmProof!).toString("utf8"))).hex_proof;
      say(`  ${name}: proofs cross-verified (native ezkl ${EZKL_V21} <-> WASM): ${crossVerified}`);

      models[name] = {
        logrows: circuit.logrows,
        native_v21: { warm: nativeWarmFig, cold: nativeColdFig },
        wasm_v21: { warm: wasmWarmFig, cold: wasmColdFig },
        native_v23_warm: nativeV23Warm[name]!,
        ratios: {
          wasm_over_native_prove: round(wasmWarmFig.prove_s / nativeWarmFig.prove_s, 2),
          wasm_over_native_witness_and_prove: round((wasmWarmFig.witness_s + wasmWarmFig.prove_s) / (nativeWarmFig.witness_s + nativeWarmFig.prove_s), 2),
          wasm_v21_over_native_v23_prove: round(wasmWarmFig.prove_s / nativeV23Warm[name]!.prove_s, 2),
        },
        proof_bytes: { native_v21: nativeProofBytes, wasm_v21: (wasmHex.length - 2) / 2 },
        cross_verified: crossVerified,
      };
      warmVsCold[name]!.native_v21 = warmCold(nativeColdFig, nativeWarmFig);
      warmVsCold[name]!.wasm_v21 = warmCold(wasmColdFig, wasmWarmFig);
    }
    nativeVsWasm = { supported: true, ezkl_native: EZKL_V21, engine: engineVersion, v23_artifacts_in_wasm: v23, models };
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    say(`native vs WASM not measured: ${reason}`);
    nativeVsWasm = { supported: false, reason, v23_artifacts_in_wasm: v23InWasm };
  }

  return {
    generatedAt: new Date().toISOString(),
    machine,
    runs,
    versions,
    native_vs_wasm: nativeVsWasm,
    warm_vs_cold: warmVsCold,
    summary: Object.fromEntries(
      names.map((n) => [
        n,
        {
          cold_over_warm_native: warmVsCold[n]!.native_v23.cold_over_warm_wall,
          cold_overhead_native_s: warmVsCold[n]!.native_v23.cold_overhead_s,
          wasm_over_native_prove: nativeVsWasm.supported ? (nativeVsWasm.models[n]?.ratios.wasm_over_native_prove ?? null) : null,
        },
      ]),
    ),
    wall_s: round(since(t0), 1),
    notes: {
      units: "*_s in seconds (medians of `runs` proofs; raw values under samples), proof_bytes in bytes",
      wall_s: "per proof as the calling Node process waits for it: for cold runs from spawning the process to its answer (interpreter or Node start, imports, reading the key, witness, prove, native verify); for warm runs from sending the request to the answer",
      witness_s: "ezkl gen_witness (native) or genWitness (WASM), inside the proving process",
      prove_s: "ezkl prove (native) or prove (WASM) alone, inside the proving process",
      "warm_vs_cold.native_v23": "the project's prover (ezkl 23). cold = zk/prover.ts prove(): a fresh `python zk/bridge.py prove` per job, what the operator does today; warm = one bench/ezkl_worker.py process proving N times after one untimed warm-up. ezkl's Python prove takes the proving key by path, so even warm it re-reads and deserialises pk.key (from the page cache) on every proof: warm saves the interpreter start, `import ezkl` and one-time initialisation, not the key load. Both cold and warm also verify each proof natively, as the bridge does",
      "warm_vs_cold.native_v21": "the same with ezkl 21 (bench worker in both modes: cold = a fresh worker per proof)",
      "warm_vs_cold.wasm_v21": "@ezkljs/engine: warm = engine instantiated once in this process with pk, compiled circuit and SRS held in memory as bytes (its API takes bytes, so nothing is re-read); cold = a fresh `node --experimental-strip-types bench/wasm_prover.ts` per proof (Node start, engine instantiation, reading the files); WASM verification of each warm proof happens outside the timing",
      cold_over_warm_wall: "cold.wall_s / warm.wall_s",
      summary: "per model: native_v23 cold_over_warm_wall and cold_overhead_s, and native_vs_wasm ratios.wasm_over_native_prove",
      cold_overhead_s: "cold.wall_s − warm.wall_s: the per-job price of starting a process",
      native_vs_wasm: `@ezkljs/engine on npm stops at 21.0.0; the project's ezkl is ${versions.ezkl ?? "23"}. v23_artifacts_in_wasm records what the engine does with the project's own artifacts (compiled circuit, pk, SRS). The comparison uses ezkl ${EZKL_V21} from PyPI (a venv under .cache/bench, created by this bench only) to build artifacts of the same ONNX with the same run args and the project's dev SRS, and proves them natively and with the engine`,
      wasm_over_native_prove: "WASM prove_s ÷ native ezkl 21 prove_s, both warm, same artifacts and input. The Node build of @ezkljs/engine runs on one thread (no thread pool in its Node bindings), native ezkl uses every core, so on this 2-core machine part of the ratio is parallelism",
      wasm_v21_over_native_v23_prove: "WASM-21 prove_s ÷ the production prover's (ezkl 23, warm) prove_s: different releases and artifacts, for reference only",
      cross_verified: "the last WASM proof verified by native ezkl 21 and a native ezkl 21 proof verified by the WASM verifier",
      noise: "shared 2-core machine: other work may run at the same time; compare medians, not single runs",
    },
  };
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
  process.env.VERDICT_QUIET ??= "1";
  const say = (l: string) => console.log(`\x1b[36m[compare]\x1b[0m ${l}`);
  const result = await benchCompare({ runs: Number(values.runs), progress: say });
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path.join(RESULTS_DIR, "compare.json"), `${JSON.stringify(result, null, 2)}\n`);
  const rows: Record<string, unknown>[] = [];
  for (const [model, modes] of Object.entries(result.warm_vs_cold)) {
    for (const [prover, wc] of Object.entries(modes)) {
      if (!wc) continue;
      rows.push({ model, prover, cold_wall_s: wc.cold.wall_s, warm_wall_s: wc.warm.wall_s, cold_prove_s: wc.cold.prove_s, warm_prove_s: wc.warm.prove_s, cold_over_warm: wc.cold_over_warm_wall });
    }
  }
  console.table(rows);
  if (result.native_vs_wasm.supported) console.table(Object.fromEntries(Object.entries(result.native_vs_wasm.models).map(([m, v]) => [m, v.ratios])));
  else say(`native vs WASM unsupported: ${result.native_vs_wasm.reason}`);
  say(`wrote bench/results/compare.json in ${result.wall_s}s`);
  process.exit(0);
}
