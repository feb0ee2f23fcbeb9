import { expect } from "chai";
import type { Signer } from "ethers";
import {
  COLLATERAL,
  createJob,
  deploySystem,
  ethers,
  LOCK_TIMEOUT,
  LOCK_TYPES,
  lockedJob,
  marketDomain,
  networkHelpers,
  STAKE,
  TOKEN_UNIT,
  type System,
} from "../fixtures/system.js";

const { time } = networkHelpers;

/** `signer`'s EIP-712 Lock signature for `jobId`, naming `operator` (the signer unless given). */
async function signLock(s: System, signer: Signer, jobId: bigint, validUntil: bigint, operator?: string) {
  const value = { jobId, operator: operator ?? (await signer.getAddress()), validUntil };
  return signer.signTypedData(await marketDomain(s.market), LOCK_TYPES, value);
}

/** A validUntil `seconds` after the latest block. */
async function validFor(seconds: bigint) {
  return BigInt(await time.latest()) + seconds;
}

describe("InferenceMarket.lock", () => {
  it("lock reserves the job's collateral from the caller's free stake and emits JobLocked and CollateralReserved", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const tx = s.market.connect(s.operator).lock(jobId);
    await expect(tx).to.emit(s.market, "JobLocked").withArgs(jobId, s.operator.address, COLLATERAL);
    await expect(tx).to.emit(s.staking, "CollateralReserved").withArgs(s.operator.address, COLLATERAL);
    const op = await s.staking.operatorOf(s.operator);
    expect(op.locked).to.equal(COLLATERAL);
    expect(op.staked).to.equal(STAKE);
    expect(await s.staking.freeStake(s.operator)).to.equal(STAKE - COLLATERAL);
    const job = await s.market.jobOf(jobId);
    expect(job.status).to.equal(2n); // Locked
    expect(job.operator).to.equal(s.operator.address);
  });

  it("lock succeeds at exactly the lockDeadline", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const { lockDeadline } = await s.market.jobOf(jobId);
    await time.setNextBlockTimestamp(lockDeadline);
    await expect(s.market.connect(s.operator).lock(jobId)).to.emit(s.market, "JobLocked").withArgs(jobId, s.operator.address, COLLATERAL);
  });

  it("lock reverts LockExpired after the lockDeadline", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const { lockDeadline } = await s.market.jobOf(jobId);
    await time.increase(LOCK_TIMEOUT);
    await expect(s.market.connect(s.operator).lock(jobId))
      .to.be.revertedWithCustomError(s.market, "LockExpired")
      .withArgs(jobId, lockDeadline);
  });

  it("lock reverts JobNotInStatus when the job is already locked (by anyone)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await lockedJob(s);
    for (const signer of [s.operator, s.operator2]) {
      await expect(s.market.connect(signer).lock(jobId))
        .to.be.revertedWithCustomError(s.market, "JobNotInStatus")
        .withArgs(jobId, 2n, 1n); // Locked, Open required
    }
  });

  it("lock reverts UnknownJob for a job id never created", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await expect(s.market.connect(s.operator).lock(7n)).to.be.revertedWithCustomError(s.market, "UnknownJob").withArgs(7n);
  });

  it("lock reverts InsufficientFreeStake when the collateral exceeds stake not already reserved", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await lockedJob(s);
    const free = STAKE - COLLATERAL;
    const jobId = await createJob(s.market, s.requester, { collateral: free + 1n });
    await expect(s.market.connect(s.operator).lock(jobId))
      .to.be.revertedWithCustomError(s.staking, "InsufficientFreeStake")
      .withArgs(s.operator.address, free, free + 1n);
    // The failed lock changed nothing: the job is still open for someone else.
    expect((await s.market.jobOf(jobId)).status).to.equal(1n); // Open
    expect((await s.staking.operatorOf(s.operator)).locked).to.equal(COLLATERAL);
  });

  it("lock reverts OperatorJailed for a jailed operator, and freeStake reports 0", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await expect(s.staking.setJailed(s.operator, true)).to.emit(s.staking, "Jailed").withArgs(s.operator.address, true);
    expect(await s.staking.freeStake(s.operator)).to.equal(0n);
    const jobId = await createJob(s.market, s.requester);
    await expect(s.market.connect(s.operator).lock(jobId))
      .to.be.revertedWithCustomError(s.staking, "OperatorJailed")
      .withArgs(s.operator.address);
  });

  it("lock reverts BelowMinStake for an operator staking less than the minimum (or nothing)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester, { collateral: 1n });
    await expect(s.market.connect(s.stranger).lock(jobId))
      .to.be.revertedWithCustomError(s.staking, "BelowMinStake")
      .withArgs(s.stranger.address, 0n, TOKEN_UNIT);
    await expect(s.staking.setMinStake(STAKE + 1n)).to.emit(s.staking, "MinStakeSet").withArgs(STAKE + 1n);
    expect(await s.staking.freeStake(s.operator)).to.equal(0n);
    await expect(s.market.connect(s.operator).lock(jobId))
      .to.be.revertedWithCustomError(s.staking, "BelowMinStake")
      .withArgs(s.operator.address, STAKE, STAKE + 1n);
  });

  it("lockWithSignature sent by a relayer locks the job for the signing operator", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const validUntil = await validFor(300n);
    const signature = await signLock(s, s.operator, jobId, validUntil);
    const tx = s.market.connect(s.relayer).lockWithSignature(jobId, s.operator, validUntil, signature);
    await expect(tx).to.emit(s.market, "JobLocked").withArgs(jobId, s.operator.address, COLLATERAL);
    await expect(tx).to.emit(s.staking, "CollateralReserved").withArgs(s.operator.address, COLLATERAL);
    expect((await s.market.jobOf(jobId)).operator).to.equal(s.operator.address);
    expect((await s.staking.operatorOf(s.operator)).locked).to.equal(COLLATERAL);
    expect((await s.staking.operatorOf(s.relayer)).locked).to.equal(0n);
  });

  it("lockWithSignature reverts InvalidSignature when the signer is not the named operator", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const validUntil = await validFor(300n);
    const signature = await signLock(s, s.operator2, jobId, validUntil, s.operator.address);
    await expect(s.market.connect(s.relayer).lockWithSignature(jobId, s.operator, validUntil, signature))
      .to.be.revertedWithCustomError(s.market, "InvalidSignature")
      .withArgs(s.operator2.address, s.operator.address);
  });

  it("lockWithSignature reverts SignatureExpired after validUntil", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const validUntil = await validFor(0n); // the next block is one second later
    const signature = await signLock(s, s.operator, jobId, validUntil);
    await expect(s.market.connect(s.relayer).lockWithSignature(jobId, s.operator, validUntil, signature))
      .to.be.revertedWithCustomError(s.market, "SignatureExpired")
      .withArgs(validUntil);
  });

  it("lockWithSignature refuses a replayed signature: JobNotInStatus on its job, InvalidSignature on another job", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const other = await createJob(s.market, s.requester);
    const validUntil = await validFor(300n);
    const signature = await signLock(s, s.operator, jobId, validUntil);
    await s.market.connect(s.relayer).lockWithSignature(jobId, s.operator, validUntil, signature);
    await expect(s.market.connect(s.relayer).lockWithSignature(jobId, s.operator, validUntil, signature))
      .to.be.revertedWithCustomError(s.market, "JobNotInStatus")
      .withArgs(jobId, 2n, 1n);
    // The signature binds the job id: on another job it recovers some other address.
    const recovered = ethers.verifyTypedData(await marketDomain(s.market), LOCK_TYPES, { jobId: other, operator: s.operator.address, validUntil }, signature);
    await expect(s.market.connect(s.relayer).lockWithSignature(other, s.operator, validUntil, signature))
      .to.be.revertedWithCustomError(s.market, "InvalidSignature")
      .withArgs(recovered, s.operator.address);
  });

  it("lock and lockWithSignature revert EnforcedPause while the market is paused", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const validUntil = await validFor(300n);
    const signature = await signLock(s, s.operator, jobId, validUntil);
    await s.market.pause();
    await expect(s.market.connect(s.operator).lock(jobId)).to.be.revertedWithCustomError(s.market, "EnforcedPause");
    await expect(s.market.connect(s.relayer).lockWithSignature(jobId, s.operator, validUntil, signature)).to.be.revertedWithCustomError(s.market, "EnforcedPause");
    await s.market.unpause();
    await expect(s.market.connect(s.operator).lock(jobId)).to.emit(s.market, "JobLocked");
  });
});
