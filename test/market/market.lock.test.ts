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
async function signLock(s: System, signer: Signer, jobId: bigint, validUntil: bigint, operator?: string, terms?: string) {
  const value = { jobId, terms: terms ?? (await s.market.termsOf(jobId)), operator: operator ?? (await signer.getAddress()), validUntil };
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
    const tx = s.market.connect(s.operator).lock(jobId, await s.market.termsOf(jobId));
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
    await expect(s.market.connect(s.operator).lock(jobId, await s.market.termsOf(jobId))).to.emit(s.market, "JobLocked").withArgs(jobId, s.operator.address, COLLATERAL);
  });

  it("lock reverts LockExpired after the lockDeadline", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const { lockDeadline } = await s.market.jobOf(jobId);
    await time.increase(LOCK_TIMEOUT);
    await expect(s.market.connect(s.operator).lock(jobId, await s.market.termsOf(jobId)))
      .to.be.revertedWithCustomError(s.market, "LockExpired")
      .withArgs(jobId, lockDeadline);
  });

  it("lock reverts JobNotInStatus when the job is already locked (by anyone)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await lockedJob(s);
    for (const signer of [s.operator, s.operator2]) {
      await expect(s.market.connect(signer).lock(jobId, await s.market.termsOf(jobId)))
        .to.be.revertedWithCustomError(s.market, "JobNotInStatus")
        .withArgs(jobId, 2n, 1n); // Locked, Open required
    }
  });

  it("lock reverts UnknownJob for a job id never created", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await expect(s.market.connect(s.operator).lock(7n, ethers.ZeroHash)).to.be.revertedWithCustomError(s.market, "UnknownJob").withArgs(7n);
  });

  it("lock reverts InsufficientFreeStake when the collateral exceeds stake not already reserved", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await lockedJob(s);
    const free = STAKE - COLLATERAL;
    const jobId = await createJob(s.market, s.requester, { collateral: free + 1n });
    await expect(s.market.connect(s.operator).lock(jobId, await s.market.termsOf(jobId)))
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
    await expect(s.market.connect(s.operator).lock(jobId, await s.market.termsOf(jobId)))
      .to.be.revertedWithCustomError(s.staking, "OperatorJailed")
      .withArgs(s.operator.address);
  });

  it("lock reverts BelowMinStake for an operator staking less than the minimum (or nothing)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester, { collateral: 1n });
    await expect(s.market.connect(s.stranger).lock(jobId, await s.market.termsOf(jobId)))
      .to.be.revertedWithCustomError(s.staking, "BelowMinStake")
      .withArgs(s.stranger.address, 0n, TOKEN_UNIT);
    await expect(s.staking.setMinStake(STAKE + 1n)).to.emit(s.staking, "MinStakeSet").withArgs(STAKE + 1n);
    expect(await s.staking.freeStake(s.operator)).to.equal(0n);
    await expect(s.market.connect(s.operator).lock(jobId, await s.market.termsOf(jobId)))
      .to.be.revertedWithCustomError(s.staking, "BelowMinStake")
      .withArgs(s.operator.address, STAKE, STAKE + 1n);
  });

  it("lockWithSignature sent by a relayer locks the job for the signing operator", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const validUntil = await validFor(300n);
    const signature = await signLock(s, s.operator, jobId, validUntil);
    const tx = s.market.connect(s.relayer).lockWithSignature(jobId, await s.market.termsOf(jobId), s.operator, validUntil, signature);
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
    await expect(s.market.connect(s.relayer).lockWithSignature(jobId, await s.market.termsOf(jobId), s.operator, validUntil, signature))
      .to.be.revertedWithCustomError(s.market, "InvalidSignature")
      .withArgs(s.operator2.address, s.operator.address);
  });

  it("lockWithSignature reverts SignatureExpired after validUntil", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const validUntil = await validFor(0n); // the next block is one second later
    const signature = await signLock(s, s.operator, jobId, validUntil);
    await expect(s.market.connect(s.relayer).lockWithSignature(jobId, await s.market.termsOf(jobId), s.operator, validUntil, signature))
      .to.be.revertedWithCustomError(s.market, "SignatureExpired")
      .withArgs(validUntil);
  });

  it("lockWithSignature refuses a replayed signature: JobNotInStatus on its job, InvalidSignature on another job", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const other = await createJob(s.market, s.requester);
    const validUntil = await validFor(300n);
    const signature = await signLock(s, s.operator, jobId, validUntil);
    await s.market.connect(s.relayer).lockWithSignature(jobId, await s.market.termsOf(jobId), s.operator, validUntil, signature);
    await expect(s.market.connect(s.relayer).lockWithSignature(jobId, await s.market.termsOf(jobId), s.operator, validUntil, signature))
      .to.be.revertedWithCustomError(s.market, "JobNotInStatus")
      .withArgs(jobId, 2n, 1n);
    // The signature binds the job id and its terms: on another job it recovers some other address.
    const otherTerms = await s.market.termsOf(other);
    const recovered = ethers.verifyTypedData(await marketDomain(s.market), LOCK_TYPES, { jobId: other, terms: otherTerms, operator: s.operator.address, validUntil }, signature);
    await expect(s.market.connect(s.relayer).lockWithSignature(other, otherTerms, s.operator, validUntil, signature))
      .to.be.revertedWithCustomError(s.market, "InvalidSignature")
      .withArgs(recovered, s.operator.address);
  });

  it("lock and lockWithSignature revert EnforcedPause while the market is paused", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const validUntil = await validFor(300n);
    const signature = await signLock(s, s.operator, jobId, validUntil);
    await s.market.pause();
    await expect(s.market.connect(s.operator).lock(jobId, await s.market.termsOf(jobId))).to.be.revertedWithCustomError(s.market, "EnforcedPause");
    await expect(s.market.connect(s.relayer).lockWithSignature(jobId, await s.market.termsOf(jobId), s.operator, validUntil, signature)).to.be.revertedWithCustomError(s.market, "EnforcedPause");
    await s.market.unpause();
    await expect(s.market.connect(s.operator).lock(jobId, await s.market.termsOf(jobId))).to.emit(s.market, "JobLocked");
  });
});

// Review M-2 / T-8: a lock names the job's terms digest, so an id that a reorg hands to another job cannot lock
// the operator into terms it never checked; review M-4: a signed lock can be cancelled.
describe("InferenceMarket.lock binds the job's terms (M-2, M-4)", () => {
  /** Job `jobId` as seen before a reorg, then the chain reorganised so that the same id is another job. */
  async function reorgedId(s: System) {
    const before = await networkHelpers.takeSnapshot();
    const jobId = await createJob(s.market, s.requester);
    const seenTerms = await s.market.termsOf(jobId);
    const validUntil = await validFor(300n);
    const signature = await signLock(s, s.operator, jobId, validUntil, undefined, seenTerms);
    await before.restore();
    // In the new fork the attacker's job lands first and takes the id: the operator's whole stake as collateral.
    const replacement = await createJob(s.market, s.stranger, { collateral: STAKE });
    expect(replacement).to.equal(jobId);
    return { jobId, seenTerms, validUntil, signature, actualTerms: await s.market.termsOf(jobId) };
  }

  it("lock reverts TermsMismatch when a reorg gave the job id to a job with other terms (M-2)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const { jobId, seenTerms, actualTerms } = await reorgedId(s);
    expect(actualTerms).to.not.equal(seenTerms);
    await expect(s.market.connect(s.operator).lock(jobId, seenTerms))
      .to.be.revertedWithCustomError(s.market, "TermsMismatch")
      .withArgs(jobId, actualTerms, seenTerms);
    expect((await s.staking.operatorOf(s.operator)).locked).to.equal(0n);
  });

  it("lockWithSignature of a still-valid signature replayed onto a reused id after a reorg reverts TermsMismatch (T-8)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const { jobId, seenTerms, validUntil, signature, actualTerms } = await reorgedId(s);
    // The relayer (or anyone holding the signature) submits it as signed: the terms it names are not the job's.
    await expect(s.market.connect(s.relayer).lockWithSignature(jobId, seenTerms, s.operator, validUntil, signature))
      .to.be.revertedWithCustomError(s.market, "TermsMismatch")
      .withArgs(jobId, actualTerms, seenTerms);
    // Naming the new terms instead breaks the signature.
    const recovered = ethers.verifyTypedData(await marketDomain(s.market), LOCK_TYPES, { jobId, terms: actualTerms, operator: s.operator.address, validUntil }, signature);
    await expect(s.market.connect(s.relayer).lockWithSignature(jobId, actualTerms, s.operator, validUntil, signature))
      .to.be.revertedWithCustomError(s.market, "InvalidSignature")
      .withArgs(recovered, s.operator.address);
  });

  it("JobCreated emits the terms digest that termsOf returns and lock must name", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const [ev] = await s.market.queryFilter(s.market.filters.JobCreated(jobId));
    expect(ev!.args.terms).to.equal(await s.market.termsOf(jobId));
    const job = await s.market.jobOf(jobId);
    const expected = ethers.keccak256(
      ethers.AbiCoder.defaultAbiCoder().encode(
        ["uint256", "address", "uint32", "bytes32", "address", "uint128", "uint128", "uint64", "uint64", "address", "uint24"],
        [jobId, job.requester, job.modelId, job.inputHash, job.token, job.price, job.collateral, job.lockDeadline, job.deadline, job.callback, job.callbackGasLimit],
      ),
    );
    expect(ev!.args.terms).to.equal(expected);
  });

  it("cancelLockSignature makes the operator's signed lock unusable: lockWithSignature reverts LockSignatureIsCancelled (M-4)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const terms = await s.market.termsOf(jobId);
    const validUntil = await validFor(300n);
    const signature = await signLock(s, s.operator, jobId, validUntil);
    const digest = ethers.TypedDataEncoder.hash(await marketDomain(s.market), LOCK_TYPES, { jobId, terms, operator: s.operator.address, validUntil });
    await expect(s.market.connect(s.operator).cancelLockSignature(jobId, terms, validUntil))
      .to.emit(s.market, "LockSignatureCancelled")
      .withArgs(s.operator.address, jobId, digest);
    await expect(s.market.connect(s.relayer).lockWithSignature(jobId, terms, s.operator, validUntil, signature))
      .to.be.revertedWithCustomError(s.market, "LockSignatureIsCancelled")
      .withArgs(digest);
    // Someone else's cancellation names another digest and cancels nothing of the operator's.
    const other = await createJob(s.market, s.requester);
    const otherTerms = await s.market.termsOf(other);
    const sig2 = await signLock(s, s.operator, other, validUntil);
    await s.market.connect(s.stranger).cancelLockSignature(other, otherTerms, validUntil);
    await expect(s.market.connect(s.relayer).lockWithSignature(other, otherTerms, s.operator, validUntil, sig2)).to.emit(s.market, "JobLocked");
  });

  it("lockWithSignature reverts InvalidSignature(0, operator) for a malformed signature, and InvalidSignature for a tampered one", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    const terms = await s.market.termsOf(jobId);
    const validUntil = await validFor(300n);
    const signature = await signLock(s, s.operator, jobId, validUntil);
    await expect(s.market.connect(s.relayer).lockWithSignature(jobId, terms, s.operator, validUntil, "0x1234"))
      .to.be.revertedWithCustomError(s.market, "InvalidSignature")
      .withArgs(ethers.ZeroAddress, s.operator.address);
    const tampered = signature.slice(0, 10) + (signature[10] === "0" ? "1" : "0") + signature.slice(11);
    await expect(s.market.connect(s.relayer).lockWithSignature(jobId, terms, s.operator, validUntil, tampered)).to.be.revertedWithCustomError(s.market, "InvalidSignature");
  });
});
