// The requester SDK: one typed client over a Verdict deployment. It lists models (layout, scales, the inputs
// their circuits take), encodes float inputs into felts, posts jobs (ETH or ERC20), waits for and decodes results,
// re-verifies a settled job by eth_call, and reads which operators served a model recently. The `verdict` CLI's
// job commands are built on it. See README "SDK" and docs/integration.md.
import { NonceManager, ZeroAddress, type ContractTransactionReceipt, type ContractTransactionResponse, type JsonRpcProvider, type Signer, type TransactionResponse } from "ethers";
import { JOB_STATUSES, JobStatus, MODEL_STATUSES, VERIFIER_KINDS, type JobStatusName, type ModelStatusName } from "../shared/enums.js";
import { connect as connectChain, DEFAULT_RPC_URL, deployment, type Deployment } from "../shared/chain.js";
import { VerdictError } from "../shared/errors.js";
import { isRevert } from "../shared/rpcErrors.js";
import {
  DemoToken__factory,
  IHalo2Verifier__factory,
  InferenceMarket__factory,
  ModelRegistry__factory,
  OperatorStaking__factory,
  type InferenceMarket,
  type ModelRegistry,
  type OperatorStaking,
} from "../types/ethers-contracts/index.js";
import { calibrationGap, checkCircuitInput, type CircuitManifest } from "../zk/runtime/artifacts.js";
import { fetchManifest } from "../zk/runtime/bundle.js";
import { feltToFloat, floatToFelt } from "../zk/runtime/felt.js";
import { decodeFulfilment } from "./fulfilment.js";
import { inRanges, resolveRange, type BlockRange } from "./logs.js";

export type { JobStatusName } from "../shared/enums.js";
/** Job records read in parallel by list scans. */
const JOB_READS_IN_FLIGHT = 20;
/** The statuses after which a job never changes. */
export const FINAL_STATUSES: readonly JobStatusName[] = ["Fulfilled", "Slashed", "Refunded"];

export interface ConnectOptions {
  /** JSON-RPC URL (default VERDICT_RPC_URL, else http://127.0.0.1:8545). */
  rpcUrl?: string;
  /** Signs jobs and payouts; else `privateKey`; else the node's account 0 (local development chains only). */
  signer?: Signer;
  privateKey?: string;
  /** Folder of chain-<id>/deployed_addresses.json (default VERDICT_DEPLOYMENTS_DIR, else deploy/deployments). */
  deploymentsDir?: string;
  /** Data directory whose installed bundles are read before fetching (default: none; fetch from the URI). */
  home?: string;
}

/** A registered model version as a requester needs it. */
export interface ModelInfo {
  id: number;
  status: ModelStatusName;
  verifierKind: (typeof VERIFIER_KINDS)[number];
  verifier: string;
  /** Input felts a job carries, and the fixed-point scale they are encoded at (value = felt / 2^scale). */
  inputs: { count: number; scale: number };
  outputs: { count: number; scale: number };
  /** Bundle URI: where the model's files (and the manifest: the inputs its circuit takes) are published. */
  uri: string;
  onnxHash: string;
  circuitHash: string;
  vkHash: string;
}

/** A job's on-chain record. Amounts are base units of the job's token (wei for ETH). Times are unix seconds. */
export interface JobInfo {
  jobId: bigint;
  status: JobStatusName;
  modelId: number;
  requester: string;
  /** address(0) until locked. */
  operator: string;
  /** address(0) for ETH. */
  token: string;
  price: bigint;
  collateral: bigint;
  createdAt: number;
  lockDeadline: number;
  deadline: number;
  finalizedAt: number;
  callback: string;
}

export interface CreateJobRequest {
  modelId: number | bigint;
  /** Floats (encoded at the model's input scale) or felts already encoded. */
  input: readonly number[] | readonly bigint[];
  /** In base units of `token` (wei for ETH). */
  price: bigint;
  /** address(0) or undefined for ETH; else an ERC20 the market allows (approved here when the allowance is short). */
  token?: string;
  /** Operator stake reserved while locked, in base units of the staking token; slashed on a missed deadline. */
  collateral: bigint;
  /** Seconds from creation an operator has to lock the job. */
  lockTimeout: number | bigint;
  /** Seconds from creation to the deadline (> lockTimeout, <= the market's maxJobDuration). */
  timeout: number | bigint;
  /** IInferenceConsumer told of the result (see contracts/consumers/VerdictConsumer.sol). */
  callback?: string;
  /** Gas for the callback (0 without one). */
  callbackGasLimit?: number;
  /**
   * Check float inputs against what the model's circuit can take first (default true): the count, NaN/Infinity
   * and each value's quantised size against the circuit's input range check (`checkInput`). Operators skip a job
   * whose input their circuit cannot prove; it would sit until its lock deadline and then be refundable.
   */
  checkRange?: boolean;
  /** Told (before posting) when an input lies outside the model's calibrated range: allowed, but less tested. */
  onWarning?: (message: string) => void;
}

export interface CreatedJob {
  jobId: bigint;
  lockDeadline: number;
  deadline: number;
  txHash: string;
}

/** Decoded outputs of a fulfilled job. */
export interface JobResult {
  jobId: bigint;
  /** Floats: raw / 2^scale. */
  outputs: number[];
  /** Signed fixed-point integers as the contract stores them. */
  raw: bigint[];
  scale: number;
  finalizedAt: number;
}

/** The fulfilment transaction of a settled job and the proof and instances it carried. */
export interface Fulfilment {
  tx: TransactionResponse;
  proof: string;
  instances: bigint[];
  gasUsed: bigint;
}

export interface WaitOptions {
  /** Give up after this long (default: until the job's deadline plus `graceSeconds`, by the chain's clock). */
  timeoutMs?: number;
  /** Seconds waited past the deadline when no timeout is given (default 120). */
  graceSeconds?: number;
  pollMs?: number;
}

/** One operator's record on one model over a block range, from chain events and job records. */
export interface OperatorStats {
  operator: string;
  modelId: number;
  /** Jobs this operator locked in the range. */
  locked: number;
  fulfilled: number;
  slashed: number;
  /** Locked and not final yet. */
  pending: number;
  /** fulfilled / (fulfilled + slashed); undefined before any job settled. */
  successRate?: number;
  /** Median price of the jobs it fulfilled, per payment token (address(0) = ETH), in base units. */
  medianPrice: Record<string, bigint>;
  /** Median seconds from job creation to fulfilment. */
  medianLatencySeconds?: number;
}

const median = (xs: number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const medianBig = (xs: bigint[]): bigint => {
  const s = [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return s[Math.floor((s.length - 1) / 2)]!;
};

/** A typed client of one Verdict deployment. `close()` it to let the process exit. */
export class VerdictClient {
  readonly market: InferenceMarket;
  readonly registry: ModelRegistry;
  readonly staking: OperatorStaking;

  constructor(
    readonly provider: JsonRpcProvider,
    /** Sends every transaction (a NonceManager: back-to-back sends get consecutive nonces). */
    readonly signer: Signer,
    readonly chainId: bigint,
    readonly addresses: Deployment,
    readonly home?: string,
  ) {
    this.market = InferenceMarket__factory.connect(addresses.market, signer);
    this.registry = ModelRegistry__factory.connect(addresses.registry, signer);
    this.staking = OperatorStaking__factory.connect(addresses.staking, signer);
  }

  /** Connects to the deployment on the chain at `rpcUrl` (addresses from its deployments file). */
  static async connect(o: ConnectOptions = {}): Promise<VerdictClient> {
    const chain = await connectChain(o.rpcUrl ?? process.env.VERDICT_RPC_URL ?? DEFAULT_RPC_URL, o.signer ? undefined : o.privateKey);
    try {
      const signer = o.signer ? o.signer.connect(chain.provider) : chain.signer;
      return new VerdictClient(chain.provider, signer instanceof NonceManager ? signer : new NonceManager(signer), chain.chainId, await deployment(chain.chainId, o.deploymentsDir), o.home);
    } catch (e) {
      chain.provider.destroy();
      throw e;
    }
  }

  close(): void {
    this.provider.destroy();
  }

  address(): Promise<string> {
    return this.signer.getAddress();
  }

  /** The chain's clock (a local chain may have been moved forward of the wall clock). */
  async now(): Promise<number> {
    const block = await this.provider.getBlock("latest");
    if (!block) throw new VerdictError("RPC_ERROR", "the node returned no latest block", undefined, true);
    return block.timestamp;
  }

  // ---- models ----

  async model(id: number | bigint): Promise<ModelInfo> {
    const v = await this.registry.model(id);
    if (Number(v.status) === 0) throw new VerdictError("UNKNOWN_MODEL", `model ${id} is not registered on chain ${this.chainId}`, "verdict model list");
    return {
      id: Number(id),
      status: MODEL_STATUSES[Number(v.status)]!,
      verifierKind: VERIFIER_KINDS[Number(v.verifierKind)]!,
      verifier: v.verifier,
      inputs: { count: Number(v.inputCount), scale: Number(v.inputScale) },
      outputs: { count: Number(v.outputCount), scale: Number(v.outputScale) },
      uri: v.uri,
      onnxHash: v.onnxHash,
      circuitHash: v.circuitHash,
      vkHash: v.vkHash,
    };
  }

  /** Every registered model version (ids start at 1), deprecated ones included. */
  async models(): Promise<ModelInfo[]> {
    const count = Number(await this.registry.modelCount());
    return Promise.all(Array.from({ length: count }, (_, i) => this.model(i + 1)));
  }

  /** The model's bundle manifest: input bound, calibrated range per feature, circuit size (fetched without the keys). */
  async manifest(id: number | bigint, from?: string): Promise<CircuitManifest> {
    return fetchManifest((await this.model(id)).uri, { home: this.home, from });
  }

  /**
   * The requester's side of the rule operators apply before they lock (README "Which inputs a model takes"):
   * refuses (INPUT_SHAPE_MISMATCH, BAD_INPUT, INPUT_OUT_OF_RANGE) an input no proof of the model's circuit can
   * carry, from the bundle manifest's input bound, in TypeScript alone. Returns a warning when the input lies
   * outside the calibrated range: allowed, but the circuit's accuracy was not checked there. An operator also
   * generates a witness, which can still refuse an input whose values overflow inside the model.
   */
  async checkInput(modelId: number | bigint, values: readonly number[], from?: string): Promise<string | undefined> {
    const manifest = await this.manifest(modelId, from);
    checkCircuitInput(manifest, values, "input");
    const gap = calibrationGap(manifest, values);
    return gap && `input ${gap}: the circuit takes it, but its accuracy was only checked inside that range`;
  }

  /**
   * Encodes float inputs into felts at the model's input scale (round half away from zero, negatives as r - |v|),
   * after checking their count and, unless `checkRange` is false, what the circuit can take (`checkInput`).
   */
  async encodeInput(modelId: number | bigint, values: readonly number[], o: { checkRange?: boolean; from?: string; onWarning?: (message: string) => void } = {}): Promise<bigint[]> {
    const m = await this.model(modelId);
    if (values.length !== m.inputs.count) throw new VerdictError("INPUT_SHAPE_MISMATCH", `model ${modelId} takes ${m.inputs.count} inputs, got ${values.length}`);
    if (o.checkRange ?? true) {
      const warning = await this.checkInput(modelId, values, o.from);
      if (warning) o.onWarning?.(warning);
    }
    return values.map((v) => floatToFelt(v, m.inputs.scale));
  }

  /** Decodes felts (e.g. a job's instances) at `scale`. */
  static decode(felts: readonly bigint[], scale: number): number[] {
    return felts.map((f) => feltToFloat(f, scale));
  }

  // ---- jobs ----

  /**
   * Posts a job and escrows its price: ETH as msg.value, or an ERC20 approved to the market first. Simulated
   * first, so a bad request fails with the contract's custom error before any gas is spent.
   */
  async createJob(r: CreateJobRequest): Promise<CreatedJob> {
    const floats = r.input.length > 0 && typeof r.input[0] === "number";
    const input = floats ? await this.encodeInput(r.modelId, r.input as number[], { checkRange: r.checkRange, onWarning: r.onWarning }) : [...(r.input as bigint[])];
    const token = r.token ?? ZeroAddress;
    const request = {
      modelId: r.modelId,
      input,
      token,
      price: r.price,
      collateral: r.collateral,
      lockTimeout: BigInt(r.lockTimeout),
      timeout: BigInt(r.timeout),
      callback: r.callback ?? ZeroAddress,
      callbackGasLimit: r.callback ? (r.callbackGasLimit ?? 200_000) : 0,
    };
    const value = token === ZeroAddress ? r.price : 0n;
    if (token !== ZeroAddress) await this.ensureAllowance(token, this.addresses.market, r.price);
    await this.market.createJob.staticCall(request, { value });
    const receipt = await mined(this.market.createJob(request, { value }));
    const ev = receipt.logs.map((l) => this.market.interface.parseLog(l)).find((l) => l?.name === "JobCreated");
    if (!ev) throw new VerdictError("NO_EVENT", `transaction ${receipt.hash} emitted no JobCreated`);
    return { jobId: ev.args.jobId as bigint, lockDeadline: Number(ev.args.lockDeadline), deadline: Number(ev.args.deadline), txHash: receipt.hash };
  }

  /** Lets `spender` pull `amount` of the ERC20 `token` from the signer, approving only when the allowance is short. */
  async ensureAllowance(token: string, spender: string, amount: bigint): Promise<void> {
    const erc20 = DemoToken__factory.connect(token, this.signer); // its ERC20 subset only
    const owner = await this.address();
    const balance = await erc20.balanceOf(owner);
    if (balance < amount) throw new VerdictError("INSUFFICIENT_TOKENS", `${owner} holds ${balance} base units of ${token}, needs ${amount}`, `fund it with the token at ${token}`);
    if ((await erc20.allowance(owner, spender)) < amount) await mined(erc20.approve(spender, amount));
  }

  async job(jobId: bigint | number | string): Promise<JobInfo> {
    const id = BigInt(jobId);
    const j = await this.market.jobOf(id).catch((e: unknown) => {
      if (isRevert(e)) throw new VerdictError("UNKNOWN_JOB", `job ${id} does not exist on chain ${this.chainId}`);
      throw e;
    });
    if (Number(j.status) === JobStatus.None) throw new VerdictError("UNKNOWN_JOB", `job ${id} does not exist on chain ${this.chainId}`);
    return {
      jobId: id,
      status: JOB_STATUSES[Number(j.status)]!,
      modelId: Number(j.modelId),
      requester: j.requester,
      operator: j.operator,
      token: j.token,
      price: j.price,
      collateral: j.collateral,
      createdAt: Number(j.createdAt),
      lockDeadline: Number(j.lockDeadline),
      deadline: Number(j.deadline),
      finalizedAt: Number(j.finalizedAt),
      callback: j.callback,
    };
  }

  /** Waits until the job is final (Fulfilled, Slashed or Refunded) and returns it; throws TIMEOUT otherwise. */
  async waitForFinal(jobId: bigint | number | string, o: WaitOptions = {}): Promise<JobInfo> {
    let job = await this.job(jobId);
    const timeoutMs = o.timeoutMs ?? Math.max(0, job.deadline + (o.graceSeconds ?? 120) - (await this.now())) * 1000;
    const until = Date.now() + timeoutMs;
    while (!FINAL_STATUSES.includes(job.status)) {
      if (Date.now() >= until) {
        const now = await this.now();
        const hint =
          job.status === "Locked" && now > job.deadline
            ? `its deadline has passed unfulfilled: \`verdict job slash ${job.jobId}\` refunds you and slashes the operator`
            : job.status === "Open" && now > job.lockDeadline
              ? `nobody locked it in time: \`verdict job refund ${job.jobId}\``
              : `verdict job status ${job.jobId}`;
        throw new VerdictError("TIMEOUT", `job ${job.jobId} is still ${job.status} after ${Math.round(timeoutMs / 1000)} s`, hint, true);
      }
      await new Promise((r) => setTimeout(r, Math.min(o.pollMs ?? 1000, Math.max(1, until - Date.now()))));
      job = await this.job(jobId);
    }
    return job;
  }

  /** Waits for the job and returns its decoded result; a job that ends Slashed or Refunded throws JOB_SLASHED / JOB_REFUNDED. */
  async waitForResult(jobId: bigint | number | string, o: WaitOptions = {}): Promise<JobResult> {
    const job = await this.waitForFinal(jobId, o);
    if (job.status !== "Fulfilled") throw new VerdictError(`JOB_${job.status.toUpperCase()}`, `job ${job.jobId} ended ${job.status}: no result`, "your escrow is refunded: `verdict withdraw`");
    return this.result(job.jobId);
  }

  /** The verified outputs of a fulfilled job, decoded at the model's output scale. */
  async result(jobId: bigint | number | string): Promise<JobResult> {
    const id = BigInt(jobId);
    const job = await this.job(id);
    if (job.status !== "Fulfilled") throw new VerdictError("NOT_FULFILLED", `job ${id} is ${job.status}, not Fulfilled`, `verdict job wait ${id}`);
    const [outputs, scale, finalizedAt] = await this.market.resultOf(id);
    return { jobId: id, outputs: outputs.map((x) => Number(x) / 2 ** Number(scale)), raw: [...outputs], scale: Number(scale), finalizedAt: Number(finalizedAt) };
  }

  /** Finds the transaction that settled the job and the proof and instances it carried (fulfil, fulfilWithSignature or fulfilBatch). */
  async fulfilment(jobId: bigint | number | string, range: BlockRange = {}): Promise<Fulfilment> {
    const id = BigInt(jobId);
    const job = await this.job(id);
    // The fulfilment is mined after the job's creation: scan from the last block before it, in bounded windows.
    const fromBlock = range.fromBlock ?? (await this.blockAtOrBefore(job.createdAt - 1));
    const { from, to, step } = resolveRange({ ...range, fromBlock }, await this.provider.getBlockNumber());
    const events = await inRanges(from, to, step, (a, b) => this.market.queryFilter(this.market.filters.JobFulfilled(id), a, b));
    const event = events[0];
    if (!event) throw new VerdictError("NOT_FULFILLED", `job ${id} has no fulfilment on this chain`, `verdict job wait ${id}`);
    const [tx, receipt] = await Promise.all([event.getTransaction(), event.getTransactionReceipt()]);
    const auth = decodeFulfilment(tx.data, id);
    if (!auth) throw new VerdictError("UNKNOWN_FULFILMENT", `transaction ${tx.hash} is not a market fulfilment call (relayed through another contract?)`);
    return { tx, proof: auth.proof, instances: auth.instances, gasUsed: receipt.gasUsed };
  }

  /**
   * Re-checks a settled job's proof by eth_call against the model's registered verifier. Only a revert means
   * invalid: an RPC failure throws, it is never a verdict on the proof.
   */
  async verify(jobId: bigint | number | string): Promise<{ valid: boolean; verifier: string; fulfilment: Fulfilment; seconds: number }> {
    const job = await this.job(jobId);
    const model = await this.model(job.modelId);
    const fulfilment = await this.fulfilment(job.jobId);
    const verifier = IHalo2Verifier__factory.connect(model.verifier, this.provider);
    const t0 = performance.now();
    const valid = await verifier.verifyProof.staticCall(fulfilment.proof, fulfilment.instances).catch((e: unknown) => {
      if (isRevert(e)) return false;
      throw e;
    });
    return { valid, verifier: model.verifier, fulfilment, seconds: (performance.now() - t0) / 1000 };
  }

  /** Refunds a job nobody locked before its lock deadline (anyone may call; the requester is credited). */
  async refund(jobId: bigint | number | string): Promise<{ amount: bigint; txHash: string }> {
    const receipt = await this.simulateAndSend(() => this.market.refund.staticCall(BigInt(jobId)), () => this.market.refund(BigInt(jobId)));
    const ev = this.event(receipt, "JobRefunded");
    return { amount: ev.args.amount as bigint, txHash: receipt.hash };
  }

  /** Slashes a locked job past its deadline (anyone may call): the requester is refunded plus part of the collateral. */
  async slash(jobId: bigint | number | string): Promise<{ operator: string; collateral: bigint; refund: bigint; txHash: string }> {
    const receipt = await this.simulateAndSend(() => this.market.slash.staticCall(BigInt(jobId)), () => this.market.slash(BigInt(jobId)));
    const ev = this.event(receipt, "JobSlashed");
    return { operator: ev.args.operator as string, collateral: ev.args.collateral as bigint, refund: ev.args.refund as bigint, txHash: receipt.hash };
  }

  /** Withdrawable market balances of `account` (default: the signer) in ETH (address(0)) and each of `tokens`. */
  async balances(tokens: readonly string[], account?: string): Promise<{ token: string; amount: bigint }[]> {
    const who = account ?? (await this.address());
    return Promise.all(tokens.map(async (token) => ({ token, amount: await this.market.balanceOf(who, token) })));
  }

  /** Pays out the signer's market balance in `token` (address(0) for ETH). */
  async withdraw(token: string): Promise<{ token: string; amount: bigint; txHash: string }> {
    const receipt = await this.simulateAndSend(() => this.market.withdraw.staticCall(token), () => this.market.withdraw(token));
    return { token, amount: this.event(receipt, "Withdrawal").args.amount as bigint, txHash: receipt.hash };
  }

  /** Slash compensation owed to `account` (default: the signer) by OperatorStaking, in base units of the staking token. */
  async slashCredit(account?: string): Promise<bigint> {
    return this.staking.slashCredits(account ?? (await this.address()));
  }

  /** Pays out the signer's slash compensation (its share of slashed collateral) from OperatorStaking. */
  async claimSlashed(): Promise<{ token: string; amount: bigint; txHash: string }> {
    const receipt = await this.simulateAndSend(() => this.staking.claimSlashed.staticCall(), () => this.staking.claimSlashed());
    const ev = receipt.logs.map((l) => this.staking.interface.parseLog(l)).find((l) => l?.name === "SlashClaimed");
    if (!ev) throw new VerdictError("NO_EVENT", `transaction ${receipt.hash} emitted no SlashClaimed`);
    return { token: await this.staking.stakeToken(), amount: ev.args.amount as bigint, txHash: receipt.hash };
  }

  /** Jobs created in a block range, optionally only `requester`'s or one model's, with their current records. */
  async jobs(o: BlockRange & { requester?: string; modelId?: number } = {}): Promise<(JobInfo & { createdBlock: number })[]> {
    const { from, to, step } = resolveRange(o, await this.provider.getBlockNumber());
    const filter = this.market.filters.JobCreated(undefined, o.requester, o.modelId);
    const events = await inRanges(from, to, step, (a, b) => this.market.queryFilter(filter, a, b));
    const jobs = await this.jobsById(events.map((e) => e.args.jobId));
    return jobs.map((j, i) => ({ ...j, createdBlock: events[i]!.blockNumber }));
  }

  /** Job records, read JOB_READS_IN_FLIGHT at a time (a long list must not burst the RPC endpoint). */
  private async jobsById(ids: bigint[]): Promise<JobInfo[]> {
    const out: JobInfo[] = [];
    for (let i = 0; i < ids.length; i += JOB_READS_IN_FLIGHT) out.push(...(await Promise.all(ids.slice(i, i + JOB_READS_IN_FLIGHT).map((id) => this.job(id)))));
    return out;
  }

  /**
   * Which operators served each model in a block range (default: the last ~week), from JobLocked events and
   * the jobs' records: jobs locked, fulfilled and slashed, success rate, median price and latency.
   */
  async operators(o: BlockRange & { modelId?: number } = {}): Promise<OperatorStats[]> {
    const { from, to, step } = resolveRange(o, await this.provider.getBlockNumber());
    const locks = await inRanges(from, to, step, (a, b) => this.market.queryFilter(this.market.filters.JobLocked(), a, b));
    const jobs = await this.jobsById(locks.map((e) => e.args.jobId));
    const stats = new Map<string, OperatorStats & { prices: Record<string, bigint[]>; latencies: number[] }>();
    jobs.forEach((job, i) => {
      if (o.modelId !== undefined && job.modelId !== o.modelId) return;
      // The lock event names who locked; a job's record keeps its operator after settlement too.
      const operator = locks[i]!.args.operator as string;
      const key = `${job.modelId}:${operator}`;
      const s = stats.get(key) ?? { operator, modelId: job.modelId, locked: 0, fulfilled: 0, slashed: 0, pending: 0, medianPrice: {}, prices: {}, latencies: [] };
      s.locked++;
      if (job.status === "Fulfilled") {
        s.fulfilled++;
        (s.prices[job.token] ??= []).push(job.price);
        s.latencies.push(job.finalizedAt - job.createdAt);
      } else if (job.status === "Slashed") s.slashed++;
      else if (job.status === "Locked") s.pending++;
      stats.set(key, s);
    });
    return [...stats.values()]
      .map(({ prices, latencies, ...s }) => ({
        ...s,
        successRate: s.fulfilled + s.slashed > 0 ? s.fulfilled / (s.fulfilled + s.slashed) : undefined,
        medianPrice: Object.fromEntries(Object.entries(prices).map(([t, p]) => [t, medianBig(p)])),
        medianLatencySeconds: median(latencies),
      }))
      .sort((a, b) => a.modelId - b.modelId || b.fulfilled - a.fulfilled);
  }

  // ---- plumbing ----

  /** Simulates first (a custom error before any gas), then sends and waits for the receipt. */
  private async simulateAndSend(simulate: () => Promise<unknown>, send: () => Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
    await simulate();
    return mined(send());
  }

  private event(receipt: ContractTransactionReceipt, name: string) {
    const ev = receipt.logs.map((l) => this.market.interface.parseLog(l)).find((l) => l?.name === name);
    if (!ev) throw new VerdictError("NO_EVENT", `transaction ${receipt.hash} emitted no ${name}`);
    return ev;
  }

  /** The last block with a timestamp <= `timestamp` (binary search; a scan then starts no earlier than needed). */
  private async blockAtOrBefore(timestamp: number): Promise<number> {
    let lo = 0;
    let hi = await this.provider.getBlockNumber();
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const block = await this.provider.getBlock(mid);
      if (block && block.timestamp <= timestamp) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

async function mined(tx: Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new VerdictError("TX_DROPPED", "the transaction was dropped before it was mined", undefined, true);
  return receipt;
}

