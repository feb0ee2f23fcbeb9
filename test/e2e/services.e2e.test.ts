// End to end with real processes: `hardhat node` over JSON-RPC, a real redis-server (AOF), the contracts
// deployed by the Ignition module, both demo models onboarded, and the relayer and operator(s) as separate
// processes. Jobs for both models are posted and must all end verified and paid on-chain, the requester's
// callback invoked and the prediction market resolved; with two operators on one Redis, each job is locked and
// fulfilled exactly once.
import { expect } from "chai";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { VerdictLocal } from "../../deploy/modules/Verdict.js";
import { deployAndRegister } from "../../deploy/onboard.js";
import { startLocalChain } from "../../infra/localChain.js";
import { startLocalRedis } from "../../infra/localRedis.js";
import type { LocalService } from "../../infra/service.js";
import { startVerdictService } from "../../infra/verdictService.js";
import { REPO_ROOT } from "../../shared/paths.js";
import {
  DemoToken__factory,
  InferenceMarket__factory,
  OperatorStaking__factory,
  PredictionMarket__factory,
  type InferenceMarket,
} from "../../types/ethers-contracts/index.js";
import { ensureCircuit, loadModelSpec, readInputRows } from "../../zk/circuit.js";
import { floatToFelt } from "../../zk/felt.js";

// Well-known development keys of `hardhat node` accounts 1, 2 and 4 (public test mnemonic; never for real funds).
const OPERATOR_KEYS = ["0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"];
const RELAYER_KEY = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
const UNIT = 10n ** 18n;

describe("e2e: operator and relayer processes settle real jobs on a JSON-RPC chain", function () {
  this.timeout(600_000);
  const services: LocalService[] = [];
  let work: string;
  let env: Record<string, string>;
  let market: InferenceMarket;
  let signers: HardhatEthersSigner[];
  let provider: Awaited<ReturnType<typeof network.connect>>["ethers"]["provider"];
  const modelIds: Record<string, number> = {};
  const rows: Record<string, bigint[][]> = {};
  let addresses: Record<string, string>;
  let deploymentId: string;

  async function start(kind: "operator" | "relayer", extra: Record<string, string>, tag: string = kind) {
    const s = await startVerdictService(kind, { ...env, ...extra }, path.join(work, `${tag}.log`));
    services.push(s);
    return s;
  }

  /** Posts a job (as signer 3 unless `from` is given) and returns its id. */
  async function post(model: string, row: number, extra: { callback?: string; callbackGasLimit?: number; from?: HardhatEthersSigner } = {}): Promise<bigint> {
    const req = {
      modelId: modelIds[model]!,
      input: rows[model]![row]!,
      token: "0x0000000000000000000000000000000000000000",
      price: 10n ** 15n,
      collateral: UNIT,
      lockTimeout: 600n,
      timeout: 1800n,
      callback: extra.callback ?? "0x0000000000000000000000000000000000000000",
      callbackGasLimit: extra.callbackGasLimit ?? 0,
    };
    const receipt = await (await market.connect(extra.from ?? signers[3]!).createJob(req, { value: req.price })).wait();
    const ev = receipt!.logs.map((l) => market.interface.parseLog(l)).find((l) => l?.name === "JobCreated");
    return ev!.args.jobId as bigint;
  }

  async function waitFulfilled(ids: bigint[], timeoutMs = 240_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const statuses = await Promise.all(ids.map(async (id) => Number((await market.jobOf(id)).status)));
      if (statuses.every((s) => s === 3)) return;
      if (Date.now() > deadline) throw new Error(`jobs not fulfilled in time: ${ids.map((id, i) => `${id}:${statuses[i]}`).join(" ")} (logs in ${work})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "verdict-e2e-"));
    await mkdir(path.join(work, "redis"));
    services.push(await startLocalRedis({ dataDir: path.join(work, "redis") }));
    services.push(await startLocalChain());
    const [redis, chain] = services as [LocalService, LocalService];
    // connect(), not create(): with create() Ignition deployed to the in-process chain instead of this one.
    const conn = await network.connect({ network: "rpc", override: { url: chain.url } });
    signers = await conn.ethers.getSigners();
    provider = conn.ethers.provider;
    const admin = signers[0]!;
    // Ignition journals deployments to JSON-RPC chains; a fresh id keeps a journal of an earlier run (same chain
    // id, same addresses) from being taken for this chain's deployment.
    deploymentId = `e2e-${Date.now()}`;
    const deployed = await conn.ignition.deploy(VerdictLocal, { deploymentId });
    addresses = Object.fromEntries(await Promise.all(Object.entries(deployed).map(async ([k, c]) => [k, await c.getAddress()] as const)));
    const chainId = (await conn.ethers.provider.getNetwork()).chainId;
    const deployments = path.join(work, "deployments");
    await mkdir(path.join(deployments, `chain-${chainId}`), { recursive: true });
    const names: Record<string, string> = { token: "DemoToken", registry: "ModelRegistry", staking: "OperatorStaking", market: "InferenceMarket", predictionMarket: "PredictionMarket" };
    await writeFile(
      path.join(deployments, `chain-${chainId}`, "deployed_addresses.json"),
      JSON.stringify(Object.fromEntries(Object.entries(addresses).map(([k, v]) => [`VerdictLocal#${names[k]}`, v]))),
    );
    market = InferenceMarket__factory.connect(addresses.market!, admin);
    for (const name of ["wine-classifier", "diabetes-regressor"]) {
      const circuit = await ensureCircuit(await loadModelSpec(name));
      modelIds[name] = (await deployAndRegister(circuit, admin, addresses.registry!)).modelId;
      const held = await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), circuit.inputs.count, "sample");
      rows[name] = held.map((r) => r.map((v) => floatToFelt(v, circuit.inputs.scale)));
    }
    const token = DemoToken__factory.connect(addresses.token!, admin);
    const staking = OperatorStaking__factory.connect(addresses.staking!, admin);
    for (const op of [signers[1]!, signers[2]!]) {
      await (await token.mint(op, 100n * UNIT)).wait();
      await (await token.connect(op).approve(staking, 100n * UNIT)).wait();
      await (await staking.connect(op).stake(100n * UNIT)).wait();
    }
    env = {
      VERDICT_RPC_URL: chain.url,
      VERDICT_REDIS_URL: redis.url,
      VERDICT_DEPLOYMENTS_DIR: deployments,
      VERDICT_QUEUE_PREFIX: "e2e",
      VERDICT_LOG_LEVEL: "info",
      VERDICT_RELAYER_KEY: RELAYER_KEY,
    };
    await start("relayer", {});
    await start("operator", { VERDICT_OPERATOR_KEY: OPERATOR_KEYS[0]! }, "operator-a");
  });

  after(async () => {
    for (const s of services.reverse()) await s.stop();
    await rm(path.join(REPO_ROOT, "deploy", "deployments", deploymentId), { recursive: true, force: true });
  });

  it("jobs for both demo models are locked, proven, verified on-chain and paid; the callback resolves a prediction market", async () => {
    const admin = signers[0]!;
    const pm = PredictionMarket__factory.connect(addresses.predictionMarket!, admin);
    const now = (await provider.getBlock("latest"))!.timestamp;
    await (await pm.createMarket(modelIds["wine-classifier"]!, 2, 0n, now + 120, "Will the wine be class 2 (logit >= 0)?")).wait();
    const token = DemoToken__factory.connect(addresses.token!, admin);
    await (await token.mint(admin, 10n * UNIT)).wait();
    await (await token.approve(pm, 10n * UNIT)).wait();
    await (await pm.bet(1n, true, 3n * UNIT)).wait();
    await (await pm.bet(1n, false, 2n * UNIT)).wait();
    await provider.send("evm_increaseTime", [180]);
    await provider.send("evm_mine", []);

    const jobs = [await post("wine-classifier", 0), await post("diabetes-regressor", 0), await post("wine-classifier", 0), await post("diabetes-regressor", 0)];
    // The market's job: posted after betting closed by the market's creator, with the market as callback.
    const attached = await post("wine-classifier", 0, { callback: addresses.predictionMarket!, callbackGasLimit: 300_000, from: admin });
    await (await pm.attachJob(1n, attached)).wait();
    await waitFulfilled([...jobs, attached]);

    const operator = await signers[1]!.getAddress();
    for (const id of [...jobs, attached]) expect((await market.jobOf(id)).operator).to.equal(operator);
    expect(await market.balanceOf(operator, "0x0000000000000000000000000000000000000000")).to.equal(5n * 10n ** 15n);
    const m = await pm.marketOf(1n);
    expect(Number(m.outcome)).to.be.oneOf([1, 2]);
    const [outputs] = await market.resultOf(attached);
    expect(Number(m.outcome)).to.equal(outputs[2]! >= 0n ? 1 : 2);
  });

  it("with two operators on one Redis, each job is locked and fulfilled exactly once", async () => {
    await start("operator", { VERDICT_OPERATOR_KEY: OPERATOR_KEYS[1]! }, "operator-b");
    const from = await provider.getBlockNumber();
    const ids: bigint[] = [];
    for (let i = 0; i < 6; i++) ids.push(await post(i % 2 ? "diabetes-regressor" : "wine-classifier", 0));
    await waitFulfilled(ids);
    const locks = await market.queryFilter(market.filters.JobLocked(), from);
    const fulfils = await market.queryFilter(market.filters.JobFulfilled(), from);
    for (const id of ids) {
      expect(locks.filter((e) => e.args.jobId === id), `locks of job ${id}`).to.have.length(1);
      expect(fulfils.filter((e) => e.args.jobId === id), `fulfilments of job ${id}`).to.have.length(1);
    }
  });
});
