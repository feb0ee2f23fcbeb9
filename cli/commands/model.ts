// `verdict model ...`: onboarding (build) of an ONNX model into a registered, verifiable model version.
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { deployAndRegister } from "../../deploy/onboard.js";
import { connect, DEFAULT_RPC_URL, deployment } from "../../shared/chain.js";
import { VerdictError } from "../../shared/errors.js";
import { REPO_ROOT } from "../../shared/paths.js";
import { IHalo2Verifier__factory } from "../../types/ethers-contracts/index.js";
import { ensureCircuit, inspectOnnx, loadModelSpec, readInputRows, type ModelSpec } from "../../zk/circuit.js";
import { heldoutAgreement } from "../../zk/agreement.js";
import { prove } from "../../zk/prover.js";
import { compileContracts, placeVerifier, verifierArtifact } from "../../zk/verifier.js";

interface BuildOptions {
  onnx?: string;
  data?: string;
  name?: string;
  srs?: string;
  rpc: string;
  registry?: string;
  register: boolean;
  json?: boolean;
}

/** Creates (or refreshes) models/<name>/ from an ONNX file and a data file, with calibrated run args. */
async function scaffold(onnx: string, data: string, name: string): Promise<ModelSpec> {
  const dir = path.join(REPO_ROOT, "models", name);
  await mkdir(dir, { recursive: true });
  await copyFile(onnx, path.join(dir, "network.onnx"));
  await copyFile(data, path.join(dir, "calibration.json"));
  // The first calibration row doubles as the sample that is mock-proven before key generation.
  const { width } = await inspectOnnx(onnx);
  const [first] = await readInputRows(data, width, "data");
  await writeFile(path.join(dir, "sample.json"), JSON.stringify({ input_data: [first] }));
  const spec = { name, description: `Onboarded from ${path.basename(onnx)}; run args calibrated by ezkl.`, onnx: "network.onnx", sample: "sample.json", calibration: "calibration.json", runArgs: {} };
  await writeFile(path.join(dir, "model.json"), `${JSON.stringify(spec, null, 2)}\n`);
  return loadModelSpec(dir);
}

async function build(dir: string | undefined, o: BuildOptions): Promise<void> {
  const started = performance.now();
  const step = (line: string) => {
    if (!o.json) console.error(`  ${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s  ${line}`);
  };
  let spec: ModelSpec;
  if (o.onnx) {
    if (!o.data) throw new VerdictError("MISSING_OPTION", "--onnx needs --data (calibration rows in ezkl input JSON)");
    spec = await scaffold(o.onnx, o.data, o.name ?? path.basename(o.onnx, ".onnx").toLowerCase().replace(/[^a-z0-9]+/g, "-"));
  } else {
    if (!dir) throw new VerdictError("MISSING_OPTION", "give a model folder, or --onnx and --data", "verdict model build models/wine-classifier");
    spec = await loadModelSpec(dir);
  }
  step(`model '${spec.name}' (${path.relative(process.cwd(), spec.dir) || "."})`);
  const circuit = await ensureCircuit(spec, { srs: o.srs, progress: step });
  const contract = await placeVerifier(circuit);
  await compileContracts();
  const artifact = await verifierArtifact(contract);
  step(`${contract} compiled: ${artifact.runtimeBytes} bytes of runtime bytecode`);
  const [sample] = await readInputRows(path.join(spec.dir, spec.sample), circuit.inputs.count, "sample");
  const proof = await prove(circuit, sample!);
  step(`sample proven in ${proof.timings.prove?.toFixed(2)}s (witness ${proof.timings.witness?.toFixed(2)}s, verify ${proof.timings.verify?.toFixed(3)}s), proof ${(proof.proof.length - 2) / 2} bytes`);

  const agreement = await heldoutAgreement(circuit);
  if (agreement) step(`held-out agreement over ${agreement.rows} rows: argmax ${(agreement.argmaxAgreement * 100).toFixed(1)}%, max |proven - float| ${agreement.maxAbsError.toFixed(4)}`);

  const summary: Record<string, unknown> = {
    model: spec.name,
    parameters: circuit.parameters,
    logrows: circuit.logrows,
    inputs: circuit.inputs,
    outputs: circuit.outputs,
    keygenSeconds: circuit.buildTimings.setup,
    proveSeconds: proof.timings.prove,
    witnessSeconds: proof.timings.witness,
    verifySeconds: proof.timings.verify,
    proofBytes: (proof.proof.length - 2) / 2,
    verifierBytes: artifact.runtimeBytes,
    artifacts: path.relative(REPO_ROOT, circuit.dir),
    ...(agreement ? { heldout: agreement } : {}),
  };
  if (o.register) {
    const chain = await connect(o.rpc, process.env.VERDICT_PRIVATE_KEY);
    try {
      const registry = o.registry ?? (await deployment(chain.chainId)).registry;
      const reg = await deployAndRegister(circuit, chain.signer, registry);
      step(reg.reused ? `already registered as model ${reg.modelId} (same artifacts)` : `verifier ${reg.verifier} deployed, registered as model ${reg.modelId}`);
      const verifierGas = await chain.provider.estimateGas({
        to: reg.verifier,
        data: IHalo2Verifier__factory.createInterface().encodeFunctionData("verifyProof", [proof.proof, proof.instances]),
      });
      step(`on-chain check of the sample proof: ${verifierGas} gas (eth_estimateGas)`);
      Object.assign(summary, { chainId: chain.chainId.toString(), modelId: reg.modelId, verifier: reg.verifier, reused: reg.reused, verifierGas: Number(verifierGas) });
    } finally {
      chain.provider.destroy();
    }
  }
  if (o.json) console.log(JSON.stringify(summary, null, 2));
  else console.table(Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, { value: typeof v === "object" ? JSON.stringify(v) : v }])));
}

export function modelCommands(program: Command): void {
  const model = program.command("model").description("onboard and inspect models");
  model
    .command("build")
    .description("build (or reuse) a model's ezkl circuit, keys and verifier; deploy and register it")
    .argument("[dir]", "model folder with a model.json (e.g. models/wine-classifier)")
    .option("--onnx <file>", "an ONNX file to onboard as a new model folder under models/")
    .option("--data <file>", "calibration rows for --onnx, ezkl input JSON {\"input_data\": [[...]]}")
    .option("--name <name>", "model name for --onnx (default: the file name)")
    .option("--srs <file>", "ceremony SRS file (default: a locally generated development SRS, insecure)")
    .option("--rpc <url>", "JSON-RPC URL of the chain", process.env.VERDICT_RPC_URL ?? DEFAULT_RPC_URL)
    .option("--registry <address>", "ModelRegistry address (default: from deploy/deployments)")
    .option("--no-register", "build and check only; deploy and register nothing")
    .option("--json", "print the summary as JSON")
    .addHelpText(
      "after",
      `
Examples:
  verdict model build models/wine-classifier --rpc http://127.0.0.1:8545
  verdict model build --onnx my.onnx --data rows.json --name my-mlp --no-register
Signing key: VERDICT_PRIVATE_KEY (default: the node's first account, for local chains).`,
    )
    .action(build);
}
