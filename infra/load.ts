// Load: N jobs of the smallest demo model posted in a burst against one relayer and two operators, all real
// processes on a `hardhat node` and a real Redis, as in production. Every job must end fulfilled, or refunded
// when no operator could take it (its input is beyond what the model's circuit can take: operators skip it, so its
// lock deadline passes and the requester gets the price back). Records throughput (jobs, relayer transactions,
// the evaluate queue, jobs/s per operator process), latency and latency minus proving, gas per job, the relayer's
// nonce errors, and where the RPC requests go: counted by the proxy in front of the chain per service and method
// (during the burst, and per block while idle before it), and inside each operator per scope (pipeline stage,
// watcher, head poller, snapshot: verdict_rpc_calls_total). Run at full size by `make load` (bench/load.ts), at 50
// jobs by CI (test/load/load.test.ts).
import path from "node:path";
import { Queue, type Job, type JobType } from "bullmq";
import { Redis } from "ioredis";
import { DEV_KEYS, withLocalStack } from "./localStack.js";
import { startRpcFaultProxy } from "./rpcFaultProxy.js";
import { stackEnv, startRelayerAndOperators } from "./verdictService.js";
import { queueName, type JobData, type Stage } from "../operator/pipeline.js";
import { JobStatus } from "../shared/enums.js";
import { RELAYER_QUEUE } from "../shared/queues.js";
import { Wallet, type Signer } from "ethers";
import { InferenceMarket__factory, type InferenceMarket } from "../types/ethers-contracts/index.js";
import { readInputRows } from "../zk/build/circuit.js";
import { floatToFelt } from "../zk/runtime/felt.js";
import { median, round } from "./stats.js";
import { slashStillLocked } from "./slasher.js";

export interface LoadOptions {
  /** Jobs posted in the burst. */
  jobs: number;
  /** Of those, how many carry an input the circuit cannot take (must end refunded, not fulfilled). */
  outOfRange?: number;
  /** Smallest demo model by default. */
  model?: string;
  log?: (line: string) => void;
  /** Gives up (and throws) when the jobs have not all ended by then. */
  timeoutMs?: number;
  /** A block every this many ms without automine (a real chain's pace); default automine. */
  blockTimeMs?: number;
}

export interface LoadResult {
  jobs: number;
  fulfilled: number;
  refunded: number;
  /** Jobs neither fulfilled nor refunded at the end (must be 0). */
  lost: number;
  /** Jobs fulfilled more than once or by more than one lock (must be 0; the contract forbids it). */
  duplicated: number;
  /** Slashes of the two (honest) operators (must be 0). */
  honest_slashed: number;
  /** Wall time of the burst: every createJob sent, one account, consecutive nonces. */
  post_s: number;
  /** First job posted -> last job fulfilled. */
  drain_s: number;
  jobs_per_s: number;
  /** Relay transactions mined (locks + fulfilments) / the span from the first relay started to the last mined. */
  relayer_txs: number;
  relayer_tx_per_s: number;
  relayer_nonce_errors: number;
  relayer_dropped: number;
  /** Jobs through the operators' evaluate queues / their busy span (first taken -> last finished), both operators. */
  queue_jobs_per_s: number;
  /** createJob sent -> JobFulfilled first seen (events read every 250 ms), wall clock. */
  latency_s: { p50: number; p95: number; max: number };
  /** Latency minus the job's own proving time (its operator's measurement): what the pipeline, the chain and the
   * wait behind the burst's other proofs add. */
  overhead_s: { p50: number; p95: number; max: number };
  /** From the end of the job's proof (its prove job, at the operator that locked it) to its fulfilment seen on chain:
   * what the pipeline and the chain add once the prover, however busy, is done with it. */
  after_proof_s: { p50: number; p95: number; max: number };
  /** Jobs posted alone before the burst, one after another (`jobs` of them; figures are their medians): latency,
   * latency minus its proof (also in blocks); requests per service of the first. */
  lone_job: {
    jobs: number;
    latency_s: number;
    overhead_s: number;
    overhead_blocks?: number;
    /** Blocks from the block that holds its post to the one that holds its fulfilment (1: locked and fulfilled in the
     * block after its post's, its proof made while the lock landed); `_each`: per lone job. */
    post_to_fulfil_blocks: number;
    post_to_fulfil_blocks_each: number[];
    /** post_to_fulfil_blocks × block time − its proof: what the pipeline adds once the job exists (chain runs). */
    overhead_from_post_block_s?: number;
    prove_s: number;
    rpc_requests: number;
    rpc_by_service: Record<string, number>;
  };
  /** overhead_s.p50 in blocks (chain runs only). */
  overhead_blocks_p50?: number;
  /** Burst jobs: blocks from the block that holds a job's post to the one that holds its fulfilment (chain runs). */
  post_to_fulfil_blocks?: { p50: number; p95: number; max: number };
  /** Per burst job, post_to_fulfil_blocks × block time − its proof, queueing behind the burst's other proofs
   * included (chain runs): the lone job's overhead_from_post_block_s, under a burst. */
  overhead_from_post_block_s?: { p50: number; p95: number; max: number };
  /** Proving seconds per job (operators' measurements), median. */
  prove_s_p50: number;
  per_operator: Record<string, number>;
  /** Fulfilled jobs / drain_s, per operator process. */
  jobs_per_s_per_operator: Record<string, number>;
  /** Gas of the operators' lock and fulfilment transactions (receipts) / jobs fulfilled. */
  gas_per_job: number;
  /** Interval-mined chains: a block every this many seconds; 0 = automine. */
  block_time_s: number;
  /** Requests the services sent during the burst (first post to last fulfilment), counted by the proxy. */
  rpc_requests: number;
  rpc_requests_by_method: Record<string, number>;
  /** rpc_requests / jobs fulfilled, in all and per service. */
  rpc_per_settled_job: number;
  rpc_per_settled_job_by_service: Record<string, number>;
  /** Per service, per method, during the burst. */
  rpc_by_service: Record<string, Record<string, number>>;
  /** Inside the operators (both summed), per scope then method, during the burst: where a job's requests go. */
  operator_rpc_by_scope: Record<string, Record<string, number>>;
  /** Requests per block per service while no job was in flight (chain runs only). */
  idle_rpc_per_block?: Record<string, number>;
}

const ETH = "0x0000000000000000000000000000000000000000";
// Well above the gas of a lock and a fulfilment even after a burst raised the base fee, so admission takes the
// jobs at once and the run measures the pipeline (deferral below cost is covered by test/operator/admission).
const PRICE = 10n ** 16n;
const COLLATERAL = 10n ** 16n; // 0.01 VDT: 1,000 locks fit in one operator's 100 VDT stake
const SMALLEST_MODEL = "diabetes-regressor";
const RANGE_LOCK_TIMEOUT = 120;
/** Blocks the idle request rate is measured over, before the burst. */
const IDLE_BLOCKS = 3;
/** Jobs posted alone, one after another, before the burst. */
const LONE_JOBS = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? Number.NaN;

/** Sum of a Prometheus counter over all its label sets, from the service's /metrics text. */
export function counterValue(metricsText: string, name: string): number {
  let sum = 0;
  for (const line of metricsText.split("\n")) {
    const m = line.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`));
    if (m) sum += Number(m[1]);
  }
  return sum;
}

/** verdict_rpc_calls_total by scope then method, from a service's /metrics text. */
export function callsByScope(metricsText: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const m of metricsText.matchAll(/^verdict_rpc_calls_total\{([^}]*)\} ([0-9.e+]+)$/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    const scope = (out[labels.scope ?? "other"] ??= {});
    scope[labels.method ?? "?"] = (scope[labels.method ?? "?"] ?? 0) + Number(m[2]);
  }
  return out;
}

/** `after - before` of nested counts, keeping the non-zero ones. */
function diffCounts(after: Record<string, Record<string, number>>, before: Record<string, Record<string, number>>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [k, methods] of Object.entries(after)) {
    for (const [method, n] of Object.entries(methods)) {
      const d = n - (before[k]?.[method] ?? 0);
      if (d > 0) (out[k] ??= {})[method] = d;
    }
  }
  return out;
}

/** Sums nested counts over their outer key: per method. */
function sumCounts(...maps: Record<string, Record<string, number>>[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const m of maps) {
    for (const [k, methods] of Object.entries(m)) {
      const into = (out[k] ??= {});
      for (const [method, n] of Object.entries(methods)) into[method] = (into[method] ?? 0) + n;
    }
  }
  return out;
}

const total = (counts: Record<string, number> = {}) => Object.values(counts).reduce((a, b) => a + b, 0);

/** Jobs taken / busy span of queues, from BullMQ's processedOn/finishedOn of their completed jobs. */
async function queueRate(...queues: Queue[]): Promise<{ count: number; perSecond: number; span: number }> {
  const jobs = (await Promise.all(queues.map((q) => q.getJobs(["completed"], 0, -1)))).flat();
  const starts = jobs.map((j) => j.processedOn ?? Number.NaN).filter(Number.isFinite);
  const ends = jobs.map((j) => j.finishedOn ?? Number.NaN).filter(Number.isFinite);
  const span = (Math.max(...ends) - Math.min(...starts)) / 1000;
  return { count: jobs.length, span, perSecond: jobs.length / span };
}

/** The jobs of one operator's stage queue in the given states. */
async function stageJobs(op: string, stage: Stage, states: JobType[], connection: Redis, prefix: string): Promise<Job<JobData>[]> {
  const q = new Queue<JobData>(queueName(stage, op), { connection, prefix });
  try {
    return (await q.getJobs(states)).filter((j): j is Job<JobData> => Boolean(j));
  } finally {
    await q.close();
  }
}

/** When each job's proof was done (epoch ms): its prove job's end at the operator that locked it. */
async function proofEndTimes(lockedBy: Map<bigint, string>, connection: Redis, prefix: string): Promise<Map<bigint, number>> {
  const out = new Map<bigint, number>();
  for (const op of new Set(lockedBy.values())) {
    for (const j of await stageJobs(op, "prove", ["completed"], connection, prefix)) {
      const id = BigInt(j.data.jobId);
      if (lockedBy.get(id) === op && j.finishedOn) out.set(id, j.finishedOn);
    }
  }
  return out;
}

/** Each job's proving seconds as its operator measured them (carried by the job from prove on, in verify/submit). */
async function provingTimes(operators: string[], connection: Redis, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const op of operators) {
    for (const stage of ["verify", "submit"] as const) {
      for (const j of await stageJobs(op, stage, ["completed", "delayed", "waiting", "active", "prioritized", "failed"], connection, prefix)) {
        if (j.data.proveSeconds !== undefined) out.set(j.data.jobId, j.data.proveSeconds);
      }
    }
  }
  return out;
}

/**
 * Posts `count` ETH jobs (price PRICE, collateral COLLATERAL, two hours to finish) from the market's runner at
 * consecutive nonces without waiting between sends, then waits for every receipt. Returns the job ids in order
 * and when each send returned.
 */
export async function postBurst(
  market: InferenceMarket,
  count: number,
  job: (i: number) => { modelId: number; input: bigint[]; lockTimeout: bigint },
): Promise<{ jobIds: bigint[]; sentAt: number[]; blocks: number[] }> {
  const runner = market.runner as Signer;
  let nonce = await runner.provider!.getTransactionCount(await runner.getAddress(), "pending");
  const sent = [];
  const sentAt: number[] = [];
  for (let i = 0; i < count; i++) {
    const req = { ...job(i), token: ETH, price: PRICE, collateral: COLLATERAL, timeout: 7200n, callback: ETH, callbackGasLimit: 0 };
    sent.push(await market.createJob(req, { value: PRICE, nonce: nonce++, gasLimit: 500_000 }));
    sentAt.push(performance.now());
  }
  const receipts = await Promise.all(sent.map((tx) => tx.wait()));
  const address = await market.getAddress();
  const jobIds = receipts.map((r) => market.interface.parseLog(r!.logs.find((l) => l.address === address)!)!.args.jobId as bigint);
  return { jobIds, sentAt, blocks: receipts.map((r) => r!.blockNumber) };
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const log = opts.log ?? (() => undefined);
  const model = opts.model ?? SMALLEST_MODEL;
  const outOfRange = opts.outOfRange ?? 0;
  const timeoutMs = opts.timeoutMs ?? 3_600_000;
  return withLocalStack("load", log, async (run) => {
    const { redis, chain, stack, work, services } = run;
    const prefix = "load";
    // The services reach the chain through a proxy that injects nothing and counts every request by method.
    const rpc = await startRpcFaultProxy(chain.url);
    services.push({ name: "rpc proxy", port: rpc.port, url: rpc.url, stop: () => rpc.close() });
    // Each service names itself in the proxy URL's path, so the proxy counts requests per service. The relayer stands
    // for each operator's own, so it trusts their fulfilments (relayer.trustedOperators: sent without simulation) and
    // sends one right behind its job's lock (relayer.fulfilBehindLock: a local chain has no public mempool to fear).
    const trusted = stack.operatorKeys.map((key) => new Wallet(key).address).join(",");
    const { relayer, operators } = await startRelayerAndOperators(
      run,
      { ...stackEnv(run, prefix, `${rpc.url}/relayer`), VERDICT_RELAYER_TRUSTED_OPERATORS: trusted, VERDICT_RELAYER_FULFIL_BEHIND_LOCK: "true" },
      stack.operatorKeys.map((key, i) => ({ key, env: { VERDICT_RPC_URL: `${rpc.url}/operator-${i}` } })),
    );
    const operatorScopes = async () => sumCounts(...(await Promise.all(operators.map(async (o) => callsByScope(await (await fetch(`${o.url}/metrics`)).text())))));
    log(`relayer and ${stack.operatorKeys.length} operators running (logs in ${work})`);

    const { ethers } = stack.connection;
    const signers = await ethers.getSigners();
    const requester = signers[3]!;
    const market = InferenceMarket__factory.connect(stack.addresses.market, requester);
    const { modelId, circuit } = stack.models[model]!;
    const rows = await readInputRows(path.join(circuit.spec.dir, circuit.spec.calibration ?? circuit.spec.sample), circuit.inputs.count, "rows");
    const felts = (row: number[]) => row.map((v) => floatToFelt(v, circuit.inputs.scale));
    // One quantisation step beyond the circuit's input range check (the calibrated range is no limit).
    const tooBig = Array<number>(circuit.inputs.count).fill((circuit.inputBound + 1) / 2 ** circuit.inputs.scale);

    // Idle: what the services ask per block with no job in flight (after a block to settle their start-up).
    let idle: Record<string, number> | undefined;
    if (opts.blockTimeMs) {
      const waitBlocks = async (n: number) => {
        const target = (await ethers.provider.getBlockNumber()) + n;
        while ((await ethers.provider.getBlockNumber()) < target) await sleep(200);
      };
      await waitBlocks(1);
      const before = rpc.stats().bySource;
      await waitBlocks(IDLE_BLOCKS);
      const after = rpc.stats().bySource;
      idle = Object.fromEntries(Object.entries(diffCounts(after, before)).map(([source, m]) => [source, round(total(m) / IDLE_BLOCKS, 2)]));
      for (const source of Object.keys(after)) idle[source] ??= 0;
      log(`idle: ${JSON.stringify(idle)} requests per block`);
    }
    // Lone jobs, one after another: what the pipeline adds to a job that waits behind no other (post -> fulfilled,
    // minus its proof; LONE_JOBS of them, since where in a block a post lands varies), and the requests the first
    // costs when nothing shares them (the first job after start: the services' caches are cold).
    const lone: { id: bigint; latency: number; blocks: number; rpc: Record<string, Record<string, number>> }[] = [];
    for (let k = 0; k < LONE_JOBS; k++) {
      const before = rpc.stats().bySource;
      const posted = await postBurst(market, 1, () => ({ input: felts(rows[k % rows.length]!), lockTimeout: 3600n, modelId }));
      const id = posted.jobIds[0]!;
      while (Number((await market.jobOf(id)).status) !== JobStatus.Fulfilled) {
        if (performance.now() - posted.sentAt[0]! > timeoutMs) throw new Error(`lone job ${id} was not fulfilled after ${timeoutMs / 1000} s (logs in ${work})`);
        await sleep(250);
      }
      const latency = (performance.now() - posted.sentAt[0]!) / 1000;
      const [fulfilled] = await market.queryFilter(market.filters.JobFulfilled(id), posted.blocks[0]!);
      lone.push({ id, latency, blocks: fulfilled!.blockNumber - posted.blocks[0]!, rpc: diffCounts(rpc.stats().bySource, before) });
      log(`lone job ${k + 1}/${LONE_JOBS} fulfilled ${latency.toFixed(1)} s after it was posted, ${lone.at(-1)!.blocks} block(s) after its post's`);
    }

    const from = await ethers.provider.getBlockNumber();
    const rpcBefore = rpc.stats().bySource;
    const scopesBefore = await operatorScopes();

    const t0 = performance.now();
    const { jobIds: created, sentAt, blocks: postBlocks } = await postBurst(market, opts.jobs, (i) => {
      const bad = i < outOfRange;
      return { input: felts(bad ? tooBig : rows[i % rows.length]!), lockTimeout: BigInt(bad ? RANGE_LOCK_TIMEOUT : 3600), modelId };
    });
    const post_s = (performance.now() - t0) / 1000;
    const postedAt = new Map(created.map((id, i) => [id, sentAt[i]!]));
    const postBlock = new Map(created.map((id, i) => [id, postBlocks[i]!]));
    const badIds = new Set(created.slice(0, outOfRange));
    log(`posted ${opts.jobs} jobs in ${post_s.toFixed(1)} s (${outOfRange} with an out-of-range input)`);

    // Wait until every in-range job is fulfilled, reporting progress; new JobFulfilled events are read every
    // 250 ms, and the wall time a job is first seen fulfilled gives its latency.
    const goodCount = opts.jobs - outOfRange;
    const seenAt = new Map<bigint, number>();
    const fulfilledEvents: Awaited<ReturnType<typeof market.queryFilter<typeof market.filters.JobFulfilled>>> = [];
    let scanFrom = from + 1;
    let lastReport = performance.now();
    while (seenAt.size < goodCount) {
      const head = await ethers.provider.getBlockNumber();
      if (head >= scanFrom) {
        for (const e of await market.queryFilter(market.filters.JobFulfilled(), scanFrom, head)) {
          fulfilledEvents.push(e);
          if (!seenAt.has(e.args.jobId)) seenAt.set(e.args.jobId, performance.now());
        }
        scanFrom = head + 1;
      }
      if (performance.now() - t0 > timeoutMs) throw new Error(`only ${seenAt.size}/${goodCount} jobs fulfilled after ${timeoutMs / 1000} s (logs in ${work})`);
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        log(`fulfilled ${seenAt.size}/${goodCount} after ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      }
      await sleep(250);
    }
    const drain_s = (performance.now() - t0) / 1000;
    const rpcBySource = diffCounts(rpc.stats().bySource, rpcBefore);
    const scopes = diffCounts(await operatorScopes(), scopesBefore);

    // Jobs nobody could take: past their lock deadline anyone may refund them to the requester.
    if (outOfRange > 0) {
      await ethers.provider.send("evm_increaseTime", [RANGE_LOCK_TIMEOUT + 1]);
      await ethers.provider.send("evm_mine", []);
      for (const id of badIds) await (await market.refund(id)).wait();
      log(`refunded the ${outOfRange} out-of-range job(s) after their lock deadline`);
    }

    // A slasher bot (review T-4): a job left locked is slashed, so a failed honest operator shows in honest_slashed.
    const leftLocked = await slashStillLocked(market, ethers.provider, created);
    if (leftLocked > 0) log(`slashed ${leftLocked} job(s) left locked past their secondary window`);

    const statuses = await Promise.all(created.map(async (id) => Number((await market.jobOf(id)).status)));
    const fulfilled = statuses.filter((s) => s === 3).length;
    const refunded = statuses.filter((s) => s === 5).length;
    const locks = await market.queryFilter(market.filters.JobLocked(), from);
    const slashes = await market.queryFilter(market.filters.JobSlashed(), from);
    const countBy = <T>(xs: T[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<T, number>());
    const duplicated =
      [...countBy(fulfilledEvents.map((e) => e.args.jobId)).values()].filter((n) => n > 1).length +
      [...countBy(locks.map((e) => e.args.jobId)).values()].filter((n) => n > 1).length;
    const perOperator: Record<string, number> = {};
    const lockedBy = new Map(locks.map((e) => [e.args.jobId, e.args.operator]));
    for (const e of fulfilledEvents) {
      const op = lockedBy.get(e.args.jobId) ?? "unknown";
      perOperator[op] = (perOperator[op] ?? 0) + 1;
    }

    const latencies = [...seenAt].map(([id, at]) => (at - postedAt.get(id)!) / 1000);
    // Gas the operators paid: their locks and fulfilments (a transaction settling several jobs counted once).
    const txs = new Set([...locks, ...fulfilledEvents].map((e) => e.transactionHash));
    const receipts = await Promise.all([...txs].map((h) => ethers.provider.getTransactionReceipt(h)));
    const gasPerJob = receipts.reduce((sum, r) => sum + Number(r?.gasUsed ?? 0), 0) / Math.max(1, fulfilled);

    const metrics = await (await fetch(`${relayer.url}/metrics`)).text();
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const relayQueue = new Queue(RELAYER_QUEUE, { connection: client, prefix });
    // Each operator evaluates every job in its own queue (operator/pipeline.ts queueName).
    const evaluateQueues = DEV_KEYS.operators.map((key) => new Queue(queueName("evaluate", new Wallet(key).address), { connection: client, prefix }));
    const relay = await queueRate(relayQueue);
    const evaluate = await queueRate(...evaluateQueues);
    const proveSeconds = await provingTimes(DEV_KEYS.operators.map((key) => new Wallet(key).address), client, prefix);
    const proofEnds = await proofEndTimes(lockedBy, client, prefix);
    await relayQueue.close();
    await Promise.all(evaluateQueues.map((q) => q.close()));
    client.disconnect();
    const overheads = [...seenAt].flatMap(([id, at]) => {
      const prove = proveSeconds.get(id.toString());
      return prove === undefined ? [] : [(at - postedAt.get(id)!) / 1000 - prove];
    });
    // What the pipeline and the chain add once the proof is made, whenever the prover could make it.
    const afterProof = [...seenAt].flatMap(([id, at]) => {
      const end = proofEnds.get(id);
      return end === undefined ? [] : [(performance.timeOrigin + at - end) / 1000];
    });
    const fulfilBlock = new Map<bigint, number>();
    for (const e of fulfilledEvents) if (!fulfilBlock.has(e.args.jobId)) fulfilBlock.set(e.args.jobId, e.blockNumber);
    const postToFulfil = [...fulfilBlock].map(([id, block]) => ({ id, blocks: block - postBlock.get(id)! }));
    const spread = (xs: number[], digits: number) => ({ p50: round(median(xs), digits), p95: round(percentile(xs, 95), digits), max: round(Math.max(...xs), digits) });

    const requests = sumCounts(...Object.values(rpcBySource).map((m) => ({ all: m }))).all ?? {};
    const rpcRequests = total(requests);
    const blockTime = opts.blockTimeMs ? opts.blockTimeMs / 1000 : 0;
    const overhead = spread(overheads, 2);
    const loneProve = (j: (typeof lone)[number]) => proveSeconds.get(j.id.toString()) ?? 0;
    const loneOverhead = median(lone.map((j) => j.latency - loneProve(j)));
    const loneRpc = lone[0]!.rpc;
    return {
      block_time_s: blockTime,
      jobs: opts.jobs,
      fulfilled,
      refunded,
      lost: opts.jobs - fulfilled - refunded,
      duplicated,
      honest_slashed: slashes.length,
      post_s: round(post_s, 2),
      drain_s: round(drain_s, 1),
      jobs_per_s: round(goodCount / drain_s, 3),
      relayer_txs: counterValue(metrics, "verdict_relayer_tx_mined_total"),
      relayer_tx_per_s: round(counterValue(metrics, "verdict_relayer_tx_mined_total") / relay.span, 2),
      relayer_nonce_errors: counterValue(metrics, "verdict_relayer_nonce_errors_total"),
      relayer_dropped: counterValue(metrics, "verdict_relayer_tx_dropped_total"),
      queue_jobs_per_s: round(evaluate.perSecond, 2),
      latency_s: spread(latencies, 2),
      overhead_s: overhead,
      after_proof_s: spread(afterProof, 2),
      lone_job: {
        jobs: lone.length,
        latency_s: round(median(lone.map((j) => j.latency)), 2),
        overhead_s: round(loneOverhead, 2),
        ...(blockTime ? { overhead_blocks: round(loneOverhead / blockTime, 2) } : {}),
        post_to_fulfil_blocks: median(lone.map((j) => j.blocks)),
        post_to_fulfil_blocks_each: lone.map((j) => j.blocks),
        // What the pipeline adds once the job exists on chain: from its post's block to its fulfilment's, minus its proof.
        ...(blockTime ? { overhead_from_post_block_s: round(median(lone.map((j) => j.blocks * blockTime - loneProve(j))), 2) } : {}),
        prove_s: round(median(lone.map(loneProve)), 2),
        rpc_requests: total(sumCounts(...Object.values(loneRpc).map((m) => ({ all: m }))).all),
        rpc_by_service: Object.fromEntries(Object.entries(loneRpc).map(([k, m]) => [k, total(m)])),
      },
      ...(blockTime
        ? {
            overhead_blocks_p50: round(overhead.p50 / blockTime, 2),
            post_to_fulfil_blocks: spread(postToFulfil.map((j) => j.blocks), 1),
            overhead_from_post_block_s: spread(postToFulfil.map((j) => j.blocks * blockTime - (proveSeconds.get(j.id.toString()) ?? 0)), 2),
          }
        : {}),
      prove_s_p50: round(median([...proveSeconds.values()]), 2),
      per_operator: perOperator,
      jobs_per_s_per_operator: Object.fromEntries(Object.entries(perOperator).map(([op, n]) => [op, round(n / drain_s, 3)])),
      gas_per_job: Math.round(gasPerJob),
      rpc_requests: rpcRequests,
      rpc_requests_by_method: requests,
      rpc_per_settled_job: round(rpcRequests / Math.max(1, fulfilled), 1),
      rpc_per_settled_job_by_service: Object.fromEntries(Object.entries(rpcBySource).map(([source, m]) => [source, round(total(m) / Math.max(1, fulfilled), 1)])),
      rpc_by_service: rpcBySource,
      operator_rpc_by_scope: scopes,
      ...(idle ? { idle_rpc_per_block: idle } : {}),
    };
  }, { chain: { blockTimeMs: opts.blockTimeMs } });
}
