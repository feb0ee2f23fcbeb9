// The chain state an operator process decides on, read once per block and shared by every stage in the process.
// ChainHead: one eth_getBlockByNumber("latest") per block, timed for when the next block is due, keeps the recent
// headers (hash, time, base fee, logs bloom) so the watcher, chain time and reorg checks need no request of their
// own; an idle operator costs the RPC endpoint one request per block. ChainSnapshot: what evaluation needs beyond
// the JobCreated event (priority fee, free stake, which served models are active: one batch per block, read only
// in blocks where a job is evaluated) plus what this process has committed since (queued locks and proofs, counted
// once per block and then kept by the evaluations themselves), so a burst of jobs - or spam - costs no RPC per job
// (review S2-5, issue 14). The lock stage reconciles with the chain before anything is signed.
import { getBytes, keccak256, toBeHex, type JsonRpcProvider } from "ethers";
import { ModelStatus } from "../shared/enums.js";
import { withRpcScope } from "../shared/rpcMetrics.js";
import type { OperatorContext } from "./pipeline.js";
import { PENDING_STATES } from "./pipeline.js";
import { blockSeconds } from "./reconcile.js";

export interface Header {
  number: number;
  hash: string;
  parentHash: string;
  /** Seconds. */
  timestamp: number;
  baseFeePerGas: bigint | null;
  logsBloom: string;
  /** Wall-clock ms when this process first saw it. */
  seenAt: number;
}

/** Headers kept: enough to measure the block time and to check the watcher's confirmation window. */
const KEEP = 64;
/** Hits whose delay (seen - block time) is remembered to time the next poll. */
const DELAY_SAMPLES = 16;
/** Polled this long after the block is due, so the poll finds it there rather than one request early. */
const SLACK_MS = 300;

const rawHeader = (b: Record<string, string>, seenAt: number): Header => ({
  number: Number(b.number),
  hash: b.hash!,
  parentHash: b.parentHash!,
  timestamp: Number(b.timestamp),
  baseFeePerGas: b.baseFeePerGas != null ? BigInt(b.baseFeePerGas) : null,
  logsBloom: b.logsBloom ?? "0x",
  seenAt,
});

/**
 * The head of the chain, polled once per block: after a new block the next poll is due one block time after it
 * (as seen from the block's own timestamp and the smallest delay observed), and only a block late by then is
 * asked for again, `missMs` later. Listeners hear each new head once.
 */
export class ChainHead {
  #headers = new Map<number, Header>();
  #latest?: Header;
  #delays: number[] = [];
  #listeners = new Set<(h: Header) => void>();
  #timer?: NodeJS.Timeout;
  #started = false;
  #inflight?: Promise<Header | undefined>;

  constructor(
    private readonly provider: Pick<JsonRpcProvider, "send">,
    /** Longest wait between two polls while a block is overdue, ms (operator.pollIntervalMs). */
    private readonly missMs: number,
  ) {}

  get latest(): Header | undefined {
    return this.#latest;
  }

  header(n: number): Header | undefined {
    return this.#headers.get(n);
  }

  /**
   * Median block time over the kept headers, seconds, at least 1 (undefined until two blocks were seen). The
   * median, not the mean: one long gap (a halted chain, a dev chain's time jump) must not make every wait in the
   * pipeline that long.
   */
  blockSeconds(): number | undefined {
    // Per pair of kept headers in number order (the poller may skip blocks): seconds per block between them.
    const kept = [...this.#headers.values()].sort((a, b) => a.number - b.number);
    const gaps = kept.slice(1).map((h, i) => (h.timestamp - kept[i]!.timestamp) / (h.number - kept[i]!.number));
    if (gaps.length === 0) return undefined;
    gaps.sort((a, b) => a - b);
    const mid = gaps.length >> 1;
    return Math.max(1, gaps.length % 2 ? gaps[mid]! : (gaps[mid - 1]! + gaps[mid]!) / 2);
  }

  /** The latest head if it was seen recently (within two block times and a poll), else undefined. */
  fresh(now = Date.now()): Header | undefined {
    const h = this.#latest;
    if (!h || !this.#started) return undefined;
    const blockMs = (this.blockSeconds() ?? this.missMs / 1000) * 1000;
    return now - h.seenAt <= 2 * blockMs + this.missMs ? h : undefined;
  }

  onBlock(listener: (h: Header) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    const loop = async () => {
      const before = this.#latest?.number;
      const h = await this.poll().catch(() => undefined);
      if (!this.#started) return;
      this.#timer = setTimeout(() => void loop(), this.#nextPollIn(h !== undefined && h.number !== before));
    };
    void loop();
  }

  stop(): void {
    this.#started = false;
    clearTimeout(this.#timer);
  }

  /** One request for the latest header; a new one is recorded and announced. Concurrent callers share it. */
  poll(): Promise<Header | undefined> {
    this.#inflight ??= withRpcScope("head", () => this.provider.send("eth_getBlockByNumber", ["latest", false]))
      .then((b: Record<string, string> | null) => (b ? this.#record(rawHeader(b, Date.now())) : undefined))
      .finally(() => (this.#inflight = undefined));
    return this.#inflight;
  }

  /** The latest head: the one seen this block, or one asked for now. */
  async current(): Promise<Header> {
    const h = this.fresh() ?? (await this.poll()) ?? this.#latest;
    if (!h) throw new Error("the node returned no latest block");
    return h;
  }

  #record(h: Header): Header {
    const known = this.#headers.get(h.number);
    if (known?.hash === h.hash) return known;
    const parent = this.#headers.get(h.number - 1);
    // A head that does not extend what was seen: a reorg. The kept headers may be of the old fork; forget them
    // (the watcher then reads the hashes it needs from the chain and rewinds).
    if ((parent && parent.hash !== h.parentHash) || (known && known.hash !== h.hash) || (this.#latest && h.number < this.#latest.number)) this.#headers.clear();
    this.#headers.set(h.number, h);
    for (const n of this.#headers.keys()) if (n <= h.number - KEEP) this.#headers.delete(n);
    this.#latest = h;
    this.#delays = [...this.#delays, h.seenAt - h.timestamp * 1000].slice(-DELAY_SAMPLES);
    for (const listener of this.#listeners) listener(h);
    return h;
  }

  /** Ms until the next poll: when the next block is due (a new head was just seen), else a short retry. */
  #nextPollIn(sawNew: boolean): number {
    const seconds = this.blockSeconds();
    const blockMs = (seconds ?? this.missMs / 1000) * 1000;
    const retry = Math.max(250, Math.min(this.missMs, blockMs / 4));
    if (!sawNew || !this.#latest || seconds === undefined) return retry;
    const due = this.#latest.timestamp * 1000 + Math.min(...this.#delays) + blockMs + SLACK_MS;
    return Math.min(2 * blockMs, Math.max(retry, due - Date.now()));
  }
}

/** Whether a logs bloom may hold a log of `address` with one of `topics` as its first topic (EIP-2 bloom bits). */
export function bloomMayContain(bloom: string, address: string, topics: readonly string[]): boolean {
  const bits = getBytes(bloom);
  if (bits.length !== 256) return true; // no bloom: cannot rule anything out
  const has = (value: string) => {
    const h = getBytes(keccak256(value));
    for (let i = 0; i < 6; i += 2) {
      const bit = ((h[i]! << 8) | h[i + 1]!) & 2047;
      if ((bits[255 - (bit >> 3)]! & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  };
  return has(toBeHex(address, 20)) && topics.some(has);
}

export interface ModelFacts {
  /** Proving seconds a proof rarely exceeds (catalog.proveBound). */
  proveSeconds: number;
  /** Gas of a lock and a fulfilment (catalog.expectedGas). */
  gas: number;
}

export interface Snapshot {
  block: number;
  /** Block timestamp, seconds. */
  timestamp: number;
  /** What a transaction is expected to pay per gas: base fee + priority fee (not the fee cap, twice the base fee). */
  gasPrice: bigint;
  freeStake: bigint;
  activeModels: Set<number>;
  blockSeconds: number;
  models: Map<number, ModelFacts>;
  /** Jobs this process has committed to prove and not yet proven (queued locks and proofs), kept current by evaluate. */
  committedJobs: number;
  /** Collateral of locks signed or about to be, not yet seen mined (they reserve stake once they do). */
  committedCollateral: bigint;
}

/** Stages whose queued jobs this operator has locked (or is locking) and still has to prove. */
const COMMITTED_STAGES = ["lock", "prove"] as const;

export class ChainSnapshot {
  #current?: Promise<Snapshot>;
  #block = -1;

  constructor(readonly head: ChainHead) {}

  /** The snapshot of the latest block, read when the chain has moved on since the last one. */
  async get(ctx: OperatorContext): Promise<Snapshot> {
    const head = await this.head.current();
    if (head.number !== this.#block || !this.#current) {
      this.#block = head.number;
      this.#current = withRpcScope("snapshot", () => this.#read(ctx, head));
      this.#current.catch(() => (this.#current = undefined));
    }
    return this.#current;
  }

  async #read(ctx: OperatorContext, head: Header): Promise<Snapshot> {
    const ids = ctx.catalog.ids();
    const fallbackGas = ctx.config.operator.estimatedGas;
    // The chain reads are issued together, so ethers sends them as one JSON-RPC batch.
    const [priorityFee, freeStake, layouts, legacyGasPrice, seconds, models, committed] = await Promise.all([
      head.baseFeePerGas != null ? ctx.chain.provider.send("eth_maxPriorityFeePerGas", []).then(BigInt) : Promise.resolve(0n),
      ctx.staking.freeStake(ctx.address),
      Promise.all(ids.map((id) => ctx.registry.layout(id))),
      head.baseFeePerGas != null ? Promise.resolve(0n) : ctx.chain.provider.send("eth_gasPrice", []).then(BigInt),
      blockSeconds(ctx),
      Promise.all(ids.map(async (id) => [id, { proveSeconds: await ctx.catalog.proveBound(id), gas: await ctx.catalog.expectedGas(id, fallbackGas) }] as const)),
      committedWork(ctx),
    ]);
    return {
      block: head.number,
      timestamp: head.timestamp,
      gasPrice: head.baseFeePerGas != null ? head.baseFeePerGas + priorityFee : legacyGasPrice,
      freeStake,
      activeModels: new Set(ids.filter((_, i) => Number(layouts[i]![4]) === ModelStatus.Active)),
      blockSeconds: seconds,
      models: new Map(models),
      ...committed,
    };
  }
}

/** What the queues hold that this operator has committed to: read once per block (Redis, no RPC). */
async function committedWork(ctx: OperatorContext): Promise<{ committedJobs: number; committedCollateral: bigint }> {
  const [locking, ...counts] = await Promise.all([ctx.queues.lock.getJobs([...PENDING_STATES]), ...COMMITTED_STAGES.map((s) => ctx.queues[s].getJobCounts(...PENDING_STATES))]);
  return {
    committedJobs: counts.reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0),
    committedCollateral: locking.reduce((sum, j) => sum + BigInt(j.data.collateral), 0n),
  };
}
