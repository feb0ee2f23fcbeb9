// A prove worker: one machine of the cluster that serves one operator identity. It takes that operator's `prove`
// jobs from its Redis, runs each (proof, inference and quantisation check: one job) with the bundles in its own
// data directory (grouping jobs of one model into a batch proof as the operator does, when the model's batch
// bundles are installed there too), and hands the proofs on to the operator's `verify` queue; it needs the
// bundles, Redis and a (read-only) RPC, never the operator's key.
//   VERDICT_OPERATOR_ADDRESS=0x… VERDICT_HOME=… VERDICT_MODELS=1,2 tsx operator/proveWorker.ts [--config file]
import { Command } from "commander";
import { loadConfig } from "../shared/config.js";
import { metricsRegistry, serveHttp } from "../shared/http.js";
import { createLogger } from "../shared/logger.js";
import { onShutdown } from "../shared/shutdown.js";
import { operatorContext } from "./context.js";
import { runStage } from "./stage.js";
import { prove } from "./stages/prove.js";

const opts = new Command("prove-worker").option("--config <file>", "JSON config file (environment VERDICT_* overrides it)").parse().opts<{ config?: string }>();

async function main(): Promise<void> {
  const config = loadConfig(opts.config);
  const log = createLogger("prove-worker", config.logLevel);
  const metrics = metricsRegistry("prove-worker");
  const { ctx, close } = await operatorContext(config, log, metrics, false);
  const worker = runStage(ctx, "prove", (data, jobLog) => prove(ctx, data, jobLog), Math.max(1, config.operator.proveConcurrency));
  const server = await serveHttp(config.httpPort, metrics, [ctx.queues.prove], {
    live: async () => (await ctx.redis.ping()) === "PONG",
    ready: async () => (await ctx.chain.provider.getBlockNumber()) >= 0,
  });
  log.info({ operator: ctx.address, models: ctx.catalog.ids(), home: config.home }, "prove-worker ready");
  onShutdown(log, async () => {
    await worker.close();
    server?.close();
    await close();
  });
}

main().catch((e: unknown) => {
  console.error(`prove worker failed to start: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
