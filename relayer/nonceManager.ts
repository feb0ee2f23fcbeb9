// Nonces for one key, handed out locally: concurrent relays reading the chain's pending count would all get the
// same nonce. Create one per key and process (the Relayer owns one); two processes sharing a key will collide
// and recover through the re-sync below, at the cost of a failed send.
import type { Signer } from "ethers";

export class NonceManager {
  /** The next nonce to hand out; undefined: read the chain's pending count first. */
  #next: number | undefined;
  /** Tail of the send chain: a promise-chain mutex, so nonce assignment and broadcast happen one send at a time. */
  #tail: Promise<unknown> = Promise.resolve();

  /**
   * `resync` turns the chain's pending count into the next nonce to use, when it is (re-)read: the relayer passes
   * one that never hands out a nonce its tracker still holds (a reorg can take the chain's count below it).
   */
  constructor(
    private readonly signer: Signer,
    private readonly resync: (pending: number) => Promise<number> = async (pending) => pending,
  ) {}

  /**
   * Runs `send` with the next nonce, after every earlier send has settled. The nonce counts as used only when
   * `send` resolves. After a failure (nonce too low, already known, or a network error that leaves unknown
   * whether the node got the tx) the next send re-reads the chain's pending nonce, which counts every tx the node
   * holds: a nonce the node has seen is never handed to a different tx.
   */
  send<T>(send: (nonce: number) => Promise<T>): Promise<T> {
    const run = this.#tail.then(async () => {
      const nonce = this.#next ?? (await this.resync(await this.signer.getNonce("pending")));
      try {
        const result = await send(nonce);
        this.#next = nonce + 1;
        return result;
      } catch (e) {
        this.#next = undefined;
        throw e;
      }
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs `fn` between sends (no send starts while it runs), then has the next send re-read the chain's pending
   * nonce: for re-broadcasting a transaction signed earlier (by a process that died), whose nonce the node may not
   * know yet and which must not be handed to another transaction first.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(async () => {
      try {
        return await fn();
      } finally {
        this.#next = undefined;
      }
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
