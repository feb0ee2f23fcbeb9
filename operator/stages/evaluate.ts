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
import { advance, jobInput, PENDING_STATES, type JobData, type OperatorContext } from "../pipeline.js";
import type { Outcome } from "../stage.js";

/** Stages whose queued jobs this operator has locked (or is locking) and still has to prove. */
const COMMITTED_STAGES = ["lock", "infer", "prove"] as const;

export async function evaluate(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const cfg = ctx.config.operator;
  if (!ctx.catalog.get(data.modelId)) return { outcome: "skipped", reason: `model ${data.modelId} is not one this operator proves` };
  const { circuit, input } = jobInput(ctx, data);
  try {
    checkCircuitInput(circuit, input, `job ${data.jobId} input`);
  } catch (e) {
    return { outcome: "skipped", reason: (e as Error).message };
  }
  const [snap, backlogJobs, pendingCollateral, proveSeconds, gas] = await Promise.all([
    ctx.snapshot.get(ctx),
    committedJobs(ctx),
    lockingCollateral(ctx),
    ctx.catalog.proveBound(data.modelId),
    ctx.catalog.expectedGas(data.modelId, cfg.estimatedGas),
  ]);
  if (!snap.activeModels.has(data.modelId)) return { outcome: "skipped", reason: `model ${data.modelId} is deprecated` };
  const now = snap.timestamp;
  const decision = admit({
    now,
    lockDeadline: data.lockDeadline,
    deadline: data.deadline,
    txSeconds: snap.blockSeconds * (cfg.confirmations + 2),
    backlogSeconds: (backlogJobs * proveSeconds) / (cfg.proveConcurrency + cfg.remoteProveSlots),
    proveSeconds,
    marginSeconds: cfg.deadlineMarginSeconds,
    ...(data.token === ZeroAddress ? { price: BigInt(data.price), gasCostWei: BigInt(gas) * snap.gasPrice } : {}),
    minProfitWei: cfg.minProfitWei,
    collateral: BigInt(data.collateral),
    // Locks this operator has signed but not yet seen mined will reserve their collateral too.
    freeStake: snap.freeStake - pendingCollateral,
    reevaluateSeconds: cfg.reevaluateMs / 1000,
  });
  if (!decision.take) {
    return decision.retry ? { outcome: "deferred", reason: decision.reason, retryAt: Date.now() + cfg.reevaluateMs } : { outcome: "skipped", reason: decision.reason };
  }
  log.info({ modelId: data.modelId, price: data.price, deadlineIn: data.deadline - now, backlogJobs }, "taking job");
  await advance(ctx, "lock", data);
  return { outcome: "advanced" };
}

/** Collateral of the jobs in this operator's lock stage (their locks are not on-chain yet). */
async function lockingCollateral(ctx: OperatorContext): Promise<bigint> {
  const jobs = await ctx.queues.lock.getJobs([...PENDING_STATES]);
  return jobs.reduce((sum, j) => sum + BigInt(j.data.collateral), 0n);
}

/** Jobs this operator has committed to prove and not yet proven. */
async function committedJobs(ctx: OperatorContext): Promise<number> {
  const counts = await Promise.all(COMMITTED_STAGES.map((s) => ctx.queues[s].getJobCounts(...PENDING_STATES)));
  return counts.reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0);
}
