// evaluate — consumes: `evaluate` jobs (a job seen on-chain). Produces: `lock` jobs for the ones worth taking.
// Free local checks first (model served, input inside the circuit's calibrated range: locking one outside would
// end in a failed proof and a slash), then the chain's view (job still open, model active), then admission
// (operator/admission.ts): capacity against the deadline, price against the expected gas cost, collateral
// against free stake. Reasons that can pass defer the job to another look instead of dropping it.
import { ZeroAddress } from "ethers";
import type { Logger } from "pino";
import { checkCircuitInput } from "../../zk/artifacts.js";
import { admit } from "../admission.js";
import { advance, jobInput, type JobData, type OperatorContext } from "../pipeline.js";
import { blockSeconds, stillOpen } from "../reconcile.js";
import type { Outcome } from "../stage.js";
import { ModelStatus } from "../status.js";

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
  const [, , , , status] = await ctx.registry.layout(data.modelId);
  if (Number(status) !== ModelStatus.Active) return { outcome: "skipped", reason: `model ${data.modelId} is deprecated` };
  const open = await stillOpen(ctx, data);
  if (!open.ok) return { outcome: "skipped", reason: open.reason };

  const [block, fees, blockTime, backlogJobs, proveSeconds, gas, freeStake] = await Promise.all([
    ctx.chain.provider.getBlock("latest"),
    ctx.chain.provider.getFeeData(),
    blockSeconds(ctx),
    committedJobs(ctx),
    ctx.catalog.proveBound(data.modelId),
    ctx.catalog.expectedGas(data.modelId, cfg.estimatedGas),
    ctx.staking.freeStake(ctx.address),
  ]);
  const now = block?.timestamp ?? Math.floor(Date.now() / 1000);
  // What the lock and fulfilment are expected to pay per gas (base fee + tip), not the fee cap (twice the base
  // fee): pricing at the cap skipped cheap jobs that were profitable (review S1, item 3).
  const gasPrice = block?.baseFeePerGas != null ? block.baseFeePerGas + (fees.maxPriorityFeePerGas ?? 0n) : (fees.gasPrice ?? 0n);
  const decision = admit({
    now,
    lockDeadline: data.lockDeadline,
    deadline: data.deadline,
    txSeconds: blockTime * (cfg.confirmations + 2),
    backlogSeconds: (backlogJobs * proveSeconds) / (cfg.proveConcurrency + cfg.remoteProveSlots),
    proveSeconds,
    marginSeconds: cfg.deadlineMarginSeconds,
    ...(data.token === ZeroAddress ? { price: BigInt(data.price), gasCostWei: BigInt(gas) * gasPrice } : {}),
    minProfitWei: cfg.minProfitWei,
    collateral: BigInt(data.collateral),
    freeStake,
    reevaluateSeconds: cfg.reevaluateMs / 1000,
  });
  if (!decision.take) {
    return decision.retry ? { outcome: "deferred", reason: decision.reason, retryAt: Date.now() + cfg.reevaluateMs } : { outcome: "skipped", reason: decision.reason };
  }
  log.info({ modelId: data.modelId, price: data.price, deadlineIn: data.deadline - now, backlogJobs }, "taking job");
  await advance(ctx, "lock", data);
  return { outcome: "advanced" };
}

/** Jobs this operator has committed to prove and not yet proven. */
async function committedJobs(ctx: OperatorContext): Promise<number> {
  const counts = await Promise.all(COMMITTED_STAGES.map((s) => ctx.queues[s].getJobCounts("waiting", "active", "prioritized", "delayed")));
  return counts.reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0);
}
