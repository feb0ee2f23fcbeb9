// The operator service: watches the market, evaluates, locks, infers and proves (one job), verifies and submits jobs for the
// models it serves. Its proofs may also run on prove workers on other machines (operator/proveWorker.ts) that
// share its Redis and bundles; see operator/pipeline.ts for the queues.
//   tsx operator/main.ts [--config operator.json]     (key: VERDICT_KEY or VERDICT_KEYSTORE, shared/keys.ts; see config/example.json)
import { Command } from "commander";
import { formatEther, ZeroAddress } from "ethers";
import type { Worker } from "bullmq";
import { loadConfig } from "../shared/config.js";
import { metricsRegistry, serveHttp } from "../shared/http.js";
import { createLogger } from "../shared/logger.js";
import { withRpcScope } from "../shared/rpcMetrics.js";
import { onShutdown } from "../shared/shutdown.js";
import { operatorContext } from "./context.js";
import { jobsAtRisk, lockedJobs, riskMetrics, SlashWatch, type RiskMetrics } from "./observability.js";
import { PENDING_STATES, STAGES, type OperatorContext, type Stage } from "./pipeline.js";
import { sweepLocks } from "./recovery.js";
import { OutcomeWakeups } from "./wakeups.js";
import { runStage, type StageProcessor } from "./stage.js";
import { EVALUATE_CONCURRENCY, evaluate, warmEvaluation } from "./stages/evaluate.js";
import { lock } from "./stages/lock.js";
import { prove } from "./stages/prove.js";
import { submit } from "./stages/submit.js";
import { verify } from "./stages/verify.js";
import { JobWatcher } from "./stages/watch.js";

/** How often every lock this operator holds is checked to have a live pipeline behind it (a read per lock, so
 * not often: a stalled pipeline is rare, and a minute is small against any job's deadline). */
const LOCK_SWEEP_MS = 60_000;
/** How often the balance, free stake, risk and slash gauges are refreshed: three reads, a minute apart, so an idle
 * operator on a 12 s chain spends a fraction of a request per block on them. */
const GAUGE_MS = 60_000;

const opts = new Command("operator").option("--config <file>", "JSON config file (environment VERDICT_* overrides it)").parse().opts<{ config?: string }>();

async function main(): Promise<void> {
  const config = loadConfig(opts.config);
  const log = createLogger("operator", config.logLevel);
  const metricsReg = metricsRegistry("operator");
  const { ctx, close } = await operatorContext(config, log, metricsReg, true);
  const { address, chain, redis } = ctx;
  ctx.wakeups = await OutcomeWakeups.start(ctx.queues, ctx.relayStore, log.child({ stage: "wakeups" }));
  await warmEvaluation(ctx);

  const processors: Record<Stage, [StageProcessor, number]> = {
    evaluate: [(data, log) => evaluate(ctx, data, log), EVALUATE_CONCURRENCY],
    lock: [(data, log) => lock(ctx, data, log), 2],
    // 0: every proof on prove workers elsewhere (operator/proveWorker.ts).
    prove: [(data, log) => prove(ctx, data, log), config.operator.proveConcurrency],
    verify: [(data, log) => verify(ctx, data, log), 2],
    submit: [(data, log) => submit(ctx, data, log), 2],
  };
  // Each stage's JSON-RPC calls are counted under its name (verdict_rpc_calls_total{scope}).
  const scoped = (s: Stage): StageProcessor => (data, log, job) => withRpcScope(s, () => processors[s][0](data, log, job));
  const workers: Worker[] = STAGES.filter((s) => processors[s][1] > 0).map((s) => runStage(ctx, s, scoped(s), processors[s][1]));
  // The watcher backfills from its cursor (or from where a job could still be live), so locks held before a
  // restart are found by it and by the sweep of the tracked locks; no unbounded scan from genesis at start-up.
  const watcher = new JobWatcher(ctx);
  watcher.start();
  const sweepLog = log.child({ stage: "recovery" });
  const sweep = () => void withRpcScope("sweep", () => sweepLocks(ctx, sweepLog)).catch((e: unknown) => sweepLog.warn({ err: (e as Error).message }, "lock sweep failed; next round retries"));
  sweep();
  const sweeper = setInterval(sweep, LOCK_SWEEP_MS);

  const risk = riskMetrics(metricsReg);
  const slashWatch = new SlashWatch(ctx.market, address, risk.slashes);
  // Gauges follow the chain (a few reads) at most every GAUGE_MS, on a new head: nothing to read between blocks.
  let gaugesAt = 0;
  const stopGauges = ctx.snapshot.head.onBlock(() => {
    if (Date.now() - gaugesAt < GAUGE_MS) return;
    gaugesAt = Date.now();
    void withRpcScope("gauges", () => updateGauges(ctx, risk, slashWatch)).catch((e: unknown) => log.debug({ err: e }, "gauge update failed"));
  });
  const server = await serveHttp(config.httpPort, metricsReg, [...Object.values(ctx.queues), ctx.relay], {
    live: async () => (await redis.ping()) === "PONG",
    // Ready: the head poller saw a recent block and the watcher scanned up to it lately (a stuck watcher sees no jobs).
    ready: async () => ctx.snapshot.head.fresh() !== undefined && Date.now() - watcher.lastScanAt < Math.max(30_000, 10 * config.operator.pollIntervalMs),
  }, config.httpHost);
  log.info({ address, chainId: chain.chainId.toString(), models: ctx.catalog.ids(), market: await ctx.market.getAddress(), httpPort: config.httpPort }, "operator ready");

  onShutdown(log, async () => {
    stopGauges();
    clearInterval(sweeper);
    await watcher.stop();
    // close() lets in-flight jobs finish; queued ones stay in Redis for the next start (nothing is forgotten).
    await Promise.all(workers.map((w) => w.close()));
    ctx.wakeups?.close();
    server?.close();
    await close();
  });
}

async function updateGauges(ctx: OperatorContext, risk: RiskMetrics, slashWatch: SlashWatch): Promise<void> {
  for (const q of Object.values(ctx.queues)) {
    const counts = await q.getJobCounts(...PENDING_STATES);
    ctx.metrics.queueDepth.set({ queue: q.name }, Object.values(counts).reduce((a, b) => a + b, 0));
  }
  // Whole units, not wei: a gauge is a float64, exact to 2^53 wei (~0.009 ETH) only.
  ctx.metrics.balanceEth.set(Number(formatEther(await ctx.market.balanceOf(ctx.address, ZeroAddress))));
  ctx.metrics.freeStake.set(Number(formatEther(await ctx.staking.freeStake(ctx.address))));
  const head = await ctx.snapshot.head.current();
  const locked = await lockedJobs(ctx.queues);
  const proveSeconds = new Map<number, number>();
  for (const id of new Set(locked.map((j) => j.modelId))) proveSeconds.set(id, await ctx.catalog.proveSeconds(id).catch(() => 0));
  risk.lockedJobs.set(locked.length);
  risk.lockedAtRisk.set(jobsAtRisk(locked, head.timestamp, (id) => proveSeconds.get(id) ?? 0, ctx.config.operator.deadlineMarginSeconds));
  await slashWatch.poll(head.number);
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  console.error(`operator failed to start: ${msg}`);
  process.exit(1);
});
