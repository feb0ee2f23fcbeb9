// A whole local Verdict stack for the demo and end-to-end tests: contracts deployed by the Ignition module to
// a JSON-RPC chain, the demo models onboarded (bundles written, verifiers deployed and registered with the
// bundles' URIs), the bundles pulled into an operator data directory as a second machine would, operators funded
// and staked, and the deployment written where the services look for it. startLocalStack / withLocalStack is the
// one lifecycle around it (Redis and `hardhat node` started, the stack deployed, one stop for everything), used by
// the demo, the bench and the tests; infra/verdictService.ts starts the relayer and operators inside it.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { network } from "hardhat";
import { VerdictLocal } from "../deploy/modules/Verdict.js";
import { deployAndRegister, deployAndRegisterBatch } from "../deploy/onboard.js";
import { REPO_ROOT } from "../shared/paths.js";
import { startLocalChain, type LocalChainOptions } from "./localChain.js";
import { startLocalRedis } from "./localRedis.js";
import type { LocalService } from "./service.js";
import { DemoToken__factory, ModelRegistry__factory, OperatorStaking__factory, type ModelRegistry } from "../types/ethers-contracts/index.js";
import { bundleUri, pullBatches, pullModel, writeBundle } from "../zk/runtime/bundle.js";
import { ensureBatchCircuit, ensureCircuit, loadModelSpec, type BuiltCircuit } from "../zk/build/circuit.js";

/** Development keys of `hardhat node` accounts 1, 2, 3 (operators), 4 (relayer) and 7 (the demo's requester): public test mnemonic, never for real funds. */
export const DEV_KEYS = {
  operators: [
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  ],
  relayer: "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  /** Account 7: the demo's requester (posts its jobs through the SDK). */
  requester: "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
};
/** Operators staked unless asked otherwise: account 3 stays a plain account (the e2e requester, the CLI test's newcomer). */
const DEFAULT_OPERATORS = 2;
export const DEMO_MODELS = ["wine-classifier", "diabetes-regressor"];
const UNIT = 10n ** 18n;
const NAMES = { token: "DemoToken", registry: "ModelRegistry", staking: "OperatorStaking", market: "InferenceMarket", predictionMarket: "PredictionMarket" } as const;

export interface LocalStack {
  connection: Awaited<ReturnType<typeof network.connect>>;
  addresses: Record<keyof typeof NAMES, string>;
  /** Folder with chain-<id>/deployed_addresses.json, for VERDICT_DEPLOYMENTS_DIR. */
  deploymentsDir: string;
  /** Each onboarded model, with the batch circuits its model.json asks for (registered next to it). */
  models: Record<string, { modelId: number; circuit: BuiltCircuit; batches: { batchId: number; slots: number; circuit: BuiltCircuit }[] }>;
  /** Data directory the bundles were built into: its bundles/ folder is what the registry URIs name. */
  publisher: string;
  /** Operators' data directory (VERDICT_HOME): every demo model's bundle pulled and installed. */
  home: string;
  /** Keys of the operators funded and staked (100 VDT each), from DEV_KEYS.operators. */
  operatorKeys: string[];
  /** Removes Ignition's journal of this deployment. */
  cleanup(): Promise<void>;
}

export interface LocalStackOptions {
  /** How many of DEV_KEYS.operators to fund and stake (default 2). */
  operators?: number;
  /** Models to onboard (default DEMO_MODELS). */
  models?: string[];
}

export async function deployLocalStack(chainUrl: string, workDir: string, log: (line: string) => void = () => undefined, opts: LocalStackOptions = {}): Promise<LocalStack> {
  // connect(), not create(): with create() Ignition deployed to the in-process chain instead of this one.
  const connection = await network.connect({ network: "rpc", override: { url: chainUrl } });
  const [admin, ...others] = await connection.ethers.getSigners();
  // Ignition journals deployments to JSON-RPC chains; a fresh id keeps an earlier run's journal (same chain id,
  // same addresses) from being taken for this chain's deployment.
  const deploymentId = `local-${Date.now()}`;
  const deployed = await connection.ignition.deploy(VerdictLocal, { deploymentId, displayUi: false });
  const addresses = Object.fromEntries(await Promise.all(Object.entries(deployed).map(async ([k, c]) => [k, await c.getAddress()] as const))) as LocalStack["addresses"];
  log(`contracts deployed by Ignition: market ${addresses.market}`);
  const chainId = (await connection.ethers.provider.getNetwork()).chainId;
  const deploymentsDir = path.join(workDir, "deployments");
  await mkdir(path.join(deploymentsDir, `chain-${chainId}`), { recursive: true });
  await writeFile(
    path.join(deploymentsDir, `chain-${chainId}`, "deployed_addresses.json"),
    JSON.stringify(Object.fromEntries(Object.entries(addresses).map(([k, v]) => [`VerdictLocal#${NAMES[k as keyof typeof NAMES]}`, v]))),
  );
  const models: LocalStack["models"] = {};
  const publisher = path.join(workDir, "publisher");
  for (const name of opts.models ?? DEMO_MODELS) {
    const spec = await loadModelSpec(name);
    const circuit = await ensureCircuit(spec);
    const bundle = await writeBundle(circuit, publisher);
    const reg = await deployAndRegister(circuit, admin!, addresses.registry, bundleUri(bundle.base, bundle));
    models[name] = { modelId: reg.modelId, circuit, batches: [] };
    log(`model ${name} registered as #${reg.modelId} (verifier ${reg.verifierBytes} bytes, logrows ${circuit.logrows})`);
    for (const slots of spec.batch ?? []) {
      const batch = await ensureBatchCircuit(spec, slots);
      const batchBundle = await writeBundle(batch, publisher);
      const { batchId } = await deployAndRegisterBatch(batch, admin!, addresses.registry, reg.modelId, slots, bundleUri(batchBundle.base, batchBundle));
      models[name].batches.push({ batchId, slots, circuit: batch });
      log(`batch verifier ${batch.name} registered as batch #${batchId} of model #${reg.modelId}`);
    }
  }
  const home = path.join(workDir, "home");
  await installBundles(ModelRegistry__factory.connect(addresses.registry, admin!), Object.values(models).map((m) => m.modelId), home);
  log(`bundles pulled into ${home}`);
  const token = DemoToken__factory.connect(addresses.token, admin!);
  const staking = OperatorStaking__factory.connect(addresses.staking, admin!);
  const operatorKeys = DEV_KEYS.operators.slice(0, opts.operators ?? DEFAULT_OPERATORS);
  const operators = others.slice(0, operatorKeys.length);
  // All mints sent before any is awaited, then each operator's approve and stake alongside the others': three
  // blocks in all, which matters on an interval-mined chain.
  const mints = [];
  for (const op of operators) mints.push(await token.mint(op, 100n * UNIT));
  await Promise.all(mints.map((tx) => tx.wait()));
  await Promise.all(
    operators.map(async (op) => {
      await (await token.connect(op).approve(staking, 100n * UNIT)).wait();
      await (await staking.connect(op).stake(100n * UNIT)).wait();
    }),
  );
  log(`${operators.length} operators funded and staked (100 VDT each)`);
  return {
    connection,
    addresses,
    deploymentsDir,
    models,
    publisher,
    home,
    operatorKeys,
    cleanup: () => rm(path.join(REPO_ROOT, "deploy", "deployments", deploymentId), { recursive: true, force: true }),
  };
}

/** Pulls (hash-checked against the registry) and installs the bundles of `modelIds`, and of their batch verifiers, into `home`. */
export async function installBundles(registry: Pick<ModelRegistry, "model" | "batchCount" | "batch">, modelIds: number[], home: string): Promise<void> {
  for (const id of modelIds) {
    await pullModel(registry, id, home);
    await pullBatches(registry, id, home);
  }
}

/** What an operator process of this stack needs to serve every demo model: its data directory and model ids. */
export function operatorEnv(stack: LocalStack): Record<string, string> {
  return { VERDICT_HOME: stack.home, VERDICT_MODELS: Object.values(stack.models).map((m) => m.modelId).join(",") };
}

export interface StackRun {
  redis: LocalService;
  chain: LocalService;
  stack: LocalStack;
  /** Temporary folder for the stack's and the services' files (logs, deployments, data directories). */
  work: string;
  /** Every service to stop with the stack: Redis and the chain, and whatever the caller adds (relayer, operators). */
  services: LocalService[];
  /**
   * Stops every service (last started first) and removes the Ignition journal; removes `work` when asked, else
   * names it. Safe to call more than once (a signal during a stop).
   */
  stop(opts?: { removeWork?: boolean }): Promise<void>;
}

export interface StackRunOptions extends LocalStackOptions {
  chain?: LocalChainOptions;
  /** Redis with an append-only file in <work>/redis, so a restarted Redis keeps its queues; else in memory. */
  durableRedis?: boolean;
  log?: (line: string) => void;
  /** For programs (demo, bench), not tests: stop everything and exit 130 on SIGINT/SIGTERM. */
  exitOnSignal?: boolean;
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** The one local-stack lifecycle: a fresh Redis and `hardhat node`, the stack deployed, and one stop for all of it. */
export async function startLocalStack(tag: string, opts: StackRunOptions = {}): Promise<StackRun> {
  const log = opts.log ?? (() => undefined);
  const work = await mkdtemp(path.join(os.tmpdir(), `verdict-${tag}-`));
  const services: LocalService[] = [];
  let stack: LocalStack | undefined;
  let stopping: Promise<void> | undefined;
  const onSignal = () => void stop().then(() => process.exit(130));
  const stop = (o: { removeWork?: boolean } = {}) =>
    (stopping ??= (async () => {
      for (const signal of SIGNALS) process.off(signal, onSignal);
      const names = services.map((s) => s.name);
      for (const s of services.reverse()) await s.stop().catch(() => undefined);
      await stack?.cleanup().catch(() => undefined);
      if (o.removeWork) await rm(work, { recursive: true, force: true });
      log(`stopped ${names.join(", ")}${o.removeWork ? "" : `; logs kept in ${work}`}`);
    })());
  // `on`, not `once`: Ctrl-C reaches us twice (from the terminal and forwarded by tsx); a second, unhandled signal
  // would kill the process halfway through stopping its children.
  if (opts.exitOnSignal) for (const signal of SIGNALS) process.on(signal, onSignal);
  try {
    const dataDir = opts.durableRedis ? path.join(work, "redis") : undefined;
    if (dataDir) await mkdir(dataDir);
    const redis = await startLocalRedis({ dataDir });
    services.push(redis);
    const chain = await startLocalChain(opts.chain);
    services.push(chain);
    stack = await deployLocalStack(chain.url, work, log, opts);
    return { redis, chain, stack, work, services, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Runs `body` against a fresh local stack (startLocalStack), then stops it; the work folder is removed on
 * success and kept (and named) on failure.
 */
export async function withLocalStack<T>(tag: string, log: (line: string) => void, body: (run: StackRun) => Promise<T>, opts: Omit<StackRunOptions, "log"> = {}): Promise<T> {
  const run = await startLocalStack(tag, { ...opts, log });
  let ok = false;
  try {
    const result = await body(run);
    ok = true;
    return result;
  } finally {
    await run.stop({ removeWork: ok });
  }
}
