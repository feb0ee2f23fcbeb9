// What ethers v6 really throws when a provider answers eth_call / eth_estimateGas with a JSON-RPC error body, and
// how Verdict classifies it: an answer that is not a revert must never be taken for one (review S1-1: the verify
// stage failed locked jobs for good, and `verdict verify` called valid proofs INVALID, on a rate limit).
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import express from "express";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { classifySendError, isRevert } from "../../shared/rpcErrors.js";

type RpcError = { code: number; message: string; data?: string };

/** A JSON-RPC endpoint that answers eth_chainId and, for every other method, the error `next` holds. */
async function fakeNode(): Promise<{ url: string; server: Server; answer: (e: RpcError) => void }> {
  let error: RpcError = { code: -32005, message: "rate limit exceeded" };
  const app = express().use(express.json());
  app.post("/", (req, res) => {
    const one = (r: { id: number; method: string }) => (r.method === "eth_chainId" ? { jsonrpc: "2.0", id: r.id, result: "0x7a69" } : { jsonrpc: "2.0", id: r.id, error });
    res.json(Array.isArray(req.body) ? req.body.map(one) : one(req.body));
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, answer: (e) => (error = e) };
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
});
