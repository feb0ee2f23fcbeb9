import { expect } from "chai";
import { BN254_R } from "../../zk/runtime/felt.js";
import { deploySystem, ETH, ethers, jobRequest, MAX_JOB_DURATION, networkHelpers, PRICE, SAMPLE_INPUT, TOKEN_UNIT } from "../fixtures/system.js";

describe("InferenceMarket.createJob", () => {
  it("escrows the ETH price at creation (no free work) and emits JobCreated with the input", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const req = jobRequest();
    const tx = s.market.connect(s.requester).createJob(req, { value: PRICE });
    await expect(tx).to.emit(s.market, "JobCreated");
    await expect(tx).to.changeEtherBalances(ethers, [s.requester, s.market], [-PRICE, PRICE]);
    expect(await s.market.escrowed(ETH)).to.equal(PRICE);
    const job = await s.market.jobOf(1n);
    expect(job.status).to.equal(1n); // Open
    expect(job.inputHash).to.equal(ethers.solidityPackedKeccak256(["uint256[]"], [SAMPLE_INPUT]));
  });

  it("escrows an allow-listed ERC20 price with transferFrom", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const price = 5n * TOKEN_UNIT;
    const token = await s.token.getAddress();
    await expect(s.market.connect(s.requester).createJob(jobRequest({ token, price }))).to.changeTokenBalances(ethers, s.token, [s.requester, s.market], [-price, price]);
    expect(await s.market.escrowed(token)).to.equal(price);
  });

  it("reverts WrongEthValue when msg.value differs from the price", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await expect(s.market.connect(s.requester).createJob(jobRequest(), { value: PRICE - 1n }))
      .to.be.revertedWithCustomError(s.market, "WrongEthValue")
      .withArgs(PRICE, PRICE - 1n);
  });

  it("reverts TokenNotAllowed for an ERC20 not on the allow-list", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const other = await ethers.deployContract("DemoToken", [s.admin]);
    await expect(s.market.connect(s.requester).createJob(jobRequest({ token: await other.getAddress() })))
      .to.be.revertedWithCustomError(s.market, "TokenNotAllowed")
      .withArgs(await other.getAddress());
  });

  it("reverts FeeOnTransferToken for a fee-on-transfer token even when allow-listed", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const fee = await ethers.deployContract("FeeOnTransferToken");
    await fee.mint(s.requester, 1000n);
    await fee.connect(s.requester).approve(s.market, 1000n);
    await s.market.setTokenAllowed(fee, true);
    await expect(s.market.connect(s.requester).createJob(jobRequest({ token: await fee.getAddress(), price: 100n })))
      .to.be.revertedWithCustomError(s.market, "FeeOnTransferToken")
      .withArgs(100n, 99n);
  });

  it("reverts UnknownModel / ModelNotActive for an unregistered or deprecated model", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await expect(s.market.connect(s.requester).createJob(jobRequest({ modelId: 9n }), { value: PRICE }))
      .to.be.revertedWithCustomError(s.registry, "UnknownModel")
      .withArgs(9n);
    await s.registry.deprecate(1n);
    await expect(s.market.connect(s.requester).createJob(jobRequest(), { value: PRICE }))
      .to.be.revertedWithCustomError(s.market, "ModelNotActive")
      .withArgs(1n);
  });

  it("reverts InputLengthMismatch when the input does not fit the model's layout", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await expect(s.market.connect(s.requester).createJob(jobRequest({ input: SAMPLE_INPUT.slice(0, 2) }), { value: PRICE }))
      .to.be.revertedWithCustomError(s.market, "InputLengthMismatch")
      .withArgs(3n, 2n);
  });

  it("reverts InstanceOutOfField for an input felt >= the BN254 modulus", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const input = [SAMPLE_INPUT[0]!, BN254_R, SAMPLE_INPUT[2]!];
    await expect(s.market.connect(s.requester).createJob(jobRequest({ input }), { value: PRICE }))
      .to.be.revertedWithCustomError(s.market, "InstanceOutOfField")
      .withArgs(1n, BN254_R);
  });

  it("reverts InvalidTimeouts for a zero lock timeout, a lock longer than the job, or a job over the maximum", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    for (const [lockTimeout, timeout] of [[0n, 100n], [200n, 100n], [100n, MAX_JOB_DURATION + 1n]] as const) {
      await expect(s.market.connect(s.requester).createJob(jobRequest({ lockTimeout, timeout }), { value: PRICE }))
        .to.be.revertedWithCustomError(s.market, "InvalidTimeouts")
        .withArgs(lockTimeout, timeout, MAX_JOB_DURATION);
    }
  });

  it("reverts ZeroPrice, ZeroCollateral and CallbackGasTooHigh", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await expect(s.market.connect(s.requester).createJob(jobRequest({ price: 0n }))).to.be.revertedWithCustomError(s.market, "ZeroPrice");
    await expect(s.market.connect(s.requester).createJob(jobRequest({ collateral: 0n }), { value: PRICE })).to.be.revertedWithCustomError(s.market, "ZeroCollateral");
    await expect(s.market.connect(s.requester).createJob(jobRequest({ callbackGasLimit: 3_000_001 }), { value: PRICE }))
      .to.be.revertedWithCustomError(s.market, "CallbackGasTooHigh")
      .withArgs(3_000_001n, 3_000_000n);
  });
});
