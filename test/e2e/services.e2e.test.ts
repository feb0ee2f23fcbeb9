// End to end with real processes: `hardhat node` over JSON-RPC, a real redis-server (AOF), the contracts
// deployed by the Ignition module, both demo models onboarded, and the relayer and operator(s) as separate
// processes. Jobs for both models are posted and must all end verified and paid on-chain, the requester's
// callback invoked and the prediction market resolved; with two operators on one Redis, each job is locked and
// fulfilled exactly once. Faults (killed processes, Redis, RPC outage, stuck transactions, reorgs) are injected
// in chaos.e2e.test.ts.
import { expect } from "chai";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { Wallet } from "ethers";
import { DEV_KEYS, installBundles, type LocalStack } from "../../infra/localStack.js";
import type { LocalService } from "../../infra/service.js";
import { stackEnv, startInStack, startRelayerAndOperators, type ServiceKind } from "../../infra/verdictService.js";
import { DemoToken__factory, InferenceMarket__factory, ModelRegistry__factory, PredictionMarket__factory, type InferenceMarket } from "../../types/ethers-contracts/index.js";
import { readInputRows } from "../../zk/build/circuit.js";
import { floatToFelt } from "../../zk/runtime/felt.js";
import { e2eJobRequest, e2eMarketParams } from "../fixtures/e2e.js";
import { suiteStack } from "../fixtures/stack.js";

const UNIT = 10n ** 18n;

describe("e2e: operator and relayer processes settle real jobs on a JSON-RPC chain", function () {
  this.timeout(600_000);
  const local = suiteStack("e2e", { durableRedis: true });
  const operators: LocalService[] = [];
  let work: string;
  let env: Record<string, string>;
  let market: InferenceMarket;
  let signers: HardhatEthersSigner[];
  let provider: LocalStack["connection"]["ethers"]["provider"];
  const modelIds: Record<string, number> = {};
  const rows: Record<string, bigint[][]> = {};
  let addresses: LocalStack["addresses"];

  const start = (kind: ServiceKind, extra: Record<string, string>, tag: string) => startInStack(local(), kind, { ...env, ...extra }, tag);

  /** Posts a job (as signer 3 unless `from` is given) and returns its id. */
  async function post(model: string, row: number, extra: { callback?: string; callbackGasLimit?: number; from?: HardhatEthersSigner } = {}): Promise<bigint> {
    const req = e2eJobRequest(modelIds[model]!, rows[model]![row]!, extra);
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
    const run = local();
    const { stack } = run;
    work = run.work;
    signers = await stack.connection.ethers.getSigners();
    provider = stack.connection.ethers.provider;
    addresses = stack.addresses;
    market = InferenceMarket__factory.connect(addresses.market, signers[0]!);
    for (const [name, { modelId, circuit }] of Object.entries(stack.models)) {
      modelIds[name] = modelId;
      const held = await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), circuit.inputs.count, "sample");
      rows[name] = held.map((r) => r.map((v) => floatToFelt(v, circuit.inputs.scale)));
    }
    env = { ...stackEnv(run, "e2e"), VERDICT_LOG_LEVEL: "info" };
    const started = await startRelayerAndOperators(run, env, [{ key: DEV_KEYS.operators[0]! }]);
    operators.push(...started.operators);
  });

  it("jobs for both demo models are locked, proven, verified on-chain and paid; the callback resolves a prediction market", async () => {
    const admin = signers[0]!;
    const pm = PredictionMarket__factory.connect(addresses.predictionMarket!, admin);
    const now = (await provider.getBlock("latest"))!.timestamp;
    const params = e2eMarketParams(modelIds["wine-classifier"]!, 2, 0n, now + 120, await admin.getAddress());
    await (await pm.createMarket(params, "Will the wine be class 2 (logit >= 0)?", { value: params.jobPrice })).wait();
    const token = DemoToken__factory.connect(addresses.token!, admin);
    await (await token.mint(admin, 10n * UNIT)).wait();
    await (await token.approve(pm, 10n * UNIT)).wait();
    await (await pm.bet(1n, true, 3n * UNIT)).wait();
    await (await pm.bet(1n, false, 2n * UNIT)).wait();
    await provider.send("evm_increaseTime", [180]);
    await provider.send("evm_mine", []);

    const jobs = [await post("wine-classifier", 0), await post("diabetes-regressor", 0), await post("wine-classifier", 0), await post("diabetes-regressor", 0)];
    // The market's job: its provider (here the admin) publishes the sample after betting closed; the market posts it.
    await (await pm.postInput(1n, rows["wine-classifier"]![0]!)).wait();
    const attached = (await pm.marketOf(1n)).jobId;
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
    operators.push(await start("operator", { VERDICT_KEY: DEV_KEYS.operators[1]! }, "operator-b"));
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

  it("a prove worker on another data directory, without the operator's key, proves every job of an operator that proves nothing itself", async () => {
    for (const op of operators) await op.stop();
    const config = path.join(work, "operator-no-prover.json");
    await writeFile(config, JSON.stringify({ operator: { proveConcurrency: 0, remoteProveSlots: 1 } }));
    await start("operator", { VERDICT_KEY: DEV_KEYS.operators[0]!, VERDICT_CONFIG: config }, "operator-a-no-prover");
    // The worker's machine: its own data directory with the bundles pulled from the registry's URIs.
    const home = path.join(work, "home-prove-worker");
    await installBundles(ModelRegistry__factory.connect(addresses.registry, provider), Object.values(modelIds), home);
    const operator = new Wallet(DEV_KEYS.operators[0]!).address;
    const workerEnv: Record<string, string> = { VERDICT_HOME: home, VERDICT_OPERATOR_ADDRESS: operator };
    await start("prove-worker", workerEnv, "prove-worker");
    const ids = [await post("wine-classifier", 0), await post("diabetes-regressor", 0)];
    await waitFulfilled(ids);
    for (const id of ids) expect((await market.jobOf(id)).operator).to.equal(operator);
    const proved = async (log: string) =>
      (await readFile(path.join(work, `${log}.log`), "utf8"))
        .split("\n")
        .filter((l) => l.includes('"msg":"proved"'))
        .map((l) => (JSON.parse(l) as { jobId: string }).jobId);
    expect(await proved("prove-worker"), "proved by the worker").to.include.members(ids.map(String));
    expect(await proved("operator-a-no-prover"), "proved by the operator itself").to.deep.equal([]);
  });
});
