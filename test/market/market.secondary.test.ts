import { expect } from "chai";
import { feltToSigned } from "../../zk/runtime/felt.js";
import {
  COLLATERAL,
  deploySystem,
  ethers,
  ETH,
  FAKE_PROOF,
  instancesFor,
  lockedJob,
  networkHelpers,
  PRICE,
  SAMPLE_OUTPUT,
  STAKE,
  type System,
} from "../fixtures/system.js";

const { time } = networkHelpers;

async function lockedFixture() {
  const s = await deploySystem();
  const jobId = await lockedJob(s);
  return { ...s, jobId };
}

/** `operator2` commits to the standard proof of `jobId` and mines the commitment; returns the commitment. */
async function commit(s: System & { jobId: bigint }, proof = FAKE_PROOF, who = s.operator2) {
  const commitment = await s.market.fulfilmentCommitment(s.jobId, who.address, proof, instancesFor());
  await expect(s.market.connect(who).commitFulfilment(s.jobId, commitment)).to.emit(s.market, "FulfilmentCommitted").withArgs(s.jobId, who.address, commitment);
  return commitment;
}

async function pastDeadline(s: System & { jobId: bigint }) {
  await time.increaseTo((await s.market.jobOf(s.jobId)).deadline + 1n);
}

// Issue 12 "a job that its operator abandons still gets its answer": after the lock holder's deadline any staked
// operator may deliver (Boundless's secondary fulfilment), protected from mempool copying by commit-reveal.
describe("InferenceMarket.fulfilSecondary (secondary fulfilment after the lock holder's deadline)", () => {
  it("fulfilSecondary after the deadline settles the job for the requester, pays the price and half the lock holder's collateral to the fulfiller, burns the rest", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    await commit(s);
    await pastDeadline(s);
    const outputs = SAMPLE_OUTPUT.map(feltToSigned);
    const tx = s.market.connect(s.operator2).fulfilSecondary(s.jobId, FAKE_PROOF, instancesFor());
    await expect(tx).to.emit(s.market, "JobFulfilled").withArgs(s.jobId, s.operator2.address, ETH, PRICE, 0n, outputs);
    await expect(tx).to.emit(s.market, "JobSlashed").withArgs(s.jobId, s.operator.address, COLLATERAL, 0n);
    await expect(tx).to.emit(s.staking, "Slashed").withArgs(s.operator.address, COLLATERAL, COLLATERAL / 2n, s.operator2.address);
    const [result] = await s.market.resultOf(s.jobId);
    expect(result).to.deep.equal(outputs);
    expect(await s.market.balanceOf(s.operator2, ETH)).to.equal(PRICE);
    expect(await s.market.balanceOf(s.requester, ETH)).to.equal(0n); // paid for a result, and got it
    expect(await s.staking.slashCredits(s.operator2)).to.equal(COLLATERAL / 2n);
    expect(await s.staking.slashCredits(s.requester)).to.equal(0n);
    expect((await s.staking.operatorOf(s.operator)).staked).to.equal(STAKE - COLLATERAL);
    expect(await s.market.escrowed(ETH)).to.equal(0n);
  });

  it("fulfilSecondary reverts DeadlineNotReached while the lock holder's deadline runs, and DeadlinePassed after the expiry", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    await commit(s);
    const { deadline } = await s.market.jobOf(s.jobId);
    await expect(s.market.connect(s.operator2).fulfilSecondary(s.jobId, FAKE_PROOF, instancesFor()))
      .to.be.revertedWithCustomError(s.market, "DeadlineNotReached")
      .withArgs(s.jobId, deadline);
    const expiry = await s.market.expiryOf(s.jobId);
    await time.increaseTo(expiry + 1n);
    await expect(s.market.connect(s.operator2).fulfilSecondary(s.jobId, FAKE_PROOF, instancesFor()))
      .to.be.revertedWithCustomError(s.market, "DeadlinePassed")
      .withArgs(s.jobId, expiry);
  });

  it("fulfilSecondary reverts FulfilmentNotCommitted for a copier: a mempool copy without its own earlier commitment earns nothing", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    const original = await commit(s);
    await pastDeadline(s);
    // The stranger stakes, copies the honest fulfiller's reveal and its commitment; the commitment names operator2.
    await s.staking.connect(s.stranger).stake(STAKE);
    await s.market.connect(s.stranger).commitFulfilment(s.jobId, original);
    const copierCommitment = await s.market.fulfilmentCommitment(s.jobId, s.stranger.address, FAKE_PROOF, instancesFor());
    await expect(s.market.connect(s.stranger).fulfilSecondary(s.jobId, FAKE_PROOF, instancesFor()))
      .to.be.revertedWithCustomError(s.market, "FulfilmentNotCommitted")
      .withArgs(s.jobId, copierCommitment);
    // A commitment of its own, in the same block as the reveal, is not early enough.
    await ethers.provider.send("evm_setAutomine", [false]);
    const c = await s.market.connect(s.stranger).commitFulfilment(s.jobId, copierCommitment, { gasLimit: 200_000 });
    const r = await s.market.connect(s.stranger).fulfilSecondary(s.jobId, FAKE_PROOF, instancesFor(), { gasLimit: 1_000_000 });
    await networkHelpers.mine(1);
    await ethers.provider.send("evm_setAutomine", [true]);
    expect((await c.wait())!.status).to.equal(1);
    expect((await ethers.provider.getTransactionReceipt(r.hash))!.status).to.equal(0);
    // The honest fulfiller, who committed earlier, is paid.
    await expect(s.market.connect(s.operator2).fulfilSecondary(s.jobId, FAKE_PROOF, instancesFor())).to.emit(s.market, "JobFulfilled");
    expect(await s.market.balanceOf(s.stranger, ETH)).to.equal(0n);
  });

  it("fulfilSecondary reverts NotLockOperator for the lock holder itself and NotStakedOperator for an unstaked account", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    await commit(s, FAKE_PROOF, s.operator);
    await commit(s, FAKE_PROOF, s.stranger);
    await pastDeadline(s);
    await expect(s.market.connect(s.operator).fulfilSecondary(s.jobId, FAKE_PROOF, instancesFor()))
      .to.be.revertedWithCustomError(s.market, "NotLockOperator")
      .withArgs(s.jobId, s.operator.address, ETH);
    await expect(s.market.connect(s.stranger).fulfilSecondary(s.jobId, FAKE_PROOF, instancesFor()))
      .to.be.revertedWithCustomError(s.market, "NotStakedOperator")
      .withArgs(s.stranger.address);
  });

  it("fulfilSecondary checks the statement like fulfil: a rejected proof reverts ProofRejected and the job stays slashable", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    await commit(s);
    await pastDeadline(s);
    await s.verifier.setMode(1);
    await expect(s.market.connect(s.operator2).fulfilSecondary(s.jobId, FAKE_PROOF, instancesFor()))
      .to.be.revertedWithCustomError(s.market, "ProofRejected")
      .withArgs(s.jobId);
    await time.increaseTo((await s.market.expiryOf(s.jobId)) + 1n);
    await expect(s.market.slash(s.jobId)).to.emit(s.market, "JobSlashed");
  });

  it("commitFulfilment reverts JobNotInStatus for a job that is not locked", async () => {
    const s = await networkHelpers.loadFixture(lockedFixture);
    await s.market.connect(s.operator).fulfil(s.jobId, FAKE_PROOF, instancesFor());
    await expect(s.market.connect(s.operator2).commitFulfilment(s.jobId, ethersZero()))
      .to.be.revertedWithCustomError(s.market, "JobNotInStatus")
      .withArgs(s.jobId, 3n, 2n);
  });
});

function ethersZero() {
  return "0x" + "00".repeat(32);
}
