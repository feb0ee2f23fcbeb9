// The operator's pipeline state: what a job carries from stage to stage, the shared context every stage gets,
// and how a job moves on (idempotent BullMQ job id, earliest-deadline-first priority).
import type { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { RelayRequest, RelayResult } from "../relayer/types.js";
import type { Chain } from "../shared/chain.js";
import type { Config } from "../shared/config.js";
import { jobKey, type Stage } from "../shared/queues.js";
import type { InferenceMarket, ModelRegistry, OperatorStaking } from "../types/ethers-contracts/index.js";
import type { CircuitArtifacts } from "../zk/artifacts.js";
import { feltToFloat } from "../zk/felt.js";
import type { ModelCatalog } from "./catalog.js";

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
  /** Set once this operator holds the lock. */
  operator?: string;
  floatOutputs?: number[];
  proof?: string;
  instances?: string[];
  outputs?: number[];
  proveSeconds?: number;
}

export interface OperatorMetrics {
  jobs: Counter<"stage" | "outcome">;
  stageSeconds: Histogram<"stage">;
  proveSeconds: Histogram<"model">;
  gasUsed: Counter<"kind">;
  queueDepth: Gauge<"queue">;
  balanceWei: Gauge;
  freeStake: Gauge;
}

export function operatorMetrics(registry: Registry): OperatorMetrics {
  const r = { registers: [registry] };
  return {
    jobs: new Counter({ name: "verdict_operator_jobs_total", help: "jobs leaving a stage, by outcome", labelNames: ["stage", "outcome"], ...r }),
    stageSeconds: new Histogram({ name: "verdict_operator_stage_seconds", help: "time spent in each stage", labelNames: ["stage"], buckets: [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300], ...r }),
    proveSeconds: new Histogram({ name: "verdict_operator_prove_seconds", help: "ezkl proving time", labelNames: ["model"], buckets: [0.5, 1, 2, 5, 10, 30, 60, 300], ...r }),
    gasUsed: new Counter({ name: "verdict_operator_gas_used_total", help: "gas of this operator's mined locks and fulfilments", labelNames: ["kind"], ...r }),
    queueDepth: new Gauge({ name: "verdict_operator_queue_depth", help: "waiting + active jobs per queue", labelNames: ["queue"], ...r }),
    balanceWei: new Gauge({ name: "verdict_operator_balance_wei", help: "withdrawable market balance of the operator (ETH)", ...r }),
    freeStake: new Gauge({ name: "verdict_operator_free_stake", help: "stake not reserved as collateral", ...r }),
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
  relay: Queue<RelayRequest, RelayResult>;
  relayEvents: QueueEvents;
  metrics: OperatorMetrics;
}

/**
 * Queue name of a stage. Evaluate and lock are shared by every operator process on the same Redis (first come
 * locks); from infer on, a job belongs to the operator that locked it, since only that key can sign its fulfilment.
 */
export function queueName(stage: Stage, operator: string): string {
  return stage === "evaluate" || stage === "lock" ? stage : `${stage}-${operator.toLowerCase()}`;
}

/** BullMQ priority (lower runs first): seconds to the deadline, so locked jobs are worked earliest-deadline-first. */
export function edfPriority(deadline: number): number {
  const secondsLeft = deadline - Math.floor(Date.now() / 1000);
  return Math.min(Math.max(secondsLeft, 1), 2_097_151);
}

/** The job's model circuit and its input as floats (the on-chain felts decoded at the model's input scale). */
export function jobInput(ctx: OperatorContext, data: JobData): { circuit: CircuitArtifacts; input: number[] } {
  const { circuit } = ctx.catalog.get(data.modelId)!;
  return { circuit, input: data.input.map((f) => feltToFloat(BigInt(f), circuit.inputs.scale)) };
}

/**
 * Attempts per stage: retryable failures (the RPC node or Redis unreachable) are retried with exponential backoff
 * from 1 s for ~8.5 minutes (1 + 2 + ... + 256 s). Three attempts (~3 s) failed a locked job for good during a
 * 30 s RPC outage, leaving it to be slashed (found by test/e2e/chaos.e2e.test.ts).
 */
const STAGE_ATTEMPTS = 10;

/** Hands `data` to `stage`; the job id makes a repeated hand-over a no-op. */
export async function advance(ctx: OperatorContext, stage: Stage, data: JobData): Promise<void> {
  await ctx.queues[stage].add(stage, data, {
    jobId: jobKey(data.chainId, data.jobId),
    priority: stage === "evaluate" || stage === "lock" ? undefined : edfPriority(data.deadline),
    attempts: STAGE_ATTEMPTS,
    backoff: { type: "exponential", delay: 1000 },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  });
}

/** Sends a signed request to the relayer and waits until its transaction is mined (or the relayer gives up). */
export async function relayAndWait(ctx: OperatorContext, request: RelayRequest, jobId: string, timeoutMs: number): Promise<RelayResult> {
  const job = await ctx.relay.add(request.kind, request, {
    jobId,
    attempts: 5,
    backoff: { type: "exponential", delay: 1000 },
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  });
  // The id is per on-chain job and kind, so a relay that failed for good earlier (its retries spent while the RPC
  // node was down) is this very job: without a retry, every later attempt of the stage would wait on the old
  // failure and the fulfilment could never be sent again (found by test/e2e/chaos.e2e.test.ts). The stage has
  // just reconciled with the chain, and the relayer simulates before sending, so a retry is safe.
  if (await job.isFailed()) await job.retry("failed", { resetAttemptsMade: true });
  return (await job.waitUntilFinished(ctx.relayEvents, timeoutMs)) as RelayResult;
}
