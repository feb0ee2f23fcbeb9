// ExampleConsumer (on the VerdictConsumer base): posts its own jobs, stores the verified outputs the market calls
// back with, refuses callbacks from anyone but the market and for jobs it did not post, and reclaims the escrow
// of a refunded job. The market's model uses the MockVerifier (test/fixtures/system.ts).
import { expect } from "chai";
import { ExampleConsumer__factory } from "../../types/ethers-contracts/index.js";
import { feltToSigned } from "../../zk/runtime/felt.js";
import { COLLATERAL, createJob, deploySystem, ethers, FAKE_PROOF, instancesFor, LOCK_TIMEOUT, networkHelpers, PRICE, SAMPLE_INPUT, SAMPLE_OUTPUT, TIMEOUT } from "../fixtures/system.js";

const OUTPUTS = SAMPLE_OUTPUT.map(feltToSigned);

async function withConsumer() {
  const s = await networkHelpers.loadFixture(deploySystem);
  const consumer = await new ExampleConsumer__factory(s.requester).deploy(s.market);
  return { s, consumer };
}

async function requested(c: Awaited<ReturnType<typeof withConsumer>>): Promise<bigint> {
  const tx = await c.consumer.request(1, SAMPLE_INPUT, COLLATERAL, LOCK_TIMEOUT, TIMEOUT, { value: PRICE });
  const receipt = await tx.wait();
  const ev = receipt!.logs.map((l) => c.consumer.interface.parseLog(l)).find((l) => l?.name === "InferenceRequested");
  return ev!.args.jobId as bigint;
}

describe("ExampleConsumer (VerdictConsumer)", () => {
  it("request posts a job with the consumer as requester and callback; fulfil stores and announces the verified outputs", async () => {
    const c = await withConsumer();
    const jobId = await requested(c);
    const job = await c.s.market.jobOf(jobId);
    expect(job.requester).to.equal(await c.consumer.getAddress());
    expect(job.callback).to.equal(await c.consumer.getAddress());
    await c.s.market.connect(c.s.operator).lock(jobId, await c.s.market.termsOf(jobId));
    const tx = c.s.market.connect(c.s.operator).fulfil(jobId, FAKE_PROOF, instancesFor());
    await expect(tx).to.emit(c.consumer, "InferenceReceived").withArgs(jobId, OUTPUTS);
    await expect(tx).to.emit(c.s.market, "CallbackCalled").withArgs(jobId, await c.consumer.getAddress(), true);
    expect(await c.consumer.resultOf(jobId)).to.deep.equal(OUTPUTS);
  });

  it("onInferenceResult reverts NotInferenceMarket when called by anyone but the market", async () => {
    const c = await withConsumer();
    await expect(c.consumer.connect(c.s.stranger).onInferenceResult(1n, OUTPUTS)).to.be.revertedWithCustomError(c.consumer, "NotInferenceMarket").withArgs(c.s.stranger.address);
  });

  it("a job someone else posted with the consumer as callback settles, but the consumer refuses it (NotRequestedHere) and stores nothing", async () => {
    const c = await withConsumer();
    const jobId = await createJob(c.s.market, c.s.stranger, { callback: await c.consumer.getAddress(), callbackGasLimit: 200_000 });
    await c.s.market.connect(c.s.operator).lock(jobId, await c.s.market.termsOf(jobId));
    await expect(c.s.market.connect(c.s.operator).fulfil(jobId, FAKE_PROOF, instancesFor()))
      .to.emit(c.s.market, "CallbackCalled")
      .withArgs(jobId, await c.consumer.getAddress(), false);
    expect(await c.consumer.resultOf(jobId)).to.deep.equal([]);
  });

  it("request and reclaim revert NotOwner for anyone but the owner; reclaim pays a refunded job's escrow to the owner", async () => {
    const c = await withConsumer();
    await expect(c.consumer.connect(c.s.stranger).request(1, SAMPLE_INPUT, COLLATERAL, LOCK_TIMEOUT, TIMEOUT, { value: PRICE })).to.be.revertedWithCustomError(c.consumer, "NotOwner");
    const jobId = await requested(c);
    await networkHelpers.time.increase(LOCK_TIMEOUT + 1n);
    await c.s.market.connect(c.s.stranger).refund(jobId);
    await expect(c.consumer.connect(c.s.stranger).reclaim()).to.be.revertedWithCustomError(c.consumer, "NotOwner");
    await expect(c.consumer.reclaim()).to.changeEtherBalances(ethers, [c.s.market, c.s.requester], [-PRICE, PRICE]);
  });
});
