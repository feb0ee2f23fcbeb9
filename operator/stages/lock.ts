// lock — consumes: `lock` jobs. Produces: `infer` jobs (this operator's queue) once the lock is on-chain.
// Signs an EIP-712 Lock and has the relayer submit it; reconciles before signing and after mining, since
// another operator may win the race.
import type { Logger } from "pino";
import { relayJobId } from "../../relayer/types.js";
import { advance, relayAndWait, type JobData, type OperatorContext } from "../pipeline.js";
import { chainTime, stillMine, stillOpen } from "../reconcile.js";
import type { Outcome } from "../stage.js";
import { signLock } from "../signing.js";

/** A lock signature is valid this long: enough for the relayer to land it, short enough not to linger. */
const LOCK_SIGNATURE_TTL_SECONDS = 300;
/** Waited past the signature's expiry before concluding: the last block that could include it must be seen. */
const EXPIRY_SLACK_MS = 30_000;

export async function lock(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const open = await stillOpen(ctx, data);
  if (!open.ok) {
    // A retry of this stage after our own lock mined (an RPC error after the relay, say): the lock is ours, so
    // move on; skipping it would leave the job to run out its deadline and slash us.
    if ((await stillMine(ctx, data)).ok) return locked(ctx, data, log, "already locked by this operator (an earlier attempt's lock mined)");
    return { outcome: "skipped", reason: open.reason };
  }
  const now = await chainTime(ctx);
  const validUntil = Math.min(now + LOCK_SIGNATURE_TTL_SECONDS, data.lockDeadline);
  // The terms seen in JobCreated (read from the chain only for a job queued before the watcher recorded them).
  const terms = data.terms ?? (await ctx.market.termsOf(data.jobId));
  const request = await signLock(ctx, data.jobId, terms, validUntil);
  try {
    // Wait as long as the signature can still be mined: a lock that lands after the operator stopped waiting would
    // be a lock with no pipeline behind it, and a slash (review S1-2). The watcher also picks up any lock naming
    // this operator, whenever it mines.
    const result = await relayAndWait(ctx, request, relayJobId(request), (validUntil - now) * 1000 + EXPIRY_SLACK_MS);
    ctx.metrics.gasUsed.inc({ kind: "lock" }, Number(result.gasUsed));
    await ctx.catalog.recordGas(data.modelId, "lock", Number(result.gasUsed));
    log.info({ txHash: result.txHash, gasUsed: result.gasUsed }, "locked");
  } catch (e) {
    // The relayer may have dropped it (another operator locked first): the chain decides.
    log.warn({ err: (e as Error).message }, "lock relay failed; checking the chain");
  }
  const mine = await stillMine(ctx, data);
  if (!mine.ok) return { outcome: "skipped", reason: `lock not obtained: ${mine.reason}` };
  return locked(ctx, data, log);
}

async function locked(ctx: OperatorContext, data: JobData, log: Logger, note?: string): Promise<Outcome> {
  if (note) log.info(note);
  await advance(ctx, "infer", { ...data, operator: ctx.address });
  return { outcome: "advanced" };
}
