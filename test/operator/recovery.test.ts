// Recovery of locked jobs on real BullMQ queues (a real redis-server) and a fake chain: a lock naming this
// operator always gets a pipeline behind it, from its furthest stage, whatever happened to the queues (review
// S1-2, S1-3). Before the durable lock record, a stage that had failed for good or a submit whose fulfilment was
// reorged out was never run again: BullMQ's job-id dedupe made every re-enqueue a no-op, and the job was slashed.
import { expect } from "chai";
import { Wallet } from "ethers";
import type { Logger } from "pino";
import type { Queue } from "bullmq";
import { queueName, type JobData, type OperatorContext, type Stage } from "../../operator/pipeline.js";
import { resume, sweepLocks, trackLock } from "../../operator/recovery.js";
import { JobStatus } from "../../shared/enums.js";
import { worker } from "../../shared/queues.js";
import { jobRecord, lockedJob, operatorQueues, suiteRedis, type OperatorQueues } from "../fixtures/operatorQueues.js";

const NOW = 1_800_000_000;
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined } as unknown as Logger;

describe("locked-job recovery (real Redis, fake chain)", function () {
  this.timeout(60_000);
  const redis = suiteRedis();
  const address = new Wallet(Wallet.createRandom().privateKey).address;
  /** What the fake chain says about every job, and how often it was asked. */
  let onChain: { status: number; operator: string };
  let reads = 0;
  let ctx: OperatorContext;
  let queues: Record<Stage, Queue<JobData>>;
  let pipeline: OperatorQueues;

  const data = (jobId: string): JobData => lockedJob(jobId, address, ["1", "2"], NOW);

  beforeEach(() => {
    pipeline = operatorQueues(redis().url, address, "recovery");
    const { connection, prefix } = pipeline;
    queues = pipeline.queues;
    onChain = { status: JobStatus.Locked, operator: address };
    reads = 0;
    const d = data("0");
    ctx = {
      address,
      redis: connection,
      queues,
      config: { queuePrefix: prefix },
      chain: { chainId: 31337n, provider: { getBlock: async () => ({ timestamp: NOW }) } },
      // No head poller running: every reconciliation reads the chain.
      snapshot: { head: { fresh: () => undefined } },
      market: { jobOf: async () => (reads++, jobRecord(d, onChain.status, onChain.operator)) },
    } as unknown as OperatorContext;
  });
  afterEach(() => pipeline.close());

  /** A job in `stage` left `failed` or `completed` by a real worker, as the pipeline leaves it. */
  async function leave(stage: Stage, jobId: string, state: "failed" | "completed"): Promise<void> {
    const done = new Promise<void>((resolve) => {
      const w = worker<JobData, unknown>({ connection: ctx.redis, prefix: ctx.config.queuePrefix }, queueName(stage, address), async () => {
        if (state === "failed") throw new Error("RPC outage outlasted the retries");
        return { outcome: "done" };
      });
      w.on(state, () => void w.close().then(resolve));
    });
    await queues[stage].add(stage, data(jobId), { jobId: `31337-${jobId}`, attempts: 1 });
    await done;
  }

  it("a lock with no pipeline behind it (it mined after the lock stage stopped waiting) is started at prove", async () => {
    expect(await resume(ctx, data("1"))).to.deep.equal({ stage: "prove", action: "started" });
    expect(await (await queues.prove.getJob("31337-1"))!.getState()).to.be.oneOf(["waiting", "prioritized"]);
  });

  it("a stage that failed for good during an outage is retried with fresh attempts", async () => {
    await leave("prove", "2", "failed");
    expect(await (await queues.prove.getJob("31337-2"))!.getState()).to.equal("failed");
    expect(await resume(ctx, data("2"))).to.deep.equal({ stage: "prove", action: "retried" });
    expect(await (await queues.prove.getJob("31337-2"))!.getState()).to.be.oneOf(["waiting", "prioritized"]);
  });

  it("a completed submit whose fulfilment the chain does not show (reorged out) runs again", async () => {
    await leave("submit", "3", "completed");
    expect(await resume(ctx, data("3"))).to.deep.equal({ stage: "submit", action: "rerun" });
    expect(await (await queues.submit.getJob("31337-3"))!.getState()).to.be.oneOf(["waiting", "prioritized"]);
  });

  it("a job already queued is left alone (no second pipeline)", async () => {
    expect(await resume(ctx, data("4"))).to.deep.equal({ stage: "prove", action: "started" });
    expect(await resume(ctx, data("4"))).to.deep.include({ stage: "prove", action: "pending" }).and.to.have.property("state").that.is.oneOf(["waiting", "prioritized"]);
    expect(await queues.prove.getJobCountByTypes("waiting", "prioritized")).to.equal(1);
  });

  it("the sweep resumes tracked locks still held and forgets those settled or lost", async () => {
    await trackLock(ctx, data("5"), silent);
    await queues.prove.remove("31337-5"); // the pipeline is lost (e.g. Redis restored from an older snapshot)
    await sweepLocks(ctx, silent);
    expect(await queues.prove.getJob("31337-5"), "resumed by the sweep").to.not.equal(undefined);
    onChain = { status: JobStatus.Fulfilled, operator: address };
    await queues.prove.remove("31337-5"); // its pipeline ended (a stage that is still queued is left alone: below)
    await sweepLocks(ctx, silent);
    expect(await ctx.redis.zcard(`${ctx.config.queuePrefix}:locks:31337:${address.toLowerCase()}`), "forgotten once settled").to.equal(0);
  });

  it("a lock whose job a stage has queued is neither read from the chain nor touched, when tracked or swept", async () => {
    await queues.submit.add("submit", data("7"), { jobId: "31337-7", delay: 60_000 }); // a deferred submit
    await trackLock(ctx, data("7"), silent);
    await sweepLocks(ctx, silent);
    expect(reads).to.equal(0);
    expect(await queues.prove.getJob("31337-7")).to.equal(undefined);
    expect(await (await queues.submit.getJob("31337-7"))!.getState()).to.equal("delayed");
    // Once its stage has ended, the next sweep reads it: settled, it is forgotten.
    await queues.submit.remove("31337-7");
    onChain = { status: JobStatus.Fulfilled, operator: address };
    await sweepLocks(ctx, silent);
    expect(reads).to.equal(1);
    expect(await ctx.redis.zcard(`${ctx.config.queuePrefix}:locks:31337:${address.toLowerCase()}`)).to.equal(0);
  });

  it("a lock held by another operator is not resumed", async () => {
    onChain = { status: JobStatus.Locked, operator: Wallet.createRandom().address };
    await trackLock(ctx, data("6"), silent);
    expect(await queues.prove.getJob("31337-6")).to.equal(undefined);
  });
});
