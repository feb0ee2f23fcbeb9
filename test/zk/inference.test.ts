// onnxruntime inference on the configured execution provider: CUDA when it loads, else a logged fall-back to CPU
// with the same outputs (a machine without a GPU, as CI, must never fail for lack of one).
import { expect } from "chai";
import path from "node:path";
import { infer, session } from "../../zk/runtime/inference.js";
import { ensureCircuit, loadModelSpec, readInputRows } from "../../zk/build/circuit.js";

describe("inference execution providers", () => {
  it("cuda falls back to CPU with a log line naming CUDA when it cannot load, and answers as CPU does", async () => {
    const circuit = await ensureCircuit(await loadModelSpec("wine-classifier"));
    const [row] = await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), circuit.inputs.count, "sample");
    const logs: string[] = [];
    const { provider } = await session(circuit.onnx, "cuda", (m) => logs.push(m));
    if (provider === "cpu") expect(logs.join("\n")).to.match(/CUDA execution provider unavailable .*using CPU/);
    else expect(logs, "CUDA loaded: nothing to report").to.deep.equal([]);
    const onCuda = await infer(circuit.onnx, row!, "cuda", (m) => logs.push(m));
    const onCpu = await infer(circuit.onnx, row!, "cpu");
    expect(onCuda).to.have.length(circuit.outputs.count);
    onCuda.forEach((v, i) => expect(Math.abs(v - onCpu[i]!), `output ${i}`).to.be.below(1e-4));
  });
});
