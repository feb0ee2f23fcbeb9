// The watcher on a fake chain (real Redis and BullMQ queues): bounded scans a provider accepts, a fresh start
// where a job could still be live rather than at genesis, the reorg rewind, and every lock naming this operator
// given a pipeline whenever it mines (review S1-2, S1-8).
import { expect } from "chai";
import { solidityPackedKeccak256, Wallet } from "ethers";
import type { Queue } from "bullmq";
import type { JobData, OperatorContext, Stage } from "../../operator/pipeline.js";
import { JobWatcher } from "../../operator/stages/watch.js";
import { JobStatus } from "../../shared/enums.js";
import { operatorQueues, suiteRedis, type OperatorQueues } from "../fixtures/operatorQueues.js";

const BLOCK_SECONDS = 12;
const MAX_JOB_DURATION = 3600n; // 300 blocks
const PROVIDER_RANGE_LIMIT = 100;
const INPUT = [1n, 2n];
/** Chain time when each test starts (block 10,000). */
const T0 = 10_000 * BLOCK_SECONDS;

const silent: unknown = { info: () => undefined, warn: () => undefined, debug: () => undefined, child: () => silent };

interface FakeEvent {
  kind: "created" | "locked";
  blockNumber: number;
  jobId: bigint;
}

describe("watcher (fake chain, real Redis)", function () {
  this.timeout(60_000);
  const redis = suiteRedis();
  const address = Wallet.createRandom().address;
  let ctx: OperatorContext;
  let queues: Record<Stage, Queue<JobData>>;
  let pipeline: OperatorQueues;
  let head: number;
  let events: FakeEvent[];
  /** Block hashes by number; a reorg changes some. */
  let forks: Map<number, string>;
  let scanned: [number, number][];
  let refusals: number;

  const hashOf = (n: number) => forks.get(n) ?? `0x${n.toString(16).padStart(64, "0")}`;
  const job = (jobId: bigint) => ({
    jobId,
    modelId: 1n,
    input: INPUT,
    token: "0x0000000000000000000000000000000000000000",
    price: 1n,
    collateral: 5n,
    lockDeadline: BigInt(T0 + 600),
    deadline: BigInt(T0 + 1800),
  });


  beforeEach(() => {
    pipeline = operatorQueues(redis().url, address, "watch");
    const { connection, prefix } = pipeline;
    queues = pipeline.queues;
    head = 10_000;
    events = [];
    forks = new Map();
    scanned = [];
    refusals = 0;
    const block = (n: number) => (n > head ? null : { number: n, hash: hashOf(n), timestamp: n * BLOCK_SECONDS, baseFeePerGas: 1n });
    ctx = {
      address,
      redis: connection,
      queues,
      config: { queuePrefix: prefix, operator: { confirmations: 1, startBlock: 0, pollIntervalMs: 1000 } },
      log: silent,
      metrics: { watcherLag: { set: () => undefined } },
      chain: {
        chainId: 31337n,
        provider: { getBlockNumber: async () => head, getBlock: async (n: number | "latest") => block(n === "latest" ? head : n) },
      },
      market: {
        maxJobDuration: async () => MAX_JOB_DURATION,
        filters: { JobCreated: () => "created", JobLocked: (_: unknown, op: string) => (op === address ? "locked" : "other") },
        queryFilter: async (kind: string, from: number, to: number) => {
          if (to - from + 1 > PROVIDER_RANGE_LIMIT) {
            refusals++;
            throw new Error(`query exceeds max block range ${PROVIDER_RANGE_LIMIT}`);
          }
          if (kind === "created") scanned.push([from, to]);
          return events.filter((e) => e.kind === kind && e.blockNumber >= from && e.blockNumber <= to).map((e) => ({ blockNumber: e.blockNumber, args: job(e.jobId) }));
        },
        jobOf: async () => ({
          status: BigInt(JobStatus.Locked),
          operator: address,
          modelId: 1n,
          inputHash: solidityPackedKeccak256(["uint256[]"], [INPUT]),
          collateral: 5n,
          deadline: job(0n).deadline,
          lockDeadline: job(0n).lockDeadline,
        }),
      },
    } as unknown as OperatorContext;
  });
  afterEach(() => pipeline.close());

  const evaluated = async () => (await queues.evaluate.getJobs(["waiting", "prioritized"])).map((j) => j.data.jobId).sort();

  it("a fresh operator starts where a job can still be live (head - maxJobDuration), never at genesis", async () => {
    events.push({ kind: "created", blockNumber: 50, jobId: 1n }, { kind: "created", blockNumber: 9_800, jobId: 2n });
    await new JobWatcher(ctx).tick();
    expect(Math.min(...scanned.map(([from]) => from))).to.equal(head - Number(MAX_JOB_DURATION) / BLOCK_SECONDS);
    expect(await evaluated()).to.deep.equal(["2"]);
  });

  it("halves a log range the provider refuses until it passes, and misses no event", async () => {
    for (let i = 0; i < 30; i++) events.push({ kind: "created", blockNumber: 9_700 + i * 10, jobId: BigInt(i + 1) });
    const watcher = new JobWatcher(ctx);
    await watcher.tick();
    expect(refusals).to.be.greaterThan(0);
    expect(Math.max(...scanned.map(([from, to]) => to - from + 1))).to.be.at.most(PROVIDER_RANGE_LIMIT);
    expect(scanned.at(-1)![1], "scanned up to head - confirmations").to.equal(head - 1);
    expect((await evaluated()).length).to.equal(30);
    expect(watcher.lastScanAt, "ready once it reached the head").to.be.greaterThan(0);
  });

  it("rewinds and rescans after a reorg replaced blocks it had scanned", async () => {
    const watcher = new JobWatcher(ctx);
    await watcher.tick();
    // Blocks head-1 and head-2 are replaced; the new fork has a job the old one did not.
    forks.set(head - 1, `0x${"ab".repeat(32)}`).set(head - 2, `0x${"cd".repeat(32)}`);
    events.push({ kind: "created", blockNumber: head - 2, jobId: 7n });
    head += 1;
    await watcher.tick();
    expect(await evaluated()).to.deep.equal(["7"]);
  });

  it("gives every JobLocked naming this operator a pipeline, whenever it mines", async () => {
    const watcher = new JobWatcher(ctx);
    events.push({ kind: "created", blockNumber: head - 5, jobId: 3n });
    await watcher.tick();
    // The lock mines later, after the lock stage stopped waiting for it: nothing queued it for proving.
    head += 10;
    events.push({ kind: "locked", blockNumber: head - 3, jobId: 3n });
    await watcher.tick();
    const proving = await queues.prove.getJob("31337-3");
    expect(proving, "a prove job for the late lock").to.not.equal(undefined);
    expect(proving!.data.operator).to.equal(address);
  });
});
