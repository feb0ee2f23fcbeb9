// JSON-RPC metrics for any ethers JsonRpcProvider: requests, errors (by kind, rate limits apart) and latency per
// method, measured at the provider's transport (`_send`), so every call is counted once, batched ones included.
// The RPC endpoint is the scarcest resource a service has; these show which method spends it and when it fails.
import { AsyncLocalStorage } from "node:async_hooks";
import type { JsonRpcError, JsonRpcPayload, JsonRpcProvider, JsonRpcResult } from "ethers";
import { Counter, Histogram, type Registry } from "prom-client";

export interface RpcMetrics {
  requests: Counter<"method">;
  errors: Counter<"method" | "kind">;
  seconds: Histogram<"method">;
}

/** Registers the RPC metrics (verdict_rpc_*) once per registry. */
export function rpcMetrics(registry: Registry): RpcMetrics {
  const existing = registry.getSingleMetric("verdict_rpc_requests_total");
  if (existing) return (registry as unknown as { __rpc: RpcMetrics }).__rpc;
  const r = { registers: [registry] };
  const m: RpcMetrics = {
    requests: new Counter({ name: "verdict_rpc_requests_total", help: "JSON-RPC requests sent, by method", labelNames: ["method"], ...r }),
    errors: new Counter({ name: "verdict_rpc_errors_total", help: "JSON-RPC requests that failed, by method and kind (rate_limited, transport, rpc_error)", labelNames: ["method", "kind"], ...r }),
    seconds: new Histogram({ name: "verdict_rpc_request_seconds", help: "JSON-RPC round-trip time, by method", labelNames: ["method"], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], ...r }),
  };
  (registry as unknown as { __rpc: RpcMetrics }).__rpc = m;
  return m;
}

/** The kind of a failed request: a rate limit (HTTP 429, or the codes providers use for it) or another failure. */
export function errorKind(e: unknown): "rate_limited" | "transport" | "rpc_error" {
  const err = e as { code?: unknown; status?: unknown; error?: { code?: unknown; message?: unknown }; message?: unknown; info?: { responseStatus?: unknown } };
  const text = `${String(err?.message ?? "")} ${String(err?.error?.message ?? "")} ${String(err?.info?.responseStatus ?? "")}`;
  if (err?.status === 429 || err?.error?.code === -32005 || err?.error?.code === 429 || /\b429\b|rate.?limit|too many requests/i.test(text)) return "rate_limited";
  return err?.error !== undefined ? "rpc_error" : "transport";
}

/** Wraps `provider._send` so every request is counted and timed, per method (batches count each call). */
export function instrumentProvider(provider: JsonRpcProvider, metrics: RpcMetrics): JsonRpcProvider {
  const send = provider._send.bind(provider);
  provider._send = async (payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> => {
    const calls = Array.isArray(payload) ? payload : [payload];
    const timers = calls.map((c) => {
      metrics.requests.inc({ method: c.method });
      return metrics.seconds.startTimer({ method: c.method });
    });
    try {
      const results = await send(payload);
      // ethers types the answers as results, but a node's error answers come back here too.
      for (const r of results as (JsonRpcResult | JsonRpcError)[]) {
        const call = calls.find((c) => c.id === r.id);
        if (call && "error" in r && r.error) metrics.errors.inc({ method: call.method, kind: errorKind(r) });
      }
      return results;
    } catch (e) {
      const kind = errorKind(e);
      for (const c of calls) metrics.errors.inc({ method: c.method, kind });
      throw e;
    } finally {
      for (const end of timers) end();
    }
  };
  return provider;
}

/** The part of a service a JSON-RPC call is made for (a pipeline stage, the watcher, ...), for attribution. */
const scope = new AsyncLocalStorage<string>();

/** Runs `fn` with every JSON-RPC call it makes (directly or through what it awaits) counted under `name`. */
export function withRpcScope<T>(name: string, fn: () => T): T {
  return scope.run(name, fn);
}

/**
 * Counts each logical call (`provider.send`, made in the caller's async context, before ethers batches it) by
 * scope and method: where the requests of a job go (verdict_rpc_calls_total{scope,method}).
 */
export function attributeCalls(provider: JsonRpcProvider, registry: Registry): void {
  const calls =
    (registry.getSingleMetric("verdict_rpc_calls_total") as Counter<"scope" | "method"> | undefined) ??
    new Counter({ name: "verdict_rpc_calls_total", help: "JSON-RPC calls by the part of the service that made them (scope) and method", labelNames: ["scope", "method"], registers: [registry] });
  const send = provider.send.bind(provider);
  provider.send = (method: string, params: unknown[] | Record<string, unknown>) => {
    calls.inc({ scope: scope.getStore() ?? "other", method });
    return send(method, params);
  };
}
