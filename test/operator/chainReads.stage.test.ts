// Chain requests the lock, verify and submit stages spend per job (issue 14: ≤ 10 requests per settled job): a job
// fresh from evaluate (or verify) is signed and handed to the relayer without reading the chain (the relayer's
// simulation is the check before the transaction), a lock the relayer saw mined moves the job on and a fulfilment it
// saw mined ends the job, both without a read,
// and only a job coming back (its request failed, or a restart) is read; the first
// proof of a circuit is checked by its registered verifier with eth_call, later ones of that circuit are not,
// and a rejection is never remembered as an acceptance. A job proven while its lock is on its way
// (operator.proveWhileLocking) is proven and submitted without a read while that lock is pending, and waits while the
// job is open once the lock failed. Real Redis queues; a fake chain that counts every read.
import { expect } from "chai";
import { AbiCoder, Wallet, ZeroAddress } from "ethers";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { operatorMetrics, type JobData, type OperatorContext } from "../../operator/pipeline.js";
import { lock } from "../../operator/stages/lock.js";
import { prove } from "../../operator/stages/prove.js";
import { submit } from "../../operator/stages/submit.js";
import { verify } from "../../operator/stages/verify.js";
import { RelayStore } from "../../relayer/store.js";
import type { LockRequest, RelayRequest } from "../../relayer/types.js";
import { configSchema } from "../../shared/config.js";
import { JobStatus } from "../../shared/enums.js";
import { queue, RELAYER_QUEUE } from "../../shared/queues.js";
import { rejection } from "../fixtures/errors.js";
import { jobRecord, lockedJob, operatorQueues, suiteRedis, type OperatorQueues } from "../fixtures/operatorQueues.js";

const NOW = 1_800_000_000;
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
const MARKET = Wallet.createRandom().address;
const VERIFIER = Wallet.createRandom().address;
const BATCH_VERIFIER = Wallet.createRandom().address;

describe("chain reads of the lock, verify and submit stages (real Redis, fake chain)", function () {
  this.timeout(30_000);
  const redis = suiteRedis();
  const wallet = Wallet.createRandom();
  let pipeline: OperatorQueues | undefined;
  const closers: (() => Promise<unknown>)[] = [];

  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await pipeline?.close();
    pipeline = undefined;
  });

  /** Requests the fake chain answered, by name; `accepts`: what the verifier's eth_call answers; `early`:
   * operator.proveWhileLocking (off unless asked for: most cases here are of the lock-then-prove order);
   * `proveSeconds`: the model's measured proving time (blocks here are 12 s). */
  function context(o: { status?: number; accepts?: boolean; early?: boolean; proveSeconds?: number } = {}) {
    const queues = operatorQueues(redis().url, wallet.address, "reads");
    pipeline = queues;
    const reads: string[] = [];
    const relay = queue<RelayRequest>({ connection: queues.connection, prefix: queues.prefix }, RELAYER_QUEUE);
    closers.push(() => relay.close());
    const relayStore = new RelayStore(queues.connection, queues.prefix);
    const ctx = {
      address: wallet.address,
      redis: queues.connection,
      queues: queues.queues,
      relay,
      relayStore,
      config: configSchema.parse({ queuePrefix: queues.prefix, operator: { proveWhileLocking: o.early ?? false } }),
      metrics: operatorMetrics(new Registry()),
      catalog: { get: () => undefined, recordGas: async () => undefined, proveSeconds: async () => o.proveSeconds ?? 5 },
      chain: {
        chainId: 31337n,
        signer: wallet,
        provider: {
          call: async () => {
            reads.push("eth_call verifyProof");
            return AbiCoder.defaultAbiCoder().encode(["bool"], [o.accepts ?? true]);
          },
        },
      },
      snapshot: { head: { fresh: () => ({ number: 100, hash: "0x64", timestamp: NOW }), blockSeconds: () => 12 } },
      market: {
        getAddress: async () => MARKET,
        jobOf: async (id: string) => (reads.push(`jobOf ${id}`), jobRecord(lockedJob(id, wallet.address, ["1"], NOW), o.status ?? JobStatus.Open, o.status === JobStatus.Locked ? wallet.address : ZeroAddress)),
        termsOf: async (id: string) => (reads.push(`termsOf ${id}`), "0x" + "11".repeat(32)),
      },
      registry: {
        layout: async (modelId: number) => (reads.push(`layout ${modelId}`), [VERIFIER]),
        batchLayout: async (batchId: number) => (reads.push(`batchLayout ${batchId}`), [1, 4, BATCH_VERIFIER]),
      },
    } as unknown as OperatorContext;
    return { ctx, reads, relay, relayStore };
  }

  /** A job as evaluate hands it to the lock stage: not locked yet, its terms from JobCreated. */
  const fresh = (jobId: string): JobData => ({ ...lockedJob(jobId, wallet.address, ["1"], NOW), operator: undefined, terms: "0x" + "11".repeat(32) });

  it("a job fresh from evaluate is signed and handed to the relayer with no chain request; its lock names the JobCreated terms", async () => {
    const { ctx, reads, relay } = context();
    const out = await lock(ctx, fresh("7"), silent);
    expect(out.outcome).to.equal("deferred");
    expect(reads).to.deep.equal([]);
    const [sent] = (await relay.getJobs(["waiting"])).map((j) => j.data as LockRequest);
    expect(sent).to.include({ kind: "lock", jobId: "7", terms: "0x" + "11".repeat(32), operator: wallet.address, validUntil: String(NOW + 100) });
  });

  it("a job whose lock came back failed from the relayer is read from the chain before anything else (here: locked by us after all, so on to proving)", async () => {
    const { ctx, reads, relayStore } = context({ status: JobStatus.Locked });
    const first = await lock(ctx, fresh("8"), silent);
    const again = (first as { data: JobData }).data;
    await relayStore.publish(again.lockRelay!.id, { status: "failed", reason: "simulation reverted: JobNotInStatus" });
    // The fake chain shows the job locked by us: the stage moves on to proving after one read.
    expect(await lock(ctx, again, silent)).to.deep.equal({ outcome: "advanced" });
    expect(reads).to.deep.equal(["jobOf 8"]);
  });

  it("a lock the relayer saw mined at its depth moves the job on to proving with no chain read, its gas booked", async () => {
    const { ctx, reads, relayStore } = context({ status: JobStatus.Open });
    const again = ((await lock(ctx, fresh("12"), silent)) as { data: JobData }).data;
    await relayStore.publish(again.lockRelay!.id, { status: "mined", txHash: "0x05", blockNumber: 101, gasUsed: "90000", effectiveGasPrice: "1", replacements: 0, batchSize: 1 });
    // The fake chain would say Open (a lagging node): the mined outcome is what counts, and nothing is read.
    expect(await lock(ctx, again, silent)).to.deep.equal({ outcome: "advanced" });
    expect(reads).to.deep.equal([]);
    const [proving] = await ctx.queues.prove.getJobs(["waiting", "prioritized", "delayed"]);
    expect(proving?.data).to.deep.include({ jobId: "12", operator: wallet.address });
    expect(await ctx.metrics.gasUsed.get()).to.have.nested.property("values[0].value", 90000);
  });

  it("proveWhileLocking: a job whose lock is sent is handed to prove at once with its lock relay while its proof would start within a block; not once the queue ahead of it takes longer", async () => {
    const { ctx, reads } = context({ early: true, proveSeconds: 5 });
    const sent = ((await lock(ctx, fresh("20"), silent)) as { data: JobData }).data;
    const [proving] = await ctx.queues.prove.getJobs(["waiting", "prioritized"]);
    expect(proving?.data).to.deep.include({ jobId: "20", lockRelay: sent.lockRelay });
    expect(proving?.data.operator).to.equal(undefined);
    // One prover (proveConcurrency 1), 5 s a proof, 12 s blocks: job 21 starts after 5 s and job 22 after 10 s,
    // both before their locks land; job 23 would start after 15 s, a block after its lock's outcome is known.
    for (const id of ["21", "22", "23"]) await lock(ctx, fresh(id), silent);
    expect((await ctx.queues.prove.getJobs(["waiting", "prioritized"])).map((j) => j.data.jobId).sort()).to.deep.equal(["20", "21", "22"]);
    expect(reads).to.deep.equal([]);
  });

  it("proveWhileLocking: with proofs longer than a block, only a job that finds its prover idle is proven while its lock lands", async () => {
    const { ctx } = context({ early: true, proveSeconds: 13 });
    for (const id of ["24", "25"]) await lock(ctx, fresh(id), silent);
    expect((await ctx.queues.prove.getJobs(["waiting", "prioritized"])).map((j) => j.data.jobId)).to.deep.equal(["24"]);
  });

  it("proveWhileLocking: with its lock pending, a proven job is submitted with no chain read; once the lock failed it waits while the job is open (prove and submit alike) and is dropped once another operator holds it", async () => {
    const chain = { early: true, status: JobStatus.Open };
    const { ctx, reads, relay, relayStore } = context(chain);
    const sent = ((await lock(ctx, fresh("22"), silent)) as { data: JobData }).data;
    const proven: JobData = { ...sent, proof: "0x01", instances: ["1", "2"], outputs: [2] };
    expect(await submit(ctx, proven, silent)).to.deep.include({ outcome: "deferred", reason: "fulfilment sent" });
    expect((await relay.getJobs(["waiting"])).map((j) => j.data.kind).sort()).to.deep.equal(["fulfil", "lock"]);
    expect(reads).to.deep.equal([]);
    // The lock failed (sent again by the lock stage, say) while the job is still open: prove and submit wait for it.
    await relayStore.publish(sent.lockRelay!.id, { status: "failed", reason: "replaced" });
    expect(await submit(ctx, proven, silent)).to.deep.include({ outcome: "deferred", reason: "lock not yet on-chain" });
    expect(await prove(ctx, sent, silent)).to.deep.include({ outcome: "deferred", reason: "lock not yet on-chain" });
    expect(reads).to.deep.equal(["jobOf 22"]); // one read for the block, shared
    // A block later, locked by another operator (the fake chain names our wallet; this context now stands for someone else).
    chain.status = JobStatus.Locked;
    (ctx.snapshot as unknown as { head: object }).head = { fresh: () => ({ number: 101, hash: "0x65", timestamp: NOW }), blockSeconds: () => 12 };
    (ctx as { address: string }).address = Wallet.createRandom().address;
    expect(await submit(ctx, proven, silent)).to.deep.include({ outcome: "skipped" });
    expect(await prove(ctx, sent, silent)).to.deep.include({ outcome: "skipped" });
  });

  it("a lock the relayer dropped as queued behind another operator's mined lock of the job is given up with no chain read", async () => {
    const { ctx, reads, relayStore } = context({ status: JobStatus.Locked });
    const again = ((await lock(ctx, fresh("11"), silent)) as { data: JobData }).data;
    await relayStore.publish(again.lockRelay!.id, { status: "failed", reason: "job 11 was locked by an earlier lock this relayer mined (0x04)", dropped: "job-not-open" });
    expect(await lock(ctx, again, silent)).to.deep.include({ outcome: "skipped" });
    expect(reads).to.deep.equal([]);
  });

  it("a proven job fresh from verify is signed and sent with no chain request; its fulfilment mined at the relayer's depth ends it with none either", async () => {
    const { ctx, reads, relay, relayStore } = context({ status: JobStatus.Locked });
    const data: JobData = { ...lockedJob("9", wallet.address, ["1"], NOW), proof: "0x01", instances: ["1", "2"], outputs: [2] };
    const first = await submit(ctx, data, silent);
    expect(first.outcome).to.equal("deferred");
    const again = (first as { data: JobData }).data;
    const [sent] = (await relay.getJobs(["waiting"])).map((j) => j.data);
    expect(sent).to.deep.include({ kind: "fulfil" });
    await relayStore.publish(again.fulfilRelay!, { status: "mined", txHash: "0x02", blockNumber: 101, gasUsed: "400000", effectiveGasPrice: "1", replacements: 0, batchSize: 1 });
    expect(await submit(ctx, again, silent)).to.deep.equal({ outcome: "done" });
    expect(reads).to.deep.equal([]);
  });

  it("a fulfilment that failed in the relayer is reconciled with the chain (one read) and sent again", async () => {
    const { ctx, reads, relayStore } = context({ status: JobStatus.Locked });
    const data: JobData = { ...lockedJob("10", wallet.address, ["1"], NOW), proof: "0x01", instances: ["1", "2"], outputs: [2] };
    const again = ((await submit(ctx, data, silent)) as { data: JobData }).data;
    await relayStore.publish(again.fulfilRelay!, { status: "reverted", reason: "failed in batch 0x03: DeadlinePassed" });
    const third = await submit(ctx, again, silent);
    expect(third).to.deep.include({ outcome: "deferred", reason: "fulfilment sent" });
    expect(reads).to.deep.equal(["jobOf 10"]);
  });

  it("the first proof of a circuit is checked by its registered verifier (eth_call), later proofs of it are not; a batch verifier is checked on its own", async () => {
    const { ctx, reads } = context();
    const proven = (jobId: string, batch?: JobData["batch"]): JobData => ({ ...lockedJob(jobId, wallet.address, ["1"], NOW), proof: "0x01", instances: ["1", "2"], ...(batch ? { batch } : {}) });
    for (const id of ["1", "2", "3"]) expect(await verify(ctx, proven(id), silent)).to.deep.equal({ outcome: "advanced" });
    expect(await verify(ctx, proven("4", { batchId: 5, slot: 0, jobIds: ["4"] }), silent)).to.deep.equal({ outcome: "advanced" });
    expect(await verify(ctx, proven("5", { batchId: 5, slot: 0, jobIds: ["5"] }), silent)).to.deep.equal({ outcome: "advanced" });
    expect(reads).to.deep.equal(["layout 1", "eth_call verifyProof", "batchLayout 5", "eth_call verifyProof"]);
    expect(await ctx.queues.submit.getJobCounts("prioritized", "waiting")).to.satisfy((c: Record<string, number>) => c.prioritized! + c.waiting! === 5);
  });

  it("a proof the registered verifier rejects fails the job (PROOF_REJECTED_ONCHAIN) and the next proof of that circuit is checked again", async () => {
    const { ctx, reads } = context({ accepts: false });
    const proven = (jobId: string): JobData => ({ ...lockedJob(jobId, wallet.address, ["1"], NOW), proof: "0x01", instances: ["1", "2"] });
    expect((await rejection(verify(ctx, proven("1"), silent))).message).to.match(/rejects the proof/);
    await rejection(verify(ctx, proven("2"), silent));
    expect(reads).to.deep.equal(["layout 1", "eth_call verifyProof", "layout 1", "eth_call verifyProof"]);
    expect(await ctx.queues.submit.count()).to.equal(0);
  });
});
