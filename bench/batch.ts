// Batch settlement (issue 13): per demo model, gas per job and proving time per job when one proof settles N jobs
// (N = 1: today's single fulfil; N from model.json `benchBatch`, e.g. 8 and 32), with real proofs verified on-chain
// by each batch circuit's generated verifier through fulfilBatchProof. Batch circuits are built here on demand
// (content-addressed under .cache/zk like every circuit; `make test` never builds them), their verifiers compiled
// with solc-js (bench/scaling.ts) and deployed as raw bytecode on a `hardhat node` with the whole stack deployed.
//   tsx bench/batch.ts [--runs N] [--models a,b] [--markdown-only]  ->  bench/results/batch.json and batch.md
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { ContractFactory, type Signer } from "ethers";
import { z } from "zod";
import { DEMO_MODELS, withLocalStack, type LocalStack } from "../infra/localStack.js";
import { median, round } from "../infra/stats.js";
import { REPO_ROOT } from "../shared/paths.js";
import { IHalo2Verifier__factory, InferenceMarket__factory, ModelRegistry__factory, type InferenceMarket } from "../types/ethers-contracts/index.js";
import { ensureBatchCircuit, loadModelSpec, readInputRows, type BuiltCircuit } from "../zk/build/circuit.js";
import { MAX_CONTRACT_BYTES } from "../zk/build/verifier.js";
import { compileVerifier } from "../zk/build/verifierGas.js";
import { checkCircuitInput, circuitHashes } from "../zk/runtime/artifacts.js";
import { prove, type ProofResult } from "../zk/runtime/prover.js";
import { isMain, machineInfo, type MachineInfo } from "./machine.js";
import { slope } from "./scaling.js";

const RESULTS_DIR = path.join(REPO_ROOT, "bench", "results");
/** EIP-7825 (Osaka): no transaction may use more gas than this. */
export const TX_GAS_CAP = 2 ** 24;
const ETH = "0x0000000000000000000000000000000000000000";
const UNIT = 10n ** 18n;
const PRICE = 10n ** 15n;
const FULFILLED = 3n;

/** One batch size of one model. N = 1 is today's single-job path: the model's own circuit and `fulfil`. */
export interface BatchPoint {
  n: number;
  logrows: number;
  instances: number;
  proof_bytes: number;
  verifier_runtime_bytes: number;
  /** Freivalds' argument is off in every batch circuit (it would add gas and push the verifier past 24 KB). */
  freivalds: boolean;
  prove_s: number;
  prove_s_per_job: number;
  /** gasUsed of verifyProof(proof, instances) sent alone (includes the 21,000 base and calldata). */
  verifier_gas: number;
  /** gasUsed of fulfil (N = 1) or fulfilBatchProof settling N jobs. */
  fulfil_gas: number;
  fulfil_gas_per_job: number;
  samples: { prove_s: number[]; fulfil_gas: number[] };
}

export interface BatchModelResult {
  model: string;
  points: BatchPoint[];
  /** Gas of one more public instance in fulfilBatchProof, from the two largest batches (least squares). */
  gas_per_instance: number;
  /** The largest N whose fulfilBatchProof stays under TX_GAS_CAP, extrapolated with gas_per_instance. */
  max_n_under_tx_cap: number;
}

export interface BatchResult {
  generatedAt: string;
  machine: MachineInfo;
  runs: number;
  tx_gas_cap: number;
  models: BatchModelResult[];
  notes: Record<string, string>;
}

/** Up to `n` held-out (else calibration) rows the circuit accepts, cycled when there are fewer. */
async function jobRows(base: BuiltCircuit, n: number): Promise<number[][]> {
  const spec = base.spec;
  const held = spec.heldout
    ? z.object({ inputs: z.array(z.array(z.number())) }).parse(JSON.parse(await readFile(path.join(spec.dir, spec.heldout), "utf8"))).inputs
    : await readInputRows(path.join(spec.dir, spec.calibration ?? spec.sample), base.inputs.count, "rows");
  const ok = held.filter((row) => {
    try {
      checkCircuitInput(base, row, "row");
      return true;
    } catch {
      return false;
    }
  });
  return Array.from({ length: n }, (_, i) => ok[i % ok.length]!);
}

/** Creates and locks one ETH job per input (price PRICE, collateral 1 VDT); returns their ids. */
async function lockedJobs(market: InferenceMarket, operator: Signer, modelId: number, inputs: bigint[][]): Promise<bigint[]> {
  const ids: bigint[] = [];
  for (const input of inputs) {
    const req = { modelId, input, token: ETH, price: PRICE, collateral: UNIT, lockTimeout: 600n, timeout: 3600n, callback: ETH, callbackGasLimit: 0 };
    const receipt = (await (await market.createJob(req, { value: PRICE })).wait())!;
    const jobId = market.interface.parseLog(receipt.logs.find((l) => l.address === (market.target as string))!)!.args.jobId as bigint;
    await (await market.connect(operator).lock(jobId, await market.termsOf(jobId))).wait();
    ids.push(jobId);
  }
  return ids;
}

async function proofs(circuit: BuiltCircuit, input: number[], runs: number, say: (l: string) => void): Promise<ProofResult[]> {
  const out: ProofResult[] = [];
  for (let i = 0; i < runs; i++) {
    out.push(await prove(circuit, input));
    say(`  ${circuit.name}: proof ${i + 1}/${runs}: prove ${out.at(-1)!.timings.prove?.toFixed(2)}s`);
  }
  return out;
}

async function benchModel(stack: LocalStack, name: string, runs: number, say: (l: string) => void): Promise<BatchModelResult> {
  const { ethers } = stack.connection;
  const [admin, operator] = await ethers.getSigners();
  const market = InferenceMarket__factory.connect(stack.addresses.market, admin!);
  const registry = ModelRegistry__factory.connect(stack.addresses.registry, admin!);
  const { modelId, circuit: base } = stack.models[name]!;
  const spec = await loadModelSpec(name);
  const sizes = spec.benchBatch ?? [];
  const rows = await jobRows(base, Math.max(1, ...sizes));
  const points: BatchPoint[] = [];

  // N = 1: today's single fulfilment, the model's registered verifier.
  const singles = await proofs(base, rows[0]!, runs, say);
  const [singleVerifier] = await registry.layout(modelId);
  const fulfils: number[] = [];
  for (const p of singles) {
    const [jobId] = await lockedJobs(market, operator!, modelId, [p.instances.slice(0, base.inputs.count)]);
    fulfils.push(Number((await (await market.connect(operator!).fulfil(jobId!, p.proof, p.instances)).wait())!.gasUsed));
    if ((await market.jobOf(jobId!)).status !== FULFILLED) throw new Error(`${name}: job ${jobId} not fulfilled`);
  }
  const verifier = IHalo2Verifier__factory.connect(singleVerifier, admin!);
  points.push({
    n: 1,
    logrows: base.logrows,
    instances: singles[0]!.instances.length,
    proof_bytes: (singles[0]!.proof.length - 2) / 2,
    verifier_runtime_bytes: ((await ethers.provider.getCode(singleVerifier)).length - 2) / 2,
    freivalds: false,
    ...timesAndGas(singles, fulfils, 1),
    verifier_gas: Number((await (await verifier.verifyProof(singles[0]!.proof, singles[0]!.instances)).wait())!.gasUsed),
  });
  say(`  ${name} x1: fulfil ${fulfils.at(-1)} gas`);

  for (const n of sizes) {
    const batch = await ensureBatchCircuit(spec, n, { progress: (l) => say(`  ${l}`) });
    const settings = z.object({ run_args: z.object({ disable_freivalds: z.boolean().optional() }) }).parse(JSON.parse(await readFile(batch.file("settings.json"), "utf8")));
    const compiled = await compileVerifier(await readFile(batch.file("Verifier.sol"), "utf8"));
    if (compiled.runtimeBytes > MAX_CONTRACT_BYTES) throw new Error(`${batch.name}: verifier is ${compiled.runtimeBytes} bytes, over EIP-170's ${MAX_CONTRACT_BYTES}`);
    const deployed = await new ContractFactory(compiled.abi as never[], compiled.bytecode, admin).deploy();
    await deployed.waitForDeployment();
    const batchVerifier = IHalo2Verifier__factory.connect(await deployed.getAddress(), admin!);
    const { circuitHash, vkHash } = await circuitHashes(batch);
    await (await registry.registerBatch({ verifier: await deployed.getAddress(), baseModelId: modelId, slots: n, verifierKind: 0, revoked: false, circuitHash, vkHash, uri: `bench:${batch.name}` })).wait();
    const batchId = Number(await registry.batchCount());
    const ps = await proofs(batch, rows.slice(0, n).flat(), runs, say);
    const gas: number[] = [];
    for (const p of ps) {
      const inputs = Array.from({ length: n }, (_, k) => p.instances.slice(k * base.inputs.count, (k + 1) * base.inputs.count));
      const jobIds = await lockedJobs(market, operator!, modelId, inputs);
      const f = { batchId, jobIds, proof: p.proof, instances: p.instances, relayerFee: 0n, relayer: ETH, operator: await operator!.getAddress(), signature: "0x" };
      gas.push(Number((await (await market.connect(operator!).fulfilBatchProof(f)).wait())!.gasUsed));
      for (const id of jobIds) if ((await market.jobOf(id)).status !== FULFILLED) throw new Error(`${batch.name}: job ${id} not settled by fulfilBatchProof`);
    }
    points.push({
      n,
      logrows: batch.logrows,
      instances: ps[0]!.instances.length,
      proof_bytes: (ps[0]!.proof.length - 2) / 2,
      verifier_runtime_bytes: compiled.runtimeBytes,
      freivalds: settings.run_args.disable_freivalds !== true,
      ...timesAndGas(ps, gas, n),
      verifier_gas: Number((await (await batchVerifier.verifyProof(ps[0]!.proof, ps[0]!.instances)).wait())!.gasUsed),
    });
    say(`  ${name} x${n}: fulfilBatchProof ${median(gas)} gas (${Math.round(median(gas) / n)} per job), verifier ${compiled.runtimeBytes} bytes, logrows ${batch.logrows}`);
  }
  // Gas grows with the public instances (calldata, the verifier's per-instance work, per-slot settlement): the
  // slope over the measured batches, extrapolated from the largest one, gives the largest N under the cap.
  const batches = points.filter((p) => p.n > 1);
  const perInstance = batches.length > 1 ? slope(batches.map((p) => ({ x: p.instances, y: p.fulfil_gas }))) : Number.NaN;
  const last = batches.at(-1);
  const perJobInstances = base.inputs.count + base.outputs.count;
  const maxN = last && Number.isFinite(perInstance) ? last.n + Math.floor((TX_GAS_CAP - last.fulfil_gas) / (perInstance * perJobInstances)) : Number.NaN;
  return { model: name, points, gas_per_instance: round(perInstance, 1), max_n_under_tx_cap: maxN };
}

function timesAndGas(ps: ProofResult[], gas: number[], n: number): Pick<BatchPoint, "prove_s" | "prove_s_per_job" | "fulfil_gas" | "fulfil_gas_per_job" | "samples"> {
  const proveS = ps.map((p) => p.timings.prove ?? Number.NaN);
  return {
    prove_s: round(median(proveS), 3),
    prove_s_per_job: round(median(proveS) / n, 4),
    fulfil_gas: median(gas),
    fulfil_gas_per_job: Math.round(median(gas) / n),
    samples: { prove_s: proveS, fulfil_gas: gas },
  };
}

export async function benchBatch(opts: { runs?: number; models?: string[]; progress?: (l: string) => void } = {}): Promise<BatchResult> {
  const say = opts.progress ?? (() => undefined);
  const runs = opts.runs ?? 3;
  const machine = machineInfo();
  return withLocalStack("bench-batch", (l) => say(`  ${l}`), async ({ stack }) => {
    const models: BatchModelResult[] = [];
    for (const name of opts.models ?? DEMO_MODELS) models.push(await benchModel(stack, name, runs, say));
    return {
      generatedAt: new Date().toISOString(),
      machine,
      runs,
      tx_gas_cap: TX_GAS_CAP,
      models,
      notes: {
        chain: "`hardhat node` (EDR, the project's default hardfork: Osaka, with EIP-7825's 2^24 per-transaction gas cap), the whole stack deployed by Ignition as in make demo; batch verifiers registered with ModelRegistry.registerBatch for the model's registered base version",
        n1: "N = 1 is today's single fulfilment: the model's own circuit and verifier, InferenceMarket.fulfil by the lock holder",
        batch: "N > 1: the batch circuit (zk/build/circuit.ts ensureBatchCircuit: ONNX batch dimension fixed at N, base run args, logrows + ceil(log2 N), Freivalds off), its ezkl single verifier compiled with solc-js 0.8.30 (optimizer 200, no viaIR) and deployed as raw bytecode; one real proof of N held-out rows settles N locked jobs through fulfilBatchProof sent by the lock holder",
        prove_s: "median of `runs` ezkl.prove (witness excluded), one bridge process per proof; CPU; prove_s_per_job = prove_s / N",
        verifier_gas: "gasUsed of verifyProof(proof, instances) sent alone as a transaction: includes the 21,000 base cost and calldata",
        fulfil_gas: "median gasUsed of fulfil (N = 1) or fulfilBatchProof (N jobs, every slot a job, no relayer fee); fulfil_gas_per_job = fulfil_gas / N, all-in (verifier + settlement)",
        gas_per_instance: "least-squares slope of fulfilBatchProof gas over public instances across the measured batch sizes",
        max_n_under_tx_cap: "largest N with fulfil_gas(N_max) + gas_per_instance x (inputs + outputs per job) x (N - N_max) <= tx_gas_cap, extrapolated from the largest measured batch; proving time and logrows (SRS size) grow with N too",
        noise: "shared machine: other work may run on the same cores; time figures are medians, gas is deterministic",
      },
    };
  });
}

export function batchMarkdown(r: BatchResult): string {
  const m = r.machine;
  const lines = [
    `# Batch settlement: one proof for N jobs`,
    ``,
    `Medians of ${r.runs} proof(s) and fulfilment(s) per figure, ${r.generatedAt}. Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GB, load ${m.loadAverage1m}. N = 1 is today's single \`fulfil\`.`,
    ``,
    `| model | N | logrows | instances | proof (B) | verifier (B) | prove (s) | prove per job (s) | vs single | verifyProof gas | its share per job | fulfil gas | gas per job | vs single |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
  ];
  for (const model of r.models) {
    const one = model.points[0]!;
    for (const p of model.points) {
      lines.push(
        `| ${model.model} | ${p.n} | ${p.logrows} | ${p.instances} | ${p.proof_bytes.toLocaleString("en-US")} | ${p.verifier_runtime_bytes.toLocaleString("en-US")} | ${p.prove_s} | ${p.prove_s_per_job} | ${round(p.prove_s_per_job / one.prove_s_per_job, 3)} | ${p.verifier_gas.toLocaleString("en-US")} | ${Math.round(p.verifier_gas / p.n).toLocaleString("en-US")} | ${p.fulfil_gas.toLocaleString("en-US")} | ${p.fulfil_gas_per_job.toLocaleString("en-US")} | ${round(p.fulfil_gas_per_job / one.fulfil_gas_per_job, 3)} |`,
      );
    }
  }
  lines.push(``, `| model | gas per public instance | largest N under the ${r.tx_gas_cap.toLocaleString("en-US")} gas cap (estimate) |`, `|---|---:|---:|`);
  for (const model of r.models) lines.push(`| ${model.model} | ${model.gas_per_instance.toLocaleString("en-US")} | ${model.max_n_under_tx_cap} |`);
  lines.push(
    ``,
    `The largest N is a gas bound only: model.json accepts N <= 64, and each doubling of N adds a logrow (a larger SRS, about twice the proving time and memory). "its share per job" is verifyProof gas / N (it includes one 21,000 base and the calldata): the rest of the gas per job is settlement.`,
  );
  lines.push(``, `Targets (issue 13): <= 60k gas per job at N = 32 for the demo MLPs; single-job verifier <= 420k and fulfil <= 500k gas; proving time per job at N = 32 <= 1/8 of a single proof's.`, ``);
  return lines.join("\n");
}

export async function writeBatchResults(r: BatchResult): Promise<void> {
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path.join(RESULTS_DIR, "batch.json"), `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(path.join(RESULTS_DIR, "batch.md"), batchMarkdown(r));
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "3" }, models: { type: "string", default: "" }, "markdown-only": { type: "boolean", default: false } } });
  if (values["markdown-only"]) {
    // Re-renders batch.md from the committed batch.json (no measuring).
    const saved = JSON.parse(await readFile(path.join(RESULTS_DIR, "batch.json"), "utf8")) as BatchResult;
    await writeBatchResults(saved);
    process.exit(0);
  }
  process.env.VERDICT_QUIET ??= "1";
  const say = (l: string) => console.log(`\x1b[36m[batch]\x1b[0m ${l}`);
  const result = await benchBatch({ runs: Number(values.runs), models: values.models ? values.models.split(",") : undefined, progress: say });
  await writeBatchResults(result);
  console.log(batchMarkdown(result));
  say("wrote bench/results/batch.json and batch.md");
  process.exit(0);
}
