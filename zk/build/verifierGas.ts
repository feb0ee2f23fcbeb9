// A circuit's generated ezkl verifier outside the Hardhat build: compiled with the project's pinned solc-js, deployed
// as raw bytecode and called once, for the gas it costs. Used by the settings search (before/after), the scaling
// curves and the batch bench, whose circuits are not placed in contracts/generated (prepare.ts owns that folder).
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { ContractFactory, type Signer } from "ethers";
import { z } from "zod";
import { REPO_ROOT } from "../../shared/paths.js";
import { IHalo2Verifier__factory } from "../../types/ethers-contracts/index.js";
import type { CircuitArtifacts } from "../runtime/artifacts.js";
import type { ProofResult } from "../runtime/prover.js";

const SOLC_CACHE = path.join(REPO_ROOT, ".cache", "solc");

const solcOutputSchema = z.object({
  errors: z.array(z.object({ severity: z.string(), formattedMessage: z.string() })).optional(),
  contracts: z.record(z.string(), z.record(z.string(), z.object({ abi: z.array(z.unknown()), evm: z.object({ bytecode: z.object({ object: z.string() }), deployedBytecode: z.object({ object: z.string() }) }) }))).optional(),
});
export type Compiled = { abi: unknown[]; bytecode: string; runtimeBytes: number };

/**
 * The verifier compiled with the project's pinned solc-js and Hardhat's settings (optimizer 200 runs, no viaIR),
 * cached by source hash under .cache/solc. Hardhat's own build would need the file in contracts/generated,
 * which zk/build/prepare.ts prunes and other work compiles.
 */
export async function compileVerifier(source: string): Promise<Compiled> {
  const cache = path.join(SOLC_CACHE, `${createHash("sha256").update(source).digest("hex").slice(0, 16)}.json`);
  if (existsSync(cache)) return JSON.parse(await readFile(cache, "utf8")) as Compiled;
  const solc = createRequire(import.meta.url)("solc") as { compile(input: string): string };
  const input = {
    language: "Solidity",
    sources: { "Verifier.sol": { content: source } },
    settings: { optimizer: { enabled: true, runs: 200 }, viaIR: false, outputSelection: { "*": { Halo2Verifier: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } } },
  };
  const out = solcOutputSchema.parse(JSON.parse(solc.compile(JSON.stringify(input))));
  const errors = (out.errors ?? []).filter((e) => e.severity === "error");
  const c = out.contracts?.["Verifier.sol"]?.Halo2Verifier;
  if (errors.length || !c) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join("\n") || "no Halo2Verifier in output"}`);
  const compiled: Compiled = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}`, runtimeBytes: c.evm.deployedBytecode.object.length / 2 };
  await mkdir(path.dirname(cache), { recursive: true });
  await writeFile(cache, JSON.stringify(compiled));
  return compiled;
}

export interface VerifierGas {
  verifier_runtime_bytes: number;
  calldata_bytes: number;
  /** eth_estimateGas of verifyProof: includes the 21,000 base cost and calldata. */
  estimate_gas: number;
  /** gasUsed of the same call sent as a transaction. */
  gas_used: number;
}

/** The circuit's ezkl verifier compiled here, deployed by `signer`, and one verifyProof of `p` sent as a transaction. */
export async function deployedVerifierGas(signer: Signer, circuit: CircuitArtifacts, p: Pick<ProofResult, "proof" | "instances">): Promise<VerifierGas> {
  const compiled = await compileVerifier(await readFile(circuit.file("Verifier.sol"), "utf8"));
  const deployed = await new ContractFactory(compiled.abi as never[], compiled.bytecode, signer).deploy();
  await deployed.waitForDeployment();
  const verifier = IHalo2Verifier__factory.connect(await deployed.getAddress(), signer);
  if (!(await verifier.verifyProof.staticCall(p.proof, p.instances))) throw new Error(`${circuit.name}: the deployed verifier rejects a valid proof`);
  const estimate = await verifier.verifyProof.estimateGas(p.proof, p.instances);
  const receipt = await (await verifier.verifyProof(p.proof, p.instances)).wait();
  const calldata = verifier.interface.encodeFunctionData("verifyProof", [p.proof, p.instances]);
  return { verifier_runtime_bytes: compiled.runtimeBytes, calldata_bytes: (calldata.length - 2) / 2, estimate_gas: Number(estimate), gas_used: Number(receipt!.gasUsed) };
}
