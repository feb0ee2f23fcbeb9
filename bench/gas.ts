// `make bench` (settlement gas): what the market adds to a real ezkl verifier, for each way to settle, with the
// spike model's real verifiers and real proofs on Hardhat's in-process chain -> bench/results/gas.{json,md}.
// Settlement overhead = a fulfilment's execution gas (total - 21,000 intrinsic - calldata) less the execution gas of
// the same proof's verification sent to the verifier alone. Issue 13 targets: <= 90k for a single job (signed or
// not), <= 40k per job in a batch of 32.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { getBytes, type Signer, type TransactionResponse } from "ethers";
import { network } from "hardhat";
import { VerdictLocal } from "../deploy/modules/Verdict.js";
import { FULFIL_BATCH_TYPES, FULFIL_TYPES, marketDomain } from "../shared/eip712.js";
import { REPO_ROOT } from "../shared/paths.js";
import {
  DemoToken__factory,
  InferenceMarket__factory,
  ModelRegistry__factory,
  OperatorStaking__factory,
  SpikeVerifier__factory,
  SpikeX4Verifier__factory,
} from "../types/ethers-contracts/index.js";
import { ensureBatchCircuit, ensureCircuit, loadModelSpec } from "../zk/build/circuit.js";
import { circuitHashes } from "../zk/runtime/artifacts.js";
import { prove, type ProofResult } from "../zk/runtime/prover.js";
import { isMain } from "./machine.js";

const SLOTS = 4; // the spike model's batch circuit (contracts/generated/SpikeX4Verifier.sol)
const BATCH_SIZES = [1, 8, 32];
const ROWS = [
  [0.5, -1, 0.25],
  [-0.5, 0.75, 1],
  [0.1, 0.2, -0.3],
  [0.3, -0.2, 0.6],
];
const PRICE = 10n ** 16n;
const COLLATERAL = 10n ** 18n;
const TARGET = { single: 90_000, per_job_in_batch_of_32: 40_000 };

/** Gas of one settlement: the transaction's total, its execution (less intrinsic and calldata), and the part of
 * the execution that is the market's own (less `verifications` x the verifier's execution gas), per job. */
export interface SettlementGas {
  jobs: number;
  total_per_job: number;
  execution_per_job: number;
  overhead_per_job: number;
}

export interface GasReport {
  generatedAt: string;
  model: string;
  hardfork: string;
  verifier_execution_gas: number;
  batch_verifier_execution_gas: number;
  fulfil: SettlementGas;
  fulfilWithSignature: SettlementGas;
  fulfilBatch: SettlementGas[];
  fulfilBatchProof: SettlementGas & { slots: number };
  targets: typeof TARGET;
  definitions: Record<string, string>;
}

const calldataGas = (data: string) => getBytes(data).reduce((sum, b) => sum + (b === 0 ? 4 : 16), 0);

/** [total, execution] gas of a mined transaction. */
async function gasOf(sent: Promise<TransactionResponse>): Promise<[number, number]> {
  const tx = await sent;
  const total = Number((await tx.wait())!.gasUsed);
  return [total, total - 21_000 - calldataGas(tx.data)];
}

function settlement([total, exec]: [number, number], jobs: number, verifications: number, verifierExec: number): SettlementGas {
  return {
    jobs,
    total_per_job: Math.round(total / jobs),
    execution_per_job: Math.round(exec / jobs),
    overhead_per_job: Math.round((exec - verifications * verifierExec) / jobs),
  };
}

export async function benchGas(log: (line: string) => void = () => undefined): Promise<GasReport> {
  const spec = await loadModelSpec("spike");
  const base = await ensureCircuit(spec);
  const batch = await ensureBatchCircuit(spec, SLOTS);
  log("proving one single-job proof and one 4-slot batch proof (real ezkl)");
  const single: ProofResult = await prove(base, ROWS[0]!);
  const batched: ProofResult = await prove(batch, ROWS.flat());

  const conn = await network.connect();
  const { ethers } = conn;
  const [admin, requester, operator, relayer] = await ethers.getSigners();
  if (!admin || !requester || !operator || !relayer) throw new Error("the in-process chain has fewer than 4 accounts");
  const deployed = await conn.ignition.deploy(VerdictLocal);
  const at = async <T>(factory: { connect(address: string, runner: Signer): T }, c: { getAddress(): Promise<string> }) =>
    factory.connect(await c.getAddress(), admin);
  const token = await at(DemoToken__factory, deployed.token);
  const registry = await at(ModelRegistry__factory, deployed.registry);
  const staking = await at(OperatorStaking__factory, deployed.staking);
  const market = await at(InferenceMarket__factory, deployed.market);
  const operatorAddress = await operator.getAddress();
  await token.mint(operator, 1000n * 10n ** 18n);
  await token.connect(operator).approve(staking, ethers.MaxUint256);
  await staking.connect(operator).stake(500n * 10n ** 18n);

  const verifier = await new SpikeVerifier__factory(admin).deploy();
  const batchVerifier = await new SpikeX4Verifier__factory(admin).deploy();
  const layout = { inputCount: base.inputs.count, outputCount: base.outputs.count, inputScale: base.inputs.scale, outputScale: base.outputs.scale };
  await registry.register({ verifier: await verifier.getAddress(), ...layout, status: 0, verifierKind: 0, ...(await circuitHashes(base)), uri: "models/spike" });
  const modelId = await registry.modelCount();
  await registry.registerBatch({ verifier: await batchVerifier.getAddress(), baseModelId: modelId, slots: SLOTS, verifierKind: 0, revoked: false, ...(await circuitHashes(batch)), uri: "models/spike#x4" });
  const batchId = await registry.batchCount();

  const verifierExec = (await gasOf(admin.sendTransaction({ to: verifier, data: verifier.interface.encodeFunctionData("verifyProof", [single.proof, single.instances]) })))[1];
  const batchVerifierExec = (await gasOf(admin.sendTransaction({ to: batchVerifier, data: batchVerifier.interface.encodeFunctionData("verifyProof", [batched.proof, batched.instances]) })))[1];

  const lockedJob = async (input: bigint[]) => {
    const r = { modelId, input, token: ethers.ZeroAddress, price: PRICE, collateral: COLLATERAL, lockTimeout: 600n, timeout: 3600n, callback: ethers.ZeroAddress, callbackGasLimit: 0 };
    await (await market.connect(requester).createJob(r, { value: PRICE })).wait();
    const jobId = await market.jobCount();
    await (await market.connect(operator).lock(jobId, await market.termsOf(jobId))).wait();
    return jobId;
  };
  const singleInput = single.instances.slice(0, base.inputs.count);
  const domain = marketDomain((await ethers.provider.getNetwork()).chainId, await market.getAddress());
  const signed = async (jobId: bigint) => {
    const value = { jobId, proof: single.proof, instances: single.instances, relayerFee: 0n, relayer: ethers.ZeroAddress };
    return { ...value, signature: await operator.signTypedData(domain, FULFIL_TYPES, value) };
  };

  // A first settlement warms the operator's balance and the solvency counters, as in steady state.
  await (await market.connect(operator).fulfil(await lockedJob(singleInput), single.proof, single.instances)).wait();
  log("fulfil, fulfilWithSignature");
  const fulfil = settlement(await gasOf(market.connect(operator).fulfil(await lockedJob(singleInput), single.proof, single.instances)), 1, 1, verifierExec);
  const fulfilWithSignature = settlement(await gasOf(market.connect(relayer).fulfilWithSignature(await signed(await lockedJob(singleInput)))), 1, 1, verifierExec);

  const fulfilBatch: SettlementGas[] = [];
  for (const n of BATCH_SIZES) {
    log(`fulfilBatch of ${n} (one real proof each)`);
    const auths = [];
    for (let i = 0; i < n; i++) auths.push(await signed(await lockedJob(singleInput)));
    fulfilBatch.push(settlement(await gasOf(market.connect(relayer).fulfilBatch(auths)), n, n, verifierExec));
  }

  log(`fulfilBatchProof of ${SLOTS} jobs (one real batch proof)`);
  const jobIds: bigint[] = [];
  for (let k = 0; k < SLOTS; k++) jobIds.push(await lockedJob(batched.instances.slice(k * base.inputs.count, (k + 1) * base.inputs.count)));
  const f = { batchId, jobIds, proof: batched.proof, instances: batched.instances, relayerFee: 0n, relayer: ethers.ZeroAddress };
  const signature = await operator.signTypedData(domain, FULFIL_BATCH_TYPES, f);
  const proofBatch = settlement(await gasOf(market.connect(relayer).fulfilBatchProof({ ...f, operator: operatorAddress, signature })), SLOTS, 1, batchVerifierExec);

  return {
    generatedAt: new Date().toISOString(),
    model: "spike",
    hardfork: String(conn.networkConfig.type === "edr-simulated" ? conn.networkConfig.hardfork : "unknown"),
    verifier_execution_gas: verifierExec,
    batch_verifier_execution_gas: batchVerifierExec,
    fulfil,
    fulfilWithSignature,
    fulfilBatch,
    fulfilBatchProof: { ...proofBatch, slots: SLOTS },
    targets: TARGET,
    definitions: {
      execution: "transaction gasUsed - 21,000 intrinsic - calldata (4 per zero byte, 16 per other byte)",
      overhead: "execution less the verifier's execution gas for the same proofs (sent to the verifier alone): what the market's settlement costs",
      fulfilBatchProof: `one real proof of the spike model's ${SLOTS}-slot batch circuit; test/market/market.gas.test.ts measures 32 slots with a verifier that costs nothing`,
    },
  };
}

const n = (v: number) => v.toLocaleString("en");

export function gasMarkdown(r: GasReport): string {
  const row = (name: string, g: SettlementGas, target: number) =>
    `| ${name} | ${g.jobs} | ${n(g.total_per_job)} | ${n(g.execution_per_job)} | ${n(g.overhead_per_job)} | ${n(target)} |`;
  return [
    `# Settlement gas (${r.model}, ${r.hardfork}, ${r.generatedAt})`,
    "",
    `Verifier execution gas: ${n(r.verifier_execution_gas)} (single), ${n(r.batch_verifier_execution_gas)} (${r.fulfilBatchProof.slots}-slot batch).`,
    "Per job: transaction total, execution (total - 21,000 - calldata), settlement overhead (execution - verifier execution).",
    "",
    "| settlement | jobs | total | execution | overhead | overhead target |",
    "|---|---:|---:|---:|---:|---:|",
    row("fulfil", r.fulfil, r.targets.single),
    row("fulfilWithSignature", r.fulfilWithSignature, r.targets.single),
    ...r.fulfilBatch.map((g) => row(`fulfilBatch (signed, one proof each)`, g, r.targets.per_job_in_batch_of_32)),
    row("fulfilBatchProof (one batch proof)", r.fulfilBatchProof, r.targets.per_job_in_batch_of_32),
    "",
  ].join("\n");
}

// `tsx bench/gas.ts`: writes bench/results/gas.json and gas.md.
if (isMain(import.meta.url)) {
  const say = (l: string) => console.log(`\x1b[36m[gas]\x1b[0m ${l}`);
  const report = await benchGas(say);
  const dir = path.join(REPO_ROOT, "bench", "results");
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "gas.json"), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(dir, "gas.md"), gasMarkdown(report));
  console.log(gasMarkdown(report));
  say("wrote bench/results/gas.json and gas.md");
  process.exit(0);
}
