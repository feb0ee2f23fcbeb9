// Fault injection with real processes: `hardhat node`, a real redis-server (AOF), the contracts deployed by the
// Ignition module, and the relayer and operator as separate processes that reach the node through a TCP proxy
// (infra/rpcProxy.ts) so the RPC endpoint can be cut. Each test injects one fault (SIGKILLed operator, relayer
// and Redis, a 30 s RPC outage, a stuck transaction, a reorg within the confirmation depth), prints what it
// injected and what it checked, and the closing hook prints the summary: faults injected and survived, jobs lost
// and honest operators slashed, both of which must be 0.
import { expect } from "chai";
import getPort from "get-port";
import { Redis } from "ioredis";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Wallet } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { DEV_KEYS, startLocalStack, type LocalStack, type StackRun } from "../../infra/localStack.js";
import { startLocalRedis } from "../../infra/localRedis.js";
import { startRpcProxy, type RpcProxy } from "../../infra/rpcProxy.js";
import type { LocalService } from "../../infra/service.js";
import { stackEnv, startInStack } from "../../infra/verdictService.js";
import { InferenceMarket__factory, OperatorStaking__factory, type InferenceMarket } from "../../types/ethers-contracts/index.js";
import { readInputRows } from "../../zk/build/circuit.js";
import { floatToFelt } from "../../zk/runtime/felt.js";
import { e2eJobRequest } from "../fixtures/e2e.js";
import { counterValue } from "../../infra/load.js";
import { slashStillLocked } from "../../infra/slasher.js";
import { JobStatus } from "../../shared/enums.js";

const UNIT = 10n ** 18n;
const STAKE = 100n * UNIT; // what deployLocalStack stakes for each dev operator
const RPC_OUTAGE_MS = 30_000;

type LogLine = Record<string, unknown> & { msg?: string; jobId?: string; kind?: string };

const injected = (what: string) => console.log(`      injected: ${what}`);
const checked = (what: string) => console.log(`      checked: ${what}`);

/** Polls `probe` until it returns a value other than undefined/false; throws naming `what` after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

describe("chaos: faults injected into real processes lose no job and slash no honest operator", function () {
  this.timeout(600_000);
  let run: StackRun | undefined;
  let work: string;
  let env: Record<string, string>;
  let stack: LocalStack | undefined;
  let chain: LocalService;
  let redis: LocalService;
  let proxy: RpcProxy;
  let market: InferenceMarket;
  let signers: HardhatEthersSigner[];
  let provider: LocalStack["connection"]["ethers"]["provider"];
  let deployBlock = 0;
  const relayerAddress = new Wallet(DEV_KEYS.relayer).address;
  const modelIds: Record<string, number> = {};
  const rows: Record<string, bigint[][]> = {};
  /** Running services by role; a restarted one replaces its entry. */
  const running: Record<"relayer" | "operator", { service: LocalService; log: string; port: number }> = {} as never;
  const generations = { relayer: 0, operator: 0 };
  const faults: { name: string; survived: boolean }[] = [];

  const rpc = (method: string, params: unknown[] = []) => provider.send(method, params);
  async function mining(on: boolean): Promise<void> {
    await rpc("evm_setAutomine", [on]);
    await rpc("evm_setIntervalMining", [on ? 1000 : 0]);
  }
  async function mine(blocks: number): Promise<void> {
    for (let i = 0; i < blocks; i++) await rpc("evm_mine");
  }

  async function start(kind: "relayer" | "operator"): Promise<void> {
    const port = running[kind]?.port ?? (await getPort({ host: "127.0.0.1" }));
    const name = `${kind}-${++generations[kind]}`;
    const key = kind === "operator" ? DEV_KEYS.operators[0]! : DEV_KEYS.relayer;
    const service = await startInStack(run!, kind, { ...env, VERDICT_KEY: key, VERDICT_HTTP_PORT: String(port) }, name);
    running[kind] = { service, log: path.join(work, `${name}.log`), port };
  }

  /** SIGKILLs a service (no shutdown hooks run) and waits until it is gone. */
  async function kill(kind: "relayer" | "operator"): Promise<void> {
    const { service } = running[kind];
    service.kill!("SIGKILL");
    await service.stop(); // returns once the process has exited
  }

  async function logLines(file: string): Promise<LogLine[]> {
    const text = await readFile(file, "utf8").catch(() => "");
    return text
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as LogLine);
  }
  /** Waits for a line of `kind`'s current log matching `match`, and returns it. */
  function waitLog(kind: "relayer" | "operator", what: string, match: (l: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    return until(what, async () => (await logLines(running[kind].log)).find(match), timeoutMs, 50);
  }

  async function httpGet(kind: "relayer" | "operator", route: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${running[kind].port}${route}`, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: await res.text() };
  }
  /** Sum of a Prometheus metric's samples on `kind`'s /metrics. */
  async function metric(kind: "relayer" | "operator", name: string): Promise<number> {
    return counterValue((await httpGet(kind, "/metrics")).body, name);
  }

  /** Posts a job (as signer 3) and returns its id; with `manual` the node does not mine on its own, so one block is mined for it. */
  async function post(model: string, row = 0, manual = false): Promise<bigint> {
    const req = e2eJobRequest(modelIds[model]!, rows[model]![row]!);
    const tx = await market.connect(signers[3]!).createJob(req, { value: req.price });
    if (manual) await mine(1);
    const receipt = await tx.wait();
    const ev = receipt!.logs.map((l) => market.interface.parseLog(l)).find((l) => l?.name === "JobCreated");
    return ev!.args.jobId as bigint;
  }

  async function waitSettled(ids: bigint[], timeoutMs = 180_000): Promise<void> {
    try {
      await until(
        `jobs ${ids.join(", ")} to be fulfilled (logs in ${work})`,
        async () => (await Promise.all(ids.map(async (id) => Number((await market.jobOf(id)).status)))).every((s) => s === JobStatus.Fulfilled),
        timeoutMs,
        250,
      );
    } catch (e) {
      // Post-mortem: where each queue's jobs are.
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
      client.on("error", () => undefined);
      try {
        await client.connect();
        for (const key of (await client.keys("chaos:*")).filter((k) => /:(wait|active|delayed|prioritized|failed|paused)$/.test(k)).sort()) {
          const type = await client.type(key);
          const items = type === "list" ? await client.lrange(key, 0, -1) : type === "zset" ? await client.zrange(key, 0, -1) : [];
          console.log(`      queue ${key}: ${items.join(" ")}`);
        }
      } finally {
        client.disconnect();
      }
      throw e;
    }
  }

  /** The relayer's transactions on the canonical chain since `from`, decoded: kind, on-chain job id, nonce, status. */
  async function relayerTxs(from = deployBlock) {
    const head = await provider.getBlockNumber();
    const out: { kind: string; jobId: bigint; nonce: number; hash: string; ok: boolean }[] = [];
    for (let b = from; b <= head; b++) {
      const block = await provider.getBlock(b, true);
      for (const tx of block!.prefetchedTransactions) {
        if (tx.from.toLowerCase() !== relayerAddress.toLowerCase()) continue;
        const call = market.interface.parseTransaction(tx);
        const jobId = call?.name === "lockWithSignature" ? (call.args[0] as bigint) : call?.name === "fulfilWithSignature" ? (call.args[0].jobId as bigint) : -1n;
        const receipt = await provider.getTransactionReceipt(tx.hash);
        out.push({ kind: call?.name === "lockWithSignature" ? "lock" : call?.name === "fulfilWithSignature" ? "fulfil" : "other", jobId, nonce: tx.nonce, hash: tx.hash, ok: receipt!.status === 1 });
      }
    }
    return out;
  }

  /** Each of `ids` was locked and fulfilled exactly once, by exactly one successful relayer transaction each. */
  async function expectSettledOnce(ids: bigint[], from: number): Promise<void> {
    const txs = await relayerTxs(from);
    for (const id of ids) {
      expect(await market.queryFilter(market.filters.JobLocked(id), from), `JobLocked(${id})`).to.have.length(1);
      expect(await market.queryFilter(market.filters.JobFulfilled(id), from), `JobFulfilled(${id})`).to.have.length(1);
      for (const kind of ["lock", "fulfil"]) {
        const mine = txs.filter((t) => t.jobId === id && t.kind === kind);
        expect(mine.map((t) => t.ok), `relayer ${kind} transactions for job ${id}`).to.deep.equal([true]);
      }
    }
    expect(txs.filter((t) => !t.ok), "reverted relayer transactions").to.deep.equal([]);
    checked(`jobs ${ids.join(", ")}: one JobLocked, one JobFulfilled, one successful relayer lock and fulfil transaction each (${txs.length} relayer txs scanned)`);
  }

  /** No nonce gap: every transaction the relayer's key signed is mined (pending count == mined count). */
  async function expectNoNonceGap(): Promise<void> {
    const [latest, pending] = await Promise.all([provider.getTransactionCount(relayerAddress, "latest"), provider.getTransactionCount(relayerAddress, "pending")]);
    expect(pending, "relayer pending nonce").to.equal(latest);
    checked(`relayer nonce: ${latest} mined, none pending (no gap, nothing stuck)`);
  }

  before(async () => {
    run = await startLocalStack("chaos", { durableRedis: true });
    ({ work, redis, chain, stack } = run);
    proxy = await startRpcProxy(chain.url);
    run.services.push({ name: "rpc proxy", port: proxy.port, url: proxy.url, stop: () => proxy.close() });
    signers = await stack.connection.ethers.getSigners();
    provider = stack.connection.ethers.provider;
    market = InferenceMarket__factory.connect(stack.addresses.market, signers[0]!);
    deployBlock = await provider.getBlockNumber();
    for (const [name, { modelId, circuit }] of Object.entries(stack.models)) {
      modelIds[name] = modelId;
      const held = await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), circuit.inputs.count, "sample");
      rows[name] = held.map((r) => r.map((v) => floatToFelt(v, circuit.inputs.scale)));
    }
    // Short locks so a killed process's job is handed back in seconds; two confirmations on both sides so a
    // reorg of up to two blocks is absorbed; a stuck transaction is replaced after 4 s.
    const config = path.join(work, "config.json");
    await writeFile(
      config,
      JSON.stringify({ operator: { jobLockMs: 3000, confirmations: 2 }, relayer: { jobLockMs: 5000, confirmations: 2, stuckAfterMs: 4000 } }),
    );
    // Through the proxy, so the endpoint can be cut.
    env = { ...stackEnv(run, "chaos", proxy.url), VERDICT_CONFIG: config, VERDICT_LOG_LEVEL: "info" };
    await start("relayer");
    await start("operator");
  });

  after(async function () {
    try {
      if (!stack) return;
      await mining(true).catch(() => undefined);
      // Jobs lost: every job on the canonical chain must end fulfilled (each test waits for its jobs to settle).
      const created = await market.queryFilter(market.filters.JobCreated(), deployBlock);
      // A slasher bot (review T-4): any job left locked is slashed, so the slash count below can be non-zero.
      await slashStillLocked(market, provider, created.map((e) => e.args.jobId));
      const statuses = await Promise.all(created.map(async (e) => [e.args.jobId, Number((await market.jobOf(e.args.jobId)).status)] as const));
      const lost = statuses.filter(([, s]) => s !== JobStatus.Fulfilled);
      // Honest operators slashed: slash events from the market or the staking contract, or a dev operator's stake below what it staked.
      const staking = OperatorStaking__factory.connect(stack.addresses.staking, provider);
      const operators = stack.operatorKeys.map((k) => new Wallet(k).address);
      const slashEvents = (await market.queryFilter(market.filters.JobSlashed(), deployBlock)).length + (await staking.queryFilter(staking.filters.Slashed(), deployBlock)).length;
      const stakeShort = (await Promise.all(operators.map(async (o) => (await staking.operatorOf(o)).staked))).filter((s) => s < STAKE).length;
      const slashed = Math.max(slashEvents, stakeShort);
      const txs = await relayerTxs();
      const keys = txs.map((t) => `${t.kind}-${t.jobId}`);
      const duplicates = keys.length - new Set(keys).size;
      console.log("\n      chaos summary");
      console.log(`        faults injected:          ${faults.length}${faults.length ? ` (${faults.map((f) => f.name).join("; ")})` : ""}`);
      console.log(`        faults survived:          ${faults.filter((f) => f.survived).length}`);
      console.log(`        jobs settled:             ${statuses.length - lost.length} of ${statuses.length}`);
      console.log(`        jobs lost:                ${lost.length}${lost.length ? ` (${lost.map(([id, s]) => `${id}: status ${s}`).join(", ")})` : ""}`);
      console.log(`        honest operators slashed: ${slashed}`);
      console.log(`        duplicate relayer txs:    ${duplicates} (of ${txs.length}; ${txs.filter((t) => !t.ok).length} reverted)`);
      console.log(`        logs:                     ${work}\n`);
      expect(lost.length, "jobs lost").to.equal(0);
      expect(slashed, "honest operators slashed").to.equal(0);
    } finally {
      await run?.stop();
    }
  });

  // A failed test must not leave the chain with mining paused for the next one.
  afterEach(async () => {
    if (provider) await mining(true);
  });

  /** Runs a fault test and records it for the summary: survived only if every check in it passed. */
  function fault(name: string, title: string, body: () => Promise<void>): void {
    it(title, async () => {
      const entry = { name, survived: false };
      faults.push(entry);
      await body();
      entry.survived = true;
    });
  }

  fault("operator SIGKILL mid-proof", "an operator SIGKILLed mid-proof is restarted and completes the job before its deadline, without a second submission", async () => {
    const from = await provider.getBlockNumber();
    const id = await post("wine-classifier");
    // "proving" is logged by the prove job as ezkl starts: the kill lands while it proves.
    await waitLog("operator", `the operator to start proving job ${id}`, (l) => l.msg === "proving" && l.jobId === String(id));
    await kill("operator");
    const provedBefore = (await logLines(running.operator.log)).some((l) => l.msg === "proved" && l.jobId === String(id));
    injected(`SIGKILL to the operator as job ${id} entered proving (proof ${provedBefore ? "had just finished" : "unfinished"} when it died); operator restarted`);
    await start("operator");
    await waitSettled([id]);
    const job = await market.jobOf(id);
    expect(Number(job.finalizedAt)).to.be.at.most(Number(job.deadline));
    checked(`job ${id} fulfilled at ${job.finalizedAt}, before its deadline ${job.deadline}`);
    await expectSettledOnce([id], from);
  });

  fault("Redis SIGKILL + restart (AOF)", "Redis SIGKILLed mid-job and restarted from its append-only file loses no job: in-flight and posted-while-down jobs settle", async () => {
    const from = await provider.getBlockNumber();
    const client = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    client.on("error", () => undefined);
    await client.connect();
    const operator = new Wallet(DEV_KEYS.operators[0]!).address.toLowerCase();
    const cursorKey = `chaos:watch:${(await provider.getNetwork()).chainId}:${operator}:cursor`;
    const evaluated = `chaos:evaluate-${operator}:completed`;
    const inFlight = await post("diabetes-regressor");
    await waitLog("operator", `the operator to lock job ${inFlight}`, (l) => l.msg === "locked" && l.jobId === String(inFlight));
    const evaluatedBefore = await client.zcard(evaluated);
    client.disconnect();
    redis.kill!("SIGKILL");
    await redis.stop();
    const whileDown = await post("wine-classifier");
    injected(`SIGKILL to redis-server with job ${inFlight} locked and mid-pipeline; job ${whileDown} posted while Redis was down; Redis restarted on the same port and data dir`);
    redis = await startLocalRedis({ dataDir: path.join(work, "redis"), port: redis.port });
    run!.services.push(redis);
    const after = new Redis(redis.url);
    try {
      expect(await after.get(cursorKey), "watcher cursor").to.not.equal(null);
      expect(await after.zcard(evaluated), "completed evaluate jobs").to.be.at.least(evaluatedBefore);
      checked(`the append-only file brought back the watcher's cursor and the queues' history (${evaluatedBefore} evaluated jobs)`);
    } finally {
      after.disconnect();
    }
    await waitSettled([inFlight, whileDown]);
    await expectSettledOnce([inFlight, whileDown], from);
  });

  fault("relayer SIGKILL after broadcast", "a relayer SIGKILLed right after broadcasting is restarted: no duplicate transaction, its nonce is recovered, the job settles once", async () => {
    const from = await provider.getBlockNumber();
    // Blocks only on demand from here on, so the lock transaction waits in the mempool: the kill is surely after
    // its broadcast and before it is mined.
    await rpc("evm_setIntervalMining", [0]);
    const id = await post("wine-classifier");
    await rpc("evm_setAutomine", [false]);
    const nonce = await provider.getTransactionCount(relayerAddress, "latest");
    await mine(2); // the operator acts on the job at two confirmations
    // Kill only once the relayer has logged the send: the node holds the transaction some milliseconds before that
    // line reaches the log file, so waiting on the pending nonce alone killed the relayer in between about one run
    // in four (the broadcast done, its log line never written, and the test failing for want of it).
    const sent = await waitLog("relayer", `the relayer to broadcast job ${id}'s lock`, (l) => l.msg === "transaction sent" && l.jobId === String(id) && l.kind === "lock");
    expect(await provider.getTransactionCount(relayerAddress, "pending"), "the node's pending nonce once the lock is sent").to.equal(nonce + 1);
    await kill("relayer");
    expect(sent.nonce).to.equal(nonce);
    const pendingTx = await provider.getTransaction(sent.txHash as string);
    expect(pendingTx?.blockNumber ?? null, "the broadcast lock is pending").to.equal(null);
    injected(`SIGKILL to the relayer with job ${id}'s lock ${String(sent.txHash).slice(0, 10)}… broadcast at nonce ${nonce} and unmined; relayer restarted with mining still paused`);
    await start("relayer");
    // The restarted relayer takes the relay job over once the dead one's BullMQ lock expires.
    const resumed = await waitLog("relayer", `the restarted relayer to resume job ${id}'s lock`, (l) => l.jobId === String(id) && l.kind === "lock" && String(l.msg).startsWith("resuming a transaction"));
    await mining(true);
    await mine(1);
    await waitSettled([id]);
    await expectSettledOnce([id], from);
    const txs = await relayerTxs(from);
    const lock = txs.find((t) => t.kind === "lock" && t.jobId === id)!;
    const fulfil = txs.find((t) => t.kind === "fulfil" && t.jobId === id)!;
    expect(lock.nonce, "the lock mined at the nonce it was broadcast with").to.equal(nonce);
    expect(fulfil.nonce, "the restarted relayer's next transaction uses the next nonce").to.equal(nonce + 1);
    expect(await metric("relayer", "verdict_relayer_nonce_errors_total"), "nonce errors in the restarted relayer").to.equal(0);
    checked(`restarted relayer: "${resumed.msg}"; the lock mined once at nonce ${nonce} (${lock.hash === sent.txHash ? "the transaction broadcast before the kill" : "a same-nonce replacement"}), its next transaction (the fulfilment) used nonce ${nonce + 1}, 0 nonce errors`);
    await expectNoNonceGap();
  });

  fault("stuck transaction", "a stuck transaction is replaced at the same nonce with a higher fee, and the job settles once", async () => {
    const from = await provider.getBlockNumber();
    const replacedBefore = await metric("relayer", "verdict_relayer_tx_replaced_total");
    await rpc("evm_setIntervalMining", [0]);
    const id = await post("diabetes-regressor");
    await rpc("evm_setAutomine", [false]);
    await mine(2);
    const sent = await waitLog("relayer", `the relayer to send job ${id}'s lock`, (l) => l.msg === "transaction sent" && l.jobId === String(id) && l.kind === "lock");
    injected(`mining paused with job ${id}'s lock ${String(sent.txHash).slice(0, 10)}… in the mempool at nonce ${sent.nonce} (maxFeePerGas ${sent.maxFeePerGas})`);
    await until("verdict_relayer_tx_replaced_total to rise", async () => (await metric("relayer", "verdict_relayer_tx_replaced_total")) > replacedBefore, 60_000, 250);
    const replaced = (await logLines(running.relayer.log)).find((l) => l.jobId === String(id) && typeof l.msg === "string" && l.msg.includes("replaced with higher fees"))!;
    expect(replaced.nonce, "replacement nonce").to.equal(sent.nonce);
    expect(BigInt(replaced.maxFeePerGas as string) * 100n, "replacement fee").to.be.at.least(BigInt(sent.maxFeePerGas as string) * 110n);
    const inPool = await provider.getTransaction(replaced.txHash as string);
    expect(inPool?.nonce).to.equal(sent.nonce);
    expect(inPool?.maxFeePerGas).to.equal(BigInt(replaced.maxFeePerGas as string));
    checked(`verdict_relayer_tx_replaced_total rose; replacement ${String(replaced.txHash).slice(0, 10)}… in the mempool at the same nonce ${sent.nonce}, maxFeePerGas ${sent.maxFeePerGas} -> ${replaced.maxFeePerGas}`);
    await mining(true);
    await mine(1);
    await waitSettled([id]);
    await expectSettledOnce([id], from);
    const lock = (await relayerTxs(from)).find((t) => t.kind === "lock" && t.jobId === id)!;
    expect(lock.nonce).to.equal(sent.nonce);
    expect(lock.hash, "the mined lock is a replacement").to.not.equal(sent.txHash);
    checked(`the lock mined as a replacement ${lock.hash.slice(0, 10)}… at nonce ${lock.nonce}`);
    await expectNoNonceGap();
  });

  fault("reorg of depth 2", "a reorg of two blocks (within the confirmation depth) neither acts on the orphaned job nor misses the new fork's job", async () => {
    const from = await provider.getBlockNumber();
    await rpc("evm_setIntervalMining", [0]); // automine only: blocks come from transactions, nothing else
    const kept = await post("diabetes-regressor");
    await mine(1);
    const snapshot = (await rpc("evm_snapshot")) as string;
    const forkPoint = await provider.getBlockNumber();
    // One block on top of `kept`'s two: the operator acts on `kept` (its lock is mined, one confirmation of the
    // relayer's two), while `orphan` (one block deep) is not yet final.
    const orphan = await post("wine-classifier");
    await until(`job ${kept}'s lock to be mined`, async () => Number((await market.jobOf(kept)).status) === JobStatus.Locked, 60_000);
    const head = await provider.getBlockNumber();
    await rpc("evm_revert", [snapshot]);
    expect(await provider.getBlockNumber()).to.equal(forkPoint);
    injected(`evm_revert of blocks ${forkPoint + 1}..${head} (depth ${head - forkPoint}): job ${orphan} (wine-classifier) and job ${kept}'s mined lock orphaned; the relayer's nonce on chain back by one`);
    const orphanGone = await market.jobOf(orphan).then(
      () => false,
      (e: Error) => /UnknownJob/.test(e.message),
    );
    expect(orphanGone, `job ${orphan} is unknown after the revert`).to.equal(true);
    expect(Number((await market.jobOf(kept)).status), "kept job after its lock was reorged out").to.equal(JobStatus.Open);
    // The new fork: another job takes the same id.
    const replacement = await post("diabetes-regressor");
    expect(replacement).to.equal(orphan);
    await mining(true);
    await waitSettled([kept, replacement]);
    await expectSettledOnce([kept, replacement], from);
    const created = await market.queryFilter(market.filters.JobCreated(replacement), from);
    expect(created.map((e) => Number(e.args.modelId))).to.deep.equal([modelIds["diabetes-regressor"]]);
    const lines = await logLines(running.operator.log);
    const seen = lines.filter((l) => l.msg === "job seen" && l.jobId === String(replacement));
    expect(seen.length, `"job seen" lines for job ${replacement}`).to.be.at.least(1);
    expect(seen.every((l) => l.modelId === modelIds["diabetes-regressor"]), "the operator only ever saw the new fork's job").to.equal(true);
    const taken = lines.filter((l) => l.msg === "taking job" && l.jobId === String(replacement));
    expect(taken.map((l) => l.modelId)).to.deep.equal([modelIds["diabetes-regressor"]]);
    checked(`the operator never saw the orphaned wine-classifier job ${orphan}; it took the new fork's diabetes-regressor job ${replacement} once, and re-locked job ${kept} after its lock was reorged out`);
    // The revert took the key's nonce back under the relayer's feet: its next fresh send is refused once as
    // "nonce too high", which is how the nonce manager learns of it (it re-syncs from the chain); no more than that.
    const nonceErrors = await metric("relayer", "verdict_relayer_nonce_errors_total");
    expect(nonceErrors, "relayer nonce errors").to.be.at.most(1);
    checked(`the relayer re-synced its nonce after the revert with ${nonceErrors} refused send`);
    await expectNoNonceGap();
  });

  fault("RPC endpoint down 30 s", "the RPC endpoint unreachable for 30 s: the services recover by themselves and settle in-flight and posted-while-down jobs", async () => {
    const from = await provider.getBlockNumber();
    const inFlight = await post("wine-classifier");
    await waitLog("operator", `the operator to lock job ${inFlight}`, (l) => l.msg === "locked" && l.jobId === String(inFlight));
    await proxy.cut();
    const cutAt = Date.now();
    const whileDown = await post("diabetes-regressor"); // straight to the node
    injected(`RPC endpoint cut for ${RPC_OUTAGE_MS / 1000} s (connections reset, then refused) with job ${inFlight} locked and mid-pipeline; job ${whileDown} posted to the node meanwhile`);
    const unready = await until("both services to report the outage on /readyz", async () => {
      const [r, o] = await Promise.all([httpGet("relayer", "/readyz"), httpGet("operator", "/readyz")]);
      return r.status === 503 && o.status === 503 ? [r.status, o.status] : undefined;
    }, 20_000, 500);
    // Liveness stays green: an RPC outage is no reason to restart the service (review S2-6).
    const live = await Promise.all([httpGet("relayer", "/livez"), httpGet("operator", "/livez")]);
    expect(live.map((r) => r.status), "livez during the outage").to.deep.equal([200, 200]);
    checked(`during the outage /readyz answered ${unready.join(" / ")} and /livez 200 / 200 (relayer / operator)`);
    await sleep(Math.max(0, RPC_OUTAGE_MS - (Date.now() - cutAt)));
    await proxy.restore();
    await waitSettled([inFlight, whileDown]);
    const [r, o] = await Promise.all([httpGet("relayer", "/readyz"), httpGet("operator", "/readyz")]);
    expect([r.status, o.status], "readyz after the outage").to.deep.equal([200, 200]);
    for (const kind of ["relayer", "operator"] as const) {
      const ready = (await logLines(running[kind].log)).filter((l) => l.msg === `${kind} ready`);
      expect(ready, `${kind} not restarted`).to.have.length(1);
    }
    checked(`endpoint restored after ${((Date.now() - cutAt) / 1000).toFixed(0)} s; both jobs settled by the same relayer and operator processes (not restarted); /readyz 200 / 200`);
    await expectSettledOnce([inFlight, whileDown], from);
    await expectNoNonceGap();
  });
});
