// watch — consumes: JobCreated and JobLocked(this operator) events from the chain. Produces: `evaluate` jobs, and
// a pipeline behind every lock naming this operator, whenever it mines (operator/recovery.ts).
// Acts only on events `confirmations` blocks deep; remembers the last scanned block and its hash in Redis, so a
// restart backfills from there and a reorg (the stored hash no longer on the chain) rewinds and rescans.
// Re-enqueueing is a no-op (job id = chain-job), so rescans neither duplicate nor miss jobs. Scans are bounded:
// a fresh operator starts where a job could still be live (head - maxJobDuration, or the configured startBlock),
// and a range the provider refuses (too many blocks or results) is halved until it passes.
import type { Logger } from "pino";
import { jobKey } from "../../shared/queues.js";
import { isRangeRefusal, shortMessage } from "../../shared/rpcErrors.js";
import { advance, type JobData, type OperatorContext } from "../pipeline.js";
import { blockSeconds } from "../reconcile.js";
import { trackLock } from "../recovery.js";

const MAX_RANGE = 2_000;

export class JobWatcher {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private running?: Promise<void>;
  private range = MAX_RANGE;
  private readonly log: Logger;
  /** Wall-clock ms of the last scan that reached its target block (readiness). */
  lastScanAt = 0;

  constructor(private readonly ctx: OperatorContext) {
    this.log = ctx.log.child({ stage: "watch" });
  }

  private key(name: string): string {
    return `${this.ctx.config.queuePrefix}:watch:${this.ctx.chain.chainId}:${this.ctx.address.toLowerCase()}:${name}`;
  }

  start(): void {
    const loop = async () => {
      if (this.stopped) return;
      this.running = this.tick().catch((e: unknown) => this.log.warn({ err: shortMessage(e) }, "watch tick failed; retrying"));
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

  /** First block a fresh operator scans: older jobs are past any deadline (maxJobDuration) and cannot be live. */
  private async firstBlock(head: number): Promise<number> {
    const { startBlock } = this.ctx.config.operator;
    const [maxJobDuration, secondsPerBlock] = await Promise.all([this.ctx.market.maxJobDuration(), blockSeconds(this.ctx)]);
    return Math.max(startBlock, head - Math.ceil(Number(maxJobDuration) / secondsPerBlock));
  }

  /** One scan: from the cursor to head - confirmations. */
  async tick(): Promise<void> {
    const { provider } = this.ctx.chain;
    const { confirmations } = this.ctx.config.operator;
    const head = await provider.getBlockNumber();
    const target = head - confirmations;
    const stored = await this.ctx.redis.get(this.key("cursor"));
    const floor = stored === null ? await this.firstBlock(head) : this.ctx.config.operator.startBlock;
    if (target < floor) return;
    let cursor = stored === null ? floor - 1 : Number(stored);
    if (cursor >= floor) {
      const [hash, block] = await Promise.all([this.ctx.redis.get(this.key(`hash:${cursor}`)), provider.getBlock(cursor)]);
      if (hash && block?.hash !== hash) {
        const rewound = Math.max(floor - 1, cursor - confirmations - 1);
        this.log.warn({ block: cursor, stored: hash, now: block?.hash, rescanFrom: rewound + 1 }, "reorg detected: rescanning");
        cursor = rewound;
      }
    }
    this.ctx.metrics.watcherLag.set(head - cursor);
    while (cursor < target) {
      const from = cursor + 1;
      const to = Math.min(target, from + this.range - 1);
      try {
        await this.scan(from, to);
      } catch (e) {
        if (!isRangeRefusal(e) || this.range === 1) throw e;
        this.range = Math.max(1, Math.floor(this.range / 2));
        this.log.warn({ from, to, range: this.range, err: shortMessage(e) }, "the provider refused the log range: halving it");
        continue;
      }
      const block = await provider.getBlock(to);
      if (!block?.hash) throw new Error(`block ${to} not available yet`); // a lagging back end: scan it again
      await this.ctx.redis.multi().set(this.key("cursor"), String(to)).set(this.key(`hash:${to}`), block.hash, "EX", 7 * 24 * 3600).exec();
      cursor = to;
      this.ctx.metrics.watcherLag.set(head - cursor);
      this.range = Math.min(MAX_RANGE, this.range * 2);
    }
    this.lastScanAt = Date.now();
  }

  private async scan(from: number, to: number): Promise<void> {
    const { market } = this.ctx;
    const [created, locked] = await Promise.all([market.queryFilter(market.filters.JobCreated(), from, to), market.queryFilter(market.filters.JobLocked(undefined, this.ctx.address), from, to)]);
    const seen = new Map<string, JobData>();
    for (const ev of created) {
      const a = ev.args;
      const data: JobData = {
        chainId: this.ctx.chain.chainId.toString(),
        jobId: a.jobId.toString(),
        modelId: Number(a.modelId),
        input: a.input.map((x) => x.toString()),
        token: a.token,
        price: a.price.toString(),
        collateral: a.collateral.toString(),
        lockDeadline: Number(a.lockDeadline),
        deadline: Number(a.deadline),
        terms: a.terms,
      };
      seen.set(data.jobId, data);
      await advance(this.ctx, "evaluate", data);
      this.log.info({ jobId: data.jobId, modelId: data.modelId, block: ev.blockNumber }, "job seen");
    }
    for (const ev of locked) {
      const jobId = ev.args.jobId.toString();
      const data = seen.get(jobId) ?? (await this.jobData(jobId));
      if (data) await trackLock(this.ctx, data, this.log.child({ jobId }));
    }
  }

  /** A job's data as this operator's lock stage signed it (a lock is only ever signed there, minutes before it mines). */
  private async jobData(jobId: string): Promise<JobData | undefined> {
    const id = jobKey(this.ctx.chain.chainId, jobId);
    const job = (await this.ctx.queues.lock.getJob(id)) ?? (await this.ctx.queues.evaluate.getJob(id));
    if (!job) this.log.warn({ jobId }, "a lock names this operator for a job it never saw created: ignored");
    return job?.data;
  }
}
