// `verdict operator jobs` (what is in this operator's pipeline, time left per job) and `verdict relayer dlq
// list|retry|drop` (the relay requests the relayer gave up on): read from the services' Redis, located by the
// same configuration the services load (--config / VERDICT_CONFIG, VERDICT_REDIS_URL, VERDICT_QUEUE_PREFIX).
import type { Command } from "commander";
import { getAddress, isAddress } from "ethers";
import type { Job } from "bullmq";
import { queueName, STAGES, type JobData } from "../../operator/pipeline.js";
import { DEAD_LETTER_QUEUE, relayedJobs, relayJobId, type DeadLetter, type RelayRequest } from "../../relayer/types.js";
import { connect } from "../../shared/chain.js";
import { loadConfig, type Config } from "../../shared/config.js";
import { VerdictError } from "../../shared/errors.js";
import { signerKey } from "../../shared/keys.js";
import { queue, RELAYER_QUEUE, redisConnection, type QueueContext } from "../../shared/queues.js";
import { isoTime, print, printTable } from "./common.js";

interface RedisOptions {
  config?: string;
  json?: boolean;
}

const redisOpts = (c: Command): Command =>
  c.option("--config <file>", "the services' JSON config (its redisUrl and queuePrefix; VERDICT_REDIS_URL / VERDICT_QUEUE_PREFIX override)").option("--json", "machine-readable output");

/** Runs `fn` with the services' Redis (from the effective configuration) and closes the connection after. */
async function withRedis<T>(o: RedisOptions, fn: (ctx: QueueContext, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig(o.config);
  const connection = redisConnection(config.redisUrl);
  connection.on("error", () => undefined); // reported by the first command instead
  try {
    await connection.ping().catch((e: unknown) => {
      throw new VerdictError("REDIS_UNREACHABLE", `cannot reach Redis at ${config.redisUrl}: ${(e as Error).message}`, "check --config / VERDICT_REDIS_URL", true);
    });
    return await fn({ connection, prefix: config.queuePrefix }, config);
  } finally {
    connection.disconnect();
  }
}

/** The on-chain job a relay request is about. */

/** Chain time if the RPC answers (a local chain may run ahead of the wall clock), else the wall clock. */
async function clock(rpcUrl: string): Promise<{ now: number; source: string }> {
  try {
    const chain = await connect(rpcUrl);
    try {
      const block = await chain.provider.getBlock("latest");
      if (block) return { now: block.timestamp, source: "chain" };
    } finally {
      chain.provider.destroy();
    }
  } catch {
    // fall through to the wall clock
  }
  return { now: Math.floor(Date.now() / 1000), source: "wall clock (RPC unreachable)" };
}

export function pipelineCommands(program: Command): void {
  const operator = program.commands.find((c) => c.name() === "operator");
  const relayer = program.commands.find((c) => c.name() === "relayer");
  if (!operator || !relayer) throw new VerdictError("CLI_SETUP", "pipelineCommands needs the `operator` and `relayer` groups: call operatorCommands(program) first");

  redisOpts(
    operator
      .command("jobs")
      .description("this operator's pipeline: each queued or running job per stage, with the time left to its lock deadline (evaluate, lock) or deadline")
      .argument("[address]", "operator address (default: the signing key's, VERDICT_KEY)")
      .addHelpText("after", "\nExample:\n  verdict operator jobs 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --config operator.json"),
  ).action(async (address: string | undefined, o: RedisOptions) => {
    if (address !== undefined && !isAddress(address)) throw new VerdictError("BAD_ARGUMENT", `'${address}' is not an address`);
    const key = address === undefined ? await signerKey("operator") : undefined;
    if (address === undefined && !key) throw new VerdictError("BAD_ARGUMENT", "no operator address given and no signing key set", "verdict operator jobs <address>, or set VERDICT_KEY");
    const operatorAddress = address ? getAddress(address) : key!.address;
    await withRedis(o, async (ctx, config) => {
      const { now, source } = await clock(config.rpcUrl);
      const rows: Record<string, unknown>[] = [];
      for (const stage of STAGES) {
        const q = queue<JobData>(ctx, queueName(stage, operatorAddress));
        try {
          for (const state of ["active", "prioritized", "waiting", "delayed"] as const) {
            for (const j of (await q.getJobs([state])) as Job<JobData>[]) {
              // Before the lock, what counts is the lock deadline; after it, the deadline.
              const beforeLock = stage === "evaluate" || stage === "lock";
              const until = beforeLock ? j.data.lockDeadline : j.data.deadline;
              rows.push({ stage, state, jobId: j.data.jobId, model: j.data.modelId, attempts: j.attemptsMade, by: beforeLock ? "lockDeadline" : "deadline", until: isoTime(until), secondsLeft: until - now });
            }
          }
        } finally {
          await q.close();
        }
      }
      if (o.json) console.log(JSON.stringify({ operator: operatorAddress, clock: source, jobs: rows }, null, 2));
      else {
        console.log(`operator ${operatorAddress} (time left by the ${source})`);
        printTable(o, rows);
      }
    });
  });

  const dlq = relayer
    .command("dlq")
    .description("relay requests the relayer gave up on (simulation revert, attempts spent): list, retry or drop them")
    .addHelpText("after", "\nExamples:\n  verdict relayer dlq list\n  verdict relayer dlq retry fulfil-31337-4\n  verdict relayer dlq drop --all");

  redisOpts(dlq.command("list").description("every dead letter: id, kind, job, reason, when")).action(async (o: RedisOptions) => {
    await withRedis(o, async (ctx) => {
      const dead = queue<DeadLetter>(ctx, DEAD_LETTER_QUEUE);
      try {
        const letters = (await dead.getJobs(["waiting", "prioritized", "delayed"])) as Job<DeadLetter>[];
        printTable(o, letters.map((l) => ({ id: l.id, kind: l.data.request.kind, chainId: l.data.request.chainId, jobId: relayedJobs(l.data.request), at: l.data.at, reason: o.json ? l.data.reason : l.data.reason.split("\n")[0]!.slice(0, 100) })));
      } finally {
        await dead.close();
      }
    });
  });

  /** The dead letters named by `ids`, or all with --all; an unknown id is an error before anything changes. */
  const pick = async (dead: ReturnType<typeof queue<DeadLetter>>, ids: string[], all: boolean | undefined): Promise<Job<DeadLetter>[]> => {
    if (Boolean(all) === ids.length > 0) throw new VerdictError("BAD_ARGUMENT", "name dead letters by id, or pass --all (not both)", "verdict relayer dlq list");
    if (all) return (await dead.getJobs(["waiting", "prioritized", "delayed"])) as Job<DeadLetter>[];
    const found = await Promise.all(ids.map((id) => dead.getJob(id)));
    const missing = ids.filter((_, i) => !found[i]);
    if (missing.length) throw new VerdictError("NOT_FOUND", `no dead letter ${missing.join(", ")}`, "verdict relayer dlq list");
    return found as Job<DeadLetter>[];
  };

  redisOpts(
    dlq
      .command("retry")
      .description("hand dead letters back to the relayer (it simulates again before sending) and remove them from the dead letters")
      .argument("[ids...]", "dead-letter ids (as `list` shows them)")
      .option("--all", "every dead letter"),
  ).action(async (ids: string[], o: RedisOptions & { all?: boolean }) => {
    await withRedis(o, async (ctx) => {
      const dead = queue<DeadLetter>(ctx, DEAD_LETTER_QUEUE);
      const relay = queue<RelayRequest>(ctx, RELAYER_QUEUE);
      try {
        const retried = [];
        for (const letter of await pick(dead, ids, o.all)) {
          const id = letter.id ?? relayJobId(letter.data.request);
          // The failed relay job is still in the relay queue under the same id: retry it in place. If it was
          // removed (kept 7 days), add the request again under that id.
          const original = await relay.getJob(id);
          if (original && (await original.isFailed())) await original.retry("failed", { resetAttemptsMade: true });
          else {
            if (original) await original.remove();
            await relay.add(letter.data.request.kind, letter.data.request, { jobId: id, attempts: 5, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } });
          }
          await letter.remove();
          retried.push({ id, kind: letter.data.request.kind, jobId: relayedJobs(letter.data.request), requeued: true });
        }
        printTable(o, retried);
      } finally {
        await Promise.all([dead.close(), relay.close()]);
      }
    });
  });

  redisOpts(
    dlq
      .command("drop")
      .description("delete dead letters for good (the on-chain job is not touched)")
      .argument("[ids...]", "dead-letter ids (as `list` shows them)")
      .option("--all", "every dead letter"),
  ).action(async (ids: string[], o: RedisOptions & { all?: boolean }) => {
    await withRedis(o, async (ctx) => {
      const dead = queue<DeadLetter>(ctx, DEAD_LETTER_QUEUE);
      try {
        const letters = await pick(dead, ids, o.all);
        for (const l of letters) await l.remove();
        print(o, { dropped: letters.length, ids: letters.map((l) => l.id ?? "") });
      } finally {
        await dead.close();
      }
    });
  });
}
