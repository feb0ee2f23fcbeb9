// Connecting to a chain: JSON-RPC provider, signer (a key from the environment, or the node's first unlocked
// account on a local development chain) and the addresses Ignition deployed there.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { JsonRpcProvider, Network, Wallet, type Signer } from "ethers";
import { z } from "zod";
import { VerdictError } from "./errors.js";
import { REPO_ROOT } from "./paths.js";
import { RetryingJsonRpcProvider } from "./rpcProvider.js";

export const DEFAULT_RPC_URL = "http://127.0.0.1:8545";

export interface Chain {
  provider: JsonRpcProvider;
  signer: Signer;
  chainId: bigint;
}

/** A read-only connection to `rpcUrl` (the chain id asked once; see connect). */
export async function connectProvider(rpcUrl: string): Promise<{ provider: JsonRpcProvider; chainId: bigint }> {
  const probe = new RetryingJsonRpcProvider(rpcUrl);
  let chainId: bigint;
  try {
    chainId = (await probe.getNetwork()).chainId;
  } catch (e) {
    throw new VerdictError("RPC_UNREACHABLE", `cannot reach ${rpcUrl}: ${(e as Error).message.split("\n")[0]}`, "check --rpc / VERDICT_RPC_URL, or start a local chain", true);
  } finally {
    probe.destroy();
  }
  return { provider: new RetryingJsonRpcProvider(rpcUrl, Network.from(chainId), { staticNetwork: true, pollingInterval: 250 }), chainId };
}

/**
 * Connects to `rpcUrl`; signs with `privateKey` when given, else with the node's account 0 (local chains only).
 * The chain id is asked once: with a static network ethers stops sending an eth_chainId before most calls.
 */
export async function connect(rpcUrl: string, privateKey?: string): Promise<Chain> {
  const { provider, chainId } = await connectProvider(rpcUrl);
  const signer = privateKey ? new Wallet(privateKey, provider) : await provider.getSigner(0);
  return { provider, signer, chainId };
}

const addressesSchema = z.record(z.string(), z.string());
export interface Deployment {
  registry: string;
  staking: string;
  market: string;
  token: string;
  predictionMarket: string;
}

/** Addresses from <dir>/chain-<id>/deployed_addresses.json (either Ignition module); dir defaults to
 * VERDICT_DEPLOYMENTS_DIR, else deploy/deployments. */
export async function deployment(chainId: bigint, dir = process.env.VERDICT_DEPLOYMENTS_DIR ?? path.join(REPO_ROOT, "deploy", "deployments")): Promise<Deployment> {
  const file = path.join(dir, `chain-${chainId}`, "deployed_addresses.json");
  if (!existsSync(file)) {
    throw new VerdictError("NOT_DEPLOYED", `no Verdict deployment for chain ${chainId} (${path.relative(REPO_ROOT, file)})`, "npx hardhat ignition deploy deploy/modules/Verdict.ts --network rpc");
  }
  const raw = addressesSchema.parse(JSON.parse(await readFile(file, "utf8")));
  const pick = (name: string) => {
    const hit = Object.entries(raw).find(([k]) => k.endsWith(`#${name}`));
    if (!hit) throw new VerdictError("NOT_DEPLOYED", `${name} missing from ${file}`);
    return hit[1];
  };
  return {
    registry: pick("ModelRegistry"),
    staking: pick("OperatorStaking"),
    market: pick("InferenceMarket"),
    token: Object.entries(raw).find(([k]) => /#(DemoToken|IERC20)$/.test(k))?.[1] ?? "",
    predictionMarket: pick("PredictionMarket"),
  };
}
