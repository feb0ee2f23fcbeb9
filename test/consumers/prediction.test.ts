import { expect } from "chai";
import type { Signer } from "ethers";
import { PredictionMarket__factory } from "../../types/ethers-contracts/index.js";
import { feltToSigned } from "../../zk/runtime/felt.js";
import {
  COLLATERAL,
  deploySystem,
  ethers,
  FAKE_PROOF,
  instancesFor,
  networkHelpers,
  PRICE,
  SAMPLE_INPUT,
  SAMPLE_OUTPUT,
  type System,
  TOKEN_UNIT,
} from "../fixtures/system.js";

const { time } = networkHelpers;
const Outcome = { Unresolved: 0n, Yes: 1n, No: 2n, Cancelled: 3n } as const;
const OUTPUT = feltToSigned(SAMPLE_OUTPUT[0]!); // 16: output 0 of every unit-test fulfilment
const QUESTION = "Will output 0 be >= the threshold?";
const BETTING = 3600n;
const INPUT_WINDOW = 1800n;
const LOCK_TIMEOUT = 600n;
const TIMEOUT = 3600n;

/** Market parameters: model 1, output 0, the stranger as input provider, the job's terms fixed here. */
async function params(threshold = OUTPUT, provider?: string, overrides: Partial<Record<string, unknown>> = {}) {
  return {
    modelId: 1n,
    outputIndex: 0,
    threshold,
    bettingEnds: BigInt(await time.latest()) + BETTING,
    provider: provider ?? (await ethers.getSigners())[5]!.address, // the stranger
    inputWindow: INPUT_WINDOW,
    jobPrice: PRICE,
    jobCollateral: COLLATERAL,
    lockTimeout: LOCK_TIMEOUT,
    timeout: TIMEOUT,
    ...overrides,
  };
}

/** Opens market 1, created by the requester, with the stranger as its input provider. */
async function openMarket(threshold = OUTPUT) {
  const s = await networkHelpers.loadFixture(deploySystem);
  const pm = s.predictionMarket;
  const p = await params(threshold, s.stranger.address);
  await pm.connect(s.requester).createMarket(p, QUESTION, { value: PRICE });
  return { s, pm, marketId: 1n, bettingEnds: p.bettingEnds };
}

/** After betting closes the provider publishes the sample; the market posts its job. Returns the job id. */
async function publish(s: System, bettingEnds: bigint): Promise<bigint> {
  await time.increaseTo(bettingEnds);
  await s.predictionMarket.connect(s.stranger).postInput(1n, SAMPLE_INPUT);
  return (await s.predictionMarket.marketOf(1n)).jobId;
}

async function lock(s: System, jobId: bigint, operator: Signer = s.operator) {
  await s.market.connect(operator).lock(jobId, await s.market.termsOf(jobId));
}

async function bets(s: System, list: [Signer, boolean, bigint][]) {
  for (const [who, yes, amount] of list) await s.predictionMarket.connect(who).bet(1n, yes, amount);
}

describe("PredictionMarket", () => {
  describe("resolution by a verified inference", () => {
    it("resolves from its own job's callback and claim pays winners pro rata; a loser's claim reverts NothingToClaim", async () => {
      const threshold = OUTPUT - 6n; // 16 >= 10: YES wins
      const s = await networkHelpers.loadFixture(deploySystem);
      const pm = s.predictionMarket;
      const p = await params(threshold, s.stranger.address);
      const create = pm.connect(s.requester).createMarket(p, QUESTION, { value: PRICE });
      await expect(create).to.emit(pm, "MarketCreated").withArgs(1n, s.requester.address, 1n, 0n, threshold, p.bettingEnds, QUESTION);
      await expect(create)
        .to.emit(pm, "MarketTermsSet")
        .withArgs(1n, s.stranger.address, p.bettingEnds + INPUT_WINDOW, PRICE, COLLATERAL, LOCK_TIMEOUT, TIMEOUT);

      const [yes1, yes2, no] = [30n * TOKEN_UNIT, 10n * TOKEN_UNIT, 60n * TOKEN_UNIT];
      const tx = pm.connect(s.relayer).bet(1n, true, yes1);
      await expect(tx).to.emit(pm, "BetPlaced").withArgs(1n, s.relayer.address, true, yes1);
      await expect(tx).to.changeTokenBalances(ethers, s.token, [s.relayer, pm], [-yes1, yes1]);
      await pm.connect(s.requester).bet(1n, true, yes2);
      await pm.connect(s.operator2).bet(1n, false, no);

      await time.increaseTo(p.bettingEnds);
      const post = pm.connect(s.stranger).postInput(1n, SAMPLE_INPUT);
      await expect(post).to.emit(pm, "InputPosted").withArgs(1n, s.stranger.address, SAMPLE_INPUT);
      await expect(post).to.emit(s.market, "JobCreated");
      const jobId = (await pm.marketOf(1n)).jobId;
      await expect(post).to.emit(pm, "JobPosted").withArgs(1n, jobId, 0n);
      const job = await s.market.jobOf(jobId);
      expect([job.requester, job.callback, job.price, job.collateral]).to.deep.equal([await pm.getAddress(), await pm.getAddress(), PRICE, COLLATERAL]);
      expect(await pm.marketOfJob(jobId)).to.equal(1n);
      await lock(s, jobId);
      const fulfil = s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor());
      await expect(fulfil).to.emit(pm, "MarketResolved").withArgs(1n, Outcome.Yes, OUTPUT);
      await expect(fulfil).to.emit(s.market, "CallbackCalled").withArgs(jobId, await pm.getAddress(), true);

      const total = yes1 + yes2 + no;
      for (const [who, stake] of [[s.relayer, yes1], [s.requester, yes2]] as const) {
        const won = (stake * total) / (yes1 + yes2);
        await expect(pm.connect(who).claim(1n)).to.emit(pm, "Claimed").withArgs(1n, who.address, won);
      }
      expect(await s.token.balanceOf(pm)).to.equal(0n);
      await expect(pm.connect(s.operator2).claim(1n)).to.be.revertedWithCustomError(pm, "NothingToClaim").withArgs(1n, s.operator2.address);
    });

    it("resolve settles from resultOf for anyone (NO below the threshold); before fulfilment it reverts, and NoJob before the input", async () => {
      const { s, pm, bettingEnds } = await openMarket(OUTPUT + 1n);
      await expect(pm.resolve(1n)).to.be.revertedWithCustomError(pm, "NoJob").withArgs(1n);
      const jobId = await publish(s, bettingEnds);
      await expect(pm.resolve(1n)).to.be.revertedWithCustomError(s.market, "JobNotInStatus");
      await lock(s, jobId);
      await s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor(), { gasLimit: 1_000_000 });
      // The callback already settled it; a second resolve finds it resolved.
      expect((await pm.marketOf(1n)).outcome).to.equal(Outcome.No);
      await expect(pm.resolve(1n)).to.be.revertedWithCustomError(pm, "AlreadyResolved");
    });

    it("onInferenceResult reverts NotInferenceMarket when called by anyone but the market", async () => {
      const { s, pm } = await openMarket();
      await expect(pm.connect(s.stranger).onInferenceResult(1n, [OUTPUT]))
        .to.be.revertedWithCustomError(pm, "NotInferenceMarket")
        .withArgs(s.stranger.address);
    });

    it("createMarket reverts OutputIndexOutOfRange, ModelNotActive, WrongEthValue and InvalidMarketParams", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const pm = s.predictionMarket;
      await expect(pm.connect(s.requester).createMarket(await params(0n, undefined, { outputIndex: 5 }), QUESTION, { value: PRICE }))
        .to.be.revertedWithCustomError(pm, "OutputIndexOutOfRange")
        .withArgs(5n, 2n);
      await expect(pm.connect(s.requester).createMarket(await params(), QUESTION, { value: 1n }))
        .to.be.revertedWithCustomError(pm, "WrongEthValue")
        .withArgs(PRICE, 1n);
      for (const bad of [{ provider: ethers.ZeroAddress }, { inputWindow: 0n }, { jobCollateral: 0n }, { timeout: LOCK_TIMEOUT }]) {
        await expect(pm.connect(s.requester).createMarket(await params(0n, undefined, bad), QUESTION, { value: PRICE })).to.be.revertedWithCustomError(pm, "InvalidMarketParams");
      }
      await s.registry.deprecate(1n);
      await expect(pm.connect(s.requester).createMarket(await params(), QUESTION, { value: PRICE }))
        .to.be.revertedWithCustomError(pm, "ModelNotActive")
        .withArgs(1n);
    });
  });

  describe("betting", () => {
    it("bet reverts BettingClosed once betting has ended", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      await time.increaseTo(bettingEnds);
      await expect(pm.connect(s.stranger).bet(1n, true, 1n)).to.be.revertedWithCustomError(pm, "BettingClosed").withArgs(1n, bettingEnds);
    });

    it("bet reverts FeeOnTransferToken when the stake token takes a fee", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const fee = await ethers.deployContract("FeeOnTransferToken");
      const pm = await new PredictionMarket__factory(s.admin).deploy(s.admin, s.market, fee);
      await fee.mint(s.stranger, 1000n);
      await fee.connect(s.stranger).approve(pm, 1000n);
      await pm.connect(s.stranger).createMarket(await params(), QUESTION, { value: PRICE });
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
  });

  // Review H-1, T-7: the input that settles a market is committed at creation to a source no bettor controls, and
  // does not exist while betting is open.
  describe("nobody can steer the input (H-1, L-4)", () => {
    it("postInput reverts NotProvider for the creator or anyone but the committed provider, and BettingOpen before betting closes (H-1)", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      await expect(pm.connect(s.stranger).postInput(1n, SAMPLE_INPUT)).to.be.revertedWithCustomError(pm, "BettingOpen").withArgs(1n, bettingEnds);
      await time.increaseTo(bettingEnds);
      for (const who of [s.requester, s.admin, s.operator]) {
        await expect(pm.connect(who).postInput(1n, SAMPLE_INPUT))
          .to.be.revertedWithCustomError(pm, "NotProvider")
          .withArgs(who.address, s.stranger.address);
      }
      await expect(pm.connect(s.stranger).postInput(1n, SAMPLE_INPUT)).to.emit(pm, "InputPosted");
      await expect(pm.connect(s.stranger).postInput(1n, SAMPLE_INPUT)).to.be.revertedWithCustomError(pm, "InputAlreadyPosted").withArgs(1n);
      expect(await pm.inputOf(1n)).to.deep.equal(SAMPLE_INPUT);
    });

    it("a market settles only on the job it posted itself: another job of the same model, fulfilled first, changes nothing (L-4)", async () => {
      const { s, pm, bettingEnds } = await openMarket(OUTPUT + 1n);
      await time.increaseTo(bettingEnds);
      // A squatter's job with the market as callback: there is no attachJob any more, and the callback ignores it.
      const req = { modelId: 1n, input: SAMPLE_INPUT, token: ethers.ZeroAddress, price: PRICE, collateral: COLLATERAL, lockTimeout: LOCK_TIMEOUT, timeout: TIMEOUT, callback: await pm.getAddress(), callbackGasLimit: 200_000 };
      await s.market.connect(s.requester).createJob(req, { value: PRICE });
      await lock(s, 1n);
      await s.market.connect(s.operator).fulfil(1n, FAKE_PROOF, instancesFor());
      expect((await pm.marketOf(1n)).outcome).to.equal(Outcome.Unresolved);
      expect(pm.interface.fragments.some((f) => "name" in f && f.name === "attachJob")).to.equal(false);
      await s.predictionMarket.connect(s.stranger).postInput(1n, SAMPLE_INPUT);
      expect((await pm.marketOf(1n)).jobId).to.equal(2n);
    });

    it("cancel after the provider missed its window refunds every bet and the creator's job price; InputWindowOpen before", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      await bets(s, [[s.relayer, true, 20n], [s.operator2, false, 5n]]);
      const deadline = bettingEnds + INPUT_WINDOW;
      await expect(pm.cancel(1n)).to.be.revertedWithCustomError(pm, "InputWindowOpen").withArgs(1n, deadline);
      await time.increaseTo(deadline + 1n);
      await expect(pm.connect(s.stranger).postInput(1n, SAMPLE_INPUT)).to.be.revertedWithCustomError(pm, "InputWindowClosed").withArgs(1n, deadline);
      await expect(pm.connect(s.operator).cancel(1n)).to.emit(pm, "MarketCancelled").withArgs(1n);
      await expect(pm.connect(s.relayer).claim(1n)).to.emit(pm, "Claimed").withArgs(1n, s.relayer.address, 20n);
      await expect(pm.connect(s.requester).claimJobFunds()).to.changeEtherBalances(ethers, [s.requester, pm], [PRICE, -PRICE]);
    });
  });

  // Review M-3: a locker that withholds the proof no longer cancels the market; the job is re-posted on the same input.
  describe("a withheld proof cannot cancel the market (M-3)", () => {
    it("after the job is slashed, cancel reverts ResultPending and repost posts a new job on the same input, which settles the market", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      await bets(s, [[s.relayer, true, 20n], [s.operator2, false, 50n]]);
      const first = await publish(s, bettingEnds);
      await lock(s, first, s.operator2); // the NO bettor locks the job and withholds the proof
      await expect(pm.repost(1n)).to.be.revertedWithCustomError(pm, "ResultPending").withArgs(1n);
      await time.increaseTo((await s.market.expiryOf(first)) + 1n);
      await s.market.slash(first);
      await expect(pm.cancel(1n)).to.be.revertedWithCustomError(pm, "ResultPending").withArgs(1n);
      const tx = pm.connect(s.stranger).repost(1n);
      await expect(tx).to.emit(pm, "JobPosted").withArgs(1n, first + 1n, 1n);
      const second = (await pm.marketOf(1n)).jobId;
      const job = await s.market.jobOf(second);
      expect(job.inputHash).to.equal((await s.market.jobOf(first)).inputHash);
      expect([job.price, job.collateral]).to.deep.equal([PRICE, COLLATERAL]);
      await lock(s, second);
      await expect(s.market.connect(s.operator).fulfil(second, FAKE_PROOF, instancesFor())).to.emit(pm, "MarketResolved").withArgs(1n, Outcome.Yes, OUTPUT);
      await expect(pm.connect(s.operator2).claim(1n)).to.be.revertedWithCustomError(pm, "NothingToClaim");
    });

    it("a job abandoned by its locker is delivered by another operator (secondary fulfilment) and settles the market", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      const jobId = await publish(s, bettingEnds);
      await lock(s, jobId, s.operator2);
      const commitment = await s.market.fulfilmentCommitment(jobId, s.operator.address, FAKE_PROOF, instancesFor());
      await s.market.connect(s.operator).commitFulfilment(jobId, commitment);
      await time.increaseTo((await s.market.jobOf(jobId)).deadline + 1n);
      await expect(s.market.connect(s.operator).fulfilSecondary(jobId, FAKE_PROOF, instancesFor())).to.emit(pm, "MarketResolved").withArgs(1n, Outcome.Yes, OUTPUT);
    });

    it("cancel is possible only after MAX_REPOSTS failed jobs (or a model no longer Active), and repost then reverts RepostsExhausted", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      let jobId = await publish(s, bettingEnds);
      const max = await pm.MAX_REPOSTS();
      for (let i = 0n; i <= max; i++) {
        await time.increaseTo((await s.market.jobOf(jobId)).lockDeadline + 1n);
        await s.market.refund(jobId); // nobody locked it
        if (i < max) {
          await pm.repost(1n);
          jobId = (await pm.marketOf(1n)).jobId;
        }
      }
      await expect(pm.repost(1n)).to.be.revertedWithCustomError(pm, "RepostsExhausted").withArgs(1n, max);
      await expect(pm.cancel(1n)).to.emit(pm, "MarketCancelled").withArgs(1n);
      expect(await pm.jobFunds(s.requester)).to.equal(PRICE);
      await expect(pm.connect(s.requester).claimJobFunds()).to.changeEtherBalances(ethers, [s.requester], [PRICE]);
    });
  });

  // Review L-5: the admin can only cancel, and only while nobody can know the outcome.
  describe("the admin can only cancel (L-5)", () => {
    it("adminCancel cancels before the input is posted, reverts InputAlreadyPosted after, and is admin-only; no admin path picks Yes or No", async () => {
      const { s, pm, bettingEnds } = await openMarket();
      expect(pm.interface.fragments.some((f) => "name" in f && f.name === "adminResolve")).to.equal(false);
      await expect(pm.connect(s.stranger).adminCancel(1n)).to.be.revertedWithCustomError(pm, "AccessControlUnauthorizedAccount");
      await publish(s, bettingEnds);
      await expect(pm.connect(s.admin).adminCancel(1n)).to.be.revertedWithCustomError(pm, "InputAlreadyPosted").withArgs(1n);
      const other = await params();
      await pm.connect(s.requester).createMarket(other, QUESTION, { value: PRICE });
      await expect(pm.connect(s.admin).adminCancel(2n)).to.emit(pm, "MarketCancelled").withArgs(2n);
      expect((await pm.marketOf(2n)).outcome).to.equal(Outcome.Cancelled);
    });
  });
});
