import { expect } from "chai";
import {
  COLLATERAL,
  createJob,
  deploySystem,
  ETH,
  ethers,
  FAKE_PROOF,
  instancesFor,
  lockedJob,
  networkHelpers,
  PRICE,
  STAKE,
  type System,
} from "../fixtures/system.js";

const { time } = networkHelpers;
const BURN_ADDRESS = "0x000000000000000000000000000000000000dEaD";
/** Gas limit for a transaction that must be mined even though it reverts (no estimateGas). */
const MINED_GAS = 300_000n;

/** Mines a block at the job's expiry (end of its secondary window; the default), deadline or lockDeadline, so the
 * next transaction is past it. */
async function passDeadline(s: System, jobId: bigint, field: "expiry" | "deadline" | "lockDeadline" = "expiry") {
  await time.increaseTo(field === "expiry" ? await s.market.expiryOf(jobId) : (await s.market.jobOf(jobId))[field]);
}

describe("InferenceMarket.slash and refund", () => {
  it("slash before expiry refused: reverts DeadlineNotReached before and at the end of the job's secondary window", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await lockedJob(s);
    const { deadline, lockDeadline } = await s.market.jobOf(jobId);
    const expiry = await s.market.expiryOf(jobId);
    expect(expiry).to.equal(deadline + (deadline - lockDeadline));
    await expect(s.market.connect(s.stranger).slash(jobId))
      .to.be.revertedWithCustomError(s.market, "DeadlineNotReached")
      .withArgs(jobId, expiry);
    await time.increaseTo(deadline + 1n); // past the lock holder's deadline: another operator may still deliver
    await expect(s.market.connect(s.stranger).slash(jobId)).to.be.revertedWithCustomError(s.market, "DeadlineNotReached");
    // A fixed gas limit skips estimation, so the reverting transaction is mined at exactly the expiry.
    await time.setNextBlockTimestamp(expiry);
    await expect(s.market.connect(s.stranger).slash(jobId, { gasLimit: MINED_GAS }))
      .to.be.revertedWithCustomError(s.market, "DeadlineNotReached")
      .withArgs(jobId, expiry);
    expect(await time.latest()).to.equal(Number(expiry));
  });

  it("slash after expiry refunds the price and burns the whole collateral: the requester gets nothing more than its price (I-1)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    expect(await s.staking.BURN_ADDRESS()).to.equal(BURN_ADDRESS);
    expect(await s.market.SLASH_BURN_BPS()).to.equal(10_000n);
    const jobId = await lockedJob(s);
    await passDeadline(s, jobId);
    const tx = s.market.connect(s.stranger).slash(jobId);
    await expect(tx).to.emit(s.market, "JobSlashed").withArgs(jobId, s.operator.address, COLLATERAL, PRICE);
    await expect(tx).to.emit(s.staking, "Slashed").withArgs(s.operator.address, COLLATERAL, COLLATERAL, ethers.ZeroAddress);
    // Burned by crediting the keyless burn address: it stays in staking for good, and no transfer can block the slash.
    await expect(tx).to.changeTokenBalances(ethers, s.token, [s.staking, BURN_ADDRESS], [0n, 0n]);
    expect(await s.staking.slashCredits(BURN_ADDRESS)).to.equal(COLLATERAL);
    expect(await s.staking.slashCredits(s.requester)).to.equal(0n);
    await expect(s.staking.connect(s.requester).claimSlashed()).to.be.revertedWithCustomError(s.staking, "NothingToWithdraw");

    expect(await s.market.balanceOf(s.requester, ETH)).to.equal(PRICE);
    expect(await s.market.escrowed(ETH)).to.equal(0n);
    expect(await s.market.owed(ETH)).to.equal(PRICE);
    const op = await s.staking.operatorOf(s.operator);
    expect(op.staked).to.equal(STAKE - COLLATERAL);
    expect(op.locked).to.equal(0n);
    expect(await s.staking.totalStaked()).to.equal(2n * STAKE - COLLATERAL);
    expect((await s.market.jobOf(jobId)).status).to.equal(4n); // Slashed

    const withdrawal = s.market.connect(s.requester).withdraw(ETH);
    await expect(withdrawal).to.emit(s.market, "Withdrawal").withArgs(s.requester.address, ETH, PRICE);
    await expect(withdrawal).to.changeEtherBalances(ethers, [s.requester, s.market], [PRICE, -PRICE]);
  });

  it("double slash refused: slash reverts JobNotInStatus when the job is already slashed", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await lockedJob(s);
    await passDeadline(s, jobId);
    await s.market.slash(jobId);
    await expect(s.market.slash(jobId))
      .to.be.revertedWithCustomError(s.market, "JobNotInStatus")
      .withArgs(jobId, 4n, 2n); // Slashed, Locked required
  });

  it("slash reverts JobNotInStatus for an open job that was never locked, even past its deadline", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    await passDeadline(s, jobId);
    await expect(s.market.slash(jobId))
      .to.be.revertedWithCustomError(s.market, "JobNotInStatus")
      .withArgs(jobId, 1n, 2n); // Open, Locked required
  });

  it("refund of a never-locked job reverts LockNotExpired until its lockDeadline, then credits the requester", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await createJob(s.market, s.requester); // a second escrow that must stay put
    const jobId = await createJob(s.market, s.requester);
    const { lockDeadline } = await s.market.jobOf(jobId);
    expect(await s.market.escrowed(ETH)).to.equal(2n * PRICE);
    await expect(s.market.connect(s.stranger).refund(jobId))
      .to.be.revertedWithCustomError(s.market, "LockNotExpired")
      .withArgs(jobId, lockDeadline);
    await time.setNextBlockTimestamp(lockDeadline);
    await expect(s.market.connect(s.stranger).refund(jobId, { gasLimit: MINED_GAS }))
      .to.be.revertedWithCustomError(s.market, "LockNotExpired")
      .withArgs(jobId, lockDeadline);
    expect(await time.latest()).to.equal(Number(lockDeadline));

    await time.increaseTo(lockDeadline + 1n);
    await expect(s.market.connect(s.stranger).refund(jobId)).to.emit(s.market, "JobRefunded").withArgs(jobId, s.requester.address, PRICE);
    expect(await s.market.balanceOf(s.requester, ETH)).to.equal(PRICE);
    expect(await s.market.escrowed(ETH)).to.equal(PRICE);
    expect(await s.market.owed(ETH)).to.equal(PRICE);
    expect((await s.market.jobOf(jobId)).status).to.equal(5n); // Refunded
    await expect(s.market.refund(jobId))
      .to.be.revertedWithCustomError(s.market, "JobNotInStatus")
      .withArgs(jobId, 5n, 1n);
  });

  it("refund reverts JobNotInStatus for a locked job, even past its lockDeadline", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await lockedJob(s);
    await passDeadline(s, jobId, "lockDeadline");
    await expect(s.market.refund(jobId))
      .to.be.revertedWithCustomError(s.market, "JobNotInStatus")
      .withArgs(jobId, 2n, 1n); // Locked, Open required
  });

  it("fulfil reverts JobNotInStatus after the job was slashed", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await lockedJob(s);
    await passDeadline(s, jobId);
    await s.market.slash(jobId);
    await expect(s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor()))
      .to.be.revertedWithCustomError(s.market, "JobNotInStatus")
      .withArgs(jobId, 4n, 2n);
  });

  it("slash reverts JobNotInStatus after the job was fulfilled, and the collateral stays released", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await lockedJob(s);
    await expect(s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor()))
      .to.emit(s.staking, "CollateralReleased")
      .withArgs(s.operator.address, COLLATERAL);
    await passDeadline(s, jobId);
    await expect(s.market.slash(jobId))
      .to.be.revertedWithCustomError(s.market, "JobNotInStatus")
      .withArgs(jobId, 3n, 2n); // Fulfilled, Locked required
    const op = await s.staking.operatorOf(s.operator);
    expect(op.staked).to.equal(STAKE);
    expect(op.locked).to.equal(0n);
  });

  it("isFinal is false while open or locked and true after slash or refund", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const open = await createJob(s.market, s.requester);
    const locked = await lockedJob(s);
    expect(await s.market.isFinal(open)).to.equal(false);
    expect(await s.market.isFinal(locked)).to.equal(false);
    expect(await s.market.isFinal(99n)).to.equal(false);
    await passDeadline(s, locked);
    await s.market.slash(locked);
    await s.market.refund(open);
    expect(await s.market.isFinal(locked)).to.equal(true);
    expect(await s.market.isFinal(open)).to.equal(true);
  });

  it("pause slashes no one: an operator whose deadline falls inside a pause can still fulfil during it, and is not slashed at unpause (M-1, T-5)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const locked = await lockedJob(s);
    const { deadline } = await s.market.jobOf(locked);
    await s.market.pause();
    // The operator proved in time and submits while the market is paused, just before its deadline.
    await networkHelpers.time.setNextBlockTimestamp(deadline);
    await expect(s.market.connect(s.operator).fulfil(locked, FAKE_PROOF, instancesFor())).to.emit(s.market, "JobFulfilled");
    await s.market.unpause();
    await expect(s.market.slash(locked)).to.be.revertedWithCustomError(s.market, "JobNotInStatus");
    expect((await s.staking.operatorOf(s.operator)).staked).to.equal(STAKE);
  });

  it("pause freezes no funds: slash and refund stay available while paused, so escrow and collateral never wait on an unpause (M-1)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const locked = await lockedJob(s);
    const open = await createJob(s.market, s.requester);
    await s.market.pause();
    await expect(s.market.refund(open)).to.be.revertedWithCustomError(s.market, "LockNotExpired");
    await passDeadline(s, locked);
    await expect(s.market.refund(open)).to.emit(s.market, "JobRefunded").withArgs(open, s.requester.address, PRICE);
    await expect(s.market.slash(locked)).to.emit(s.market, "JobSlashed");
    expect(await s.market.paused()).to.equal(true);
  });
});
