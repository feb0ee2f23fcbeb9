// The metrics an on-call person needs: JSON-RPC requests, errors (rate limits apart) and latency per method,
// measured at the provider's transport; locked jobs at risk of missing their deadline; this operator's own
// slashes from JobSlashed events; and the metrics server's configurable bind address.
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { FetchRequest, JsonRpcProvider } from "ethers";
import getPort from "get-port";
import { Counter, Registry } from "prom-client";
import { jobsAtRisk, SlashWatch, type LockedJob } from "../../operator/observability.js";
import { loadConfig } from "../../shared/config.js";
import { serveHttp } from "../../shared/http.js";
import { errorKind, instrumentProvider, rpcMetrics } from "../../shared/rpcMetrics.js";

/** A JSON-RPC node that answers eth_blockNumber, reverts eth_call and rate-limits eth_getLogs with HTTP 429. */
async function stubNode(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const call = JSON.parse(body) as { id: number; method: string };
      if (call.method === "eth_getLogs") return void res.writeHead(429).end("slow down");
      const answer = call.method === "eth_call" ? { error: { code: 3, message: "execution reverted", data: "0x" } } : { result: "0x10" };
      res.setHeader("content-type", "application/json").end(JSON.stringify({ jsonrpc: "2.0", id: call.id, ...answer }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const value = async (registry: Registry, name: string, labels: Record<string, string>): Promise<number> => {
  const metric = await registry.getSingleMetric(name)!.get();
  return metric.values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l) && !("metricName" in v && String(v.metricName).endsWith("_bucket"))).reduce((a, v) => a + v.value, 0);
};

describe("observability: RPC metrics, locked jobs at risk, own slashes, bind address", () => {
  it("instrumentProvider counts requests, errors by kind (rpc_error, rate_limited) and latency per method", async () => {
    const { url, server } = await stubNode();
    const registry = new Registry();
    const request = new FetchRequest(url);
    request.setThrottleParams({ maxAttempts: 1 }); // no retry of the 429: one request, one error
    const provider = instrumentProvider(new JsonRpcProvider(request, 31337, { staticNetwork: true, batchMaxCount: 1 }), rpcMetrics(registry));
    try {
      expect(await provider.getBlockNumber()).to.equal(16);
      await provider.call({ to: "0x0000000000000000000000000000000000000001", data: "0x" }).catch(() => undefined);
      await provider.getLogs({ fromBlock: 0, toBlock: 1 }).catch(() => undefined);
      expect(await value(registry, "verdict_rpc_requests_total", { method: "eth_blockNumber" })).to.equal(1);
      expect(await value(registry, "verdict_rpc_requests_total", { method: "eth_call" })).to.equal(1);
      expect(await value(registry, "verdict_rpc_errors_total", { method: "eth_call", kind: "rpc_error" })).to.equal(1);
      expect(await value(registry, "verdict_rpc_errors_total", { method: "eth_getLogs", kind: "rate_limited" })).to.equal(1);
      expect(await value(registry, "verdict_rpc_errors_total", { method: "eth_blockNumber" })).to.equal(0);
      const latency = (await registry.getSingleMetric("verdict_rpc_request_seconds")!.get()).values.find((v) => (v as { metricName?: string }).metricName === "verdict_rpc_request_seconds_count" && v.labels.method === "eth_blockNumber");
      expect(latency?.value).to.equal(1);
      expect(rpcMetrics(registry)).to.equal(rpcMetrics(registry)); // registered once per registry
    } finally {
      provider.destroy();
      server.close();
    }
  });

  it("errorKind tells rate limits (429, -32005, 'rate limit') from other RPC errors and transport failures", () => {
    expect(errorKind({ error: { code: -32005, message: "limit exceeded" } })).to.equal("rate_limited");
    expect(errorKind(new Error("server response 429 Too Many Requests"))).to.equal("rate_limited");
    expect(errorKind({ error: { code: -32000, message: "header not found" } })).to.equal("rpc_error");
    expect(errorKind(new Error("ECONNREFUSED"))).to.equal("transport");
  });

  it("jobsAtRisk counts locked jobs whose deadline is nearer than the proof still to make plus the margin", () => {
    const jobs: LockedJob[] = [
      { stage: "prove", modelId: 1, deadline: 1000 + 50 }, // needs 40 + 30: at risk
      { stage: "prove", modelId: 1, deadline: 1000 + 100 }, // fits
      { stage: "submit", modelId: 1, deadline: 1000 + 35 }, // proof made: needs the margin only
      { stage: "submit", modelId: 1, deadline: 1000 + 20 }, // at risk
      { stage: "evaluate", modelId: 1, deadline: 1000 }, // not locked: never counted
    ];
    expect(jobsAtRisk(jobs, 1000, () => 40, 30)).to.equal(2);
  });

  it("SlashWatch counts JobSlashed events naming the operator from the block after its last scan, in bounded windows", async () => {
    const windows: [number, number][] = [];
    const slashedAt = [105, 230];
    const market = {
      filters: { JobSlashed: (_id: unknown, operator: string) => ({ operator }) },
      queryFilter: async (_f: unknown, a: number, b: number) => {
        windows.push([a, b]);
        return slashedAt.filter((n) => n >= a && n <= b);
      },
    } as unknown as ConstructorParameters<typeof SlashWatch>[0];
    const counter = new Counter({ name: "slashes_test", help: "test", registers: [] });
    const watch = new SlashWatch(market, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", counter, 50);
    expect(await watch.poll(100)).to.equal(0); // sets the start: earlier slashes are history
    expect(await watch.poll(240)).to.equal(2);
    expect(windows).to.deep.equal([[101, 150], [151, 200], [201, 240]]);
    expect(await watch.poll(240)).to.equal(0);
    expect((await counter.get()).values[0]!.value).to.equal(2);
  });

  it("serveHttp binds httpHost (VERDICT_HTTP_HOST), 127.0.0.1 by default", async () => {
    expect(loadConfig(undefined, {}).httpHost).to.equal("127.0.0.1");
    expect(loadConfig(undefined, { VERDICT_HTTP_HOST: "0.0.0.0" }).httpHost).to.equal("0.0.0.0");
    const probes = { live: async () => true, ready: async () => true };
    const wide = await serveHttp(await getPort(), new Registry(), [], probes, "0.0.0.0");
    const local = await serveHttp(await getPort(), new Registry(), [], probes);
    try {
      expect((wide!.address() as AddressInfo).address).to.equal("0.0.0.0");
      expect((local!.address() as AddressInfo).address).to.equal("127.0.0.1");
      const res = await fetch(`http://127.0.0.1:${(wide!.address() as AddressInfo).port}/livez`);
      expect(res.status).to.equal(200);
    } finally {
      wide?.close();
      local?.close();
    }
  });
});

describe("Grafana dashboard (infra/grafana/verdict.json)", () => {
  it("every metric a panel queries is one the operator or the relayer registers", async () => {
    const { readFile } = await import("node:fs/promises");
    const path = (await import("node:path")).default;
    const { REPO_ROOT } = await import("../../shared/paths.js");
    const { operatorMetrics } = await import("../../operator/pipeline.js");
    const { riskMetrics } = await import("../../operator/observability.js");
    const { Relayer } = await import("../../relayer/relay.js");
    const { deadLetterDepth } = await import("../../relayer/main.js");
    const { pino } = await import("pino");
    const { Wallet } = await import("ethers"); // the provider is never called: the relayer only registers its metrics
    const registry = new Registry();
    operatorMetrics(registry);
    riskMetrics(registry);
    rpcMetrics(registry);
    const { RelayStore } = await import("../../relayer/store.js");
    const { Redis } = await import("ioredis");
    const store = new RelayStore(new Redis({ lazyConnect: true }), "unused"); // never connected: only metrics are registered
    new Relayer({ signers: [Wallet.createRandom(new JsonRpcProvider("http://127.0.0.1:9", 31337, { staticNetwork: true }))], config: loadConfig(undefined, {}).relayer, logger: pino({ level: "silent" }), registry, store });
    clearInterval(deadLetterDepth(registry, { getJobCounts: async () => ({}) } as never, pino({ level: "silent" }), 60_000));
    const known = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const dashboard = JSON.parse(await readFile(path.join(REPO_ROOT, "infra", "grafana", "verdict.json"), "utf8")) as { panels: { targets?: { expr: string }[] }[] };
    const queried = new Set(dashboard.panels.flatMap((p) => p.targets ?? []).flatMap((t) => t.expr.match(/\b(verdict_[a-z_]+|relayer_[a-z_]+)/g) ?? []).map((n) => n.replace(/_(bucket|count|sum)$/, "")));
    expect(queried.size).to.be.greaterThan(15);
    expect([...queried].filter((n) => !known.has(n))).to.deep.equal([]);
  });
});
