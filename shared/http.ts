// The services' HTTP side: Prometheus /metrics, /healthz, and bull-board at /queues for the given queues.
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Queue } from "bullmq";
import express from "express";
import type { Server } from "node:http";
import { collectDefaultMetrics, Registry } from "prom-client";

export function metricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Liveness (restart me if false: the process or its Redis is broken) apart from readiness (do not count on me now:
 * the RPC is down, the watcher lags). One probe for both made an RPC outage restart healthy services in a loop.
 */
export interface Probes {
  live: () => Promise<boolean>;
  ready: () => Promise<boolean>;
}

/** Starts the server on `host`:`port` (port 0 = none): /livez, /readyz (and /healthz, the same as /readyz), /metrics, /queues. */
export async function serveHttp(port: number, registry: Registry, queues: Queue[], probes: Probes, host = "127.0.0.1"): Promise<Server | undefined> {
  if (port === 0) return undefined;
  const app = express();
  const board = new ExpressAdapter();
  board.setBasePath("/queues");
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: board });
  app.use("/queues", board.getRouter());
  app.get("/metrics", async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  const probe = (check: () => Promise<boolean>) => async (_req: express.Request, res: express.Response) => {
    const ok = await check().catch(() => false);
    res.status(ok ? 200 : 503).json({ ok });
  };
  app.get("/livez", probe(probes.live));
  app.get(["/readyz", "/healthz"], probe(probes.ready));
  return new Promise((resolve) => {
    const server = app.listen(port, host, () => resolve(server));
  });
}
