// The inclusion tracker of one relayer key: follows new heads and, once per block, asks for the key's mined nonce
// count and then the receipts of all its unsettled transactions below it at once (ethers sends the requests of
// one tick as one JSON-RPC batch). It
// replaces a transaction stuck for stuckAfterMs with higher fees at the same nonce, re-broadcasts one whose
// receipt vanished (reorged out), gives up on a nonce another transaction took ("replaced"), and publishes each
// request's outcome once, at the confirmation depth. Relays complete at broadcast; the waiting happens here.
import { setTimeout as sleep } from "node:timers/promises";
import type { Provider, TransactionReceipt } from "ethers";
import type { Config } from "../shared/config.js";
import type { Logger } from "../shared/logger.js";
import { classifySendError, shortMessage } from "../shared/rpcErrors.js";
import type { BlockClock } from "./blockClock.js";
import { bumpFees, isBump, type Fees } from "./fees.js";
import { kindOf } from "./kinds.js";
import type { JournalEntry, RelayStore } from "./store.js";
import type { RelayOutcome } from "./types.js";

/** Shortest wait for a block before looking again without one. */
const RECHECK_MIN_MS = 1_000;
/** Pause after a failed round (RPC or Redis unreachable) before the next. */
const ROUND_RETRY_MS = 1_000;
/** Fee bumps per transaction: at the default 15% ten of them raise the fee ~4x, unless the cap stops them first. */
const MAX_REPLACEMENTS = 10;
/** Transactions' hashes in flight up to which a round asks for their receipts without the key's mined count. */
const RECEIPTS_WITHOUT_COUNT = 2;

/** What the tracker needs of its key: fees, and sending at a nonce it already holds. */
export interface KeySender {
  readonly from: string;
  fees(): Promise<Fees>;
  /** Signs `entry` again with `fees` at its nonce, records it in the journal, broadcasts; returns the new entry. */
  replace(entry: JournalEntry, fees: Fees): Promise<JournalEntry>;
  /** Broadcasts the entry's latest signed transaction again (the node may have lost it, or a reorg dropped it). */
  rebroadcast(entry: JournalEntry): Promise<void>;
}

export interface TrackerEvents {
  /** A transaction reached the confirmation depth (or reverted there): for gas bookkeeping and metrics. */
  mined(entry: JournalEntry, receipt: TransactionReceipt): void;
  replaced(): void;
  reorged(): void;
  /** Each request's outcome, after it is stored. */
  settled(relayId: string, kind: string, outcome: RelayOutcome): void;
}

interface Watch {
  entry: JournalEntry;
  /** The receipt seen last round, to notice one that vanished or moved (a reorg). */
  seen?: { hash: string; blockHash: string };
  stuckAt: number;
  replacements: number;
  /** A re-send was refused with "nonce too low" and none of ours was mined: a foreign transaction may hold it. */
  nonceTaken: boolean;
}

/** What a log line about a transaction names: its nonce, kind and on-chain job(s). */
function about(entry: JournalEntry) {
  return { nonce: entry.nonce, kind: entry.kind, jobId: entry.items.map((i) => i.jobId).join(",") };
}

export class InclusionTracker {
  readonly #pending = new Map<number, Watch>();
  #loop?: Promise<void>;
  #closed = false;
  /** The head the last round started from. */
  #roundHead = -1;
  /** Resolves at close(), waking the loop from its wait for a block. */
  readonly #closing: Promise<void>;
  #close!: () => void;

  constructor(
    private readonly key: KeySender,
    private readonly provider: Provider,
    private readonly clock: BlockClock,
    private readonly store: RelayStore,
    private readonly config: Pick<Config["relayer"], "confirmations" | "stuckAfterMs" | "feeBumpPercent" | "maxFeePerGasGwei">,
    private readonly log: Logger,
    private readonly events: TrackerEvents,
  ) {
    this.#closing = new Promise<void>((resolve) => (this.#close = resolve));
  }

  /** Transactions being watched. */
  get size(): number {
    return this.#pending.size;
  }

  /** The watched transactions, lowest nonce first. */
  entries(): JournalEntry[] {
    return [...this.#pending.values()].map((w) => w.entry).sort((a, b) => a.nonce - b.nonce);
  }

  /** Watches `entry` (just broadcast, or loaded from the journal after a restart) until its outcome is published. */
  track(entry: JournalEntry): void {
    this.#pending.set(entry.nonce, { entry, stuckAt: Date.now() + this.config.stuckAfterMs, replacements: Math.max(0, entry.hashes.length - 1), nonceTaken: false });
    this.#loop ??= this.#run().finally(() => (this.#loop = undefined));
  }

  /** Stops watching (at shutdown): the journal keeps what is unsettled for the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#close();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#pending.size > 0 && !this.#closed) {
      const stuckAt = Math.min(...[...this.#pending.values()].map((w) => w.stuckAt));
      // The next block, or the moment a transaction counts as stuck, whichever comes first.
      // A block seen while the last round ran (a transaction mined meanwhile) is not waited for again: the wait
      // is for a head newer than the one that round started from, else the last block of a burst went unnoticed
      // until the stuck timer (found by the relayer bench on automine: 30 s for its last batch).
      // Two block times at most (at least 1 s): a node can answer the new head a moment before its nonce count, and
      // on a chain that mines only on demand no later head would come to look again.
      const recheck = this.clock.blockMs > 0 ? Math.max(RECHECK_MIN_MS, 2 * this.clock.blockMs) : this.config.stuckAfterMs;
      if (this.clock.head === this.#roundHead) await Promise.race([this.clock.next(Math.min(recheck, stuckAt - Date.now())), this.#closing]);
      if (this.#closed) return;
      this.#roundHead = this.clock.head;
      try {
        await this.#round();
      } catch (e) {
        // Redis or RPC trouble: tried again after a pause (nothing here has effects a retry would repeat); without
        // it a transaction already due for a re-send would have the loop retry at once, hammering a failing node.
        this.log.warn({ err: shortMessage(e), from: this.key.from }, "inclusion round failed; trying again shortly");
        await Promise.race([sleep(ROUND_RETRY_MS), this.#closing]);
      }
    }
  }

  async #round(): Promise<void> {
    const watches = [...this.#pending.values()];
    // Only a nonce below the key's mined count can have a receipt: one count per block spares asking for the
    // receipts of a backlog that waits for room in the next blocks. With a hash or two in flight, asking for
    // their receipts costs no more than the count.
    const all = watches.flatMap((w) => w.entry.hashes);
    const minedCount = all.length <= RECEIPTS_WITHOUT_COUNT ? Infinity : await this.provider.getTransactionCount(this.key.from, "latest");
    const hashes = watches.filter((w) => w.entry.nonce < minedCount).flatMap((w) => w.entry.hashes);
    // One request per hash, all in the same tick: one JSON-RPC batch per block for the whole key.
    const receipts = await Promise.all(hashes.map((h) => this.provider.getTransactionReceipt(h)));
    const byHash = new Map(hashes.map((h, i) => [h, receipts[i] ?? null]));
    const head = this.clock.head;
    const unmined = watches.filter((w) => !w.entry.hashes.some((h) => byHash.get(h))).map((w) => w.entry.nonce);
    const lowestUnmined = Math.min(...unmined);
    for (const w of watches) {
      const receipt = w.entry.hashes.map((h) => byHash.get(h)).find((r) => r) ?? null;
      if (receipt) {
        if (w.seen && (w.seen.hash !== receipt.hash || w.seen.blockHash !== receipt.blockHash)) {
          this.log.warn({ ...about(w.entry), txHash: receipt.hash, blockNumber: receipt.blockNumber }, "transaction moved to another block (reorg)");
          this.events.reorged();
        }
        w.seen = { hash: receipt.hash, blockHash: receipt.blockHash };
        // The block holding it counts as the first confirmation.
        if (Math.max(head, receipt.blockNumber) - receipt.blockNumber + 1 >= this.config.confirmations) await this.#settle(w, receipt);
      } else if (w.seen) {
        // Mined, then gone: reorged out. The signed transaction is still valid at its nonce; send it again.
        this.log.warn({ ...about(w.entry), txHash: w.seen.hash }, "transaction reorged out: broadcasting it again");
        this.events.reorged();
        w.seen = undefined;
        await this.#resend(w, () => this.key.rebroadcast(w.entry));
        w.stuckAt = Date.now() + this.config.stuckAfterMs;
      } else if (Date.now() >= w.stuckAt) {
        await this.#unstick(w, w.entry.nonce === lowestUnmined);
      }
    }
  }

  /** Sends again; "nonce too low" without a receipt of ours means the nonce may be another transaction's. */
  async #resend(w: Watch, send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (e) {
      const c = classifySendError(e);
      if (c.reason === "nonce-too-low") w.nonceTaken = true;
      this.log[c.reason === "already-known" ? "debug" : "warn"]({ ...about(w.entry), reason: c.reason, err: shortMessage(e) }, "re-send at the same nonce not accepted; still waiting");
    }
  }

  /**
   * Unmined after stuckAfterMs: sent again at the same nonce with bumped fees while bumps are left and the cap allows
   * one, else unchanged (a no-op if the node holds it, a re-broadcast if it dropped it). Only the key's lowest
   * unmined nonce is sent again: a later one cannot be mined before it, whatever it pays (a backlog of full blocks
   * would otherwise re-price and re-send every queued transaction). A nonce refused as too low for a whole stuck window
   * without any receipt of ours went to another transaction: the requests are "replaced".
   */
  async #unstick(w: Watch, headOfLine: boolean): Promise<void> {
    const { stuckAfterMs } = this.config;
    if (w.nonceTaken) {
      this.log.warn(about(w.entry), "nonce used by a transaction this relayer did not send: requests reported as replaced");
      await this.#publish(w, { status: "replaced", reason: `nonce ${w.entry.nonce} of ${this.key.from} was used by another transaction` });
      return;
    }
    // Behind the head of line it waits its turn: whether the node still holds it is asked when it gets there.
    if (!headOfLine) {
      w.stuckAt = Date.now() + stuckAfterMs;
      return;
    }
    const previous = { maxFeePerGas: BigInt(w.entry.maxFeePerGas), maxPriorityFeePerGas: BigInt(w.entry.maxPriorityFeePerGas) };
    await this.#resend(w, async () => {
      const bumped = bumpFees(previous, await this.key.fees(), this.config);
      if (w.replacements < MAX_REPLACEMENTS && isBump(previous, bumped)) {
        const before = w.entry.hashes.at(-1);
        w.entry = await this.key.replace(w.entry, bumped);
        if (w.entry.hashes.at(-1) !== before) {
          w.replacements++;
          this.events.replaced();
          this.log.warn({ ...about(w.entry), txHash: w.entry.hashes.at(-1), replacements: w.replacements, maxFeePerGas: w.entry.maxFeePerGas }, `transaction unmined after ${stuckAfterMs} ms: replaced with higher fees`);
        }
      } else {
        await this.key.rebroadcast(w.entry);
      }
    });
    w.stuckAt = Date.now() + stuckAfterMs;
  }

  /** Each request's outcome from the receipt: a batch item that failed is reported with its own reason. */
  async #settle(w: Watch, receipt: TransactionReceipt): Promise<void> {
    const { entry } = w;
    if (receipt.status !== 1) {
      await this.#publish(w, { status: "reverted", reason: `transaction ${receipt.hash} reverted on chain in block ${receipt.blockNumber}`, txHash: receipt.hash });
      this.events.mined(entry, receipt);
      return;
    }
    const failures = kindOf(entry.kind)?.failures?.(receipt, entry.to) ?? new Map<string, string>();
    const share = receipt.gasUsed / BigInt(entry.items.length);
    const outcomes = entry.items.map(({ relayId, jobId }): [string, RelayOutcome] => {
      const failed = failures.get(jobId);
      if (failed !== undefined) return [relayId, { status: "reverted", reason: `failed in batch ${receipt.hash}: ${failed}`, txHash: receipt.hash }];
      // A request that settles several jobs (a batch proof) reports the ones the market skipped.
      const jobs = jobId.split(",");
      const skipped = [...failures].filter(([id]) => jobs.includes(id)).map(([id, reason]) => ({ jobId: id, reason }));
      return [
        relayId,
        {
          status: "mined",
          txHash: receipt.hash,
          blockNumber: receipt.blockNumber,
          gasUsed: share.toString(),
          effectiveGasPrice: receipt.gasPrice.toString(),
          replacements: w.replacements,
          batchSize: entry.items.length,
          ...(skipped.length > 0 ? { failed: skipped } : {}),
        },
      ];
    });
    await this.#store(w, outcomes);
    this.events.mined(entry, receipt);
  }

  async #publish(w: Watch, outcome: RelayOutcome): Promise<void> {
    await this.#store(
      w,
      w.entry.items.map(({ relayId }) => [relayId, outcome]),
    );
  }

  async #store(w: Watch, outcomes: [string, RelayOutcome][]): Promise<void> {
    await this.store.settle(this.key.from, w.entry.nonce, outcomes);
    const mined = outcomes.filter(([, o]) => o.status === "mined").length;
    this.log.info({ ...about(w.entry), txHash: w.seen?.hash, mined, failed: outcomes.length - mined }, "outcome published");
    this.#pending.delete(w.entry.nonce);
    for (const [relayId, outcome] of outcomes) this.events.settled(relayId, w.entry.kind, outcome);
  }
}
