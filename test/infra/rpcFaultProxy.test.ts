// The JSON-RPC fault proxy in front of a real `hardhat node`: injected error bodies reach ethers v6 the way a
// hosted provider's do (an eth_call error becomes CALL_EXCEPTION without revert data: the S1-1 bug class), inside
// ethers' batches without failing their other items; sends are spared unless named; the counts are exact and a
// seed replays the same faults; latency is added; and its overhead without faults is printed.
import { expect } from "chai";
import { isError, JsonRpcProvider, Wallet } from "ethers";
import { startLocalChain } from "../../infra/localChain.js";
import { startRpcFaultProxy, type RpcFaultProxy } from "../../infra/rpcFaultProxy.js";
import type { LocalService } from "../../infra/service.js";
import { DEV_KEYS } from "../../infra/localStack.js";

/** One raw JSON-RPC POST (no ethers: no batching, no retries). */
async function post(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}
const HARDHAT_CHAIN_ID = 31337;
const call = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: "2.0", id, method, params });

describe("infra: JSON-RPC fault proxy", function () {
  this.timeout(120_000);
  let chain: LocalService;
  const proxies: RpcFaultProxy[] = [];
  const providers: JsonRpcProvider[] = [];

  async function proxy(opts: Parameters<typeof startRpcFaultProxy>[1]): Promise<RpcFaultProxy> {
    const p = await startRpcFaultProxy(chain.url, opts);
    proxies.push(p);
    return p;
  }
  function provider(url: string): JsonRpcProvider {
    // The chain id given, so that ethers sends nothing but what a test asks for.
    const p = new JsonRpcProvider(url, HARDHAT_CHAIN_ID, { staticNetwork: true });
    providers.push(p);
    return p;
  }

  before(async () => {
    chain = await startLocalChain();
  });
  after(async () => {
    for (const p of providers) p.destroy();
    for (const p of proxies) await p.close();
    await chain?.stop();
  });

  it("ethers v6 surfaces an injected eth_call error as CALL_EXCEPTION with data null, and the batch's other items succeed", async () => {
    const p = await proxy({ errorRate: 1, kinds: ["headerNotFound"], methods: ["eth_call"] });
    const eth = provider(p.url);
    // Issued in one tick: ethers sends them as one batch.
    const [block, callResult] = await Promise.allSettled([eth.getBlockNumber(), eth.call({ to: new Wallet(DEV_KEYS.relayer).address, data: "0x12345678" })]);
    expect(block.status).to.equal("fulfilled");
    expect(callResult.status).to.equal("rejected");
    const err = (callResult as PromiseRejectedResult).reason as unknown;
    expect(isError(err, "CALL_EXCEPTION"), String(err)).to.equal(true);
    if (!isError(err, "CALL_EXCEPTION")) return;
    expect(err.data).to.equal(null);
    expect(err.info?.error).to.deep.include({ code: -32000, message: "header not found" });
    const stats = p.stats();
    expect(stats.httpRequests).to.equal(1);
    expect(stats.requests).to.deep.equal({ eth_blockNumber: 1, eth_call: 1 });
    expect(stats.injected).to.deep.equal({ rateLimit: 0, rateLimitHttp: 0, headerNotFound: 1, timeout: 0 });
  });

  it("each kind answers the body real providers send; rateLimitHttp answers the whole batch with HTTP 429", async () => {
    const bodies: Record<string, unknown> = {};
    for (const kind of ["rateLimit", "headerNotFound", "timeout"] as const) {
      const p = await proxy({ errorRate: 1, kinds: [kind] });
      const { status, json } = await post(p.url, call(7, "eth_blockNumber"));
      expect(status).to.equal(200);
      bodies[kind] = json;
    }
    expect(bodies).to.deep.equal({
      rateLimit: { jsonrpc: "2.0", id: 7, error: { code: -32005, message: "rate limit exceeded" } },
      headerNotFound: { jsonrpc: "2.0", id: 7, error: { code: -32000, message: "header not found" } },
      timeout: { jsonrpc: "2.0", id: 7, error: { code: -32000, message: "execution aborted (timeout)" } },
    });
    const p = await proxy({ errorRate: 1, kinds: ["rateLimitHttp"] });
    const { status, json } = await post(p.url, [call(1, "eth_chainId"), call(2, "eth_blockNumber")]);
    expect(status).to.equal(429);
    expect(json).to.deep.equal([1, 2].map((id) => ({ jsonrpc: "2.0", id, error: { code: -32005, message: "rate limit exceeded" } })));
    expect(p.stats().injected.rateLimitHttp).to.equal(1);
  });

  it("counts every item per method and every injected error per kind; the same seed injects the same faults", async () => {
    const run = async (seed: number) => {
      const p = await proxy({ errorRate: 0.3, kinds: ["rateLimit", "timeout"], methods: ["eth_blockNumber"], seed });
      const failed: number[] = [];
      for (let i = 0; i < 40; i++) {
        const { json } = await post(p.url, [call(i * 2, "eth_blockNumber"), call(i * 2 + 1, "eth_chainId")]);
        for (const item of json as { id: number; error?: unknown }[]) if (item.error) failed.push(item.id);
      }
      return { failed: failed.sort((a, b) => a - b), stats: p.stats() };
    };
    const a = await run(42);
    const b = await run(42);
    expect(a.failed, "same seed, same faults").to.deep.equal(b.failed);
    expect(a.failed.every((id) => id % 2 === 0), "only the filtered method is faulted").to.equal(true);
    expect(a.stats.requests).to.deep.equal({ eth_blockNumber: 40, eth_chainId: 40 });
    expect(a.stats.httpRequests).to.equal(40);
    expect(a.stats.injected.rateLimit + a.stats.injected.timeout).to.equal(a.failed.length);
    expect(a.failed.length).to.be.within(4, 22); // 30% of 40, with a wide margin
    expect((await run(43)).failed, "another seed, other faults").to.not.deep.equal(a.failed);
  });

  it("never faults eth_sendRawTransaction unless it is named in `methods`", async () => {
    const direct = provider(chain.url);
    const wallet = new Wallet(DEV_KEYS.operators[2]!, direct);
    const p = await proxy({ errorRate: 1 });
    const sign = async () => wallet.signTransaction(await wallet.populateTransaction({ to: wallet.address, value: 1n }));
    const { json } = await post(p.url, call(1, "eth_sendRawTransaction", [await sign()]));
    expect(json).to.have.property("result").that.matches(/^0x[0-9a-f]{64}$/);
    expect(Object.values(p.stats().injected).reduce((x, y) => x + y)).to.equal(0);
    p.configure({ methods: ["eth_sendRawTransaction"], kinds: ["timeout"] });
    const before = await direct.getTransactionCount(wallet.address, "pending");
    const refused = await post(p.url, call(2, "eth_sendRawTransaction", [await sign()]));
    expect(refused.json).to.have.property("error");
    expect(await direct.getTransactionCount(wallet.address, "pending"), "a faulted send never reaches the node").to.equal(before);
  });

  it("adds fixed latency plus jitter; without faults its overhead is small", async () => {
    const slow = await proxy({ latencyMs: 150, jitterMs: 50 });
    const t0 = performance.now();
    await post(slow.url, call(1, "eth_blockNumber"));
    expect(performance.now() - t0).to.be.at.least(150);

    const clean = await proxy({});
    const median = async (url: string) => {
      const times: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t = performance.now();
        await post(url, call(i, "eth_blockNumber"));
        times.push(performance.now() - t);
      }
      return times.sort((a, b) => a - b)[100]!;
    };
    await median(clean.url); // warm both paths up
    const direct = await median(chain.url);
    const proxied = await median(clean.url);
    console.log(`      eth_blockNumber p50: direct ${direct.toFixed(2)} ms, through the proxy ${proxied.toFixed(2)} ms (overhead ${(proxied - direct).toFixed(2)} ms)`);
    expect(proxied - direct).to.be.below(25);
  });
});
