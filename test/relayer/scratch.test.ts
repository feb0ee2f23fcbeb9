import { createJob, deploySystem, ethers, networkHelpers, signedFulfilment } from "../fixtures/system.js";
import { InferenceMarket__factory } from "../../types/ethers-contracts/index.js";

function dump(label: string, e: unknown) {
  const o = e as Record<string, unknown>;
  console.log("=====", label, (e as Error)?.constructor?.name, Object.keys(o));
  for (const k of Object.keys(o)) { try { console.log("  ", k, JSON.stringify(o[k], (_k, v) => typeof v === "bigint" ? v.toString() : v)?.slice(0, 300)); } catch { console.log("  ", k, String(o[k])); } }
  console.log("  message:", (e as Error).message.slice(0, 300));
  console.log("  cause:", (e as {cause?: unknown}).cause);
}

describe("scratch", () => {
  it("errors", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const iface = InferenceMarket__factory.createInterface();
    const jobId = await createJob(s.market, s.requester);
    const auth = await signedFulfilment(s.market, s.operator, jobId);
    const data = iface.encodeFunctionData("fulfilWithSignature", [auth]);
    const to = await s.market.getAddress();
    try { await ethers.provider.call({ to, data, from: s.relayer.address }); } catch (e) { dump("call", e); }
    try { await ethers.provider.estimateGas({ to, data, from: s.relayer.address }); } catch (e) { dump("estimate", e); }
    const n = await ethers.provider.getTransactionCount(s.relayer.address, "pending");
    try { await s.relayer.sendTransaction({ to: s.relayer.address, value: 1n, nonce: n - 1 }); } catch (e) { dump("nonce low", e); }
    try { await s.relayer.sendTransaction({ to: s.relayer.address, value: 10n ** 30n }); } catch (e) { dump("funds", e); }
    try { await s.relayer.sendTransaction({ to, data, gasLimit: 500000 }); } catch (e) { dump("send revert", e); }
    console.log(await ethers.provider.getFeeData());
    await ethers.provider.send("evm_setAutomine", [false]);
    try {
      const n2 = await ethers.provider.getTransactionCount(s.relayer.address, "pending");
      const fd = await ethers.provider.getFeeData();
      const t1 = await s.relayer.sendTransaction({ to: s.relayer.address, value: 1n, nonce: n2, maxFeePerGas: fd.maxFeePerGas!, maxPriorityFeePerGas: fd.maxPriorityFeePerGas! });
      console.log("t1", t1.hash);
      try { const t = await s.relayer.sendTransaction({ to: s.relayer.address, value: 1n, nonce: n2, maxFeePerGas: fd.maxFeePerGas!, maxPriorityFeePerGas: fd.maxPriorityFeePerGas! }); console.log("same again ok", t.hash); } catch (e) { dump("same", e); }
      try { await s.relayer.sendTransaction({ to: s.relayer.address, value: 2n, nonce: n2, maxFeePerGas: fd.maxFeePerGas! * 105n / 100n, maxPriorityFeePerGas: fd.maxPriorityFeePerGas! * 105n / 100n }); } catch (e) { dump("underpriced", e); }
      const t3 = await s.relayer.sendTransaction({ to: s.relayer.address, value: 2n, nonce: n2, maxFeePerGas: fd.maxFeePerGas! * 111n / 100n, maxPriorityFeePerGas: fd.maxPriorityFeePerGas! * 111n / 100n });
      console.log("replaced 10%", t3.hash, await ethers.provider.send("eth_getBlockByNumber", ["pending", false]));
      console.log("pending count", await ethers.provider.getTransactionCount(s.relayer.address, "pending"), "latest", await ethers.provider.getTransactionCount(s.relayer.address, "latest"));
      console.log(await ethers.provider.getTransaction(t1.hash));
      await ethers.provider.send("evm_mine", []);
      console.log("r1", await ethers.provider.getTransactionReceipt(t1.hash), "r3", (await ethers.provider.getTransactionReceipt(t3.hash))?.status);
    } finally { await ethers.provider.send("evm_setAutomine", [true]); }
  });
});
