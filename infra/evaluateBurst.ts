// Evaluate on a burst: N JobCreated events of one block through the operator's real evaluate stage (admission,
// the per-block snapshot, the circuit's witness check on the smallest demo model in a warm ezkl process and
// onnxruntime, hand-over to a real BullMQ lock queue on a real Redis), against a fake chain that answers JSON-RPC
// at the provider's transport and counts every request. The chain is read once for the block (head, priority
// fee, free stake, model status), never per job: the requests do not grow with N. The rate is a bench figure
// (bench/load.ts, make bench), the zero-per-job count a test (test/load/evaluate-burst.test.ts).
import { randomUUID } from "node:crypto";
import path from "node:path";
import { JsonRpcProvider, Network, Wallet, ZeroAddress, type JsonRpcPayload, type JsonRpcResult } from "ethers";
import pino from "pino";
import type { Queue } from "bullmq";
import { queueName, STAGES, type JobData, type OperatorContext, type Stage } from "../operator/pipeline.js";
import { ChainHead, ChainSnapshot } from "../operator/snapshot.js";
import { EVALUATE_CONCURRENCY, evaluate, warmEvaluation } from "../operator/stages/evaluate.js";
import { ModelStatus } from "../shared/enums.js";
import { queue, redisConnection } from "../shared/queues.js";
import { ModelRegistry__factory, OperatorStaking__factory } from "../types/ethers-contracts/index.js";
import { ensureCircuit, loadModelSpec, readInputRows } from "../zk/build/circuit.js";
import { WitnessChecker } from "../zk/runtime/checker.js";
import { floatToFelt } from "../zk/runtime/felt.js";
import { round } from "./stats.js";

export interface BurstResult {
  /** "worth taking": every job pays (witness check and hand-over each); "spam": every job is priced below its gas, refused by admission alone. */
  kind: "worth taking" | "spam";
  jobs: number;
  taken: number;
  seconds: number;
  jobs_per_s: number;
  /** JSON-RPC requests the fake chain received from the first job on, by method: the block's one snapshot, and the head poller's polls (by time, not by job). */
  rpc_by_method: Record<string, number>;
  /** Requests other than the head poller's: the block's snapshot (3), whatever the number of jobs. */
  rpc_calls_besides_head: number;
  rpc_calls_per_job: number;
}

const MODEL_ID = 1;
const MODEL = "diabetes-regressor";
const NOW = 1_800_000_000;
const HEAD = 100;
const GWEI = 10n ** 9n;
const registry = ModelRegistry__factory.createInterface();
const staking = OperatorStaking__factory.createInterface();
const REGISTRY = Wallet.createRandom().address;
const STAKING = Wallet.createRandom().address;

/** A chain that answers what evaluation may ask (a block, fees, free stake, model layout) and counts every request. */
class FakeChain extends JsonRpcProvider {
  calls: Record<string, number> = {};

  constructor() {
    super("http://fake.invalid", Network.from(31337n), { staticNetwork: true });
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const items = Array.isArray(payload) ? payload : [payload];
    for (const p of items) this.calls[p.method] = (this.calls[p.method] ?? 0) + 1;
    return items.map((p) => ({ id: p.id, result: this.#answer(p) }));
  }

  #answer(p: JsonRpcPayload): unknown {
    const params = (p.params ?? []) as { to?: string; data?: string }[];
    switch (p.method) {
      case "eth_getBlockByNumber": {
        // Block 100 is the head; older blocks came every 12 s.
        const tag = (p.params as string[])[0]!;
        const n = tag === "latest" ? HEAD : Number(tag);
        const hex = (x: bigint | number) => `0x${x.toString(16)}`;
        return {
          number: hex(n),
          hash: `0x${n.toString(16).padStart(64, "0")}`,
          parentHash: `0x${(n - 1).toString(16).padStart(64, "0")}`,
          timestamp: hex(NOW - (HEAD - n) * 12),
          baseFeePerGas: hex(GWEI),
          logsBloom: `0x${"00".repeat(256)}`,
          difficulty: "0x0",
          gasLimit: hex(30_000_000),
          gasUsed: "0x0",
          miner: ZeroAddress,
          extraData: "0x",
          nonce: "0x0000000000000000",
          transactions: [],
        };
      }
      case "eth_maxPriorityFeePerGas":
        return `0x${GWEI.toString(16)}`;
      case "eth_call": {
        const { to, data } = params[0]!;
        if (to?.toLowerCase() === STAKING.toLowerCase()) return staking.encodeFunctionResult("freeStake", [10n ** 24n]);
        if (to?.toLowerCase() === REGISTRY.toLowerCase()) return registry.encodeFunctionResult("layout", [ZeroAddress, 10, 1, 7, ModelStatus.Active, `0x${"00".repeat(32)}`]);
        throw new Error(`unexpected eth_call to ${to} (${data?.slice(0, 10)})`);
      }
      default:
        throw new Error(`the fake chain does not answer ${p.method}`);
    }
  }
}

/**
 * Evaluates `jobs` jobs of one block (rows of the model's calibration data), `concurrency` at a time (the evaluate
 * workers' slots), and reports the rate and the chain requests. Jobs worth taking each also pay their witness check
 * and their hand-over to the lock queue; spam (priced at 1 wei) is refused by admission before either.
 */
export async function evaluateBurst(opts: { jobs: number; redisUrl: string; concurrency?: number; spam?: boolean }): Promise<BurstResult> {
  const chain = new FakeChain();
  const address = Wallet.createRandom().address;
  const connection = redisConnection(opts.redisUrl);
  const prefix = `burst-${randomUUID()}`;
  const queues = Object.fromEntries(STAGES.map((s) => [s, queue<JobData>({ connection, prefix }, queueName(s, address))])) as Record<Stage, Queue<JobData>>;
  const circuit = await ensureCircuit(await loadModelSpec(MODEL));
  const rows = await readInputRows(path.join(circuit.spec.dir, circuit.spec.calibration ?? circuit.spec.sample), circuit.inputs.count, "rows");
  const checker = new WitnessChecker();
  const log = pino({ level: "silent" });
  const ctx = {
    address,
    log,
    chain: { provider: chain, chainId: 31337n },
    config: {
      operator: { proveConcurrency: 1, remoteProveSlots: 0, deadlineMarginSeconds: 30, minProfitWei: 0n, reevaluateMs: 5000, estimatedGas: 900_000, pollIntervalMs: 1000, outputTolerance: 0.05, executionProvider: "cpu" },
    },
    catalog: { get: (id: number) => (id === MODEL_ID ? { modelId: id, circuit } : undefined), ids: () => [MODEL_ID], proveBound: async () => 1, expectedGas: async () => 700_000 },
    staking: OperatorStaking__factory.connect(STAKING, chain),
    registry: ModelRegistry__factory.connect(REGISTRY, chain),
    snapshot: new ChainSnapshot(new ChainHead(chain, 1000)),
    checker,
    queues,
  } as unknown as OperatorContext;
  const felts = rows.map((row) => row.map((v) => String(floatToFelt(v, circuit.inputs.scale))));
  const job = (i: number): JobData => ({
    chainId: "31337",
    jobId: String(i + 1),
    modelId: MODEL_ID,
    input: felts[i % felts.length]!,
    token: ZeroAddress,
    price: opts.spam ? "1" : (10n ** 16n).toString(),
    collateral: "1000",
    lockDeadline: NOW + 3600,
    deadline: NOW + 7200,
  });
  try {
    // As in a running operator: its checker and onnxruntime sessions started with it (warmEvaluation), its head
    // poller running (the watcher starts it); the first job reads the block's snapshot.
    await warmEvaluation(ctx);
    ctx.snapshot.head.start();
    let next = 0;
    let taken = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: opts.concurrency ?? EVALUATE_CONCURRENCY }, async () => {
        while (next < opts.jobs) {
          const r = await evaluate(ctx, job(next++), log);
          if (r.outcome === "advanced") taken++;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    ctx.snapshot.head.stop();
    const besides = Object.entries(chain.calls).reduce((sum, [method, n]) => sum + (method === "eth_getBlockByNumber" ? 0 : n), 0);
    return { kind: opts.spam ? "spam" : "worth taking", jobs: opts.jobs, taken, seconds: round(seconds, 3), jobs_per_s: Math.round(opts.jobs / seconds), rpc_by_method: { ...chain.calls }, rpc_calls_besides_head: besides, rpc_calls_per_job: round(besides / opts.jobs, 4) };
  } finally {
    ctx.snapshot.head.stop();
    await checker.close();
    for (const q of Object.values(queues)) await q.obliterate({ force: true });
    await Promise.all(Object.values(queues).map((q) => q.close()));
    connection.disconnect();
    chain.destroy();
  }
}
