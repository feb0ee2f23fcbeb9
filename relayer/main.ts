#!/usr/bin/env -S node --import tsx
// The relayer service: a BullMQ worker on the relay queue that turns the operator's signed locks and fulfilments
// into transactions from one or more keys, with /metrics, /healthz and /queues. `tsx relayer/main.ts [--config file]`.
// A relay job completes at broadcast (its return value: RelaySent); the outcome is published by the key's
// inclusion tracker in Redis (relayer/store.ts), where the operator's stages read it.
//
// Retries are the producer's choice (the operator, when it adds a job). Recommended:
//   { jobId: relayJobId(request), attempts: 5, backoff: { type: "exponential", delay: 1000 } }
// Transient failures (RPC down, an empty relayer wallet, a nonce clash) are then retried over ~15 s (1+2+4+8); requests
// that cannot succeed fail at once (UnrecoverableError) and, like those out of attempts, go to the dead letters.
import { UnrecoverableError, type Job, type Queue, type Worker } from "bullmq";
import { Wallet, type Signer } from "ethers";
import { Gauge, type Registry } from "prom-client";
import { Command } from "commander";
import { pathToFileURL } from "node:url";
import { connect } from "../shared/chain.js";
import { loadConfig } from "../shared/config.js";
import { VerdictError } from "../shared/errors.js";
import { signerKey } from "../shared/keys.js";
import { metricsRegistry, serveHttp } from "../shared/http.js";
import { instrumentProvider, rpcMetrics } from "../shared/rpcMetrics.js";
import { createLogger, type Logger } from "../shared/logger.js";
import { queue, RELAYER_QUEUE, redisConnection, worker, type QueueContext } from "../shared/queues.js";
import { onShutdown } from "../shared/shutdown.js";
import { jobLogger, Relayer } from "./relay.js";
import { RelayStore } from "./store.js";
import { DEAD_LETTER_QUEUE, type DeadLetter, type RelayOutcome, type RelayRequest, type RelaySent } from "./types.js";

/** Chains where running without VERDICT_RELAYER_KEY (on the node's unlocked account 0) is allowed: Hardhat/Anvil, Ganache/geth --dev. */
const LOCAL_CHAIN_IDS = new Set([31337n, 1337n]);

export interface RelayWorker {
  worker: Worker<RelayRequest, RelaySent | RelayOutcome>;
  deadLetters: Queue<DeadLetter>;
  /** Waits for in-flight relays, then closes the worker's and the dead-letter queue's connections. */
  close(): Promise<void>;
}

/**
 * Starts the worker on RELAYER_QUEUE (call `relayer.start()` first: it resumes journalled transactions). A job
 * that fails for good (UnrecoverableError, or its last attempt) gets a "failed" outcome and is copied to
 * DEAD_LETTER_QUEUE with the reason before BullMQ marks it failed, so a crash in between leaves the job to be
 * retried rather than lost from the dead letters (the dead letter's job id is the relay job's: no duplicate).
 */
export function startRelayWorker(ctx: QueueContext, relayer: Relayer, store: RelayStore, log: Logger, concurrency: number, jobLockMs = 60_000): RelayWorker {
  const deadLetters = queue<DeadLetter>(ctx, DEAD_LETTER_QUEUE);
  const processor = async (job: Job<RelayRequest, RelaySent | RelayOutcome>): Promise<RelaySent | RelayOutcome> => {
    const jobLog = jobLogger(log, job.data).child({ queueJobId: job.id, attempt: job.attemptsMade + 1 });
    // Logged as the worker takes the request, before any RPC or Redis call: a relay that then stalls (or a
    // relayer killed mid-relay) still shows in the log that the job was taken.
    jobLog.info("relaying");
    try {
      // A relay job handed back after a crash finds its request in flight (the journal) and is not sent again.
      return await relayer.relay(job.data, job.id!, jobLog);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      const final = e instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (final) {
        if (!(e instanceof UnrecoverableError)) await store.publish(job.id!, { status: "failed", reason });
        await deadLetters.add(job.name, { request: job.data, reason, at: new Date().toISOString() }, { jobId: job.id });
        jobLog.error({ reason }, "relay failed for good: dead-lettered");
      } else {
        jobLog.warn({ reason }, "relay failed: BullMQ will retry");
      }
      throw e;
    }
  };
  // A relayer killed mid-relay holds the job until its lock expires; a short lock hands it back sooner.
  const w = worker<RelayRequest, RelaySent | RelayOutcome>(ctx, RELAYER_QUEUE, processor, { concurrency, lockDuration: jobLockMs, stalledInterval: Math.ceil(jobLockMs / 2) });
  // Without a listener BullMQ prints connection errors itself; ioredis reconnects on its own.
  w.on("error", (err) => log.error({ err }, "relay worker error"));
  const close = async () => {
    await w.close();
    await deadLetters.close();
  };
  return { worker: w, deadLetters, close };
}

/**
 * The verdict_relayer_dead_letters gauge, refreshed every `everyMs`: dead letters never expire, so their number is what
 * someone has to look at (`verdict relayer dlq list`). Returns the timer (clear it at shutdown).
 */
export function deadLetterDepth(registry: Registry, deadLetters: Queue<DeadLetter>, log: Logger, everyMs = 5000): NodeJS.Timeout {
  const gauge = new Gauge({ name: "verdict_relayer_dead_letters", help: "relay requests in the dead-letter queue", registers: [registry] });
  return setInterval(() => {
    void deadLetters
      .getJobCounts("waiting", "prioritized", "delayed")
      .then((c) => gauge.set(Object.values(c).reduce((a, b) => a + b, 0)))
      .catch((e: unknown) => log.debug({ err: e }, "dead-letter depth update failed"));
  }, everyMs);
}

async function main(): Promise<void> {
  const opts = new Command("relayer")
    .description("Verdict relayer: sends the operator's signed locks and fulfilments")
    .option("--config <file>", "JSON configuration (VERDICT_* environment variables override it)")
    .parse()
    .opts<{ config?: string }>();
  const config = loadConfig(opts.config);
  const log = createLogger("relayer", config.logLevel);
  const key = (await signerKey("relayer", process.env, (m) => log.warn(m)))?.privateKey ?? config.relayer.privateKey;
  const noKey = (chainId?: bigint) =>
    new VerdictError("NO_RELAYER_KEY", `no relayer key${chainId === undefined ? "" : ` for chain ${chainId}`}`, "set VERDICT_KEY (or VERDICT_KEYSTORE) to the relayer account's key");
  // Without a key connect() signs with the node's account 0, which a public node does not have.
  const chain = await connect(config.rpcUrl, key).catch((e: unknown) => {
    throw !key && !(e instanceof VerdictError) ? noKey() : e;
  });
  if (!key) {
    if (!LOCAL_CHAIN_IDS.has(chain.chainId)) {
      chain.provider.destroy();
      throw noKey(chain.chainId);
    }
    log.warn({ chainId: chain.chainId.toString() }, "VERDICT_KEY not set: relaying from the local node's account 0");
  }

  const registry = metricsRegistry("relayer");
  instrumentProvider(chain.provider, rpcMetrics(registry));
  // The main key first, then the extra ones (each its own nonce stream and tracker).
  const extra = config.relayer.privateKeys.filter((k) => k !== key).map((k) => new Wallet(k, chain.provider));
  const signers: Signer[] = [chain.signer, ...extra];
  const connection = redisConnection(config.redisUrl);
  const ctx = { connection, prefix: config.queuePrefix };
  const store = new RelayStore(connection, config.queuePrefix);
  const relayer = new Relayer({ signers, config: config.relayer, logger: log, registry, store });
  await relayer.start();
  const relayWorker = startRelayWorker(ctx, relayer, store, log, config.relayer.concurrency, config.relayer.jobLockMs);
  const relayQueue = queue<RelayRequest>(ctx, RELAYER_QUEUE);
  const live = async () => (await connection.ping()) === "PONG";
  const ready = async () => (await live()) && (await chain.provider.getBlockNumber()) >= 0;
  const server = await serveHttp(config.httpPort, registry, [relayQueue, relayWorker.deadLetters], { live, ready }, config.httpHost);
  const depth = deadLetterDepth(registry, relayWorker.deadLetters, log);

  onShutdown(log, async () => {
    clearInterval(depth);
    // Stops taking jobs and waits for the in-flight ones (until broadcast); unsettled transactions stay journalled.
    await relayWorker.close();
    await relayer.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await relayQueue.close();
    await connection.quit();
    chain.provider.destroy();
  });

  await relayWorker.worker.waitUntilReady();
  log.info(
    { addresses: await relayer.addresses(), chainId: chain.chainId.toString(), queuePrefix: config.queuePrefix, queue: RELAYER_QUEUE, httpPort: config.httpPort },
    "relayer ready",
  );
}

// Run only as the entry point: the tests import startRelayWorker.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    const err = e instanceof VerdictError ? e : new VerdictError("UNEXPECTED", e instanceof Error ? (e.stack ?? e.message) : String(e));
    console.error(`error [${err.code}] ${err.message}`);
    // exit() rather than exitCode: a Redis or RPC connection opened before the failure would keep the process up.
    process.exit(1);
  });
}
