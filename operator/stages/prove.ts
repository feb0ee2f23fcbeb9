// prove — consumes: `prove` jobs (locked by this operator, or with the lock on its way). Produces: `verify` jobs carrying the proof, its public
// instances and the float outputs. One job on a prove worker runs the proof (ezkl, which also verifies it
// natively), inference (onnxruntime-node on the configured execution provider; CUDA falls back to CPU, logged)
// and the checks before anything is submitted: the input instances must equal the job's on-chain input (else the
// market refuses the fulfilment, InputMismatch, after we paid its gas), and the proven outputs must agree with
// onnxruntime's within the model's tolerance (a quantisation sanity check). A job of a model with batch circuits
// may first wait for others of its model and be proven with them in one proof (./batch.ts), checked the same way.
import type { Logger } from "pino";
import { VerdictError } from "../../shared/errors.js";
import type { CircuitArtifacts } from "../../zk/runtime/artifacts.js";
import { infer } from "../../zk/runtime/inference.js";
import { prove as proveInference } from "../../zk/runtime/prover.js";
import { advance, jobInput, lockOnItsWay, recheckAt, type JobData, type OperatorContext } from "../pipeline.js";
import { chainTime, freshTimeBefore, lockStillToCome, mineVerdict, readJob, type Verdict } from "../reconcile.js";
import type { Outcome } from "../stage.js";
import { batchStep, leaveBatch } from "./batch.js";

export async function prove(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const mine = await lockStillOurs(ctx, data);
  if (mine === "to come") return { outcome: "deferred", reason: "lock not yet on-chain", retryAt: await recheckAt(ctx), quiet: true };
  const batches = ctx.catalog.get(data.modelId)?.batches ?? [];
  if (!mine.ok) {
    if (batches.length) await leaveBatch(ctx, data);
    return { outcome: "skipped", reason: mine.reason };
  }
  if (batches.length && ctx.config.operator.batchWindowMs > 0) {
    const step = await batchStep(ctx, data, batches, log);
    if (step !== "alone") return step;
  }
  const { circuit, input } = jobInput(ctx, data);
  // A proof still running at the deadline is worthless: the prover is stopped then (and the attempt retried
  // while time is left), rather than holding the machine while the job is slashed (review S1-7).
  const timeoutMs = Math.max(1000, (data.deadline - (await chainTime(ctx))) * 1000);
  log.info({ timeoutMs }, "proving");
  const t0 = performance.now();
  const result = await ctx.provers.use((bridge) => proveInference(circuit, input, { timeoutMs, bridge }));
  const seconds = (performance.now() - t0) / 1000;
  const floatOutputs = await checkProven(ctx, data, result.instances.slice(0, circuit.inputs.count), result.outputs, log);
  await ctx.catalog.recordProveSeconds(data.modelId, seconds);
  ctx.metrics.proveSeconds.observe({ model: circuit.name }, seconds);
  log.info({ seconds: Number(seconds.toFixed(2)), proofBytes: (result.proof.length - 2) / 2, outputs: result.outputs, floatOutputs }, "proved");
  await advance(ctx, "verify", { ...data, floatOutputs, proof: result.proof, instances: result.instances.map(String), outputs: result.outputs, proveSeconds: seconds });
  return { outcome: "advanced" };
}

/**
 * The job is still locked by this operator, or its lock is on its way. One handed on by the lock stage (or resumed
 * by recovery) was read locked by us, and before its deadline only its own fulfilment or the closing of a revoked
 * model's job can end that: with a fresh head before the deadline it is not read again (the relayer simulates the
 * fulfilment, and the submit stage reconciles one that fails); nor is one whose lock the relayer has pending or
 * mined. "to come": proven while locking, the lock failed and the job is still open (the lock stage may land it).
 */
async function lockStillOurs(ctx: OperatorContext, data: JobData): Promise<Verdict | "to come"> {
  if (freshTimeBefore(ctx, data.deadline) !== undefined && (await lockOnItsWay(ctx, data))) return { ok: true };
  const view = await readJob(ctx, data);
  const mine = mineVerdict(ctx, data, view);
  return !mine.ok && lockStillToCome(data, view) ? "to come" : mine;
}

/** The model's stated tolerance (bundle manifest, from model.json), else this operator's `outputTolerance`. */
export function outputTolerance(ctx: OperatorContext, circuit: CircuitArtifacts): number {
  return circuit.outputTolerance ?? ctx.config.operator.outputTolerance;
}

/**
 * Refuses a proof (or a batch proof's slot) not bound to the job's on-chain input, or whose outputs disagree with
 * onnxruntime's (run here, on the job's own model) beyond the model's tolerance; returns onnxruntime's outputs.
 */
export async function checkProven(ctx: OperatorContext, data: JobData, inputs: readonly bigint[], outputs: readonly number[], log: Logger): Promise<number[]> {
  const bound = inputs.map(String);
  if (bound.join() !== data.input.join()) {
    throw new VerdictError("INPUT_NOT_BOUND", `proof's input instances ${bound.join()} differ from the job input ${data.input.join()}`);
  }
  const { circuit, input } = jobInput(ctx, data);
  const floatOutputs = await infer(circuit.onnx, input, ctx.config.operator.executionProvider, (msg) => log.warn(msg));
  const tolerance = outputTolerance(ctx, circuit);
  const off = quantisationError(outputs, floatOutputs, tolerance);
  if (off) {
    // Not submitted, and never retried (the proof is deterministic). The lock stays ours until the deadline,
    // when anyone may slash it: the part of the collateral at stake is the price of not delivering a wrong
    // answer as verified. Evaluate compared the witness's outputs before locking, so only a difference
    // between that check and this run (e.g. onnxruntime on another execution provider) ends here.
    ctx.metrics.refused.inc({ model: circuit.name, reason: "OUTPUT_DISAGREES" });
    log.error({ jobId: data.jobId, outputs, floatOutputs, tolerance }, "proven output disagrees with onnxruntime: not submitted");
    throw new VerdictError("OUTPUT_DISAGREES", `proven output ${off} of model ${data.modelId}: not submitted`);
  }
  return floatOutputs;
}

/**
 * The first proven output further from onnxruntime's float output than `tolerance` (relative to max(1, |float|)),
 * described; undefined when all agree.
 */
export function quantisationError(proven: readonly number[], float: readonly number[], tolerance: number): string | undefined {
  if (proven.length !== float.length) return `count ${proven.length} differs from onnxruntime's ${float.length}`;
  const i = proven.findIndex((q, k) => Math.abs(q - float[k]!) > tolerance * Math.max(1, Math.abs(float[k]!)));
  return i < 0 ? undefined : `#${i} = ${proven[i]} is further than ${tolerance} (relative) from onnxruntime's ${float[i]}`;
}
