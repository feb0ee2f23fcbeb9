import { expect } from "chai";
import { anyUint } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { HostileConsumer__factory } from "../../types/ethers-contracts/index.js";
import { feltToSigned } from "../../zk/runtime/felt.js";
import { deploySystem, ETH, ethers, FAKE_PROOF, instancesFor, jobRequest, lockedJob, modelVersion, networkHelpers, PRICE, SAMPLE_INPUT, SAMPLE_OUTPUT } from "../fixtures/system.js";

const Behaviour = { Record: 0, Revert: 1, BurnAllGas: 2, ReturnBomb: 3, Reenter: 4, GasProbe: 5 } as const;
const FULFILLED = 3n;
const OUTPUTS = SAMPLE_OUTPUT.map(feltToSigned);

/** A locked job whose callback is a HostileConsumer with `behaviour`. */
async function consumerJob(behaviour: number, callbackGasLimit = 200_000) {
  const s = await networkHelpers.loadFixture(deploySystem);
  const consumer = await new HostileConsumer__factory(s.admin).deploy(s.market);
  await consumer.setBehaviour(behaviour);
  const jobId = await lockedJob(s, { callback: await consumer.getAddress(), callbackGasLimit });
  return { s, consumer, jobId };
}

interface CallFrame { from: string; to: string; input: string; output?: string; calls?: CallFrame[] }

/** Every call `from` made to `to` during a mined transaction (EDR's callTracer). */
async function callsBetween(txHash: string, from: string, to: string): Promise<CallFrame[]> {
  const root: CallFrame = await ethers.provider.send("debug_traceTransaction", [txHash, { tracer: "callTracer" }]);
  const all: CallFrame[] = [];
  const walk = (f: CallFrame) => { all.push(f); f.calls?.forEach(walk); };
  walk(root);
  return all.filter((f) => f.from.toLowerCase() === from.toLowerCase() && f.to.toLowerCase() === to.toLowerCase());
}

describe("InferenceMarket callbacks", () => {
  it("fulfil calls a consumer with the job id and the signed outputs and emits CallbackCalled(success)", async () => {
    const { s, consumer, jobId } = await consumerJob(Behaviour.Record);
    const tx = s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor());
    await expect(tx).to.emit(s.market, "JobFulfilled").withArgs(jobId, s.operator.address, ETH, PRICE, 0n, OUTPUTS);
    await expect(tx).to.emit(s.market, "CallbackCalled").withArgs(jobId, await consumer.getAddress(), true);
    expect(OUTPUTS).to.deep.equal([16n, -19n]); // 0.015625 and -0.0185546875 at scale 10
    expect(await consumer.lastJobId()).to.equal(jobId);
    expect(await consumer.lastOutputsLength()).to.equal(2n);
    expect([await consumer.lastOutputs(0), await consumer.lastOutputs(1)]).to.deep.equal(OUTPUTS);
  });

  for (const [name, behaviour] of [["reverts", Behaviour.Revert], ["burns all its gas", Behaviour.BurnAllGas]] as const) {
    it(`fulfil settles and credits the operator when the callback ${name}, emitting CallbackCalled(false)`, async () => {
      const { s, consumer, jobId } = await consumerJob(behaviour);
      await expect(s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor()))
        .to.emit(s.market, "CallbackCalled")
        .withArgs(jobId, await consumer.getAddress(), false);
      expect((await s.market.jobOf(jobId)).status).to.equal(FULFILLED);
      expect(await s.market.balanceOf(s.operator, ETH)).to.equal(PRICE);
      expect(await consumer.lastJobId()).to.equal(0n);
    });
  }

  // T-1: with 200k gas the consumer cannot afford to return 1 MB, so this only shows settlement survives the attempt;
  // the next test, where the consumer can afford it, is the one that shows return data is never copied.
  it("fulfil settles with bounded gas when the callback runs out of gas trying to return 1 MB (CallbackCalled(false))", async () => {
    const { s, consumer, jobId } = await consumerJob(Behaviour.ReturnBomb);
    const tx = s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor());
    await expect(tx).to.emit(s.market, "CallbackCalled").withArgs(jobId, await consumer.getAddress(), false);
    const receipt = await (await tx).wait();
    expect(receipt!.gasUsed < 1_500_000n).to.equal(true, `gasUsed ${receipt!.gasUsed}`);
    expect((await s.market.jobOf(jobId)).status).to.equal(FULFILLED);
    expect(await s.market.balanceOf(s.operator, ETH)).to.equal(PRICE);
  });

  it("fulfil does not pay to copy 1 MB of return data even when the callback can afford to return it (return data is never copied)", async () => {
    // With the maximum gas limit the consumer pays ~2M gas to expand its memory and returns successfully; a market
    // that copied the return data would pay about as much again on its side.
    const { s, consumer, jobId } = await consumerJob(Behaviour.ReturnBomb, 3_000_000);
    const tx = s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor());
    await expect(tx).to.emit(s.market, "CallbackCalled").withArgs(jobId, await consumer.getAddress(), true);
    const receipt = await (await tx).wait();
    expect(receipt!.gasUsed < 3_000_000n).to.equal(true, `gasUsed ${receipt!.gasUsed}`);
  });

  it("a consumer cannot re-enter slash or withdraw from its callback; the settlement stands", async () => {
    const { s, consumer, jobId } = await consumerJob(Behaviour.Reenter);
    const tx = s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor());
    await expect(tx).to.emit(s.market, "CallbackCalled").withArgs(jobId, await consumer.getAddress(), true);
    expect(await consumer.reentryFailed()).to.equal(true);
    // Both attempts (slash, withdraw) are stopped by the guard itself, not by a later check.
    const reentries = await callsBetween((await tx).hash, await consumer.getAddress(), await s.market.getAddress());
    const guard = s.market.interface.getError("ReentrancyGuardReentrantCall")!.selector;
    expect(reentries.map((c) => c.input.slice(0, 10))).to.deep.equal([s.market.interface.getFunction("slash")!.selector, s.market.interface.getFunction("withdraw")!.selector]);
    expect(reentries.map((c) => c.output)).to.deep.equal([guard, guard]);
    expect(await consumer.lastJobId()).to.equal(jobId);
    expect((await s.market.jobOf(jobId)).status).to.equal(FULFILLED);
    expect(await s.market.balanceOf(s.operator, ETH)).to.equal(PRICE);
  });

  it("fulfil reverts InsufficientGasForCallback when the tx gas cannot give the callback its full limit (63/64 rule)", async () => {
    const callbackGasLimit = 2_000_000;
    const { s, consumer, jobId } = await consumerJob(Behaviour.Record, callbackGasLimit);
    const required = BigInt(callbackGasLimit) + BigInt(callbackGasLimit) / 63n + 3_001n; // + CALLBACK_CALL_OVERHEAD + 1
    // 1M gas covers the whole settlement (the revert comes from the callback check, after it) but not the callback.
    await expect(s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor(), { gasLimit: 1_000_000 }))
      .to.be.revertedWithCustomError(s.market, "InsufficientGasForCallback")
      .withArgs(anyUint, required);
    await expect(s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor()))
      .to.emit(s.market, "CallbackCalled")
      .withArgs(jobId, await consumer.getAddress(), true);
  });

  it("fulfil sent with the least gas that passes the callback check still gives a 200-output consumer its full gas limit (L-1, T-2)", async () => {
    // The check runs after the outputs are encoded, right before the CALL: at the boundary (eth_estimateGas finds
    // the least gas that does not revert) the consumer must still start with about its whole limit. Before the
    // fix, encoding 200 outputs and the cold CALL ran after the check and came out of the consumer's share.
    const s = await networkHelpers.loadFixture(deploySystem);
    const outputCount = 200;
    await s.registry.register(modelVersion(await s.verifier.getAddress(), { outputCount }));
    const consumer = await new HostileConsumer__factory(s.admin).deploy(s.market);
    await consumer.setBehaviour(Behaviour.GasProbe);
    const callbackGasLimit = 500_000;
    const jobId = await lockedJob(s, { modelId: 2n, callback: await consumer.getAddress(), callbackGasLimit });
    const instances = instancesFor(SAMPLE_INPUT, Array(outputCount).fill(1n));
    // The least gas for which fulfil does not revert, by bisection over eth_call.
    const fulfil = s.market.connect(s.operator).fulfil;
    const passes = (gasLimit: bigint) => fulfil.staticCall(jobId, FAKE_PROOF, instances, { gasLimit }).then(() => true, () => false);
    let [lo, least] = [100_000n, await fulfil.estimateGas(jobId, FAKE_PROOF, instances)];
    while (least - lo > 1n) {
      const mid = (lo + least) / 2n;
      if (await passes(mid)) least = mid;
      else lo = mid;
    }
    await expect(fulfil(jobId, FAKE_PROOF, instances, { gasLimit: least - 1n })).to.be.revertedWithCustomError(s.market, "InsufficientGasForCallback");
    await expect(s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instances, { gasLimit: least }))
      .to.emit(s.market, "CallbackCalled")
      .withArgs(jobId, await consumer.getAddress(), true);
    const atEntry = await consumer.gasAtEntry();
    // The few hundred gas of the consumer's own dispatch come before it reads gasleft().
    expect(atEntry > BigInt(callbackGasLimit) - 1_000n).to.equal(true, `consumer started with ${atEntry} of ${callbackGasLimit}`);
  });

  it("createJob reverts CallbackNotContract for an EOA callback (a call to no code would report success)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await expect(s.market.connect(s.requester).createJob(jobRequest({ callback: s.stranger.address, callbackGasLimit: 100_000 }), { value: PRICE }))
      .to.be.revertedWithCustomError(s.market, "CallbackNotContract")
      .withArgs(s.stranger.address);
  });
});
