// One head-of-chain poller per relayer process: every key's inclusion tracker wakes on a new block instead of
// polling on its own timer; polls are spaced by the chain's observed block time (about two per block once its
// cadence is steady, else a few per block). A receipt is asked for once per block per pending transaction (ethers sends the
// requests made in the same tick as one JSON-RPC batch), not every 250 ms per relay: waiting in many relay slots
// at once then costs the RPC endpoint nothing extra (issue 14; ~3,300 receipt polls for 40 jobs at 12 s blocks).
import type { Provider } from "ethers";

/** Polls are spaced at most this far apart however slow the chain: a receipt is seen at most this late. */
const MAX_POLL_MS = 2_000;
/** Polls per observed block interval: on a 12 s chain a poll every 1.5 s, not every pollMs. */
const POLLS_PER_BLOCK = 8;
/** Blocks whose observed times must agree before the next block is predicted. */
const CADENCE_SAMPLES = 3;
/** Block timestamps at least this far apart seed the cadence (see #seed). */
const MIN_SEED_GAP_MS = 2_000;

export class BlockClock {
  #head = -1;
  /** When the head last changed. */
  #changedAt = 0;
  /** The last few observed times per block (the latest is the block time), for telling a chain's cadence from
   * blocks that come when sent to. */
  #gaps: number[] = [];
  /** When the last poll that saw no new head was answered, and how much earlier than it was seen the current
   * head's block may have come (from that poll to the change: at most one interval). */
  #missedAt = 0;
  #lag = 0;
  /** The first head's timestamp (ms) when the cadence was seeded from the chain's recent blocks. */
  #seededAt?: number;
  #waiters = new Set<() => void>();
  #timer?: NodeJS.Timeout;
  #polling = false;

  constructor(
    private readonly provider: Provider,
    private readonly pollMs: number,
  ) {}

  /** The observed time per block in ms (0 until two head changes were seen). */
  get blockMs(): number {
    return this.#gaps.at(-1) ?? 0;
  }

  /**
   * When the next block is expected (ms since the epoch): a block time after the last head change seen, moved on by
   * whole blocks. Undefined without a steady cadence (fewer than CADENCE_SAMPLES blocks seen, or their times
   * spread by more than a quarter: blocks mined as transactions come, as on automine), or once the last change was
   * seen more than two blocks ago (nobody waited, so nobody polled). A change is seen up to one poll late, so the
   * block may come that much earlier.
   */
  nextBlockAt(now = Date.now()): number | undefined {
    const blockMs = this.blockMs;
    if (!this.#steady() || now - this.#changedAt > 2 * blockMs) return undefined;
    return this.#changedAt + blockMs * Math.max(1, Math.ceil((now - this.#changedAt) / blockMs));
  }

  /** The last head seen (-1 before the first poll). */
  get head(): number {
    return this.#head;
  }

  /** Resolves when a block after the current head is seen, or after `timeoutMs` (whichever comes first). */
  async next(timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.#waiters.add(done);
      this.#start();
    });
  }

  #start(): void {
    if (this.#timer || this.#polling) return;
    const poll = async () => {
      // Nobody waits any more: the poll is skipped and polling stops. A waiter that comes back (the tracker after
      // each block) finds the next poll scheduled at the cadence, not a fresh poll at once.
      if (this.#waiters.size === 0) {
        this.#timer = undefined;
        return;
      }
      this.#polling = true;
      try {
        const head = await this.provider.getBlockNumber();
        if (this.#head === -1) await this.#seed(head);
        const now = Date.now();
        if (head === this.#head) this.#missedAt = now;
        else {
          this.#lag = Math.min(this.#interval(), now - this.#missedAt);
          if (this.#head !== -1 && head > this.#head) {
            this.#gaps = [...this.#gaps, (now - this.#changedAt) / (head - this.#head)].slice(-CADENCE_SAMPLES);
          }
          // The first head may have come up to a block before it was seen: its timestamp tells when (seconds).
          this.#changedAt = this.#head === -1 && this.#seededAt !== undefined ? Math.min(now, Math.max(now - this.blockMs, this.#seededAt)) : now;
          this.#head = head;
          for (const wake of [...this.#waiters]) wake();
        }
      } catch {
        // The next poll tries again; waiters also wake on their own timeout.
      } finally {
        this.#polling = false;
      }
      // Scheduled even when the waiters just woke: they come back for the next block before it fires.
      this.#timer = setTimeout(() => void poll(), this.#delay());
    };
    void poll();
  }

  /**
   * Until the next poll. With a steady cadence, one poll when the next block may first come (a block after the
   * current head's block may have: `#lag` before it was seen) and one when it is due (a block after it was seen),
   * then one per interval while it is late: about two polls a block instead of POLLS_PER_BLOCK, anchored to when
   * blocks come rather than to when they were seen, so the phase never drifts late. Otherwise, the interval.
   */
  #delay(now = Date.now()): number {
    if (!this.#steady()) return this.#interval();
    const due = this.#changedAt + this.blockMs;
    const from = due - this.#lag;
    if (now < from) return from - now;
    return now < due ? due - now : this.#interval();
  }

  /** pollMs, or an eighth of the observed block time when that is longer (at most MAX_POLL_MS). */
  #interval(): number {
    return Math.max(this.pollMs, Math.min(MAX_POLL_MS, this.blockMs / POLLS_PER_BLOCK));
  }

  /**
   * Seeds the cadence from the timestamps of the last CADENCE_SAMPLES + 1 blocks, so that a relayer started on a
   * steady chain polls at its cadence from its first wait instead of every pollMs until it has seen CADENCE_SAMPLES
   * blocks (~50 requests on a 12 s chain). Timestamps count whole seconds, and blocks mined as transactions come
   * (automine) are a second apart when sent fast: only gaps of at least MIN_SEED_GAP_MS are trusted, and the
   * observed gaps replace the seeds block by block. Any failure leaves the cadence to observation.
   */
  async #seed(head: number): Promise<void> {
    if (head < CADENCE_SAMPLES) return;
    try {
      const blocks = await Promise.all(Array.from({ length: CADENCE_SAMPLES + 1 }, (_, i) => this.provider.getBlock(head - CADENCE_SAMPLES + i)));
      const times = blocks.map((b) => (b ? b.timestamp * 1000 : Number.NaN));
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      if (gaps.every((g) => g >= MIN_SEED_GAP_MS)) {
        this.#gaps = gaps;
        this.#seededAt = times.at(-1);
      }
    } catch {
      // Observed instead.
    }
  }

  /** CADENCE_SAMPLES blocks came, their observed times within a quarter of the block time of each other. */
  #steady(): boolean {
    const gaps = this.#gaps;
    return gaps.length >= CADENCE_SAMPLES && Math.max(...gaps) - Math.min(...gaps) <= this.blockMs / 4;
  }
}
