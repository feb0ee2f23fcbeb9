// Regression tests for the Lows and Infos of the contracts review (L-1..L-7, I-3, I-4) that have no better home.
// Each fails on the code the review read (commit c634117).
import { expect } from "chai";
import {
  AcceptingVerifier__factory,
  MockReusableVerifier__factory,
  MockVerifier__factory,
  OperatorStaking__factory,
  VkaVerifier__factory,
} from "../../types/ethers-contracts/index.js";
import {
  COLLATERAL,
  createJob,
  deploySystem,
  ETH,
  ethers,
  FAKE_PROOF,
  instancesFor,
  jobRequest,
  lockedJob,
  MAX_JOB_DURATION,
  modelVersion,
  networkHelpers,
  PRICE,
  signedFulfilment,
  STAKE,
  TOKEN_UNIT,
} from "../fixtures/system.js";

const { time } = networkHelpers;
const VerifierMode = { Accept: 0, ReturnFalse: 1, Revert: 2, BurnAllGas: 3 } as const;

describe("hardening (review L-2..L-7, I-3, I-4)", () => {
  describe("L-2 the registry pins the verifier's code; revocation refunds without slashing", () => {
    it("fulfil reverts ProofRejected (a rejection, not an uncaught revert) when the model's verifier lost its code", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const jobId = await lockedJob(s);
      await networkHelpers.setCode(await s.verifier.getAddress(), "0x");
      await expect(s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor()))
        .to.be.revertedWithCustomError(s.market, "ProofRejected")
        .withArgs(jobId);
    });

    it("fulfil reverts ProofRejected when the verifier's code was swapped after registration (codehash pinned)", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const jobId = await lockedJob(s);
      // Another accept-all verifier's code, with a different code hash, at the registered address.
      const other = await new AcceptingVerifier__factory(s.admin).deploy();
      await networkHelpers.setCode(await s.verifier.getAddress(), (await ethers.provider.getCode(other))!);
      const [, , , , , codehash] = await s.registry.layout(1n);
      expect(codehash).to.not.equal(ethers.keccak256((await ethers.provider.getCode(s.verifier))!));
      await expect(s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor()))
        .to.be.revertedWithCustomError(s.market, "ProofRejected")
        .withArgs(jobId);
    });

    it("register reverts VerifierIsDelegated for an EIP-7702-delegated account, and pins the code hash of a plain verifier", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const delegated = ethers.Wallet.createRandom().address;
      await networkHelpers.setCode(delegated, "0xef0100" + (await s.verifier.getAddress()).slice(2).toLowerCase());
      await expect(s.registry.register(modelVersion(delegated)))
        .to.be.revertedWithCustomError(s.registry, "VerifierIsDelegated")
        .withArgs(delegated);
      const [, , , , , codehash] = await s.registry.layout(1n);
      expect(codehash).to.equal(ethers.keccak256((await ethers.provider.getCode(s.verifier))!));
    });

    it("revoke closes a model's open and locked jobs with refunds and no slash (closeRevoked); fulfil reverts ModelRevoked", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const open = await createJob(s.market, s.requester);
      const locked = await lockedJob(s);
      await expect(s.market.closeRevoked(open)).to.be.revertedWithCustomError(s.market, "ModelNotRevoked").withArgs(1n);
      await expect(s.registry.revoke(1n)).to.emit(s.registry, "ModelRevoked").withArgs(1n);
      await expect(s.registry.revoke(1n)).to.be.revertedWithCustomError(s.registry, "ModelAlreadyRevoked").withArgs(1n);
      await expect(s.market.connect(s.operator).fulfil(locked, FAKE_PROOF, instancesFor()))
        .to.be.revertedWithCustomError(s.market, "ModelRevoked")
        .withArgs(1n);
      await expect(s.market.connect(s.stranger).closeRevoked(open)).to.emit(s.market, "JobRefunded").withArgs(open, s.requester.address, PRICE);
      const tx = s.market.connect(s.stranger).closeRevoked(locked);
      await expect(tx).to.emit(s.market, "JobRefunded").withArgs(locked, s.requester.address, PRICE);
      await expect(tx).to.emit(s.staking, "CollateralReleased").withArgs(s.operator.address, COLLATERAL);
      const op = await s.staking.operatorOf(s.operator);
      expect([op.staked, op.locked]).to.deep.equal([STAKE, 0n]);
      expect(await s.market.balanceOf(s.requester, ETH)).to.equal(2n * PRICE);
      await expect(s.market.closeRevoked(locked)).to.be.revertedWithCustomError(s.market, "JobNotInStatus");
      await expect(s.market.connect(s.requester).createJob(jobRequest(), { value: PRICE })).to.be.revertedWithCustomError(s.market, "ModelNotActive");
    });
  });

  it("L-3 VkaVerifier's data contract starts with STOP: calling it runs none of the vka, and proofs still read the vka", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const reusable = await new MockReusableVerifier__factory(s.admin).deploy();
    // vka words chosen to be dangerous as code: 0xff (SELFDESTRUCT) first.
    const vka = [ethers.zeroPadBytes("0xff", 32), ethers.id("vk word")];
    const adapter = await new VkaVerifier__factory(s.admin).deploy(reusable, vka);
    const data = await adapter.vkaData();
    const code = (await ethers.provider.getCode(data))!;
    expect(code).to.equal("0x00" + vka.map((w) => w.slice(2)).join(""));
    await (await s.admin.sendTransaction({ to: data, data: "0x" })).wait();
    expect(await ethers.provider.getCode(data)).to.equal(code);
    expect(await adapter.verifyProof.staticCall(FAKE_PROOF, [1n])).to.equal(true);
  });

  it("L-6 withdrawTo and claimSlashedTo pay a recipient the owner of the balance chooses", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    await time.increaseTo((await s.market.jobOf(jobId)).lockDeadline + 1n);
    await s.market.refund(jobId);
    const tx = s.market.connect(s.requester).withdrawTo(ETH, s.stranger.address);
    await expect(tx).to.emit(s.market, "WithdrawalTo").withArgs(s.requester.address, s.stranger.address, ETH, PRICE);
    await expect(tx).to.changeEtherBalances(ethers, [s.stranger, s.market], [PRICE, -PRICE]);
    // Slash credits: a secondary fulfiller's reward, claimed to another address.
    const locked = await lockedJob(s);
    const commitment = await s.market.fulfilmentCommitment(locked, s.operator2.address, FAKE_PROOF, instancesFor());
    await s.market.connect(s.operator2).commitFulfilment(locked, commitment);
    await time.increaseTo((await s.market.jobOf(locked)).deadline + 1n);
    await s.market.connect(s.operator2).fulfilSecondary(locked, FAKE_PROOF, instancesFor());
    const claim = s.staking.connect(s.operator2).claimSlashedTo(s.stranger.address);
    await expect(claim).to.emit(s.staking, "SlashClaimedTo").withArgs(s.operator2.address, s.stranger.address, COLLATERAL / 2n);
    await expect(claim).to.changeTokenBalances(ethers, s.token, [s.stranger, s.staking], [COLLATERAL / 2n, -(COLLATERAL / 2n)]);
  });

  it("L-7 fulfilBatch: an item whose verifier burns all the gas it is given cannot starve the items after it", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const burner = await new MockVerifier__factory(s.admin).deploy();
    await burner.setMode(VerifierMode.BurnAllGas);
    await s.registry.register(modelVersion(await burner.getAddress()));
    const bad = await lockedJob(s, { modelId: 2n });
    const good = await lockedJob(s);
    const auths = [await signedFulfilment(s.market, s.operator, bad), await signedFulfilment(s.market, s.operator, good)];
    const tx = await s.market.connect(s.relayer).fulfilBatch(auths, { gasLimit: 3_000_000 });
    await expect(tx).to.emit(s.market, "FulfilmentFailed");
    await expect(tx).to.emit(s.market, "JobFulfilled");
    expect((await s.market.jobOf(good)).status).to.equal(3n); // Fulfilled
    expect((await s.market.jobOf(bad)).status).to.equal(2n); // still Locked
  });

  describe("I-3 unbonding requests and degenerate governance parameters", () => {
    it("requestUnstake in two steps keeps each request's own end: the first is withdrawable when it matures", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const delay = await s.staking.unbondingDelay();
      await s.staking.connect(s.operator).requestUnstake(10n * TOKEN_UNIT);
      const firstEnds = BigInt(await time.latest()) + delay;
      await time.increase(delay / 2n);
      await s.staking.connect(s.operator).requestUnstake(5n * TOKEN_UNIT);
      await time.increaseTo(firstEnds);
      await expect(s.staking.connect(s.operator).withdraw()).to.emit(s.staking, "Withdrawn").withArgs(s.operator.address, 10n * TOKEN_UNIT);
      const second = await s.staking.unbondingRequests(s.operator, 1n);
      await expect(s.staking.connect(s.operator).withdraw())
        .to.be.revertedWithCustomError(s.staking, "UnbondingNotOver")
        .withArgs(s.operator.address, second.endsAt);
      await time.increaseTo(second.endsAt);
      await expect(s.staking.connect(s.operator).withdraw()).to.emit(s.staking, "Withdrawn").withArgs(s.operator.address, 5n * TOKEN_UNIT);
      expect((await s.staking.operatorOf(s.operator)).unbonding).to.equal(0n);
    });

    it("setUnbondingDelay reverts UnbondingTooLong above MAX_UNBONDING_DELAY; setMaxJobDuration reverts MaxJobDurationTooShort below MIN_JOB_DURATION", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const max = await s.staking.MAX_UNBONDING_DELAY();
      await expect(s.staking.setUnbondingDelay(max + 1n)).to.be.revertedWithCustomError(s.staking, "UnbondingTooLong").withArgs(max + 1n, max);
      await expect(new OperatorStaking__factory(s.admin).deploy(s.admin, s.token, TOKEN_UNIT, max + 1n)).to.be.revertedWithCustomError(s.staking, "UnbondingTooLong");
      const min = await s.market.MIN_JOB_DURATION();
      await expect(s.market.setMaxJobDuration(0n)).to.be.revertedWithCustomError(s.market, "MaxJobDurationTooShort").withArgs(0n, min);
      expect(await s.market.maxJobDuration()).to.equal(MAX_JOB_DURATION);
    });
  });

  describe("I-4 degenerate job parameters", () => {
    it("createJob reverts ZeroCallbackGas for a callback with no gas, and InvalidTimeouts when the lock deadline leaves under MIN_PROVING_WINDOW to prove", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const callback = await s.predictionMarket.getAddress();
      await expect(s.market.connect(s.requester).createJob(jobRequest({ callback, callbackGasLimit: 0 }), { value: PRICE }))
        .to.be.revertedWithCustomError(s.market, "ZeroCallbackGas")
        .withArgs(callback);
      const window = await s.market.MIN_PROVING_WINDOW();
      await expect(s.market.connect(s.requester).createJob(jobRequest({ lockTimeout: 600n, timeout: 600n + window - 1n }), { value: PRICE }))
        .to.be.revertedWithCustomError(s.market, "InvalidTimeouts")
        .withArgs(600n, 600n + window - 1n, MAX_JOB_DURATION);
      await expect(s.market.connect(s.requester).createJob(jobRequest({ lockTimeout: 600n, timeout: 600n + window }), { value: PRICE })).to.emit(s.market, "JobCreated");
    });
  });
});
