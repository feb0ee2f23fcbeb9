// The requester SDK end to end, as an integrating protocol uses it: a `hardhat node`, Redis and the deployed
// stack, with the relayer and an operator as real processes. The SDK lists the models (layout, scales, input
// range and input bound from the bundle manifest), refuses an input the circuit cannot take, warns of one outside
// the calibrated range, posts a job of floats, waits for it, decodes the
// verified outputs, re-verifies the proof by eth_call, lists the requester's jobs and reads who served the model;
// the operator's /metrics then shows its RPC use and the locked-job risk gauges.
import { expect } from "chai";
import path from "node:path";
import { DEV_KEYS, withLocalStack } from "../../infra/localStack.js";
import { stackEnv, startRelayerAndOperators } from "../../infra/verdictService.js";
import { VerdictClient, VerdictError } from "../../sdk/index.js";
import { readInputRows } from "../../zk/build/circuit.js";
import { prove } from "../../zk/runtime/prover.js";

// hardhat node account 5: a requester with ETH and no role.
const REQUESTER_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";

describe("SDK e2e: post, wait, decode and verify a job served by real operator and relayer processes", function () {
  this.timeout(600_000);

  it("VerdictClient lists models, encodes and checks inputs, creates a job, waits for its result, verifies it and reports the operator", async () => {
    await withLocalStack("sdk", () => undefined, async (run) => {
      const { chain, stack } = run;
      const { operators } = await startRelayerAndOperators(run, stackEnv(run, "sdk"), [{ key: DEV_KEYS.operators[0]!, name: "operator" }]);

      const verdict = await VerdictClient.connect({ rpcUrl: chain.url, privateKey: REQUESTER_KEY, deploymentsDir: stack.deploymentsDir });
      try {
        const { modelId, circuit } = stack.models["diabetes-regressor"]!;
        const model = (await verdict.models()).find((m) => m.id === modelId)!;
        expect(model).to.deep.include({ status: "Active", inputs: { count: circuit.inputs.count, scale: circuit.inputs.scale }, outputs: { count: circuit.outputs.count, scale: circuit.outputs.scale } });
        expect((await verdict.manifest(modelId)).inputRange).to.deep.equal(circuit.inputRange);

        const [row] = (await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), circuit.inputs.count, "sample")) as [number[]];
        // Beyond the circuit's input range check: refused before posting. Outside the calibrated range only:
        // encoded, with a warning (the circuit proves it).
        const tooBig = [(circuit.inputBound + 1) / 2 ** circuit.inputs.scale, ...row.slice(1)];
        const refused = await verdict.encodeInput(modelId, tooBig).catch((e: unknown) => e);
        expect(refused).to.be.instanceOf(VerdictError).and.to.have.property("code", "INPUT_OUT_OF_RANGE");
        const warnings: string[] = [];
        const wide = [circuit.inputRange[0]![1] + 1, ...row.slice(1)];
        expect(await verdict.encodeInput(modelId, wide, { onWarning: (m) => warnings.push(m) })).to.have.length(circuit.inputs.count);
        expect(warnings).to.have.length(1);
        expect(warnings[0]).to.match(/^input feature 0 = .* is outside the calibrated range/);

        const price = 10n ** 15n;
        const created = await verdict.createJob({ modelId, input: row, price, collateral: 10n ** 18n, lockTimeout: 600, timeout: 1800 });
        const result = await verdict.waitForResult(created.jobId, { timeoutMs: 300_000 });
        // The same input proven here gives the same outputs: the SDK's encoding is the operator's.
        const local = await prove(circuit, row);
        expect(result.outputs).to.deep.equal(local.outputs);
        expect(result.scale).to.equal(circuit.outputs.scale);
        expect(result.raw.map((x) => Number(x) / 2 ** result.scale)).to.deep.equal(result.outputs);

        const verified = await verdict.verify(created.jobId);
        expect(verified.valid).to.equal(true);
        expect(verified.verifier).to.equal(model.verifier);

        const mine = await verdict.jobs({ requester: await verdict.address(), fromBlock: 0 });
        expect(mine.map((j) => [j.jobId, j.status])).to.deep.equal([[created.jobId, "Fulfilled"]]);
        const served = await verdict.operators({ modelId, fromBlock: 0, step: 7 }); // small windows: the scan is bounded
        const operator = (await verdict.job(created.jobId)).operator;
        expect(served).to.have.length(1);
        expect(served[0]).to.deep.include({ operator, modelId, locked: 1, fulfilled: 1, slashed: 0, pending: 0, successRate: 1 });
        expect(served[0]!.medianPrice).to.deep.equal({ "0x0000000000000000000000000000000000000000": price });
        expect(served[0]!.medianLatencySeconds).to.be.a("number").and.be.greaterThan(0);

        // The operator's metrics include its RPC use and the locked-job risk gauges.
        const metrics = await (await fetch(`${operators[0]!.url}/metrics`)).text();
        expect(metrics).to.match(/verdict_rpc_requests_total\{method="eth_getLogs",service="operator"\} [1-9]/);
        expect(metrics).to.match(/verdict_operator_locked_jobs_at_risk\{service="operator"\} 0/);
        expect(metrics).to.include("verdict_operator_slashed_total");
      } finally {
        verdict.close();
      }
    });
  });
});
