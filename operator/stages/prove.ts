// prove — consumes: `prove` jobs. Produces: `verify` jobs carrying the proof and its public instances.
// ezkl proves (and natively verifies) the inference; the input instances must equal the job's on-chain input,
// or the market would refuse the fulfilment (InputMismatch) after we paid its gas.
import type { Logger } from "pino";
import { VerdictError } from "../../shared/errors.js";
import { prove } from "../../zk/prover.js";
import { advance, jobInput, type JobData, type OperatorContext } from "../pipeline.js";
import { stillMine } from "../reconcile.js";
import type { Outcome } from "../stage.js";

export class ProofBuilder {
  constructor(private readonly ctx: OperatorContext) {}

  process = async (data: JobData, log: Logger): Promise<Outcome> => {
    const mine = await stillMine(this.ctx, data);
    if (!mine.ok) return { outcome: "skipped", reason: mine.reason };
    const { circuit, input } = jobInput(this.ctx, data);
    const t0 = performance.now();
    const result = await prove(circuit, input);
    const seconds = (performance.now() - t0) / 1000;
    const bound = result.instances.slice(0, circuit.inputs.count).map(String);
    if (bound.join() !== data.input.join()) {
      throw new VerdictError("INPUT_NOT_BOUND", `proof's input instances ${bound.join()} differ from the job input ${data.input.join()}`);
    }
    await this.ctx.catalog.recordProveSeconds(data.modelId, seconds);
    this.ctx.metrics.proveSeconds.observe({ model: circuit.name }, seconds);
    log.info({ seconds: Number(seconds.toFixed(2)), proofBytes: (result.proof.length - 2) / 2, outputs: result.outputs, floatOutputs: data.floatOutputs }, "proved");
    await advance(this.ctx, "verify", { ...data, proof: result.proof, instances: result.instances.map(String), outputs: result.outputs, proveSeconds: seconds });
    return { outcome: "advanced" };
  };
}
