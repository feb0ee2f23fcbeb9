// One-shot GPU check for a machine with an NVIDIA GPU: what the GPU is, whether onnxruntime's CUDA execution
// provider loads (the operator falls back to CPU, logged, when it does not), and inference and proving times of
// the demo models on each path. Prints a table and writes bench/results/gpu-check.json.
//   tsx tools/gpu-check.ts        (after `make build`; needs no chain, Redis or network)
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { REPO_ROOT } from "../shared/paths.js";
import { WarmBridge } from "../zk/runtime/bridge.js";
import { DEMO_MODELS } from "../infra/localStack.js";
import { ensureCircuit, loadModelSpec, readInputRows } from "../zk/build/circuit.js";
import { infer, session, type ExecutionProvider } from "../zk/runtime/inference.js";
import { prove } from "../zk/runtime/prover.js";

const RUNS = 200;

function gpu(): string {
  try {
    return execFileSync("nvidia-smi", ["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"], { encoding: "utf8" }).trim();
  } catch {
    return "none (nvidia-smi not found or failed)";
  }
}

async function seconds(fn: () => Promise<unknown>, runs: number): Promise<number> {
  await fn(); // warm-up: session creation, first-call allocations
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await fn();
  return (performance.now() - t0) / 1000 / runs;
}

const report: Record<string, unknown> = { gpu: gpu(), at: new Date().toISOString(), models: {} };
const bridge = new WarmBridge();
try {
  for (const name of DEMO_MODELS) {
    const circuit = await ensureCircuit(await loadModelSpec(name));
    const [row] = await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), circuit.inputs.count, "sample");
    const byProvider: Record<string, unknown> = {};
    for (const wanted of ["cpu", "cuda"] as ExecutionProvider[]) {
      const notes: string[] = [];
      const { provider } = await session(circuit.onnx, wanted, (m) => notes.push(m));
      byProvider[wanted] = { ran_on: provider, infer_s: await seconds(() => infer(circuit.onnx, row!, wanted), RUNS), notes };
    }
    const prove_s = await seconds(() => prove(circuit, row!, { bridge: bridge.request }), 5);
    (report.models as Record<string, unknown>)[name] = { ...byProvider, prove_s_warm_cpu: prove_s };
  }
} finally {
  await bridge.close();
}
console.log(JSON.stringify(report, null, 2));
const out = path.join(REPO_ROOT, "bench", "results", "gpu-check.json");
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
console.error(`wrote ${path.relative(REPO_ROOT, out)}`);
