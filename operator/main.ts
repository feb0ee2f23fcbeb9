// The operator service: watches the market, evaluates, locks, infers, proves, verifies and submits jobs for the
// models it serves. Several processes (machines) may share one Redis; see operator/pipeline.ts for the queues.
//   tsx operator/main.ts [--config operator.json]     (keys: VERDICT_OPERATOR_KEY; see config/example.json)
import { Command } from "commander";
import type { Worker } from "bullmq";
import { RELAYER_QUEUE, STAGES, queue, queueEvents, redisConnection, type Stage } from "../shared/queues.js";
import { connect, deployment } from "../shared/chain.js";
import { loadConfig } from "../shared/config.js";
import { VerdictError } from "../shared/errors.js";
import { metricsRegistry, serveHttp } from "../shared/http.js";
import { createLogger } from "../shared/logger.js";
import { onShutdown } from "../shared/shutdown.js";
import { InferenceMarket__factory, ModelRegistry__factory, OperatorStaking__factory } from "../types/ethers-contracts/index.js";
import { ModelCatalog } from "./catalog.js";
import { advance, operatorMetrics, queueName, type JobData, type OperatorContext } from "./pipeline.js";
import { runStage, type StageProcessor } from "./stage.js";
import { JobEvaluator } from "./stages/evaluate.js";
import { InferenceRunner } from "./stages/infer.js";
import { JobLocker } from "./stages/lock.js";
import { ProofBuilder } from "./stages/prove.js";
import { ResultSubmitter } from "./stages/submit.js";
import { ResultVerifier } from "./stages/verify.js";
import { JobWatcher } from "./stages/watch.js";
import { JobStatus } from "./status.js";

const opts = new Command("operator").option("--config <file>", "JSON config file (environment VERDICT_* overrides it)").parse().opts<{ config?: string }>();

async function main(): Promise<void> {
  const config = loadConfig(opts.config);
  const log = createLogger("operator", config.logLevel);
  const chain = await connect(config.rpcUrl, config.operator.privateKey);
  if (!config.operator.privateKey) log.warn("no VERDICT_OPERATOR_KEY: signing with the node's account 0 (local development chains only)");
  const address = await chain.signer.getAddress();
  const addresses = await deployment(chain.chainId, config.deploymentsDir);
  const registry = ModelRegistry__factory.connect(addresses.registry, chain.signer);
  const redis = redisConnection(config.redisUrl);
  const qctx = { connection: redis, prefix: config.queuePrefix };
  const metricsReg = metricsRegistry("operator");
  const ctx: OperatorContext = {
    config,
    log,
    chain,
    address,
    market: InferenceMarket__factory.connect(addresses.market, chain.signer),
    registry,
    staking: OperatorStaking__factory.connect(addresses.staking, chain.signer),
    catalog: await ModelCatalog.load(config.operator.models, config.home, registry, redis, config.queuePrefix, log),
    redis,
    queues: Object.fromEntries(STAGES.map((s) => [s, queue<JobData>(qctx, queueName(s, address))])) as Record<Stage, ReturnType<typeof queue<JobData>>>,
    relay: queue(qctx, RELAYER_QUEUE),
    relayEvents: queueEvents(qctx, RELAYER_QUEUE),
    metrics: operatorMetrics(metricsReg),
  };
  if (ctx.catalog.ids().length === 0) throw new VerdictError("NO_MODELS", "no active model to serve: set operator.models (or VERDICT_MODELS) to registry model ids", "`verdict model list`, then `verdict model pull <id>` for each");

  await recoverLockedJobs(ctx);
  const processors: Record<Stage, [StageProcessor, number]> = {
    evaluate: [new JobEvaluator(ctx).process, 4],
    lock: [new JobLocker(ctx).process, 2],
    infer: [new InferenceRunner(ctx).process, 2],
    prove: [new ProofBuilder(ctx).process, config.operator.proveConcurrency],
    verify: [new ResultVerifier(ctx).process, 2],
    submit: [new ResultSubmitter(ctx).process, 2],
  };
  const workers: Worker[] = STAGES.map((s) => runStage(ctx, s, ...processors[s]));
  const watcher = new JobWatcher(ctx);
  watcher.start();

  const gauges = setInterval(() => void updateGauges(ctx).catch((e: unknown) => log.debug({ err: e }, "gauge update failed")), 5000);
  const server = await serveHttp(config.httpPort, metricsReg, [...Object.values(ctx.queues), ctx.relay], async () => {
    await Promise.all([redis.ping(), chain.provider.getBlockNumber()]);
    return true;
  });
  log.info({ address, chainId: chain.chainId.toString(), models: ctx.catalog.ids(), market: addresses.market, httpPort: config.httpPort }, "operator ready");

  onShutdown(log, async () => {
    clearInterval(gauges);
    await watcher.stop();
    // close() lets in-flight jobs finish; queued ones stay in Redis for the next start (nothing is forgotten).
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all([...Object.values(ctx.queues).map((q) => q.close()), ctx.relay.close(), ctx.relayEvents.close()]);
    server?.close();
    redis.disconnect();
    chain.provider.destroy();
  });
}

/** After a restart: every job this operator holds a lock on is put back into the pipeline (a no-op if queued). */
async function recoverLockedJobs(ctx: OperatorContext): Promise<void> {
  const locks = await ctx.market.queryFilter(ctx.market.filters.JobLocked(undefined, ctx.address), ctx.config.operator.startBlock);
  for (const ev of locks) {
    const jobId = ev.args.jobId;
    const job = await ctx.market.jobOf(jobId);
    if (Number(job.status) !== JobStatus.Locked || job.operator.toLowerCase() !== ctx.address.toLowerCase()) continue;
    const [created] = await ctx.market.queryFilter(ctx.market.filters.JobCreated(jobId));
    if (!created || !ctx.catalog.get(Number(job.modelId))) continue;
    await advance(ctx, "infer", {
      chainId: ctx.chain.chainId.toString(),
      jobId: jobId.toString(),
      modelId: Number(job.modelId),
      input: created.args.input.map(String),
      token: job.token,
      price: job.price.toString(),
      collateral: job.collateral.toString(),
      lockDeadline: Number(job.lockDeadline),
      deadline: Number(job.deadline),
      operator: ctx.address,
    });
    ctx.log.info({ jobId: jobId.toString() }, "recovered a locked job after restart");
  }
}

async function updateGauges(ctx: OperatorContext): Promise<void> {
  for (const q of Object.values(ctx.queues)) {
    const counts = await q.getJobCounts("waiting", "active", "prioritized", "delayed");
    ctx.metrics.queueDepth.set({ queue: q.name }, Object.values(counts).reduce((a, b) => a + b, 0));
  }
  ctx.metrics.balanceWei.set(Number(await ctx.market.balanceOf(ctx.address, "0x0000000000000000000000000000000000000000")));
  ctx.metrics.freeStake.set(Number(await ctx.staking.freeStake(ctx.address)));
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  console.error(`operator failed to start: ${msg}`);
  process.exit(1);
});
