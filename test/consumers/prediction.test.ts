import { expect } from "chai";
import type { Signer } from "ethers";
import { PredictionMarket__factory } from "../../types/ethers-contracts/index.js";
import { feltToSigned } from "../../zk/felt.js";
import {
  createJob,
  deploySystem,
  ethers,
  FAKE_PROOF,
  type JobOptions,
  instancesFor,
  modelVersion,
  networkHelpers,
  SAMPLE_OUTPUT,
  type System,
  TIMEOUT,
  TOKEN_UNIT,
} from "../fixtures/system.js";

const Outcome = { Unresolved: 0n, Yes: 1n, No: 2n, Cancelled: 3n } as const;
const OUTPUT = feltToSigned(SAMPLE_OUTPUT[0]!); // 16: output 0 of every unit-test fulfilment
const QUESTION = "Will output 0 be >= the threshold?";
const BETTING = 3600n;
const SAFETY_DELAY = 3n * 24n * 3600n; // the Ignition module's default

/** Opens market 1 (model 1, output 0) created by the requester. */
async function openMarket(threshold = OUTPUT) {
  const s = await networkHelpers.loadFixture(deploySystem);
  const pm = s.predictionMarket;
  const bettingEnds = BigInt(await networkHelpers.time.latest()) + BETTING;
  await pm.connect(s.requester).createMarket(1n, 0, threshold, bettingEnds, QUESTION);
  return { s, pm, marketId: 1n, bettingEnds };
}

/** Closes betting, then the creator posts a job (options as given), attaches it, and the operator locks it. */
async function attachedJob(s: System, bettingEnds: bigint, o: JobOptions = {}): Promise<bigint> {
  await networkHelpers.time.increaseTo(bettingEnds);
  const jobId = await createJob(s.market, s.requester, o);
  await s.predictionMarket.connect(s.requester).attachJob(1n, jobId);
  await s.market.connect(s.operator).lock(jobId, await s.market.termsOf(jobId));
  return jobId;
}

async function bets(s: System, list: [Signer, boolean, bigint][]) {
  for (const [who, yes, amount] of list) await s.predictionMarket.connect(who).bet(1n, yes, amount);
}

describe("PredictionMarket", () => {
  describe("resolution by a verified inference", () => {
    it("resolves from the market's callback and claim pays winners pro rata; a loser's claim reverts NothingToClaim", async () => {
      const threshold = OUTPUT - 6n; // 16 >= 10: YES wins
      const s = await networkHelpers.loadFixture(deploySystem);
      const pm = s.predictionMarket;
      const bettingEnds = BigInt(await networkHelpers.time.latest()) + BETTING;
      await expect(pm.connect(s.requester).createMarket(1n, 0, threshold, bettingEnds, QUESTION))
        .to.emit(pm, "MarketCreated")
        .withArgs(1n, s.requester.address, 1n, 0n, threshold, bettingEnds, QUESTION);

      const [yes1, yes2, no] = [30n * TOKEN_UNIT, 10n * TOKEN_UNIT, 60n * TOKEN_UNIT];
      const tx = pm.connect(s.relayer).bet(1n, true, yes1);
      await expect(tx).to.emit(pm, "BetPlaced").withArgs(1n, s.relayer.address, true, yes1);
      await expect(tx).to.changeTokenBalances(ethers, s.token, [s.relayer, pm], [-yes1, yes1]);
      await expect(pm.connect(s.stranger).bet(1n, true, yes2)).to.emit(pm, "BetPlaced").withArgs(1n, s.stranger.address, true, yes2);
      await expect(pm.connect(s.operator2).bet(1n, false, no)).to.emit(pm, "BetPlaced").withArgs(1n, s.operator2.address, false, no);

      await networkHelpers.time.increaseTo(bettingEnds);
      const jobId = await createJob(s.market, s.requester, { callback: await pm.getAddress(), callbackGasLimit: 300_000 });
      await expect(pm.connect(s.requester).attachJob(1n, jobId)).to.emit(pm, "JobAttached").withArgs(1n, jobId);
      expect(await pm.marketOfJob(jobId)).to.equal(1n);
      await s.market.connect(s.operator).lock(jobId, await s.market.termsOf(jobId));
      const fulfil = s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor());
      await expect(fulfil).to.emit(pm, "MarketResolved").withArgs(1n, Outcome.Yes, OUTPUT);
      await expect(fulfil).to.emit(s.market, "CallbackCalled").withArgs(jobId, await pm.getAddress(), true);
      expect((await pm.marketOf(1n)).outcome).to.equal(Outcome.Yes);

      const total = yes1 + yes2 + no;
      for (const [who, stake] of [[s.relayer, yes1], [s.stranger, yes2]] as const) {
        const won = (stake * total) / (yes1 + yes2);
        const claim = pm.connect(who).claim(1n);
        await expect(claim).to.emit(pm, "Claimed").withArgs(1n, who.address, won);
        await expect(claim).to.changeTokenBalances(ethers, s.token, [who, pm], [won, -won]);
      }
      expect(await s.token.balanceOf(pm)).to.equal(0n); // 75 + 25 = 100: nothing left behind
      await expect(pm.connect(s.operator2).claim(1n)).to.be.revertedWithCustomError(pm, "NothingToClaim").withArgs(1n, s.operator2.address);
      await expect(pm.connect(s.relayer).claim(1n)).to.be.revertedWithCustomError(pm, "NothingToClaim").withArgs(1n, s.relayer.address);
    });

    it("resolve settles from resultOf for anyone when the job had no callback (NO below the threshold)", async () => {
      const { s, pm, bettingEnds } = await openMarket(OUTPUT + 1n);
      await bets(s, [[s.relayer, true, 40n], [s.stranger, false, 10n]]);
      const jobId = await attachedJob(s, bettingEnds);
      await expect(s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor())).not.to.emit(s.market, "CallbackCalled");
      await expect(pm.connect(s.stranger).resolve(1n)).to.emit(pm, "MarketResolved").withArgs(1n, Outcome.No, OUTPUT);
      await expect(pm.connect(s.stranger).claim(1n)).to.changeTokenBalances(ethers, s.token, [s.stranger, pm], [50n, -50n]);
      await expect(pm.resolve(1n)).to.be.revertedWithCustomError(pm, "AlreadyResolved").withArgs(1n, Outcome.No);
    });

    it("resolve reverts (JobNotInStatus from the market) before the job is fulfilled, and NoJob without a job", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      await expect(pm.resolve(1n)).to.be.revertedWithCustomError(pm, "NoJob").withArgs(1n);
      const jobId = await attachedJob(s, bettingEnds);
      await expect(pm.resolve(1n)).to.be.revertedWithCustomError(s.market, "JobNotInStatus").withArgs(jobId, 2n, 3n); // Locked, not Fulfilled
    });

    it("onInferenceResult reverts NotInferenceMarket when called by anyone but the market", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      const jobId = await attachedJob(s, bettingEnds);
      await expect(pm.connect(s.stranger).onInferenceResult(jobId, [OUTPUT]))
        .to.be.revertedWithCustomError(pm, "NotInferenceMarket")
        .withArgs(s.stranger.address);
      expect((await pm.marketOf(1n)).outcome).to.equal(Outcome.Unresolved);
    });

    it("claim refunds every stake when nobody bet on the winning side", async () => {
      const { s, pm, bettingEnds } = await openMarket(); // 16 >= 16: YES, but only NO was bet
      await bets(s, [[s.relayer, false, 30n], [s.stranger, false, 20n]]);
      const jobId = await attachedJob(s, bettingEnds);
      await s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor());
      await expect(pm.resolve(1n)).to.emit(pm, "MarketResolved").withArgs(1n, Outcome.Yes, OUTPUT);
      await expect(pm.connect(s.relayer).claim(1n)).to.changeTokenBalances(ethers, s.token, [s.relayer, pm], [30n, -30n]);
      await expect(pm.connect(s.stranger).claim(1n)).to.emit(pm, "Claimed").withArgs(1n, s.stranger.address, 20n);
    });

    it("createMarket reverts OutputIndexOutOfRange for an output the model does not have, ModelNotActive for a deprecated model", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const pm = s.predictionMarket;
      const bettingEnds = BigInt(await networkHelpers.time.latest()) + BETTING;
      await expect(pm.connect(s.requester).createMarket(1n, 5, 0n, bettingEnds, QUESTION)) // the model has 2 outputs
        .to.be.revertedWithCustomError(pm, "OutputIndexOutOfRange")
        .withArgs(5n, 2n);
      await s.registry.deprecate(1n);
      await expect(pm.connect(s.requester).createMarket(1n, 0, 0n, bettingEnds, QUESTION))
        .to.be.revertedWithCustomError(pm, "ModelNotActive")
        .withArgs(1n);
    });
  });

  describe("betting and attaching", () => {
    it("bet reverts BettingClosed once betting has ended", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      await networkHelpers.time.increaseTo(bettingEnds);
      await expect(pm.connect(s.stranger).bet(1n, true, 1n)).to.be.revertedWithCustomError(pm, "BettingClosed").withArgs(1n, bettingEnds);
    });

    it("bet reverts FeeOnTransferToken when the stake token takes a fee", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const fee = await ethers.deployContract("FeeOnTransferToken");
      const pm = await new PredictionMarket__factory(s.admin).deploy(s.admin, s.market, fee, 3600n);
      await fee.mint(s.stranger, 1000n);
      await fee.connect(s.stranger).approve(pm, 1000n);
      await pm.connect(s.stranger).createMarket(1n, 0, 0n, BigInt(await networkHelpers.time.latest()) + BETTING, QUESTION);
      await expect(pm.connect(s.stranger).bet(1n, true, 100n)).to.be.revertedWithCustomError(pm, "FeeOnTransferToken").withArgs(100n, 99n);
    });

    it("bet reverts EnforcedPause while paused; pause is admin-only", async () => {
      const { s, pm } = await openMarket();
      await expect(pm.connect(s.stranger).pause())
        .to.be.revertedWithCustomError(pm, "AccessControlUnauthorizedAccount")
        .withArgs(s.stranger.address, ethers.ZeroHash);
      await expect(pm.connect(s.admin).pause()).to.emit(pm, "Paused").withArgs(s.admin.address);
      await expect(pm.connect(s.stranger).bet(1n, true, 1n)).to.be.revertedWithCustomError(pm, "EnforcedPause");
    });

    it("attachJob reverts BettingOpen before betting ends, NotCreator for others, WrongModel and JobNotPending", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      const early = await createJob(s.market, s.requester);
      await expect(pm.connect(s.requester).attachJob(1n, early)).to.be.revertedWithCustomError(pm, "BettingOpen").withArgs(1n, bettingEnds);
      await networkHelpers.time.increaseTo(bettingEnds);
      const pending = await createJob(s.market, s.requester);
      await expect(pm.connect(s.stranger).attachJob(1n, pending)).to.be.revertedWithCustomError(pm, "NotCreator").withArgs(s.stranger.address);

      await s.registry.register(modelVersion(await s.verifier.getAddress()));
      const otherModel = await createJob(s.market, s.requester, { modelId: 2n });
      await expect(pm.connect(s.requester).attachJob(1n, otherModel)).to.be.revertedWithCustomError(pm, "WrongModel").withArgs(1n, 2n);

      const done = await createJob(s.market, s.requester);
      await s.market.connect(s.operator).lock(done, await s.market.termsOf(done));
      await s.market.connect(s.operator).fulfil(done, FAKE_PROOF, instancesFor());
      await expect(pm.connect(s.requester).attachJob(1n, done)).to.be.revertedWithCustomError(pm, "JobNotPending").withArgs(done, 3n);

      await expect(pm.connect(s.requester).attachJob(1n, pending)).to.emit(pm, "JobAttached").withArgs(1n, pending);
      await expect(pm.connect(s.requester).attachJob(1n, pending)).to.be.revertedWithCustomError(pm, "JobAlreadyAttached").withArgs(1n, pending);
    });

    it("attachJob reverts JobCreatedDuringBetting for a job posted while betting was open (its input was public)", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      const early = await createJob(s.market, s.requester, { lockTimeout: 2n * BETTING, timeout: 2n * BETTING + 60n });
      const { createdAt } = await s.market.jobOf(early);
      await networkHelpers.time.increaseTo(bettingEnds);
      await expect(pm.connect(s.requester).attachJob(1n, early))
        .to.be.revertedWithCustomError(pm, "JobCreatedDuringBetting")
        .withArgs(early, createdAt, bettingEnds);
    });
  });

  describe("when the job never settles", () => {
    it("cancel after the job was slashed lets claim refund every stake", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      await bets(s, [[s.relayer, true, 30n], [s.relayer, false, 5n], [s.stranger, false, 20n]]);
      const jobId = await attachedJob(s, bettingEnds);
      await networkHelpers.time.increaseTo((await s.market.expiryOf(jobId)) + 1n);
      await s.market.slash(jobId);
      await expect(pm.connect(s.stranger).cancel(1n)).to.emit(pm, "MarketCancelled").withArgs(1n);
      await expect(pm.connect(s.relayer).claim(1n)).to.changeTokenBalances(ethers, s.token, [s.relayer, pm], [35n, -35n]);
      await expect(pm.connect(s.stranger).claim(1n)).to.emit(pm, "Claimed").withArgs(1n, s.stranger.address, 20n);
    });

    it("cancel reverts ResultPending while the job can still be fulfilled", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      await attachedJob(s, bettingEnds);
      await expect(pm.cancel(1n)).to.be.revertedWithCustomError(pm, "ResultPending").withArgs(1n);
    });

    it("adminResolve reverts SafetyDelayNotOver before the delay, is admin-only, then settles the market", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      await attachedJob(s, bettingEnds);
      await expect(pm.connect(s.admin).adminResolve(1n, Outcome.No))
        .to.be.revertedWithCustomError(pm, "SafetyDelayNotOver")
        .withArgs(1n, bettingEnds + SAFETY_DELAY);
      await networkHelpers.time.increaseTo(bettingEnds + SAFETY_DELAY);
      await expect(pm.connect(s.stranger).adminResolve(1n, Outcome.No))
        .to.be.revertedWithCustomError(pm, "AccessControlUnauthorizedAccount")
        .withArgs(s.stranger.address, ethers.ZeroHash);
      await expect(pm.connect(s.admin).adminResolve(1n, Outcome.Unresolved)).to.be.revertedWithCustomError(pm, "InvalidOutcome");
      await expect(pm.connect(s.admin).adminResolve(1n, Outcome.No)).to.emit(pm, "MarketResolved").withArgs(1n, Outcome.No, 0n);
    });

    it("adminResolve reverts JobCanStillSettle while the attached job's deadline has not passed", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      const jobId = await attachedJob(s, bettingEnds, { timeout: 6n * 24n * 3600n });
      await networkHelpers.time.increaseTo(bettingEnds + SAFETY_DELAY);
      await expect(pm.connect(s.admin).adminResolve(1n, Outcome.No))
        .to.be.revertedWithCustomError(pm, "JobCanStillSettle")
        .withArgs(jobId, (await s.market.jobOf(jobId)).deadline);
    });

    it("adminResolve reverts JobFinal when the job is final: the admin never overrides a verified result", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      const jobId = await attachedJob(s, bettingEnds);
      await s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor());
      await networkHelpers.time.increaseTo(bettingEnds + SAFETY_DELAY);
      await expect(pm.connect(s.admin).adminResolve(1n, Outcome.No))
        .to.be.revertedWithCustomError(pm, "JobFinal")
        .withArgs(jobId);
      await expect(pm.resolve(1n)).to.emit(pm, "MarketResolved").withArgs(1n, Outcome.Yes, OUTPUT);
    });
  });
});
