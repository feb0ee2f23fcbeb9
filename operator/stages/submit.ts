// submit — consumes: `submit` jobs with a checked proof. Produces: the fulfilment on-chain (via the relayer).
// Reconciles first (already fulfilled, lock lost, deadline passed), then signs an EIP-712 Fulfil and waits for
// the relayer's receipt.
import type { Logger } from "pino";
import { relayJobId } from "../../relayer/types.js";
import { relayAndWait, type JobData, type OperatorContext } from "../pipeline.js";
import { stillMine } from "../reconcile.js";
import { signFulfil } from "../signing.js";
import type { Outcome } from "../stage.js";
import { JobStatus } from "../status.js";

export class ResultSubmitter {
  constructor(private readonly ctx: OperatorContext) {}

  process = async (data: JobData, log: Logger): Promise<Outcome> => {
    const mine = await stillMine(this.ctx, data);
    if (!mine.ok) return { outcome: "skipped", reason: mine.reason };
    const request = await signFulfil(this.ctx, data.jobId, data.proof!, data.instances!);
    const result = await relayAndWait(this.ctx, request, relayJobId(request), 180_000);
    const job = await this.ctx.market.jobOf(data.jobId);
    if (Number(job.status) !== JobStatus.Fulfilled) throw new Error(`fulfilment mined (${result.txHash}) but job status is ${job.status}`);
    this.ctx.metrics.gasUsed.inc({ kind: "fulfil" }, Number(result.gasUsed));
    log.info({ txHash: result.txHash, gasUsed: result.gasUsed, outputs: data.outputs }, "fulfilled and paid");
    return { outcome: "done" };
  };
}
