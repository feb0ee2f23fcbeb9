// What ethers v6 really throws when a provider answers eth_call / eth_estimateGas with a JSON-RPC error body, and
// how Verdict classifies it: an answer that is not a revert must never be taken for one (review S1-1: the verify
// stage failed locked jobs for good, and `verdict verify` called valid proofs INVALID, on a rate limit).
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import express from "express";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { classifySendError, isRevert } from "../../shared/rpcErrors.js";
import { RetryingJsonRpcProvider } from "../../shared/rpcProvider.js";

type RpcError = { code: number; message: string; data?: string };

/**
 * A JSON-RPC endpoint that answers eth_chainId, and every other method with the error `answer` set, for the first
 * `times` requests (then with "0x01"); it counts the requests per method.
 */
async function fakeNode(): Promise<{ url: string; server: Server; answer: (e: RpcError, times?: number) => void; calls: Map<string, number> }> {
  let error: RpcError = { code: -32005, message: "rate limit exceeded" };
  let failures = Number.POSITIVE_INFINITY;
  const calls = new Map<string, number>();
  const app = express().use(express.json());
  app.post("/", (req, res) => {
    const one = (r: { id: number; method: string }) => {
      calls.set(r.method, (calls.get(r.method) ?? 0) + 1);
      if (r.method === "eth_chainId") return { jsonrpc: "2.0", id: r.id, result: "0x7a69" };
      return failures-- > 0 ? { jsonrpc: "2.0", id: r.id, error } : { jsonrpc: "2.0", id: r.id, result: "0x01" };
    };
    res.json(Array.isArray(req.body) ? req.body.map(one) : one(req.body));
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const answer = (e: RpcError, times = Number.POSITIVE_INFINITY) => {
    error = e;
    failures = times;
    calls.clear();
  };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, answer, calls };
}

describe("RPC error classification against ethers' real errors", () => {
  let node: Awaited<ReturnType<typeof fakeNode>>;
  let provider: JsonRpcProvider;
  const call = { to: "0x0000000000000000000000000000000000000001", data: "0x12345678" };
  const thrown = async (p: Promise<unknown>) => p.then(() => expect.fail("expected a rejection"), (e: unknown) => e);

  before(async () => {
    node = await fakeNode();
    provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
  });
  after(() => {
    provider.destroy();
    node.server.close();
  });

  for (const [what, error] of [
    ["a rate limit", { code: -32005, message: "rate limit exceeded" }],
    ["a lagging back end's header not found", { code: -32000, message: "header not found" }],
    ["a node-side timeout", { code: -32000, message: "execution aborted (timeout = 5s)" }],
  ] as const) {
    it(`eth_call and eth_estimateGas answered with ${what} are retried, not taken for a revert`, async () => {
      node.answer(error);
      for (const e of [await thrown(provider.call(call)), await thrown(provider.estimateGas(call))]) {
        expect((e as { code: string }).code, "ethers reports it as a call exception").to.equal("CALL_EXCEPTION");
        expect(isRevert(e)).to.equal(false);
        expect(classifySendError(e)).to.deep.equal({ action: "retry", reason: "network" });
      }
    });
  }

  it("a revert with custom-error data, and one without data, are reverts", async () => {
    node.answer({ code: 3, message: "execution reverted", data: "0xbfa13283" });
    expect(isRevert(await thrown(provider.call(call)))).to.equal(true);
    node.answer({ code: -32000, message: "execution reverted", data: "0x" });
    expect(isRevert(await thrown(provider.call(call)))).to.equal(true);
  });

  describe("the services' provider (RetryingJsonRpcProvider)", () => {
    let retrying: RetryingJsonRpcProvider;
    before(() => {
      retrying = new RetryingJsonRpcProvider(node.url, 31337, { staticNetwork: true });
    });
    after(() => retrying.destroy());

    it("asks a read answered with a rate limit or header not found again, and returns the later answer", async () => {
      node.answer({ code: -32005, message: "rate limit exceeded" }, 2);
      expect(await retrying.getBlockNumber()).to.equal(1);
      expect(node.calls.get("eth_blockNumber")).to.equal(3);
      node.answer({ code: -32000, message: "header not found" }, 1);
      expect(await retrying.call(call)).to.equal("0x01");
      expect(node.calls.get("eth_call")).to.equal(2);
    });

    it("does not ask again for a revert, a range refusal or a send, and gives up after a few tries", async () => {
      node.answer({ code: 3, message: "execution reverted", data: "0xbfa13283" }, 1);
      expect(isRevert(await thrown(retrying.call(call)))).to.equal(true);
      expect(node.calls.get("eth_call")).to.equal(1);
      node.answer({ code: -32005, message: "query returned more than 10000 results" }, 1);
      await thrown(retrying.send("eth_getLogs", [{}]));
      expect(node.calls.get("eth_getLogs")).to.equal(1);
      node.answer({ code: -32005, message: "rate limit exceeded" }, 1);
      await thrown(retrying.send("eth_sendRawTransaction", ["0x00"]));
      expect(node.calls.get("eth_sendRawTransaction")).to.equal(1);
      node.answer({ code: -32005, message: "rate limit exceeded" });
      expect(classifySendError(await thrown(retrying.call(call)))).to.deep.equal({ action: "retry", reason: "network" });
      expect(node.calls.get("eth_call")).to.equal(4);
    });
  });
});
