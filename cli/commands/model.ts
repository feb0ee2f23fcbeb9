// `verdict model ...`: onboarding (build) of an ONNX model into a registered, verifiable model version and its
// content-addressed bundle; pulling a registered bundle onto another machine, and serving a bundles folder.
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { deployAndRegister, deployAndRegisterBatch } from "../../deploy/onboard.js";
import { connect, DEFAULT_RPC_URL, deployment, type Chain } from "../../shared/chain.js";
import { VerdictError } from "../../shared/errors.js";
import { signerKey } from "../../shared/keys.js";
import { REPO_ROOT } from "../../shared/paths.js";
import { IHalo2Verifier__factory } from "../../types/ethers-contracts/index.js";
import { bundleUri, pullBatches, pullModel, serveBundles, writeBundle } from "../../zk/runtime/bundle.js";
import { ensureBatchCircuit, ensureCircuit, inspectOnnx, loadModelSpec, readInputRows, type ModelSpec } from "../../zk/build/circuit.js";
import { heldoutAgreement } from "../../zk/build/agreement.js";
import { prove } from "../../zk/runtime/prover.js";
import { compileContracts, placeVerifier, verifierArtifact } from "../../zk/build/verifier.js";
import { chainOpts, homeOpt, parseId, print, withVerdict, type ChainOptions } from "./common.js";

/** Chain id of Hardhat's local development chains: the only ones a development SRS may secure. */
const DEV_CHAIN_ID = 31337n;

interface BuildOptions {
  onnx?: string;
  data?: string;
  name?: string;
  srs?: string;
  home: string;
  bundleUri?: string;
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
  // Connect first: a registration the development SRS cannot secure is refused before minutes of key generation.
  const chain = o.register ? await connect(o.rpc, (await signerKey("cli"))?.privateKey) : undefined;
  try {
    if (chain && chain.chainId !== DEV_CHAIN_ID && !o.srs) {
      throw new VerdictError(
        "DEV_SRS_REFUSED",
        `chain ${chain.chainId} is not a local development chain (${DEV_CHAIN_ID}): keys from a development SRS (random, made on this machine) would let its maker forge proofs`,
        "pass a ceremony SRS file with --srs",
      );
    }
    await buildModel(dir, o, chain);
  } finally {
    chain?.provider.destroy();
  }
}

async function buildModel(dir: string | undefined, o: BuildOptions, chain: Chain | undefined): Promise<void> {
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
  // Batch circuits (model.json "batch"): one proof for N jobs, registered next to the model (registerBatch).
  const batches = [];
  for (const slots of spec.batch ?? []) {
    const batch = await ensureBatchCircuit(spec, slots, { srs: o.srs, progress: step });
    await placeVerifier(batch);
    batches.push({ slots, circuit: batch });
  }
  await compileContracts();
  const artifact = await verifierArtifact(contract);
  step(`${contract} compiled: ${artifact.runtimeBytes} bytes of runtime bytecode`);
  const [sample] = await readInputRows(path.join(spec.dir, spec.sample), circuit.inputs.count, "sample");
  const proof = await prove(circuit, sample!);
  step(`sample proven in ${proof.timings.prove?.toFixed(2)}s (witness ${proof.timings.witness?.toFixed(2)}s, verify ${proof.timings.verify?.toFixed(3)}s), proof ${(proof.proof.length - 2) / 2} bytes`);

  const bundle = await writeBundle(circuit, o.home);
  const uri = bundleUri(o.bundleUri ?? bundle.base, bundle);
  step(`bundle ${bundle.id.slice(0, 16)}… in ${bundle.dir}`);

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
    bundle: bundle.dir,
    uri,
    ...(agreement ? { heldout: agreement } : {}),
  };
  if (chain) {
    const registry = o.registry ?? (await deployment(chain.chainId)).registry;
    const reg = await deployAndRegister(circuit, chain.signer, registry, uri);
    step(reg.reused ? `already registered as model ${reg.modelId} (same artifacts)` : `verifier ${reg.verifier} deployed, registered as model ${reg.modelId}`);
    const verifierGas = await chain.provider.estimateGas({
      to: reg.verifier,
      data: IHalo2Verifier__factory.createInterface().encodeFunctionData("verifyProof", [proof.proof, proof.instances]),
    });
    step(`on-chain check of the sample proof: ${verifierGas} gas (eth_estimateGas)`);
    Object.assign(summary, { chainId: chain.chainId.toString(), modelId: reg.modelId, verifier: reg.verifier, reused: reg.reused, verifierGas: Number(verifierGas) });
    const registered = [];
    for (const b of batches) {
      const written = await writeBundle(b.circuit, o.home);
      const batchReg = await deployAndRegisterBatch(b.circuit, chain.signer, registry, reg.modelId, b.slots, bundleUri(o.bundleUri ?? written.base, written));
      step(`batch of ${b.slots}: ${batchReg.reused ? "already registered" : `verifier ${batchReg.verifier} deployed, registered`} as batch ${batchReg.batchId}`);
      registered.push({ slots: b.slots, batchId: batchReg.batchId });
    }
    if (registered.length) summary.batches = registered;
  }
  if (o.json) console.log(JSON.stringify(summary, null, 2));
  else console.table(Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, { value: typeof v === "object" ? JSON.stringify(v) : v }])));
}

export function modelCommands(program: Command): void {
  const model = program.command("model").description("onboard, distribute and inspect models");
  homeOpt(model.command("build"))
    .description("build (or reuse) a model's ezkl circuit, keys and verifier; deploy and register it")
    .argument("[dir]", "model folder with a model.json (e.g. models/wine-classifier)")
    .option("--onnx <file>", "an ONNX file to onboard as a new model folder under models/")
    .option("--data <file>", "calibration rows for --onnx, ezkl input JSON {\"input_data\": [[...]]}")
    .option("--name <name>", "model name for --onnx (default: the file name)")
    .option("--srs <file>", "ceremony SRS file (default: a locally generated development SRS, insecure: local chains only)")
    .option("--bundle-uri <base>", "base URL the bundle will be fetched from, recorded in the registry (default: file:// URL of <home>/bundles)")
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
  verdict model build models/wine-classifier --srs ceremony-k17.srs --bundle-uri https://models.example.org/bundles
The bundle lands in <home>/bundles/<name>-<id16>/; publish that folder under --bundle-uri (e.g. verdict model serve).
Signing key: VERDICT_KEY or VERDICT_KEYSTORE (default: the node's first account, for local chains).`,
    )
    .action(build);

  chainOpts(
    homeOpt(
      model
        .command("pull")
        .description("fetch a registered model's bundle (and its batch circuits') from its registry URI, check every file against the registry, install it in <home>")
        .argument("<modelId>", "registered model id")
        .option("--from <base>", "fetch from this base URL or bundles folder instead of the registry URI's"),
    ),
  )
    .addHelpText("after", "\nExamples:\n  verdict model pull 1\n  verdict model pull 1 --from http://10.0.0.5:8780 --home /var/lib/verdict")
    .action(async (id: string, o: ChainOptions & { home: string; from?: string }) => {
      await withVerdict(o, async ({ registry }) => {
        const pulled = await pullModel(registry, parseId(id, "model id"), o.home, o.from);
        const batches = await pullBatches(registry, parseId(id, "model id"), o.home, o.from);
        print(o, { model: id, name: pulled.circuit.name, bundle: pulled.circuit.dir, fetched: pulled.fetched, source: pulled.source, batchSlots: batches.map((b) => b.slots).join(",") });
      });
    });

  model
    .command("serve")
    .description("serve a bundles folder over HTTP, for `verdict model pull --from`")
    .argument("<dir>", "bundles folder (e.g. ~/.verdict/bundles)")
    .option("--port <n>", "port (0: any free one)", "8780")
    .option("--host <address>", "address to bind", "127.0.0.1")
    .addHelpText("after", "\nExample:\n  verdict model serve ~/.verdict/bundles --host 0.0.0.0 --port 8780")
    .action(async (dir: string, o: { port: string; host: string }) => {
      const { url } = await serveBundles(dir, Number(o.port), o.host);
      console.log(`serving ${path.resolve(dir)} at ${url}`);
    });
}
