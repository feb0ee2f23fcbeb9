// "Events on every state change": the lifecycle events are asserted where each transition is tested; this file
// covers the governance setters, so every state-changing function of the system has an asserted event.
import { expect } from "chai";
import { deploySystem, ethers, MAX_JOB_DURATION, networkHelpers } from "../fixtures/system.js";

describe("events on every state change (governance)", () => {
  it("market setters emit TokenAllowed, MaxJobDurationSet, Paused and Unpaused", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const token = ethers.Wallet.createRandom().address;
    await expect(s.market.setTokenAllowed(token, true)).to.emit(s.market, "TokenAllowed").withArgs(token, true);
    await expect(s.market.setMaxJobDuration(MAX_JOB_DURATION - 1n)).to.emit(s.market, "MaxJobDurationSet").withArgs(MAX_JOB_DURATION - 1n);
    await expect(s.market.pause()).to.emit(s.market, "Paused").withArgs(s.admin.address);
    await expect(s.market.unpause()).to.emit(s.market, "Unpaused").withArgs(s.admin.address);
  });

  it("staking setters emit MinStakeSet, UnbondingDelaySet and Jailed", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const delay = (await s.staking.unbondingDelay()) + 1n;
    await expect(s.staking.setMinStake(5n)).to.emit(s.staking, "MinStakeSet").withArgs(5n);
    await expect(s.staking.setUnbondingDelay(delay)).to.emit(s.staking, "UnbondingDelaySet").withArgs(delay);
    await expect(s.staking.setJailed(s.operator, true)).to.emit(s.staking, "Jailed").withArgs(s.operator.address, true);
  });

  it("registry deprecate emits ModelDeprecated (ModelRegistered is asserted in the registry tests)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await expect(s.registry.deprecate(1n)).to.emit(s.registry, "ModelDeprecated").withArgs(1n);
  });
});
