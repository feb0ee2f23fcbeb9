import { expect } from "chai";
import { BN254_R, feltToSigned } from "../../zk/runtime/felt.js";
import {
  COLLATERAL,
  deploySystem,
  ethers,
  ETH,
  FAKE_PROOF,
  instancesFor,
  lockedJob,
  modelVersion,
  networkHelpers,
  PRICE,
  SAMPLE_INPUT,
  SAMPLE_OUTPUT,
  signedFulfilment,
  STAKE,
  TIMEOUT,
  type System,
} from "../fixtures/system.js";

async function lockedFixture() {
  const s = await deploySystem();
  const jobId = await lockedJob(s);
  return { ...s, jobId };
}

describe("InferenceMarket.fulfil", () => {
  it("settles a locked job: pays the locking operator, releases collateral, records the decoded outputs", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    const outputs = SAMPLE_OUTPUT.map(feltToSigned);
    await expect(s.market.connect(s.operator).fulfil(s.jobId, FAKE_PROOF, instancesFor()))
      .to.emit(s.market, "JobFulfilled")
      .withArgs(s.jobId, s.operator.address, ETH, PRICE, 0n, outputs)
      .and.to.emit(s.staking, "CollateralReleased")
      .withArgs(s.operator.address, COLLATERAL);
    expect(await s.market.balanceOf(s.operator, ETH)).to.equal(PRICE);
    expect(await s.staking.freeStake(s.operator)).to.equal(STAKE);
    const [result, scale] = await s.market.resultOf(s.jobId);
    expect(result).to.deep.equal(outputs);
    expect(scale).to.equal(10n);
    expect(await s.market.isFinal(s.jobId)).to.equal(true);
  });

  it("resultOf returns ten outputs packed over three words, the first kept in the settled job's input-hash slot (jobOf then reads inputHash 0)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await s.registry.register(modelVersion(await s.verifier.getAddress(), { outputCount: 10 }));
    const modelId = await s.registry.modelCount();
    const jobId = await lockedJob(s, { modelId });
    expect((await s.market.jobOf(jobId)).inputHash).to.equal(ethers.solidityPackedKeccak256(["uint256[]"], [SAMPLE_INPUT]));
    const outputs = [1n, -1n, 0n, 2n ** 62n, -(2n ** 62n), 7n, -7n, 123_456n, 0n, -(2n ** 63n) + 1n];
    await s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor(SAMPLE_INPUT, outputs.map((v) => (v < 0n ? BN254_R + v : v))));
    expect((await s.market.resultOf(jobId))[0]).to.deep.equal(outputs);
    expect((await s.market.jobOf(jobId)).inputHash).to.equal(ethers.ZeroHash);
    expect(await s.market.isFinal(jobId)).to.equal(true);
  });

  it("resultOf reverts JobNotInStatus before the job is fulfilled (only final results are readable)", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    await expect(s.market.resultOf(s.jobId)).to.be.revertedWithCustomError(s.market, "JobNotInStatus").withArgs(s.jobId, 2n, 3n);
    expect(await s.market.isFinal(s.jobId)).to.equal(false);
  });

  it("reverts JobNotInStatus on a double fulfil", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    await s.market.connect(s.operator).fulfil(s.jobId, FAKE_PROOF, instancesFor());
    await expect(s.market.connect(s.operator).fulfil(s.jobId, FAKE_PROOF, instancesFor()))
      .to.be.revertedWithCustomError(s.market, "JobNotInStatus")
      .withArgs(s.jobId, 3n, 2n);
  });

  it("reverts NotLockOperator when another operator sends the proof (copied proof earns nothing)", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    await expect(s.market.connect(s.operator2).fulfil(s.jobId, FAKE_PROOF, instancesFor()))
      .to.be.revertedWithCustomError(s.market, "NotLockOperator")
      .withArgs(s.jobId, s.operator2.address, s.operator.address);
  });

  it("reverts InputMismatch when the input instances are not the job's input (statement binding)", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    const otherInput = [SAMPLE_INPUT[0]! + 1n, SAMPLE_INPUT[1]!, SAMPLE_INPUT[2]!];
    await expect(s.market.connect(s.operator).fulfil(s.jobId, FAKE_PROOF, instancesFor(otherInput)))
      .to.be.revertedWithCustomError(s.market, "InputMismatch")
      .withArgs(s.jobId);
  });

  it("reverts InputMismatch for a valid proof of another job with a different input", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    const otherInput = [1n, 2n, 3n];
    const other = await lockedJob(s, { input: otherInput });
    // The proof for `other` (its instances) is presented for the first job.
    await expect(s.market.connect(s.operator).fulfil(s.jobId, FAKE_PROOF, instancesFor(otherInput)))
      .to.be.revertedWithCustomError(s.market, "InputMismatch")
      .withArgs(s.jobId);
    await expect(s.market.connect(s.operator).fulfil(other, FAKE_PROOF, instancesFor(otherInput))).to.emit(s.market, "JobFulfilled");
  });

  it("reverts InstanceOutOfField for an output instance >= the BN254 modulus", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    const tampered = instancesFor(SAMPLE_INPUT, [SAMPLE_OUTPUT[0]! + BN254_R, SAMPLE_OUTPUT[1]!]);
    await expect(s.market.connect(s.operator).fulfil(s.jobId, FAKE_PROOF, tampered))
      .to.be.revertedWithCustomError(s.market, "InstanceOutOfField")
      .withArgs(3n, SAMPLE_OUTPUT[0]! + BN254_R);
  });

  it("reverts InstanceCountMismatch when instances do not match the model layout", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    await expect(s.market.connect(s.operator).fulfil(s.jobId, FAKE_PROOF, [...instancesFor(), 0n]))
      .to.be.revertedWithCustomError(s.market, "InstanceCountMismatch")
      .withArgs(5n, 6n);
  });

  it("reverts ProofRejected when the registered verifier returns false or reverts", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    for (const mode of [1, 2]) {
      await s.verifier.setMode(mode);
      await expect(s.market.connect(s.operator).fulfil(s.jobId, FAKE_PROOF, instancesFor()))
        .to.be.revertedWithCustomError(s.market, "ProofRejected")
        .withArgs(s.jobId);
    }
  });

  it("reverts DeadlinePassed after the job deadline", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    await networkHelpers.time.increase(TIMEOUT + 1n);
    const job = await s.market.jobOf(s.jobId);
    await expect(s.market.connect(s.operator).fulfil(s.jobId, FAKE_PROOF, instancesFor()))
      .to.be.revertedWithCustomError(s.market, "DeadlinePassed")
      .withArgs(s.jobId, job.deadline);
  });
});

describe("InferenceMarket.fulfilWithSignature and fulfilBatch", () => {
  it("fulfilWithSignature relayed by anyone pays the operator, not the sender", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    const auth = await signedFulfilment(s.market, s.operator, s.jobId);
    await expect(s.market.connect(s.stranger).fulfilWithSignature(auth)).to.emit(s.market, "JobFulfilled");
    expect(await s.market.balanceOf(s.operator, ETH)).to.equal(PRICE);
    expect(await s.market.balanceOf(s.stranger, ETH)).to.equal(0n);
  });

  it("fulfilWithSignature reverts InvalidSignature when the signer is not the locking operator", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    const auth = await signedFulfilment(s.market, s.operator2, s.jobId);
    await expect(s.market.connect(s.relayer).fulfilWithSignature(auth))
      .to.be.revertedWithCustomError(s.market, "InvalidSignature")
      .withArgs(s.operator2.address, s.operator.address);
  });

  it("fulfilWithSignature reverts InvalidSignature (not NotLockOperator with a random address) for a tampered relayed signature or instances", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    const auth = await signedFulfilment(s.market, s.operator, s.jobId);
    const forged = { ...auth, instances: instancesFor(SAMPLE_INPUT, [1n, 2n]) };
    await expect(s.market.connect(s.relayer).fulfilWithSignature(forged)).to.be.revertedWithCustomError(s.market, "InvalidSignature");
    const sig = auth.signature;
    const tampered = { ...auth, signature: sig.slice(0, 10) + (sig[10] === "0" ? "1" : "0") + sig.slice(11) };
    await expect(s.market.connect(s.relayer).fulfilWithSignature(tampered)).to.be.revertedWithCustomError(s.market, "InvalidSignature");
    await expect(s.market.connect(s.relayer).fulfilWithSignature({ ...auth, signature: "0x" }))
      .to.be.revertedWithCustomError(s.market, "InvalidSignature")
      .withArgs(ethers.ZeroAddress, s.operator.address);
  });

  it("fulfilBatch settles the good items and reports each failure with its reason instead of reverting", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    const second = await lockedJob(s);
    const third = await lockedJob(s, {}, s.operator2);
    const good1 = await signedFulfilment(s.market, s.operator, s.jobId);
    const good2 = await signedFulfilment(s.market, s.operator, second);
    const wrongSigner = await signedFulfilment(s.market, s.operator, third);
    const ok = await s.market.connect(s.relayer).fulfilBatch.staticCall([good1, wrongSigner, good2]);
    expect(ok).to.deep.equal([true, false, true]);
    const reason = s.market.interface.encodeErrorResult("InvalidSignature", [s.operator.address, s.operator2.address]);
    await expect(s.market.connect(s.relayer).fulfilBatch([good1, wrongSigner, good2]))
      .to.emit(s.market, "FulfilmentFailed")
      .withArgs(third, reason);
    expect(await s.market.balanceOf(s.operator, ETH)).to.equal(2n * PRICE);
    expect((await s.market.jobOf(third)).status).to.equal(2n);
  });

  it("fulfilBatch releases each settled item's collateral to its own lock holder, once per run of one operator's items (a failed item releases nothing)", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    const a2 = await lockedJob(s);
    const b1 = await lockedJob(s, {}, s.operator2);
    const a3 = await lockedJob(s);
    const failing = await lockedJob(s, {}, s.operator2);
    const auths = [
      await signedFulfilment(s.market, s.operator, s.jobId),
      await signedFulfilment(s.market, s.operator, a2),
      await signedFulfilment(s.market, s.operator2, b1),
      await signedFulfilment(s.market, s.operator, failing),
      await signedFulfilment(s.market, s.operator, a3),
    ];
    const tx = s.market.connect(s.relayer).fulfilBatch(auths);
    const receipt = await (await tx).wait();
    const released = receipt!.logs
      .map((l) => s.staking.interface.parseLog(l))
      .filter((l) => l?.name === "CollateralReleased")
      .map((l) => [l!.args[0], l!.args[1]]);
    expect(released).to.deep.equal([[s.operator.address, 2n * COLLATERAL], [s.operator2.address, COLLATERAL], [s.operator.address, COLLATERAL]]);
    expect(await s.staking.freeStake(s.operator)).to.equal(STAKE);
    expect(await s.staking.freeStake(s.operator2)).to.equal(STAKE - COLLATERAL); // the failed item's lock stays
    expect((await s.market.jobOf(failing)).status).to.equal(2n);
  });

  it("fulfilBatch reverts BatchTooLarge over MAX_BATCH items (bounded loops)", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    const auth = await signedFulfilment(s.market, s.operator, s.jobId);
    await expect(s.market.fulfilBatch(Array(33).fill(auth)))
      .to.be.revertedWithCustomError(s.market, "BatchTooLarge")
      .withArgs(33n, 32n);
  });

  it("fulfilBatchItem reverts OnlySelf when called from outside", async () => {
    const s: System & { jobId: bigint } = await networkHelpers.loadFixture(lockedFixture);
    const auth = await signedFulfilment(s.market, s.operator, s.jobId);
    await expect(s.market.fulfilBatchItem(auth, s.operator.address)).to.be.revertedWithCustomError(s.market, "OnlySelf");
  });
});

// Issue 12 "a proof earns only its prover", decided: the proof binds the input and the outputs, not the job or the
// prover (ezkl circuits carry no job/operator instance). An answer already proven for an identical input is a valid
// answer to a new job of that input, by design; what holds is that only the job's lock holder (or, after its
// deadline, an operator with an earlier commitment) is paid, so a fulfilment seen in the mempool is never worth copying.
describe("InferenceMarket: reuse of a proof for an identical input (by design) and copying (never paid)", () => {
  it("the lock holder of a new job may settle it with an earlier job's public proof of the same input; another operator copying it reverts NotLockOperator", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const first = await lockedJob(s);
    await s.market.connect(s.operator).fulfil(first, FAKE_PROOF, instancesFor());
    const second = await lockedJob(s, {}, s.operator2);
    // The earlier proof, read from chain data, is copied by an operator that does not hold the lock: refused.
    await expect(s.market.connect(s.operator).fulfil(second, FAKE_PROOF, instancesFor()))
      .to.be.revertedWithCustomError(s.market, "NotLockOperator")
      .withArgs(second, s.operator.address, s.operator2.address);
    // The lock holder submits it unchanged: a correct, verified answer to this job's input, and it is paid.
    await expect(s.market.connect(s.operator2).fulfil(second, FAKE_PROOF, instancesFor())).to.emit(s.market, "JobFulfilled");
    const [a] = await s.market.resultOf(first);
    const [b] = await s.market.resultOf(second);
    expect(b).to.deep.equal(a);
  });
});
