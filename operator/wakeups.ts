// Wake-ups: a lock or submit job waiting (delayed) for the relayer's outcome of its request is promoted the moment
// the relayer publishes that outcome (the relay id on the relay store's pub/sub channel), instead of at its next
// look, half a block later (up to 6 s; on a chain that mines on demand, a block time means little). That look stays
// as the fallback: for a message missed while this process restarted, or a relayer that sends none.
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { outcomesChannel, type RelayStore } from "../relayer/store.js";
import type { OperatorContext, Stage } from "./pipeline.js";

/** An outcome can come before its stage job has moved to delayed: it is looked at again this often, this long. */
const PROMOTE_RETRY_MS = 25;
const PROMOTE_ATTEMPTS = 40;

export class OutcomeWakeups {
  /** Stage jobs waiting for a request's outcome, by relay id; an entry goes once its outcome came. */
  readonly #waiting = new Map<string, { stage: Stage; jobId: string }>();

  private constructor(
    private readonly queues: OperatorContext["queues"],
    private readonly subscriber: Redis,
    private readonly log: Logger,
  ) {
    subscriber.on("message", (_channel: string, relayId: string) => void this.#wake(relayId));
  }

  /** Subscribes (on a connection of its own: a subscribed connection serves nothing else) to `store`'s outcomes. */
  static async start(queues: OperatorContext["queues"], store: RelayStore, log: Logger): Promise<OutcomeWakeups> {
    const subscriber = store.redis.duplicate();
    await subscriber.subscribe(outcomesChannel(store.prefix));
    return new OutcomeWakeups(queues, subscriber, log);
  }

  /** Promote `stage`'s job `jobId` once the outcome of `relayId` is published. Call before handing the request on. */
  expect(relayId: string, stage: Stage, jobId: string): void {
    this.#waiting.set(relayId, { stage, jobId });
  }

  async #wake(relayId: string): Promise<void> {
    const w = this.#waiting.get(relayId);
    if (!w) return;
    this.#waiting.delete(relayId);
    try {
      for (let i = 0; i < PROMOTE_ATTEMPTS; i++) {
        const job = await this.queues[w.stage].getJob(w.jobId);
        const state = job ? await job.getState() : "unknown";
        if (state === "delayed") return void (await job!.promote());
        if (state !== "active") return;
        await sleep(PROMOTE_RETRY_MS);
      }
    } catch (e) {
      // Moved on meanwhile (promoted by its own timer, completed): its next look finds the outcome anyway.
      this.log.debug({ relayId, err: (e as Error).message }, "wake-up not delivered");
    }
  }

  close(): void {
    this.subscriber.disconnect();
  }
}
