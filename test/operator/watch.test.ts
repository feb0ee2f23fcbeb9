// The watcher on a fake chain (real Redis and BullMQ queues, logs encoded with the market's real ABI): bounded
// scans a provider accepts, a fresh start where a job could still be live rather than at genesis, the reorg
// rewind, every lock naming this operator given a pipeline whenever it mines (review S1-2, S1-8), and blocks whose
// logs bloom rules the market out passed over without a request. The head poller (operator/snapshot.ts) on a fake
// node: one request per block; and the bloom test against blocks of a real EDR chain.
import { expect } from "chai";
import { id, solidityPackedKeccak256, Wallet, ZeroHash } from "ethers";
import type { Queue } from "bullmq";
import { network } from "hardhat";
import type { JobData, OperatorContext, Stage } from "../../operator/pipeline.js";
import { bloomMayContain, ChainHead } from "../../operator/snapshot.js";
import { JobWatcher } from "../../operator/stages/watch.js";
import { JobStatus } from "../../shared/enums.js";
import { InferenceMarket__factory } from "../../types/ethers-contracts/index.js";
import { operatorQueues, suiteRedis, type OperatorQueues } from "../fixtures/operatorQueues.js";

const MARKET = Wallet.createRandom().address;
const iface = InferenceMarket__factory.createInterface();
const EMPTY_BLOOM = `0x${"00".repeat(256)}`;
const FULL_BLOOM = `0x${"ff".repeat(256)}`;

const BLOCK_SECONDS = 12;
const MAX_JOB_DURATION = 3600n; // 300 blocks
const PROVIDER_RANGE_LIMIT = 100;
const INPUT = [1n, 2n];
/** Chain time when each test starts (block 10,000). */
const T0 = 10_000 * BLOCK_SECONDS;

const silent: unknown = { info: () => undefined, warn: () => undefined, debug: () => undefined, child: () => silent };

interface FakeEvent {
  kind: "created" | "locked";
  blockNumber: number;
  jobId: bigint;
  /** Lock holder (this operator by default). */
  operator?: string;
}

describe("watcher (fake chain, real Redis)", function () {
  this.timeout(60_000);
  const redis = suiteRedis();
  const address = Wallet.createRandom().address;
  let ctx: OperatorContext;
  let queues: Record<Stage, Queue<JobData>>;
  let pipeline: OperatorQueues;
  let head: number;
  let events: FakeEvent[];
  /** Block hashes by number; a reorg changes some. */
  let forks: Map<number, string>;
  let scanned: [number, number][];
  let refusals: number;
  /** Headers the fake head poller holds, by number (a bloom each); none by default. */
  let headers: Map<number, { hash: string; logsBloom: string }>;

  const hashOf = (n: number) => forks.get(n) ?? `0x${n.toString(16).padStart(64, "0")}`;
  const job = (jobId: bigint) => ({
    jobId,
    modelId: 1n,
    input: INPUT,
    token: "0x0000000000000000000000000000000000000000",
    price: 1n,
    collateral: 5n,
    lockDeadline: BigInt(T0 + 600),
    deadline: BigInt(T0 + 1800),
  });


  beforeEach(() => {
    pipeline = operatorQueues(redis().url, address, "watch");
    const { connection, prefix } = pipeline;
    queues = pipeline.queues;
    head = 10_000;
    events = [];
    forks = new Map();
    scanned = [];
    refusals = 0;
    headers = new Map();
    const logOf = (e: FakeEvent) => {
      const j = job(e.jobId);
      const { data, topics } =
        e.kind === "created"
          ? iface.encodeEventLog("JobCreated", [j.jobId, address, j.modelId, j.token, j.price, j.collateral, j.lockDeadline, j.deadline, j.input, ZeroHash])
          : iface.encodeEventLog("JobLocked", [e.jobId, e.operator ?? address, j.collateral]);
      return { address: MARKET, data, topics, blockNumber: e.blockNumber };
    };
    const block = (n: number) => (n > head ? null : { number: n, hash: hashOf(n), timestamp: n * BLOCK_SECONDS, baseFeePerGas: 1n });
    ctx = {
      address,
      redis: connection,
      queues,
      config: { queuePrefix: prefix, operator: { confirmations: 1, startBlock: 0, pollIntervalMs: 1000 } },
      log: silent,
      metrics: { watcherLag: { set: () => undefined } },
      snapshot: {
        head: { current: async () => ({ number: head }), header: (n: number) => headers.get(n), blockSeconds: () => undefined, fresh: () => undefined },
      },
      chain: {
        chainId: 31337n,
        provider: {
          getBlock: async (n: number | "latest") => block(n === "latest" ? head : n),
          getLogs: async ({ topics, fromBlock: from, toBlock: to }: { topics: string[][]; fromBlock: number; toBlock: number }) => {
            if (to - from + 1 > PROVIDER_RANGE_LIMIT) {
              refusals++;
              throw new Error(`query exceeds max block range ${PROVIDER_RANGE_LIMIT}`);
            }
            scanned.push([from, to]);
            return events.filter((e) => e.blockNumber >= from && e.blockNumber <= to).map(logOf).filter((l) => topics[0]!.includes(l.topics[0]!));
          },
        },
      },
      market: {
        target: MARKET,
        interface: iface,
        maxJobDuration: async () => MAX_JOB_DURATION,
        jobOf: async () => ({
          status: BigInt(JobStatus.Locked),
          operator: address,
          modelId: 1n,
          inputHash: solidityPackedKeccak256(["uint256[]"], [INPUT]),
          collateral: 5n,
          deadline: job(0n).deadline,
          lockDeadline: job(0n).lockDeadline,
        }),
      },
    } as unknown as OperatorContext;
  });
  afterEach(() => pipeline.close());

  const evaluated = async () => (await queues.evaluate.getJobs(["waiting", "prioritized"])).map((j) => j.data.jobId).sort();

  it("a fresh operator starts where a job can still be live (head - maxJobDuration), never at genesis", async () => {
    events.push({ kind: "created", blockNumber: 50, jobId: 1n }, { kind: "created", blockNumber: 9_800, jobId: 2n });
    await new JobWatcher(ctx).tick();
    expect(Math.min(...scanned.map(([from]) => from))).to.equal(head - Number(MAX_JOB_DURATION) / BLOCK_SECONDS);
    expect(await evaluated()).to.deep.equal(["2"]);
  });

  it("halves a log range the provider refuses until it passes, and misses no event", async () => {
    for (let i = 0; i < 30; i++) events.push({ kind: "created", blockNumber: 9_700 + i * 10, jobId: BigInt(i + 1) });
    const watcher = new JobWatcher(ctx);
    await watcher.tick();
    expect(refusals).to.be.greaterThan(0);
    expect(Math.max(...scanned.map(([from, to]) => to - from + 1))).to.be.at.most(PROVIDER_RANGE_LIMIT);
    expect(scanned.at(-1)![1], "scanned up to head - confirmations").to.equal(head - 1);
    expect((await evaluated()).length).to.equal(30);
    expect(watcher.lastScanAt, "ready once it reached the head").to.be.greaterThan(0);
  });

  it("rewinds and rescans after a reorg replaced blocks it had scanned", async () => {
    const watcher = new JobWatcher(ctx);
    await watcher.tick();
    // Blocks head-1 and head-2 are replaced; the new fork has a job the old one did not.
    forks.set(head - 1, `0x${"ab".repeat(32)}`).set(head - 2, `0x${"cd".repeat(32)}`);
    events.push({ kind: "created", blockNumber: head - 2, jobId: 7n });
    head += 1;
    await watcher.tick();
    expect(await evaluated()).to.deep.equal(["7"]);
  });

  it("gives every JobLocked naming this operator a pipeline, whenever it mines", async () => {
    const watcher = new JobWatcher(ctx);
    events.push({ kind: "created", blockNumber: head - 5, jobId: 3n });
    await watcher.tick();
    // The lock mines later, after the lock stage stopped waiting for it: nothing queued it for proving.
    head += 10;
    events.push({ kind: "locked", blockNumber: head - 3, jobId: 3n });
    await watcher.tick();
    const proving = await queues.prove.getJob("31337-3");
    expect(proving, "a prove job for the late lock").to.not.equal(undefined);
    expect(proving!.data.operator).to.equal(address);
  });
});

describe("watcher: blocks the logs bloom rules out cost no request (fake chain, real Redis)", function () {
  // Shares the fake chain of the suite above through a small re-creation: only what the bloom path needs.
  this.timeout(60_000);
  const redis = suiteRedis();
  const address = Wallet.createRandom().address;
  let pipeline: OperatorQueues;
  afterEach(() => pipeline.close());

  it("passes over known headers whose bloom holds no market event, scans the one whose bloom may, and misses no job", async () => {
    pipeline = operatorQueues(redis().url, address, "watch-bloom");
    const head = 1_000;
    const created = iface.encodeEventLog("JobCreated", [5n, address, 1n, ZeroHash.slice(0, 42), 1n, 5n, 10_000n, 20_000n, [1n, 2n], ZeroHash]);
    const scans: [number, number][] = [];
    // Blocks 990..1000 known to the head poller; only block 995 holds a market log.
    const headers = new Map<number, { hash: string; logsBloom: string }>();
    for (let n = 990; n <= head; n++) headers.set(n, { hash: id(`block ${n}`), logsBloom: n === 995 ? FULL_BLOOM : EMPTY_BLOOM });
    const ctx = {
      address,
      redis: pipeline.connection,
      queues: pipeline.queues,
      config: { queuePrefix: pipeline.prefix, operator: { confirmations: 1, startBlock: 990, pollIntervalMs: 1000 } },
      log: silent,
      metrics: { watcherLag: { set: () => undefined } },
      snapshot: { head: { current: async () => ({ number: head }), header: (n: number) => headers.get(n), blockSeconds: () => 12, fresh: () => undefined } },
      chain: {
        chainId: 31337n,
        provider: {
          getBlock: async () => {
            throw new Error("no block read expected: the headers are known");
          },
          getLogs: async ({ fromBlock, toBlock }: { fromBlock: number; toBlock: number }) => {
            scans.push([fromBlock, toBlock]);
            return fromBlock <= 995 && 995 <= toBlock ? [{ address: MARKET, ...created, blockNumber: 995 }] : [];
          },
        },
      },
      market: { target: MARKET, interface: iface, maxJobDuration: async () => 120n },
    } as unknown as OperatorContext;
    const watcher = new JobWatcher(ctx);
    await watcher.tick();
    expect(scans, "one getLogs, for the range holding the only matching block").to.deep.equal([[990, 999]]);
    expect((await pipeline.queues.evaluate.getJobs(["waiting"])).map((j) => j.data.jobId)).to.deep.equal(["5"]);
    // The next block: its bloom rules the market out, so the scan costs nothing.
    scans.length = 0;
    await watcher.tick();
    expect(scans, "no request for a block without market logs").to.deep.equal([]);
  });
});

describe("logs bloom on a real chain (EDR)", () => {
  it("bloomMayContain finds an emitted event's address and topic in its block's bloom, and rules out others", async () => {
    const { ethers } = await network.getOrCreate();
    const [owner] = await ethers.getSigners();
    const token = await ethers.deployContract("DemoToken", [owner!.address]);
    const receipt = await (await token.mint(owner!.address, 1n)).wait();
    const raw = (await ethers.provider.send("eth_getBlockByNumber", [`0x${receipt!.blockNumber.toString(16)}`, false])) as { logsBloom: string };
    const transfer = token.interface.getEvent("Transfer").topicHash;
    expect(bloomMayContain(raw.logsBloom, await token.getAddress(), [transfer])).to.equal(true);
    expect(bloomMayContain(raw.logsBloom, MARKET, [transfer]), "another address").to.equal(false);
    expect(bloomMayContain(raw.logsBloom, await token.getAddress(), [iface.getEvent("JobCreated").topicHash]), "another event").to.equal(false);
  });
});

describe("head poller (fake node, 1 s blocks)", function () {
  this.timeout(30_000);

  it("asks for the head about once per block, and announces every new head once", async () => {
    const BLOCK_MS = 1000;
    const genesis = Date.now();
    let requests = 0;
    const numberAt = () => Math.floor((Date.now() - genesis) / BLOCK_MS);
    const node = {
      send: async (method: string) => {
        expect(method).to.equal("eth_getBlockByNumber");
        requests++;
        const n = numberAt();
        const hex = (x: number) => `0x${x.toString(16)}`;
        return { number: hex(n), hash: id(`b${n}`), parentHash: id(`b${n - 1}`), timestamp: hex(Math.floor((genesis + n * BLOCK_MS) / 1000)), baseFeePerGas: "0x1", logsBloom: EMPTY_BLOOM };
      },
    };
    const head = new ChainHead(node, BLOCK_MS);
    const seen: number[] = [];
    head.onBlock((h) => seen.push(h.number));
    head.start();
    await new Promise((r) => setTimeout(r, 8 * BLOCK_MS));
    head.stop();
    const blocks = numberAt();
    console.log(`      ${requests} head requests over ${blocks} blocks`);
    expect(seen, "each head once, in order").to.deep.equal([...new Set(seen)].sort((a, b) => a - b));
    expect(seen.length).to.be.at.least(blocks - 1);
    // Timestamps have whole-second resolution, so a poll is sometimes a little early: at most one retry in two.
    expect(requests).to.be.at.most(Math.ceil(blocks * 1.5));
  });
});

describe("head poller on a reorg (fake node)", () => {
  it("forgets the headers of a replaced fork, so their hashes are read from the chain again, and announces the new head", async () => {
    let reply: { n: number; tag: string; parent: string } = { n: 1, tag: "a", parent: "a" };
    const hex = (x: number) => `0x${x.toString(16)}`;
    const node = {
      send: async () => ({ number: hex(reply.n), hash: id(`${reply.tag}${reply.n}`), parentHash: id(`${reply.parent}${reply.n - 1}`), timestamp: hex(1000 + reply.n), baseFeePerGas: "0x1", logsBloom: EMPTY_BLOOM }),
    };
    const head = new ChainHead(node, 1000);
    const seen: string[] = [];
    head.onBlock((h) => seen.push(`${h.number}:${h.hash.slice(0, 6)}`));
    for (const n of [1, 2, 3]) {
      reply = { n, tag: "a", parent: "a" };
      await head.poll();
    }
    expect(head.header(2)?.hash).to.equal(id("a2"));
    await head.poll(); // the same head again: nothing new
    expect(seen).to.have.length(3);
    // Block 3 is replaced by a block of fork b on top of a2, then 4 on top of b3.
    reply = { n: 3, tag: "b", parent: "a" };
    await head.poll();
    expect(head.header(3)?.hash, "the new block 3").to.equal(id("b3"));
    expect(head.header(2), "headers of the old view are forgotten").to.equal(undefined);
    reply = { n: 4, tag: "b", parent: "b" };
    await head.poll();
    expect(head.latest?.hash).to.equal(id("b4"));
    expect(seen).to.have.length(5);
  });
});

describe("head poller's block time (fake node)", () => {
  it("is the median seconds per block over the kept headers: one long gap (a halt, a dev chain's time jump) does not stretch it", async () => {
    const hex = (x: number) => `0x${x.toString(16)}`;
    // 12 s blocks, one of them 120 s after its parent; block 7 is never seen (the poller skipped it).
    const times = new Map([[1, 1000], [2, 1012], [3, 1024], [4, 1144], [5, 1156], [6, 1168], [8, 1192]]);
    let n = 1;
    const node = { send: async () => ({ number: hex(n), hash: id(`c${n}`), parentHash: id(`c${n - 1}`), timestamp: hex(times.get(n)!), baseFeePerGas: "0x1", logsBloom: EMPTY_BLOOM }) };
    const head = new ChainHead(node, 1000);
    await head.poll();
    expect(head.blockSeconds(), "one block: no time yet").to.equal(undefined);
    for (n of [2, 3, 4, 5, 6, 8]) await head.poll();
    // The mean would be (1192 - 1000) / 7 = 27.4 s.
    expect(head.blockSeconds()).to.equal(12);
  });
});
