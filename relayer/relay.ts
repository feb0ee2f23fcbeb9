// Turns operator-signed requests into transactions from one or more relayer keys. A relay completes at broadcast:
// encode, simulate (a request that would revert is dropped before it costs gas), send at the key's next nonce,
// journal; the key's inclusion tracker (tracker.ts) then waits for the block, replaces stuck transactions and
// publishes the outcome. Fulfilments arriving within batchWindowMs share one fulfilBatch transaction, sized by
// measured gas under maxTxGas. Every signed transaction is journalled before its broadcast, so a relayer restarted
// after a crash resumes it instead of sending the request again.
import { UnrecoverableError } from "bullmq";
import { BaseWallet, formatEther, isAddress, JsonRpcApiProvider, keccak256, Transaction, type Provider, type Signer, type TransactionReceipt } from "ethers";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Config } from "../shared/config.js";
import { JobStatus } from "../shared/enums.js";
import { VerdictError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { classifySendError, describeRevert, revertData, shortMessage } from "../shared/rpcErrors.js";
import { BlockClock } from "./blockClock.js";
import { FeeOracle, type Fees } from "./fees.js";
import { kindOf, market, MAX_BATCH_ITEMS, type KindSpec } from "./kinds.js";
import { NonceManager } from "./nonceManager.js";
import type { JournalEntry, JournalItem, RelayStore } from "./store.js";
import { InclusionTracker, type KeySender } from "./tracker.js";
import { JOB_NOT_OPEN, relayedJobs, type RelayOutcome, type RelayRequest, type RelaySent } from "./types.js";

/** Fresh sends tried after nonce errors (re-syncing in between) before the job fails and is retried by BullMQ. */
const NONCE_ATTEMPTS = 3;
/** Gas of a batch call beyond its items' (the loop, the self-calls' base cost, the returned array). */
const BATCH_OVERHEAD_GAS = 40_000n;
/** Simulations of one request with its gas limit raised for its job's callback, before it is dropped. */
const CALLBACK_GAS_ATTEMPTS = 3;
/** Fees are read once per block; without a head seen (no transaction pending) at most this old. */
const FEE_MAX_AGE_MS = 1_000;
/** A batch window closes at least this long (or a quarter block, if longer) before the next block is due: time to
 * simulate, sign and broadcast, and slack for a head change seen up to one poll late. */
const SEND_MARGIN_MS = 500;
/** Longest a window that ended waits for its key's previous batch to be broadcast: far above the ~0.5 s a local node
 * takes to execute a full batch as it accepts it, and any other node's answer. */
const SEND_WAIT_MAX_MS = 2_000;

export interface RelayerOptions {
  /** One per relayer key, each connected to the same provider: one nonce stream and one tracker each. */
  signers: Signer[];
  config: Config["relayer"];
  logger: Logger;
  registry: Registry;
  store: RelayStore;
}

/** The per-request logger: every line names the on-chain job, the request kind and the chain. */
export function jobLogger(log: Logger, r: RelayRequest): Logger {
  return log.child({ jobId: relayedJobs(r), kind: r.kind, chainId: r.chainId });
}

function relayerMetrics(registry: Registry, balance: () => Promise<bigint>) {
  const registers = [registry];
  new Gauge({
    name: "verdict_relayer_balance_eth",
    help: "ETH balance of the relayer accounts together (ether), read at scrape time",
    registers,
    async collect() {
      try {
        this.set(Number(formatEther(await balance())));
      } catch {
        // Keep the last value: a scrape should not fail because the RPC did.
      }
    },
  });
  return {
    sent: new Counter({ name: "verdict_relayer_tx_sent_total", help: "Relay transactions broadcast (first sends; replacements are counted apart)", labelNames: ["kind"] as const, registers }),
    mined: new Counter({ name: "verdict_relayer_tx_mined_total", help: "Requests mined successfully and confirmed (a batch counts each item that took effect)", labelNames: ["kind"] as const, registers }),
    dropped: new Counter({
      name: "verdict_relayer_tx_dropped_total",
      help: "Requests given up on: simulation-reverted, job-not-open (a lock of a job already taken), reverted-onchain, failed-in-batch, replaced, bad-request, wrong-chain, or a send error that cannot succeed",
      labelNames: ["kind", "reason"] as const,
      registers,
    }),
    replaced: new Counter({ name: "verdict_relayer_tx_replaced_total", help: "Stuck transactions replaced with higher fees at the same nonce", registers }),
    reorged: new Counter({ name: "verdict_relayer_tx_reorged_total", help: "Transactions whose receipt vanished or moved to another block (a reorg)", registers }),
    gasUsed: new Counter({ name: "verdict_relayer_gas_used_total", help: "Gas used by mined relay transactions, reverted ones included", labelNames: ["kind"] as const, registers }),
    nonceErrors: new Counter({ name: "verdict_relayer_nonce_errors_total", help: "Sends refused for a stale nonce (too low, too high, already known)", registers }),
    batchSize: new Histogram({ name: "verdict_relayer_batch_size", help: "Requests per transaction sent", labelNames: ["kind"] as const, buckets: [1, 2, 4, 8, 16, 32], registers }),
  };
}
type Metrics = ReturnType<typeof relayerMetrics>;

/** A request ready to send: validated, encoded, its outcome awaited by whoever needs it. */
interface Prepared {
  request: RelayRequest;
  spec: KindSpec<RelayRequest>;
  relayId: string;
  jobId: string;
  calldata: string;
  /** The key that must send it (lower case), when the request names one. */
  sender?: string;
  /** Signed by an operator in relayer.trustedOperators, for a job none of whose requests reverted on chain here:
   * sent without a simulation. */
  trusted: boolean;
  /** Sent right behind its job's pending lock (fulfilBehindLock): a gas estimate reads the pending state, which
   * holds the lock. */
  behindLock?: boolean;
  log: Logger;
}

/** A fulfilment waiting in the batch window, with the relay job waiting for its broadcast. */
interface Waiting extends Prepared {
  sent: (s: RelaySent) => void;
  failed: (e: unknown) => void;
}

/**
 * Measured gas per request kind and calldata size (a model's proofs and instances have one size, and so close to
 * one gas cost): gas limits come from it plus gasLimitPercent, so a known kind costs no eth_estimateGas.
 */
function gasKey(p: Prepared): string {
  return `${p.request.kind}:${p.calldata.length}`;
}

/** Requests that may share a transaction: same kind and gas, and the same required sender. */
function windowKey(p: Prepared): string {
  return `${gasKey(p)}:${p.sender ?? "any"}`;
}

/** Relays requests from its keys. Create one per process: it owns those keys' nonces. */
export class Relayer {
  readonly #provider: Provider;
  readonly #feeOracle: FeeOracle;
  readonly #config: Config["relayer"];
  readonly #log: Logger;
  readonly #store: RelayStore;
  readonly #metrics: Metrics;
  readonly #keys: RelayKey[];
  /** One head poller for every key's tracker. */
  readonly #clock: BlockClock;
  /** Measured gas per item (gasKey), the highest seen. */
  readonly #gas = new Map<string, bigint>();
  /** eth_estimateGas in flight per gasKey (a kind's first requests, before any is mined). */
  readonly #estimates = new Map<string, Promise<bigint>>();
  /** Per on-chain job, the request for it this process relays now: its kind, and its outcome once settled. */
  readonly #perJob = new Map<string, { kind: string; outcome: Promise<RelayOutcome> }>();
  /** The broadcast of each lock this process relays until it settles, by on-chain job and signing operator. */
  readonly #locks = new Map<string, Promise<RelaySent | undefined>>();
  /** Outcomes awaited in this process, by relay id. */
  readonly #outcomes = new Map<string, { promise: Promise<RelayOutcome>; resolve: (o: RelayOutcome) => void }>();
  /** Fulfilments in the batch window, per windowKey. */
  readonly #window = new Map<string, { items: Waiting[]; timer: NodeJS.Timeout }>();
  /** The latest batch of each windowKey being sent, until it is broadcast (or given up). */
  readonly #sending = new Map<string, Promise<void>>();
  #fees?: { head: number; at: number; fees: Promise<Fees> };
  #chainId?: Promise<bigint>;
  /** relayer.trustedOperators, lower case. */
  readonly #trusted: ReadonlySet<string>;
  /** On-chain jobs (as in #perJob) a request of which reverted on chain here: simulated from then on, trusted or not. */
  readonly #reverted = new Set<string>();

  constructor(o: RelayerOptions) {
    const provider = o.signers[0]?.provider;
    if (!provider) throw new VerdictError("NO_PROVIDER", "the relayer needs at least one key connected to a provider");
    this.#provider = provider;
    this.#feeOracle = new FeeOracle(provider, o.config);
    this.#config = o.config;
    this.#trusted = new Set(o.config.trustedOperators.map((a) => a.toLowerCase()));
    this.#log = o.logger;
    this.#store = o.store;
    // A few head polls per stuck window, at most 20 a second and at least 4: a slow poll delays every receipt.
    this.#clock = new BlockClock(provider, Math.min(250, Math.max(50, Math.floor(o.config.stuckAfterMs / 5))));
    this.#metrics = relayerMetrics(o.registry, async () => {
      const balances = await Promise.all(o.signers.map(async (s) => provider.getBalance(await s.getAddress())));
      return balances.reduce((a, b) => a + b, 0n);
    });
    this.#keys = o.signers.map((s) => new RelayKey(s, this));
  }

  /** The keys' addresses. */
  async addresses(): Promise<string[]> {
    return Promise.all(this.#keys.map((k) => k.address()));
  }

  /**
   * Resumes every key's journalled transactions (re-broadcast under the nonce lock, so no fresh send takes their
   * nonce first) and tracks them. Call once before relaying.
   */
  async start(): Promise<void> {
    await Promise.all(this.#keys.map((k) => k.resume()));
  }

  /** Stops the trackers; what is unsettled stays in the journal for the next start. */
  async close(): Promise<void> {
    await Promise.all(this.#keys.map((k) => k.tracker?.close()));
  }

  /**
   * Sends `request` (alone or in a batch) and resolves at broadcast; `outcome(relayId)` resolves once it is
   * settled. A request already in flight or mined (a re-delivered relay job) is not sent again: its broadcast or
   * outcome is returned. Throws UnrecoverableError when the request can never succeed (it would revert, is
   * malformed or for another chain), after publishing that outcome; any other error is transient.
   */
  async relay(request: RelayRequest, relayId: string, log: Logger = jobLogger(this.#log, request)): Promise<RelaySent | RelayOutcome> {
    const known = await this.#store.lookup(relayId);
    if (known.outcome?.status === "mined") return known.outcome;
    if (known.sent) {
      log.info({ txHash: known.sent.txHash, from: known.sent.from }, "already in flight: not sent again");
      return known.sent;
    }
    const jobKey = `${String(request.market).toLowerCase()}-${relayedJobs(request)}`;
    // Failed before (a dead letter handed back, or a request sent again): a fresh attempt, with a fresh outcome. One
    // that reverted on chain (seen by any relayer process, before a restart too) is simulated from now on.
    if (known.outcome?.status === "reverted") this.#reverted.add(jobKey);
    if (known.outcome) await this.#store.forget(relayId);
    // One request per on-chain job at a time, until it is settled: operators race for a job's lock, and two locks
    // simulated before either mined would both be sent, the loser reverting on chain (gas for nothing). Queued
    // behind the first, the second is simulated once the first has settled and is dropped without a transaction.
    const before = this.#perJob.get(jobKey);
    const current = { kind: request.kind, outcome: this.#awaitOutcome(relayId) };
    this.#perJob.set(jobKey, current);
    void current.outcome.then((o) => {
      if (this.#perJob.get(jobKey) === current) this.#perJob.delete(jobKey);
      if (o.status === "reverted") this.#reverted.add(jobKey);
    });
    // A lock's broadcast (undefined if it was not sent), for its operator's fulfilment to follow (#behindLock).
    let broadcast!: (s: RelaySent | undefined) => void;
    const sending = new Promise<RelaySent | undefined>((r) => (broadcast = r));
    if (request.kind === "lock") {
      const lockKey = `${jobKey}:${String(request.operator).toLowerCase()}`;
      this.#locks.set(lockKey, sending);
      void current.outcome.then(() => this.#locks.get(lockKey) === sending && this.#locks.delete(lockKey));
    }
    try {
      const behind = await this.#behindLock(request, jobKey);
      const previous = behind ? undefined : await before?.outcome;
      const prepared = await this.#prepare(request, relayId, jobKey, log);
      // A job is locked at most once: a lock queued behind one this relayer saw mined would revert, so it is
      // dropped without spending a simulation on it.
      if (request.kind === "lock" && before?.kind === "lock" && previous?.status === "mined") {
        this.#drop(log, request.kind, JOB_NOT_OPEN, `job ${prepared.jobId} was locked by an earlier lock this relayer mined (${previous.txHash})`);
      }
      if (behind && prepared.trusted) log.debug({ lockTx: behind.txHash, from: behind.from }, "fulfilment sent behind its lock");
      // Behind its lock on the lock's key; after a request of its job that failed here, simulated, trusted or not.
      const sent = await this.#send(
        behind && prepared.trusted ? { ...prepared, sender: behind.from.toLowerCase(), behindLock: true } : previous && previous.status !== "mined" ? { ...prepared, trusted: false } : prepared,
      );
      broadcast(sent);
      return sent;
    } catch (e) {
      if (e instanceof UnrecoverableError) await this.#settled(relayId, { status: "failed", reason: e.message, ...(e instanceof Dropped ? { dropped: e.dropped } : {}) });
      else this.#settleLocally(relayId, { status: "failed", reason: shortMessage(e) }); // retried by BullMQ: nothing stored
      throw e;
    } finally {
      broadcast(undefined);
    }
  }

  /**
   * relayer.fulfilBehindLock: the broadcast of its signer's lock of the job, which this relayer sent and has not seen
   * settled, when `request` is a trusted fulfilment that may follow it from the same key (the next nonce orders it
   * after the lock, in the same block where the chain allows) instead of waiting for the lock's block, and for any
   * other request of the job before it (another operator's lock racing for it). Undefined otherwise: the request
   * waits for the earlier one's outcome, as any request of a job in flight does.
   */
  async #behindLock(request: RelayRequest, jobKey: string): Promise<RelaySent | undefined> {
    if (request.kind !== "fulfil" || !this.#config.fulfilBehindLock) return undefined;
    try {
      // The signer recovered once, for both the trust check and its lock.
      const signer = kindOf(request.kind)!.signer!(request, await this.chainId()).toLowerCase();
      if (!this.#trusted.has(signer) || this.#reverted.has(jobKey)) return undefined;
      const sent = await this.#locks.get(`${jobKey}:${signer}`);
      // A fulfilment naming another of this relayer's keys (its fee goes to that one) cannot follow the lock.
      const named = kindOf(request.kind)!.sender?.(request)?.toLowerCase();
      return sent && (named === undefined || named === sent.from.toLowerCase()) ? sent : undefined;
    } catch {
      return undefined; // malformed: #prepare says why
    }
  }

  /** Signed by an operator in relayer.trustedOperators (recovered), for a job none of whose requests reverted here. */
  #isTrusted(request: RelayRequest, jobKey: string, chainId: bigint): boolean {
    const signer = kindOf(request.kind)?.signer;
    return this.#trusted.size > 0 && !this.#reverted.has(jobKey) && signer !== undefined && this.#trusted.has(signer(request, chainId).toLowerCase());
  }

  /** Resolves when the request `relayId` (relayed by this process, or settled already) is settled, with its outcome. */
  async outcome(relayId: string): Promise<RelayOutcome> {
    // Waiting first, then reading the store: an outcome published in between is not missed.
    const waiting = this.#awaitOutcome(relayId);
    const { outcome } = await this.#store.lookup(relayId);
    if (outcome) this.#settleLocally(relayId, outcome);
    return waiting;
  }

  #awaitOutcome(relayId: string): Promise<RelayOutcome> {
    let entry = this.#outcomes.get(relayId);
    if (!entry) {
      let resolve!: (o: RelayOutcome) => void;
      const promise = new Promise<RelayOutcome>((r) => (resolve = r));
      entry = { promise, resolve };
      this.#outcomes.set(relayId, entry);
    }
    return entry.promise;
  }

  #settleLocally(relayId: string, outcome: RelayOutcome): void {
    this.#outcomes.get(relayId)?.resolve(outcome);
    this.#outcomes.delete(relayId);
  }

  /** Publishes an outcome (the tracker has already stored its own) and wakes whoever waits for it here. */
  async #settled(relayId: string, outcome: RelayOutcome): Promise<void> {
    await this.#store.publish(relayId, outcome);
    this.#settleLocally(relayId, outcome);
  }

  async #prepare(request: RelayRequest, relayId: string, jobKey: string, log: Logger): Promise<Prepared> {
    const chainId = await this.chainId();
    if (request.chainId !== chainId.toString()) this.#drop(log, request.kind, "wrong-chain", `request is for chain ${request.chainId} but the relayer is on chain ${chainId}`);
    const spec = kindOf(request.kind);
    try {
      if (!spec) throw new Error(`unknown request kind ${String(request.kind)}`);
      if (!isAddress(request.market)) throw new Error(`market ${String(request.market)} is not an address`);
      const prepared = { request, spec, relayId, jobId: spec.jobId(request), calldata: spec.calldata(request), trusted: this.#isTrusted(request, jobKey, chainId), log };
      const sender = spec.sender?.(request)?.toLowerCase();
      if (sender === undefined) return prepared;
      if (!(await this.addresses()).some((a) => a.toLowerCase() === sender)) throw new Error(`it names relayer ${sender}, not a key of this relayer`);
      return { ...prepared, sender };
    } catch (e) {
      return this.#drop(log, request.kind, "bad-request", `malformed ${request.kind} request: ${shortMessage(e)}`);
    }
  }

  #send(p: Prepared): Promise<RelaySent> {
    if (!p.spec.batch) return this.#sendAlone(p, p.trusted);
    return new Promise<RelaySent>((sent, failed) => this.#enqueue({ ...p, sent, failed }));
  }

  /** Simulates and sends one request alone. */
  async #sendAlone(p: Prepared, simulated = false): Promise<RelaySent> {
    const tx = { from: p.sender ?? (await this.#keys[0]!.address()), to: p.request.market, data: p.calldata, ...(p.behindLock ? { blockTag: "pending" } : {}) };
    let measured: bigint;
    try {
      measured = await this.#gasLimit(gasKey(p), 1, tx);
    } catch (e) {
      // The kind's first request is estimated before it is simulated: its revert is the simulation's.
      if (classifySendError(e).reason === "reverted") this.#dropReverted(p, e);
      throw e;
    }
    const gasLimit = simulated ? measured : await this.#simulate({ ...tx, gasLimit: measured }, p);
    // A limit raised for a job's callback is not booked as the kind's gas (the callback's gas is the requester's).
    const book = gasLimit === measured ? gasKey(p) : `${gasKey(p)}:callback`;
    return this.#pickKey(p.sender).send(p.request.kind, tx.to, tx.data, gasLimit, [{ relayId: p.relayId, jobId: p.jobId }], book, p.log);
  }

  /**
   * eth_call from the relayer's address with the gas limit it will send: a request that would revert is dropped
   * with the decoded reason. A job whose callback needs more gas than the kind's measured figure (the market
   * checks the 63/64 rule: InsufficientGasForCallback(available, required)) gets its limit raised by the shortfall
   * and is simulated again. Returns the gas limit to send with.
   */
  async #simulate(tx: { from: string; to: string; data: string; gasLimit: bigint }, p: Prepared): Promise<bigint> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#provider.call(tx);
        return tx.gasLimit;
      } catch (e) {
        if (classifySendError(e).reason !== "reverted") throw e;
        const data = revertData(e);
        const decoded = data ? market.parseError(data) : null;
        if (decoded?.name === "InsufficientGasForCallback" && attempt < CALLBACK_GAS_ATTEMPTS) {
          const [available, required] = decoded.args as unknown as [bigint, bigint];
          // 64/63: the shortfall is measured after the self-call and CALL deductions of the gas above it.
          tx = { ...tx, gasLimit: tx.gasLimit + ((required - available) * 64n * BigInt(this.#config.gasLimitPercent)) / 6300n };
          continue;
        }
        this.#dropReverted(p, e);
      }
    }
  }

  /** Measured gas of `items` requests of `key` plus the margin; measured once with eth_estimateGas when unknown. */
  async #gasLimit(key: string, items: number, tx: { from: string; to: string; data: string; blockTag?: string }): Promise<bigint> {
    let perItem = this.#gas.get(key);
    // Requests of a new kind arriving together share one estimate; one that reverted (another request's) is not
    // this request's answer, which then asks for its own.
    const shared = perItem === undefined ? this.#estimates.get(key) : undefined;
    if (shared) perItem = await shared.catch(() => undefined);
    if (perItem === undefined) {
      const estimate = this.#provider.estimateGas(tx).then((g) => g / BigInt(items));
      this.#estimates.set(key, estimate);
      void estimate.then((g) => this.#gas.has(key) || this.#gas.set(key, g)).catch(() => undefined).finally(() => this.#estimates.get(key) === estimate && this.#estimates.delete(key));
      perItem = await estimate;
    }
    const overhead = items > 1 ? BATCH_OVERHEAD_GAS : 0n;
    return (BigInt(items) * perItem * BigInt(this.#config.gasLimitPercent)) / 100n + overhead;
  }

  /** Items of `key` one transaction holds under maxTxGas (MAX_BATCH_ITEMS while the kind's gas is unmeasured). */
  #capacity(key: string): number {
    const perItem = this.#gas.get(key);
    if (perItem === undefined) return MAX_BATCH_ITEMS;
    const fit = ((BigInt(this.#config.maxTxGas) - BATCH_OVERHEAD_GAS) * 100n) / (perItem * BigInt(this.#config.gasLimitPercent));
    return Math.max(1, Math.min(MAX_BATCH_ITEMS, Number(fit)));
  }

  /** Holds a batchable request for the batch window (flushed early once a transaction's worth is waiting). */
  #enqueue(w: Waiting): void {
    const key = windowKey(w);
    let slot = this.#window.get(key);
    if (!slot) {
      slot = { items: [], timer: setTimeout(() => this.#windowEnded(key), this.#windowMs()) };
      this.#window.set(key, slot);
    }
    slot.items.push(w);
    if (slot.items.length >= this.#capacity(gasKey(w))) this.#flush(key);
  }

  /**
   * How long a batch window stays open: until shortly before the next block is due, so that its batch still makes
   * that block and holds every request that came meanwhile (on a 12 s chain, the fulfilments of a block's locked
   * jobs proven one after another), at least batchWindowMs and at most one block. Without a known cadence (an idle
   * relayer, automine), batchWindowMs.
   */
  #windowMs(): number {
    const due = this.#clock.nextBlockAt();
    if (due === undefined) return this.#config.batchWindowMs;
    const blockMs = this.#clock.blockMs;
    const margin = Math.max(SEND_MARGIN_MS, blockMs / 4);
    return Math.max(this.#config.batchWindowMs, Math.min(blockMs, due - Date.now() - margin));
  }

  /**
   * A window whose time is up is flushed, unless the previous batch of its key is still being sent: then it stays
   * open until that one is broadcast (flushed early if it fills). A node that executes a transaction as it is sent
   * (automine) takes ~20 ms an item here; requests arriving meanwhile make one fuller batch instead of several small
   * ones queued behind it, each paying a transaction's overhead. Elsewhere a broadcast takes milliseconds.
   */
  #windowEnded(key: string): void {
    const slot = this.#window.get(key);
    // This window only: one that filled meanwhile was flushed, and a newer one has its own timer.
    const flush = () => void (slot && this.#window.get(key) === slot && this.#flush(key));
    const sending = this.#sending.get(key);
    // A key with nothing being sent takes the batch now; a broadcast that hangs holds it up SEND_WAIT_MAX_MS at most.
    if (!sending || this.#keys.some((k) => !k.busy)) return flush();
    const bound = setTimeout(flush, SEND_WAIT_MAX_MS);
    const once = () => {
      clearTimeout(bound);
      flush();
    };
    void sending.then(once, once);
  }

  #flush(key: string): void {
    const slot = this.#window.get(key);
    if (!slot) return;
    clearTimeout(slot.timer);
    this.#window.delete(key);
    const sending = this.#sendBatches(gasKey(slot.items[0]!), slot.items);
    this.#sending.set(key, sending);
    const done = () => void (this.#sending.get(key) === sending && this.#sending.delete(key));
    // An error outside the per-item handling fails the items still waiting (a settled one ignores it).
    void sending.then(done, (e: unknown) => {
      done();
      for (const w of slot.items) w.failed(e);
    });
  }

  async #sendBatches(key: string, items: Waiting[]): Promise<void> {
    // The kind's gas is measured on its first request, sent alone (one eth_estimateGas per process and kind), so
    // that batches can be sized by it.
    const rest = [...items];
    while (!this.#gas.has(key) && rest.length > 0) {
      const first = rest.shift()!;
      await settle(first, () => this.#sendAlone(first, first.trusted));
    }
    const size = this.#capacity(key);
    const chunks: Waiting[][] = [];
    for (let i = 0; i < rest.length; i += size) chunks.push(rest.slice(i, i + size));
    await Promise.all(chunks.map((c) => this.#sendBatch(key, c)));
  }

  /** Simulates the batch once (each item's result; none if every item is trusted), drops the failing items with their
   * reason, sends the rest. */
  async #sendBatch(key: string, items: Waiting[]): Promise<void> {
    if (items.length === 1) return settle(items[0]!, () => this.#sendAlone(items[0]!, items[0]!.trusted));
    const { spec, sender } = items[0]!;
    const batch = spec.batch!;
    const tx = { from: sender ?? (await this.#keys[0]!.address()), to: items[0]!.request.market, data: batch.calldata(items.map((w) => w.request)) };
    let ok: boolean[];
    try {
      // Signed by trusted operators (their verify stage checked each proof): not simulated. An item that fails on
      // chain fails alone (fulfilBatch gives each item its own revert scope), and its job is simulated thereafter.
      // Otherwise with the gas limit it would be sent with: each item gets its share of it, as on chain (an item
      // whose job's callback needs more then fails here, and is sent alone with a raised limit).
      ok = items.every((w) => w.trusted)
        ? items.map(() => true)
        : batch.simulated(await this.#provider.call({ ...tx, gasLimit: await this.#gasLimit(key, items.length, tx) }));
    } catch (e) {
      // The batch as a whole reverted (or the call failed): each goes alone, simulated on its own.
      this.#log.warn({ err: shortMessage(e), items: items.length }, "batch simulation failed: sending its items alone");
      await Promise.all(items.map((w) => settle(w, () => this.#sendAlone(w))));
      return;
    }
    // A failing item is simulated alone for its reason (and dropped); the batch simulation already passed the rest.
    const failing = items.filter((_, i) => !ok[i]);
    const passing = items.filter((_, i) => ok[i]);
    await Promise.all(failing.map((w) => settle(w, () => this.#sendAlone(w))));
    if (passing.length === 0) return;
    if (passing.length === 1) return settle(passing[0]!, () => this.#sendAlone(passing[0]!, true));
    const data = passing.length === items.length ? tx.data : batch.calldata(passing.map((w) => w.request));
    try {
      const gasLimit = await this.#gasLimit(key, passing.length, { ...tx, data });
      const sent = await this.#pickKey(sender).send(
        passing[0]!.request.kind,
        tx.to,
        data,
        gasLimit,
        passing.map((w) => ({ relayId: w.relayId, jobId: w.jobId })),
        key,
        this.#log.child({ kind: passing[0]!.request.kind, jobId: passing.map((w) => w.jobId).join(",") }),
      );
      for (const w of passing) w.sent(sent);
    } catch (e) {
      for (const w of passing) w.failed(e);
    }
  }

  /** The key a request names, else the one with the fewest transactions in flight: requests spread over keys. */
  #pickKey(sender?: string): RelayKey {
    const named = sender === undefined ? undefined : this.#keys.find((k) => k.from.toLowerCase() === sender);
    return named ?? this.#keys.reduce((best, k) => (k.load < best.load ? k : best));
  }

  /** The chain's id, asked of the provider once. */
  chainId(): Promise<bigint> {
    return (this.#chainId ??= this.#provider.getNetwork().then((n) => n.chainId));
  }

  /** The node's fee suggestion, read at most once per block (once per FEE_MAX_AGE_MS while no head is followed). */
  fees(): Promise<Fees> {
    const head = this.#clock.head;
    const f = this.#fees;
    if (f && ((head !== -1 && f.head === head) || Date.now() - f.at < FEE_MAX_AGE_MS)) return f.fees;
    const fees = this.#feeOracle.current();
    this.#fees = { head, at: Date.now(), fees };
    fees.catch(() => this.#fees?.fees === fees && (this.#fees = undefined));
    return fees;
  }

  /**
   * Drops a request whose simulation reverted. A lock of a job that is no longer open (JobNotInStatus) is dropped as
   * `job-not-open`: whoever reads the outcome knows the job is taken without reading the chain.
   */
  #dropReverted(p: Prepared, e: unknown): never {
    const data = revertData(e);
    const decoded = data ? market.parseError(data) : null;
    const notOpen = p.request.kind === "lock" && decoded?.name === "JobNotInStatus" && Number(decoded.args[1]) !== JobStatus.Open;
    this.#drop(p.log, p.request.kind, notOpen ? JOB_NOT_OPEN : "simulation-reverted", `simulation reverted: ${describeRevert(e, market)}`);
  }

  /** Counts and logs a request given up on, and throws the error that tells BullMQ not to retry it. */
  #drop(log: Logger, kind: string, reason: string, message: string): never {
    this.#metrics.dropped.inc({ kind, reason });
    log.warn({ reason }, message);
    throw new Dropped(message, reason);
  }

  /** What a key needs of the relayer it belongs to. */
  get shared() {
    return {
      provider: this.#provider,
      config: this.#config,
      log: this.#log,
      store: this.#store,
      clock: this.#clock,
      metrics: this.#metrics,
      fees: () => this.fees(),
      chainId: () => this.chainId(),
      drop: (log: Logger, kind: string, reason: string, message: string) => this.#drop(log, kind, reason, message),
      mined: (entry: JournalEntry, receipt: TransactionReceipt) => {
        this.#metrics.gasUsed.inc({ kind: entry.kind }, Number(receipt.gasUsed));
        // Booked per item; a transaction that ran out raises the figure by the margin (gasUsed = gasLimit).
        const perItem = receipt.gasUsed / BigInt(entry.items.length);
        if (perItem > (this.#gas.get(entry.gasKey) ?? 0n)) this.#gas.set(entry.gasKey, perItem);
      },
      settled: (relayId: string, kind: string, outcome: RelayOutcome) => {
        if (outcome.status === "mined") this.#metrics.mined.inc({ kind });
        else this.#metrics.dropped.inc({ kind, reason: outcome.status === "reverted" ? "reverted-onchain" : outcome.status });
        this.#settleLocally(relayId, outcome);
      },
    };
  }
}

/** Hands a waiting request its broadcast, or the error that ended it. */
async function settle(w: Waiting, send: () => Promise<RelaySent>): Promise<void> {
  try {
    w.sent(await send());
  } catch (e) {
    w.failed(e);
  }
}

/** A request the relayer gave up on for good, with the reason it was counted under. */
class Dropped extends UnrecoverableError {
  constructor(
    message: string,
    readonly dropped: string,
  ) {
    super(message);
  }
}

/**
 * Broadcasts signed bytes with one eth_sendRawTransaction (ethers' broadcastTransaction also asks for the block
 * number and decodes the bytes again); a provider that cannot send raw JSON-RPC falls back to it.
 */
async function sendRaw(provider: Provider, raw: string): Promise<void> {
  if (provider instanceof JsonRpcApiProvider) await provider.send("eth_sendRawTransaction", [raw]);
  else await provider.broadcastTransaction(raw);
}

const feeFields = (f: Fees) => ({ maxFeePerGas: f.maxFeePerGas.toString(), maxPriorityFeePerGas: f.maxPriorityFeePerGas.toString() });

/** A relay transaction as a key signs it: every field set, EIP-1559 fees. */
type RelayTx = { from: string; to: string; data: string; gasLimit: bigint; nonce: number; type: 2 } & Fees;

/** One relayer key: its nonce stream, its sends and replacements, and its inclusion tracker. */
class RelayKey implements KeySender {
  readonly #signer: Signer;
  readonly #nonces: NonceManager;
  readonly #relayer: Relayer["shared"];
  #address?: Promise<string>;
  #from = "";
  /** Sends under way (not yet tracked). */
  #sending = 0;
  tracker?: InclusionTracker;

  constructor(signer: Signer, relayer: Relayer) {
    this.#signer = signer;
    this.#nonces = new NonceManager(signer, (pending) => this.#nextNonce(pending));
    this.#relayer = relayer.shared;
  }

  /**
   * The next nonce after a re-sync: never one a tracked transaction holds. Tracked transactions at or above the
   * chain's pending count are missing from the node (a reorg took them out, or the node lost them): they are
   * broadcast again first, so that the key's nonces stay gapless and none is handed to a second request.
   */
  async #nextNonce(pending: number): Promise<number> {
    const missing = this.tracker?.entries().filter((e) => e.nonce >= pending) ?? [];
    for (const entry of missing) {
      await this.rebroadcast(entry).catch((e: unknown) => this.#relayer.log.warn({ nonce: entry.nonce, err: shortMessage(e) }, "missing transaction not accepted again"));
    }
    if (missing.length > 0) this.#relayer.log.warn({ from: this.#from, pending, nonces: missing.map((e) => e.nonce) }, "tracked transactions missing from the node: broadcast again before the next send");
    return Math.max(pending, ...missing.map((e) => e.nonce + 1));
  }

  get from(): string {
    return this.#from;
  }

  /** A transaction of this key is being signed or broadcast. */
  get busy(): boolean {
    return this.#sending > 0;
  }

  get load(): number {
    return this.#sending + (this.tracker?.size ?? 0);
  }

  async address(): Promise<string> {
    this.#address ??= this.#signer.getAddress().then((a) => {
      this.#from = a;
      this.tracker = this.#newTracker();
      return a;
    });
    return this.#address;
  }

  #newTracker(): InclusionTracker {
    const r = this.#relayer;
    return new InclusionTracker(this, r.provider, r.clock, r.store, r.config, r.log.child({ from: this.#from }), {
      mined: r.mined,
      replaced: () => r.metrics.replaced.inc(),
      reorged: () => r.metrics.reorged.inc(),
      settled: r.settled,
    });
  }

  fees(): Promise<Fees> {
    return this.#relayer.fees();
  }

  /** Re-broadcasts the journal's transactions under the nonce lock and tracks them (at start). */
  async resume(): Promise<void> {
    const from = await this.address();
    const entries = await this.#relayer.store.entries(from);
    if (entries.length === 0) return;
    await this.#nonces.exclusive(async () => {
      for (const entry of entries) {
        try {
          await this.rebroadcast(entry);
        } catch (e) {
          // Mined already (the tracker finds the receipt) or the nonce went elsewhere (it reports "replaced").
          this.#relayer.log.debug({ nonce: entry.nonce, err: shortMessage(e) }, "journalled transaction not accepted again");
        }
      }
    });
    for (const entry of entries) {
      for (const item of entry.items) {
        this.#relayer.log.info({ from, jobId: item.jobId, kind: entry.kind, nonce: entry.nonce, txHash: entry.hashes.at(-1), relayId: item.relayId }, "resuming a transaction sent before a restart");
      }
      this.#track(entry);
    }
  }

  #track(entry: JournalEntry): void {
    this.tracker!.track(entry);
  }

  /**
   * Signs and broadcasts `request`, calling `record` with its hash (and the signed bytes) before the broadcast when
   * the signer signs locally, else right after it. Returns the hash.
   */
  async #broadcast(request: RelayTx, record: (hash: string, raw?: string) => Promise<void>): Promise<string> {
    if (this.#signer instanceof BaseWallet) {
      // Every field is set here (the chain id is the provider's static network), so the transaction is signed as it
      // stands: ethers' populate-sign-broadcast path encodes and hashes a batch's ~100 kB of calldata several times
      // more (~60 ms of CPU a batch, under the nonce lock) and asks for the block number on every broadcast.
      const { to, data, gasLimit, nonce, type, maxFeePerGas, maxPriorityFeePerGas } = request;
      const tx = Transaction.from({ to, data, gasLimit, nonce, type, maxFeePerGas, maxPriorityFeePerGas, chainId: await this.#relayer.chainId() });
      tx.signature = this.#signer.signingKey.sign(tx.unsignedHash);
      const raw = tx.serialized;
      const hash = keccak256(raw);
      await record(hash, raw);
      await sendRaw(this.#relayer.provider, raw);
      return hash;
    }
    const { hash } = await this.#signer.sendTransaction(request);
    await record(hash);
    return hash;
  }

  /** Sends at a new nonce, journalled; after a nonce error the nonce manager re-syncs and the send is tried again. */
  async send(kind: string, to: string, data: string, gasLimit: bigint, items: JournalItem[], gasKey: string, log: Logger): Promise<RelaySent> {
    // Counted before the first await: requests picking a key meanwhile see this one as busier.
    this.#sending++;
    try {
      const from = await this.address();
      const r = this.#relayer;
      for (let attempt = 1; ; attempt++) {
        const fees = await this.fees();
        let entry: JournalEntry;
        try {
          entry = await this.#nonces.send(async (nonce) => {
            const base = { kind, nonce, to, data, gasLimit: gasLimit.toString(), ...feeFields(fees), items, gasKey };
            let recorded: JournalEntry | undefined;
            try {
              await this.#broadcast({ from, to, data, gasLimit, nonce, type: 2, ...fees }, async (h, raw) => {
                recorded = { ...base, hashes: [h], ...(raw ? { raw } : {}) };
                await r.store.record(from, recorded);
              });
            } catch (e) {
              // Journalled, then the broadcast failed without an answer (the node may have the transaction): the
              // tracker owns it now, re-broadcasting it if it stays unmined. Refused outright: it never existed.
              if (recorded && classifySendError(e).action === "retry") return recorded;
              if (recorded) await r.store.discard(from, recorded);
              throw e;
            }
            return recorded!;
          });
        } catch (e) {
          const c = classifySendError(e);
          if (c.action === "resync-nonce") {
            r.metrics.nonceErrors.inc();
            if (attempt < NONCE_ATTEMPTS) {
              log.warn({ reason: c.reason }, "nonce out of step with the chain: re-syncing and sending again");
              continue;
            }
          }
          if (c.action === "drop") {
            // EDR executes a tx when it is sent with automine on, so a revert can surface here.
            const detail = c.reason === "reverted" ? describeRevert(e, market) : shortMessage(e);
            r.drop(log, kind, c.reason, `send rejected: ${detail}`);
          }
          throw e;
        }
        r.metrics.sent.inc({ kind });
        r.metrics.batchSize.observe({ kind }, items.length);
        log.info({ txHash: entry.hashes[0], from, nonce: entry.nonce, gasLimit: entry.gasLimit, items: items.length, maxFeePerGas: entry.maxFeePerGas }, "transaction sent");
        this.#track(entry);
        return { from, nonce: entry.nonce, txHash: entry.hashes[0]!, batchSize: items.length };
      }
    } finally {
      this.#sending--;
    }
  }

  async replace(entry: JournalEntry, fees: Fees): Promise<JournalEntry> {
    const from = await this.address();
    let next = entry;
    await this.#broadcast({ from, to: entry.to, data: entry.data, gasLimit: BigInt(entry.gasLimit), nonce: entry.nonce, type: 2, ...fees }, async (h, raw) => {
      const hashes = entry.hashes.includes(h) ? entry.hashes : [...entry.hashes, h];
      next = { ...entry, hashes, ...feeFields(fees), ...(raw ? { raw } : {}) };
      await this.#relayer.store.record(from, next);
    });
    return next;
  }

  async rebroadcast(entry: JournalEntry): Promise<void> {
    if (entry.raw) {
      await sendRaw(this.#relayer.provider, entry.raw);
      return;
    }
    // A signer that does not sign locally (a node's account) signs the same fields again: the same transaction.
    const fees = { maxFeePerGas: BigInt(entry.maxFeePerGas), maxPriorityFeePerGas: BigInt(entry.maxPriorityFeePerGas) };
    await this.replace(entry, fees);
  }
}
