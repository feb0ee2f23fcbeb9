// The stage runner on real BullMQ queues: a deferred job comes back under the same id and is looked at again
// (a skip used to be final for 24 h: the fault suite's first job, skipped as unprofitable during a fee reading,
// was never re-evaluated and was lost — issue 11 item 0), and a job of a model this operator does not serve fails
// for good at once instead of being retried and slashed.
import { expect } from "chai";
import { Wallet } from "ethers";
import { Registry } from "prom-client";
import { jobInput, operatorMetrics, relayState, sendToRelayer, type JobData, type OperatorContext } from "../../operator/pipeline.js";
import { RelayStore } from "../../relayer/store.js";
import type { LockRequest, RelayOutcome, RelayRequest, RelaySent } from "../../relayer/types.js";
import { queue, RELAYER_QUEUE, worker } from "../../shared/queues.js";
import { runStage, type Outcome } from "../../operator/stage.js";
import { OutcomeWakeups } from "../../operator/wakeups.js";
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

  it("a stage job deferred while its relay request is pending is woken the moment the relayer publishes the outcome, not at its retryAt 30 s later", async () => {
    const qctx = { connection: pipeline.connection, prefix: pipeline.prefix };
    const relay = queue<RelayRequest>(qctx, RELAYER_QUEUE);
    const store = new RelayStore(pipeline.connection, pipeline.prefix);
    const wakeups = await OutcomeWakeups.start(pipeline.queues, store, ctx.log);
    const relayCtx = { ...ctx, relay, relayStore: store, wakeups } as unknown as OperatorContext;
    const request: LockRequest = { kind: "lock", chainId: "31337", market: address, jobId: "1", terms: "0x", operator: address, validUntil: "1", signature: "0x" };
    const looks: number[] = [];
    const worker = runStage(relayCtx, "lock", async (d): Promise<Outcome> => {
      looks.push(Date.now());
      if (looks.length > 1) return { outcome: "advanced" };
      await sendToRelayer(relayCtx, request, "wake-test", { stage: "lock", data: d });
      return { outcome: "deferred", reason: "lock sent", retryAt: Date.now() + 30_000, quiet: true };
    }, 1);
    try {
      await pipeline.queues.lock.add("lock", data, { jobId: "31337-1" });
      for (let i = 0; i < 100 && !(await (await pipeline.queues.lock.getJob("31337-1"))?.isDelayed()); i++) await new Promise((r) => setTimeout(r, 20));
      const published = Date.now();
      await store.publish("wake-test", { status: "mined", txHash: "0x01", blockNumber: 7, gasUsed: "50000", effectiveGasPrice: "1", replacements: 0, batchSize: 1 });
      for (let i = 0; i < 200 && looks.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(looks, "looked at again").to.have.length(2);
      expect(looks[1]! - published, "woken by the outcome").to.be.below(2_000);
    } finally {
      await worker.close();
      wakeups.close();
      await relay.obliterate({ force: true });
      await relay.close();
    }
  });

  it("relayState reads the relayer's outcome in one Redis call (pending while the relay job exists); sendToRelayer forgets a settled request and adds it again", async () => {
    const qctx = { connection: pipeline.connection, prefix: pipeline.prefix };
    const relay = queue<RelayRequest>(qctx, RELAYER_QUEUE);
    const store = new RelayStore(pipeline.connection, pipeline.prefix);
    const relayCtx = { ...ctx, relay, relayStore: store } as unknown as OperatorContext;
    const request: LockRequest = { kind: "lock", chainId: "31337", market: address, jobId: "1", terms: "0x", operator: address, validUntil: "1", signature: "0x" };
    const id = "lock-test";
    const sent: RelaySent = { from: address, nonce: 0, txHash: "0x01", batchSize: 1 };
    let taken = 0;
    // Stands in for the relayer's worker: the job completes at broadcast.
    const relayWorker = worker<RelayRequest, RelaySent>(qctx, RELAYER_QUEUE, async () => (taken++, sent));
    const completed = async () => {
      for (let i = 0; i < 100 && !(await relay.getJob(id))?.finishedOn; i++) await new Promise((r) => setTimeout(r, 50));
    };
    try {
      expect(await relayState(relayCtx, id)).to.deep.equal({ state: "missing" });
      await sendToRelayer(relayCtx, request, id);
      await completed();
      expect(await relayState(relayCtx, id)).to.deep.equal({ state: "pending" }); // broadcast, no outcome yet
      const mined: RelayOutcome = { status: "mined", txHash: "0x01", blockNumber: 7, gasUsed: "50000", effectiveGasPrice: "1", replacements: 0, batchSize: 1 };
      await store.publish(id, mined);
      expect(await relayState(relayCtx, id)).to.deep.equal({ state: "mined", result: mined });
      await store.publish(id, { status: "replaced", reason: "nonce 0 was used by another transaction" });
      expect(await relayState(relayCtx, id)).to.deep.equal({ state: "failed", reason: "replaced: nonce 0 was used by another transaction" });

      await sendToRelayer(relayCtx, request, id); // the stage sends it again
      expect((await store.lookup(id)).outcome).to.equal(undefined);
      await completed();
      expect(taken, "the relay job was added again and taken").to.equal(2);
      expect(await relayState(relayCtx, id)).to.deep.equal({ state: "pending" });
    } finally {
      await relayWorker.close();
      await relay.close();
    }
  });
});
