// Runs one pipeline stage as a BullMQ worker: a child logger per job ({stage, chainId, jobId}), timing and
// outcome metrics, and the retry rule: a VerdictError that is not retryable fails the job for good
// (UnrecoverableError); anything else is retried with backoff by BullMQ.
import { DelayedError, UnrecoverableError, type Job, type Worker } from "bullmq";
import type { Logger } from "pino";
import { VerdictError } from "../shared/errors.js";
import { worker } from "../shared/queues.js";
import { queueName, stageBackoff, type JobData, type OperatorContext, type Stage } from "./pipeline.js";

/**
 * What a stage did with a job: moved it on, finished it, skipped it for good (with why), or deferred it: not now
 * (a fee spike, stake tied up in other locks, a backlog), but worth another look at `retryAt` (ms since epoch).
 */
export type Outcome =
  | { outcome: "advanced" | "done" }
  | { outcome: "skipped"; reason: string }
  | { outcome: "deferred"; reason: string; retryAt: number; data?: JobData; quiet?: boolean };

export type StageProcessor = (data: JobData, log: Logger, job: Job<JobData>) => Promise<Outcome>;

export function runStage(ctx: OperatorContext, stage: Stage, process: StageProcessor, concurrency: number): Worker<JobData, Outcome> {
  return worker<JobData, Outcome>(
    { connection: ctx.redis, prefix: ctx.config.queuePrefix },
    queueName(stage, ctx.address),
    async (job, token) => {
      const log = ctx.log.child({ stage, chainId: job.data.chainId, jobId: job.data.jobId });
      const end = ctx.metrics.stageSeconds.startTimer({ stage });
      try {
        const result = await process(job.data, log, job);
        if (result.outcome === "skipped") log.info({ reason: result.reason }, "skipped");
        ctx.metrics.jobs.inc({ stage, outcome: result.outcome });
        if (result.outcome === "deferred") {
          // `quiet`: a stage waiting on the chain looks every half block; those looks are not news.
          log[result.quiet ? "debug" : "info"]({ reason: result.reason, retryInMs: result.retryAt - Date.now() }, "deferred");
          if (result.data) await job.updateData(result.data);
          // The same job (same id, same data) comes back at retryAt; a skip would have been final.
          await job.moveToDelayed(result.retryAt, token);
          throw new DelayedError();
        }
        return result;
      } catch (e) {
        if (e instanceof DelayedError) throw e;
        const retryable = !(e instanceof VerdictError) || e.retryable;
        log.warn({ err: e, attempt: job.attemptsMade + 1, retryable }, "stage failed");
        ctx.metrics.jobs.inc({ stage, outcome: retryable ? "retry" : "failed" });
        throw retryable ? e : new UnrecoverableError((e as Error).message);
      } finally {
        end();
      }
    },
    {
      concurrency,
      lockDuration: ctx.config.operator.jobLockMs,
      stalledInterval: Math.ceil(ctx.config.operator.jobLockMs / 2),
      settings: { backoffStrategy: stageBackoff },
    },
  );
}
