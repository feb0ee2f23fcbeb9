// submit — consumes: `submit` jobs with a checked proof. Produces: the fulfilment on-chain (via the relayer).
// Reconciles first (lock lost, deadline passed), signs an EIP-712 Fulfil and hands it to the relayer, then comes
// back every half block (a deferred job, holding no worker slot; one Redis read and no RPC while the relayer's
// outcome is pending) until the chain shows the job fulfilled; a fulfilment that failed in the relayer (or in its
// batch) is sent again, as is one mined and then reorged out.
import type { Logger } from "pino";
import { relayJobId } from "../../relayer/types.js";
import { JobStatus } from "../../shared/enums.js";
import { recheckAt, relayState, sendToRelayer, type JobData, type OperatorContext } from "../pipeline.js";
import { mineVerdict, readJob } from "../reconcile.js";
import { signFulfil } from "../signing.js";
import type { Outcome } from "../stage.js";

export async function submit(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const relay = data.fulfilRelay ? await relayState(ctx, data.fulfilRelay) : undefined;
  if (relay?.state === "pending") return { outcome: "deferred", reason: "fulfilment sent, not yet on-chain", retryAt: await recheckAt(ctx), quiet: true };
  const view = await readJob(ctx, data);
  if (data.fulfilRelay && Number(view.job.status) === JobStatus.Fulfilled) return fulfilled(ctx, data, relay, log);
  const mine = mineVerdict(ctx, data, view);
  if (!mine.ok) return { outcome: "skipped", reason: mine.reason };
  // Failed (in the relayer, or its batch item), or mined yet the job is not fulfilled (reorged out): sent again.
  if (relay?.state === "failed") log.warn({ reason: relay.reason }, "fulfilment did not take effect: sending it again");
  const request = await signFulfil(ctx, data.jobId, data.proof!, data.instances!);
  const id = relayJobId(request);
  await sendToRelayer(ctx, request, id);
  log.info({ relay: id }, "fulfilment sent");
  return { outcome: "deferred", reason: "fulfilment sent", retryAt: await recheckAt(ctx), data: { ...data, fulfilRelay: id }, quiet: true };
}

async function fulfilled(ctx: OperatorContext, data: JobData, relay: Awaited<ReturnType<typeof relayState>> | undefined, log: Logger): Promise<Outcome> {
  if (relay?.state === "mined") {
    ctx.metrics.gasUsed.inc({ kind: "fulfil" }, Number(relay.result.gasUsed));
    await ctx.catalog.recordGas(data.modelId, "fulfil", Number(relay.result.gasUsed));
  }
  log.info({ ...(relay?.state === "mined" ? { txHash: relay.result.txHash, gasUsed: relay.result.gasUsed } : {}), outputs: data.outputs }, "fulfilled and paid");
  return { outcome: "done" };
}
