// infer — consumes: `infer` jobs (locked by this operator). Produces: `prove` jobs with the float outputs.
// Runs the model with onnxruntime-node on the configured execution provider (CUDA falls back to CPU, logged).
import type { Logger } from "pino";
import { infer as runModel } from "../../zk/runtime/inference.js";
import { advance, jobInput, type JobData, type OperatorContext } from "../pipeline.js";
import { stillMine } from "../reconcile.js";
import type { Outcome } from "../stage.js";

export async function infer(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const mine = await stillMine(ctx, data);
  if (!mine.ok) return { outcome: "skipped", reason: mine.reason };
  const { circuit, input } = jobInput(ctx, data);
  const floatOutputs = await runModel(circuit.onnx, input, ctx.config.operator.executionProvider, (msg) => log.warn(msg));
  log.info({ floatOutputs }, "inferred");
  await advance(ctx, "prove", { ...data, floatOutputs });
  return { outcome: "advanced" };
}
