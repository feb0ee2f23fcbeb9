// Hardhat Ignition modules for the whole on-chain system. `VerdictCore` takes an existing stake/payment token;
// `VerdictLocal` deploys a DemoToken first (local chains, tests, the demo). Deploy with
//   npx hardhat ignition deploy deploy/modules/Verdict.ts --network rpc [--parameters <file.json>]
// (hardhat.config.ts sets Ignition's folder to deploy/, so deployments land in deploy/deployments/).
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { ContractFuture } from "@nomicfoundation/ignition-core";

type ModuleBuilder = Parameters<Parameters<typeof buildModule>[1]>[0];

const DAY = 24n * 3600n;

/** Registry, staking, market and prediction market around `token`, wired together. */
function buildSystem(m: ModuleBuilder, token: ContractFuture<string>) {
  const admin = m.getAccount(0);
  // Units: token base units and seconds. The unbonding delay must exceed the longest job (both enforced on-chain).
  const minStake = m.getParameter("minStake", 10n ** 18n);
  const unbondingDelay = m.getParameter("unbondingDelay", 8n * DAY);
  const maxJobDuration = m.getParameter("maxJobDuration", 7n * DAY);

  const registry = m.contract("ModelRegistry", [admin]);
  const staking = m.contract("OperatorStaking", [admin, token, minStake, unbondingDelay]);
  const market = m.contract("InferenceMarket", [admin, registry, staking, maxJobDuration]);
  m.call(staking, "setMarket", [market]);
  m.call(market, "setTokenAllowed", [token, true]);
  const predictionMarket = m.contract("PredictionMarket", [admin, market, token]);
  return { registry, staking, market, predictionMarket };
}

export const VerdictCore = buildModule("VerdictCore", (m) => {
  const token = m.contractAt("IERC20", m.getParameter<string>("token"));
  return { token, ...buildSystem(m, token) };
});

export const VerdictLocal = buildModule("VerdictLocal", (m) => {
  const token = m.contract("DemoToken", [m.getAccount(0)]);
  return { token, ...buildSystem(m, token) };
});

export default VerdictLocal;
