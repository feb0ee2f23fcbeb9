// evaluate — consumes: `evaluate` jobs (a job seen on-chain). Produces: `lock` jobs for the ones worth taking.
// Decides on the JobCreated event and the per-block chain snapshot (operator/snapshot.ts): model served and
// active, input one the circuit can take (its input range check, in TypeScript), then admission
// (operator/admission.ts): capacity against the deadline, price against the expected gas cost, collateral against
// free stake. A job it would take is then tried on the circuit itself (a witness generation, milliseconds) before
// the lock puts collateral at stake. Reasons that can pass defer the job to another look instead of dropping it;
// the lock stage checks the job is still open before signing.
import { ZeroAddress } from "ethers";
import type { Logger } from "pino";
import { VerdictError } from "../../shared/errors.js";
import { checkCircuitInput, type CircuitArtifacts } from "../../zk/runtime/artifacts.js";
import { infer } from "../../zk/runtime/inference.js";
import { witnessOutputs } from "../../zk/runtime/prover.js";
import { admit } from "../admission.js";
import { advance, jobInput, PENDING_STATES, type JobData, type OperatorContext } from "../pipeline.js";
import type { Outcome } from "../stage.js";
import { outputTolerance, quantisationError } from "./prove.js";

/** A witness takes milliseconds; a warm process that hangs longer is stopped and the evaluation retried. */
const WITNESS_TIMEOUT_MS = 30_000;

/** Stages whose queued jobs this operator has locked (or is locking) and still has to prove. */
const COMMITTED_STAGES = ["lock", "prove"] as const;

export async function evaluate(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const cfg = ctx.config.operator;
  if (!ctx.catalog.get(data.modelId)) return { outcome: "skipped", reason: `model ${data.modelId} is not one this operator proves` };
  const { circuit, input } = jobInput(ctx, data);
  try {
    checkCircuitInput(circuit, input, `job ${data.jobId} input`);
  } catch (e) {
    return refuse(ctx, circuit, e);
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
  const refusal = await wontProve(ctx, circuit, input, data, log);
  if (refusal) return refuse(ctx, circuit, refusal);
  log.info({ modelId: data.modelId, price: data.price, deadlineIn: data.deadline - now, backlogJobs }, "taking job");
  await advance(ctx, "lock", data);
  return { outcome: "advanced" };
}

/** Skips a job for good, counting why. */
function refuse(ctx: OperatorContext, circuit: CircuitArtifacts, e: unknown): Outcome {
  if (!(e instanceof VerdictError)) throw e;
  ctx.metrics.refused.inc({ model: circuit.name, reason: e.code });
  return { outcome: "skipped", reason: e.message };
}

/**
 * Why the circuit would not deliver this job, found before locking it: the witness generation refuses an input
 * whose values overflow inside the circuit (INPUT_NOT_PROVABLE), and the outputs it yields, exactly those a proof
 * carries, are compared with onnxruntime's (OUTPUT_DISAGREES). A job refused here costs nothing; found after the
 * lock, either would end in a slash. Undefined: the circuit proves it.
 */
async function wontProve(ctx: OperatorContext, circuit: CircuitArtifacts, input: number[], data: JobData, log: Logger): Promise<VerdictError | undefined> {
  let proven: number[];
  try {
    [proven] = (await witnessOutputs(circuit, [input], { bridge: ctx.checker.request, timeoutMs: WITNESS_TIMEOUT_MS })) as [number[]];
  } catch (e) {
    if (e instanceof VerdictError && e.code === "INPUT_NOT_PROVABLE") return e;
    throw e;
  }
  const float = await infer(circuit.onnx, input, ctx.config.operator.executionProvider, (msg) => log.warn(msg));
  const off = quantisationError(proven, float, outputTolerance(ctx, circuit));
  return off === undefined ? undefined : new VerdictError("OUTPUT_DISAGREES", `job ${data.jobId}: the circuit's output ${off}: not taken`);
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
