// Every lock naming this operator gets a pipeline behind it, whenever it mines and whatever happened to the
// pipeline meanwhile: the watcher reports each `JobLocked(me)` it sees, the lock is kept in a durable per-operator
// record (a Redis sorted set by deadline), and a periodic sweep resumes each open lock from its furthest stage —
// retrying a stage that failed for good (an outage longer than its retries), re-running one whose completed
// result the chain contradicts (a fulfilment reorged out). BullMQ's job-id dedupe alone made all of these no-ops
// (review S1-2, S1-3).
import type { JobState } from "bullmq";
import type { Logger } from "pino";
import { jobKey } from "../shared/queues.js";
import { advance, type JobData, type OperatorContext } from "./pipeline.js";
import { stillMine } from "./reconcile.js";

/** The stages a locked job goes through, in order. */
const AFTER_LOCK = ["prove", "verify", "submit"] as const;

/**
 * What resume did: `started` a job with no stage at all (at prove), `retried` a stage that failed for good,
 * `rerun` a completed stage whose effect the chain does not show, or left a stage that is `pending` (queued or
 * running) as it was.
 */
export type ResumeOutcome =
  | { stage: (typeof AFTER_LOCK)[number]; action: "started" | "retried" | "rerun" }
  | { stage: (typeof AFTER_LOCK)[number]; action: "pending"; state: JobState | "unknown" };

function locksKey(ctx: OperatorContext): string {
  return `${ctx.config.queuePrefix}:locks:${ctx.chain.chainId}:${ctx.address.toLowerCase()}`;
}

/**
 * Records a lock held by this operator (the job data travels with it) and resumes its pipeline. A job a stage has
 * queued or running needs nothing (each stage reconciles with the chain itself), so the chain is read only for a
 * job with no stage, or one whose stage ended.
 */
export async function trackLock(ctx: OperatorContext, data: JobData, log: Logger): Promise<void> {
  await ctx.redis.zadd(locksKey(ctx), data.deadline, JSON.stringify({ ...data, operator: ctx.address }));
  if ((await furthestStage(ctx, data))?.pending) return;
  const mine = await stillMine(ctx, data);
  if (mine.ok) log.debug({ jobId: data.jobId, pipeline: await resume(ctx, data) }, "lock tracked");
}

/**
 * Puts a job this operator holds the lock on back on its way: nothing if a stage has it queued or running; a
 * failed stage is retried with fresh attempts; a completed last stage (the chain says the job is still open to
 * us, so its effect was lost) runs again; no stage at all starts it at prove. Call only when stillMine is ok.
 */
export async function resume(ctx: OperatorContext, data: JobData): Promise<ResumeOutcome> {
  const furthest = await furthestStage(ctx, data);
  if (!furthest) {
    await advance(ctx, "prove", { ...data, operator: ctx.address });
    return { stage: "prove", action: "started" };
  }
  const { stage, job, state } = furthest;
  if (state === "failed") {
    await job.retry("failed", { resetAttemptsMade: true });
    return { stage, action: "retried" };
  }
  if (state === "completed") {
    await job.remove();
    await advance(ctx, stage, job.data);
    return { stage, action: "rerun" };
  }
  return { stage, action: "pending", state };
}

/** The last stage that has the job (Redis only), its state, and whether it is still queued or running. */
async function furthestStage(ctx: OperatorContext, data: JobData) {
  const id = jobKey(data.chainId, data.jobId);
  for (const stage of [...AFTER_LOCK].reverse()) {
    const job = await ctx.queues[stage].getJob(id);
    if (!job) continue;
    const state = await job.getState();
    return { stage, job, state, pending: state !== "failed" && state !== "completed" };
  }
  return undefined;
}

/**
 * One pass over the tracked locks: resumes those still ours, forgets the rest (settled, lost or expired). A lock
 * whose job a stage has queued or running is left for a later pass without a chain read (its stage reconciles).
 */
export async function sweepLocks(ctx: OperatorContext, log: Logger): Promise<void> {
  for (const raw of await ctx.redis.zrange(locksKey(ctx), 0, -1)) {
    const data = JSON.parse(raw) as JobData;
    if ((await furthestStage(ctx, data))?.pending) continue;
    const mine = await stillMine(ctx, data);
    if (!mine.ok) {
      await ctx.redis.zrem(locksKey(ctx), raw);
      continue;
    }
    const pipeline = await resume(ctx, data);
    if (pipeline.action !== "pending") log.warn({ jobId: data.jobId, pipeline }, "resumed a locked job");
  }
}
