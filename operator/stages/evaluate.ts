// evaluate — consumes: `evaluate` jobs (a job seen on-chain). Produces: `lock` jobs for the ones worth taking.
// Decides on the JobCreated event and the per-block chain snapshot (operator/snapshot.ts), with no RPC per job:
// model served and active, input one the circuit can take (its input range check, in TypeScript), then admission
// (operator/admission.ts): capacity against the deadline, price against the expected gas cost, collateral against
// free stake. A job it would take is then tried on the circuit itself (a witness generation, milliseconds; jobs
// evaluated together are checked together: zk/runtime/checker.ts) before the lock puts collateral at stake.
// Reasons that can pass defer the job to another look instead of dropping it; the lock stage checks the job is
// still open before signing.
import { ZeroAddress } from "ethers";
import type { Logger } from "pino";
import { VerdictError } from "../../shared/errors.js";
import { checkCircuitInput, type CircuitArtifacts } from "../../zk/runtime/artifacts.js";
import { infer, session } from "../../zk/runtime/inference.js";
import { admit } from "../admission.js";
import { confirmationsFor } from "../reconcile.js";
import { advance, jobInput, type JobData, type OperatorContext } from "../pipeline.js";
import type { Outcome } from "../stage.js";
import { outputTolerance, quantisationError } from "./prove.js";

/** Evaluate jobs a process runs at once. Evaluation waits only on Redis and the witness check, and the jobs of a
 * burst that wait together are checked together, so many slots make a burst cheaper per job. */
export const EVALUATE_CONCURRENCY = 256;

export async function evaluate(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const cfg = ctx.config.operator;
  if (!ctx.catalog.get(data.modelId)) return { outcome: "skipped", reason: `model ${data.modelId} is not one this operator proves` };
  const { circuit, input } = jobInput(ctx, data);
  try {
    checkCircuitInput(circuit, input, `job ${data.jobId} input`);
  } catch (e) {
    return refuse(ctx, circuit, e);
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
  // Counted before the witness check and the hand-over, so a job of this block evaluated meanwhile sees the work
  // committed; given back if the circuit refuses the job.
  snap.committedJobs++;
  snap.committedCollateral += BigInt(data.collateral);
  const refusal = await wontProve(ctx, circuit, input, data, log);
  if (refusal) {
    snap.committedJobs--;
    snap.committedCollateral -= BigInt(data.collateral);
    return refuse(ctx, circuit, refusal);
  }
  log.info({ modelId: data.modelId, price: data.price, deadlineIn: data.deadline - now, committedJobs: snap.committedJobs }, "taking job");
  await advance(ctx, "lock", data);
  return { outcome: "advanced" };
}

/** Readies what evaluation runs per job at start-up (the witness checker's ezkl process and each served model's
 * check networks and onnxruntime session), so that the first jobs, often a burst, do not wait for it. */
export async function warmEvaluation(ctx: OperatorContext): Promise<void> {
  const provider = ctx.config.operator.executionProvider;
  const circuits = ctx.catalog.ids().map((id) => ctx.catalog.get(id)!.circuit);
  await Promise.all([ctx.checker.start(circuits), ...circuits.map((c) => session(c.onnx, provider, (msg) => ctx.log.warn(msg)))]);
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
    proven = await ctx.checker.outputs(circuit, input, `job ${data.jobId} input`);
  } catch (e) {
    if (e instanceof VerdictError && e.code === "INPUT_NOT_PROVABLE") return e;
    throw e;
  }
  const float = await infer(circuit.onnx, input, ctx.config.operator.executionProvider, (msg) => log.warn(msg));
  const off = quantisationError(proven, float, outputTolerance(ctx, circuit));
  return off === undefined ? undefined : new VerdictError("OUTPUT_DISAGREES", `job ${data.jobId}: the circuit's output ${off}: not taken`);
}
