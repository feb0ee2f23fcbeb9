// watch — consumes: JobCreated and JobLocked(this operator) events from the chain. Produces: `evaluate` jobs, and
// a pipeline behind every lock naming this operator, whenever it mines (operator/recovery.ts).
// Acts only on events `confirmations` blocks deep; remembers the last scanned block and its hash in Redis, so a
// restart backfills from there and a reorg (the stored hash no longer on the chain) rewinds and rescans.
// Re-enqueueing is a no-op (job id = chain-job), so rescans neither duplicate nor miss jobs. Scans are bounded:
// a fresh operator starts where a job could still be live (head - maxJobDuration, or the configured startBlock),
// and a range the provider refuses (too many blocks or results) is halved until it passes.
// Driven by the process's head poller (operator/snapshot.ts ChainHead): one scan per new block, block hashes and
// logs blooms from the headers it already holds, and one eth_getLogs for both events only when a bloom says the
// market may have logged one; an idle chain costs the watcher no request beyond the head poll.
import type { Logger } from "pino";
import { jobKey } from "../../shared/queues.js";
import { isRangeRefusal, shortMessage } from "../../shared/rpcErrors.js";
import { withRpcScope } from "../../shared/rpcMetrics.js";
import type { JobCreatedEvent, JobLockedEvent } from "../../types/ethers-contracts/contracts/InferenceMarket.js";
import { advance, type JobData, type OperatorContext } from "../pipeline.js";
import { blockSeconds, confirmationsFor } from "../reconcile.js";
import { trackLock } from "../recovery.js";
import { bloomMayContain } from "../snapshot.js";

const MAX_RANGE = 2_000;
/** Blocks rescanned below a replaced cursor block at least (reorgs that deep are rare at any confirmation depth). */
const MIN_REWIND = 2;

export class JobWatcher {
  private unsubscribe?: () => void;
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

  /** Scans on every new head (and once now); a head seen while a scan runs starts one more scan after it. */
  start(): void {
    let again = false;
    const run = () => {
      if (this.stopped) return;
      if (this.running) {
        again = true;
        return;
      }
      this.running = withRpcScope("watch", () => this.tick())
        .catch((e: unknown) => this.log.warn({ err: shortMessage(e) }, "watch tick failed; the next block retries"))
        .finally(() => {
          this.running = undefined;
          if (again) {
            again = false;
            run();
          }
        });
    };
    this.unsubscribe = this.ctx.snapshot.head.onBlock(run);
    this.ctx.snapshot.head.start();
    run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await this.running;
  }

  /** First block a fresh operator scans: older jobs are past any deadline (maxJobDuration) and cannot be live. */
  private async firstBlock(head: number): Promise<number> {
    const { startBlock } = this.ctx.config.operator;
    const [maxJobDuration, secondsPerBlock] = await Promise.all([this.ctx.market.maxJobDuration(), blockSeconds(this.ctx)]);
    return Math.max(startBlock, head - Math.ceil(Number(maxJobDuration) / secondsPerBlock));
  }

  /** The hash of block `n`: from the head poller's headers, or asked for (after a restart or a reorg). */
  private async hashOf(n: number): Promise<string | undefined> {
    return this.ctx.snapshot.head.header(n)?.hash ?? (await this.ctx.chain.provider.getBlock(n))?.hash ?? undefined;
  }

  /** Whether blocks from..to surely hold no event the watcher reads: every header known, no bloom matching. */
  private quiet(from: number, to: number): boolean {
    const { head } = this.ctx.snapshot;
    const address = this.ctx.market.target as string;
    for (let n = from; n <= to; n++) {
      const h = head.header(n);
      if (!h || bloomMayContain(h.logsBloom, address, this.topics())) return false;
    }
    return true;
  }

  private topics(): string[] {
    const { interface: iface } = this.ctx.market;
    return [iface.getEvent("JobCreated").topicHash, iface.getEvent("JobLocked").topicHash];
  }

  /** One scan: from the cursor to head - confirmations. */
  async tick(): Promise<void> {
    const confirmations = confirmationsFor(this.ctx);
    const head = (await this.ctx.snapshot.head.current()).number;
    const target = head - confirmations;
    const stored = await this.ctx.redis.get(this.key("cursor"));
    const floor = stored === null ? await this.firstBlock(head) : this.ctx.config.operator.startBlock;
    if (target < floor) return;
    let cursor = stored === null ? floor - 1 : Number(stored);
    if (cursor >= floor) {
      const [hash, now] = await Promise.all([this.ctx.redis.get(this.key(`hash:${cursor}`)), this.hashOf(cursor)]);
      if (hash && now !== hash) {
        const rewound = Math.max(floor - 1, cursor - Math.max(confirmations, MIN_REWIND) - 1);
        this.log.warn({ block: cursor, stored: hash, now, rescanFrom: rewound + 1 }, "reorg detected: rescanning");
        cursor = rewound;
      }
    }
    this.ctx.metrics.watcherLag.set(head - cursor);
    while (cursor < target) {
      const from = cursor + 1;
      const to = Math.min(target, from + this.range - 1);
      try {
        if (!this.quiet(from, to)) await this.scan(from, to);
      } catch (e) {
        if (!isRangeRefusal(e) || this.range === 1) throw e;
        this.range = Math.max(1, Math.floor(this.range / 2));
        this.log.warn({ from, to, range: this.range, err: shortMessage(e) }, "the provider refused the log range: halving it");
        continue;
      }
      const hash = await this.hashOf(to);
      if (!hash) throw new Error(`block ${to} not available yet`); // a lagging back end: scan it again
      await this.ctx.redis.multi().set(this.key("cursor"), String(to)).set(this.key(`hash:${to}`), hash, "EX", 7 * 24 * 3600).exec();
      cursor = to;
      this.ctx.metrics.watcherLag.set(head - cursor);
      this.range = Math.min(MAX_RANGE, this.range * 2);
    }
    this.lastScanAt = Date.now();
  }

  /** Both events in one eth_getLogs (JobLocked of every operator; those naming another are passed over). */
  private async scan(from: number, to: number): Promise<void> {
    const { market } = this.ctx;
    const logs = await this.ctx.chain.provider.getLogs({ address: market.target as string, topics: [this.topics()], fromBlock: from, toBlock: to });
    const seen = new Map<string, JobData>();
    const locked: string[] = [];
    for (const log of logs) {
      const ev = market.interface.parseLog(log);
      if (ev?.name === "JobLocked") {
        const a = ev.args as unknown as JobLockedEvent.OutputObject;
        if (a.operator.toLowerCase() === this.ctx.address.toLowerCase()) locked.push(a.jobId.toString());
        continue;
      }
      if (ev?.name !== "JobCreated") continue;
      const a = ev.args as unknown as JobCreatedEvent.OutputObject;
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
      this.log.info({ jobId: data.jobId, modelId: data.modelId, block: log.blockNumber }, "job seen");
    }
    for (const jobId of locked) {
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
