// The stage runner on real BullMQ queues: a deferred job comes back under the same id and is looked at again
// (a skip used to be final for 24 h: the fault suite's first job, skipped as unprofitable during a fee reading,
// was never re-evaluated and was lost — issue 11 item 0), and a job of a model this operator does not serve fails
// for good at once instead of being retried and slashed.
import { expect } from "chai";
import { Wallet } from "ethers";
import { Registry } from "prom-client";
import { jobInput, operatorMetrics, type JobData, type OperatorContext } from "../../operator/pipeline.js";
import { runStage, type Outcome } from "../../operator/stage.js";
import { operatorQueues, suiteRedis, type OperatorQueues } from "../fixtures/operatorQueues.js";

const silent: unknown = { info: () => undefined, warn: () => undefined, debug: () => undefined, child: () => silent };

describe("stage runner (real Redis)", function () {
  this.timeout(30_000);
  const redis = suiteRedis();
  let pipeline: OperatorQueues;
  let ctx: OperatorContext;
  const address = Wallet.createRandom().address;
  const data = { chainId: "31337", jobId: "1", modelId: 9, input: ["1"], deadline: 2_000_000_000 } as JobData;

  beforeEach(() => {
    pipeline = operatorQueues(redis().url, address, "stage");
    ctx = {
      address,
      redis: pipeline.connection,
      queues: pipeline.queues,
      log: silent,
      metrics: operatorMetrics(new Registry()),
      catalog: { get: () => undefined },
      config: { queuePrefix: pipeline.prefix, operator: { jobLockMs: 5_000 } },
    } as unknown as OperatorContext;
  });
  afterEach(() => pipeline.close());

  it("a deferred job is evaluated again after its delay, under the same id, and can then be taken", async () => {
    const seen: number[] = [];
    const worker = runStage(ctx, "evaluate", async (): Promise<Outcome> => {
      seen.push(Date.now());
      return seen.length === 1 ? { outcome: "deferred", reason: "fees above the price for now", retryAt: Date.now() + 300 } : { outcome: "advanced" };
    }, 1);
    try {
      await pipeline.queues.evaluate.add("evaluate", data, { jobId: "31337-1" });
      for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      expect(seen, "looked at twice").to.have.length(2);
      expect(seen[1]! - seen[0]!, "after the delay").to.be.at.least(250);
      for (let i = 0; i < 40 && !(await pipeline.queues.evaluate.getJob("31337-1"))?.finishedOn; i++) await new Promise((r) => setTimeout(r, 50));
      const job = (await pipeline.queues.evaluate.getJob("31337-1"))!;
      expect(await job.getState()).to.equal("completed");
      expect(job.returnvalue).to.deep.equal({ outcome: "advanced" });
    } finally {
      await worker.close();
    }
  });

  it("a job of a model the operator does not serve fails for good on its first attempt (no retries, no lock)", async () => {
    const worker = runStage(ctx, "prove", async () => (jobInput(ctx, data), { outcome: "advanced" }), 1);
    try {
      await pipeline.queues.prove.add("prove", data, { jobId: "31337-1", attempts: 200, backoff: { type: "capped" } });
      for (let i = 0; i < 100 && !(await pipeline.queues.prove.getJob("31337-1"))?.finishedOn; i++) await new Promise((r) => setTimeout(r, 50));
      const job = (await pipeline.queues.prove.getJob("31337-1"))!;
      expect(await job.getState()).to.equal("failed");
      expect(job.attemptsMade).to.equal(1);
      expect(job.failedReason).to.match(/model 9 is not one this operator proves/);
    } finally {
      await worker.close();
    }
  });
});
