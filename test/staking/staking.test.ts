import { expect } from "chai";
import { OperatorStaking__factory } from "../../types/ethers-contracts/index.js";
import {
  COLLATERAL,
  deploySystem,
  ethers,
  lockedJob,
  MAX_JOB_DURATION,
  networkHelpers,
  STAKE,
  TOKEN_UNIT,
  type System,
} from "../fixtures/system.js";

const { time } = networkHelpers;
const UNBONDING_DELAY = 8n * 24n * 3600n; // the Ignition default, one day over MAX_JOB_DURATION

/** The solvency invariant: the staking contract holds exactly what it owes. */
async function expectSolvent(s: System) {
  const [staked, unbonding, credits] = await Promise.all([s.staking.totalStaked(), s.staking.totalUnbonding(), s.staking.totalSlashCredits()]);
  expect(await s.token.balanceOf(s.staking)).to.equal(staked + unbonding + credits);
}

/** Requests an unstake of `amount` by `who` in a block at a known time; returns the unbonding end. */
async function requestUnstakeAt(s: System, who: System["operator"], amount: bigint): Promise<bigint> {
  const at = BigInt(await time.latest()) + 10n;
  await time.setNextBlockTimestamp(at);
  await expect(s.staking.connect(who).requestUnstake(amount))
    .to.emit(s.staking, "UnstakeRequested")
    .withArgs(who.address, amount, at + UNBONDING_DELAY);
  return at + UNBONDING_DELAY;
}

describe("OperatorStaking", () => {
  it("stake, requestUnstake and withdraw move tokens through staked and unbonding, with events", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    expect(await s.staking.unbondingDelay()).to.equal(UNBONDING_DELAY);
    const stake = s.staking.connect(s.stranger).stake(STAKE);
    await expect(stake).to.emit(s.staking, "Staked").withArgs(s.stranger.address, STAKE);
    await expect(stake).to.changeTokenBalances(ethers, s.token, [s.stranger, s.staking], [-STAKE, STAKE]);
    expect((await s.staking.operatorOf(s.stranger)).staked).to.equal(STAKE);
    expect(await s.staking.totalStaked()).to.equal(3n * STAKE);

    const part = 40n * TOKEN_UNIT;
    const ends = await requestUnstakeAt(s, s.stranger, part);
    const op = await s.staking.operatorOf(s.stranger);
    expect([op.staked, op.unbonding, op.unbondingEnds]).to.deep.equal([STAKE - part, part, ends]);
    expect(await s.staking.totalStaked()).to.equal(3n * STAKE - part);
    expect(await s.staking.totalUnbonding()).to.equal(part);

    await time.setNextBlockTimestamp(ends);
    const withdraw = s.staking.connect(s.stranger).withdraw();
    await expect(withdraw).to.emit(s.staking, "Withdrawn").withArgs(s.stranger.address, part);
    await expect(withdraw).to.changeTokenBalances(ethers, s.token, [s.stranger, s.staking], [part, -part]);
    expect((await s.staking.operatorOf(s.stranger)).unbonding).to.equal(0n);
    expect(await s.staking.totalUnbonding()).to.equal(0n);
  });

  it("stake and requestUnstake revert ZeroAmount for zero", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await expect(s.staking.connect(s.operator).stake(0n)).to.be.revertedWithCustomError(s.staking, "ZeroAmount");
    await expect(s.staking.connect(s.operator).requestUnstake(0n)).to.be.revertedWithCustomError(s.staking, "ZeroAmount");
  });

  it("stake withdrawal while collateral is locked refused: requestUnstake beyond free stake reverts InsufficientFreeStake", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await lockedJob(s);
    const free = STAKE - COLLATERAL;
    await expect(s.staking.connect(s.operator).requestUnstake(free + 1n))
      .to.be.revertedWithCustomError(s.staking, "InsufficientFreeStake")
      .withArgs(s.operator.address, free, free + 1n);
    await expect(s.staking.connect(s.operator).requestUnstake(free)).to.emit(s.staking, "UnstakeRequested");
    await expect(s.staking.connect(s.operator).requestUnstake(1n))
      .to.be.revertedWithCustomError(s.staking, "InsufficientFreeStake")
      .withArgs(s.operator.address, 0n, 1n);
    // The collateral is still there to slash once the job misses its deadline.
    await time.increaseTo(await s.market.expiryOf(jobId));
    await expect(s.market.slash(jobId)).to.emit(s.staking, "Slashed").withArgs(s.operator.address, COLLATERAL, COLLATERAL, ethers.ZeroAddress);
    expect((await s.staking.operatorOf(s.operator)).staked).to.equal(0n);
  });

  it("withdraw reverts UnbondingNotOver one second before the unbonding delay ends", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const ends = await requestUnstakeAt(s, s.operator, STAKE);
    await expect(s.staking.connect(s.operator).withdraw())
      .to.be.revertedWithCustomError(s.staking, "UnbondingNotOver")
      .withArgs(s.operator.address, ends);
    await time.setNextBlockTimestamp(ends - 1n);
    await expect(s.staking.connect(s.operator).withdraw({ gasLimit: 300_000n }))
      .to.be.revertedWithCustomError(s.staking, "UnbondingNotOver")
      .withArgs(s.operator.address, ends);
    expect(BigInt(await time.latest())).to.equal(ends - 1n);
  });

  it("withdraw and claimSlashed revert NothingToWithdraw when nothing is owed", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await expect(s.staking.connect(s.stranger).withdraw())
      .to.be.revertedWithCustomError(s.staking, "NothingToWithdraw")
      .withArgs(s.stranger.address);
    await expect(s.staking.connect(s.stranger).claimSlashed())
      .to.be.revertedWithCustomError(s.staking, "NothingToWithdraw")
      .withArgs(s.stranger.address);
  });

  it("unbonding shorter than max deadline refused: setUnbondingDelay, setMaxJobDuration and setMarket keep unbonding > maxJobDuration", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    expect(await s.market.maxJobDuration()).to.equal(MAX_JOB_DURATION);
    await expect(s.staking.setUnbondingDelay(MAX_JOB_DURATION))
      .to.be.revertedWithCustomError(s.staking, "UnbondingTooShort")
      .withArgs(MAX_JOB_DURATION, MAX_JOB_DURATION);
    await expect(s.market.setMaxJobDuration(UNBONDING_DELAY))
      .to.be.revertedWithCustomError(s.market, "MaxJobDurationTooLong")
      .withArgs(UNBONDING_DELAY, UNBONDING_DELAY);
    await expect(s.staking.setUnbondingDelay(MAX_JOB_DURATION + 1n)).to.emit(s.staking, "UnbondingDelaySet").withArgs(MAX_JOB_DURATION + 1n);
    await expect(s.market.setMaxJobDuration(MAX_JOB_DURATION + 1n))
      .to.be.revertedWithCustomError(s.market, "MaxJobDurationTooLong")
      .withArgs(MAX_JOB_DURATION + 1n, MAX_JOB_DURATION + 1n);
    await expect(s.market.setMaxJobDuration(MAX_JOB_DURATION - 1n)).to.emit(s.market, "MaxJobDurationSet").withArgs(MAX_JOB_DURATION - 1n);

    const fresh = await new OperatorStaking__factory(s.admin).deploy(s.admin, s.token, TOKEN_UNIT, MAX_JOB_DURATION - 1n);
    await expect(fresh.setMarket(s.market))
      .to.be.revertedWithCustomError(fresh, "UnbondingTooShort")
      .withArgs(MAX_JOB_DURATION - 1n, MAX_JOB_DURATION - 1n);
    // Before a market is connected any positive delay is allowed; once connected, the market is set for good.
    await expect(fresh.setUnbondingDelay(MAX_JOB_DURATION)).to.emit(fresh, "UnbondingDelaySet").withArgs(MAX_JOB_DURATION);
    await expect(fresh.setMarket(s.market)).to.emit(fresh, "MarketSet").withArgs(await s.market.getAddress());
    for (const staking of [fresh, s.staking]) {
      await expect(staking.setMarket(s.market))
        .to.be.revertedWithCustomError(staking, "MarketAlreadySet")
        .withArgs(await s.market.getAddress());
    }
  });

  it("governance setters revert AccessControlUnauthorizedAccount for a non-governor", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const governor = await s.staking.GOVERNOR_ROLE();
    const admin = await s.staking.DEFAULT_ADMIN_ROLE();
    const asStranger = s.staking.connect(s.stranger);
    for (const [call, role] of [
      [() => asStranger.setUnbondingDelay(UNBONDING_DELAY + 1n), governor],
      [() => asStranger.setMinStake(0n), governor],
      [() => asStranger.setJailed(s.operator, true), governor],
      [() => asStranger.setMarket(s.market), admin],
    ] as const) {
      await expect(call()).to.be.revertedWithCustomError(s.staking, "AccessControlUnauthorizedAccount").withArgs(s.stranger.address, role);
    }
  });

  it("reserve, release and slash revert OnlyMarket for any caller but the market (the admin included)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    for (const caller of [s.stranger, s.admin, s.operator]) {
      const asCaller = s.staking.connect(caller);
      for (const call of [
        () => asCaller.reserve(s.operator, 1n),
        () => asCaller.release(s.operator, 1n),
        () => asCaller.slash(s.operator, 1n, 0n, caller),
      ]) {
        await expect(call()).to.be.revertedWithCustomError(s.staking, "OnlyMarket").withArgs(caller.address);
      }
    }
  });

  it("stake reverts FeeOnTransferToken when the stake token delivers less than the amount", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const fee = await ethers.deployContract("FeeOnTransferToken");
    const staking = await new OperatorStaking__factory(s.admin).deploy(s.admin, fee, TOKEN_UNIT, UNBONDING_DELAY);
    await fee.mint(s.operator, 1000n);
    await fee.connect(s.operator).approve(staking, 1000n);
    await expect(staking.connect(s.operator).stake(100n))
      .to.be.revertedWithCustomError(staking, "FeeOnTransferToken")
      .withArgs(100n, 99n);
  });

  it("token balance equals totalStaked + totalUnbonding + totalSlashCredits through stake, lock, slash, claim, unstake and withdraw", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await expectSolvent(s);
    await s.staking.connect(s.stranger).stake(STAKE);
    await expectSolvent(s);
    const jobId = await lockedJob(s);
    await lockedJob(s, { collateral: 3n * TOKEN_UNIT }, s.operator2);
    await expectSolvent(s);
    const ends = await requestUnstakeAt(s, s.operator2, 20n * TOKEN_UNIT);
    await expectSolvent(s);
    await time.increaseTo(await s.market.expiryOf(jobId));
    await s.market.slash(jobId);
    await expectSolvent(s);
    expect(await s.staking.totalSlashCredits()).to.equal(COLLATERAL); // all burned (credited to BURN_ADDRESS)
    expect(await s.staking.slashCredits(s.requester)).to.equal(0n);
    await time.increaseTo(ends);
    await s.staking.connect(s.operator2).withdraw();
    await s.staking.connect(s.operator).requestUnstake(STAKE - COLLATERAL);
    await expectSolvent(s);
    expect(await s.staking.totalStaked()).to.equal(STAKE + STAKE - 20n * TOKEN_UNIT);
    expect(await s.staking.totalUnbonding()).to.equal(STAKE - COLLATERAL);
  });
});
