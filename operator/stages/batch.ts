// batch — the prove stage's grouping step for a locked job of a model with batch circuits. Consumes: that job (its
// input). Produces: "prove it alone" (the single circuit), a wait (the job is deferred, at most
// operator.batchWindowMs and only while every job of its group still meets its deadline), or one batch proof for
// the group, handed to `verify` for each job of the group with its own slot (submit then sends one FulfilBatch).
// State lives in this operator's Redis, so prove workers on other machines group the same jobs: per model a sorted
// set of waiting jobs (joined at, ms) with their data, a short lock around each decision, and per job a claim (the
// group it is being proven in, expiring with the proof's lease): a job whose batch was lost (its prover died)
// waits again once the claim expires, and a job whose batch failed is proven alone.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { jobKey } from "../../shared/queues.js";
import { batchSlot, prove as proveInference } from "../../zk/runtime/prover.js";
import type { BatchCircuit } from "../catalog.js";
import { advance, jobInput, type JobData, type OperatorContext } from "../pipeline.js";
import { blockSeconds, chainTime, confirmationsFor, stillMine } from "../reconcile.js";
import type { Outcome } from "../stage.js";
import { checkProven } from "./prove.js";

/** A locked job waiting for others of its model. */
export interface Waiting {
  jobId: string;
  /** Its deadline, chain seconds. */
  deadline: number;
  /** When it started waiting, ms since epoch. */
  joinedAt: number;
}

export interface BatchPlanInput {
  /** The job deciding: the plan is for the group it belongs to. */
  me: string;
  /** Every job of the model waiting for a batch, `me` included. */
  waiting: readonly Waiting[];
  /** Slots of the model's batch circuits, ascending. */
  sizes: readonly number[];
  windowMs: number;
  nowMs: number;
  /** Chain time, seconds. */
  chainNow: number;
  /** Proving seconds a proof of `slots` jobs rarely exceeds (1: the single circuit), as admission plans with. */
  proveSeconds: (slots: number) => number;
  /** Seconds for the fulfilment to be included and confirmed. */
  submitSeconds: number;
  marginSeconds: number;
}

export type BatchPlan = { action: "wait"; untilMs: number; reason: string } | { action: "prove"; jobIds: string[]; slots: number; reason: string };

/**
 * Whether `me` waits for more jobs of its model or is proven now, alone (slots 1) or with its group (the smallest
 * batch circuit that holds it). Jobs are grouped earliest deadline first, as many as the largest circuit holds. A
 * group is proven once it is full, once its first job has waited `windowMs`, or once waiting for one more job would
 * leave a deadline unmet; a group whose batch proof would miss a deadline is not formed (`me` goes alone).
 */
export function planBatch(p: BatchPlanInput): BatchPlan {
  const alone = (reason: string): BatchPlan => ({ action: "prove", jobIds: [p.me], slots: 1, reason });
  const max = p.sizes.at(-1);
  if (p.windowMs <= 0 || max === undefined) return alone("batching is off for this model");
  const order = [...p.waiting].sort((a, b) => a.deadline - b.deadline || a.joinedAt - b.joinedAt || a.jobId.localeCompare(b.jobId));
  const at = order.findIndex((w) => w.jobId === p.me);
  if (at < 0) return alone("not among the waiting jobs");
  const group = order.slice(at - (at % max), at - (at % max) + max);
  const slotsFor = (n: number) => (n === 1 ? 1 : p.sizes.find((s) => s >= n)!);
  const firstDeadline = Math.min(...group.map((w) => w.deadline));
  const slack = (slots: number) => firstDeadline - p.proveSeconds(slots) - p.submitSeconds - p.marginSeconds - p.chainNow;
  const proveNow = (reason: string): BatchPlan =>
    group.length === 1 ? alone(reason) : { action: "prove", jobIds: group.map((w) => w.jobId), slots: slotsFor(group.length), reason };
  if (group.length > 1 && slack(slotsFor(group.length)) < 0) {
    return alone(`a batch of ${group.length} needs ~${Math.ceil(p.proveSeconds(slotsFor(group.length)))} s of proving: the deadline in ${firstDeadline - p.chainNow} s would be missed`);
  }
  if (group.length === max) return proveNow(`group full (${max} jobs)`);
  const windowEnd = Math.min(...group.map((w) => w.joinedAt)) + p.windowMs;
  if (p.nowMs >= windowEnd) return proveNow(`the batch window (${p.windowMs} ms) is over with ${group.length} job(s)`);
  const spare = slack(slotsFor(group.length + 1));
  if (spare <= 0) return proveNow(`no time to wait for another job: deadline in ${firstDeadline - p.chainNow} s`);
  return { action: "wait", untilMs: Math.min(windowEnd, p.nowMs + spare * 1000), reason: `${group.length} of up to ${max} jobs: waiting for more of the model` };
}

/** A group's claim on its jobs while one of them (the leader) proves them. */
interface Claim {
  leader: string;
  jobIds: string[];
  until: number;
}

function keys(ctx: OperatorContext, modelId: number) {
  const operator = `${ctx.config.queuePrefix}:batch:${ctx.chain.chainId}:${ctx.address.toLowerCase()}`;
  return {
    waiting: `${operator}:${modelId}:waiting`,
    data: `${operator}:${modelId}:data`,
    lock: `${operator}:${modelId}:lock`,
    claim: (jobId: string) => `${operator}:claim:${jobId}`,
    /** Set when a batch this job was in failed: it is proven alone from then on. */
    alone: (jobId: string) => `${operator}:alone:${jobId}`,
  };
}
type Keys = ReturnType<typeof keys>;

const DECISION_LOCK_MS = 10_000;
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const DAY_MS = 24 * 3600 * 1000;

/** Runs `fn` holding the model's decision lock, or returns undefined when another decision holds it too long. */
async function underLock<T>(ctx: OperatorContext, key: string, fn: () => Promise<T>): Promise<T | undefined> {
  const token = randomUUID();
  for (let i = 0; i < 40; i++) {
    if (await ctx.redis.set(key, token, "PX", DECISION_LOCK_MS, "NX")) {
      try {
        return await fn();
      } finally {
        await ctx.redis.eval(RELEASE, 1, key, token);
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

/** Removes a job from its model's waiting set (it was proven, or is no longer this operator's to prove). */
export async function leaveBatch(ctx: OperatorContext, data: JobData): Promise<void> {
  const k = keys(ctx, data.modelId);
  await ctx.redis.multi().zrem(k.waiting, data.jobId).hdel(k.data, data.jobId).exec();
}

/**
 * The batching step of `data`'s prove stage: "alone" when it is to be proven alone with the single circuit, else
 * the stage's outcome (a wait, or its group proven and handed on to verify).
 */
export async function batchStep(ctx: OperatorContext, data: JobData, batches: BatchCircuit[], log: Logger): Promise<Outcome | "alone"> {
  const k = keys(ctx, data.modelId);
  const claim = await readClaim(ctx, k, data.jobId);
  if (claim && claim.leader !== data.jobId) {
    return { outcome: "deferred", reason: `in a batch of ${claim.jobIds.join(", ")} being proven`, retryAt: claim.until, quiet: true };
  }
  // This job led a batch and its prover died (a stage runs once at a time): the group waits again.
  if (claim) await releaseClaims(ctx, k, claim.jobIds);
  // Its group's leader proved it and handed it on while it waited.
  if (await ctx.queues.verify.getJob(jobKey(data.chainId, data.jobId))) return { outcome: "advanced" };
  if (await ctx.redis.exists(k.alone(data.jobId))) return "alone";
  await ctx.redis.multi().zadd(k.waiting, "NX", Date.now(), data.jobId).hset(k.data, data.jobId, JSON.stringify(data)).exec();
  const decided = await underLock(ctx, k.lock, () => decide(ctx, k, data, batches));
  if (!decided) return { outcome: "deferred", reason: "another batch decision holds the lock", retryAt: Date.now() + 250, quiet: true };
  if (decided === "alone" || !("group" in decided)) return decided;
  return proveGroup(ctx, k, data, decided.group, decided.batch, log);
}

/** Plans for `data`'s group under the decision lock and claims the group when it is to be proven now. */
async function decide(ctx: OperatorContext, k: Keys, data: JobData, batches: BatchCircuit[]): Promise<Outcome | "alone" | { group: JobData[]; batch: BatchCircuit }> {
  const [scored, chainNow, block] = await Promise.all([ctx.redis.zrange(k.waiting, 0, -1, "WITHSCORES"), chainTime(ctx), blockSeconds(ctx)]);
  const ids = scored.filter((_, i) => i % 2 === 0);
  const stored = ids.length ? await ctx.redis.hmget(k.data, ...ids) : [];
  const members = new Map<string, JobData>();
  const waiting: Waiting[] = [];
  for (const [i, id] of ids.entries()) {
    const m = stored[i] ? (JSON.parse(stored[i]!) as JobData) : undefined;
    // Past its deadline (or its data lost), a job would only keep its group from forming.
    if (!m || m.deadline < chainNow) {
      await ctx.redis.multi().zrem(k.waiting, id).hdel(k.data, id).exec();
      continue;
    }
    members.set(id, m);
    waiting.push({ jobId: id, deadline: m.deadline, joinedAt: Number(scored[2 * i + 1]) });
  }
  const sizes = batches.map((b) => b.slots);
  const bounds = new Map(await Promise.all([1, ...sizes].map(async (s) => [s, await ctx.catalog.proveBound(data.modelId, s)] as const)));
  const cfg = ctx.config.operator;
  const submitSeconds = block * (confirmationsFor(ctx) + 1);
  const plan = planBatch({
    me: data.jobId,
    waiting,
    sizes,
    windowMs: cfg.batchWindowMs,
    nowMs: Date.now(),
    chainNow,
    proveSeconds: (s) => bounds.get(s)!,
    submitSeconds,
    marginSeconds: cfg.deadlineMarginSeconds,
  });
  if (plan.action === "wait") return { outcome: "deferred", reason: plan.reason, retryAt: plan.untilMs };
  await ctx.redis.multi().zrem(k.waiting, ...plan.jobIds).hdel(k.data, ...plan.jobIds).exec();
  if (plan.slots === 1) return "alone";
  // The claim lapses in time for each job to still be proven alone should the batch's prover die, though never
  // before the batch proof itself could be done.
  const batchSeconds = bounds.get(plan.slots)!;
  const aloneSlack = Math.min(...plan.jobIds.map((id) => members.get(id)!.deadline)) - chainNow - bounds.get(1)! - submitSeconds - cfg.deadlineMarginSeconds;
  const until = Date.now() + Math.max(batchSeconds * 2, Math.min(batchSeconds * 3 + 60, aloneSlack)) * 1000;
  const claim = JSON.stringify({ leader: data.jobId, jobIds: plan.jobIds, until } satisfies Claim);
  const tx = ctx.redis.multi();
  for (const id of plan.jobIds) tx.set(k.claim(id), claim, "PX", until - Date.now());
  await tx.exec();
  return { group: plan.jobIds.map((id) => members.get(id)!), batch: batches.find((b) => b.slots === plan.slots)! };
}

async function readClaim(ctx: OperatorContext, k: Keys, jobId: string): Promise<Claim | undefined> {
  const raw = await ctx.redis.get(k.claim(jobId));
  return raw ? (JSON.parse(raw) as Claim) : undefined;
}

/** Ends a group's claim and wakes its waiting jobs' prove stages (they find themselves handed on, or wait again). */
async function releaseClaims(ctx: OperatorContext, k: Keys, jobIds: string[]): Promise<void> {
  await ctx.redis.del(...jobIds.map(k.claim));
  for (const id of jobIds) {
    const job = await ctx.queues.prove.getJob(jobKey(ctx.chain.chainId, id));
    if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
  }
}

/**
 * Proves `group` (claimed by `leader`) with one proof of `batch`: the jobs' input rows stacked in slot order, the
 * slots past them padded with the last row (bound to no job), each slot checked against its job (input bound,
 * outputs agree with onnxruntime), then every job handed to verify with its slot. Jobs no longer this operator's
 * leave the group first. A batch that fails is not tried again for these jobs: each is proven alone.
 */
async function proveGroup(ctx: OperatorContext, k: Keys, leader: JobData, claimed: JobData[], batch: BatchCircuit, log: Logger): Promise<Outcome> {
  const mine = await Promise.all(claimed.map((d) => stillMine(ctx, d)));
  const group = claimed.filter((_, i) => mine[i]!.ok);
  const jobIds = group.map((d) => d.jobId);
  try {
    if (group.length < 2) throw new Error(`only ${group.length} job(s) of the group are still this operator's`);
    const rows = group.map((d) => jobInput(ctx, d).input);
    while (rows.length < batch.slots) rows.push(rows.at(-1)!);
    const timeoutMs = Math.max(1000, (Math.min(...group.map((d) => d.deadline)) - (await chainTime(ctx))) * 1000);
    const t0 = performance.now();
    const result = await ctx.provers.use((bridge) => proveInference(batch.circuit, rows.flat(), { timeoutMs, bridge }));
    const seconds = (performance.now() - t0) / 1000;
    const slots = await Promise.all(
      group.map(async (d, s) => {
        const slot = batchSlot(result, batch.circuit, batch.slots, s);
        return { ...slot, floatOutputs: await checkProven(ctx, d, slot.inputs, slot.outputs, log) };
      }),
    );
    await ctx.catalog.recordProveSeconds(leader.modelId, seconds, batch.slots);
    ctx.metrics.proveSeconds.observe({ model: batch.circuit.name }, seconds);
    log.info({ jobIds, batchId: batch.batchId, slots: batch.slots, seconds: Number(seconds.toFixed(2)), proofBytes: (result.proof.length - 2) / 2 }, "batch proved");
    const instances = result.instances.map(String);
    for (const [s, d] of group.entries()) {
      const { outputs, floatOutputs } = slots[s]!;
      await advance(ctx, "verify", { ...d, proof: result.proof, instances, outputs, floatOutputs, proveSeconds: seconds, batch: { batchId: batch.batchId, slot: s, jobIds } });
    }
  } catch (e) {
    const tx = ctx.redis.multi();
    for (const d of group) tx.set(k.alone(d.jobId), "1", "PX", DAY_MS);
    await tx.exec();
    await releaseClaims(ctx, k, claimed.map((d) => d.jobId));
    log.warn({ err: e, jobIds }, "batch not proven: each of its jobs is proven alone");
    return { outcome: "deferred", reason: "batch failed: proving alone", retryAt: Date.now() };
  }
  await releaseClaims(ctx, k, claimed.map((d) => d.jobId));
  return jobIds.includes(leader.jobId) ? { outcome: "advanced" } : { outcome: "skipped", reason: "no longer this operator's job" };
}
