import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

// The compiler is the npm `solc` package pinned in package.json: Hardhat never downloads one. Hardhat does not
// check that `version` agrees with the file behind `path`, so keep the two in step.
const SOLC_VERSION = "0.8.30";

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    version: SOLC_VERSION,
    path: require.resolve("solc/soljson.js"),
    settings: {
      optimizer: { enabled: true, runs: 200 },
      // viaIR off: ezkl's generated assembly verifiers compile in ~1 s without it, and in minutes to 10x the
      // bytecode with it.
      viaIR: false,
    },
  },
  networks: {
    // In-process EDR chain used by `hardhat test` and scripts.
    default: { type: "edr-simulated", chainType: "l1" },
    // `hardhat node` serves this one over JSON-RPC (the demo and end-to-end tests start it on a free port).
    // By default automine plus a block every second: transactions still mine at once, and an idle chain keeps
    // producing blocks, as a real one does (watchers waiting for confirmations would otherwise stall).
    // VERDICT_NODE_BLOCK_TIME_MS makes it a real chain's cadence instead: no automine, a block every N ms.
    node: {
      type: "edr-simulated",
      chainType: "l1",
      mining: process.env.VERDICT_NODE_BLOCK_TIME_MS
        ? { auto: false, interval: Number(process.env.VERDICT_NODE_BLOCK_TIME_MS) }
        : { auto: true, interval: 1000 },
      // The bench measures fulfilBatch of 32 on an earlier hardfork: it exceeds Osaka's 2^24 per-transaction gas cap.
      ...(process.env.VERDICT_NODE_HARDFORK ? { hardfork: process.env.VERDICT_NODE_HARDFORK, blockGasLimit: 100_000_000 } : {}),
    },
    // Any running JSON-RPC chain (a `hardhat node`, a testnet): deploy with --network rpc.
    rpc: { type: "http", chainType: "l1", url: process.env.VERDICT_RPC_URL ?? "http://127.0.0.1:8545" },
  },
  // test/contracts holds test-only contracts (a mock verifier for market unit tests, hostile tokens and callbacks).
  paths: { sources: { solidity: ["contracts", "test/contracts"] }, ignition: "deploy" },
  // Local chains mine on demand, so waiting for more than one confirmation would stall deployments; set
  // VERDICT_CONFIRMATIONS higher for a public network.
  ignition: { requiredConfirmations: Number(process.env.VERDICT_CONFIRMATIONS ?? 1) },
  test: { mocha: { timeout: 600_000 } },
});
