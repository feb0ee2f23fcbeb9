// Model onboarding on a chain, after the circuit is built (zk/build/circuit.ts) and its verifier compiled
// (zk/build/verifier.ts): deploy the verifier and register the model version with its content hashes. Re-running with
// the same artifacts reuses the registered version (content-addressed); changed artifacts register a new version
// (versions are immutable on-chain).
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { ContractFactory, type Signer } from "ethers";
import { z } from "zod";
import { VerdictError } from "../shared/errors.js";
import { REPO_ROOT } from "../shared/paths.js";
import { ModelRegistry__factory, VkaVerifier__factory } from "../types/ethers-contracts/index.js";
import { circuitHashes, type CircuitArtifacts } from "../zk/runtime/artifacts.js";
import { batchesOf } from "../zk/runtime/bundle.js";
import { checkVerifierCurrent, MAX_CONTRACT_BYTES, REUSABLE_VERIFIER, verifierArtifact, vkaWords } from "../zk/build/verifier.js";

// Beside Ignition's deployments (git-ignored): local chains come and go.
const DEPLOYMENTS = path.join(REPO_ROOT, "deploy", "deployments", "models");

const registrationsSchema = z.record(
  z.string(),
  z.object({ registry: z.string(), modelId: z.number(), verifier: z.string(), vkHash: z.string(), circuitHash: z.string(), onnxHash: z.string() }),
);
export type Registration = z.infer<typeof registrationsSchema>[string];

export interface RegisterResult extends Registration {
  reused: boolean;
  verifierBytes: number;
}

/**
 * Deploys the circuit's verifier and registers the model version in `registry`, unless this chain already has
 * a registration of the very same artifacts (recorded under deploy/deployments/models/ and checked on-chain).
 * `uri` tells operators and verifiers where the artifacts can be fetched (a bundle URI, see zk/runtime/bundle.ts).
 */
export async function deployAndRegister(circuit: CircuitArtifacts, signer: Signer, registryAddress: string, uri: string): Promise<RegisterResult> {
  const reusable = circuit.verifier === "reusable";
  const artifact = await checkedVerifier(circuit);
  const registry = ModelRegistry__factory.connect(registryAddress, signer);
  const chainId = (await signer.provider!.getNetwork()).chainId.toString();
  const hashes = await circuitHashes(circuit);
  const file = path.join(DEPLOYMENTS, `${circuit.name}.json`);
  const known = existsSync(file) ? registrationsSchema.parse(JSON.parse(await readFile(file, "utf8"))) : {};
  const key = `${chainId}:${registryAddress.toLowerCase()}`;
  const previous = known[key];
  if (previous && previous.vkHash === hashes.vkHash && previous.circuitHash === hashes.circuitHash && previous.onnxHash === hashes.onnxHash) {
    const onChain = await registry.model(previous.modelId).catch(() => undefined);
    if (onChain && onChain.vkHash === hashes.vkHash && onChain.verifier.toLowerCase() === previous.verifier.toLowerCase()) {
      return { ...previous, reused: true, verifierBytes: artifact.runtimeBytes };
    }
  }
  const verifierAddress = await deployVerifier(circuit, artifact, signer, chainId);
  const version = {
    verifier: verifierAddress,
    inputCount: circuit.inputs.count,
    outputCount: circuit.outputs.count,
    inputScale: circuit.inputs.scale,
    outputScale: circuit.outputs.scale,
    status: 0,
    verifierKind: reusable ? 1 : 0,
    ...hashes,
    uri,
  };
  const receipt = await (await registry.register(version)).wait();
  const event = receipt!.logs.map((l) => registry.interface.parseLog(l)).find((l) => l?.name === "ModelRegistered");
  const modelId = event!.args.modelId as bigint;
  const registration: Registration = { registry: registryAddress, modelId: Number(modelId), verifier: verifierAddress, ...hashes };
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify({ ...known, [key]: registration }, null, 2)}\n`);
  return { ...registration, reused: false, verifierBytes: artifact.runtimeBytes };
}

/** The circuit's compiled verifier, refused when it could not be deployed (over the contract size limit). */
async function checkedVerifier(circuit: CircuitArtifacts): Promise<Awaited<ReturnType<typeof verifierArtifact>>> {
  const contract = await checkVerifierCurrent(circuit);
  const artifact = await verifierArtifact(contract);
  if (artifact.runtimeBytes > MAX_CONTRACT_BYTES) {
    throw new VerdictError(
      "VERIFIER_TOO_LARGE",
      `${contract} is ${artifact.runtimeBytes} bytes, over the ${MAX_CONTRACT_BYTES}-byte contract limit`,
      'set "verifier": "reusable" in the model\'s model.json (ezkl\'s shared verifier + a verifying-key artifact)',
    );
  }
  return artifact;
}

async function deployVerifier(circuit: CircuitArtifacts, artifact: Awaited<ReturnType<typeof verifierArtifact>>, signer: Signer, chainId: string): Promise<string> {
  if (circuit.verifier !== "reusable") return deployArtifact(artifact, signer);
  return (await new VkaVerifier__factory(signer).deploy(await sharedReusableVerifier(signer, chainId, artifact), await vkaWords(circuit))).getAddress();
}

/**
 * Deploys the verifier of `batch` (a circuit proving `slots` runs of model version `baseModelId` at once, see
 * zk/build/circuit.ts ensureBatchCircuit) and registers it next to its base version (`registerBatch`), unless the
 * registry already links a batch verifier of the very same circuit to it. `uri` names the batch circuit's bundle.
 */
export async function deployAndRegisterBatch(batch: CircuitArtifacts, signer: Signer, registryAddress: string, baseModelId: number, slots: number, uri: string): Promise<{ batchId: number; verifier: string; reused: boolean }> {
  const registry = ModelRegistry__factory.connect(registryAddress, signer);
  const { circuitHash, vkHash } = await circuitHashes(batch);
  const known = (await batchesOf(registry, baseModelId)).find((b) => b.slots === slots && b.circuitHash === circuitHash && b.vkHash === vkHash);
  if (known) return { batchId: known.batchId, verifier: (await registry.batch(known.batchId)).verifier, reused: true };
  const artifact = await checkedVerifier(batch);
  const chainId = (await signer.provider!.getNetwork()).chainId.toString();
  const verifier = await deployVerifier(batch, artifact, signer, chainId);
  const receipt = await (await registry.registerBatch({ verifier, baseModelId, slots, verifierKind: batch.verifier === "reusable" ? 1 : 0, revoked: false, circuitHash, vkHash, uri })).wait();
  const event = receipt!.logs.map((l) => registry.interface.parseLog(l)).find((l) => l?.name === "BatchVerifierRegistered");
  return { batchId: Number(event!.args.batchId), verifier, reused: false };
}

async function deployArtifact(artifact: Awaited<ReturnType<typeof verifierArtifact>>, signer: Signer): Promise<string> {
  const contract = await new ContractFactory(artifact.abi as never, artifact.bytecode, signer).deploy();
  await contract.waitForDeployment();
  return contract.getAddress();
}

/** ezkl's reusable verifier is the same for every circuit: deployed once per chain and shared by all VkaVerifiers. */
async function sharedReusableVerifier(signer: Signer, chainId: string, artifact: Awaited<ReturnType<typeof verifierArtifact>>): Promise<string> {
  const file = path.join(DEPLOYMENTS, `${REUSABLE_VERIFIER}.json`);
  const known = existsSync(file) ? z.record(z.string(), z.string()).parse(JSON.parse(await readFile(file, "utf8"))) : {};
  const recorded = known[chainId];
  if (recorded && (await signer.provider!.getCode(recorded)) === artifact.deployedBytecode) return recorded;
  const address = await deployArtifact(artifact, signer);
  await mkdir(DEPLOYMENTS, { recursive: true });
  await writeFile(file, `${JSON.stringify({ ...known, [chainId]: address }, null, 2)}\n`);
  return address;
}
