import { expect } from "chai";
import { BN254_R, feltFromLeHex, feltToFloat, feltToLeHex, feltToSigned, floatToFelt } from "../../zk/runtime/felt.js";

describe("felt encoding", () => {
  it("feltFromLeHex reads ezkl's little-endian hex as a big-endian uint256", () => {
    expect(feltFromLeHex(`0002${"00".repeat(30)}`)).to.equal(0x200n);
  });

  it("feltToLeHex writes a felt as ezkl does, the inverse of feltFromLeHex", () => {
    expect(feltToLeHex(0x200n)).to.equal(`0002${"00".repeat(30)}`);
    for (const f of [0n, 1n, BN254_R - 1n, floatToFelt(-0.5, 10)]) expect(feltFromLeHex(feltToLeHex(f))).to.equal(f);
  });

  it("feltFromLeHex rejects a value at or above the BN254 modulus", () => {
    const rLe = feltToLeHex(BN254_R);
    expect(() => feltFromLeHex(rLe)).to.throw(/not below the BN254 modulus/);
  });

  it("round-trips negative and positive fixed-point values", () => {
    for (const [v, scale] of [[-1, 10], [-0.0185546875, 10], [0.25, 7], [123.5, 4], [0, 13]] as const) {
      const felt = floatToFelt(v, scale);
      expect(felt).to.be.lessThan(BN254_R);
      expect(feltToFloat(felt, scale)).to.equal(v);
    }
  });

  it("stores -1 at scale 10 as r - 1024", () => {
    expect(floatToFelt(-1, 10)).to.equal(BN254_R - 1024n);
    expect(feltToSigned(BN254_R - 1024n)).to.equal(-1024n);
  });

  it("floatToFelt refuses NaN and Infinity", () => {
    expect(() => floatToFelt(Number.NaN, 10)).to.throw(RangeError);
    expect(() => floatToFelt(Number.POSITIVE_INFINITY, 10)).to.throw(RangeError);
  });
});
