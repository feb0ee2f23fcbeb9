// `make bench [ARGS="--runs N"]`: the figures Verdict's claims rest on, measured on this machine and written to
// bench/results/latest.json and latest.md. Per demo model: proving (witness, prove), native verification (time
// and peak RSS), float inference, key generation (from the build manifest), proof size; on a `hardhat node` with
// the whole stack deployed: gas of every market step (verifier alone, create, lock, fulfil, batch fulfil, slash);
// and the end-to-end latency of a job (post -> fulfilled on-chain) with the relayer and one operator running as
// processes, as in `make demo`; one proof settling N jobs (bench/batch.ts: N = 1, 8, 32 per demo model). Every
// figure is the median of N runs.
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { Wallet } from "ethers";
import { DEMO_MODELS, DEV_KEYS, withLocalStack, type LocalStack } from "../infra/localStack.js";
import { stackEnv, startRelayerAndOperators } from "../infra/verdictService.js";
import { FULFIL_TYPES, marketDomain } from "../shared/eip712.js";
import { REPO_ROOT } from "../shared/paths.js";
import { IHalo2Verifier__factory, InferenceMarket__factory, ModelRegistry__factory, type InferenceMarket } from "../types/ethers-contracts/index.js";
import { WarmBridge } from "../zk/runtime/bridge.js";
import { ensureCircuit, loadModelSpec, readInputRows, type BuiltCircuit } from "../zk/build/circuit.js";
import { infer } from "../zk/runtime/inference.js";
import { prove, verifyNative, type NativeVerification, type ProofResult } from "../zk/runtime/prover.js";
import { benchLoad, loadMarkdown, type LoadBench } from "./load.js";
import { machineInfo, type MachineInfo } from "./machine.js";
import { benchRelayer, relayerMarkdown, writeRelayerReport, type RelayerCapacity } from "./relayer.js";
import { benchScaling, scalingChart, type ScalingResult } from "./scaling.js";
import { batchMarkdown, benchBatch, writeBatchResults, type BatchResult } from "./batch.js";
import { median, round } from "../infra/stats.js";

const { values: flags } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    "load-jobs": { type: "string", default: "1000" },
    "chain-jobs": { type: "string", default: "40" },
    "relayer-txs": { type: "string", default: "1000" },
    skip: { type: "string", default: "" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (flags.help) {
  console.log(
    [
      'usage: make bench [ARGS="--runs N --load-jobs N --chain-jobs N --relayer-txs N --skip scaling,relayer,load"]',
      "  --runs N       proofs, transactions and end-to-end jobs per figure (median of N; default 5)",
      "  --load-jobs N  jobs in the load burst on automine (two operators, one relayer; default 1000)",
      "  --chain-jobs N  jobs in the load bursts on the 2 s and 12 s block chains (default 40)",
      "  --relayer-txs N  fulfilments handed to one relayer at once for its capacity (default 1000)",
      "  --skip LIST    leave out sections: batch (one proof for N jobs), scaling (curves over MLP widths), relayer, load",
    ].join("\n"),
  );
  process.exit(0);
}
const RUNS = Number(flags.runs);
const LOAD_JOBS = Number(flags["load-jobs"]);
const CHAIN_JOBS = Number(flags["chain-jobs"]);
/** Chains the load runs on: automine, and a block every 2 s and 12 s (a fast L2 and Ethereum's pace). */
const LOAD_BLOCK_TIMES = [0, 2, 12];
const RELAYER_TXS = Number(flags["relayer-txs"]);
const SECTIONS = ["batch", "scaling", "relayer", "load"];
const SKIP = new Set(flags.skip.split(",").filter(Boolean));
for (const k of SKIP) if (!SECTIONS.includes(k)) {
  console.error(`--skip takes ${SECTIONS.join(", ")}, not '${k}'`);
  process.exit(2);
}
for (const [flag, n] of [["load-jobs", LOAD_JOBS], ["chain-jobs", CHAIN_JOBS], ["relayer-txs", RELAYER_TXS]] as const) {
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${flag} must be a positive integer, not '${flags[flag]}'`);
    process.exit(2);
  }
}
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error(`--runs must be a positive integer, not '${flags.runs}'`);
  process.exit(2);
}
// ezkl's own progress lines would drown the bench's; failures still come back as errors from the bridge.
process.env.VERDICT_QUIET ??= "1";

const RESULTS_DIR = path.join(REPO_ROOT, "bench", "results");
const ETH = "0x0000000000000000000000000000000000000000";
const UNIT = 10n ** 18n;
const PRICE = 10n ** 15n;
const TIMEOUT = 3600n;
const BATCH_SIZES = [1, 8] as const;
/** Measured on a Prague chain: a batch this large exceeds Osaka's per-transaction gas cap (EIP-7825). */
const BIG_BATCH = 32;
const E2E_TIMEOUT_MS = 300_000;

function say(msg: string): void {
  console.log(`\x1b[36m[bench]\x1b[0m ${msg}`);
}
const secondsSince = (t0: number) => (performance.now() - t0) / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------- off-chain figures

interface OffChain {
  circuit: BuiltCircuit;
  row: number[];
  proofs: ProofResult[];
  samples: { witness_s: number[]; prove_s: number[]; verify_cpu_s: number[]; verify_cpu_rss_mb: number[]; infer_s: number[] };
}

/** Native ezkl verification in its own process, as `verdict verify` does it. */
async function nativeVerify(circuit: BuiltCircuit, proof: ProofResult): Promise<NativeVerification> {
  const r = await verifyNative(circuit, proof.proof, proof.instances);
  if (!r.verified) throw new Error(`native verification rejected a proof of ${circuit.spec.name}`);
  return r;
}

async function offChain(name: string): Promise<OffChain> {
  const spec = await loadModelSpec(name);
  const circuit = await ensureCircuit(spec, { progress: (l) => say(`  ${l}`) });
  const [row] = await readInputRows(path.join(spec.dir, spec.sample), circuit.inputs.count, "sample");
  const samples: OffChain["samples"] = { witness_s: [], prove_s: [], verify_cpu_s: [], verify_cpu_rss_mb: [], infer_s: [] };
  const proofs: ProofResult[] = [];
  // The operator's warm prover: interpreter start-up and `import ezkl` paid once, as in production.
  const prover = new WarmBridge();
  try {
    for (let i = 0; i < RUNS; i++) {
      const p = await prove(circuit, row!, { bridge: prover.request });
      proofs.push(p);
      samples.witness_s.push(p.timings.witness ?? Number.NaN);
      samples.prove_s.push(p.timings.prove ?? Number.NaN);
      say(`  ${name}: proof ${i + 1}/${RUNS}: witness ${p.timings.witness?.toFixed(3)}s, prove ${p.timings.prove?.toFixed(3)}s`);
    }
  } finally {
    await prover.close();
  }
  for (const [i, p] of proofs.entries()) {
    const v = await nativeVerify(circuit, p);
    samples.verify_cpu_s.push(v.timings.verify ?? Number.NaN);
    samples.verify_cpu_rss_mb.push(v.maxRssMb);
    say(`  ${name}: native verify ${i + 1}/${RUNS}: ${v.timings.verify?.toFixed(3)}s, peak RSS ${v.maxRssMb} MB`);
  }
  const onnx = path.join(spec.dir, spec.onnx);
  await infer(onnx, row!); // session creation and first-run warm-up are not part of the figure
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await infer(onnx, row!);
    samples.infer_s.push(secondsSince(t0));
  }
  return { circuit, row: row!, proofs, samples };
}

// ------------------------------------------------------------------------------------------- gas on a hardhat node

interface GasSamples {
  verifier_gas: number[];
  create_gas: number[];
  lock_gas: number[];
  fulfil_gas: number[];
  settlement_overhead_gas: number[];
  batch: Record<number, number[]>;
  slash_gas: number[];
}

/** Posts an ETH job (price PRICE, collateral 1 VDT) and returns its id and the createJob gas. */
async function postJob(market: InferenceMarket, modelId: number, input: bigint[]): Promise<{ jobId: bigint; gas: bigint }> {
  const req = { modelId, input, token: ETH, price: PRICE, collateral: UNIT, lockTimeout: 600n, timeout: TIMEOUT, callback: ETH, callbackGasLimit: 0 };
  const receipt = (await (await market.createJob(req, { value: PRICE })).wait())!;
  const jobId = market.interface.parseLog(receipt.logs.find((l) => l.address === (market.target as string))!)!.args.jobId as bigint;
  return { jobId, gas: receipt.gasUsed };
}

async function gas(s: LocalStack, name: string, proofs: ProofResult[]): Promise<GasSamples> {
  const { ethers } = s.connection;
  const signers = await ethers.getSigners();
  const [admin, operator] = signers;
  const stranger = signers[3]!;
  const market = InferenceMarket__factory.connect(s.addresses.market, admin!);
  const registry = ModelRegistry__factory.connect(s.addresses.registry, admin!);
  const { modelId, circuit } = s.models[name]!;
  const [verifierAddress] = await registry.layout(modelId);
  const verifier = IHalo2Verifier__factory.connect(verifierAddress, ethers.provider);

  const create = (input: bigint[]) => postJob(market, modelId, input);
  const gasOf = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) => (await (await tx).wait())!.gasUsed;
  const expectStatus = async (m: InferenceMarket, jobId: bigint, status: bigint, what: string) => {
    const got = (await m.jobOf(jobId)).status;
    if (got !== status) throw new Error(`${name}: job ${jobId} is in status ${got} after ${what}, expected ${status}`);
  };

  const out: GasSamples = { verifier_gas: [], create_gas: [], lock_gas: [], fulfil_gas: [], settlement_overhead_gas: [], batch: {}, slash_gas: [] };
  for (const [i, p] of proofs.entries()) {
    const input = p.instances.slice(0, circuit.inputs.count);
    const verifierGas = await verifier.verifyProof.estimateGas(p.proof, p.instances);
    const { jobId, gas: createGas } = await create(input);
    const lockGas = await gasOf(market.connect(operator!).lock(jobId, await market.termsOf(jobId)));
    const fulfilGas = await gasOf(market.connect(operator!).fulfil(jobId, p.proof, p.instances));
    await expectStatus(market, jobId, 3n, "fulfil");
    out.verifier_gas.push(Number(verifierGas));
    out.create_gas.push(Number(createGas));
    out.lock_gas.push(Number(lockGas));
    out.fulfil_gas.push(Number(fulfilGas));
    out.settlement_overhead_gas.push(Number(fulfilGas - verifierGas));
    say(`  ${name}: gas run ${i + 1}/${proofs.length}: verifier ${verifierGas}, create ${createGas}, lock ${lockGas}, fulfil ${fulfilGas}`);
  }
  for (const size of BATCH_SIZES) out.batch[size] = await batchGas(s, name, proofs, size);
  // Slash: lock N jobs, let their secondary window (expiryOf) pass, slash each (time moves forward for the whole chain).
  const toSlash: bigint[] = [];
  for (const p of proofs) {
    const { jobId } = await create(p.instances.slice(0, circuit.inputs.count));
    await (await market.connect(operator!).lock(jobId, await market.termsOf(jobId))).wait();
    toSlash.push(jobId);
  }
  await ethers.provider.send("evm_increaseTime", [2 * Number(TIMEOUT) + 1]);
  await ethers.provider.send("evm_mine", []);
  for (const jobId of toSlash) {
    out.slash_gas.push(Number(await gasOf(market.connect(stranger).slash(jobId))));
    await expectStatus(market, jobId, 4n, "slash");
  }
  say(`  ${name}: slash ${Math.round(median(out.slash_gas))} gas`);
  return out;
}

/** fulfilBatch gas per job for batches of `size` signed fulfilments (one batch per proof), on the stack `s`. */
async function batchGas(s: LocalStack, name: string, proofs: ProofResult[], size: number): Promise<number[]> {
  const { ethers } = s.connection;
  const signers = await ethers.getSigners();
  const [admin, operator] = signers;
  const relayer = signers[4]!;
  const market = InferenceMarket__factory.connect(s.addresses.market, admin!);
  const { modelId, circuit } = s.models[name]!;
  const domain = marketDomain((await ethers.provider.getNetwork()).chainId, s.addresses.market);
  const operatorWallet = new Wallet(DEV_KEYS.operators[0]!);
  if (operatorWallet.address !== (await operator!.getAddress())) throw new Error("account 1 is not the first dev operator key");
  const perJob: number[] = [];
  for (const p of proofs) {
    const input = p.instances.slice(0, circuit.inputs.count);
    const auths = [];
    for (let j = 0; j < size; j++) {
      const { jobId } = await postJob(market, modelId, input);
      await (await market.connect(operator!).lock(jobId, await market.termsOf(jobId))).wait();
      const value = { jobId, proof: p.proof, instances: p.instances, relayerFee: 0n, relayer: ETH };
      auths.push({ ...value, signature: await operatorWallet.signTypedData(domain, FULFIL_TYPES, value) });
    }
    const receipt = (await (await market.connect(relayer).fulfilBatch(auths)).wait())!;
    for (const a of auths) {
      const status = (await market.jobOf(a.jobId)).status;
      if (status !== 3n) throw new Error(`${name}: job ${a.jobId} is in status ${status} after fulfilBatch of ${size}`);
    }
    perJob.push(Number(receipt.gasUsed) / size);
  }
  say(`  ${name}: fulfilBatch of ${size}: ${Math.round(median(perJob))} gas per job`);
  return perJob;
}

// ------------------------------------------------------------------------------------------- end to end

async function endToEnd(s: LocalStack, name: string, proofs: ProofResult[]): Promise<number[]> {
  const { ethers } = s.connection;
  const [admin] = await ethers.getSigners();
  const market = InferenceMarket__factory.connect(s.addresses.market, admin!);
  const { modelId, circuit } = s.models[name]!;
  const latencies: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const input = proofs[i % proofs.length]!.instances.slice(0, circuit.inputs.count);
    const t0 = performance.now();
    const { jobId } = await postJob(market, modelId, input);
    for (;;) {
      if ((await market.jobOf(jobId)).status === 3n) break;
      if (performance.now() - t0 > E2E_TIMEOUT_MS) throw new Error(`${name}: job ${jobId} not fulfilled after ${E2E_TIMEOUT_MS / 1000}s`);
      await sleep(50);
    }
    latencies.push(secondsSince(t0));
    say(`  ${name}: job ${jobId} posted -> fulfilled on-chain in ${latencies.at(-1)!.toFixed(2)}s (${i + 1}/${RUNS})`);
  }
  return latencies;
}

// ------------------------------------------------------------------------------------------- report

async function versions(): Promise<Record<string, string>> {
  const pkg = async (name: string) => (JSON.parse(await readFile(path.join(REPO_ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  const ezkl = await promisify(execFile)(path.join(REPO_ROOT, ".venv", "bin", "python"), ["-c", "import ezkl; print(ezkl.__version__)"])
    .then((r) => r.stdout.trim())
    .catch((e: Error) => `unknown (${e.message.split("\n")[0]})`);
  return { node: process.version, ezkl, hardhat: await pkg("hardhat"), solc: await pkg("solc"), ethers: await pkg("ethers"), "onnxruntime-node": await pkg("onnxruntime-node") };
}

interface ModelComparisons {
  single_over_batch_fulfil_per_job?: Record<string, number>;
}
const cmp = (m: Record<string, unknown>) => (m.comparisons ?? {}) as ModelComparisons;

function markdown(report: {
  runs: number;
  machine: MachineInfo;
  versions: Record<string, string>;
  models: Record<string, Record<string, unknown>>;
  system: { relayer_capacity?: RelayerCapacity | { skipped: string }; load?: LoadBench | { skipped: string } };
  scaling: { proving?: Omit<ScalingResult["proving"][number], "samples">[]; gas?: ScalingResult["gas"]; gas_per_instance?: number };
  batch: BatchResult | { skipped: string };
}): string {
  const names = Object.keys(report.models);
  const fmt = (v: unknown): string => {
    if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString("en-US") : v >= 100 ? Math.round(v).toLocaleString("en-US") : String(round(v, 4));
    return String(v);
  };
  const rows: [string, (m: Record<string, unknown>) => unknown][] = [
    ["logrows", (m) => m.logrows],
    ["proof bytes", (m) => m.proof_bytes],
    ["key generation (s, from build manifest)", (m) => m.keygen_s],
    ["witness (s)", (m) => m.witness_s],
    ["prove (s)", (m) => m.prove_s],
    ["native verify, CPU (s)", (m) => m.verify_cpu_s],
    ["native verify peak RSS (MB)", (m) => m.verify_cpu_rss_mb],
    ["float inference, onnxruntime (s)", (m) => m.infer_s],
    ["verifier gas (eth_estimateGas, incl. 21k base + calldata)", (m) => m.verifier_gas],
    ["createJob gas", (m) => m.create_gas],
    ["lock gas", (m) => m.lock_gas],
    ["fulfil gas", (m) => m.fulfil_gas],
    ["settlement overhead gas (fulfil − verifier)", (m) => m.settlement_overhead_gas],
    ...[...BATCH_SIZES, BIG_BATCH].map((n): [string, (m: Record<string, unknown>) => unknown] => [
      `fulfilBatch of ${n}, gas per job${n === BIG_BATCH ? " (Prague chain: over Osaka's tx gas cap)" : ""}`,
      (m) => (m.batch_fulfil_gas_per_job as Record<string, number>)[String(n)],
    ]),
    ["slash gas", (m) => m.slash_gas],
    ["end-to-end latency, post → fulfilled on-chain (s)", (m) => m.e2e_latency_s],
    ["pipeline overhead ratio ((e2e − prove) / prove)", (m) => m.pipeline_overhead_ratio],
    ["ratio: fulfil alone ÷ per job in a batch of 8", (m) => cmp(m).single_over_batch_fulfil_per_job?.["8"]],
    [`ratio: fulfil alone ÷ per job in a batch of ${BIG_BATCH}`, (m) => cmp(m).single_over_batch_fulfil_per_job?.[String(BIG_BATCH)]],
  ];
  const m = report.machine;
  return [
    `# Verdict benchmark`,
    ``,
    `Medians of ${report.runs} run(s) per figure. Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GB. ` +
      `Versions: ${Object.entries(report.versions).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    ``,
    `| figure | ${names.join(" | ")} |`,
    `|---|${names.map(() => "---:").join("|")}|`,
    ...rows.map(([label, get]) => `| ${label} | ${names.map((n) => fmt(get(report.models[n]!) ?? "n/a")).join(" | ")} |`),
    ``,
    ...(report.system.relayer_capacity && "txs" in report.system.relayer_capacity ? relayerMarkdown(report.system.relayer_capacity) : []),
    ...(report.system.load && "runs" in report.system.load ? loadMarkdown(report.system.load) : []),
    ...("models" in report.batch ? [batchMarkdown(report.batch).replace(/^# /, "## ")] : []),
    ...(report.scaling.proving && report.scaling.gas ? scalingMarkdown(report.scaling.proving, report.scaling.gas, report.scaling.gas_per_instance!) : []),
    ...skippedMarkdown(),
  ].join("\n");
}

/** Sections left out of this run (--skip), with the report each one writes on its own. */
function skippedMarkdown(): string[] {
  const own: Record<string, string> = { batch: "bench/results/batch.md", scaling: "bench/results/scaling.vl.json", relayer: "bench/results/relayer.md", load: "bench/results/load*.json" };
  const left = SECTIONS.filter((k) => SKIP.has(k));
  return left.length ? [`Not run here (--skip): ${left.map((k) => `${k} (its own report: ${own[k]})`).join(", ")}.`, ``] : [];
}

function scalingMarkdown(proving: Omit<ScalingResult["proving"][number], "samples">[], gas: ScalingResult["gas"], perInstance: number): string[] {
  return [
    `## Scaling (chart: bench/results/scaling.vl.json)`,
    ``,
    `| hidden width | parameters | logrows | keygen (s) | prove (s) | peak RSS (MB) | verify (s) |`,
    `|---:|---:|---:|---:|---:|---:|---:|`,
    ...proving.map((p) => `| ${p.hidden_width} | ${p.parameters} | ${p.logrows} | ${p.keygen_s} | ${p.prove_s} | ${p.prove_peak_rss_mb} | ${p.verify_s} |`),
    ``,
    `| public instances | ${gas.map((g) => g.instances).join(" | ")} |`,
    `|---|${gas.map(() => "---:").join("|")}|`,
    `| verifyProof gasUsed | ${gas.map((g) => g.gas_used.toLocaleString("en-US")).join(" | ")} |`,
    ``,
    `Marginal gas per public instance: ${perInstance.toLocaleString("en-US")}.`,
    ``,
  ];
}

async function main(): Promise<void> {
  const started = performance.now();
  say(`${RUNS} run(s) per figure`);

  const sections = 3 + SECTIONS.filter((k) => !SKIP.has(k)).length;
  let section = 0;
  const step = (what: string) => say(`${++section}/${sections} ${what}`);

  step("proving, native verification and inference (no chain)");
  const off: Record<string, OffChain> = {};
  for (const name of DEMO_MODELS) off[name] = await offChain(name);

  step("gas on a hardhat node with the whole stack deployed");
  // Each section on a stack of its own, stopped when it ends (what runs later would only compete for the cores).
  const log = (l: string) => say(`  ${l}`);
  const gasByModel: Record<string, GasSamples> = {};
  await withLocalStack("bench-gas", log, async ({ stack }) => {
    for (const name of DEMO_MODELS) gasByModel[name] = await gas(stack, name, off[name]!.proofs);
  }, { exitOnSignal: true });
  say(`  fulfilBatch of ${BIG_BATCH} on a second chain at the Prague hardfork (no per-transaction gas cap)`);
  await withLocalStack("bench-prague", () => undefined, async ({ stack }) => {
    for (const name of DEMO_MODELS) gasByModel[name]!.batch[BIG_BATCH] = await batchGas(stack, name, off[name]!.proofs, BIG_BATCH);
  }, { chain: { hardfork: "prague" }, exitOnSignal: true });

  // A fresh chain: the gas section moved the clock hours ahead (slash), which the operator would read as
  // hour-long blocks in its inclusion estimate and decline every job.
  step("end to end: relayer and one operator as processes");
  const e2e: Record<string, number[]> = {};
  await withLocalStack("bench-e2e", log, async (run) => {
    await startRelayerAndOperators(run, stackEnv(run, "bench"), [{ key: DEV_KEYS.operators[0]!, name: "operator" }]);
    say(`  relayer and operator running (logs in ${run.work})`);
    for (const name of DEMO_MODELS) e2e[name] = await endToEnd(run.stack, name, off[name]!.proofs);
  }, { exitOnSignal: true });

  let batch: BatchResult | undefined;
  if (!SKIP.has("batch")) {
    step("batch proofs: one real proof settles N jobs (fulfilBatchProof), N = 1, 8, 32 per demo model");
    batch = await benchBatch({ runs: Math.min(RUNS, 3), progress: (l) => say(`  ${l}`) });
    await writeBatchResults(batch);
  }
  let scaling: ScalingResult | undefined;
  if (!SKIP.has("scaling")) {
    step("scaling: proving time and memory over MLP widths, verifier gas over public instances");
    scaling = await benchScaling({ runs: Math.min(RUNS, 3), progress: (l) => say(`  ${l}`) });
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(path.join(RESULTS_DIR, "scaling.json"), `${JSON.stringify(scaling, null, 2)}\n`);
    await writeFile(path.join(RESULTS_DIR, "scaling.vl.json"), `${JSON.stringify(scalingChart(scaling), null, 2)}\n`);
  }
  let relayer: RelayerCapacity | undefined;
  if (!SKIP.has("relayer")) {
    step(`relayer capacity: ${RELAYER_TXS} signed fulfilments handed to one relayer at once, on automine, 2 s and 12 s blocks`);
    relayer = await benchRelayer({ txs: RELAYER_TXS, log: (l) => say(`  ${l}`) });
    await writeRelayerReport(relayer);
  }
  let load: LoadBench | undefined;
  if (!SKIP.has("load")) {
    step(`load: evaluate burst, then ${LOAD_JOBS} jobs on automine and ${CHAIN_JOBS} on 2 s and 12 s block chains, two operators, one relayer`);
    load = await benchLoad({ jobs: LOAD_JOBS, chainJobs: CHAIN_JOBS, blockTimes: LOAD_BLOCK_TIMES, burst: true, log: (l) => say(`  ${l}`) });
  }

  const models: Record<string, Record<string, unknown>> = {};
  for (const name of DEMO_MODELS) {
    const o = off[name]!;
    const g = gasByModel[name]!;
    const prove_s = median(o.samples.prove_s);
    const e2e_latency_s = median(e2e[name]!);
    models[name] = {
      logrows: o.circuit.logrows,
      proof_bytes: (o.proofs[0]!.proof.length - 2) / 2,
      keygen_s: o.circuit.buildTimings.setup ?? null,
      witness_s: round(median(o.samples.witness_s)),
      prove_s: round(prove_s),
      verify_cpu_s: round(median(o.samples.verify_cpu_s)),
      verify_cpu_rss_mb: round(median(o.samples.verify_cpu_rss_mb), 1),
      infer_s: round(median(o.samples.infer_s), 6),
      verifier_gas: median(g.verifier_gas),
      create_gas: median(g.create_gas),
      lock_gas: median(g.lock_gas),
      fulfil_gas: median(g.fulfil_gas),
      settlement_overhead_gas: median(g.settlement_overhead_gas),
      batch_fulfil_gas_per_job: Object.fromEntries([...BATCH_SIZES, BIG_BATCH].map((n) => [String(n), Math.round(median(g.batch[n]!))])),
      slash_gas: median(g.slash_gas),
      e2e_latency_s: round(e2e_latency_s, 3),
      pipeline_overhead_ratio: round((e2e_latency_s - prove_s) / prove_s, 3),
      comparisons: {
        single_over_batch_fulfil_per_job: Object.fromEntries(
          [8, BIG_BATCH].map((n) => [String(n), round(median(g.batch[1]!) / median(g.batch[n]!), 3)]),
        ),
      },
      samples: { ...o.samples, ...Object.fromEntries(Object.entries(g).filter(([k]) => k !== "batch")), batch_fulfil_gas_per_job: g.batch, e2e_latency_s: e2e[name] },
    };
  }
  const report = {
    generatedAt: new Date().toISOString(),
    runs: RUNS,
    runsNote: `every figure is the median of ${RUNS} run(s): ${RUNS} proofs per model (each later verified natively and used on-chain), ${RUNS} inferences, ${RUNS} transactions of each kind, ${RUNS} batches of each size, ${RUNS} end-to-end jobs per model; raw values under models.<name>.samples`,
    machine: machineInfo(),
    versions: await versions(),
    notes: {
      units: "*_s in seconds, *_gas in gas units, *_mb in MiB, proof_bytes in bytes",
      prove_s: "ezkl.prove alone (witness excluded), as timed by zk/runtime/bridge.py in the operator's warm prover (WarmBridge, one process for all runs of a model); CPU",
      witness_s: "ezkl.gen_witness",
      verify_cpu_s: "ezkl.verify in a separate bridge process (zk/runtime/bridge.py verify), interpreter start-up excluded",
      verify_cpu_rss_mb: "peak RSS (ru_maxrss) of that verifying Python process, ezkl and the SRS loaded",
      infer_s: "onnxruntime-node CPU session.run on the sample row, after one warm-up run",
      keygen_s: "ezkl setup (proving + verifying keys) from the circuit's build manifest (buildTimings.setup); measured once, when the cached circuit was built, not re-run by the bench",
      verifier_gas: "eth_estimateGas of verifyProof on the model's registered ezkl verifier with a real proof: includes the 21,000 base transaction cost and calldata, so it overstates the verifier's share of a fulfil",
      settlement_overhead_gas: "fulfil gasUsed − verifier_gas: what the market adds on top of a standalone verifier transaction (an internal verifier call pays no second 21k base, so this understates the market's own logic by about that much)",
      batch_fulfil_gas_per_job: "fulfilBatch gasUsed / batch size, signed fulfilments (EIP-712, operator account 1) submitted by account 4; batches of 1 and 8 on the default (Osaka) chain; the batch of 32 on a second hardhat node at the Prague hardfork, because 32 real-verifier fulfilments exceed Osaka's 2^24 (16,777,216) per-transaction gas cap (EIP-7825): relayers must size batches by gas",
      slash_gas: "slash of a locked job past its deadline (collateral 1 VDT)",
      e2e_latency_s: "createJob sent -> jobOf(id).status == Fulfilled seen by polling every 50 ms, with the relayer and one operator as separate processes (startRelayerAndOperators, as in make demo), jobs one at a time; includes the operator's lock, inference, witness, proof, native check and the relayer's submission",
      pipeline_overhead_ratio: "(e2e_latency_s − prove_s) / prove_s",
      comparisons: "per model, measured in this run: single_over_batch_fulfil_per_job = fulfil gas per job alone (batch of 1) ÷ per job in a batch of n",
      system: "relayer_tx_per_s / relayer_nonce_errors: bench/relayer.ts, --relayer-txs operator-signed fulfilments of locked jobs (one real proof) enqueued at once for one relayer process, on automine, 2 s and 12 s blocks (relayer_capacity.scenarios): fulfilments settled ÷ wall time from enqueue to the last outcome published (automine), and verdict_relayer_nonce_errors_total over all three; evaluate_jobs_per_s: infra/evaluateBurst.ts, jobs of one block through the real evaluate stage on a fake chain that counts every request (load.evaluate_burst; load.evaluate_spam_burst: the same with every job priced below its gas); load.runs: infra/load.ts on automine and on 2 s and 12 s block chains (hardhat node interval mining): jobs/s per operator process, latency minus each job's proving time, gas of the operators' locks and fulfilments per job, RPC requests per settled job counted by a proxy per service and method (rpc_by_service), inside the operators per scope (operator_rpc_by_scope: stage, watch, head, snapshot, sweep, gauges), and idle requests per block before the burst; load.runs[].relayer_tx_per_s is the relayer's rate under that load, paced by proving (two transactions per job). Single runs spanning every transaction / job, not medians",
      batch: "bench/batch.ts, also written to bench/results/batch.json and batch.md: per demo model, one real proof of N jobs settled by fulfilBatchProof through the batch circuit's generated verifier (N = 1: today's fulfil); median of min(runs, 3) proofs per N; its own notes explain each figure",
      scaling: "bench/scaling.ts: seeded MLPs Gemm(16->w)+Relu+Gemm(w->4), median of min(runs, 3) proofs per width; verifyProof gas over circuits with 4..64 public instances; chart in bench/results/scaling.vl.json",
      noise: "shared machine: other work may run on the same cores; compare medians, not single runs",
    },
    models,
    system: {
      ...(relayer
        ? { relayer_tx_per_s: relayer.relayer_tx_per_s, relayer_nonce_errors: relayer.relayer_nonce_errors, relayer_capacity: relayer }
        : { relayer_capacity: { skipped: "relayer (--skip relayer)" } }),
      ...(load ? { evaluate_jobs_per_s: load.evaluate_burst?.jobs_per_s, load } : { load: { skipped: "load (--skip load)" } }),
    },
    batch: batch ?? { skipped: "batch (--skip batch)" },
    scaling: scaling
      ? {
          proving: scaling.proving.map(({ samples: _, ...p }) => p),
          gas: scaling.gas,
          gas_per_instance: scaling.gas_per_instance,
          demo: scaling.demo,
          files: ["bench/results/scaling.json", "bench/results/scaling.vl.json"],
        }
      : { skipped: "scaling (--skip scaling)" },
  };
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path.join(RESULTS_DIR, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  const md = markdown(report);
  await writeFile(path.join(RESULTS_DIR, "latest.md"), md);
  console.log(`\n${md}`);
  say(`wrote bench/results/latest.json and latest.md in ${secondsSince(started).toFixed(0)}s`);
}

try {
  await main();
  process.exit(0);
} catch (e) {
  console.error(`\x1b[31m[bench] failed:\x1b[0m ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
}
