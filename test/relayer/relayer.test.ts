// The relayer against real Redis and the in-process EDR chain, on automine and on interval mining: a relay completes
// at broadcast and the key's inclusion tracker publishes each request's outcome (mined at the confirmation depth,
// reverted, replaced); fulfilments batch; stuck transactions are replaced, reorged ones re-sent; several keys; a
// restart mid-flight resumes from the journal.
import { expect } from "chai";
import { UnrecoverableError } from "bullmq";
import { FeeData, keccak256, Network, Wallet, type Provider, type Signer } from "ethers";
import http from "node:http";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Registry } from "prom-client";
import { DEV_KEYS } from "../../infra/localStack.js";
import { startLocalRedis } from "../../infra/localRedis.js";
import { startRpcFaultProxy } from "../../infra/rpcFaultProxy.js";
import type { LocalService } from "../../infra/service.js";
import { RetryingJsonRpcProvider } from "../../shared/rpcProvider.js";
import { classifySendError, describeRevert } from "../../shared/rpcErrors.js";
import { bumpFees, FeeOracle, isBump, type Fees } from "../../relayer/fees.js";
import { startRelayWorker } from "../../relayer/main.js";
import { Relayer } from "../../relayer/relay.js";
import { RelayStore } from "../../relayer/store.js";
import { relayJobId, type FulfilRequest, type LockRequest, type RelayOutcome, type RelayRequest, type RelaySent } from "../../relayer/types.js";
import { configSchema, type Config } from "../../shared/config.js";
import { createLogger } from "../../shared/logger.js";
import { queue, RELAYER_QUEUE, redisConnection } from "../../shared/queues.js";
import { HostileConsumer__factory, InferenceMarket__factory } from "../../types/ethers-contracts/index.js";
import { connection, createJob, deploySystem, ethers, LOCK_TYPES, lockedJob, marketDomain, networkHelpers, signedFulfilment, type System } from "../fixtures/system.js";

const { loadFixture, time } = networkHelpers;
const DEFAULTS = configSchema.parse({}).relayer;
const silent = createLogger("relayer-test", process.env.RELAY_TEST_LOG === "1" ? "debug" : "silent");
const GWEI = 10n ** 9n;
const RELAYER_FEE = 1000n;
const market = InferenceMarket__factory.createInterface();

/** Sum of a metric's values whose labels include `labels`. */
async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
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
async function lockRequest(s: System, jobId: bigint, validFor = 300n, operator: Signer = s.operator): Promise<LockRequest> {
  const validUntil = BigInt(await time.latest()) + validFor;
  const terms = await s.market.termsOf(jobId);
  const address = await operator.getAddress();
  const signature = await operator.signTypedData(await marketDomain(s.market), LOCK_TYPES, { jobId, terms, operator: address, validUntil });
  return {
    kind: "lock",
    chainId: await chainId(),
    market: await s.market.getAddress(),
    jobId: jobId.toString(),
    terms,
    operator: address,
    validUntil: validUntil.toString(),
    signature,
  };
}

/** The operator's signed fulfilment of `jobId`, naming `relayer` (default: the fixture's relayer) for a small fee. */
async function fulfilRequest(s: System, jobId: bigint, relayer: string = s.relayer.address, operator: Signer = s.operator): Promise<FulfilRequest> {
  const a = await signedFulfilment(s.market, operator, jobId, { relayer, relayerFee: relayer === ethers.ZeroAddress ? 0n : RELAYER_FEE });
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

function sent(r: RelaySent | RelayOutcome): RelaySent {
  if ("status" in r) throw new Error(`expected a broadcast, got outcome ${r.status}`);
  return r;
}

function mined(o: RelayOutcome): Extract<RelayOutcome, { status: "mined" }> {
  if (o.status !== "mined") throw new Error(`expected mined, got ${o.status}: ${o.reason}`);
  return o;
}

/** Automine off; with `intervalMs` a block every intervalMs (a real chain's cadence), else only on evm_mine. */
async function manualMining(intervalMs = 0): Promise<void> {
  await ethers.provider.send("evm_setAutomine", [false]);
  await ethers.provider.send("evm_setIntervalMining", [intervalMs]);
}
async function automine(): Promise<void> {
  await ethers.provider.send("evm_setIntervalMining", [0]);
  await ethers.provider.send("evm_setAutomine", [true]);
}

/**
 * The in-process chain over HTTP JSON-RPC (single and batch requests), so that the relayer reaches it the way it
 * reaches a node: through the production provider and, in front of it, the fault proxy.
 */
async function serveOverHttp(): Promise<{ url: string; close(): Promise<void> }> {
  type Item = { id?: unknown; method: string; params?: unknown[] };
  const answer = async ({ id, method, params }: Item) => {
    try {
      return { jsonrpc: "2.0", id, result: await connection.provider.request({ method, params: params ?? [] }) };
    } catch (e) {
      const err = e as { code?: number; message?: string; data?: unknown };
      return { jsonrpc: "2.0", id, error: { code: typeof err.code === "number" ? err.code : -32603, message: err.message ?? String(e), data: err.data } };
    }
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Item | Item[];
      void (Array.isArray(body) ? Promise.all(body.map(answer)) : answer(body)).then((out) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const pendingHashes = async () => ((await ethers.provider.send("eth_getBlockByNumber", ["pending", false])) as { transactions: string[] }).transactions;

describe("Relayer (real Redis, in-process chain)", () => {
  let redis: LocalService;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    redis = await startLocalRedis();
  });
  afterEach(async () => {
    await automine();
    for (const close of closers.splice(0).reverse()) await close();
  });
  after(async () => {
    await redis?.stop();
  });

  /** The fixture's relayer account as a local signer (journalled raw transactions), and a store on a fresh prefix. */
  function storeFor(prefix = `relay-test-${randomUUID()}`): RelayStore {
    const connection = redisConnection(redis.url);
    closers.push(() => connection.quit());
    return new RelayStore(connection, prefix);
  }

  async function newRelayer(overrides: Partial<Config["relayer"]> = {}, o: { store?: RelayStore; keys?: Wallet[] } = {}) {
    const registry = new Registry();
    const store = o.store ?? storeFor();
    const keys = o.keys ?? [new Wallet(DEV_KEYS.relayer, ethers.provider)];
    const relayer = new Relayer({ signers: keys, config: { ...DEFAULTS, ...overrides }, logger: silent, registry, store });
    closers.push(() => relayer.close());
    await relayer.start();
    return { relayer, registry, store, keys };
  }

  /** Relays one fulfilment alone and waits for it: the relayer has then measured the kind's gas, and batches. */
  async function measureFulfilGas(s: System, relayer: Relayer): Promise<void> {
    const request = await fulfilRequest(s, await lockedJob(s));
    expect(sent(await relayer.relay(request, relayJobId(request))).batchSize).to.equal(1);
    mined(await relayer.outcome(relayJobId(request)));
  }

  it("the fixture's relayer account is DEV_KEYS.relayer (so tests sign locally, with a journal of raw transactions)", async () => {
    const s = await loadFixture(deploySystem);
    expect(new Wallet(DEV_KEYS.relayer).address).to.equal(s.relayer.address);
  });

  it("relay of a signed lock on interval mining resolves at broadcast, before its block; the outcome is published once at the confirmation depth", async () => {
    const s = await loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const { relayer, registry, store, keys } = await newRelayer({ confirmations: 2 });
    const request = await lockRequest(s, jobId);
    await manualMining(500);

    const ticket = sent(await relayer.relay(request, relayJobId(request)));

    expect(await ethers.provider.getTransactionReceipt(ticket.txHash)).to.equal(null); // not mined yet
    expect(ticket.from).to.equal(keys[0]!.address);
    expect(ticket.batchSize).to.equal(1);
    expect((await store.lookup(relayJobId(request))).sent).to.deep.equal(ticket);
    expect((await store.entries(ticket.from)).map((e) => e.nonce)).to.deep.equal([ticket.nonce]);

    const outcome = mined(await relayer.outcome(relayJobId(request)));
    const receipt = (await ethers.provider.getTransactionReceipt(ticket.txHash))!;
    expect(await ethers.provider.getBlockNumber()).to.be.at.least(receipt.blockNumber + 1);
    expect(outcome).to.deep.equal({
      status: "mined",
      txHash: ticket.txHash,
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed.toString(),
      effectiveGasPrice: receipt.gasPrice.toString(),
      replacements: 0,
      batchSize: 1,
    });
    expect(await store.lookup(relayJobId(request))).to.deep.equal({ outcome }); // published; no longer in flight
    expect(await store.entries(ticket.from)).to.deep.equal([]); // journal cleared
    const job = await s.market.jobOf(jobId);
    expect(job.status).to.equal(2n); // Locked
    expect(job.operator).to.equal(s.operator.address);
    expect(await metric(registry, "verdict_relayer_tx_sent_total", { kind: "lock" })).to.equal(1);
    expect(await metric(registry, "verdict_relayer_tx_mined_total", { kind: "lock" })).to.equal(1);
    expect(await metric(registry, "verdict_relayer_gas_used_total", { kind: "lock" })).to.equal(Number(receipt.gasUsed));
    expect(await metric(registry, "verdict_relayer_balance_eth")).to.be.greaterThan(0);

    // A re-delivered relay job (a relayer restarted between broadcast and the job's completion) sends nothing.
    const nonce = await ethers.provider.getTransactionCount(ticket.from, "pending");
    expect(await relayer.relay(request, relayJobId(request))).to.deep.equal(outcome);
    expect(await ethers.provider.getTransactionCount(ticket.from, "pending")).to.equal(nonce);
  });

  it("fulfilments arriving within the batch window share one fulfilBatch on interval mining; each gets its own mined outcome and gas share; the first (gas unmeasured) goes alone", async () => {
    const s = await loadFixture(deploySystem);
    const jobs = [await lockedJob(s), await lockedJob(s), await lockedJob(s), await lockedJob(s)];
    const requests = await Promise.all(jobs.map((j) => fulfilRequest(s, j)));
    const { relayer, registry } = await newRelayer({ batchWindowMs: 300 });
    await manualMining(500);

    const lone = sent(await relayer.relay(requests[0]!, relayJobId(requests[0]!)));
    expect(lone.batchSize).to.equal(1);
    expect(market.parseTransaction((await ethers.provider.getTransaction(lone.txHash))!)?.name).to.equal("fulfilWithSignature");
    mined(await relayer.outcome(relayJobId(requests[0]!)));
    const batched = requests.slice(1);
    const tickets = (await Promise.all(batched.map((r) => relayer.relay(r, relayJobId(r))))).map(sent);

    expect(new Set(tickets.map((t) => t.txHash)).size).to.equal(1);
    expect(tickets.map((t) => t.batchSize)).to.deep.equal([3, 3, 3]);
    const tx = (await ethers.provider.getTransaction(tickets[0]!.txHash))!;
    expect(market.parseTransaction(tx)?.name).to.equal("fulfilBatch");
    const outcomes = (await Promise.all(batched.map((r) => relayer.outcome(relayJobId(r))))).map(mined);
    const receipt = (await ethers.provider.getTransactionReceipt(tickets[0]!.txHash))!;
    for (const o of outcomes) {
      expect(o.txHash).to.equal(receipt.hash);
      expect(o.batchSize).to.equal(3);
      expect(o.gasUsed).to.equal((receipt.gasUsed / 3n).toString());
    }
    for (const j of jobs) expect((await s.market.jobOf(j)).status).to.equal(3n); // Fulfilled
    expect(await s.market.balanceOf(s.relayer.address, ethers.ZeroAddress)).to.equal(4n * RELAYER_FEE);
    expect(await metric(registry, "verdict_relayer_tx_mined_total", { kind: "fulfil" })).to.equal(4);
    expect(await metric(registry, "verdict_relayer_tx_sent_total", { kind: "fulfil" })).to.equal(2);
  });

  it("a window that ends while the previous batch is still being broadcast stays open until it is: fulfilments arriving 300 ms apart meanwhile share one batch", async () => {
    const s = await loadFixture(deploySystem);
    const jobs: bigint[] = [];
    for (let i = 0; i < 4; i++) jobs.push(await lockedJob(s));
    const requests = await Promise.all(jobs.map((j) => fulfilRequest(s, j)));
    const { relayer } = await newRelayer({ batchWindowMs: 100 });
    await measureFulfilGas(s, relayer);
    // A node that takes 1.5 s to accept the first batch (as automine does while it executes a large one).
    const broadcast = ethers.provider.broadcastTransaction.bind(ethers.provider);
    let slow = true;
    ethers.provider.broadcastTransaction = async (raw) => {
      if (slow) await sleep(1_500);
      slow = false;
      return broadcast(raw);
    };
    closers.push(async () => void (ethers.provider.broadcastTransaction = broadcast));

    const first = Promise.all(requests.slice(0, 2).map((r) => relayer.relay(r, relayJobId(r))));
    await sleep(400);
    const third = relayer.relay(requests[2]!, relayJobId(requests[2]!));
    await sleep(300);
    const fourth = relayer.relay(requests[3]!, relayJobId(requests[3]!));
    const tickets = [...(await first), await third, await fourth].map(sent);

    // Without the wait, the third and fourth would each have ended their own window and gone alone.
    expect(tickets.map((t) => t.batchSize)).to.deep.equal([2, 2, 2, 2]);
    expect(tickets[2]!.txHash).to.equal(tickets[3]!.txHash);
    expect(tickets[2]!.txHash).to.not.equal(tickets[0]!.txHash);
    for (const r of requests) mined(await relayer.outcome(relayJobId(r)));
  });

  it("on a chain whose cadence it follows, a batch window stays open until shortly before the next block: fulfilments arriving 600 ms apart share one fulfilBatch in that block", async () => {
    const s = await loadFixture(deploySystem);
    const jobs: bigint[] = [];
    for (let i = 0; i < 5; i++) jobs.push(await lockedJob(s));
    const requests = await Promise.all(jobs.map((j) => fulfilRequest(s, j)));
    const { relayer } = await newRelayer({ batchWindowMs: 200 });
    await manualMining(2000);
    // Fulfilments relayed one after the other: the relayer's clock follows their blocks and learns the cadence;
    // the last one's outcome is published right after a block.
    for (const r of requests.slice(0, 3)) {
      sent(await relayer.relay(r, relayJobId(r)));
      mined(await relayer.outcome(relayJobId(r)));
    }
    const [a, b] = [requests[3]!, requests[4]!];
    const first = relayer.relay(a, relayJobId(a));
    await sleep(600);
    const tickets = (await Promise.all([first, relayer.relay(b, relayJobId(b))])).map(sent);
    expect(tickets.map((t) => t.batchSize)).to.deep.equal([2, 2]);
    expect(tickets[0]!.txHash).to.equal(tickets[1]!.txHash);
    for (const r of [a, b]) mined(await relayer.outcome(relayJobId(r)));
  });

  it("a batch drops an item whose simulation fails with its decoded reason (UnrecoverableError, outcome failed) and sends the others together", async () => {
    const s = await loadFixture(deploySystem);
    const open = await createJob(s.market, s.requester); // not locked: its fulfilment reverts
    const jobs = [await lockedJob(s), open, await lockedJob(s)];
    const requests = await Promise.all(jobs.map((j) => fulfilRequest(s, j)));
    const { relayer, registry, store } = await newRelayer({ batchWindowMs: 300 });
    await measureFulfilGas(s, relayer);

    const results = await Promise.allSettled(requests.map((r) => relayer.relay(r, relayJobId(r))));

    const failed = results[1]!;
    expect(failed.status).to.equal("rejected");
    const err = (failed as PromiseRejectedResult).reason as Error;
    expect(err).to.be.instanceOf(UnrecoverableError);
    expect(err.message).to.equal(`simulation reverted: JobNotInStatus(${open}, 1, 2)`);
    expect((await store.lookup(relayJobId(requests[1]!))).outcome).to.deep.equal({ status: "failed", reason: err.message, dropped: "simulation-reverted" });
    const [a, b] = [results[0]!, results[2]!].map((r) => sent((r as PromiseFulfilledResult<RelaySent | RelayOutcome>).value));
    expect(a!.txHash).to.equal(b!.txHash);
    expect(a!.batchSize).to.equal(2);
    for (const r of [requests[0]!, requests[2]!]) mined(await relayer.outcome(relayJobId(r)));
    expect(await metric(registry, "verdict_relayer_tx_dropped_total", { kind: "fulfil", reason: "simulation-reverted" })).to.equal(1);
  });

  it("a batch item that fails on chain (front-run after the simulation) is reported reverted with its reason; the other item is mined", async () => {
    const s = await loadFixture(deploySystem);
    const jobs = [await lockedJob(s), await lockedJob(s)];
    const requests = await Promise.all(jobs.map((j) => fulfilRequest(s, j)));
    const { relayer, registry } = await newRelayer({ batchWindowMs: 100 });
    await measureFulfilGas(s, relayer);
    await manualMining(); // blocks only on evm_mine

    const tickets = (await Promise.all(requests.map((r) => relayer.relay(r, relayJobId(r))))).map(sent);
    expect(tickets[0]!.batchSize).to.equal(2);
    // The operator settles job 0 itself with a higher tip: it is mined first, in the same block.
    const own = await signedFulfilment(s.market, s.operator, jobs[0]!);
    const batchTx = (await ethers.provider.getTransaction(tickets[0]!.txHash))!;
    await s.market.connect(s.operator).fulfil(jobs[0]!, own.proof, own.instances, { gasLimit: 1_000_000, maxPriorityFeePerGas: batchTx.maxPriorityFeePerGas! * 2n, maxFeePerGas: batchTx.maxFeePerGas! * 2n });
    await ethers.provider.send("evm_mine", []);

    const [first, second] = await Promise.all(requests.map((r) => relayer.outcome(relayJobId(r))));
    expect(first).to.deep.equal({ status: "reverted", reason: `failed in batch ${tickets[0]!.txHash}: JobNotInStatus(${jobs[0]}, 3, 2)`, txHash: tickets[0]!.txHash });
    expect(mined(second!).txHash).to.equal(tickets[0]!.txHash);
    expect((await s.market.jobOf(jobs[1]!)).status).to.equal(3n);
    expect(await metric(registry, "verdict_relayer_tx_dropped_total", { kind: "fulfil", reason: "reverted-onchain" })).to.equal(1);
    expect(await metric(registry, "verdict_relayer_tx_mined_total", { kind: "fulfil" })).to.equal(2); // the measuring one and job 1
  });

  it("fulfilments signed by a trusted operator share one fulfilBatch with no simulation; an item failing on chain is reported reverted and its job is simulated thereafter (after a restart too); an untrusted operator's fulfilment is simulated", async () => {
    const s = await loadFixture(deploySystem);
    const { relayer, registry, store } = await newRelayer({ batchWindowMs: 300, trustedOperators: [s.operator.address] });
    await measureFulfilGas(s, relayer);
    // The relayer's eth_calls of fulfilments (its simulations), by the selector they call.
    const simulated: string[] = [];
    const call = ethers.provider.call.bind(ethers.provider);
    ethers.provider.call = async (tx) => {
      if (String(tx.from).toLowerCase() === s.relayer.address.toLowerCase()) simulated.push(market.parseTransaction({ data: String(tx.data) })!.name);
      return call(tx);
    };
    closers.push(async () => void (ethers.provider.call = call));
    const open = await createJob(s.market, s.requester); // never locked: its fulfilment fails on chain
    const requests = await Promise.all([await lockedJob(s), open, await lockedJob(s)].map((j) => fulfilRequest(s, j)));

    const tickets = (await Promise.all(requests.map((r) => relayer.relay(r, relayJobId(r))))).map(sent);

    expect(simulated).to.deep.equal([]);
    expect(new Set(tickets.map((t) => t.txHash)).size).to.equal(1);
    expect(tickets[0]!.batchSize).to.equal(3);
    const outcomes = await Promise.all(requests.map((r) => relayer.outcome(relayJobId(r))));
    mined(outcomes[0]!);
    mined(outcomes[2]!);
    expect(outcomes[1]).to.deep.equal({ status: "reverted", reason: `failed in batch ${tickets[0]!.txHash}: JobNotInStatus(${open}, 1, 2)`, txHash: tickets[0]!.txHash });
    // The same request again (the operator's retry), to a restarted relayer that knows the outcome from the store:
    // simulated now, and dropped before it costs gas; and to this one, which remembers the job.
    const { relayer: restarted } = await newRelayer({ batchWindowMs: 300, trustedOperators: [s.operator.address] }, { store });
    await measureFulfilGas(s, restarted); // so that its first request is not answered by eth_estimateGas instead
    expect((await rejection(restarted.relay(requests[1]!, relayJobId(requests[1]!)))).message).to.equal(`simulation reverted: JobNotInStatus(${open}, 1, 2)`);
    expect((await rejection(relayer.relay(requests[1]!, relayJobId(requests[1]!)))).message).to.equal(`simulation reverted: JobNotInStatus(${open}, 1, 2)`);
    expect(simulated).to.deep.equal(["fulfilWithSignature", "fulfilWithSignature"]);
    // Another operator's fulfilment is simulated, though it names this relayer and its proof is as good.
    const theirs = await fulfilRequest(s, await lockedJob(s, {}, s.operator2), s.relayer.address, s.operator2);
    sent(await relayer.relay(theirs, relayJobId(theirs)));
    mined(await relayer.outcome(relayJobId(theirs)));
    expect(simulated).to.deep.equal(["fulfilWithSignature", "fulfilWithSignature", "fulfilWithSignature"]);
    expect(await metric(registry, "verdict_relayer_tx_dropped_total", { kind: "fulfil", reason: "reverted-onchain" })).to.equal(1);
  });

  it("fulfilBehindLock: a trusted fulfilment of a job whose lock is pending is sent right behind it from the lock's key (its gas, first of its kind, estimated on the pending state), and both are mined in one block, another operator's lock queued behind it notwithstanding; an untrusted one waits for the lock's block", async () => {
    const s = await loadFixture(deploySystem);
    const second = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
    await networkHelpers.setBalance(second.address, 10n ** 19n);
    const { relayer } = await newRelayer({ fulfilBehindLock: true, trustedOperators: [s.operator.address] }, { keys: [new Wallet(DEV_KEYS.relayer, ethers.provider), second] });
    // The relayer's first fulfilment: its gas is estimated against the pending state, where the lock is.
    const ours = await createJob(s.market, s.requester);
    const theirs = await createJob(s.market, s.requester);
    const raced = await createJob(s.market, s.requester);
    await manualMining(); // blocks only on evm_mine

    const lock = await lockRequest(s, ours);
    const lockTicket = sent(await relayer.relay(lock, relayJobId(lock)));
    const fulfil = await fulfilRequest(s, ours, ethers.ZeroAddress); // any key may send it
    const ticket = sent(await relayer.relay(fulfil, relayJobId(fulfil)));
    // The other key has nothing in flight, yet the fulfilment takes the lock's key, at the next nonce.
    expect({ from: ticket.from, nonce: ticket.nonce }).to.deep.equal({ from: lockTicket.from, nonce: lockTicket.nonce + 1 });
    await ethers.provider.send("evm_mine", []);
    const [lockReceipt, fulfilReceipt] = await Promise.all([lockTicket.txHash, ticket.txHash].map((h) => ethers.provider.getTransactionReceipt(h)));
    expect(fulfilReceipt!.blockNumber).to.equal(lockReceipt!.blockNumber);
    expect((await s.market.jobOf(ours)).status).to.equal(3n); // Fulfilled
    mined(await relayer.outcome(relayJobId(fulfil)));

    // A job both operators race for: our lock is sent, theirs queued behind it (one request of a job at a time), and
    // our fulfilment still follows our lock at once, not theirs; theirs is dropped once ours is mined.
    const ourLock = await lockRequest(s, raced);
    const ourLockTicket = sent(await relayer.relay(ourLock, relayJobId(ourLock)));
    const racing = await lockRequest(s, raced, 300n, s.operator2);
    const losing = relayer.relay(racing, relayJobId(racing)).catch((e: Error) => e);
    const ourFulfil = await fulfilRequest(s, raced, ethers.ZeroAddress);
    expect(sent(await relayer.relay(ourFulfil, relayJobId(ourFulfil))).nonce).to.equal(ourLockTicket.nonce + 1);
    await ethers.provider.send("evm_mine", []);
    mined(await relayer.outcome(relayJobId(ourFulfil)));
    expect(((await losing) as Error).message).to.match(/was locked by an earlier lock this relayer mined/);

    // Another operator's fulfilment (not trusted) is held until its job's lock is mined, then simulated and sent.
    const theirLock = await lockRequest(s, theirs, 300n, s.operator2);
    const theirLockTicket = sent(await relayer.relay(theirLock, relayJobId(theirLock)));
    const theirFulfil = await fulfilRequest(s, theirs, ethers.ZeroAddress, s.operator2);
    let broadcast: RelaySent | undefined;
    const relaying = relayer.relay(theirFulfil, relayJobId(theirFulfil)).then((r) => (broadcast = sent(r)));
    await sleep(500);
    expect(broadcast, "sent before its job's lock was mined").to.equal(undefined);
    await ethers.provider.send("evm_mine", []);
    await relaying;
    await ethers.provider.send("evm_mine", []);
    mined(await relayer.outcome(relayJobId(theirFulfil)));
    const lockBlock = (await ethers.provider.getTransactionReceipt(theirLockTicket.txHash))!.blockNumber;
    expect((await ethers.provider.getTransactionReceipt(broadcast!.txHash))!.blockNumber).to.equal(lockBlock + 1);
  });

  it("a fulfilment whose job has a callback gets its gas limit raised by the shortfall its simulation reports (InsufficientGasForCallback); in a batch, simulated with the batch's gas, it settles too", async () => {
    const s = await loadFixture(deploySystem);
    const consumer = await new HostileConsumer__factory(s.admin).deploy(s.market);
    const callbackJob = () => lockedJob(s, { callback: consumer, callbackGasLimit: 300_000 });
    const jobs = [await callbackJob(), await lockedJob(s), await lockedJob(s), await callbackJob()];
    const requests = await Promise.all(jobs.map((j) => fulfilRequest(s, j)));
    const { relayer } = await newRelayer({ batchWindowMs: 300 });
    const plain = await fulfilRequest(s, await lockedJob(s));
    const measuredTx = sent(await relayer.relay(plain, relayJobId(plain))); // the kind's gas, measured without a callback
    mined(await relayer.outcome(relayJobId(plain)));

    const alone = sent(await relayer.relay(requests[0]!, relayJobId(requests[0]!)));
    const batched = (await Promise.all(requests.slice(1).map((r) => relayer.relay(r, relayJobId(r))))).map(sent);

    expect(alone.batchSize).to.equal(1);
    const [raised, measured] = await Promise.all([alone, measuredTx].map(async (t) => (await ethers.provider.getTransaction(t.txHash))!.gasLimit));
    expect(raised! - measured!).to.be.greaterThan(200_000n); // most of the callback's 300k (the measured limit has a margin)
    // Whichever way the window grouped them, each ticket names its transaction's size.
    for (const t of batched) expect(t.batchSize).to.equal(batched.filter((o) => o.txHash === t.txHash).length);
    for (const r of requests) mined(await relayer.outcome(relayJobId(r))); // none failed in its batch
    for (const j of jobs) expect((await s.market.jobOf(j)).status).to.equal(3n);
    const callbacks = await s.market.queryFilter(s.market.filters.CallbackCalled());
    expect(callbacks.map((e) => e.args.jobId)).to.have.members([jobs[0]!, jobs[3]!]);
  });

  it("the tracker replaces a transaction unmined after stuckAfterMs with higher fees at the same nonce; the job settles once", async () => {
    const s = await loadFixture(deploySystem);
    const jobId = await lockedJob(s);
    const { relayer, registry } = await newRelayer({ stuckAfterMs: 300 });
    const request = await fulfilRequest(s, jobId);
    await manualMining();

    const ticket = sent(await relayer.relay(request, relayJobId(request)));
    const original = (await ethers.provider.getTransaction(ticket.txHash))!;
    await until(async () => (await metric(registry, "verdict_relayer_tx_replaced_total")) >= 1, "a replacement");
    await ethers.provider.send("evm_mine", []);

    const outcome = mined(await relayer.outcome(relayJobId(request)));
    expect(outcome.replacements).to.be.at.least(1);
    expect(outcome.txHash).to.not.equal(ticket.txHash);
    const replacement = (await ethers.provider.getTransaction(outcome.txHash))!;
    expect(replacement.nonce).to.equal(original.nonce);
    expect(replacement.maxFeePerGas! * 100n).to.be.at.least(original.maxFeePerGas! * BigInt(100 + DEFAULTS.feeBumpPercent));
    expect(replacement.maxPriorityFeePerGas! * 100n).to.be.at.least(original.maxPriorityFeePerGas! * BigInt(100 + DEFAULTS.feeBumpPercent));
    expect(await ethers.provider.getTransactionReceipt(ticket.txHash)).to.equal(null);
    expect((await s.market.jobOf(jobId)).status).to.equal(3n);
    expect(await s.market.queryFilter(s.market.filters.JobFulfilled(jobId))).to.have.length(1);
  });

  it("a transaction reorged out before its confirmation depth is broadcast again and its outcome is published once, from the new block", async () => {
    const s = await loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const { relayer, registry } = await newRelayer({ confirmations: 3 });
    const request = await lockRequest(s, jobId);
    const snapshot = (await ethers.provider.send("evm_snapshot", [])) as string;

    const ticket = sent(await relayer.relay(request, relayJobId(request))); // automine: mined at once, depth 1
    const first = (await ethers.provider.getTransactionReceipt(ticket.txHash))!;
    await ethers.provider.send("evm_mine", []); // depth 2 of 3: seen by the tracker, not yet published
    await sleep(600);
    await ethers.provider.send("evm_revert", [snapshot]); // the fork: the lock's block is gone
    expect(await ethers.provider.getTransactionReceipt(ticket.txHash)).to.equal(null);
    await until(async () => (await ethers.provider.getTransactionReceipt(ticket.txHash)) !== null, "the re-broadcast transaction to be mined again");
    await ethers.provider.send("evm_mine", []);
    await ethers.provider.send("evm_mine", []);

    const outcome = mined(await relayer.outcome(relayJobId(request)));
    expect(outcome.txHash).to.equal(ticket.txHash); // the same signed transaction, mined again
    expect(outcome.blockNumber).to.equal(first.blockNumber); // the fork replaced that height
    expect(await metric(registry, "verdict_relayer_tx_reorged_total")).to.be.at.least(1);
    expect(await metric(registry, "verdict_relayer_tx_mined_total", { kind: "lock" })).to.equal(1);
    expect((await s.market.jobOf(jobId)).status).to.equal(2n);
    expect(await s.market.queryFilter(s.market.filters.JobLocked(jobId))).to.have.length(1);
  });

  it("after a reorg takes the chain's nonce below a tracked transaction, the next send broadcasts that one again first and takes the nonce after it (no nonce handed to two requests)", async () => {
    const s = await loadFixture(deploySystem);
    const jobs = [await createJob(s.market, s.requester), await createJob(s.market, s.requester)];
    const { relayer, registry } = await newRelayer({ confirmations: 3 });
    const [a, b] = await Promise.all(jobs.map((j) => lockRequest(s, j)));
    const snapshot = (await ethers.provider.send("evm_snapshot", [])) as string;
    const first = sent(await relayer.relay(a!, relayJobId(a!))); // automine: mined at once
    await ethers.provider.send("evm_revert", [snapshot]); // gone before the tracker saw it

    const second = sent(await relayer.relay(b!, relayJobId(b!)));

    expect(second.nonce).to.equal(first.nonce + 1);
    expect(await ethers.provider.getTransactionReceipt(first.txHash)).to.not.equal(null); // broadcast again, mined
    await ethers.provider.send("evm_mine", []);
    await ethers.provider.send("evm_mine", []);
    expect(mined(await relayer.outcome(relayJobId(a!))).txHash).to.equal(first.txHash);
    expect(mined(await relayer.outcome(relayJobId(b!))).txHash).to.equal(second.txHash);
    for (const j of jobs) expect((await s.market.jobOf(j)).status).to.equal(2n);
    expect(await metric(registry, "verdict_relayer_nonce_errors_total")).to.be.at.most(1); // the refused send that revealed it
  });

  it("with two keys, concurrent requests spread over both, each key with consecutive nonces and no nonce error", async () => {
    const s = await loadFixture(deploySystem);
    const second = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
    await networkHelpers.setBalance(second.address, 10n ** 19n);
    const jobs = [];
    for (let i = 0; i < 6; i++) jobs.push(await createJob(s.market, s.requester));
    const requests = await Promise.all(jobs.map((j) => lockRequest(s, j)));
    const { relayer, registry, keys } = await newRelayer({}, { keys: [new Wallet(DEV_KEYS.relayer, ethers.provider), second] });
    const firstNonces = await Promise.all(keys.map((k) => ethers.provider.getTransactionCount(k.address, "pending")));
    await manualMining(300);

    const tickets = (await Promise.all(requests.map((r) => relayer.relay(r, relayJobId(r))))).map(sent);
    await Promise.all(requests.map(async (r) => mined(await relayer.outcome(relayJobId(r)))));

    for (const [i, key] of keys.entries()) {
      const own = tickets.filter((t) => t.from === key.address).map((t) => t.nonce).sort((a, b) => a - b);
      expect(own.length, `requests sent by key ${i}`).to.equal(3);
      expect(own).to.deep.equal([0, 1, 2].map((n) => firstNonces[i]! + n));
    }
    for (const j of jobs) expect((await s.market.jobOf(j)).status).to.equal(2n);
    expect(await metric(registry, "verdict_relayer_nonce_errors_total")).to.equal(0);
  });

  it("a fulfilment naming another key is sent by that key; one naming an address that is no key of this relayer is dropped as bad-request", async () => {
    const s = await loadFixture(deploySystem);
    const second = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
    await networkHelpers.setBalance(second.address, 10n ** 19n);
    const jobs = [await lockedJob(s), await lockedJob(s)];
    const { relayer } = await newRelayer({}, { keys: [new Wallet(DEV_KEYS.relayer, ethers.provider), second] });
    const named = await fulfilRequest(s, jobs[0]!, second.address);
    const stranger = await fulfilRequest(s, jobs[1]!, s.stranger.address);

    expect(sent(await relayer.relay(named, relayJobId(named))).from).to.equal(second.address);
    const err = await rejection(relayer.relay(stranger, relayJobId(stranger)));

    expect(err).to.be.instanceOf(UnrecoverableError);
    expect(err.message).to.equal(`malformed fulfil request: it names relayer ${s.stranger.address.toLowerCase()}, not a key of this relayer`);
    mined(await relayer.outcome(relayJobId(named)));
    expect(await s.market.balanceOf(second.address, ethers.ZeroAddress)).to.equal(RELAYER_FEE);
  });

  it("a relayer restarted mid-flight resumes the journalled transaction (re-broadcast, not re-sent) and publishes its outcome once", async () => {
    const s = await loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const request = await lockRequest(s, jobId);
    const store = storeFor();
    await manualMining();
    const first = await newRelayer({}, { store });
    const ticket = sent(await first.relayer.relay(request, relayJobId(request)));
    await first.relayer.close(); // the process dies with its transaction unmined
    // The node loses it too (a restarted node, an evicted pool entry): only the journal still has it.
    await ethers.provider.send("hardhat_dropTransaction", [ticket.txHash]);
    expect(await pendingHashes()).to.deep.equal([]);

    const second = await newRelayer({}, { store });
    expect(await pendingHashes()).to.deep.equal([ticket.txHash]); // re-broadcast at start, before any fresh send
    // The relay job handed back to the queue finds its request in flight and sends nothing.
    expect(await second.relayer.relay(request, relayJobId(request))).to.deep.equal(ticket);
    await ethers.provider.send("evm_mine", []);
    await until(async () => (await store.lookup(relayJobId(request))).outcome !== undefined, "the outcome");

    const outcome = mined((await store.lookup(relayJobId(request))).outcome!);
    expect(outcome.txHash).to.equal(ticket.txHash);
    expect(await store.entries(ticket.from)).to.deep.equal([]);
    expect(await metric(second.registry, "verdict_relayer_tx_sent_total")).to.equal(0);
    expect(await s.market.queryFilter(s.market.filters.JobLocked(jobId))).to.have.length(1);
  });

  it("a nonce taken by a transaction the relayer did not send ends its requests as replaced, and the next relay re-syncs the nonce", async () => {
    const s = await loadFixture(deploySystem);
    const jobs = [await createJob(s.market, s.requester), await createJob(s.market, s.requester)];
    const { relayer, registry, keys } = await newRelayer({ stuckAfterMs: 200 });
    const request = await lockRequest(s, jobs[0]!);
    await manualMining();
    const ticket = sent(await relayer.relay(request, relayJobId(request)));
    // Another sender on the same key takes that nonce (the relayer's transaction is dropped from the pool).
    await ethers.provider.send("hardhat_dropTransaction", [ticket.txHash]);
    await keys[0]!.sendTransaction({ to: s.stranger.address, value: 1n, nonce: ticket.nonce });
    await ethers.provider.send("evm_mine", []);

    const outcome = await relayer.outcome(relayJobId(request));
    expect(outcome).to.deep.equal({ status: "replaced", reason: `nonce ${ticket.nonce} of ${keys[0]!.address} was used by another transaction` });
    expect(await metric(registry, "verdict_relayer_tx_dropped_total", { kind: "lock", reason: "replaced" })).to.equal(1);

    await automine();
    const next = await lockRequest(s, jobs[1]!);
    mined(await relayer.relay(next, relayJobId(next)).then(() => relayer.outcome(relayJobId(next))));
    expect((await s.market.jobOf(jobs[1]!)).status).to.equal(2n);
  });

  it("relay drops an expired lock, a request for another chain and a malformed one as unrecoverable, sending nothing", async () => {
    const s = await loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const { relayer, registry, keys } = await newRelayer();
    const request = await lockRequest(s, jobId);
    const expired = await lockRequest(s, jobId, -1n);
    const nonce = await ethers.provider.getTransactionCount(keys[0]!.address, "pending");

    const errors = [
      await rejection(relayer.relay(expired, "a")),
      await rejection(relayer.relay({ ...request, chainId: "1" }, "b")),
      await rejection(relayer.relay({ ...request, operator: "0x1234" }, "c")),
    ];

    for (const e of errors) expect(e).to.be.instanceOf(UnrecoverableError);
    expect(errors[0]!.message).to.equal(`simulation reverted: SignatureExpired(${expired.validUntil})`);
    expect(errors[1]!.message).to.equal(`request is for chain 1 but the relayer is on chain ${await chainId()}`);
    expect(errors[2]!.message).to.match(/^malformed lock request: /);
    expect(await metric(registry, "verdict_relayer_tx_dropped_total", { reason: "wrong-chain" })).to.equal(1);
    expect(await metric(registry, "verdict_relayer_tx_dropped_total", { reason: "bad-request" })).to.equal(1);
    expect(await ethers.provider.getTransactionCount(keys[0]!.address, "pending")).to.equal(nonce);
    expect((await s.market.jobOf(jobId)).status).to.equal(1n); // still Open
  });

  it("a second lock of a job waits for the first's outcome (per-job serialization); once the first is mined it is dropped without a simulation, as job-not-open", async () => {
    const s = await loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const { relayer, registry } = await newRelayer();
    const a = await lockRequest(s, jobId);
    const b = await lockRequest(s, jobId, 200n); // another signature of the same lock: another request
    await manualMining(400);

    const [first, secondResult] = await Promise.allSettled([relayer.relay(a, relayJobId(a)), relayer.relay(b, relayJobId(b))]);

    expect(first.status).to.equal("fulfilled");
    expect(secondResult.status).to.equal("rejected");
    expect(((secondResult as PromiseRejectedResult).reason as Error).message).to.match(/^job \d+ was locked by an earlier lock this relayer mined \(0x[0-9a-f]{64}\)$/);
    expect(await metric(registry, "verdict_relayer_tx_dropped_total", { kind: "lock", reason: "job-not-open" })).to.equal(1);
    expect(await relayer.outcome(relayJobId(b))).to.deep.include({ status: "failed", dropped: "job-not-open" });
    mined(await relayer.outcome(relayJobId(a)));
    // Relayed once the first has settled, a lock of the taken job is simulated, and its JobNotInStatus is counted
    // (and published) as job-not-open too.
    const c = await lockRequest(s, jobId, 100n);
    expect((await rejection(relayer.relay(c, relayJobId(c)))).message).to.match(/^simulation reverted: JobNotInStatus\(\d+, 2, 1\)$/);
    expect(await relayer.outcome(relayJobId(c))).to.deep.include({ status: "failed", dropped: "job-not-open" });
    expect(await metric(registry, "verdict_relayer_tx_dropped_total", { kind: "lock", reason: "job-not-open" })).to.equal(2);
  });

  it("through a JSON-RPC proxy that answers 10% of reads with error bodies (rate limits, header not found, timeouts), on interval mining, locks and batched fulfilments are each settled once with no nonce error", async () => {
    const s = await loadFixture(deploySystem);
    const chain = await serveOverHttp();
    closers.push(() => chain.close());
    // Every read the relayer makes per request or per block (the one-off eth_estimateGas per kind is counted below).
    const methods = ["eth_call", "eth_getTransactionReceipt", "eth_getTransactionCount", "eth_blockNumber", "eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_getBlockByNumber"];
    const proxy = await startRpcFaultProxy(chain.url, { errorRate: 0.1, seed: 7, methods });
    closers.push(() => proxy.close());
    const provider = new RetryingJsonRpcProvider(proxy.url, Network.from(31337n), { staticNetwork: true, pollingInterval: 100 });
    closers.push(async () => provider.destroy());
    const store = storeFor();
    const { relayer, registry } = await newRelayer({ batchWindowMs: 300, stuckAfterMs: 5_000 }, { store, keys: [new Wallet(DEV_KEYS.relayer, provider)] });
    const ctx = { connection: store.redis, prefix: store.prefix };
    const relayWorker = startRelayWorker(ctx, relayer, store, silent, 16);
    const relayQueue = queue<RelayRequest>(ctx, RELAYER_QUEUE);
    closers.push(() => relayQueue.close(), () => relayWorker.close());
    const open = [await createJob(s.market, s.requester), await createJob(s.market, s.requester)];
    const locked = [await lockedJob(s), await lockedJob(s), await lockedJob(s), await lockedJob(s)];
    const requests = [...(await Promise.all(open.map((j) => lockRequest(s, j)))), ...(await Promise.all(locked.map((j) => fulfilRequest(s, j))))];
    await manualMining(300);

    for (const r of requests) await relayQueue.add(r.kind, r, { jobId: relayJobId(r), attempts: 5, backoff: { type: "exponential", delay: 200 } });
    await until(async () => (await Promise.all(requests.map((r) => store.lookup(relayJobId(r))))).every((k) => k.outcome), "every outcome", 60_000);

    for (const r of requests) mined((await store.lookup(relayJobId(r))).outcome!);
    for (const j of open) expect((await s.market.jobOf(j)).status).to.equal(2n);
    for (const j of locked) expect((await s.market.jobOf(j)).status).to.equal(3n);
    expect(await s.market.queryFilter(s.market.filters.JobFulfilled())).to.have.length(locked.length);
    expect(await metric(registry, "verdict_relayer_nonce_errors_total")).to.equal(0);
    const { injected, requests: byMethod } = proxy.stats();
    expect(Object.values(injected).reduce((a, b) => a + b, 0), "error bodies answered").to.be.greaterThan(0);
    expect(byMethod.eth_estimateGas ?? 0, "estimates: one per request kind").to.equal(2);
  });

  it("over JSON-RPC a send is signed locally and broadcast with one eth_sendRawTransaction (no block-number request); the node mines the journalled bytes", async () => {
    const s = await loadFixture(deploySystem);
    const chain = await serveOverHttp();
    closers.push(() => chain.close());
    const proxy = await startRpcFaultProxy(chain.url, { errorRate: 0 });
    closers.push(() => proxy.close());
    const provider = new RetryingJsonRpcProvider(proxy.url, Network.from(31337n), { staticNetwork: true, pollingInterval: 100 });
    closers.push(async () => provider.destroy());
    const { relayer, store } = await newRelayer({}, { keys: [new Wallet(DEV_KEYS.relayer, provider)] });
    const request = await lockRequest(s, await createJob(s.market, s.requester));
    const before = { ...proxy.stats().requests };
    const ticket = sent(await relayer.relay(request, relayJobId(request)));
    const during = Object.fromEntries(Object.entries(proxy.stats().requests).map(([m, n]) => [m, n - (before[m] ?? 0)]).filter(([, n]) => n !== 0));
    expect(during).to.include({ eth_sendRawTransaction: 1 });
    expect(during).to.not.have.property("eth_blockNumber");
    const [entry] = await store.entries(ticket.from);
    expect(keccak256(entry!.raw!)).to.equal(ticket.txHash);
    mined(await relayer.outcome(relayJobId(request)));
    expect((await ethers.provider.getTransaction(ticket.txHash))?.nonce).to.equal(ticket.nonce);
    expect((await s.market.jobOf(request.jobId)).operator).to.equal(s.operator.address);
  });

  it("the worker completes a relay job at broadcast; a job whose request would revert fails without retries, with a failed outcome and a dead letter", async () => {
    const s = await loadFixture(deploySystem);
    const open = await createJob(s.market, s.requester); // Open: a fulfilment reverts until it is locked
    const locked = await lockedJob(s);
    const bad = await fulfilRequest(s, open);
    const good = await fulfilRequest(s, locked);
    const store = storeFor();
    const ctx = { connection: store.redis, prefix: store.prefix };
    const { relayer } = await newRelayer({}, { store });
    const relayWorker = startRelayWorker(ctx, relayer, store, silent, 4);
    const { deadLetters } = relayWorker;
    const relayQueue = queue<RelayRequest>(ctx, RELAYER_QUEUE);
    closers.push(() => relayQueue.close(), () => relayWorker.close());

    for (const r of [bad, good]) await relayQueue.add(r.kind, r, { jobId: relayJobId(r), attempts: 5, backoff: { type: "exponential", delay: 1000 } });
    await until(async () => (await deadLetters.getJob(relayJobId(bad))) !== undefined, "the dead letter");
    await until(async () => (await relayQueue.getJob(relayJobId(good)))?.finishedOn !== undefined, "the good relay job to complete");

    const dead = (await deadLetters.getJob(relayJobId(bad)))!;
    expect(dead.data.request).to.deep.equal(bad);
    expect(dead.data.reason).to.equal(`simulation reverted: JobNotInStatus(${open}, 1, 2)`);
    expect((await store.lookup(relayJobId(bad))).outcome).to.deep.equal({ status: "failed", reason: dead.data.reason, dropped: "simulation-reverted" });
    await until(async () => (await relayQueue.getJob(relayJobId(bad)))?.finishedOn !== undefined, "the bad relay job to finish");
    const job = (await relayQueue.getJob(relayJobId(bad)))!;
    expect(await job.getState()).to.equal("failed");
    expect(job.attemptsMade).to.equal(1);
    const done = (await relayQueue.getJob(relayJobId(good)))!;
    expect(await done.getState()).to.equal("completed");
    expect((done.returnvalue as RelaySent).batchSize).to.equal(1);
    await until(async () => (await store.lookup(relayJobId(good))).outcome?.status === "mined", "the good request's outcome");
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

  it("FeeOracle gives ethers' getFeeData figures, asking for the suggestion once a minute and for the latest block (its base fee) on each later call; on a chain without a base fee, getFeeData every time", async () => {
    const asked: string[] = [];
    const counted = (legacy: boolean) =>
      ({
        getFeeData: async () => (asked.push("feeData"), legacy ? new FeeData(7n * GWEI, null, null) : ethers.provider.getFeeData()),
        getBlock: async (tag: string) => (asked.push("block"), ethers.provider.getBlock(tag)),
      }) as unknown as Provider;
    await networkHelpers.mine(1);
    const oracle = new FeeOracle(counted(false), policy);
    const first = await oracle.current();
    const data = await ethers.provider.getFeeData();
    expect(first).to.deep.equal({ maxFeePerGas: data.maxFeePerGas, maxPriorityFeePerGas: data.maxPriorityFeePerGas });
    await networkHelpers.setNextBlockBaseFeePerGas(3n * GWEI);
    await networkHelpers.mine(1);
    expect(await oracle.current()).to.deep.equal({ maxFeePerGas: 6n * GWEI + data.maxPriorityFeePerGas!, maxPriorityFeePerGas: data.maxPriorityFeePerGas });
    expect(asked).to.deep.equal(["feeData", "block"]);
    asked.length = 0;
    const legacy = new FeeOracle(counted(true), policy);
    for (let i = 0; i < 2; i++) expect(await legacy.current()).to.deep.equal({ maxFeePerGas: 7n * GWEI, maxPriorityFeePerGas: 7n * GWEI });
    expect(asked).to.deep.equal(["feeData", "feeData"]);
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
