import { expect } from "chai";
import { ReentrantRecipient__factory } from "../../types/ethers-contracts/index.js";
import { feltToSigned } from "../../zk/runtime/felt.js";
import {
  createJob,
  deploySystem,
  ETH,
  ethers,
  FAKE_PROOF,
  instancesFor,
  jobRequest,
  LOCK_TIMEOUT,
  lockedJob,
  networkHelpers,
  PRICE,
  SAMPLE_OUTPUT,
  signedFulfilment,
  type System,
  TIMEOUT,
  TOKEN_UNIT,
} from "../fixtures/system.js";

const OUTPUTS = SAMPLE_OUTPUT.map(feltToSigned);

async function fulfilled(s: System, token?: string, price?: bigint): Promise<bigint> {
  const jobId = await lockedJob(s, { token, price });
  await s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor());
  return jobId;
}

/** The market holds exactly what it escrows for open jobs plus what it owes to accounts. */
async function expectSolvent(s: System) {
  const [balance, escrowed, owed] = await Promise.all([ethers.provider.getBalance(s.market), s.market.escrowed(ETH), s.market.owed(ETH)]);
  expect(balance).to.equal(escrowed + owed);
}

describe("InferenceMarket payments", () => {
  describe("withdraw", () => {
    it("pays the operator's ETH after fulfil, emits Withdrawal, and reverts NothingToWithdraw the second time", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      await fulfilled(s);
      const tx = s.market.connect(s.operator).withdraw(ETH);
      await expect(tx).to.emit(s.market, "Withdrawal").withArgs(s.operator.address, ETH, PRICE);
      await expect(tx).to.changeEtherBalances(ethers, [s.operator, s.market], [PRICE, -PRICE]);
      expect(await s.market.balanceOf(s.operator, ETH)).to.equal(0n);
      await expect(s.market.connect(s.operator).withdraw(ETH))
        .to.be.revertedWithCustomError(s.market, "NothingToWithdraw")
        .withArgs(s.operator.address, ETH);
    });

    it("pays the operator's ERC20 after an ERC20 job and reverts NothingToWithdraw the second time", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const token = await s.token.getAddress();
      const price = 5n * TOKEN_UNIT;
      await fulfilled(s, token, price);
      const tx = s.market.connect(s.operator).withdraw(token);
      await expect(tx).to.emit(s.market, "Withdrawal").withArgs(s.operator.address, token, price);
      await expect(tx).to.changeTokenBalances(ethers, s.token, [s.operator, s.market], [price, -price]);
      expect(await s.market.owed(token)).to.equal(0n);
      await expect(s.market.connect(s.operator).withdraw(token))
        .to.be.revertedWithCustomError(s.market, "NothingToWithdraw")
        .withArgs(s.operator.address, token);
    });

    it("pays a re-entrant recipient exactly once: its re-entry from receive() reverts", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const recipient = await new ReentrantRecipient__factory(s.admin).deploy(s.market);
      // setBalance rather than a transfer: a transfer would run receive() (and its one re-entry) too early.
      await networkHelpers.setBalance(await recipient.getAddress(), PRICE);
      await recipient.call(s.market, PRICE, s.market.interface.encodeFunctionData("createJob", [jobRequest()]));
      const jobId = await s.market.jobCount();
      expect((await s.market.jobOf(jobId)).requester).to.equal(await recipient.getAddress());
      await networkHelpers.time.increase(LOCK_TIMEOUT + 1n);
      await expect(s.market.refund(jobId)).to.emit(s.market, "JobRefunded").withArgs(jobId, await recipient.getAddress(), PRICE);

      const tx = recipient.withdrawFromMarket();
      await expect(tx).to.changeEtherBalances(ethers, [recipient, s.market], [PRICE, -PRICE]);
      const receipt = await (await tx).wait();
      const withdrawals = receipt!.logs.map((l) => s.market.interface.parseLog(l)).filter((l) => l?.name === "Withdrawal");
      expect(withdrawals.map((l) => [...l!.args])).to.deep.equal([[await recipient.getAddress(), ETH, PRICE]]);
      expect(await recipient.reentered()).to.equal(true);
      expect(await recipient.reentryReverted()).to.equal(true);
      expect(await s.market.balanceOf(recipient, ETH)).to.equal(0n);
      await expectSolvent(s);
    });
  });

  describe("who is paid for a fulfilment", () => {
    it("fulfil reverts NotLockOperator when a stranger sends the operator's proof: a copied proof earns nothing", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const jobId = await lockedJob(s);
      await expect(s.market.connect(s.stranger).fulfil(jobId, FAKE_PROOF, instancesFor()))
        .to.be.revertedWithCustomError(s.market, "NotLockOperator")
        .withArgs(jobId, s.stranger.address, s.operator.address);
      expect(await s.market.balanceOf(s.stranger, ETH)).to.equal(0n);
      expect((await s.market.jobOf(jobId)).status).to.equal(2n); // still Locked
    });

    it("fulfilWithSignature reverts NotDesignatedRelayer when sent by an account other than the named relayer", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const jobId = await lockedJob(s);
      const auth = await signedFulfilment(s.market, s.operator, jobId, { relayer: s.relayer.address, relayerFee: PRICE / 10n });
      await expect(s.market.connect(s.stranger).fulfilWithSignature(auth))
        .to.be.revertedWithCustomError(s.market, "NotDesignatedRelayer")
        .withArgs(s.stranger.address, s.relayer.address);
    });

    it("fulfilWithSignature from the named relayer pays it the fee and the operator the price less the fee", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const jobId = await lockedJob(s);
      const fee = PRICE / 10n;
      const auth = await signedFulfilment(s.market, s.operator, jobId, { relayer: s.relayer.address, relayerFee: fee });
      await expect(s.market.connect(s.relayer).fulfilWithSignature(auth))
        .to.emit(s.market, "JobFulfilled")
        .withArgs(jobId, s.operator.address, s.relayer.address, PRICE - fee, fee, OUTPUTS);
      expect(await s.market.balanceOf(s.operator, ETH)).to.equal(PRICE - fee);
      expect(await s.market.balanceOf(s.relayer, ETH)).to.equal(fee);
      expect(await s.market.owed(ETH)).to.equal(PRICE);
    });

    it("fulfilWithSignature reverts NotDesignatedRelayer for a fee with no named relayer", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const jobId = await lockedJob(s);
      const auth = await signedFulfilment(s.market, s.operator, jobId, { relayerFee: 1n });
      await expect(s.market.connect(s.relayer).fulfilWithSignature(auth))
        .to.be.revertedWithCustomError(s.market, "NotDesignatedRelayer")
        .withArgs(s.relayer.address, ETH);
    });

    it("fulfilWithSignature reverts RelayerFeeTooHigh for a fee above the job price", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const jobId = await lockedJob(s);
      const auth = await signedFulfilment(s.market, s.operator, jobId, { relayer: s.relayer.address, relayerFee: PRICE + 1n });
      await expect(s.market.connect(s.relayer).fulfilWithSignature(auth))
        .to.be.revertedWithCustomError(s.market, "RelayerFeeTooHigh")
        .withArgs(PRICE + 1n, PRICE);
    });
  });

  describe("pause", () => {
    it("blocks createJob and lock with EnforcedPause while fulfil, refund and withdraw still work", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const open = await createJob(s.market, s.requester);
      const locked = await lockedJob(s);
      await expect(s.market.connect(s.admin).pause()).to.emit(s.market, "Paused").withArgs(s.admin.address);

      await expect(s.market.connect(s.requester).createJob(jobRequest(), { value: PRICE })).to.be.revertedWithCustomError(s.market, "EnforcedPause");
      await expect(s.market.connect(s.operator2).lock(open, await s.market.termsOf(open))).to.be.revertedWithCustomError(s.market, "EnforcedPause");
      await expect(s.market.connect(s.operator).fulfil(locked, FAKE_PROOF, instancesFor())).to.emit(s.market, "JobFulfilled");
      await networkHelpers.time.increase(LOCK_TIMEOUT + 1n);

      await expect(s.market.connect(s.stranger).refund(open)).to.emit(s.market, "JobRefunded").withArgs(open, s.requester.address, PRICE);
      const tx = s.market.connect(s.requester).withdraw(ETH);
      await expect(tx).to.emit(s.market, "Withdrawal").withArgs(s.requester.address, ETH, PRICE);
      await expect(tx).to.changeEtherBalances(ethers, [s.requester, s.market], [PRICE, -PRICE]);
    });

    it("pause reverts AccessControlUnauthorizedAccount for an account without PAUSER_ROLE", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      await expect(s.market.connect(s.stranger).pause())
        .to.be.revertedWithCustomError(s.market, "AccessControlUnauthorizedAccount")
        .withArgs(s.stranger.address, await s.market.PAUSER_ROLE());
    });
  });

  it("keeps the market's ETH balance equal to escrowed + owed through create, fulfil, refund and withdraw", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const toFulfil = await createJob(s.market, s.requester);
    const toRefund = await createJob(s.market, s.requester);
    expect(await s.market.escrowed(ETH)).to.equal(2n * PRICE);
    await expectSolvent(s);
    await s.market.connect(s.operator).lock(toFulfil, await s.market.termsOf(toFulfil));
    await s.market.connect(s.operator).fulfil(toFulfil, FAKE_PROOF, instancesFor());
    expect([await s.market.escrowed(ETH), await s.market.owed(ETH)]).to.deep.equal([PRICE, PRICE]);
    await expectSolvent(s);
    await networkHelpers.time.increase(LOCK_TIMEOUT + 1n);
    await s.market.refund(toRefund);
    expect([await s.market.escrowed(ETH), await s.market.owed(ETH)]).to.deep.equal([0n, 2n * PRICE]);
    await expectSolvent(s);
    await s.market.connect(s.operator).withdraw(ETH);
    await expectSolvent(s);
    await s.market.connect(s.requester).withdraw(ETH);
    expect([await s.market.escrowed(ETH), await s.market.owed(ETH)]).to.deep.equal([0n, 0n]);
    await expectSolvent(s);
  });
});
