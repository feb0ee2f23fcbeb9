// Turns an operator-signed request into a mined transaction: encode, simulate (a request that would revert is
// dropped before it costs gas), estimate, send at the key's next nonce with EIP-1559 fees, wait for confirmations,
// and replace the transaction with higher fees at the same nonce while it is stuck. With a journal (the relay
// worker keeps one per relay job in Redis) every signed transaction is recorded before it is broadcast, so a
// relayer restarted after a crash resumes that transaction instead of sending the request again.
import { UnrecoverableError } from "bullmq";
import { BaseWallet, formatEther, isAddress, keccak256, type Provider, type Signer, type TransactionReceipt, type TransactionRequest } from "ethers";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Config } from "../shared/config.js";
import { VerdictError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { InferenceMarket__factory } from "../types/ethers-contracts/index.js";
import { classifySendError, describeRevert, shortMessage } from "../shared/rpcErrors.js";
import { BlockClock } from "./blockClock.js";
import { bumpFees, currentFees, isBump, type Fees } from "./fees.js";
import { NonceManager } from "./nonceManager.js";
import { relayedJobs, type RelayRequest, type RelayResult } from "./types.js";

/** Gas limit = estimate + 20%: the estimate is taken on the latest state, which can change before mining. */
const GAS_LIMIT_PERCENT = 120n;
/** Fresh sends tried after nonce errors (re-syncing in between) before the job fails and is retried by BullMQ. */
const NONCE_ATTEMPTS = 3;
/** Fee bumps per transaction: at the default 15% ten of them raise the fee ~4x, unless the cap stops them first. */
const MAX_REPLACEMENTS = 10;

export interface RelayerOptions {
  /** Sends the transactions; must have a provider. */
  signer: Signer;
  config: Config["relayer"];
  logger: Logger;
  registry: Registry;
}

interface Tx {
  from: string;
  to: string;
  data: string;
  chainId: bigint;
}

interface Sent {
  nonce: number;
  hash: string;
  fees: Fees;
}

/** What a relay has broadcast for one request: every hash sent at its nonce (replacements included), as JSON. */
export interface JournalEntry {
  nonce: number;
  gasLimit: string;
  hashes: string[];
  /** Fees of the latest hash. */
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  /** The latest signed transaction, when the signer signs locally (a Wallet): re-broadcast on resume. */
  raw?: string;
}

/**
 * Durable record of one request's transaction, written before each broadcast. Without it, a relayer killed
 * between broadcast and receipt re-sends the request after restart at the next nonce: a duplicate transaction
 * (and a reverted one, since the first takes effect), found by this fault test: test/e2e/chaos.e2e.test.ts.
 */
export interface TxJournal {
  load(): Promise<JournalEntry | undefined>;
  save(entry: JournalEntry): Promise<void>;
  clear(): Promise<void>;
}

/** The per-request logger: every line names the on-chain job, the request kind and the chain. */
export function jobLogger(log: Logger, r: RelayRequest): Logger {
  return log.child({ jobId: relayedJobs(r), kind: r.kind, chainId: r.chainId });
}

function relayerMetrics(registry: Registry, balance: () => Promise<bigint>) {
  const registers = [registry];
  new Gauge({
    name: "verdict_relayer_balance_eth",
    help: "ETH balance of the relayer account (ether), read at scrape time",
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
    mined: new Counter({ name: "verdict_relayer_tx_mined_total", help: "Relay transactions mined successfully and confirmed", labelNames: ["kind"] as const, registers }),
    dropped: new Counter({
      name: "verdict_relayer_tx_dropped_total",
      help: "Requests given up on: simulation-reverted, reverted-onchain, bad-request, wrong-chain, or a send error that cannot succeed",
      labelNames: ["kind", "reason"] as const,
      registers,
    }),
    replaced: new Counter({ name: "verdict_relayer_tx_replaced_total", help: "Stuck transactions replaced with higher fees at the same nonce", registers }),
    gasUsed: new Counter({ name: "verdict_relayer_gas_used_total", help: "Gas used by mined relay transactions, reverted ones included", labelNames: ["kind"] as const, registers }),
    nonceErrors: new Counter({ name: "verdict_relayer_nonce_errors_total", help: "Sends refused for a stale nonce (too low, too high, already known)", registers }),
  };
}

const feeFields = (f: Fees) => ({ maxFeePerGas: f.maxFeePerGas.toString(), maxPriorityFeePerGas: f.maxPriorityFeePerGas.toString() });

/** Relays requests from one key. Create one per key and process: it owns that key's nonces. */
export class Relayer {
  readonly #signer: Signer;
  readonly #provider: Provider;
  readonly #config: Config["relayer"];
  readonly #log: Logger;
  readonly #nonces: NonceManager;
  readonly #metrics: ReturnType<typeof relayerMetrics>;
  readonly #market = InferenceMarket__factory.createInterface();
  /** Wakes every relay waiting for a receipt once per new block. */
  readonly #clock: BlockClock;
  /** The relay in progress per on-chain job (market and job id). */
  readonly #perJob = new Map<string, Promise<RelayResult>>();

  constructor(o: RelayerOptions) {
    if (!o.signer.provider) throw new VerdictError("NO_PROVIDER", "the relayer's signer is not connected to a provider");
    this.#signer = o.signer;
    this.#provider = o.signer.provider;
    this.#config = o.config;
    this.#log = o.logger;
    this.#nonces = new NonceManager(o.signer);
    // A few head polls per stuck window, at most 20 a second and at least 4: a slow poll delays every receipt.
    this.#clock = new BlockClock(this.#provider, Math.min(250, Math.max(50, Math.floor(o.config.stuckAfterMs / 5))));
    this.#metrics = relayerMetrics(o.registry, async () => this.#provider.getBalance(await this.#signer.getAddress()));
  }

  /**
   * Sends `request` and resolves once its transaction has `confirmations`. Throws UnrecoverableError when the
   * request can never succeed (it would revert, is malformed or for another chain); any other error is
   * transient and the job should be retried.
   */
  async relay(request: RelayRequest, log: Logger = jobLogger(this.#log, request), journal?: TxJournal): Promise<RelayResult> {
    // One request per on-chain job at a time: operators race for a job's lock, and two locks simulated before
    // either mined would both be sent, the loser reverting on chain (gas for nothing). Queued behind the first,
    // the second is simulated once the first has settled and is dropped without a transaction.
    const key = `${String(request.market).toLowerCase()}-${relayedJobs(request)}`;
    const run = (this.#perJob.get(key) ?? Promise.resolve()).catch(() => undefined).then(() => this.#relay(request, log, journal));
    this.#perJob.set(key, run);
    try {
      return await run;
    } finally {
      if (this.#perJob.get(key) === run) this.#perJob.delete(key);
    }
  }

  async #relay(request: RelayRequest, log: Logger, journal?: TxJournal): Promise<RelayResult> {
    const kind = request.kind;
    const [from, network] = await Promise.all([this.#signer.getAddress(), this.#provider.getNetwork()]);
    if (request.chainId !== network.chainId.toString()) {
      this.#drop(log, kind, "wrong-chain", `request is for chain ${request.chainId} but the relayer is on chain ${network.chainId}`);
    }
    const tx: Tx = { from, to: request.market, data: this.#calldata(request, log), chainId: network.chainId };
    const resumed = journal ? await this.#resume(journal, log) : undefined;
    const gasLimit = resumed?.gasLimit ?? (await this.#preflight(tx, kind, log));
    const first = resumed?.sent ?? (await this.#sendFresh(tx, gasLimit, await currentFees(this.#provider, this.#config), kind, log, journal));
    const { receipt, replacements } = await this.#confirm(tx, gasLimit, first, log, journal, resumed?.hashes);
    this.#metrics.gasUsed.inc({ kind }, Number(receipt.gasUsed));
    if (receipt.status !== 1) {
      this.#drop(log, kind, "reverted-onchain", `transaction ${receipt.hash} reverted on chain in block ${receipt.blockNumber}`);
    }
    this.#metrics.mined.inc({ kind });
    const result: RelayResult = {
      txHash: receipt.hash,
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed.toString(),
      effectiveGasPrice: receipt.gasPrice.toString(),
      replacements,
      ...(kind === "fulfilBatch" ? { failed: this.#skippedJobs(receipt) } : {}),
    };
    log.info(result, "relayed");
    return result;
  }

  /** The jobs a mined batch fulfilment skipped: its FulfilmentFailed events, each reason decoded (BatchSlotRejected). */
  #skippedJobs(receipt: TransactionReceipt): { jobId: string; reason: string }[] {
    return receipt.logs.flatMap((l) => {
      // Only the market's own events: a job's callback contract could emit a look-alike.
      if (l.address.toLowerCase() !== receipt.to?.toLowerCase()) return [];
      const event = this.#market.parseLog(l);
      if (event?.name !== "FulfilmentFailed") return [];
      const reason = this.#market.parseError(event.args.reason as string);
      return [{ jobId: String(event.args.jobId), reason: reason ? `${reason.name}(${reason.args.join(", ")})` : String(event.args.reason) }];
    });
  }

  /** Counts and logs a request given up on, and throws the error that tells BullMQ not to retry it. */
  #drop(log: Logger, kind: string, reason: string, message: string): never {
    this.#metrics.dropped.inc({ kind, reason });
    log.warn({ reason }, message);
    throw new UnrecoverableError(message);
  }

  #calldata(r: RelayRequest, log: Logger): string {
    try {
      if (!isAddress(r.market)) throw new Error(`market ${String(r.market)} is not an address`);
      switch (r.kind) {
        case "lock":
          return this.#market.encodeFunctionData("lockWithSignature", [r.jobId, r.terms, r.operator, r.validUntil, r.signature]);
        case "fulfil":
          return this.#market.encodeFunctionData("fulfilWithSignature", [r.auth]);
        case "fulfilBatch":
          return this.#market.encodeFunctionData("fulfilBatchProof", [r.auth]);
        default:
          throw new Error(`unknown request kind ${String((r as { kind: unknown }).kind)}`);
      }
    } catch (e) {
      return this.#drop(log, r.kind, "bad-request", `malformed ${r.kind} request: ${shortMessage(e)}`);
    }
  }

  /** eth_call then eth_estimateGas from the relayer's address; returns the gas limit. */
  async #preflight(tx: Tx, kind: string, log: Logger): Promise<bigint> {
    try {
      await this.#provider.call(tx);
      return ((await this.#provider.estimateGas(tx)) * GAS_LIMIT_PERCENT) / 100n;
    } catch (e) {
      if (classifySendError(e).reason === "reverted") {
        this.#drop(log, kind, "simulation-reverted", `simulation reverted: ${describeRevert(e, this.#market)}`);
      }
      throw e;
    }
  }

  /**
   * Signs and broadcasts `request`, calling `record` with its hash (and the signed bytes) before the broadcast when
   * the signer signs locally, else right after it. Returns the hash.
   */
  async #broadcast(request: TransactionRequest, record: (hash: string, raw?: string) => Promise<void>): Promise<string> {
    if (this.#signer instanceof BaseWallet) {
      const raw = await this.#signer.signTransaction(await this.#signer.populateTransaction(request));
      const hash = keccak256(raw);
      await record(hash, raw);
      await this.#provider.broadcastTransaction(raw);
      return hash;
    }
    const { hash } = await this.#signer.sendTransaction(request);
    await record(hash);
    return hash;
  }

  /**
   * A transaction this request's journal says was broadcast (by this process or one that died): re-broadcast
   * (the node may never have got it) under the nonce lock, so no other send takes its nonce meanwhile. Returns
   * undefined, clearing the journal, when the nonce went to another transaction: the request is then sent afresh
   * (after a simulation, which drops it if it has taken effect since).
   */
  async #resume(journal: TxJournal, log: Logger): Promise<{ sent: Sent; gasLimit: bigint; hashes: string[] } | undefined> {
    const entry = await journal.load();
    if (!entry) return undefined;
    const fees = { maxFeePerGas: BigInt(entry.maxFeePerGas), maxPriorityFeePerGas: BigInt(entry.maxPriorityFeePerGas) };
    const resumed = { sent: { nonce: entry.nonce, hash: entry.hashes.at(-1)!, fees }, gasLimit: BigInt(entry.gasLimit), hashes: entry.hashes };
    if (await this.#receiptOf(entry.hashes, log)) {
      log.info({ nonce: entry.nonce, txHash: resumed.sent.hash }, "resuming a transaction mined before a restart");
      return resumed;
    }
    const raw = entry.raw;
    if (raw === undefined) {
      log.info({ nonce: entry.nonce, txHash: resumed.sent.hash }, "resuming a transaction sent before a restart");
      return resumed;
    }
    const taken = await this.#nonces.exclusive(async () => {
      try {
        await this.#provider.broadcastTransaction(raw);
        return false;
      } catch (e) {
        const c = classifySendError(e);
        if (c.reason === "already-known") return false;
        // Too low: mined since (one of ours: the receipt check below finds it) or taken by another transaction.
        // Underpriced: another transaction holds the nonce in the pool (ours are all in the journal).
        if ((c.reason === "nonce-too-low" || c.action === "bump") && !(await this.#receiptOf(entry.hashes, log))) return true;
        if (c.reason === "nonce-too-low") return false;
        throw e;
      }
    });
    if (taken) {
      log.warn({ nonce: entry.nonce }, "the journal's transaction lost its nonce to another one: sending the request afresh");
      await journal.clear();
      return undefined;
    }
    log.info({ nonce: entry.nonce, txHash: resumed.sent.hash }, "resuming a transaction sent before a restart");
    return resumed;
  }

  /** Sends at a new nonce; after a nonce error the nonce manager re-syncs and the send is tried again. */
  async #sendFresh(tx: Tx, gasLimit: bigint, fees: Fees, kind: string, log: Logger, journal?: TxJournal): Promise<Sent> {
    for (let attempt = 1; ; attempt++) {
      try {
        const sent = await this.#nonces.send(async (nonce) => {
          const hash = await this.#broadcast({ ...tx, gasLimit, nonce, type: 2, ...fees }, async (h, raw) => {
            await journal?.save({ nonce, gasLimit: gasLimit.toString(), hashes: [h], ...feeFields(fees), raw });
          });
          return { nonce, hash, fees };
        });
        this.#metrics.sent.inc({ kind });
        log.info({ txHash: sent.hash, nonce: sent.nonce, gasLimit: gasLimit.toString(), ...feeFields(fees) }, "transaction sent");
        return sent;
      } catch (e) {
        const c = classifySendError(e);
        // Refused outright: nothing of this attempt is in the pool, so a restart must not resume it.
        if (c.action !== "retry") await journal?.clear();
        if (c.action === "resync-nonce") {
          this.#metrics.nonceErrors.inc();
          if (attempt < NONCE_ATTEMPTS) {
            log.warn({ reason: c.reason }, "nonce out of step with the chain: re-syncing and sending again");
            continue;
          }
        }
        if (c.action === "drop") {
          // EDR executes a tx when it is sent with automine on, so a revert can surface here.
          const detail = c.reason === "reverted" ? describeRevert(e, this.#market) : shortMessage(e);
          this.#drop(log, kind, c.reason, `send rejected: ${detail}`);
        }
        throw e;
      }
    }
  }

  /**
   * Looks for a receipt of any transaction sent at `first.nonce` (a replacement or the original may be the one
   * mined) at every new block until it has enough confirmations. Each `stuckAfterMs` without a receipt the transaction is sent again
   * at the same nonce, with bumped fees while bumps are left and the cap allows one, else unchanged (a no-op if
   * the node still holds it, a re-broadcast if the node dropped it). It never gives up on a pending nonce: every
   * later transaction from the key waits behind it anyway.
   */
  async #confirm(tx: Tx, gasLimit: bigint, first: Sent, log: Logger, journal?: TxJournal, sentBefore?: string[]): Promise<{ receipt: TransactionReceipt; replacements: number }> {
    const { stuckAfterMs, confirmations } = this.#config;
    const hashes = sentBefore ? [...sentBefore] : [first.hash];
    let fees = first.fees;
    let replacements = 0;
    let nonceTaken = false;
    let stuckAt = Date.now() + stuckAfterMs;
    for (;;) {
      const receipt = await this.#receiptOf(hashes, log);
      if (receipt) {
        // Confirmations from the clock's head (no request): the block holding it counts as the first.
        if (Math.max(this.#clock.head, receipt.blockNumber) - receipt.blockNumber + 1 >= confirmations) return { receipt, replacements };
      } else if (Date.now() >= stuckAt) {
        if (nonceTaken) {
          await journal?.clear(); // the retry sends afresh (after a simulation)
          throw new VerdictError("NONCE_TAKEN", `nonce ${first.nonce} was used by a transaction this relayer did not send`, "check that no other process sends from the relayer key", true);
        }
        let next = fees;
        try {
          const bumped = bumpFees(fees, await currentFees(this.#provider, this.#config), this.#config);
          if (replacements < MAX_REPLACEMENTS && isBump(fees, bumped)) next = bumped;
          const hash = await this.#broadcast({ ...tx, gasLimit, nonce: first.nonce, type: 2, ...next }, async (h, raw) => {
            const all = hashes.includes(h) ? hashes : [...hashes, h];
            await journal?.save({ nonce: first.nonce, gasLimit: gasLimit.toString(), hashes: all, ...feeFields(next), raw });
          });
          if (hash !== hashes.at(-1)) {
            hashes.push(hash);
            replacements++;
            this.#metrics.replaced.inc();
            log.warn({ txHash: hash, nonce: first.nonce, replacements, ...feeFields(next) }, `transaction unmined after ${stuckAfterMs} ms: replaced with higher fees`);
          }
          fees = next;
        } catch (e) {
          const c = classifySendError(e);
          // Nonce too low: one of ours was mined since the last poll (the next poll finds it) or a foreign tx took
          // the nonce (the next stuck round gives up). Underpriced: bump from the refused fees next time.
          if (c.reason === "nonce-too-low") nonceTaken = true;
          if (c.action === "bump") fees = next;
          log[c.reason === "already-known" ? "debug" : "warn"]({ reason: c.reason, err: shortMessage(e) }, "re-send at the same nonce not accepted; still waiting");
        }
        stuckAt = Date.now() + stuckAfterMs;
      }
      // The next block, or the moment the transaction counts as stuck, whichever comes first.
      await this.#clock.next(receipt ? stuckAfterMs : stuckAt - Date.now());
    }
  }

  /** The receipt of whichever of `hashes` was mined, if any; a failed poll counts as none (polling has no effects). */
  async #receiptOf(hashes: string[], log: Logger): Promise<TransactionReceipt | null> {
    try {
      const receipts = await Promise.all(hashes.map((h) => this.#provider.getTransactionReceipt(h)));
      return receipts.find((r) => r !== null) ?? null;
    } catch (e) {
      log.warn({ err: shortMessage(e) }, "receipt poll failed; polling again");
      return null;
    }
  }
}
