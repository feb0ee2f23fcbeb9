// An HTTP proxy in front of a JSON-RPC node that misbehaves the way hosted providers do: per request item (ethers
// batches by default), with a seeded probability, it answers a JSON-RPC error body instead of forwarding (rate
// limit, a back end that lags with "header not found", a timed-out execution), or the whole HTTP request with a
// 429; it adds latency, and counts requests per method and injected errors per kind. Each client may name itself
// in the URL's path (`<url>/relayer`): requests are also counted per source and method. The TCP outage proxy
// (cut/restore) is infra/rpcProxy.ts.
import getPort from "get-port";
import http from "node:http";
import { z } from "zod";

/** rateLimitHttp answers the whole HTTP request (every item of a batch) with status 429; the others one item. */
export type FaultKind = "rateLimit" | "rateLimitHttp" | "headerNotFound" | "timeout";
export const FAULT_KINDS: readonly FaultKind[] = ["rateLimit", "rateLimitHttp", "headerNotFound", "timeout"];

// What real providers answer (geth/erigon behind a load balancer, Infura and Alchemy rate limits).
const ERRORS: Record<FaultKind, { code: number; message: string }> = {
  rateLimit: { code: -32005, message: "rate limit exceeded" },
  rateLimitHttp: { code: -32005, message: "rate limit exceeded" },
  headerNotFound: { code: -32000, message: "header not found" },
  timeout: { code: -32000, message: "execution aborted (timeout)" },
};

// An error answered for a send the node never saw would be a lie about what happened on chain; a test that wants
// it (the node did receive it, the answer was lost) asks for the method by name.
const SEND = "eth_sendRawTransaction";

export interface FaultConfig {
  /** Probability in [0, 1] that an eligible request item is answered with an error instead of being forwarded. */
  errorRate: number;
  /** Kinds to inject, drawn uniformly (default: all). */
  kinds: readonly FaultKind[];
  /** Methods eligible for faults; default every method except eth_sendRawTransaction, which only an explicit list covers. */
  methods?: readonly string[];
  /** Added to every HTTP request before it is forwarded: `latencyMs` plus a uniform draw in [0, jitterMs). */
  latencyMs: number;
  jitterMs: number;
}

export interface FaultStats {
  /** HTTP requests received (a batch is one). */
  httpRequests: number;
  /** Request items received, per JSON-RPC method (faulted ones included). */
  requests: Record<string, number>;
  /** The same per source (the URL path a client was given, without its slash; "" for none), then per method. */
  bySource: Record<string, Record<string, number>>;
  /** Errors injected per kind (rateLimitHttp counts HTTP requests, the others items). */
  injected: Record<FaultKind, number>;
}

export interface RpcFaultProxy {
  url: string;
  port: number;
  /** Changes the faults from the next request on (e.g. none while deploying, then 10%). */
  configure(change: Partial<FaultConfig>): void;
  /** A copy of the counters so far. */
  stats(): FaultStats;
  close(): Promise<void>;
}

const itemSchema = z.object({ method: z.string(), id: z.union([z.string(), z.number(), z.null()]).optional() }).passthrough();
const bodySchema = z.union([itemSchema, z.array(itemSchema).nonempty()]);
type Item = z.infer<typeof itemSchema>;

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with the same faults. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c)).on("end", () => resolve(Buffer.concat(chunks))).on("error", reject);
  });
}

export async function startRpcFaultProxy(targetUrl: string, opts: Partial<FaultConfig> & { seed?: number } = {}): Promise<RpcFaultProxy> {
  const { seed = 1, ...initial } = opts;
  let config: FaultConfig = { errorRate: 0, kinds: FAULT_KINDS, latencyMs: 0, jitterMs: 0, ...initial };
  const random = seededRandom(seed);
  const stats: FaultStats = { httpRequests: 0, requests: {}, bySource: {}, injected: { rateLimit: 0, rateLimitHttp: 0, headerNotFound: 0, timeout: 0 } };

  const eligible = (method: string) => (config.methods ? config.methods.includes(method) : method !== SEND);
  const draw = (method: string): FaultKind | undefined => {
    if (!eligible(method) || config.kinds.length === 0 || random() >= config.errorRate) return undefined;
    return config.kinds[Math.floor(random() * config.kinds.length)];
  };
  const errorItem = (item: Item, kind: FaultKind) => ({ jsonrpc: "2.0", id: item.id ?? null, error: ERRORS[kind] });

  const forward = async (body: Buffer | string) => {
    const res = await fetch(targetUrl, { method: "POST", headers: { "content-type": "application/json" }, body });
    return { status: res.status, text: await res.text() };
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const raw = await readBody(req);
    stats.httpRequests++;
    if (config.latencyMs > 0 || config.jitterMs > 0) await new Promise((r) => setTimeout(r, config.latencyMs + random() * config.jitterMs));
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(typeof body === "string" ? body : JSON.stringify(body));
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString("utf8"));
    } catch {
      parsed = undefined;
    }
    const body = bodySchema.safeParse(parsed);
    // Not JSON-RPC: the node answers it (and its error) itself.
    if (!body.success) {
      const up = await forward(raw);
      return reply(up.status, up.text);
    }
    const batch = Array.isArray(body.data);
    const items: Item[] = Array.isArray(body.data) ? body.data : [body.data];
    const source = (stats.bySource[(req.url ?? "/").replace(/^\/+|\/+$/g, "")] ??= {});
    const faults = items.map((item) => {
      stats.requests[item.method] = (stats.requests[item.method] ?? 0) + 1;
      source[item.method] = (source[item.method] ?? 0) + 1;
      return draw(item.method);
    });
    if (faults.includes("rateLimitHttp")) {
      stats.injected.rateLimitHttp++;
      const error = errorItem(items[0]!, "rateLimitHttp");
      return reply(429, batch ? items.map((i) => ({ ...error, id: i.id ?? null })) : error);
    }
    const answered = items.flatMap((item, i) => (faults[i] ? [errorItem(item, faults[i])] : []));
    for (const kind of faults) if (kind) stats.injected[kind]++;
    const passed = items.filter((_, i) => !faults[i]);
    let upstream: unknown[] = [];
    if (passed.length > 0) {
      const up = await forward(JSON.stringify(batch ? passed : passed[0]));
      // An HTTP-level failure of the node itself is passed on unchanged.
      if (up.status !== 200) return reply(up.status, up.text);
      const result: unknown = JSON.parse(up.text);
      upstream = Array.isArray(result) ? result : [result];
    }
    // Batch answers are matched by id, so their order does not matter.
    reply(200, batch ? [...upstream, ...answered] : (upstream[0] ?? answered[0]));
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      // The node is unreachable: the client sees what it would see without the proxy, a dropped connection.
      res.destroy();
    });
  });
  const port = await getPort({ host: "127.0.0.1" });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    configure(change) {
      config = { ...config, ...change };
    },
    stats: () => ({
      httpRequests: stats.httpRequests,
      requests: { ...stats.requests },
      bySource: Object.fromEntries(Object.entries(stats.bySource).map(([k, v]) => [k, { ...v }])),
      injected: { ...stats.injected },
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Clients keep connections alive; close() must not wait for them.
        server.closeAllConnections();
      }),
  };
}
