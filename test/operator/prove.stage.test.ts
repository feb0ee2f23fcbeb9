// The prove stage as one job (issue 14): inference, the proof and the quantisation sanity check run together on
// the prove worker, with no infer queue hop before it; a proof whose outputs disagree with onnxruntime's beyond
// the model's tolerance (model.json `tolerance`, in the bundle manifest) is not handed on to be submitted, and
// the refusal is counted. Real Redis queues, a real spike circuit and proof, a fake chain that shows the lock.
import { expect } from "chai";
import { Wallet } from "ethers";
import path from "node:path";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { operatorMetrics, type JobData, type OperatorContext } from "../../operator/pipeline.js";
import { prove, quantisationError } from "../../operator/stages/prove.js";
import { configSchema } from "../../shared/config.js";
import { JobStatus } from "../../shared/enums.js";
import { ensureCircuit, loadModelSpec, readInputRows, type BuiltCircuit } from "../../zk/build/circuit.js";
import type { CircuitArtifacts } from "../../zk/runtime/artifacts.js";
import { WarmBridgePool } from "../../zk/runtime/bridge.js";
import { floatToFelt } from "../../zk/runtime/felt.js";
import { infer } from "../../zk/runtime/inference.js";
import { rejection } from "../fixtures/errors.js";
import { jobRecord, lockedJob, operatorQueues, suiteRedis, type OperatorQueues } from "../fixtures/operatorQueues.js";

const NOW = 1_800_000_000;
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;

describe("prove stage: inference, proof and quantisation check as one job (real Redis, real spike proofs, fake chain)", function () {
  this.timeout(120_000);
  const redis = suiteRedis();
  const address = Wallet.createRandom().address;
  const provers = new WarmBridgePool(1);
  let spike: BuiltCircuit;
  let row: number[];
  let pipeline: OperatorQueues | undefined;

  before(async () => {
    spike = await ensureCircuit(await loadModelSpec("spike"));
    [row] = (await readInputRows(path.join(spike.spec.dir, spike.spec.sample), spike.inputs.count, "sample")) as [number[]];
  });
  after(() => provers.close());
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  /** An operator context whose catalog serves `circuit` as model 1 and whose chain shows job `data` locked by us. */
  function context(circuit: CircuitArtifacts, data: JobData): OperatorContext {
    const queues = operatorQueues(redis().url, address, "prove");
    pipeline = queues;
    return {
      address,
      redis: queues.connection,
      queues: queues.queues,
      config: configSchema.parse({ queuePrefix: queues.prefix }),
      metrics: operatorMetrics(new Registry()),
      provers,
      catalog: { get: () => ({ modelId: 1, circuit }), recordProveSeconds: async () => undefined },
      chain: { chainId: 31337n, provider: { getBlock: async () => ({ timestamp: NOW }) } },
      // No head poller running: chain time, block time and the job are read from the chain.
      snapshot: { head: { fresh: () => undefined, blockSeconds: () => undefined } },
      market: { jobOf: async () => jobRecord(data, JobStatus.Locked, address) },
    } as unknown as OperatorContext;
  }

  /** A job as the lock stage hands it on: no float outputs yet (there is no infer stage before prove). */
  const locked = (jobId: string): JobData => lockedJob(jobId, address, row.map((v) => String(floatToFelt(v, spike.inputs.scale))), NOW);

  it("the model's tolerance comes from model.json through the manifest (0.02 for the demo models)", () => {
    expect(spike.spec.tolerance).to.equal(0.02);
    expect(spike.outputTolerance).to.equal(0.02);
  });

  it("a locked job's prove job runs onnxruntime and the proof, and hands verify the proof with both outputs, in agreement", async () => {
    const data = locked("1");
    const ctx = context(spike, data);
    expect(await prove(ctx, data, silent)).to.deep.equal({ outcome: "advanced" });
    const next = (await ctx.queues.verify.getJob("31337-1"))!.data;
    expect(next.proof).to.match(/^0x[0-9a-f]+$/);
    expect(next.floatOutputs).to.deep.equal(await infer(spike.onnx, row));
    expect(next.outputs).to.have.length(spike.outputs.count);
    expect(quantisationError(next.outputs!, next.floatOutputs!, 0.02)).to.equal(undefined);
  });

  it("a job the lock stage handed on is proven without reading the chain while the head is fresh and before its deadline; one that names no lock holder is read", async () => {
    const data = locked("3");
    const reads: string[] = [];
    const ctx = context(spike, data);
    const withHead = {
      ...ctx,
      snapshot: { head: { fresh: () => ({ number: 1, hash: "0x01", timestamp: NOW }), blockSeconds: () => 12 } },
      market: { jobOf: async (id: string) => (reads.push(id), jobRecord(data, JobStatus.Locked, address)) },
    } as unknown as OperatorContext;
    expect(await prove(withHead, data, silent)).to.deep.equal({ outcome: "advanced" });
    expect(reads).to.deep.equal([]);
    await ctx.queues.verify.obliterate({ force: true });
    expect(await prove(withHead, { ...data, operator: undefined }, silent)).to.deep.equal({ outcome: "advanced" });
    expect(reads).to.deep.equal(["3"]);
  });

  it("a proof whose outputs disagree with onnxruntime beyond the model's tolerance is not handed on: OUTPUT_DISAGREES for good, counted", async () => {
    const strict = { ...spike, outputTolerance: 1e-9 }; // no fixed-point output is that close to the float one
    const data = locked("2");
    const ctx = context(strict, data);
    const e = await rejection(prove(ctx, data, silent));
    expect(e.code).to.equal("OUTPUT_DISAGREES");
    expect(e.retryable).to.equal(false);
    expect(e.message).to.match(/proven output #\d+ = .* is further than 1e-9 \(relative\) from onnxruntime's .*: not submitted/);
    expect(await ctx.queues.verify.getJob("31337-2")).to.equal(undefined);
    const refused = (await ctx.metrics.refused.get()).values;
    expect(refused.map((v) => [v.labels.model, v.labels.reason, v.value])).to.deep.equal([["spike", "OUTPUT_DISAGREES", 1]]);
  });
});
