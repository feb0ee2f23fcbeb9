// The Solidity decoding (contracts/libraries/Felt.sol) and the TypeScript one (zk/runtime/felt.ts) agree on every felt,
// negative values included: what the market stores is what the prover reported.
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { BN254_R, feltToSigned, floatToFelt } from "../../zk/runtime/felt.js";

const { ethers } = await network.getOrCreate();

describe("felt decoding: Solidity Felt.toSigned equals TypeScript feltToSigned", () => {
  it("agrees on random felts, on negative fixed-point values and at the r/2 boundary", async () => {
    const harness = await ethers.deployContract("FeltHarness");
    const edges = [0n, 1n, BN254_R / 2n, BN254_R / 2n + 1n, BN254_R - 1n, floatToFelt(-0.0185546875, 10), floatToFelt(-2.4961, 10)];
    for (const f of edges) expect(await harness.toSigned(f)).to.equal(feltToSigned(f));
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 0n, max: BN254_R - 1n }), async (f) => {
        expect(await harness.toSigned(f)).to.equal(feltToSigned(f));
      }),
      { numRuns: 50, seed: 7 },
    );
  });

  it("Felt.toSigned reverts FeltOutOfField at or above the modulus", async () => {
    const harness = await ethers.deployContract("FeltHarness");
    await expect(harness.toSigned(BN254_R)).to.be.revertedWithCustomError(harness, "FeltOutOfField").withArgs(BN254_R);
  });
});
