import { expect } from "chai";
import { UnrecoverableError } from "bullmq";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Registry } from "prom-client";
import { startLocalRedis } from "../../infra/localRedis.js";
import type { LocalService } from "../../infra/service.js";
import { classifySendError, describeRevert } from "../../shared/rpcErrors.js";
import { bumpFees, isBump, type Fees } from "../../relayer/fees.js";
import { startRelayWorker } from "../../relayer/main.js";
import { Relayer } from "../../relayer/relay.js";
import { relayJobId, type FulfilRequest, type LockRequest, type RelayRequest } from "../../relayer/types.js";
import { configSchema, type Config } from "../../shared/config.js";
import { createLogger } from "../../shared/logger.js";
import { queue, RELAYER_QUEUE, redisConnection } from "../../shared/queues.js";
import { InferenceMarket__factory } from "../../types/ethers-contracts/index.js";
import { createJob, deploySystem, ethers, LOCK_TYPES, lockedJob, marketDomain, networkHelpers, signedFulfilment, type System } from "../fixtures/system.js";

const { loadFixture, time } = networkHelpers;
const DEFAULTS = configSchema.parse({}).relayer;
const silent = createLogger("relayer-test", "silent");
const GWEI = 10n ** 9n;
const RELAYER_FEE = 1000n;

function newRelayer(s: System, overrides: Partial<Config["relayer"]> = {}) {
  const registry = new Registry();
  const relayer = new Relayer({ signer: s.relayer, config: { ...DEFAULTS, ...overrides }, logger: silent, registry });
  return { relayer, registry };
}

/** Sum of a metric's values whose labels include `labels`. */
async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function chainId(): Promise<string> {
  return (await ethers.provider.getNetwork()).chainId.toString();
}

/** The operator's signed lock of `jobId`, valid for `validFor` seconds from the latest block (negative: expired). */
async function lockRequest(s: System, jobId: bigint, validFor = 300n): Promise<LockRequest> {
  const validUntil = BigInt(await time.latest()) + validFor;
  const terms = await s.market.termsOf(jobId);
  const signature = await s.operator.signTypedData(await marketDomain(s.market), LOCK_TYPES, { jobId, terms, operator: s.operator.address, validUntil });
  return {
    kind: "lock",
    chainId: await chainId(),
    market: await s.market.getAddress(),
    jobId: jobId.toString(),
    terms,
    operator: s.operator.address,
    validUntil: validUntil.toString(),
    signature,
  };
}

/** The operator's signed fulfilment of `jobId`, naming the fixture's relayer for a small fee. */
async function fulfilRequest(s: System, jobId: bigint): Promise<FulfilRequest> {
  const a = await signedFulfilment(s.market, s.operator, jobId, { relayer: s.relayer.address, relayerFee: RELAYER_FEE });
  return {
    kind: "fulfil",
    chainId: await chainId(),
    market: await s.market.getAddress(),
    auth: { jobId: a.jobId.toString(), proof: a.proof, instances: a.instances.map(String), relayerFee: a.relayerFee.toString(), relayer: a.relayer, signature: a.signature },
  };
}

/** Runs `relay` expecting it to fail; returns the error. */
async function rejection(relay: Promise<unknown>): Promise<Error> {
  try {
    await relay;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected the relay to fail");
}

describe("Relayer.relay", () => {
  it("relay of a signed lock locks the job for the operator and reports the receipt's gas", async () => {
    const s = await loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const { relayer, registry } = newRelayer(s);

    const result = await relayer.relay(await lockRequest(s, jobId));

    const job = await s.market.jobOf(jobId);
    expect(job.status).to.equal(2n); // Locked
    expect(job.operator).to.equal(s.operator.address);
    const receipt = await ethers.provider.getTransactionReceipt(result.txHash);
    expect(receipt?.from).to.equal(s.relayer.address);
    expect(result.gasUsed).to.equal(receipt?.gasUsed.toString());
    expect(BigInt(result.gasUsed)).to.be.greaterThan(0n);
    expect(result.blockNumber).to.equal(receipt?.blockNumber);
    expect(result.replacements).to.equal(0);
    expect(await metric(registry, "verdict_relayer_tx_sent_total", { kind: "lock" })).to.equal(1);
    expect(await metric(registry, "verdict_relayer_tx_mined_total", { kind: "lock" })).to.equal(1);
    expect(await metric(registry, "verdict_relayer_gas_used_total", { kind: "lock" })).to.equal(Number(result.gasUsed));
    expect(await metric(registry, "verdict_relayer_balance_eth")).to.be.greaterThan(0);
  });

  it("relay of a signed fulfilment settles the job and credits the designated relayer its fee", async () => {
    const s = await loadFixture(deploySystem);
    const jobId = await lockedJob(s);
    const { relayer } = newRelayer(s);

    const result = await relayer.relay(await fulfilRequest(s, jobId));

    expect((await s.market.jobOf(jobId)).status).to.equal(3n); // Fulfilled
    expect(await s.market.balanceOf(s.relayer.address, ethers.ZeroAddress)).to.equal(RELAYER_FEE);
    expect((await ethers.provider.getTransactionReceipt(result.txHash))?.status).to.equal(1);
  });

  it("relay drops a second fulfilment of a settled job after simulation with UnrecoverableError naming JobNotInStatus, sending nothing", async () => {
    const s = await loadFixture(deploySystem);
    const jobId = await lockedJob(s);
    const { relayer, registry } = newRelayer(s);
    const request = await fulfilRequest(s, jobId);
    await relayer.relay(request);
    const nonce = await ethers.provider.getTransactionCount(s.relayer.address, "pending");

    const err = await rejection(relayer.relay(request));

    expect(err).to.be.instanceOf(UnrecoverableError);
    expect(err.message).to.equal(`simulation reverted: JobNotInStatus(${jobId}, 3, 2)`);
    expect(await ethers.provider.getTransactionCount(s.relayer.address, "pending")).to.equal(nonce);
    expect(await metric(registry, "verdict_relayer_tx_dropped_total", { kind: "fulfil", reason: "simulation-reverted" })).to.equal(1);
    expect(await metric(registry, "verdict_relayer_tx_sent_total")).to.equal(1);
  });

  it("relay drops a lock whose signature has expired with UnrecoverableError naming SignatureExpired, sending nothing", async () => {
    const s = await loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const { relayer } = newRelayer(s);
    const request = await lockRequest(s, jobId, -1n);
    const nonce = await ethers.provider.getTransactionCount(s.relayer.address, "pending");

    const err = await rejection(relayer.relay(request));

    expect(err).to.be.instanceOf(UnrecoverableError);
    expect(err.message).to.equal(`simulation reverted: SignatureExpired(${request.validUntil})`);
    expect(await ethers.provider.getTransactionCount(s.relayer.address, "pending")).to.equal(nonce);
    expect((await s.market.jobOf(jobId)).status).to.equal(1n); // still Open
  });

  it("relay drops a request for another chain or with a malformed field as unrecoverable, sending nothing", async () => {
    const s = await loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const { relayer, registry } = newRelayer(s);
    const request = await lockRequest(s, jobId);
    const nonce = await ethers.provider.getTransactionCount(s.relayer.address, "pending");

    const otherChain = await rejection(relayer.relay({ ...request, chainId: "1" }));
    const badOperator = await rejection(relayer.relay({ ...request, operator: "0x1234" }));

    expect(otherChain).to.be.instanceOf(UnrecoverableError);
    expect(otherChain.message).to.match(/request is for chain 1/);
    expect(badOperator).to.be.instanceOf(UnrecoverableError);
    expect(badOperator.message).to.match(/^malformed lock request/);
    expect(await metric(registry, "verdict_relayer_tx_dropped_total", { reason: "wrong-chain" })).to.equal(1);
    expect(await metric(registry, "verdict_relayer_tx_dropped_total", { reason: "bad-request" })).to.equal(1);
    expect(await ethers.provider.getTransactionCount(s.relayer.address, "pending")).to.equal(nonce);
  });

  it("two concurrent relays from one key get consecutive nonces and both mine without a nonce error", async () => {
    const s = await loadFixture(deploySystem);
    const jobs = [await createJob(s.market, s.requester), await createJob(s.market, s.requester)];
    const requests = await Promise.all(jobs.map((j) => lockRequest(s, j)));
    const { relayer, registry } = newRelayer(s);
    const first = await ethers.provider.getTransactionCount(s.relayer.address, "pending");

    const results = await Promise.all(requests.map((r) => relayer.relay(r)));

    const nonces = await Promise.all(results.map(async (r) => (await ethers.provider.getTransaction(r.txHash))!.nonce));
    expect(nonces.sort((a, b) => a - b)).to.deep.equal([first, first + 1]);
    for (const j of jobs) expect((await s.market.jobOf(j)).status).to.equal(2n);
    expect(await metric(registry, "verdict_relayer_nonce_errors_total")).to.equal(0);
  });

  it("relay re-syncs its nonce from the chain after a nonce-too-low error and still mines the request", async () => {
    const s = await loadFixture(deploySystem);
    const jobs = [await createJob(s.market, s.requester), await createJob(s.market, s.requester)];
    const { relayer, registry } = newRelayer(s);
    await relayer.relay(await lockRequest(s, jobs[0]!));
    // Another sender on the same key takes the nonce the relayer would use next.
    await (await s.relayer.sendTransaction({ to: s.stranger.address, value: 1n })).wait();

    const result = await relayer.relay(await lockRequest(s, jobs[1]!));

    expect((await s.market.jobOf(jobs[1]!)).status).to.equal(2n);
    expect((await ethers.provider.getTransaction(result.txHash))?.nonce).to.equal((await ethers.provider.getTransactionCount(s.relayer.address)) - 1);
    expect(await metric(registry, "verdict_relayer_nonce_errors_total")).to.equal(1);
  });

  it("relay replaces a transaction unmined after stuckAfterMs with higher fees at the same nonce, and the job settles once", async () => {
    const s = await loadFixture(deploySystem);
    const jobId = await lockedJob(s);
    const { relayer, registry } = newRelayer(s, { stuckAfterMs: 300 });
    const request = await fulfilRequest(s, jobId);
    const pendingHashes = async () => ((await ethers.provider.send("eth_getBlockByNumber", ["pending", false])) as { transactions: string[] }).transactions;

    await ethers.provider.send("evm_setAutomine", [false]);
    try {
      const relayed = relayer.relay(request);
      relayed.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
      await until(async () => (await pendingHashes()).length === 1, "the first send");
      const [firstHash] = await pendingHashes();
      const original = await ethers.provider.getTransaction(firstHash!);
      await until(async () => (await metric(registry, "verdict_relayer_tx_replaced_total")) >= 1, "a replacement");
      await ethers.provider.send("evm_mine", []);

      const result = await relayed;

      expect(result.replacements).to.be.at.least(1);
      expect(result.txHash).to.not.equal(firstHash);
      const mined = await ethers.provider.getTransaction(result.txHash);
      expect(mined?.nonce).to.equal(original?.nonce);
      expect(mined!.maxFeePerGas! * 100n).to.be.at.least(original!.maxFeePerGas! * BigInt(100 + DEFAULTS.feeBumpPercent));
      expect(mined!.maxPriorityFeePerGas! * 100n).to.be.at.least(original!.maxPriorityFeePerGas! * BigInt(100 + DEFAULTS.feeBumpPercent));
      expect(await ethers.provider.getTransactionReceipt(firstHash!)).to.equal(null);
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }
    expect((await s.market.jobOf(jobId)).status).to.equal(3n);
    expect(await s.market.queryFilter(s.market.filters.JobFulfilled(jobId))).to.have.length(1);
  });
});

describe("relay worker on RELAYER_QUEUE (real Redis)", () => {
  let redis: LocalService;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    redis = await startLocalRedis();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  after(async () => {
    await redis?.stop();
  });

  it("a job whose request would revert fails without retries and lands in the dead-letter queue with the decoded reason", async () => {
    const s = await loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester); // Open: a fulfilment reverts until it is locked
    const request = await fulfilRequest(s, jobId);
    const connection = redisConnection(redis.url);
    closers.push(() => connection.quit());
    const ctx = { connection, prefix: `relay-test-${randomUUID()}` };
    const { relayer } = newRelayer(s);
    const relayWorker = startRelayWorker(ctx, relayer, silent, 2);
    const { deadLetters } = relayWorker;
    const relayQueue = queue<RelayRequest>(ctx, RELAYER_QUEUE);
    closers.push(() => relayQueue.close(), () => relayWorker.close());

    const id = relayJobId(request);
    await relayQueue.add(request.kind, request, { jobId: id, attempts: 5, backoff: { type: "exponential", delay: 1000 } });
    await until(async () => (await deadLetters.getJob(id)) !== undefined, "the dead letter");

    const dead = (await deadLetters.getJob(id))!;
    expect(dead.data.request).to.deep.equal(request);
    expect(dead.data.reason).to.equal(`simulation reverted: JobNotInStatus(${jobId}, 1, 2)`);
    expect(Date.parse(dead.data.at)).to.be.closeTo(Date.now(), 60_000);
    await until(async () => (await relayQueue.getJob(id))?.finishedOn !== undefined, "the relay job to finish");
    const job = (await relayQueue.getJob(id))!;
    expect(await job.getState()).to.equal("failed");
    expect(job.attemptsMade).to.equal(1);
  });
});

describe("relayer fees and error classification", () => {
  const policy = { feeBumpPercent: 15, maxFeePerGasGwei: 100 };

  it("bumpFees raises both fee fields by feeBumpPercent rounded up, or to the market's when higher", () => {
    const previous: Fees = { maxFeePerGas: 1_025_717_157n, maxPriorityFeePerGas: 1_000_000_001n };
    const bumped = bumpFees(previous, { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }, policy);
    expect(bumped).to.deep.equal({ maxFeePerGas: 1_179_574_731n, maxPriorityFeePerGas: 1_150_000_002n });
    expect(isBump(previous, bumped)).to.equal(true);
    const market: Fees = { maxFeePerGas: 50n * GWEI, maxPriorityFeePerGas: 2n * GWEI };
    expect(bumpFees(previous, market, policy)).to.deep.equal(market);
  });

  it("bumpFees stops at maxFeePerGasGwei, and isBump then reports the result as no valid replacement", () => {
    const previous: Fees = { maxFeePerGas: 95n * GWEI, maxPriorityFeePerGas: 95n * GWEI };
    const bumped = bumpFees(previous, previous, policy);
    expect(bumped).to.deep.equal({ maxFeePerGas: 100n * GWEI, maxPriorityFeePerGas: 100n * GWEI });
    expect(isBump(previous, bumped)).to.equal(false);
  });

  it("classifySendError maps node and ethers errors to retry, bump, resync-nonce or drop", () => {
    const cases: [unknown, string, string][] = [
      [new Error("Nonce too low. Expected nonce to be 3 but got 2."), "resync-nonce", "nonce-too-low"],
      [{ code: "NONCE_EXPIRED", shortMessage: "nonce has already been used" }, "resync-nonce", "nonce-too-low"],
      [{ code: "UNKNOWN_ERROR", error: { code: -32000, message: "already known" } }, "resync-nonce", "already-known"],
      [new Error("Known transaction: 0xfee6"), "resync-nonce", "already-known"],
      [{ code: "REPLACEMENT_UNDERPRICED", info: { error: { message: "replacement transaction underpriced" } } }, "bump", "replacement-underpriced"],
      [new Error("Sender doesn't have enough funds to send tx."), "retry", "insufficient-funds"],
      [{ code: "CALL_EXCEPTION", data: "0x" }, "drop", "reverted"],
      [{ code: 3, message: "execution reverted", data: "0xbfa13283" }, "drop", "reverted"],
      [{ code: "NETWORK_ERROR" }, "retry", "network"],
      // ethers v6 turns every JSON-RPC error answered for eth_call/eth_estimateGas into CALL_EXCEPTION, data null
      // when there is no revert data: a provider's failure, not a revert (review S1-1).
      [{ code: "CALL_EXCEPTION", data: null, shortMessage: "missing revert data", info: { error: { code: -32005, message: "rate limit exceeded" } } }, "retry", "network"],
      [{ code: "CALL_EXCEPTION", data: null, shortMessage: "missing revert data", info: { error: { code: -32000, message: "header not found" } } }, "retry", "network"],
      [{ code: "CALL_EXCEPTION", data: null, shortMessage: "missing revert data", info: { error: { code: -32000, message: "execution aborted (timeout = 5s)" } } }, "retry", "network"],
      [{ code: "CALL_EXCEPTION", data: null, shortMessage: "missing revert data", info: { error: { code: -32603, message: "internal error" } } }, "retry", "unknown"],
      [{ code: "CALL_EXCEPTION", data: null, info: { error: { code: -32000, message: "execution reverted" } } }, "drop", "reverted"],
      [new Error("request failed", { cause: { code: "ECONNREFUSED" } }), "retry", "network"],
      [new Error("something odd"), "retry", "unknown"],
    ];
    for (const [error, action, reason] of cases) expect(classifySendError(error), JSON.stringify(error)).to.deep.equal({ action, reason });
  });

  it("describeRevert decodes a market custom error and Error(string) from nested revert data", () => {
    const iface = InferenceMarket__factory.createInterface();
    const custom = iface.encodeErrorResult("JobNotInStatus", [7n, 3, 2]);
    expect(describeRevert({ info: { error: { data: custom } } }, iface)).to.equal("JobNotInStatus(7, 3, 2)");
    const reason = iface.encodeErrorResult("Error", ["paused"]);
    expect(describeRevert({ code: "CALL_EXCEPTION", data: reason }, iface)).to.equal("Error(paused)");
    expect(describeRevert({ code: "CALL_EXCEPTION", data: "0x" }, iface)).to.equal("no revert reason");
  });
});
