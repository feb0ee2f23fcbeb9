// watch — consumes: JobCreated events from the chain. Produces: `evaluate` jobs.
// Acts only on events `confirmations` blocks deep; remembers the last scanned block and its hash in Redis, so a
// restart backfills from there and a reorg (the stored hash no longer on the chain) rewinds and rescans.
// Re-enqueueing is a no-op (job id = chain-job), so rescans neither duplicate nor miss jobs.
import type { Logger } from "pino";
import { advance, type OperatorContext } from "../pipeline.js";

const MAX_RANGE = 2_000;

export class JobWatcher {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private running?: Promise<void>;
  private readonly log: Logger;

  constructor(private readonly ctx: OperatorContext) {
    this.log = ctx.log.child({ stage: "watch" });
  }

  private key(name: string): string {
    return `${this.ctx.config.queuePrefix}:watch:${this.ctx.chain.chainId}:${name}`;
  }

  start(): void {
    const loop = async () => {
      if (this.stopped) return;
      this.running = this.tick().catch((e: unknown) => this.log.warn({ err: e }, "watch tick failed; retrying"));
      await this.running;
      if (!this.stopped) this.timer = setTimeout(() => void loop(), this.ctx.config.operator.pollIntervalMs);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One scan: from the cursor to head - confirmations. */
  async tick(): Promise<void> {
    const { provider } = this.ctx.chain;
    const { confirmations, startBlock } = this.ctx.config.operator;
    const target = (await provider.getBlockNumber()) - confirmations;
    if (target < startBlock) return;
    const stored = await this.ctx.redis.get(this.key("cursor"));
    let cursor = stored === null ? startBlock - 1 : Number(stored);
    if (cursor >= startBlock) {
      const [hash, block] = await Promise.all([this.ctx.redis.get(this.key(`hash:${cursor}`)), provider.getBlock(cursor)]);
      if (hash && block?.hash !== hash) {
        const rewound = Math.max(startBlock - 1, cursor - confirmations - 1);
        this.log.warn({ block: cursor, stored: hash, now: block?.hash, rescanFrom: rewound + 1 }, "reorg detected: rescanning");
        cursor = rewound;
      }
    }
    for (let from = cursor + 1; from <= target; from += MAX_RANGE) {
      const to = Math.min(target, from + MAX_RANGE - 1);
      const events = await this.ctx.market.queryFilter(this.ctx.market.filters.JobCreated(), from, to);
      for (const ev of events) {
        const a = ev.args;
        await advance(this.ctx, "evaluate", {
          chainId: this.ctx.chain.chainId.toString(),
          jobId: a.jobId.toString(),
          modelId: Number(a.modelId),
          input: a.input.map((x) => x.toString()),
          token: a.token,
          price: a.price.toString(),
          collateral: a.collateral.toString(),
          lockDeadline: Number(a.lockDeadline),
          deadline: Number(a.deadline),
        });
        this.log.info({ jobId: a.jobId.toString(), modelId: Number(a.modelId), block: ev.blockNumber }, "job seen");
      }
      const block = await provider.getBlock(to);
      await this.ctx.redis
        .multi()
        .set(this.key("cursor"), String(to))
        .set(this.key(`hash:${to}`), block!.hash!, "EX", 7 * 24 * 3600)
        .exec();
    }
  }
}
