import { expect } from "chai";
import hre from "hardhat";

// EIP-170: runtime bytecode over 24,576 bytes cannot be deployed on Ethereum mainnet.
const EIP170_LIMIT = 24_576;
const DEPLOYABLE = ["InferenceMarket", "OperatorStaking", "ModelRegistry", "PredictionMarket", "DemoToken", "SpikeVerifier", "VkaVerifier"];

describe("contract sizes", () => {
  for (const name of DEPLOYABLE) {
    it(`${name} runtime bytecode is under the EIP-170 limit`, async () => {
      const artifact = await hre.artifacts.readArtifact(name);
      const bytes = (artifact.deployedBytecode.length - 2) / 2;
      expect(bytes).to.be.greaterThan(0);
      expect(bytes, `${name} is ${bytes} bytes`).to.be.lessThan(EIP170_LIMIT);
    });
  }
});
