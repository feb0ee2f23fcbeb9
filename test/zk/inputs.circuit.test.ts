// Inputs judged by what the circuit can prove (issue 13). A model onboarded from 16 calibration rows refused most
// new rows of the same distribution under the old rule (the per-feature min/max of the calibration rows), although
// its circuit proves them. Now the SDK/CLI rule (the circuit's input range check, in TypeScript) and the
// operator's (a witness generation on a warm ezkl process) accept every row the circuit proves and refuse, with
// the reason, what it cannot take; the operator refuses before it locks, so a refusal costs it nothing.
import { expect } from "chai";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { z } from "zod";
import { operatorMetrics, type JobData, type OperatorContext } from "../../operator/pipeline.js";
import { evaluate } from "../../operator/stages/evaluate.js";
import { quantisationError } from "../../operator/stages/prove.js";
import { configSchema } from "../../shared/config.js";
import { VerdictError } from "../../shared/errors.js";
import { ensureCircuit, loadModelSpec, readInputRows, type BuiltCircuit } from "../../zk/build/circuit.js";
import { calibrationGap, checkCircuitInput } from "../../zk/runtime/artifacts.js";
import { WarmBridge } from "../../zk/runtime/bridge.js";
import { WitnessChecker } from "../../zk/runtime/checker.js";
import { floatToFelt } from "../../zk/runtime/felt.js";
import { infer } from "../../zk/runtime/inference.js";
import { prove, witnessOutputs } from "../../zk/runtime/prover.js";
import { operatorQueues, suiteRedis, type OperatorQueues } from "../fixtures/operatorQueues.js";
import { rejection } from "../fixtures/errors.js";
import type { Snapshot } from "../../operator/snapshot.js";

const ROWS = 16;
const silent = { info: () => undefined, warn: () => undefined, debug: () => undefined, error: () => undefined } as unknown as Logger;

describe("inputs judged by the circuit: wine-classifier onboarded from 16 calibration rows", function () {
  this.timeout(300_000);
  const redis = suiteRedis();
  let work: string;
  let circuit: BuiltCircuit;
  /** 16 held-out rows: the same distribution as the calibration rows, never seen by the build. */
  let fresh: number[][];
  const bridge = new WarmBridge();

  before(async () => {
    const wine = await loadModelSpec("wine-classifier");
    const calibration = await readInputRows(path.join(wine.dir, wine.calibration!), 13, "calibration");
    const held = z.object({ inputs: z.array(z.array(z.number())) }).parse(JSON.parse(await readFile(path.join(wine.dir, wine.heldout!), "utf8")));
    fresh = held.inputs.slice(0, ROWS);
    // The small model's own folder: the demo ONNX and run arguments, 16 calibration rows, the first as its sample.
    // Content-addressed, so the build (keys included) is made once and cached like any other.
    work = await mkdtemp(path.join(tmpdir(), "verdict-inputs-"));
    await copyFile(path.join(wine.dir, wine.onnx), path.join(work, "network.onnx"));
    await writeFile(path.join(work, "calibration.json"), JSON.stringify({ input_data: [calibration.slice(0, ROWS).flat()] }));
    await writeFile(path.join(work, "sample.json"), JSON.stringify({ input_data: [calibration[0]] }));
    const spec = { ...wine, name: "wine-16rows", onnx: "network.onnx", sample: "sample.json", calibration: "calibration.json", heldout: undefined, dir: work };
    circuit = await ensureCircuit(spec);
  });
  after(async () => {
    await bridge.close();
    await rm(work, { recursive: true, force: true });
  });

  it("the old rule (calibrated range) refused 12 of 16 new rows; the circuit's bound and its witness accept all 16, within tolerance of onnxruntime", async () => {
    expect(fresh.filter((row) => calibrationGap(circuit, row) !== undefined)).to.have.length(12);
    for (const row of fresh) expect(() => checkCircuitInput(circuit, row, "row")).to.not.throw();
    const proven = await witnessOutputs(circuit, fresh, { bridge: bridge.request });
    expect(proven).to.have.length(ROWS);
    for (const [i, row] of fresh.entries()) expect(quantisationError(proven[i]!, await infer(circuit.onnx, row), 0.05), `row ${i}`).to.equal(undefined);
  });

  it("two of those rows, outside the calibrated range, are proven for real: ezkl verifies them and they carry the witness's outputs", async () => {
    const outside = fresh.filter((row) => calibrationGap(circuit, row) !== undefined).slice(0, 2);
    const witnessed = await witnessOutputs(circuit, outside, { bridge: bridge.request });
    for (const [i, row] of outside.entries()) {
      const p = await prove(circuit, row, { bridge: bridge.request }); // throws unless ezkl verifies the proof natively
      expect(p.outputs).to.deep.equal(witnessed[i]);
      expect(p.instances.slice(0, 13)).to.deep.equal(row.map((v) => floatToFelt(v, circuit.inputs.scale)));
    }
  });

  it("the input bound comes from the circuit's settings (decomp_base^decomp_legs - 1) and holds exactly at its edge", async () => {
    const settings = z.object({ run_args: z.object({ decomp_base: z.number(), decomp_legs: z.number() }) }).parse(JSON.parse(await readFile(circuit.file("settings.json"), "utf8")));
    expect(circuit.inputBound).to.equal(settings.run_args.decomp_base ** settings.run_args.decomp_legs - 1);
    const edge = (q: number) => [q / 2 ** circuit.inputs.scale, ...Array<number>(12).fill(0)];
    expect(() => checkCircuitInput(circuit, edge(circuit.inputBound), "edge")).to.not.throw();
    expect(await witnessOutputs(circuit, [edge(circuit.inputBound)], { bridge: bridge.request })).to.have.length(1);
    const beyond = await rejection(Promise.resolve().then(() => checkCircuitInput(circuit, edge(circuit.inputBound + 1), "input")));
    expect(beyond.code).to.equal("INPUT_OUT_OF_RANGE");
    expect(beyond.message).to.match(/input feature 0 = 256 is beyond what the circuit can take: \|x\| \* 2\^10 must round to at most 262143/);
  });

  it("refuses what the circuit cannot take, with the reason: a value overflowing inside the model (witness), NaN, the wrong width", async () => {
    const inside = Array<number>(13).fill(100); // each input within the bound; the hidden layer overflows
    expect(() => checkCircuitInput(circuit, inside, "input")).to.not.throw();
    // Started one at a time: a second started at once could reject while the first is awaited, unhandled.
    for (const attempt of [() => witnessOutputs(circuit, [inside], { bridge: bridge.request }), () => prove(circuit, inside, { bridge: bridge.request })]) {
      const e = await rejection(attempt());
      expect(e).to.be.instanceOf(VerdictError);
      expect(e.code).to.equal("INPUT_NOT_PROVABLE");
      expect(e.message).to.match(/the circuit of wine-16rows cannot take it/);
    }
    expect((await rejection(witnessOutputs(circuit, [[...fresh[0]!.slice(1), Number.NaN]]))).code).to.equal("BAD_INPUT");
    expect((await rejection(witnessOutputs(circuit, [fresh[0]!.slice(1)]))).message).to.match(/12 values, the model takes 13/);
  });

  it("rows asked for together are checked in one request through a batch-shaped network: each gets the circuit's own outputs, and only an overflowing row is refused", async () => {
    const checker = new WitnessChecker();
    try {
      const own = await witnessOutputs(circuit, fresh, { bridge: bridge.request }); // the circuit itself, row by row
      const overflow = Array<number>(13).fill(100);
      const asked = [...fresh.slice(0, 8), overflow, ...fresh.slice(8)].map((row, i) => checker.outputs(circuit, row, `job ${i} input`).catch((e: unknown) => e));
      const answers = await Promise.all(asked);
      expect(checker.stats).to.deep.include({ requests: 1, rows: 17 });
      const refused = answers[8] as VerdictError;
      expect(refused).to.be.instanceOf(VerdictError);
      expect(refused.code).to.equal("INPUT_NOT_PROVABLE");
      expect(refused.message).to.match(/^job 8 input: the circuit of wine-16rows cannot take it/);
      expect([...answers.slice(0, 8), ...answers.slice(9)]).to.deep.equal(own);
      // Without the overflowing row the group is answered by the batch network alone, with the same outputs.
      const again = await Promise.all(fresh.map((row, i) => checker.outputs(circuit, row, `job ${i} input`)));
      expect(again).to.deep.equal(own);
      expect(checker.stats).to.deep.include({ requests: 2, rows: 33, batchedRows: 16 });
    } finally {
      await checker.close();
    }
  });

  describe("the operator's evaluate stage (real Redis queues, a fixed chain snapshot)", () => {
    let pipeline: OperatorQueues;
    let ctx: OperatorContext;
    const address = Wallet.createRandom().address;
    const job = (jobId: string, row: number[]): JobData => ({
      chainId: "31337",
      jobId,
      modelId: 1,
      input: row.map((v) => String(floatToFelt(v, circuit.inputs.scale))),
      token: "0x0000000000000000000000000000000000000000",
      price: "1000000000000000",
      collateral: "1",
      lockDeadline: 1_000_600,
      deadline: 1_002_000,
    });

    beforeEach(() => {
      pipeline = operatorQueues(redis().url, address, "inputs");
      const snapshot: Snapshot = {
        block: 1,
        timestamp: 1_000_000,
        gasPrice: 1n,
        freeStake: 10n ** 18n,
        activeModels: new Set([1]),
        blockSeconds: 1,
        models: new Map([[1, { proveSeconds: 2, gas: 900_000 }]]),
        committedJobs: 0,
        committedCollateral: 0n,
      };
      ctx = {
        address,
        redis: pipeline.connection,
        queues: pipeline.queues,
        config: configSchema.parse({ queuePrefix: pipeline.prefix }),
        metrics: operatorMetrics(new Registry()),
        catalog: { get: () => ({ modelId: 1, circuit }), proveBound: async () => 2, expectedGas: async () => 900_000 },
        snapshot: { get: async () => snapshot },
        chain: { chainId: 31337n },
        checker,
      } as unknown as OperatorContext;
    });
    afterEach(() => pipeline.close());
    const checker = new WitnessChecker();
    after(() => checker.close());

    it("takes a job whose input lies outside the calibrated range, and skips (before any lock) one the circuit cannot prove, counting why", async () => {
      const outside = fresh.find((row) => calibrationGap(circuit, row) !== undefined)!;
      expect(await evaluate(ctx, job("1", outside), silent)).to.deep.equal({ outcome: "advanced" });
      expect(await pipeline.queues.lock.getJob("31337-1")).to.not.equal(undefined);

      const overflow = await evaluate(ctx, job("2", Array<number>(13).fill(100)), silent);
      expect(overflow).to.deep.include({ outcome: "skipped" });
      expect((overflow as { reason: string }).reason).to.match(/cannot take it/);
      const beyond = await evaluate(ctx, job("3", [300, ...outside.slice(1)]), silent);
      expect((beyond as { reason: string }).reason).to.match(/feature 0 = 300 is beyond what the circuit can take/);
      expect(await pipeline.queues.lock.getJob("31337-2")).to.equal(undefined);
      expect(await pipeline.queues.lock.getJob("31337-3")).to.equal(undefined);
      const refused = (await ctx.metrics.refused.get()).values.map((v) => [v.labels.reason, v.value]);
      expect(refused).to.have.deep.members([
        ["INPUT_NOT_PROVABLE", 1],
        ["INPUT_OUT_OF_RANGE", 1],
      ]);
    });

    it("skips a job whose proven output would disagree with onnxruntime beyond the model's tolerance", async () => {
      const strict = { ...circuit, outputTolerance: 1e-9 }; // no fixed-point output is that close
      ctx.catalog = { ...ctx.catalog, get: () => ({ modelId: 1, circuit: strict }) } as unknown as OperatorContext["catalog"];
      const outcome = await evaluate(ctx, job("4", fresh[0]!), silent);
      expect(outcome).to.deep.include({ outcome: "skipped" });
      expect((outcome as { reason: string }).reason).to.match(/the circuit's output #\d+ = .* is further than 1e-9 \(relative\) from onnxruntime's/);
      expect(await pipeline.queues.lock.getJob("31337-4")).to.equal(undefined);
    });
  });
});
