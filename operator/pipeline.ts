// The operator's pipeline state: what a job carries from stage to stage, the shared context every stage gets,
// and how a job moves on (idempotent BullMQ job id, earliest-deadline-first priority).
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { relayOutcomeKey, type RelayStore } from "../relayer/store.js";
import type { RelayOutcome, RelayRequest, RelayResult, RelaySent } from "../relayer/types.js";
import type { Chain } from "../shared/chain.js";
import type { Config } from "../shared/config.js";
import { jobKey } from "../shared/queues.js";
import { blockSeconds } from "./reconcile.js";
import type { InferenceMarket, ModelRegistry, OperatorStaking } from "../types/ethers-contracts/index.js";
import type { CircuitArtifacts } from "../zk/runtime/artifacts.js";
import type { WarmBridgePool } from "../zk/runtime/bridge.js";
import type { WitnessChecker } from "../zk/runtime/checker.js";
import { feltToFloat } from "../zk/runtime/felt.js";
import { VerdictError } from "../shared/errors.js";
import type { ModelCatalog } from "./catalog.js";
import type { ChainSnapshot } from "./snapshot.js";
import type { OutcomeWakeups } from "./wakeups.js";

/** The pipeline's stages, in order; each is a queue per operator (queueName). */
export const STAGES = ["evaluate", "lock", "prove", "verify", "submit"] as const;
export type Stage = (typeof STAGES)[number];

/** BullMQ states of a job still on its way through a stage (queued, running, or waiting to be looked at again). */
export const PENDING_STATES = ["waiting", "active", "prioritized", "delayed"] as const;

/** BullMQ job data: small, JSON, and enough for any stage to reconcile with the chain on its own. */
export interface JobData {
  chainId: string;
  jobId: string;
  modelId: number;
  /** Input felts as decimal strings, as posted on-chain. */
  input: string[];
  token: string;
  price: string;
  collateral: string;
  lockDeadline: number;
  deadline: number;
  /** The job's terms digest from its JobCreated event: a lock names it (review M-2). */
  terms?: string;
  /** Set once this operator holds the lock (unset on a job proven while its lock was on its way). */
  operator?: string;
  /** The lock request handed to the relayer (lock stage), and until when its signature is valid. */
  lockRelay?: { id: string; validUntil: number };
  /** The fulfilment handed to the relayer (submit stage). */
  fulfilRelay?: string;
  /** onnxruntime's float outputs, set by the prove stage (which compared them with the proven ones). */
  floatOutputs?: number[];
  proof?: string;
  instances?: string[];
  outputs?: number[];
  proveSeconds?: number;
  /** Set when the proof is one batch proof for several jobs (operator/stages/batch.ts): `proof` and `instances`
   * are the batch's, `outputs` this job's slot; jobIds[k] is the job on slot k (slots past them are padding). */
  batch?: { batchId: number; slot: number; jobIds: string[] };
}

export interface OperatorMetrics {
  jobs: Counter<"stage" | "outcome">;
  stageSeconds: Histogram<"stage">;
  proveSeconds: Histogram<"model">;
  gasUsed: Counter<"kind">;
  queueDepth: Gauge<"queue">;
  balanceEth: Gauge;
  freeStake: Gauge;
  watcherLag: Gauge;
  refused: Counter<"model" | "reason">;
}

export function operatorMetrics(registry: Registry): OperatorMetrics {
  const r = { registers: [registry] };
  return {
    jobs: new Counter({ name: "verdict_operator_jobs_total", help: "jobs leaving a stage, by outcome", labelNames: ["stage", "outcome"], ...r }),
    stageSeconds: new Histogram({ name: "verdict_operator_stage_seconds", help: "time spent in each stage", labelNames: ["stage"], buckets: [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300], ...r }),
    proveSeconds: new Histogram({ name: "verdict_operator_prove_seconds", help: "ezkl proving time", labelNames: ["model"], buckets: [0.5, 1, 2, 5, 10, 30, 60, 300], ...r }),
    gasUsed: new Counter({ name: "verdict_operator_gas_used_total", help: "gas of this operator's mined locks and fulfilments", labelNames: ["kind"], ...r }),
    queueDepth: new Gauge({ name: "verdict_operator_queue_depth", help: "waiting + active jobs per queue", labelNames: ["queue"], ...r }),
    balanceEth: new Gauge({ name: "verdict_operator_balance_eth", help: "withdrawable market balance of the operator (ether)", ...r }),
    freeStake: new Gauge({ name: "verdict_operator_free_stake_tokens", help: "stake not reserved as collateral (whole tokens)", ...r }),
    watcherLag: new Gauge({ name: "verdict_operator_watcher_lag_blocks", help: "blocks between the chain head and the watcher's cursor", ...r }),
    refused: new Counter({
      name: "verdict_operator_refused_total",
      help: "jobs refused because the circuit cannot prove their input, or its proven output disagrees with onnxruntime beyond the model's tolerance",
      labelNames: ["model", "reason"],
      ...r,
    }),
  };
}

export interface OperatorContext {
  config: Config;
  log: Logger;
  chain: Chain;
  /** The operator's address (signs locks and fulfilments). */
  address: string;
  market: InferenceMarket;
  registry: ModelRegistry;
  staking: OperatorStaking;
  catalog: ModelCatalog;
  redis: Redis;
  queues: Record<Stage, Queue<JobData>>;
  relay: Queue<RelayRequest, RelaySent | RelayOutcome>;
  /** Where the relayer publishes outcomes (the relay queue's Redis and prefix). */
  relayStore: RelayStore;
  metrics: OperatorMetrics;
  /** Warm provers, one per parallel proof (operator.proveConcurrency). */
  provers: WarmBridgePool;
  /** The evaluate stage's witness checks, on a warm ezkl process of their own so they never wait behind a proof. */
  checker: WitnessChecker;
  /** Chain state for evaluation, read once per block. */
  snapshot: ChainSnapshot;
  /** Wakes a stage waiting for the relayer's outcome when it is published (the operator service starts it). */
  wakeups?: OutcomeWakeups;
}

/**
 * Queue name of a stage: every queue belongs to one operator (key, models, stake). Shared evaluate and lock queues
 * let an operator skip a job another could take (the job id then hid it from the others) and take a lock job it
 * could not prove (review S1-4); operators now race for a job only on-chain, where the contract decides.
 */
export function queueName(stage: Stage, operator: string): string {
  return `${stage}-${operator.toLowerCase()}`;
}

/** BullMQ priorities run from 1 to 2^21 - 1 (lower first). */
const MAX_PRIORITY = 2 ** 21 - 1;
/** Deadlines are ranked from an epoch that moves every 2^20 s (~12 days), so any deadline within ~12 days fits. */
const PRIORITY_EPOCH = 2 ** 20;

/**
 * BullMQ priority (lower runs first) from the job's deadline itself, so locked jobs are worked earliest-deadline
 * first whenever they were queued. "Seconds left at enqueue time" let a job queued later with a later deadline
 * overtake one queued earlier (review S1-5).
 */
export function edfPriority(deadline: number, nowSeconds = Math.floor(Date.now() / 1000)): number {
  const epoch = Math.floor(nowSeconds / PRIORITY_EPOCH) * PRIORITY_EPOCH - PRIORITY_EPOCH;
  return Math.min(Math.max(deadline - epoch, 1), MAX_PRIORITY);
}

/** The job's model circuit and its input as floats (the on-chain felts decoded at the model's input scale). */
export function jobInput(ctx: OperatorContext, data: JobData): { circuit: CircuitArtifacts; input: number[] } {
  const entry = ctx.catalog.get(data.modelId);
  // Never retried: an operator that does not serve the model cannot prove the job, however often it tries.
  if (!entry) throw new VerdictError("MODEL_NOT_SERVED", `model ${data.modelId} is not one this operator proves`);
  const { circuit } = entry;
  return { circuit, input: data.input.map((f) => feltToFloat(BigInt(f), circuit.inputs.scale)) };
}

/**
 * Retries of a failed stage: exponential backoff from 1 s, capped at STAGE_BACKOFF_CAP_MS, for as many attempts as
 * a job's life allows. Every stage first reconciles with the chain, so once the deadline has passed (or the job
 * was settled) an attempt ends as "skipped" instead of failing; until then an RPC outage of any length is ridden
 * out (10 attempts, ~8.5 min, failed locked jobs for good in a longer one: review S1-3).
 */
const STAGE_ATTEMPTS = 200;
export const STAGE_BACKOFF_CAP_MS = 30_000;
export function stageBackoff(attemptsMade: number): number {
  return Math.min(STAGE_BACKOFF_CAP_MS, 1000 * 2 ** Math.max(0, attemptsMade - 1));
}

/** Hands `data` to `stage`; the job id makes a repeated hand-over a no-op. */
export async function advance(ctx: OperatorContext, stage: Stage, data: JobData): Promise<void> {
  await ctx.queues[stage].add(stage, data, {
    jobId: jobKey(data.chainId, data.jobId),
    priority: stage === "evaluate" ? undefined : edfPriority(data.deadline),
    attempts: STAGE_ATTEMPTS,
    backoff: { type: "capped" },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  });
}

/**
 * Hands a signed request to the relayer without waiting: the relay job completes at broadcast and the relayer's
 * inclusion tracker publishes the outcome; the stage that sent it comes back (a deferred job) to read it, so no
 * worker slot is held while a block is awaited (issue 14). `relayId` names this very request: a request that
 * differs (a lock re-signed with a new validity) gets a new id (review S1-3). Sending a request again (it failed,
 * or was mined and then reorged out) forgets its earlier outcome and job first: BullMQ would answer a known id
 * with the old job. The stage has just reconciled with the chain, and the relayer simulates before sending (and
 * never sends a request still in flight), so this is safe. `waiting`: the stage job that comes back for the outcome,
 * woken when it is published.
 */
export async function sendToRelayer(ctx: OperatorContext, request: RelayRequest, relayId: string, waiting?: { stage: Stage; data: JobData }): Promise<void> {
  if (waiting) ctx.wakeups?.expect(relayId, waiting.stage, jobKey(waiting.data.chainId, waiting.data.jobId));
  await ctx.relayStore.forget(relayId);
  const old = await ctx.relay.getJob(relayId);
  if (old && ((await old.isCompleted()) || (await old.isFailed()))) await old.remove();
  await ctx.relay.add(request.kind, request, {
    jobId: relayId,
    attempts: 5,
    backoff: { type: "exponential", delay: 1000 },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  });
}

/** What became of a request handed to the relayer, as a stage sees it. */
export type RelayState = { state: "pending" | "missing" } | { state: "failed"; reason: string; dropped?: string } | { state: "mined"; result: RelayResult };

/**
 * Where a request handed to the relayer stands, in one Redis round trip: the outcome the relayer published (mined
 * with its receipt's figures, or failed: reverted, replaced, dropped), else pending while its relay job exists.
 */
export async function relayState(ctx: OperatorContext, relayId: string): Promise<RelayState> {
  const { redis, prefix } = ctx.relayStore;
  const [[, raw], [, exists]] = (await redis.multi().get(relayOutcomeKey(prefix, relayId)).exists(ctx.relay.toKey(relayId)).exec()) as [[null, string | null], [null, number]];
  if (raw) {
    const outcome = JSON.parse(raw) as RelayOutcome;
    if (outcome.status === "mined") return { state: "mined", result: outcome };
    return { state: "failed", reason: `${outcome.status}: ${outcome.reason}`, ...(outcome.status === "failed" && outcome.dropped ? { dropped: outcome.dropped } : {}) };
  }
  return { state: exists ? "pending" : "missing" };
}

/**
 * This operator's lock of the job is mined or on its way, without a chain read: handed on by the lock stage once
 * mined (`operator`), or as soon as it was sent (operator.proveWhileLocking) while its relay is pending or mined.
 * False once the relayer reported it failed: the chain decides then.
 */
export async function lockOnItsWay(ctx: OperatorContext, data: JobData): Promise<boolean> {
  if (data.operator?.toLowerCase() === ctx.address.toLowerCase()) return true;
  if (!data.lockRelay) return false;
  const { state } = await relayState(ctx, data.lockRelay.id);
  return state === "pending" || state === "mined";
}

/** When a stage waiting on the chain looks again: half a block, at least 250 ms and at most 6 s. */
export async function recheckAt(ctx: OperatorContext): Promise<number> {
  return Date.now() + Math.min(6_000, Math.max(250, (await blockSeconds(ctx)) * 500));
}
