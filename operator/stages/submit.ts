// submit — consumes: `submit` jobs with a checked proof. Produces: the fulfilment on-chain (via the relayer). Signs
// an EIP-712 Fulfil and hands it to the relayer (while the job's lock is still on its way too, for a job proven as it
// was locking: the relayer sends it behind the lock, or once the lock is mined), then comes back when the relayer publishes its outcome, or every
// half block (a deferred job, holding no worker slot; one Redis read and no RPC while the relayer's outcome is
// pending). A job fresh from verify is sent without a chain read (the relayer simulates first), and its fulfilment
// mined at the relayer's depth ends it; one that failed in the relayer (or in its batch) is reconciled with the chain
// (lock lost, deadline passed) and sent again. A job proven in a batch sends its group's FulfilBatch (one relay
// request, the same for every job of the group) and is read from the chain each time, since another job of its group
// may have settled it; sent again, it names only the job's own slot, so a job the batch skipped settles from the same
// proof without the others.
import type { Logger } from "pino";
import { relayJobId } from "../../relayer/types.js";
import { JobStatus } from "../../shared/enums.js";
import { lockOnItsWay, recheckAt, relayState, type RelayState, sendToRelayer, type JobData, type OperatorContext } from "../pipeline.js";
import { freshTimeBefore, lockStillToCome, mineVerdict, readJob } from "../reconcile.js";
import { signFulfil, signFulfilBatch } from "../signing.js";
import type { Outcome } from "../stage.js";

export async function submit(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const relay = data.fulfilRelay ? await relayState(ctx, data.fulfilRelay) : undefined;
  if (relay?.state === "pending") return { outcome: "deferred", reason: "fulfilment sent, not yet on-chain", retryAt: await recheckAt(ctx), quiet: true };
  // A job's own fulfilment mined at the relayer's confirmation depth (at least 1) settled it: an item that failed
  // in the relayer's batch is published as reverted, not mined. A job fresh from verify is signed without reading it
  // again (the relayer simulates the fulfilment before sending it). A batch-proof job is read: its group may have
  // settled it, or skipped it.
  if (!data.batch && relay?.state === "mined") return fulfilled(ctx, data, relay, log);
  if (!data.batch && !data.fulfilRelay && freshTimeBefore(ctx, data.deadline) !== undefined && (await lockOnItsWay(ctx, data))) return send(ctx, data, log);
  const view = await readJob(ctx, data);
  // A job of a batch may be settled by the transaction another job of its group sent.
  if ((data.fulfilRelay || data.batch) && Number(view.job.status) === JobStatus.Fulfilled) return fulfilled(ctx, data, relay, log);
  const mine = mineVerdict(ctx, data, view);
  // Proven while locking, and the lock is not on-chain yet (sent again by the lock stage): wait while the job is open.
  if (!mine.ok && lockStillToCome(data, view)) return { outcome: "deferred", reason: "lock not yet on-chain", retryAt: await recheckAt(ctx), quiet: true };
  if (!mine.ok) return { outcome: "skipped", reason: mine.reason };
  // Failed (in the relayer, or its batch item), or mined yet the job is not fulfilled (reorged out, or the batch
  // skipped this job): sent again.
  if (relay?.state === "failed") log.warn({ reason: relay.reason }, "fulfilment did not take effect: sending it again");
  if (relay?.state === "mined" && relay.result.failed?.length) log.warn({ failed: relay.result.failed }, "the batch fulfilment skipped jobs");
  return send(ctx, data, log);
}

/** Signs the fulfilment of `data` (its batch's, for a job proven in one) and hands it to the relayer. */
async function send(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const { batch } = data;
  const request = batch
    ? await signFulfilBatch(ctx, batch.batchId, data.fulfilRelay ? batch.jobIds.map((id) => (id === data.jobId ? id : "0")) : batch.jobIds, data.proof!, data.instances!)
    : await signFulfil(ctx, data.jobId, data.proof!, data.instances!);
  const id = relayJobId(request);
  await sendToRelayer(ctx, request, id, { stage: "submit", data });
  log.info({ relay: id }, "fulfilment sent");
  return { outcome: "deferred", reason: "fulfilment sent", retryAt: await recheckAt(ctx), data: { ...data, fulfilRelay: id }, quiet: true };
}

async function fulfilled(ctx: OperatorContext, data: JobData, relay: RelayState | undefined, log: Logger): Promise<Outcome> {
  if (relay?.state === "mined") {
    // A batch's transaction is shared by its jobs: each counts its share.
    const gas = Math.round(Number(relay.result.gasUsed) / (data.batch?.jobIds.filter((id) => id !== "0").length ?? 1));
    ctx.metrics.gasUsed.inc({ kind: "fulfil" }, gas);
    await ctx.catalog.recordGas(data.modelId, "fulfil", gas);
  }
  log.info({ ...(relay?.state === "mined" ? { txHash: relay.result.txHash, gasUsed: relay.result.gasUsed } : {}), outputs: data.outputs }, "fulfilled and paid");
  return { outcome: "done" };
}
