// The keeper against a real interval-mined `hardhat node` with the stack deployed, reaching it through the
// JSON-RPC fault proxy: it refunds open jobs once their lock deadline has passed (several in the same block) and
// slashes a locked job once the market allows (after its expiry, never before), counts injected RPC errors as nothing (neither
// an attempt refused nor a job lost), counts a slash the market refuses, and reads each new block with a constant
// number of requests.
import { expect } from "chai";
import { setTimeout as sleep } from "node:timers/promises";
import { JsonRpcProvider, Wallet } from "ethers";
import { startKeeper, type Keeper, type KeeperStats } from "../../infra/keeper.js";
import { DEV_KEYS, startLocalStack, type LocalStack, type StackRun } from "../../infra/localStack.js";
import { startRpcFaultProxy, type RpcFaultProxy } from "../../infra/rpcFaultProxy.js";
import type { LocalService } from "../../infra/service.js";
import { InferenceMarket__factory, type InferenceMarket } from "../../types/ethers-contracts/index.js";
import { e2eJobRequest } from "../fixtures/e2e.js";

const HARDHAT_CHAIN_ID = 31337;
const BLOCK_TIME_MS = 1000;
const LOCK_TIMEOUT = 60;
const TIMEOUT = 120;
const NONE: KeeperStats = { slashAttempts: 0, slashesRefused: 0, slashed: 0, refundAttempts: 0, refundsRefused: 0, refunded: 0 };

describe("infra: keeper", function () {
  this.timeout(120_000);
  let chain: LocalService;
  let stack: LocalStack;
  let proxy: RpcFaultProxy;
  let keeper: Keeper;
  let market: InferenceMarket;
  let run: StackRun | undefined;
  let keeperWallet: Wallet;

  const rpc = (method: string, params: unknown[] = []) => stack.connection.ethers.provider.send(method, params);
  async function elapse(seconds: number): Promise<void> {
    await rpc("evm_increaseTime", [seconds]);
    await rpc("evm_mine");
  }
  async function post(): Promise<bigint> {
    const { modelId, circuit } = stack.models["wine-classifier"]!;
    const req = { ...e2eJobRequest(modelId, Array<bigint>(circuit.inputs.count).fill(0n)), lockTimeout: BigInt(LOCK_TIMEOUT), timeout: BigInt(TIMEOUT) };
    const signers = await stack.connection.ethers.getSigners();
    const receipt = await (await market.connect(signers[5]!).createJob(req, { value: req.price })).wait();
    const ev = receipt!.logs.map((l) => market.interface.parseLog(l)).find((l) => l?.name === "JobCreated");
    return ev!.args.jobId as bigint;
  }
  async function lock(jobId: bigint): Promise<void> {
    const op = new Wallet(DEV_KEYS.operators[0]!, stack.connection.ethers.provider);
    await (await market.connect(op).lock(jobId, await market.termsOf(jobId))).wait();
  }
  async function until(what: string, probe: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(keeper.stats())}`);
      await sleep(100);
    }
  }
  const status = async (id: bigint) => Number((await market.jobOf(id)).status);

  before(async () => {
    // Interval-mined: the node's "pending" nonce then ignores its mempool, which a keeper sending several
    // transactions per block must survive.
    run = await startLocalStack("keeper", { chain: { blockTimeMs: BLOCK_TIME_MS } });
    ({ chain, stack } = run);
    market = InferenceMarket__factory.connect(stack.addresses.market, (await stack.connection.ethers.getSigners())[0]!);
    // Every read the keeper makes may fail; its sends always reach the node.
    proxy = await startRpcFaultProxy(chain.url, { errorRate: 0.3, seed: 7 });
  });
  beforeEach(async () => {
    // A fresh keeper account, funded by account 6 (no role in the stack): the keeper holds nothing but gas money.
    keeperWallet = new Wallet(Wallet.createRandom().privateKey, new JsonRpcProvider(proxy.url, HARDHAT_CHAIN_ID, { staticNetwork: true }));
    await (await (await stack.connection.ethers.getSigners())[6]!.sendTransaction({ to: keeperWallet.address, value: 10n ** 18n })).wait();
    keeper = startKeeper({ signer: keeperWallet, market: stack.addresses.market, fromBlock: await stack.connection.ethers.provider.getBlockNumber(), pollMs: 50 });
  });
  afterEach(async () => {
    await keeper?.stop();
    (keeperWallet?.provider as JsonRpcProvider | null)?.destroy();
  });
  after(async () => {
    await proxy?.close();
    await run?.stop({ removeWork: true });
  });

  it("refunds open jobs after their lock deadline and slashes a locked one as soon as the market allows (after its expiry, refused before), despite 30% RPC errors", async () => {
    const open = [await post(), await post(), await post()];
    const locked = await post();
    await lock(locked);
    await until("the keeper to follow the jobs", () => keeper.tracked() === 4);
    // Margins of 20 s either side: blocks also carry real time (posting and locking take a few).
    await elapse(LOCK_TIMEOUT - 20);
    await sleep(500);
    expect(keeper.stats(), "nothing is due yet").to.deep.equal(NONE);
    await elapse(40);
    // All three fall due in the same block and are refunded within a few (not one per nonce re-sync).
    await until("the refunds", () => keeper.stats().refunded === 3, 10 * BLOCK_TIME_MS);
    for (const id of open) expect(await status(id)).to.equal(5); // Refunded
    expect(await status(locked)).to.equal(2); // still Locked: its deadline is later
    // Past the lock holder's deadline the keeper tries at once; the market refuses until the secondary window
    // (as long as the lock window) has closed too.
    await elapse(TIMEOUT - LOCK_TIMEOUT);
    await until("the early slash to be refused", () => keeper.stats().slashesRefused === 1);
    expect(await status(locked)).to.equal(2);
    await elapse(TIMEOUT - LOCK_TIMEOUT);
    await until("the slash", () => keeper.stats().slashed === 1);
    expect(await status(locked)).to.equal(4); // Slashed
    expect(keeper.stats()).to.deep.equal({ ...NONE, slashAttempts: 2, slashesRefused: 1, slashed: 1, refundAttempts: 3, refunded: 3 });
    expect(keeper.tracked()).to.equal(0);
    const injected = Object.values(proxy.stats().injected).reduce((a, b) => a + b);
    expect(injected, "errors were injected").to.be.greaterThan(0);
  });

  it("counts a slash the market refuses (before the expiry) once, and tries again only once the window has closed", async () => {
    const id = await post();
    await lock(id);
    await elapse(TIMEOUT + 1);
    await until("the refusal", () => keeper.stats().slashesRefused === 1);
    await sleep(4 * BLOCK_TIME_MS);
    expect(keeper.stats(), "not retried every block").to.deep.equal({ ...NONE, slashAttempts: 1, slashesRefused: 1 });
    await elapse(TIMEOUT - LOCK_TIMEOUT);
    await until("the slash after the expiry", () => keeper.stats().slashed === 1);
    expect(keeper.stats()).to.deep.equal({ ...NONE, slashAttempts: 2, slashesRefused: 1, slashed: 1 });
  });

  it("reads each new block with one eth_getLogs and one eth_getBlockByNumber, over the new blocks only", async () => {
    proxy.configure({ errorRate: 0 });
    await sleep(300);
    const before = proxy.stats().requests;
    const first = await stack.connection.ethers.provider.getBlockNumber();
    await sleep(10 * BLOCK_TIME_MS);
    const after = proxy.stats().requests;
    const blocks = (await stack.connection.ethers.provider.getBlockNumber()) - first;
    const delta = (m: string) => (after[m] ?? 0) - (before[m] ?? 0);
    // +1: a block may land between the two snapshots and the head read.
    expect(delta("eth_getLogs")).to.be.within(1, blocks + 1);
    expect(delta("eth_getBlockByNumber")).to.be.within(1, blocks + 1);
    expect(delta("eth_call") + delta("eth_estimateGas") + delta("eth_sendRawTransaction"), "no simulations or sends when nothing is due").to.equal(0);
  });
});
