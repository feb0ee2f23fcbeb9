// lock — consumes: `lock` jobs. Produces: `prove` jobs (this operator's queue) once the lock is on-chain, or as soon
// as it is sent when its proof would start before the lock lands (operator.proveWhileLocking: prove and submit then
// follow the lock). Signs an EIP-712 Lock and hands it to the relayer, then comes back when the relayer publishes
// its outcome, or every half block (a deferred job, holding no worker slot while blocks are awaited); while the
// relayer's outcome is pending that costs one Redis read and no RPC. A lock the relayer saw mined is ours; any
// other published outcome is reconciled with the chain: another operator's lock, or the signature's expiry. A job
// fresh from evaluate is signed at once (the relayer's simulation is the check before the transaction); any other
// is reconciled with the chain before signing, since another operator may have won the race.
import type { Logger } from "pino";
import { JOB_NOT_OPEN, relayJobId } from "../../relayer/types.js";
import { advance, recheckAt, relayState, type RelayState, sendToRelayer, type JobData, type OperatorContext } from "../pipeline.js";
import { blockSeconds, freshTimeBefore, mineVerdict, openVerdict, readJob } from "../reconcile.js";
import type { Outcome } from "../stage.js";
import { signLock } from "../signing.js";

/** A lock signature is valid this long: enough for the relayer to land it, short enough not to linger. */
const LOCK_SIGNATURE_TTL_SECONDS = 300;

export async function lock(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const relay = data.lockRelay ? await relayState(ctx, data.lockRelay.id) : undefined;
  // Our lock mined at the relayer's confirmation depth (at least 1): lockWithSignature succeeds only by locking the
  // job to the operator that signed it, so the job is ours without a read (prove and submit reconcile later).
  if (relay?.state === "mined") return locked(ctx, data, relay, log);
  if (data.lockRelay && Date.now() / 1000 <= data.lockRelay.validUntil) {
    // Our signed lock is still on its way (the signature's validity is judged on chain time once it is settled).
    if (relay?.state === "pending") return { outcome: "deferred", reason: "lock sent, not yet on-chain", retryAt: await recheckAt(ctx), quiet: true };
    // Dropped by the relayer because the job is no longer open (another operator's lock was mined first): a job is
    // locked at most once, so there is nothing to read.
    if (relay?.state === "failed" && relay.dropped === JOB_NOT_OPEN) return { outcome: "skipped", reason: `lock not obtained: ${relay.reason}` };
  }
  // A job fresh from evaluation, with its terms from JobCreated, is signed without reading it again: evaluate
  // decided on this block's snapshot, the lock binds the terms (a job reorged under another id does not match),
  // and the relayer simulates the lock before sending it. The chain is read once the outcome is known.
  const fresh = freshTimeBefore(ctx, data.lockDeadline);
  if (!data.lockRelay && data.terms && fresh !== undefined) return send(ctx, data, data.terms, fresh, log);
  const view = await readJob(ctx, data);
  if (mineVerdict(ctx, data, view).ok) return locked(ctx, data, relay, log);
  const open = openVerdict(data, view);
  if (!open.ok) return { outcome: "skipped", reason: data.lockRelay ? `lock not obtained: ${open.reason}` : open.reason };
  const { now } = view;
  // Still on its way after its signature's validity by our clock, yet valid on chain time: look again.
  if (data.lockRelay && now <= data.lockRelay.validUntil && relay?.state === "pending") {
    return { outcome: "deferred", reason: "lock sent, not yet on-chain", retryAt: await recheckAt(ctx), quiet: true };
  }
  // The terms seen in JobCreated (read from the chain only for a job queued before the watcher recorded them).
  return send(ctx, data, data.terms ?? (await ctx.market.termsOf(data.jobId)), now, log);
}

/** Signs the lock of `data` (valid from chain time `now`) and hands it to the relayer. */
async function send(ctx: OperatorContext, data: JobData, terms: string, now: number, log: Logger): Promise<Outcome> {
  // Waited as long as the signature could be mined, so it cannot land after this stage moved on and leave a lock
  // with no pipeline behind it (review S1-2; the watcher also picks up any lock naming this operator).
  const validUntil = Math.min(now + LOCK_SIGNATURE_TTL_SECONDS, data.lockDeadline);
  const request = await signLock(ctx, data.jobId, terms, validUntil);
  const id = relayJobId(request);
  await sendToRelayer(ctx, request, id, { stage: "lock", data });
  const sent = { ...data, terms, lockRelay: { id, validUntil } };
  const early = await proveWhileLocking(ctx, sent);
  log.info({ validUntil, relay: id, provingNow: early }, "lock sent");
  return { outcome: "deferred", reason: "lock sent", retryAt: await recheckAt(ctx), data: sent, quiet: true };
}

/**
 * Hands a job whose lock was just sent to prove at once when its proof would start before the lock is expected
 * on-chain (operator.proveWhileLocking): the provers' queue ahead of it, at the model's measured proving time, takes
 * less than a block. The proof is then ready by the time the lock is mined, or soon after, and its fulfilment can
 * follow the lock into the same block, for each job of a burst as for a lone one. A lock lost to another operator
 * wastes at most the proving done before its outcome was known: a job whose proof would start later gains nothing
 * from going early, so it waits for its lock. Prove and submit go on while the lock's relay is pending or mined
 * and wait for the chain otherwise (a lock sent again). Not for a model proven in batches, whose group would name
 * a job not yet locked.
 */
async function proveWhileLocking(ctx: OperatorContext, data: JobData): Promise<boolean> {
  const { proveWhileLocking, proveConcurrency, remoteProveSlots, batchWindowMs } = ctx.config.operator;
  if (!proveWhileLocking || (batchWindowMs > 0 && ctx.catalog.get(data.modelId)?.batches.length)) return false;
  const slots = proveConcurrency + remoteProveSlots;
  const ahead = await ctx.queues.prove.getJobCountByTypes("waiting", "prioritized", "active");
  if (ahead >= slots) {
    const [seconds, block] = await Promise.all([ctx.catalog.proveSeconds(data.modelId), blockSeconds(ctx)]);
    if (((ahead - slots + 1) / slots) * seconds >= block) return false;
  }
  await advance(ctx, "prove", data);
  return true;
}

async function locked(ctx: OperatorContext, data: JobData, relay: RelayState | undefined, log: Logger): Promise<Outcome> {
  if (relay?.state === "mined") {
    ctx.metrics.gasUsed.inc({ kind: "lock" }, Number(relay.result.gasUsed));
    await ctx.catalog.recordGas(data.modelId, "lock", Number(relay.result.gasUsed));
  }
  log.info(relay?.state === "mined" ? { txHash: relay.result.txHash, gasUsed: relay.result.gasUsed } : {}, "locked");
  await advance(ctx, "prove", { ...data, operator: ctx.address });
  return { outcome: "advanced" };
}
