// Reconciliation with the chain, done before every stage's work and every transaction: the queue's copy of a
// job may be stale (fulfilled by us before a crash, lock lost, expired), or after a reorg deeper than the
// confirmation depth even describe another job under the same id (job ids are sequential): the chain is the truth.
import { solidityPackedKeccak256 } from "ethers";
import type { JobData, OperatorContext } from "./pipeline.js";
import { JobStatus } from "../shared/enums.js";

export type Verdict = { ok: true } | { ok: false; reason: string };

type OnChainJob = Awaited<ReturnType<OperatorContext["market"]["jobOf"]>>;

/**
 * The chain's time from the head poller while it is fresh and not past `deadline`; undefined otherwise. A stage
 * that may act on a job without reading it again (the relayer simulates before sending) asks this first.
 */
export function freshTimeBefore(ctx: OperatorContext, deadline: number): number | undefined {
  const head = ctx.snapshot.head.fresh();
  return head && head.timestamp <= deadline ? head.timestamp : undefined;
}

/** The chain's time: the latest block's timestamp, from the process's head poller while it is fresh (no request). */
export async function chainTime(ctx: OperatorContext): Promise<number> {
  const fresh = ctx.snapshot.head.fresh();
  if (fresh) return fresh.timestamp;
  const block = await ctx.chain.provider.getBlock("latest");
  return block?.timestamp ?? Math.floor(Date.now() / 1000);
}

/**
 * Depth the watcher acts at when operator.confirmations is unset. A job evaluated on a block that is then reorged
 * away costs at most a lock the relayer's simulation refuses: a lock binds the job's terms (an id reused by
 * another job does not match them) and every stage compares the chain's job with the queued one. So the depth
 * only saves wasted work, never a slash: 1 on Ethereum and its testnets (single-slot reorgs happen daily, deeper
 * ones almost never); 0 on rollups whose sequencer orders blocks (OP Mainnet, Base, Arbitrum One) and on local
 * development chains; 1 on any other chain.
 */
const CONFIRMATIONS_BY_CHAIN: Record<string, number> = { "1": 1, "11155111": 1, "17000": 1, "10": 0, "8453": 0, "42161": 0, "31337": 0 };
const OTHER_CHAIN_CONFIRMATIONS = 1;

/** The watcher's confirmation depth: operator.confirmations, or this chain's default. */
export function confirmationsFor(ctx: Pick<OperatorContext, "config" | "chain">): number {
  return ctx.config.operator.confirmations ?? CONFIRMATIONS_BY_CHAIN[ctx.chain.chainId.toString()] ?? OTHER_CHAIN_CONFIRMATIONS;
}

/** Blocks measured over, and how long a measured block time is reused. */
const BLOCK_SAMPLE = 20;
const BLOCK_TIME_TTL_MS = 60_000;
const blockTimes = new WeakMap<OperatorContext, { seconds: number; at: number }>();

/**
 * The chain's recent average block time in seconds (at least 1): from the head poller's recent headers, or else
 * measured over the last BLOCK_SAMPLE blocks at most once a minute.
 */
export async function blockSeconds(ctx: OperatorContext): Promise<number> {
  const seen = ctx.snapshot.head.blockSeconds();
  if (seen !== undefined) return seen;
  const cached = blockTimes.get(ctx);
  if (cached && Date.now() - cached.at < BLOCK_TIME_TTL_MS) return cached.seconds;
  const head = await ctx.chain.provider.getBlock("latest");
  const span = Math.min(BLOCK_SAMPLE, head?.number ?? 0);
  const past = span > 0 ? await ctx.chain.provider.getBlock(head!.number - span) : null;
  const seconds = head && past ? Math.max(1, (head.timestamp - past.timestamp) / span) : 1;
  blockTimes.set(ctx, { seconds, at: Date.now() });
  return seconds;
}

/** The job on-chain under this id is the one the queue describes (model, input, collateral, deadlines). */
function sameJob(job: OnChainJob, data: JobData): Verdict {
  const differs = (what: string, chain: unknown, queued: unknown): Verdict => ({
    ok: false,
    reason: `job ${data.jobId} on-chain is not the queued one (${what} ${String(chain)} vs ${String(queued)}): reorged and replaced`,
  });
  if (Number(job.modelId) !== data.modelId) return differs("model", job.modelId, data.modelId);
  const inputHash = solidityPackedKeccak256(["uint256[]"], [data.input]);
  if (job.inputHash !== inputHash) return differs("input hash", job.inputHash, inputHash);
  if (job.collateral.toString() !== data.collateral) return differs("collateral", job.collateral, data.collateral);
  if (Number(job.deadline) !== data.deadline || Number(job.lockDeadline) !== data.lockDeadline) return differs("deadline", job.deadline, data.deadline);
  return { ok: true };
}

/** The job as the chain holds it now, and the chain's time: one read both verdicts below decide on. */
export interface ChainView {
  job: OnChainJob;
  now: number;
}

/** Reads of jobs at the head block this process knows (by its hash): a job's state only changes with a block. */
const reads = new WeakMap<OperatorContext, { hash: string; byJob: Map<string, Promise<ChainView>> }>();

/**
 * The job at the head, read once per block however many stages and rechecks ask (a waiting lock or fulfilment
 * looks every half block); the chain's time comes from the head poller. Without a fresh head (a prove worker
 * that runs no poller) it is read each time.
 */
export async function readJob(ctx: OperatorContext, data: JobData): Promise<ChainView> {
  const head = ctx.snapshot.head.fresh();
  const read = async () => {
    const [job, now] = await Promise.all([ctx.market.jobOf(data.jobId), chainTime(ctx)]);
    return { job, now };
  };
  if (!head) return read();
  let block = reads.get(ctx);
  if (block?.hash !== head.hash) reads.set(ctx, (block = { hash: head.hash, byJob: new Map() }));
  const { byJob } = block;
  let view = byJob.get(data.jobId);
  if (!view) {
    view = read();
    byJob.set(data.jobId, view);
    view.catch(() => byJob.delete(data.jobId));
  }
  return view;
}

/** The job is still open for locking, and is the job the queue describes. */
export function openVerdict(data: JobData, { job, now }: ChainView): Verdict {
  if (Number(job.status) !== JobStatus.Open) return { ok: false, reason: `job is no longer open (status ${job.status})` };
  const same = sameJob(job, data);
  if (!same.ok) return same;
  if (now > Number(job.lockDeadline)) return { ok: false, reason: `lock deadline passed ${now - Number(job.lockDeadline)} s ago` };
  return { ok: true };
}

/** The job is locked by this operator, its deadline has not passed, and it is the job the queue describes. */
export function mineVerdict(ctx: OperatorContext, data: JobData, { job, now }: ChainView): Verdict {
  if (Number(job.status) === JobStatus.Fulfilled) return { ok: false, reason: "already fulfilled" };
  if (Number(job.status) !== JobStatus.Locked) return { ok: false, reason: `job is not locked (status ${job.status})` };
  if (job.operator.toLowerCase() !== ctx.address.toLowerCase()) return { ok: false, reason: `lock held by ${job.operator}` };
  const same = sameJob(job, data);
  if (!same.ok) return same;
  if (now > Number(job.deadline)) return { ok: false, reason: `deadline passed ${now - Number(job.deadline)} s ago` };
  return { ok: true };
}

/**
 * A job proven while its lock was on its way (operator.proveWhileLocking: no `operator` yet) that is not locked by
 * us yet still open to lock: the lock stage may still land it (a lock sent again), so it waits instead of being
 * dropped.
 */
export function lockStillToCome(data: JobData, view: ChainView): boolean {
  return data.operator === undefined && data.lockRelay !== undefined && openVerdict(data, view).ok;
}

export async function stillOpen(ctx: OperatorContext, data: JobData): Promise<Verdict> {
  return openVerdict(data, await readJob(ctx, data));
}

export async function stillMine(ctx: OperatorContext, data: JobData): Promise<Verdict> {
  return mineVerdict(ctx, data, await readJob(ctx, data));
}
