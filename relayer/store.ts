// The relayer's durable state in Redis, beside the relay queue (AOF: it survives a Redis restart too):
//   journal  `${prefix}:relay-journal:${from}`   hash nonce -> JournalEntry: every transaction of a key not yet
//            settled, written before each broadcast, so a restarted relayer resumes it instead of sending again;
//   sent     `${prefix}:relay-sent:${relayId}`   RelaySent: the request is in flight (a re-delivered relay job
//            returns it rather than sending a second transaction);
//   outcome  `${prefix}:relay-outcome:${relayId}` RelayOutcome, published once by the key's tracker: the operator's
//            lock and submit stages read it with one Redis call (relayState in operator/pipeline.ts); the relay id
//            is also sent on the channel `${prefix}:relay-outcomes`, which wakes the stage waiting for it.
import type { Redis } from "ioredis";
import type { RelayOutcome, RelaySent } from "./types.js";

/** Days an outcome (and an in-flight marker) is kept: as long as BullMQ keeps failed relay jobs. */
const TTL_SECONDS = 7 * 24 * 3600;

/** One request in a transaction: the relay job it came from and its on-chain job. */
export interface JournalItem {
  relayId: string;
  jobId: string;
}

/** A transaction of one key, from its first broadcast until its outcome is published (replacements included). */
export interface JournalEntry {
  kind: string;
  nonce: number;
  to: string;
  data: string;
  gasLimit: string;
  /** Every hash sent at this nonce, oldest first: any of them may be the one mined. */
  hashes: string[];
  /** Fees of the latest hash. */
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  /** The latest signed transaction, when the signer signs locally (a Wallet): re-broadcast on resume or reorg. */
  raw?: string;
  items: JournalItem[];
  /** Which measured gas figure the items' gas is booked under (relay.ts gasKey). */
  gasKey: string;
}

export const relayOutcomeKey = (prefix: string, relayId: string) => `${prefix}:relay-outcome:${relayId}`;
/** Redis pub/sub channel that names each request whose outcome was just published (operator/wakeups.ts). */
export const outcomesChannel = (prefix: string) => `${prefix}:relay-outcomes`;
const sentKey = (prefix: string, relayId: string) => `${prefix}:relay-sent:${relayId}`;
const journalKey = (prefix: string, from: string) => `${prefix}:relay-journal:${from.toLowerCase()}`;

export class RelayStore {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  /** Records `entry` (before its broadcast) and marks each of its requests in flight, atomically. */
  async record(from: string, entry: JournalEntry): Promise<void> {
    const sent: RelaySent = { from, nonce: entry.nonce, txHash: entry.hashes.at(-1)!, batchSize: entry.items.length };
    const m = this.redis.multi().hset(journalKey(this.prefix, from), String(entry.nonce), JSON.stringify(entry));
    for (const item of entry.items) m.set(sentKey(this.prefix, item.relayId), JSON.stringify(sent), "EX", TTL_SECONDS);
    await m.exec();
  }

  /** The key's unsettled transactions, lowest nonce first. */
  async entries(from: string): Promise<JournalEntry[]> {
    const all = await this.redis.hvals(journalKey(this.prefix, from));
    return all.map((v) => JSON.parse(v) as JournalEntry).sort((a, b) => a.nonce - b.nonce);
  }

  /** Publishes the outcome of every request of the transaction at `nonce` and removes it from the journal, atomically. */
  async settle(from: string, nonce: number, outcomes: [relayId: string, outcome: RelayOutcome][]): Promise<void> {
    const m = this.redis.multi().hdel(journalKey(this.prefix, from), String(nonce));
    for (const [relayId, outcome] of outcomes) {
      m.set(relayOutcomeKey(this.prefix, relayId), JSON.stringify(outcome), "EX", TTL_SECONDS).del(sentKey(this.prefix, relayId)).publish(outcomesChannel(this.prefix), relayId);
    }
    await m.exec();
  }

  /** Removes a transaction the node refused outright (it was never in flight) and its requests' in-flight markers. */
  async discard(from: string, entry: JournalEntry): Promise<void> {
    const m = this.redis.multi().hdel(journalKey(this.prefix, from), String(entry.nonce));
    for (const item of entry.items) m.del(sentKey(this.prefix, item.relayId));
    await m.exec();
  }

  /** Publishes the outcome of a request that never got (or no longer has) a transaction. */
  async publish(relayId: string, outcome: RelayOutcome): Promise<void> {
    await this.redis
      .multi()
      .set(relayOutcomeKey(this.prefix, relayId), JSON.stringify(outcome), "EX", TTL_SECONDS)
      .del(sentKey(this.prefix, relayId))
      .publish(outcomesChannel(this.prefix), relayId)
      .exec();
  }

  /** What is known of a request: in flight (sent) and/or settled (outcome), in one round trip. */
  async lookup(relayId: string): Promise<{ sent?: RelaySent; outcome?: RelayOutcome }> {
    const [sent, outcome] = await this.redis.mget(sentKey(this.prefix, relayId), relayOutcomeKey(this.prefix, relayId));
    return { ...(sent ? { sent: JSON.parse(sent) as RelaySent } : {}), ...(outcome ? { outcome: JSON.parse(outcome) as RelayOutcome } : {}) };
  }

  /** Forgets a settled request's outcome, so that the same request can be sent again (its job is re-added). An
   * in-flight marker stays: a request still in flight must not be sent twice. */
  async forget(relayId: string): Promise<void> {
    await this.redis.del(relayOutcomeKey(this.prefix, relayId));
  }
}
