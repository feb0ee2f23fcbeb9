// submit — consumes: `submit` jobs with a checked proof. Produces: the fulfilment on-chain (via the relayer).
// Reconciles first (lock lost, deadline passed), signs an EIP-712 Fulfil and hands it to the relayer, then comes
// back every half block (a deferred job, holding no worker slot) until the chain shows the job fulfilled; a
// fulfilment that failed in the relayer is retried, one mined and then reorged out is sent again.
import type { Logger } from "pino";
import { relayJobId } from "../../relayer/types.js";
import { JobStatus } from "../../shared/enums.js";
import { forgetRelay, recheckAt, relayState, sendToRelayer, type JobData, type OperatorContext } from "../pipeline.js";
import { mineVerdict, readJob } from "../reconcile.js";
import { signFulfil } from "../signing.js";
import type { Outcome } from "../stage.js";

export async function submit(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const view = await readJob(ctx, data);
  if (data.fulfilRelay && Number(view.job.status) === JobStatus.Fulfilled) return fulfilled(ctx, data, log);
  const mine = mineVerdict(ctx, data, view);
  if (!mine.ok) return { outcome: "skipped", reason: mine.reason };
  if (data.fulfilRelay) {
    const relay = await relayState(ctx, data.fulfilRelay);
    if (relay.state === "pending") return { outcome: "deferred", reason: "fulfilment sent, not yet on-chain", retryAt: await recheckAt(ctx), quiet: true };
    // Mined, yet the job is not fulfilled: the transaction was reorged out; the request is sent again below.
    if (relay.state === "mined") await forgetRelay(ctx, data.fulfilRelay);
  }
  const request = await signFulfil(ctx, data.jobId, data.proof!, data.instances!);
  const id = relayJobId(request);
  await sendToRelayer(ctx, request, id);
  log.info({ relay: id }, "fulfilment sent");
  return { outcome: "deferred", reason: "fulfilment sent", retryAt: await recheckAt(ctx), data: { ...data, fulfilRelay: id }, quiet: true };
}

async function fulfilled(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const relay = await relayState(ctx, data.fulfilRelay!);
  if (relay.state === "mined") {
    ctx.metrics.gasUsed.inc({ kind: "fulfil" }, Number(relay.result.gasUsed));
    await ctx.catalog.recordGas(data.modelId, "fulfil", Number(relay.result.gasUsed));
  }
  log.info({ ...(relay.state === "mined" ? { txHash: relay.result.txHash, gasUsed: relay.result.gasUsed } : {}), outputs: data.outputs }, "fulfilled and paid");
  return { outcome: "done" };
}
