// infer — consumes: `infer` jobs (locked by this operator). Produces: `prove` jobs with the float outputs.
// Runs the model with onnxruntime-node on the configured execution provider (CUDA falls back to CPU, logged).
import type { Logger } from "pino";
import { infer } from "../../zk/inference.js";
import { advance, jobInput, type JobData, type OperatorContext } from "../pipeline.js";
import { stillMine } from "../reconcile.js";
import type { Outcome } from "../stage.js";

export class InferenceRunner {
  constructor(private readonly ctx: OperatorContext) {}

  process = async (data: JobData, log: Logger): Promise<Outcome> => {
    const mine = await stillMine(this.ctx, data);
    if (!mine.ok) return { outcome: "skipped", reason: mine.reason };
    const { circuit, input } = jobInput(this.ctx, data);
    const floatOutputs = await infer(circuit.onnx, input, this.ctx.config.operator.executionProvider, (msg) => log.warn(msg));
    log.info({ floatOutputs }, "inferred");
    await advance(this.ctx, "prove", { ...data, floatOutputs });
    return { outcome: "advanced" };
  };
}
