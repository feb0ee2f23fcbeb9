// BullMQ plumbing shared by the operator and the relayer: one Redis connection factory, the relay queue's name
// and the job id convention `${chainId}-${onchainJobId}` (no ':'), which makes re-enqueueing a no-op.
import { Queue, Worker, type Processor, type WorkerOptions } from "bullmq";
import { Redis } from "ioredis";

export const RELAYER_QUEUE = "relay";

export function redisConnection(url: string): Redis {
  // BullMQ workers block on Redis: maxRetriesPerRequest must be null; ioredis reconnects by itself.
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

export function jobKey(chainId: bigint | number | string, jobId: bigint | number | string): string {
  return `${chainId}-${jobId}`;
}

export interface QueueContext {
  connection: Redis;
  prefix: string;
}

export function queue<T>(ctx: QueueContext, name: string): Queue<T> {
  return new Queue<T>(name, { connection: ctx.connection, prefix: ctx.prefix });
}

// BullMQ duplicates the connection it is given for its blocking reads and never closes the one passed in, so a
// worker gets the shared connection itself (a duplicate made here would leak and keep the process alive); the
// owner closes it once, at shutdown.
export function worker<T, R>(ctx: QueueContext, name: string, processor: Processor<T, R>, opts: Partial<WorkerOptions> = {}): Worker<T, R> {
  return new Worker<T, R>(name, processor, {
    connection: ctx.connection,
    prefix: ctx.prefix,
    // A worker that dies mid-job loses its lock; the job is handed to another worker after this long.
    lockDuration: 60_000,
    stalledInterval: 30_000,
    maxStalledCount: 2,
    ...opts,
  });
}
