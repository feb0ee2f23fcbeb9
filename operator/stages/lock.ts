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

export class JobLocker {
  constructor(private readonly ctx: OperatorContext) {}

  process = async (data: JobData, log: Logger): Promise<Outcome> => {
    const { ctx } = this;
    const open = await stillOpen(ctx, data);
    if (!open.ok) {
      // A retry of this stage after our own lock mined (an RPC error after the relay, say): the lock is ours, so
      // move on; skipping it would leave the job to run out its deadline and slash us.
      if ((await stillMine(ctx, data)).ok) return this.locked(data, log, "already locked by this operator (an earlier attempt's lock mined)");
      return { outcome: "skipped", reason: open.reason };
    }
    const validUntil = (await chainTime(ctx)) + LOCK_SIGNATURE_TTL_SECONDS;
    const request = await signLock(ctx, data.jobId, validUntil);
    try {
      const result = await relayAndWait(ctx, request, relayJobId(request), 120_000);
      ctx.metrics.gasUsed.inc({ kind: "lock" }, Number(result.gasUsed));
      log.info({ txHash: result.txHash, gasUsed: result.gasUsed }, "locked");
    } catch (e) {
      // The relayer may have dropped it (another operator locked first): the chain decides.
      log.warn({ err: (e as Error).message }, "lock relay failed; checking the chain");
    }
    const mine = await stillMine(ctx, data);
    if (!mine.ok) return { outcome: "skipped", reason: `lock not obtained: ${mine.reason}` };
    return this.locked(data, log);
  };

  private async locked(data: JobData, log: Logger, note?: string): Promise<Outcome> {
    if (note) log.info(note);
    await advance(this.ctx, "infer", { ...data, operator: this.ctx.address });
    return { outcome: "advanced" };
  }
}
