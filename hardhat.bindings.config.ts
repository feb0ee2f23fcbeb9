// The one Hardhat build a production install runs (`npm ci --omit=dev` runs the `prepare` script): it compiles
// contracts/ only and writes the typed ethers bindings (types/ethers-contracts) the services and the CLI import.
// It needs only runtime dependencies (hardhat, solc, hardhat-ethers, hardhat-typechain); the development build
// (hardhat.config.ts) adds the ezkl verifiers, the test contracts and the test toolbox, and rewrites the same
// bindings with more contracts in them.
import { createRequire } from "node:module";
import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import hardhatTypechain from "@nomicfoundation/hardhat-typechain";
import { defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  plugins: [hardhatEthers, hardhatTypechain],
  solidity: {
    version: "0.8.30", // the npm `solc` package pinned in package.json, as in hardhat.config.ts
    path: require.resolve("solc/soljson.js"),
    settings: { optimizer: { enabled: true, runs: 200 }, viaIR: false },
  },
  // Its own artifacts and cache: a production build never disturbs (or reuses) the development one.
  paths: { sources: { solidity: ["contracts"] }, artifacts: ".cache/bindings/artifacts", cache: ".cache/bindings/cache" },
  typechain: { outDir: "types/ethers-contracts" },
});
