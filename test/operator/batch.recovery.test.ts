// The prove stage's batching step (operator/stages/batch.ts batchStep) on real BullMQ queues (a real redis-server),
// real ezkl proofs of the spike model's 4-slot batch circuit and a fake chain: jobs wait, then their group is
// proven once and each job handed to verify with its own slot; a batch whose prover died is proven again once its
// leader's stage runs again; a batch that fails leaves each of its jobs to be proven alone.
import { expect } from "chai";
import { solidityPackedKeccak256, Wallet, ZeroAddress } from "ethers";
import type { Logger } from "pino";
import type { BatchCircuit } from "../../operator/catalog.js";
import type { JobData, OperatorContext } from "../../operator/pipeline.js";
import { batchStep } from "../../operator/stages/batch.js";
import { configSchema } from "../../shared/config.js";
import { JobStatus } from "../../shared/enums.js";
import { ensureBatchCircuit, ensureCircuit, loadModelSpec, type BuiltCircuit } from "../../zk/build/circuit.js";
import { WarmBridgePool } from "../../zk/runtime/bridge.js";
import { floatToFelt } from "../../zk/runtime/felt.js";
import { operatorQueues, suiteRedis, type OperatorQueues } from "../fixtures/operatorQueues.js";

const WINDOW_MS = 300;
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined } as unknown as Logger;
const ROWS = [
  [0.5, -1, 0.25],
  [-0.5, 0.75, 1],
];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("batch proving step (real Redis, real ezkl, fake chain)", function () {
  this.timeout(120_000);
  const redis = suiteRedis();
  const address = new Wallet(Wallet.createRandom().privateKey).address;
  const now = () => Math.floor(Date.now() / 1000);
  let base: BuiltCircuit;
  let batches: BatchCircuit[];
  let provers: WarmBridgePool;
  let pipeline: OperatorQueues;
  let jobs: Record<string, JobData>;

  before(async () => {
    const spec = await loadModelSpec("spike");
    base = await ensureCircuit(spec);
    batches = [{ batchId: 1, slots: 4, circuit: await ensureBatchCircuit(spec, 4) }];
    provers = new WarmBridgePool(1);
  });
  after(() => provers.close());
  beforeEach(() => {
    pipeline = operatorQueues(redis().url, address, "batch");
    jobs = {};
  });
  afterEach(() => pipeline.close());

  /**
   * The operator's context as batchStep reads it; `use` replaces the warm provers (a prover that never returns),
   * `circuit` the base model's (its tolerance).
   */
  function context(use: WarmBridgePool["use"] = (fn) => provers.use(fn), circuit: BuiltCircuit = base): OperatorContext {
    return {
      address,
      redis: pipeline.connection,
      queues: pipeline.queues,
      config: { ...configSchema.parse({ operator: { batchWindowMs: WINDOW_MS } }), queuePrefix: pipeline.prefix },
      chain: { chainId: 31337n, provider: { getBlock: async (tag: string | number) => ({ number: 100, timestamp: tag === "latest" ? now() : now() - 20 }) } },
      // No head poller running: chain time, block time and the job are read from the chain.
      snapshot: { head: { fresh: () => undefined, blockSeconds: () => undefined } },
      catalog: { get: () => ({ modelId: 1, circuit, batches }), proveBound: async () => 2, recordProveSeconds: async () => undefined },
      metrics: { proveSeconds: { observe: () => undefined }, refused: { inc: () => undefined } },
      provers: { use },
      market: {
        jobOf: async (id: string) => {
          const d = jobs[id]!;
          const hash = solidityPackedKeccak256(["uint256[]"], [d.input]);
          return { status: BigInt(JobStatus.Locked), operator: address, modelId: 1n, inputHash: hash, collateral: 1n, deadline: BigInt(d.deadline), lockDeadline: BigInt(d.lockDeadline) };
        },
      },
    } as unknown as OperatorContext;
  }

  function job(jobId: string, row: number[]): JobData {
    const d: JobData = {
      chainId: "31337",
      jobId,
      modelId: 1,
      input: row.map((v) => floatToFelt(v, base.inputs.scale).toString()),
      token: ZeroAddress,
      price: "1",
      collateral: "1",
      lockDeadline: now() + 600,
      deadline: now() + 1800,
      operator: address,
    };
    jobs[jobId] = d;
    return d;
  }

  const verifyData = async (jobId: string) => (await pipeline.queues.verify.getJob(`31337-${jobId}`))?.data;

  it("two jobs wait out the window, then one proof of the batch circuit hands each to verify with its own slot", async () => {
    const ctx = context();
    const [a, b] = [job("1", ROWS[0]!), job("2", ROWS[1]!)];
    expect(await batchStep(ctx, a, batches, silent)).to.include({ outcome: "deferred" });
    expect(await batchStep(ctx, b, batches, silent)).to.include({ outcome: "deferred" });
    await sleep(WINDOW_MS);
    expect(await batchStep(ctx, a, batches, silent)).to.deep.equal({ outcome: "advanced" });
    const [va, vb] = [await verifyData("1"), await verifyData("2")];
    expect(va!.batch).to.deep.equal({ batchId: 1, slot: 0, jobIds: ["1", "2"] });
    expect(vb!.batch).to.deep.equal({ batchId: 1, slot: 1, jobIds: ["1", "2"] });
    expect(va!.proof).to.equal(vb!.proof);
    // Slot k's input instances are job k's input; its outputs are its own.
    expect(va!.instances!.slice(3, 6)).to.deep.equal(b.input);
    expect(vb!.outputs).to.have.length(2).and.not.deep.equal(va!.outputs);
    // The other job's stage, when it runs, finds itself handed on.
    expect(await batchStep(ctx, b, batches, silent)).to.deep.equal({ outcome: "advanced" });
  });

  it("a batch whose prover died is proven again when its leader's stage runs again; its other job waits meanwhile", async () => {
    const [a, b] = [job("1", ROWS[0]!), job("2", ROWS[1]!)];
    await batchStep(context(), a, batches, silent);
    await batchStep(context(), b, batches, silent);
    await sleep(WINDOW_MS);
    // The leader claims the group and its prover never returns (the process died mid-proof).
    void batchStep(context(() => new Promise(() => undefined)), a, batches, silent);
    await sleep(200);
    expect(await batchStep(context(), b, batches, silent)).to.include({ outcome: "deferred", reason: "in a batch of 1, 2 being proven" });
    // BullMQ hands the dead leader's job to another worker: the group waits again and is proven.
    expect(await batchStep(context(), a, batches, silent)).to.include({ outcome: "deferred" });
    expect(await batchStep(context(), b, batches, silent)).to.include({ outcome: "deferred" });
    await sleep(WINDOW_MS);
    expect(await batchStep(context(), a, batches, silent)).to.deep.equal({ outcome: "advanced" });
    expect((await verifyData("2"))!.batch).to.deep.equal({ batchId: 1, slot: 1, jobIds: ["1", "2"] });
  });

  it("a batch that fails (a slot's outputs disagree with onnxruntime) leaves each of its jobs to be proven alone", async () => {
    const ctx = context(undefined, { ...base, outputTolerance: 1e-9 }); // no fixed-point output is that close
    const [a, b] = [job("1", ROWS[0]!), job("2", ROWS[1]!)];
    await batchStep(ctx, a, batches, silent);
    await batchStep(ctx, b, batches, silent);
    await sleep(WINDOW_MS);
    expect(await batchStep(ctx, a, batches, silent)).to.include({ outcome: "deferred", reason: "batch failed: proving alone" });
    expect(await verifyData("1")).to.equal(undefined);
    expect(await batchStep(ctx, a, batches, silent)).to.equal("alone");
    expect(await batchStep(ctx, b, batches, silent)).to.equal("alone");
  });
});
