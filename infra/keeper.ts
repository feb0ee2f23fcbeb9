// The keeper: a third party that closes jobs the moment it can: it tries to slash a Locked job as soon as the
// lock holder's deadline has passed (the market refuses until the secondary-fulfilment window has closed too, at
// `expiryOf`, and it tries again then) and refunds an Open job once its lock deadline has passed. Tests run it
// next to honest operators to prove that nobody honest can be slashed, however eager the slasher.
// Cheap on RPC: each new block costs one eth_blockNumber, one eth_getLogs over the new blocks only (job state
// kept in memory from the market's events) and one eth_getBlockByNumber; simulations and sends only for due jobs.
// As a process: `tsx infra/keeper.ts --rpc <url> --deployments <dir> [--from-block N]`, key in VERDICT_KEEPER_KEY.
import { Command } from "commander";
import { isError, Transaction, type Log, type Signer } from "ethers";
import { pathToFileURL } from "node:url";
import { NonceManager } from "../relayer/nonceManager.js";
import { connect, deployment } from "../shared/chain.js";
import { createLogger, type Logger } from "../shared/logger.js";
import { InferenceMarket__factory, type InferenceMarket } from "../types/ethers-contracts/index.js";

export interface KeeperStats {
  /** Slashes the keeper tried (simulated), and of those the ones refused: reverted in simulation or on chain. */
  slashAttempts: number;
  slashesRefused: number;
  slashed: number;
  refundAttempts: number;
  refundsRefused: number;
  refunded: number;
}

export interface KeeperOptions {
  /** Sends slash and refund transactions; its provider reads the chain. */
  signer: Signer;
  market: string;
  /** First block whose market events are read (the market's deployment block; 0 scans the whole chain once). */
  fromBlock: number;
  pollMs?: number;
  log?: Logger;
}

export interface Keeper {
  stats(): KeeperStats;
  /** Jobs not yet final that the keeper follows. */
  tracked(): number;
  stop(): Promise<void>;
}

type Action = "slash" | "refund";
interface TrackedJob {
  status: "open" | "locked";
  lockDeadline: bigint;
  /** When a slash is next worth trying: the lock holder's deadline, then (after a refusal) the market's expiry. */
  slashAfter: bigint;
  /** InferenceMarket.expiryOf: the deadline plus the secondary window (as long as the lock window). */
  expiry: bigint;
}

// Providers cap eth_getLogs ranges; 2,000 blocks is accepted everywhere (the catch-up from fromBlock only).
const MAX_RANGE = 2_000;
// A transaction of ours with no receipt after this many blocks is taken for never sent.
const FORGET_AFTER_BLOCKS = 20;
const EVENTS = ["JobCreated", "JobLocked", "JobFulfilled", "JobSlashed", "JobRefunded"] as const;

/** Revert evidence (revert data, even empty): anything else that fails a simulation is the RPC, and is retried. */
function reverted(e: unknown): boolean {
  return isError(e, "CALL_EXCEPTION") && e.data != null;
}

export function startKeeper(opts: KeeperOptions): Keeper {
  const provider = opts.signer.provider;
  if (!provider) throw new Error("keeper: the signer needs a provider");
  const market: InferenceMarket = InferenceMarket__factory.connect(opts.market, opts.signer);
  const log = opts.log ?? createLogger("keeper", "silent");
  const topics = [EVENTS.map((name) => market.interface.getEvent(name).topicHash)];
  const jobs = new Map<bigint, TrackedJob>();
  /** Our transactions not yet mined, apart from `jobs`: the job's closing event may arrive before we read the receipt. */
  const nonces = new NonceManager(opts.signer);
  const inFlight = new Map<bigint, { action: Action; hash: string; sentAt: number }>();
  /** What was tried, once each: a refund per job, a slash per job and window (at the deadline, at the expiry). */
  const attempted: Record<Action, Set<string>> = { slash: new Set(), refund: new Set() };
  const counts = { slashesRefused: 0, slashed: 0, refundsRefused: 0, refunded: 0 };
  let cursor = opts.fromBlock - 1;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const apply = (entry: Log) => {
    const ev = market.interface.parseLog(entry);
    if (!ev) return;
    const jobId = ev.args.jobId as bigint;
    if (ev.name === "JobCreated") {
      const [lockDeadline, deadline] = [ev.args.lockDeadline as bigint, ev.args.deadline as bigint];
      jobs.set(jobId, { status: "open", lockDeadline, slashAfter: deadline, expiry: 2n * deadline - lockDeadline });
    } else if (ev.name === "JobLocked") {
      const job = jobs.get(jobId);
      if (job) job.status = "locked";
    } else {
      jobs.delete(jobId); // final: fulfilled, slashed or refunded (by us or anyone)
    }
  };

  const refused = (jobId: bigint, action: Action, why: string) => {
    counts[action === "slash" ? "slashesRefused" : "refundsRefused"]++;
    const job = jobs.get(jobId);
    // A slash refused before the expiry is tried once more after it; any other refusal is final: the market said
    // no for a job it knows better than our view of it.
    if (action === "slash" && job && job.slashAfter < job.expiry) job.slashAfter = job.expiry;
    else jobs.delete(jobId);
    log.warn({ jobId: jobId.toString(), action, why }, `${action} refused`);
  };

  /** Counts our transactions from their receipts. */
  const checkInFlight = async () => {
    for (const [jobId, { action, hash, sentAt }] of inFlight) {
      const receipt = await provider.getTransactionReceipt(hash);
      if (!receipt) {
        // Never reached the node (the broadcast failed): the job is acted on again if it is still due.
        if (cursor - sentAt > FORGET_AFTER_BLOCKS) inFlight.delete(jobId);
        continue;
      }
      inFlight.delete(jobId);
      if (receipt.status === 1) {
        counts[action === "slash" ? "slashed" : "refunded"]++;
        jobs.delete(jobId);
        log.info({ jobId: jobId.toString(), action, tx: hash }, `${action} mined`);
      } else {
        refused(jobId, action, `reverted on chain in ${hash}`);
      }
    }
  };

  const act = async (jobId: bigint, action: Action) => {
    attempted[action].add(action === "slash" ? `${jobId}@${jobs.get(jobId)?.slashAfter}` : String(jobId));
    const fn = action === "slash" ? market.slash : market.refund;
    let gas: bigint;
    try {
      gas = await fn.estimateGas(jobId);
    } catch (e) {
      if (reverted(e)) return refused(jobId, action, "reverted in simulation");
      throw e;
    }
    // The estimate is the simulation; a margin keeps a send from running out of gas on a slightly different state.
    const unsigned = await fn.populateTransaction(jobId, { gasLimit: (gas * 12n) / 10n });
    // Nonces counted locally: a node's "pending" count need not include its mempool (EDR with interval mining
    // does not), and several jobs fall due in the same block.
    const hash = await nonces.send(async (nonce) => {
      const signed = await opts.signer.signTransaction(await opts.signer.populateTransaction({ ...unsigned, nonce }));
      // Remembered before the broadcast: a send whose answer is lost (an RPC error after the node took it) is
      // still found by its hash, rather than counted as nothing.
      const txHash = Transaction.from(signed).hash!;
      inFlight.set(jobId, { action, hash: txHash, sentAt: cursor });
      await provider.broadcastTransaction(signed);
      return txHash;
    });
    log.info({ jobId: jobId.toString(), action, tx: hash }, `${action} sent`);
  };

  const tick = async () => {
    const head = await provider.getBlockNumber();
    if (head <= cursor) return;
    for (let from = cursor + 1; from <= head; from += MAX_RANGE) {
      const to = Math.min(from + MAX_RANGE - 1, head);
      for (const entry of await provider.getLogs({ address: opts.market, topics, fromBlock: from, toBlock: to })) apply(entry);
      cursor = to;
    }
    const block = await provider.getBlock(head);
    if (!block) return;
    await checkInFlight();
    // Due once the head itself is past the deadline: the market compares with `>` and any later block is later still.
    const now = BigInt(block.timestamp);
    for (const [jobId, job] of jobs) {
      if (inFlight.has(jobId)) continue;
      const action: Action | undefined = job.status === "locked" ? (now > job.slashAfter ? "slash" : undefined) : now > job.lockDeadline ? "refund" : undefined;
      // One job's RPC failure must not hold up the others; it is retried next block.
      if (action) await act(jobId, action).catch((e: unknown) => log.debug({ jobId: jobId.toString(), err: e }, `${action} not sent; retrying`));
    }
  };

  const loop = async () => {
    if (stopped) return;
    running = tick().catch((e: unknown) => log.debug({ err: e }, "keeper tick failed; retrying"));
    await running;
    if (!stopped) timer = setTimeout(() => void loop(), opts.pollMs ?? 1000);
  };
  void loop();

  return {
    stats: () => ({ slashAttempts: attempted.slash.size, refundAttempts: attempted.refund.size, ...counts }),
    tracked: () => jobs.size,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

async function main(): Promise<void> {
  const cli = new Command("keeper")
    .description("slashes overdue locked jobs and refunds expired open ones; key in VERDICT_KEEPER_KEY (default: the local node's account 0)")
    .requiredOption("--rpc <url>", "JSON-RPC endpoint")
    .option("--deployments <dir>", "folder with chain-<id>/deployed_addresses.json")
    .option("--from-block <n>", "first block to read market events from", "0")
    .option("--poll-ms <n>", "how often to look for a new block", "1000")
    .parse();
  const o = cli.opts<{ rpc: string; deployments?: string; fromBlock: string; pollMs: string }>();
  const log = createLogger("keeper", process.env.VERDICT_LOG_LEVEL ?? "info");
  const chain = await connect(o.rpc, process.env.VERDICT_KEEPER_KEY);
  const { market } = await deployment(chain.chainId, o.deployments);
  const keeper = startKeeper({ signer: chain.signer, market, fromBlock: Number(o.fromBlock), pollMs: Number(o.pollMs), log });
  log.info({ market, address: await chain.signer.getAddress() }, "keeper ready");
  const shutdown = async () => {
    await keeper.stop();
    log.info({ ...keeper.stats() }, "keeper stopped");
    chain.provider.destroy();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown()).once("SIGTERM", () => void shutdown());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
