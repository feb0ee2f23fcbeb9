// evaluate — consumes: `evaluate` jobs (a job seen on-chain). Produces: `lock` jobs for the ones worth taking.
// Decides on the JobCreated event and the per-block chain snapshot (operator/snapshot.ts) alone, with no RPC per
// job: model served and active, input inside the circuit's calibrated range (locking one outside would end in a
// failed proof and a slash), then admission (operator/admission.ts): capacity against the deadline, price against
// the expected gas cost, collateral against free stake. Reasons that can pass defer the job to another look
// instead of dropping it; the lock stage checks the job is still open before signing.
import { ZeroAddress } from "ethers";
import type { Logger } from "pino";
import { checkCircuitInput } from "../../zk/runtime/artifacts.js";
import { admit } from "../admission.js";
import { confirmationsFor } from "../reconcile.js";
import { advance, jobInput, type JobData, type OperatorContext } from "../pipeline.js";
import type { Outcome } from "../stage.js";

export async function evaluate(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const cfg = ctx.config.operator;
  if (!ctx.catalog.get(data.modelId)) return { outcome: "skipped", reason: `model ${data.modelId} is not one this operator proves` };
  const { circuit, input } = jobInput(ctx, data);
  try {
    checkCircuitInput(circuit, input, `job ${data.jobId} input`);
  } catch (e) {
    return { outcome: "skipped", reason: (e as Error).message };
  }
  const snap = await ctx.snapshot.get(ctx);
  if (!snap.activeModels.has(data.modelId)) return { outcome: "skipped", reason: `model ${data.modelId} is deprecated` };
  const { proveSeconds, gas } = snap.models.get(data.modelId)!;
  const now = snap.timestamp;
  const decision = admit({
    now,
    lockDeadline: data.lockDeadline,
    deadline: data.deadline,
    txSeconds: snap.blockSeconds * (confirmationsFor(ctx) + 2),
    backlogSeconds: (snap.committedJobs * proveSeconds) / (cfg.proveConcurrency + cfg.remoteProveSlots),
    proveSeconds,
    marginSeconds: cfg.deadlineMarginSeconds,
    ...(data.token === ZeroAddress ? { price: BigInt(data.price), gasCostWei: BigInt(gas) * snap.gasPrice } : {}),
    minProfitWei: cfg.minProfitWei,
    collateral: BigInt(data.collateral),
    // Locks this operator has signed but not yet seen mined will reserve their collateral too.
    freeStake: snap.freeStake - snap.committedCollateral,
    reevaluateSeconds: cfg.reevaluateMs / 1000,
  });
  if (!decision.take) {
    return decision.retry ? { outcome: "deferred", reason: decision.reason, retryAt: Date.now() + cfg.reevaluateMs } : { outcome: "skipped", reason: decision.reason };
  }
  // Counted before the hand-over, so the next job of this block (evaluated meanwhile) sees the work committed.
  snap.committedJobs++;
  snap.committedCollateral += BigInt(data.collateral);
  log.info({ modelId: data.modelId, price: data.price, deadlineIn: data.deadline - now, committedJobs: snap.committedJobs }, "taking job");
  await advance(ctx, "lock", data);
  return { outcome: "advanced" };
}
