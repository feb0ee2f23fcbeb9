// Scaling curves (issue 7): proving time and peak memory vs circuit size (logrows) over MLPs of growing hidden
// width, and on-chain verifier gas vs the number of public instances. Models are seeded random MLPs written to
// .cache/bench/models (never models/); circuits are built and cached by zk/build/circuit.ts's ensureCircuit like any
// model. Verifiers are compiled with solc-js straight from node_modules/solc into .cache/bench/solc (not
// contracts/generated, which `hardhat build` owns) and deployed as raw bytecode on Hardhat's in-process EDR chain.
//   tsx bench/scaling.ts [--runs N]  ->  bench/results/scaling.json and scaling.svg
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { Contract, ContractFactory } from "ethers";
import { network } from "hardhat";
import { z } from "zod";
import { REPO_ROOT } from "../shared/paths.js";
import { ensureCircuit, modelSpecSchema, readInputRows, type BuiltCircuit, type ModelSpec } from "../zk/build/circuit.js";
import { pythonPath, WarmBridge } from "../zk/runtime/bridge.js";
import { prove } from "../zk/runtime/prover.js";
import { isMain, machineInfo, type MachineInfo } from "./machine.js";
import { median, round } from "../infra/stats.js";

export const BENCH_CACHE = path.join(REPO_ROOT, ".cache", "bench");
const RESULTS_DIR = path.join(REPO_ROOT, "bench", "results");

/**
 * Fixed-point settings of every bench circuit. Scale 8 with 256^2 decomposition bounds every value by
 * 256^2 / 2^8 = 256 in magnitude; the seeded weights (1/sqrt(fan-in)) and inputs in [-1, 1] keep values near 1,
 * and the 256-entry range-check table fits the smallest circuits. Fixed run args (no calibration) so the only
 * thing that changes along a curve is the model's size.
 */
const RUN_ARGS = { input_scale: 8, param_scale: 8, decomp_base: 256, decomp_legs: 2 } as const;
const N_IN = 16;
const N_OUT = 4;

export interface ScalingOptions {
  /** Hidden widths of Gemm(16 -> w) + Relu + Gemm(w -> 4); default 4, 16, 64, 256, 1024 (logrows 9 .. 16). */
  widths?: number[];
  /** Total public instances (inputs + outputs, split evenly) of the gas circuits; default 4, 8, 16, 32, 64. */
  instances?: number[];
  /** Proofs per width (every time figure is their median); default 3. */
  runs?: number;
  progress?: (line: string) => void;
}

export interface ProvingPoint {
  hidden_width: number;
  parameters: number;
  num_rows: number;
  logrows: number;
  keygen_s: number | null;
  witness_s: number;
  prove_s: number;
  verify_s: number;
  prove_peak_rss_mb: number;
  process_baseline_rss_mb: number;
  proof_bytes: number;
  samples: { witness_s: number[]; prove_s: number[]; verify_s: number[] };
}

export interface GasPoint {
  instances: number;
  inputs: number;
  outputs: number;
  logrows: number;
  verifier_runtime_bytes: number;
  calldata_bytes: number;
  estimate_gas: number;
  gas_used: number;
}

export interface ScalingResult {
  generatedAt: string;
  machine: MachineInfo;
  runs: number;
  ezkl: string;
  runArgs: Record<string, number>;
  proving: ProvingPoint[];
  gas: GasPoint[];
  /** Linear fit of gas_used against instances: the marginal gas of one more public instance. */
  gas_per_instance: number;
  wall_s: number;
  notes: Record<string, string>;
}

const mlpSchema = z.object({ parameters: z.number(), numRows: z.number(), ezkl: z.string(), baselineRssMb: z.number() });
type BenchModel = z.infer<typeof mlpSchema> & { spec: Omit<ModelSpec, "runArgs"> };

/** Smallest logrows whose 2^k rows hold the circuit plus halo2's blinding rows (a generous 64), and never under 2^8. */
function logrowsFor(numRows: number): number {
  return Math.max(8, Math.ceil(Math.log2(numRows + 64)));
}

/** A seeded random MLP under .cache/bench/models/<name> (bench/mlp.py) and its model spec. */
async function benchModel(name: string, nIn: number, hidden: number, nOut: number): Promise<BenchModel> {
  const dir = path.join(BENCH_CACHE, "models", name);
  // The seed is the shape, so a rerun writes the same bytes and ensureCircuit's content hash finds the cached keys.
  const request = { out: dir, n_in: nIn, hidden, n_out: nOut, seed: nIn * 1_000_003 + hidden * 1009 + nOut, run_args: RUN_ARGS };
  const { stdout } = await promisify(execFile)(pythonPath(), [path.join(REPO_ROOT, "bench", "mlp.py"), JSON.stringify(request)]);
  const spec = { name, description: `bench MLP Gemm(${nIn}->${hidden}) + Relu + Gemm(${hidden}->${nOut}), seeded random weights`, onnx: "network.onnx", sample: "sample.json", verifier: "single" as const, dir };
  return { spec, ...mlpSchema.parse(JSON.parse(stdout.trim().split("\n").at(-1)!)) };
}

/** Peak resident memory (VmHWM, MiB) of a process: for the warm prover, the peak of every proof it has made. */
async function peakRssMb(pid: number | undefined): Promise<number> {
  const status = pid ? await readFile(`/proc/${pid}/status`, "utf8").catch(() => "") : "";
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
  return kb ? round(Number(kb) / 1024, 1) : Number.NaN;
}

/** ensureCircuit at `logrows`, one size up if ezkl finds it too tight (its blinding/reserved rows are not in num_rows). */
async function buildAt(spec: Omit<ModelSpec, "runArgs">, logrows: number, say: (l: string) => void): Promise<BuiltCircuit> {
  for (let k = logrows; ; k++) {
    const { dir, ...fields } = spec;
    const full: ModelSpec = { ...modelSpecSchema.parse({ ...fields, runArgs: { ...RUN_ARGS, logrows: k } }), dir };
    try {
      return await ensureCircuit(full, { progress: (l) => say(`  ${l}`) });
    } catch (e) {
      if (k > logrows) throw e;
      say(`  ${spec.name}: logrows ${k} failed (${(e as Error).message.split("\n")[0]?.slice(0, 120)}); trying ${k + 1}`);
    }
  }
}

// ------------------------------------------------------------------------------------------- proving vs size

/** One width's proving figures, and the ezkl version that made them. */
async function provingPoint(hidden: number, runs: number, say: (l: string) => void): Promise<{ point: ProvingPoint; version: string }> {
  const model = await benchModel(`bench-mlp-h${hidden}`, N_IN, hidden, N_OUT);
  const circuit = await buildAt(model.spec, logrowsFor(model.numRows), say);
  const [row] = await readInputRows(path.join(model.spec.dir, "sample.json"), circuit.inputs.count, "sample");
  // The product's warm prover (as the operator runs it), a fresh process per width: its peak memory never goes
  // down, so after these proofs it is this circuit's proving peak.
  const prover = new WarmBridge();
  const samples: ProvingPoint["samples"] = { witness_s: [], prove_s: [], verify_s: [] };
  let proofBytes = 0;
  let peak = 0;
  try {
    for (let i = 0; i < runs; i++) {
      const p = await prove(circuit, row!, { bridge: prover.request });
      samples.witness_s.push(p.timings.witness ?? Number.NaN);
      samples.prove_s.push(p.timings.prove ?? Number.NaN);
      samples.verify_s.push(p.timings.verify ?? Number.NaN);
      proofBytes = (p.proof.length - 2) / 2;
      peak = await peakRssMb(prover.pid);
      say(`  w=${hidden} (logrows ${circuit.logrows}): proof ${i + 1}/${runs}: prove ${p.timings.prove?.toFixed(3)}s, peak RSS ${peak} MB`);
    }
  } finally {
    await prover.close();
  }
  const point = {
    hidden_width: hidden,
    parameters: model.parameters,
    num_rows: circuit.numRows,
    logrows: circuit.logrows,
    keygen_s: circuit.buildTimings.setup ?? null,
    witness_s: round(median(samples.witness_s)),
    prove_s: round(median(samples.prove_s)),
    verify_s: round(median(samples.verify_s)),
    prove_peak_rss_mb: peak,
    process_baseline_rss_mb: model.baselineRssMb,
    proof_bytes: proofBytes,
    samples,
  };
  return { point, version: model.ezkl };
}

// ------------------------------------------------------------------------------------------- gas vs instances

const solcOutputSchema = z.object({
  errors: z.array(z.object({ severity: z.string(), formattedMessage: z.string() })).optional(),
  contracts: z.record(z.string(), z.record(z.string(), z.object({ abi: z.array(z.unknown()), evm: z.object({ bytecode: z.object({ object: z.string() }), deployedBytecode: z.object({ object: z.string() }) }) }))).optional(),
});
type Compiled = { abi: unknown[]; bytecode: string; runtimeBytes: number };

/**
 * The verifier compiled with the project's pinned solc-js and Hardhat's settings (optimizer 200 runs, no viaIR),
 * cached by source hash under .cache/bench/solc. Hardhat's own build would need the file in contracts/generated,
 * which zk/build/prepare.ts prunes and other work compiles.
 */
async function compileVerifier(source: string): Promise<Compiled> {
  const cache = path.join(BENCH_CACHE, "solc", `${createHash("sha256").update(source).digest("hex").slice(0, 16)}.json`);
  if (existsSync(cache)) return JSON.parse(await readFile(cache, "utf8")) as Compiled;
  const solc = createRequire(import.meta.url)("solc") as { compile(input: string): string };
  const input = {
    language: "Solidity",
    sources: { "Verifier.sol": { content: source } },
    settings: { optimizer: { enabled: true, runs: 200 }, viaIR: false, outputSelection: { "*": { Halo2Verifier: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } } },
  };
  const out = solcOutputSchema.parse(JSON.parse(solc.compile(JSON.stringify(input))));
  const errors = (out.errors ?? []).filter((e) => e.severity === "error");
  const c = out.contracts?.["Verifier.sol"]?.Halo2Verifier;
  if (errors.length || !c) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join("\n") || "no Halo2Verifier in output"}`);
  const compiled: Compiled = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}`, runtimeBytes: c.evm.deployedBytecode.object.length / 2 };
  await mkdir(path.dirname(cache), { recursive: true });
  await writeFile(cache, JSON.stringify(compiled));
  return compiled;
}

async function gasCurve(totals: number[], say: (l: string) => void): Promise<GasPoint[]> {
  // Gemm(n -> 8) + Relu + Gemm(8 -> n): n public inputs and n public outputs. All built at the largest one's
  // logrows so the verifiers differ in their instance count, not in circuit size.
  const models: BenchModel[] = [];
  for (const t of totals) {
    const side = t / 2;
    if (!Number.isInteger(side) || side < 1) throw new Error(`instance count ${t} must be an even number >= 2`);
    models.push(await benchModel(`bench-io-${t}`, side, 8, side));
  }
  const logrows = Math.max(...models.map((m) => logrowsFor(m.numRows)));
  const connection = await network.connect();
  try {
    const [signer] = await connection.ethers.getSigners();
    const points: GasPoint[] = [];
    for (const m of models) {
      const circuit = await buildAt(m.spec, logrows, say);
      const [row] = await readInputRows(path.join(m.spec.dir, "sample.json"), circuit.inputs.count, "sample");
      const p = await prove(circuit, row!);
      const compiled = await compileVerifier(await readFile(circuit.file("Verifier.sol"), "utf8"));
      const deployed = await new ContractFactory(compiled.abi as never[], compiled.bytecode, signer).deploy();
      await deployed.waitForDeployment();
      const verifier = new Contract(await deployed.getAddress(), compiled.abi as never[], signer);
      const verifyProof = verifier.getFunction("verifyProof");
      if (!(await verifyProof.staticCall(p.proof, p.instances))) throw new Error(`${m.spec.name}: the deployed verifier rejects a valid proof`);
      const estimate = await verifyProof.estimateGas(p.proof, p.instances);
      const receipt = await (await verifyProof.send(p.proof, p.instances)).wait();
      const calldata = verifier.interface.encodeFunctionData("verifyProof", [p.proof, p.instances]);
      points.push({
        instances: p.instances.length,
        inputs: circuit.inputs.count,
        outputs: circuit.outputs.count,
        logrows: circuit.logrows,
        verifier_runtime_bytes: compiled.runtimeBytes,
        calldata_bytes: (calldata.length - 2) / 2,
        estimate_gas: Number(estimate),
        gas_used: Number(receipt!.gasUsed),
      });
      say(`  ${p.instances.length} instances: verifyProof estimateGas ${estimate}, gasUsed ${receipt!.gasUsed} (verifier ${compiled.runtimeBytes} bytes)`);
    }
    return points;
  } finally {
    await connection.close();
  }
}

function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return sxx ? sxy / sxx : Number.NaN;
}

// ------------------------------------------------------------------------------------------- entry points

export async function benchScaling(opts: ScalingOptions = {}): Promise<ScalingResult> {
  const t0 = performance.now();
  const say = opts.progress ?? (() => undefined);
  const widths = opts.widths ?? [4, 16, 64, 256, 1024];
  const totals = opts.instances ?? [4, 8, 16, 32, 64];
  const runs = opts.runs ?? 3;
  const machine = machineInfo();

  say(`proving vs size: widths ${widths.join(", ")}, ${runs} proof(s) each`);
  const proving: ProvingPoint[] = [];
  let ezkl = "";
  for (const w of widths) {
    const { point, version } = await provingPoint(w, runs, say);
    proving.push(point);
    ezkl = version;
  }
  say(`gas vs public instances: ${totals.join(", ")}`);
  const gas = await gasCurve(totals, say);

  return {
    generatedAt: new Date().toISOString(),
    machine,
    runs,
    ezkl,
    runArgs: { ...RUN_ARGS },
    proving,
    gas,
    gas_per_instance: round(slope(gas.map((g) => ({ x: g.instances, y: g.gas_used }))), 1),
    wall_s: round((performance.now() - t0) / 1000, 1),
    notes: {
      models: `Gemm(${N_IN} -> w) + Relu + Gemm(w -> ${N_OUT}) with seeded normal weights (std 1/sqrt(fan-in)) and one seeded input in [-1, 1]^${N_IN}; ONNX under .cache/bench/models; run args ${JSON.stringify(RUN_ARGS)}, params fixed in the key, input and output public, as for the demo models`,
      logrows: "the smallest k with 2^k >= num_rows + 64 (ezkl's row count at these run args, probed with gen_settings), one more if key generation fails at that size",
      parameters: "weights + biases of the ONNX model",
      num_rows: "rows ezkl assigns for the circuit (settings num_rows); logrows rounds it up to a power of two",
      keygen_s: "ezkl setup (proving + verifying key) from the circuit's build manifest: measured when the circuit was first built and cached by content hash under .cache/zk, not re-run on later bench runs",
      witness_s: `median of ${runs} ezkl.gen_witness`,
      prove_s: `median of ${runs} ezkl.prove (witness excluded), by the product's warm prover (zk/runtime/bridge.ts WarmBridge, \`bridge.py serve\`, as the operator proves), a fresh one per width; CPU, all cores`,
      verify_s: `median of ${runs} ezkl.verify of those proofs, same process`,
      prove_peak_rss_mb: "VmHWM of that warm prover process after its proofs: the peak of witness + prove + verify for this circuit (it never goes down, and every proof in the process is of the same circuit), including the interpreter and ezkl themselves",
      process_baseline_rss_mb: "ru_maxrss of a fresh Python process right after `import ezkl` (bench/mlp.py, before it writes the model): subtract it for what proving itself adds",
      proof_bytes: "length of the EVM proof bytes (hex_proof)",
      gas: "one circuit per total instance count (inputs = outputs = total / 2; Gemm(n -> 8) + Relu + Gemm(8 -> n)), all at the same logrows; its ezkl single verifier compiled with solc-js 0.8.30 (optimizer 200 runs, no viaIR, as hardhat.config.ts) and deployed as raw bytecode on Hardhat's in-process EDR chain (l1)",
      estimate_gas: "eth_estimateGas of verifyProof(proof, instances) with a real proof: includes the 21,000 base cost and calldata",
      gas_used: "gasUsed of the same call sent as a transaction",
      gas_per_instance: "least-squares slope of gas_used over the instance count",
      calldata_bytes: "ABI-encoded verifyProof calldata (proof + instances)",
      noise: "shared 2-core machine: other work may run at the same time; time figures are medians, memory and gas are deterministic up to allocator noise",
      chart: "bench/results/scaling.vl.json (Vega-Lite): left, prove time (log scale) and peak RSS vs logrows; right, verifyProof gas vs public instances",
    },
  };
}

/**
 * Two panels as a Vega-Lite spec with the data inline (open it in the Vega editor or render it with vl2svg): prove
 * time and peak memory vs logrows; verifier gas vs public instances.
 */
export function scalingChart(r: ScalingResult): Record<string, unknown> {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: `ezkl ${r.ezkl}, ${r.machine.cores} cores (${r.machine.cpuModel}), ${r.runs} proof(s) per width, ${r.generatedAt}`,
    hconcat: [
      {
        title: "Proving vs circuit size (MLP 16 -> w -> 4)",
        data: { values: r.proving.map(({ samples: _, ...p }) => p) },
        encoding: { x: { field: "logrows", type: "quantitative", title: "logrows (circuit has 2^k rows)" } },
        layer: [
          { mark: { type: "line", point: true }, encoding: { y: { field: "prove_s", type: "quantitative", scale: { type: "log" }, title: "prove time (s, median)" } } },
          { mark: { type: "line", point: true, strokeDash: [4, 2], color: "#d62728" }, encoding: { y: { field: "prove_peak_rss_mb", type: "quantitative", title: "peak RSS (MB)" } } },
        ],
        resolve: { scale: { y: "independent" } },
      },
      {
        title: "verifyProof gas vs public instances",
        data: { values: r.gas },
        encoding: { x: { field: "instances", type: "quantitative", title: "public instances (inputs + outputs)" } },
        layer: [
          { mark: { type: "line", point: true, color: "#2ca02c" }, encoding: { y: { field: "gas_used", type: "quantitative", title: "gas" } } },
          { mark: { type: "line", point: true, strokeDash: [4, 2], color: "#9467bd" }, encoding: { y: { field: "estimate_gas", type: "quantitative" } } },
        ],
      },
    ],
  };
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
  process.env.VERDICT_QUIET ??= "1";
  const say = (l: string) => console.log(`\x1b[36m[scaling]\x1b[0m ${l}`);
  const result = await benchScaling({ runs: Number(values.runs), progress: say });
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path.join(RESULTS_DIR, "scaling.json"), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(path.join(RESULTS_DIR, "scaling.vl.json"), `${JSON.stringify(scalingChart(result), null, 2)}\n`);
  console.table(result.proving.map(({ samples: _, ...p }) => p));
  console.table(result.gas);
  say(`wrote bench/results/scaling.json and scaling.vl.json (Vega-Lite) in ${result.wall_s}s`);
  process.exit(0);
}
