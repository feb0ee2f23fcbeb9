// The generated Solidity verifier of a circuit: its place in the Hardhat sources (contracts/generated/), its
// compilation with the project's pinned solc, and its compiled artifact. Kept free of the generated typed
// bindings so it can run before the first build.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { VerdictError } from "../../shared/errors.js";
import { REPO_ROOT } from "../../shared/paths.js";
import type { CircuitArtifacts } from "../runtime/artifacts.js";

export const GENERATED_DIR = path.join(REPO_ROOT, "contracts", "generated");
/** EIP-170: runtime bytecode over this size cannot be deployed on Ethereum mainnet. */
export const MAX_CONTRACT_BYTES = 24_576;

export function verifierContractName(model: string): string {
  return `${model.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase())}Verifier`;
}

/** ezkl's reusable verifier: the same contract for every circuit, deployed once per chain. */
export const REUSABLE_VERIFIER = "Halo2VerifierReusable";

/** The contract name and Solidity source a circuit's verifier has in contracts/generated/. */
async function verifierSource(circuit: CircuitArtifacts): Promise<{ contract: string; source: string; target: string }> {
  const reusable = circuit.verifier === "reusable";
  const contract = reusable ? REUSABLE_VERIFIER : verifierContractName(circuit.name);
  const generated = await readFile(circuit.file(reusable ? "Reusable.sol" : "Verifier.sol"), "utf8");
  const source = reusable ? generated : generated.replace(/\bcontract Halo2Verifier\b/, `contract ${contract}`);
  return { contract, source, target: path.join(GENERATED_DIR, `${contract}.sol`) };
}

/**
 * Copies the circuit's verifier to contracts/generated/ (only when it changed): `<Name>Verifier.sol` for a
 * single-model verifier, or ezkl's shared `Halo2VerifierReusable.sol`. Returns the contract name.
 */
export async function placeVerifier(circuit: CircuitArtifacts): Promise<string> {
  const { contract, source, target } = await verifierSource(circuit);
  await mkdir(GENERATED_DIR, { recursive: true });
  // Rewrite only on change so Hardhat's compile cache stays warm.
  if (!existsSync(target) || (await readFile(target, "utf8")) !== source) await writeFile(target, source);
  return contract;
}

/**
 * Refuses to deploy a verifier compiled from another build of the circuit (its keys were rebuilt, e.g. after an
 * ezkl upgrade, but not placed and compiled): such a verifier rejects every proof, and operators locking jobs
 * for it would be slashed. Returns the contract name.
 */
export async function checkVerifierCurrent(circuit: CircuitArtifacts): Promise<string> {
  const { contract, source, target } = await verifierSource(circuit);
  const compiled = path.join(REPO_ROOT, "artifacts", "contracts", "generated", `${contract}.sol`, `${contract}.json`);
  const placed = existsSync(target) && (await readFile(target, "utf8")) === source;
  if (!placed || !existsSync(compiled) || (await stat(compiled)).mtimeMs < (await stat(target)).mtimeMs) {
    throw new VerdictError("STALE_VERIFIER", `the compiled ${contract} is not the verifier of ${circuit.name}'s current build (${circuit.dir})`, "`make build` (places and compiles the current verifiers)");
  }
  return contract;
}

/** The circuit's verifying-key artifact as bytes32 words (ezkl writes a u64 little-endian count, then the words). */
export async function vkaWords(circuit: CircuitArtifacts): Promise<string[]> {
  const bin = await readFile(circuit.file("vka.bin"));
  const count = Number(bin.readBigUInt64LE(0));
  if (bin.length !== 8 + 32 * count) throw new VerdictError("BAD_VKA", `${circuit.file("vka.bin")} is not a vka file`);
  return Array.from({ length: count }, (_, i) => `0x${bin.subarray(8 + 32 * i, 40 + 32 * i).toString("hex")}`);
}

/** `hardhat build` with the project's pinned solc (no compiler download). */
export async function compileContracts(): Promise<void> {
  const hardhat = path.join(REPO_ROOT, "node_modules", ".bin", "hardhat");
  const child = spawn(hardhat, ["build", "--quiet"], { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0) throw new VerdictError("COMPILE_FAILED", `hardhat build failed:\n${stderr.slice(-2000)}`);
}

const artifactSchema = z.object({ abi: z.array(z.unknown()), bytecode: z.string(), deployedBytecode: z.string() });

/** A compiled contract's artifact: a generated verifier by default, or any project contract by its source path. */
export async function verifierArtifact(contract: string, source = path.join("generated", `${contract}.sol`)) {
  const file = path.join(REPO_ROOT, "artifacts", "contracts", source, `${contract}.json`);
  if (!existsSync(file)) throw new VerdictError("NOT_COMPILED", `no compiled ${contract}`, "`make build`");
  const artifact = artifactSchema.parse(JSON.parse(await readFile(file, "utf8")));
  return { ...artifact, runtimeBytes: (artifact.deployedBytecode.length - 2) / 2 };
}
