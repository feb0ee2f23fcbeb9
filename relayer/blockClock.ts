// One head-of-chain poller per relayer process: every relay waiting for its receipt wakes on a new block instead
// of polling on its own timer. A receipt is asked for once per block per pending transaction (ethers sends the
// requests made in the same tick as one JSON-RPC batch), not every 250 ms per relay: waiting in many relay slots
// at once then costs the RPC endpoint nothing extra (issue 14; ~3,300 receipt polls for 40 jobs at 12 s blocks).
import type { Provider } from "ethers";

export class BlockClock {
  #head = -1;
  #waiters = new Set<() => void>();
  #timer?: NodeJS.Timeout;
  #polling = false;

  constructor(
    private readonly provider: Provider,
    private readonly pollMs: number,
  ) {}

  /** The last head seen (-1 before the first poll). */
  get head(): number {
    return this.#head;
  }

  /** Resolves when a block after the current head is seen, or after `timeoutMs` (whichever comes first). */
  async next(timeoutMs: number): Promise<void> {
    this.#start();
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.#waiters.add(done);
    });
    if (this.#waiters.size === 0) this.#stop();
  }

  #start(): void {
    if (this.#timer || this.#polling) return;
    const poll = async () => {
      this.#polling = true;
      try {
        const head = await this.provider.getBlockNumber();
        if (head !== this.#head) {
          this.#head = head;
          for (const wake of [...this.#waiters]) wake();
        }
      } catch {
        // The next poll tries again; waiters also wake on their own timeout.
      } finally {
        this.#polling = false;
      }
      this.#timer = this.#waiters.size > 0 ? setTimeout(() => void poll(), this.pollMs) : undefined;
    };
    void poll();
  }

  #stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
