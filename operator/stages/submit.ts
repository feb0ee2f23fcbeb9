// submit — consumes: `submit` jobs with a checked proof. Produces: the fulfilment on-chain (via the relayer).
// Reconciles first (already fulfilled, lock lost, deadline passed), then signs an EIP-712 Fulfil and waits for
// the relayer's receipt.
import type { Logger } from "pino";
import { VerdictError } from "../../shared/errors.js";
import { relayJobId } from "../../relayer/types.js";
import { forgetRelay, relayAndWait, type JobData, type OperatorContext } from "../pipeline.js";
import { stillMine } from "../reconcile.js";
import { signFulfil } from "../signing.js";
import type { Outcome } from "../stage.js";
import { JobStatus } from "../../shared/enums.js";

export async function submit(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const mine = await stillMine(ctx, data);
  if (!mine.ok) return { outcome: "skipped", reason: mine.reason };
  const request = await signFulfil(ctx, data.jobId, data.proof!, data.instances!);
  const relayId = relayJobId(request);
  const result = await relayAndWait(ctx, request, relayId, 180_000);
  const job = await ctx.market.jobOf(data.jobId);
  if (Number(job.status) !== JobStatus.Fulfilled) {
    // Mined, then reorged out (or never effective): the next attempt must send it again, not reuse this result.
    await forgetRelay(ctx, relayId);
    throw new VerdictError("FULFILMENT_NOT_ON_CHAIN", `fulfilment mined (${result.txHash}) but job status is ${job.status}; sending it again`, undefined, true);
  }
  ctx.metrics.gasUsed.inc({ kind: "fulfil" }, Number(result.gasUsed));
  await ctx.catalog.recordGas(data.modelId, "fulfil", Number(result.gasUsed));
  log.info({ txHash: result.txHash, gasUsed: result.gasUsed, outputs: data.outputs }, "fulfilled and paid");
  return { outcome: "done" };
}
