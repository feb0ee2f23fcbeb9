// Reconciliation with the chain, done before every stage's work and every transaction: the queue's copy of a
// job may be stale (fulfilled by us before a crash, lock lost, expired), the chain is the truth.
import type { JobData, OperatorContext } from "./pipeline.js";
import { JobStatus } from "./status.js";

export type Verdict = { ok: true } | { ok: false; reason: string };

async function chainTime(ctx: OperatorContext): Promise<number> {
  const block = await ctx.chain.provider.getBlock("latest");
  return block?.timestamp ?? Math.floor(Date.now() / 1000);
}

/** The job is still open for locking. */
export async function stillOpen(ctx: OperatorContext, data: JobData): Promise<Verdict> {
  const [job, now] = await Promise.all([ctx.market.jobOf(data.jobId), chainTime(ctx)]);
  if (Number(job.status) !== JobStatus.Open) return { ok: false, reason: `job is no longer open (status ${job.status})` };
  if (now > Number(job.lockDeadline)) return { ok: false, reason: `lock deadline passed ${now - Number(job.lockDeadline)} s ago` };
  return { ok: true };
}

/** The job is locked by this operator and its deadline has not passed. */
export async function stillMine(ctx: OperatorContext, data: JobData): Promise<Verdict> {
  const [job, now] = await Promise.all([ctx.market.jobOf(data.jobId), chainTime(ctx)]);
  if (Number(job.status) === JobStatus.Fulfilled) return { ok: false, reason: "already fulfilled" };
  if (Number(job.status) !== JobStatus.Locked) return { ok: false, reason: `job is not locked (status ${job.status})` };
  if (job.operator.toLowerCase() !== ctx.address.toLowerCase()) return { ok: false, reason: `lock held by ${job.operator}` };
  if (now > Number(job.deadline)) return { ok: false, reason: `deadline passed ${now - Number(job.deadline)} s ago` };
  return { ok: true };
}

export { chainTime };
