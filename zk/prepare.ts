// Builds (or finds cached) ezkl artifacts for every model in models/*/model.json and places each generated
// Solidity verifier under contracts/generated/ as `<Name>Verifier`, so `hardhat build` compiles it with the
// project's pinned solc. Run by `make test`, `make build` and `make demo` before Hardhat.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { REPO_ROOT } from "../shared/paths.js";
import { ensureCircuit, loadModelSpec } from "./circuit.js";

const GENERATED = path.join(REPO_ROOT, "contracts", "generated");

export function verifierContractName(model: string): string {
  return `${model.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase())}Verifier`;
}

async function main(): Promise<void> {
  const models = (await readdir(path.join(REPO_ROOT, "models"), { withFileTypes: true }))
    .filter((d) => d.isDirectory() && existsSync(path.join(REPO_ROOT, "models", d.name, "model.json")))
    .map((d) => d.name);
  await mkdir(GENERATED, { recursive: true });
  for (const name of models) {
    const t0 = performance.now();
    const circuit = await ensureCircuit(await loadModelSpec(name));
    const contract = verifierContractName(name);
    const source = (await readFile(circuit.file("Verifier.sol"), "utf8")).replace(
      /\bcontract Halo2Verifier\b/,
      `contract ${contract}`,
    );
    const target = path.join(GENERATED, `${contract}.sol`);
    // Rewrite only on change so Hardhat's compile cache stays warm.
    if (!existsSync(target) || (await readFile(target, "utf8")) !== source) await writeFile(target, source);
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    console.error(`[zk] ${name}: logrows ${circuit.logrows}, artifacts ${path.relative(REPO_ROOT, circuit.dir)} (${secs}s) -> ${contract}`);
  }
}

await main();
