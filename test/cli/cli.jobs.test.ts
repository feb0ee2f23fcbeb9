// The requester's and the on-call person's `verdict` commands as subprocesses against a `hardhat node` with the
// stack deployed and a real redis-server: job create (ETH and ERC20, argument checks, inputs the circuit cannot take), status, wait (its
// exit codes), refund, slash, list --mine, withdraw; operator jobs and relayer dlq on the services' queues; config
// check. Each command is tried on its error path too, with its exit code.
import { expect } from "chai";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Wallet } from "ethers";
import { queueName, type JobData } from "../../operator/pipeline.js";
import { DEAD_LETTER_QUEUE, type DeadLetter, type RelayRequest } from "../../relayer/types.js";
import { queue, RELAYER_QUEUE, redisConnection } from "../../shared/queues.js";
import { DemoToken__factory, InferenceMarket__factory } from "../../types/ethers-contracts/index.js";
import { readInputRows } from "../../zk/build/circuit.js";
import { cliRunner } from "../fixtures/cli.js";
import { suiteStack } from "../fixtures/stack.js";

// hardhat node dev accounts (public test mnemonic): 1 is staked by deployLocalStack; 5 is a requester with ETH only.
const REQUESTER_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
const REQUESTER = new Wallet(REQUESTER_KEY).address;
const UNIT = 10n ** 18n;

interface Row {
  jobId: string;
  status: string;
}

describe("verdict CLI: job lifecycle, withdraw, operator jobs, relayer dlq and config check", function () {
  this.timeout(300_000);
  const local = suiteStack("cli-jobs");
  let row: number[];
  let model: string;
  const { verdict, json } = cliRunner(() => ({
    VERDICT_RPC_URL: local().chain.url,
    VERDICT_DEPLOYMENTS_DIR: local().stack.deploymentsDir,
    VERDICT_HOME: path.join(local().work, "cli-home"),
    VERDICT_REDIS_URL: local().redis.url,
    VERDICT_QUEUE_PREFIX: "cli-test",
  }));

  /** Moves the chain's clock forward and mines a block. */
  async function travel(seconds: number): Promise<void> {
    await local().stack.connection.ethers.provider.send("evm_increaseTime", [seconds]);
    await local().stack.connection.ethers.provider.send("evm_mine", []);
  }

  const create = (extra: string[] = []) => json<{ jobId: string; price: string }>(["job", "create", "--model", model, "--input", JSON.stringify(row), ...extra], REQUESTER_KEY);

  before(async () => {
    const { stack } = local();
    const { modelId, circuit } = stack.models["wine-classifier"]!;
    model = String(modelId);
    [row] = (await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), circuit.inputs.count, "sample")) as [number[]];
    const [admin] = await stack.connection.ethers.getSigners();
    await (await DemoToken__factory.connect(stack.addresses.token, admin!).mint(REQUESTER, 50n * UNIT)).wait();
  });

  it("job status with a non-numeric id exits 1 with BAD_ARGUMENT and no stack trace", async () => {
    const r = await verdict(["job", "status", "abc"]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/\[BAD_ARGUMENT\] job id must be a non-negative integer, got 'abc'/);
    expect(r.stderr).to.not.match(/\n\s+at /);
  });

  it("job create refuses a non-numeric --model, a bad --token and an input the circuit cannot take (exit 1) before sending anything", async () => {
    const bad = await verdict(["job", "create", "--model", "one", "--input", "[1]"]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/\[BAD_ARGUMENT\] --model must be a non-negative integer, got 'one'/);
    const token = await verdict(["job", "create", "--model", model, "--input", "[1]", "--token", "dollars"]);
    expect(token.code).to.equal(1);
    expect(token.stderr).to.match(/\[BAD_ARGUMENT\] --token must be "eth" or an ERC20 address/);
    const far = [1e6, ...row.slice(1)];
    const range = await verdict(["job", "create", "--model", model, "--input", JSON.stringify(far)], REQUESTER_KEY);
    expect(range.code).to.equal(1);
    expect(range.stderr).to.match(/\[INPUT_OUT_OF_RANGE\] input feature 0 = 1000000 is beyond what the circuit can take/);
  });

  it("job create posts an input outside the calibrated range that the circuit takes, warning on stderr first", async () => {
    const { circuit } = local().stack.models["wine-classifier"]!;
    const wide = [circuit.inputRange[0]![1] + 1, ...row.slice(1)];
    const r = await verdict(["job", "create", "--model", model, "--input", JSON.stringify(wide), "--json"], REQUESTER_KEY);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/warning: input feature 0 = [\d.]+ is outside the calibrated range \[.*\]: the circuit takes it/);
    expect(JSON.parse(r.stdout)).to.have.property("jobId");
  });

  it("job wait of a job still open exits 124 after --timeout; --help lists the exit codes", async () => {
    const { jobId } = await create();
    const r = await verdict(["job", "wait", jobId, "--timeout", "1"]);
    expect(r.code).to.equal(124);
    expect(r.stderr).to.match(/\[TIMEOUT\] job \d+ is still Open after 1 s/);
    const help = await verdict(["job", "wait", "--help"]);
    expect(help.stdout).to.match(/3\s+job wait: the job ended Slashed/).and.match(/4\s+job wait: the job ended Refunded/).and.match(/124\s+job wait: timed out/);
  });

  it("job refund fails with LockNotExpired before the lock deadline, refunds after it; job wait then exits 4 and withdraw pays the ETH back once", async () => {
    const { jobId } = await create(["--price", "0.003", "--lock-timeout", "60"]);
    const early = await verdict(["job", "refund", jobId]);
    expect(early.code).to.equal(1);
    expect(early.stderr).to.match(/REVERTED/).and.match(/LockNotExpired/);
    await travel(61);
    const refunded = await json<{ status: string; refunded: string }>(["job", "refund", jobId]); // anyone may call it
    expect(refunded).to.include({ status: "Refunded", refunded: (3n * 10n ** 15n).toString() });
    const wait = await verdict(["job", "wait", jobId, "--json"]);
    expect(wait.code).to.equal(4);
    expect(JSON.parse(wait.stdout)).to.include({ status: "Refunded" });
    const mine = await json<Row[]>(["job", "list", "--mine"], REQUESTER_KEY);
    expect(mine.find((j) => j.jobId === jobId)).to.include({ status: "Refunded" });
    expect(mine.every((j) => (j as unknown as { requester: string }).requester === REQUESTER)).to.equal(true);
    const paid = await json<{ from: string; token: string; amount: string; tx: string }[]>(["withdraw", "--token", "eth"], REQUESTER_KEY);
    expect(paid).to.deep.equal([{ from: "market", token: "ETH", amount: (3n * 10n ** 15n).toString(), tx: paid[0]!.tx }]);
    const again = await verdict(["withdraw", "--token", "eth"], REQUESTER_KEY);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/\[NOTHING_TO_WITHDRAW\]/);
  });

  it("job slash fails with DeadlineNotReached before the job's expiry (deadline + secondary window), slashes after it; job wait then exits 3", async () => {
    const { jobId } = await create(["--timeout", "900"]);
    const [, operator] = await local().stack.connection.ethers.getSigners();
    const market = InferenceMarket__factory.connect(local().stack.addresses.market, operator!);
    await (await market.lock(jobId, await market.termsOf(jobId))).wait();
    const early = await verdict(["job", "slash", jobId]);
    expect(early.code).to.equal(1);
    expect(early.stderr).to.match(/DeadlineNotReached/);
    await travel(901); // past the deadline: another operator may still deliver until the expiry (lock window again)
    expect((await verdict(["job", "slash", jobId])).stderr).to.match(/DeadlineNotReached/);
    await travel(600);
    const slashed = await json<{ status: string; operator: string; collateral: string }>(["job", "slash", jobId]);
    expect(slashed).to.include({ status: "Slashed", operator: await operator!.getAddress(), collateral: "1.0 tokens" });
    const wait = await verdict(["job", "wait", jobId]);
    expect(wait.code).to.equal(3);
    // The requester is owed the price back, nothing of the collateral (burned: a requester never profits from a
    // failure, review I-1).
    const paid = await json<{ from: string; token: string; amount: string }[]>(["withdraw"], REQUESTER_KEY);
    expect(paid.map(({ from, token, amount }) => ({ from, token, amount }))).to.deep.equal([{ from: "market", token: "ETH", amount: (10n ** 15n).toString() }]);
  });

  it("job create --token pays in the allowed ERC20: approves, escrows, and the job records the token", async () => {
    const token = DemoToken__factory.connect(local().stack.addresses.token, local().stack.connection.ethers.provider);
    const before = await token.balanceOf(REQUESTER);
    const created = await create(["--token", local().stack.addresses.token, "--price", "2.5"]);
    expect(created.price).to.equal("2.5 VDT (escrowed)");
    expect(before - (await token.balanceOf(REQUESTER))).to.equal(25n * UNIT / 10n);
    const status = await json<{ token: string; price: string }>(["job", "status", created.jobId]);
    expect(status).to.include({ token: local().stack.addresses.token, price: (25n * UNIT / 10n).toString() });
  });

  it("operator jobs lists this operator's queued jobs per stage with the time left; refuses a bad address and a missing one", async () => {
    const operator = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    const connection = redisConnection(local().redis.url);
    const prove = queue<JobData>({ connection, prefix: "cli-test" }, queueName("prove", operator));
    const now = (await local().stack.connection.ethers.provider.getBlock("latest"))!.timestamp;
    await prove.add("prove", { chainId: "31337", jobId: "77", modelId: 1, input: [], token: "0x0000000000000000000000000000000000000000", price: "1", collateral: "1", lockDeadline: now + 60, deadline: now + 500 }, { jobId: "31337-77" });
    await prove.close();
    connection.disconnect();
    const listed = await json<{ operator: string; clock: string; jobs: { stage: string; state: string; jobId: string; by: string; secondsLeft: number }[] }>(["operator", "jobs", operator]);
    expect(listed.clock).to.equal("chain");
    expect(listed.jobs).to.have.length(1);
    expect(listed.jobs[0]).to.include({ stage: "prove", state: "waiting", jobId: "77", by: "deadline" });
    expect(listed.jobs[0]!.secondsLeft).to.be.within(490, 500);
    const bad = await verdict(["operator", "jobs", "0x123"]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/\[BAD_ARGUMENT\] '0x123' is not an address/);
    const none = await verdict(["operator", "jobs"]);
    expect(none.code).to.equal(1);
    expect(none.stderr).to.match(/\[BAD_ARGUMENT\] no operator address given/);
  });

  it("relayer dlq list shows a dead letter, retry hands it back to the relay queue, drop of an unknown id exits 1", async () => {
    const connection = redisConnection(local().redis.url);
    const ctx = { connection, prefix: "cli-test" };
    const dead = queue<DeadLetter>(ctx, DEAD_LETTER_QUEUE);
    const relay = queue<RelayRequest>(ctx, RELAYER_QUEUE);
    const request: RelayRequest = { kind: "lock", chainId: "31337", market: local().stack.addresses.market, jobId: "9", operator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", validUntil: "1", terms: `0x${"00".repeat(32)}`, signature: "0x" };
    for (const id of ["lock-a", "lock-b"]) await dead.add("lock", { request, reason: "simulation reverted: LockExpired(9, 1)", at: new Date().toISOString() }, { jobId: id });
    try {
      const listed = await json<{ id: string; kind: string; jobId: string; reason: string }[]>(["relayer", "dlq", "list"]);
      expect(listed.map((l) => l.id).sort()).to.deep.equal(["lock-a", "lock-b"]);
      expect(listed[0]).to.include({ kind: "lock", jobId: "9", reason: "simulation reverted: LockExpired(9, 1)" });
      const retried = await json<{ id: string; requeued: boolean }[]>(["relayer", "dlq", "retry", "lock-a"]);
      expect(retried).to.deep.equal([{ id: "lock-a", kind: "lock", jobId: "9", requeued: true }]);
      expect(await (await relay.getJob("lock-a"))!.getState()).to.equal("waiting");
      const unknown = await verdict(["relayer", "dlq", "drop", "lock-zzz"]);
      expect(unknown.code).to.equal(1);
      expect(unknown.stderr).to.match(/\[NOT_FOUND\] no dead letter lock-zzz/);
      const both = await verdict(["relayer", "dlq", "drop"]);
      expect(both.code).to.equal(1);
      expect(both.stderr).to.match(/\[BAD_ARGUMENT\]/);
      expect(await json<{ dropped: number }>(["relayer", "dlq", "drop", "--all"])).to.deep.equal({ dropped: 1, ids: ["lock-b"] });
      expect(await json<unknown[]>(["relayer", "dlq", "list"])).to.deep.equal([]);
    } finally {
      await relay.obliterate({ force: true });
      await Promise.all([dead.close(), relay.close()]);
      connection.disconnect();
    }
  });

  it("config check prints the effective configuration with keys and URL passwords redacted; a bad field exits 1 naming it", async () => {
    const key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    const r = await verdict(["config", "check"], undefined, { VERDICT_KEY: key, VERDICT_REDIS_URL: "redis://user:hunter2@10.0.0.5:6379", VERDICT_HTTP_PORT: "9100" });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.not.include(key.slice(2)).and.not.include("hunter2");
    const shown = JSON.parse(r.stdout) as { redisUrl: string; httpPort: number; queuePrefix: string; signingKey: Record<string, string> };
    expect(shown).to.include({ redisUrl: "redis://user:***@10.0.0.5:6379", httpPort: 9100, queuePrefix: "cli-test" });
    expect(shown.signingKey.operator).to.equal("(set, redacted)");
    const file = path.join(local().work, "bad.json");
    await writeFile(file, JSON.stringify({ operator: { confirmations: -1 } }));
    const bad = await verdict(["config", "check", "--config", file]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/\[BAD_CONFIG\]/).and.match(/operator\.confirmations/);
  });
});
