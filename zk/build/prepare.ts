// Builds (or finds cached) ezkl artifacts for every model in models/*/model.json and places each generated
// Solidity verifier under contracts/generated/ as `<Name>Verifier`, so `hardhat build` compiles it with the
// project's pinned solc. Run by `make test`, `make build` and `make demo` before Hardhat.
import { existsSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { REPO_ROOT } from "../../shared/paths.js";
import { ensureBatchCircuit, ensureCircuit, loadModelSpec } from "./circuit.js";
import { GENERATED_DIR, placeVerifier } from "./verifier.js";

const models = (await readdir(path.join(REPO_ROOT, "models"), { withFileTypes: true }))
  .filter((d) => d.isDirectory() && existsSync(path.join(REPO_ROOT, "models", d.name, "model.json")))
  .map((d) => d.name);
const placed = new Set<string>();
for (const name of models) {
  const t0 = performance.now();
  const spec = await loadModelSpec(name);
  const circuit = await ensureCircuit(spec, { progress: (line) => console.error(`[zk] ${line}`) });
  const contract = await placeVerifier(circuit);
  placed.add(`${contract}.sol`);
  // ezkl's shared reusable verifier is identical for every circuit: always compiled, so any model can use it.
  placed.add(`${await placeVerifier({ ...circuit, verifier: "reusable" })}.sol`);
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.error(`[zk] ${name}: logrows ${circuit.logrows}, artifacts ${path.relative(REPO_ROOT, circuit.dir)} (${secs}s) -> ${contract}`);
  // Batch circuits (model.json `batch`): one proof for N jobs, each with its own single-model verifier.
  for (const n of spec.batch ?? []) {
    const b0 = performance.now();
    const batch = await ensureBatchCircuit(spec, n, { progress: (line) => console.error(`[zk] ${line}`) });
    const batchContract = await placeVerifier({ ...batch, verifier: "single" });
    placed.add(`${batchContract}.sol`);
    console.error(`[zk] ${batch.name}: logrows ${batch.logrows} (${((performance.now() - b0) / 1000).toFixed(1)}s) -> ${batchContract}`);
  }
}
// Verifiers of models that are gone would otherwise still be compiled (and deployable by mistake).
for (const file of existsSync(GENERATED_DIR) ? await readdir(GENERATED_DIR) : []) {
  if (!placed.has(file)) await rm(path.join(GENERATED_DIR, file));
}
