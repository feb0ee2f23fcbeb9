// A local EDR chain served by `hardhat node` over JSON-RPC on a free loopback port.
import getPort from "get-port";
import path from "node:path";
import { JsonRpcProvider } from "ethers";
import { REPO_ROOT } from "../shared/paths.js";
import { startService, type LocalService } from "./service.js";

export interface LocalChainOptions {
  /** Overrides the default hardfork (Osaka), e.g. "prague" for transactions over Osaka's per-transaction gas cap. */
  hardfork?: string;
  /** Automine off and a block every `blockTimeMs` (a real chain's cadence); default: automine plus a block a second. */
  blockTimeMs?: number;
}

export async function startLocalChain(opts: LocalChainOptions = {}): Promise<LocalService> {
  const port = await getPort({ host: "127.0.0.1" });
  const url = `http://127.0.0.1:${port}`;
  // hardhat.config.ts reads these for the `node` network.
  const env = {
    ...process.env,
    ...(opts.hardfork ? { VERDICT_NODE_HARDFORK: opts.hardfork } : {}),
    ...(opts.blockTimeMs ? { VERDICT_NODE_BLOCK_TIME_MS: String(opts.blockTimeMs) } : {}),
  };
  return startService({
    name: "chain",
    // The binary itself, not npx: killing npx would leave the node running.
    command: path.join(REPO_ROOT, "node_modules", ".bin", "hardhat"),
    args: ["node", "--hostname", "127.0.0.1", "--port", String(port)],
    port,
    url,
    env,
    ready: async () => {
      const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true });
      try {
        await provider.send("eth_chainId", []);
      } finally {
        provider.destroy();
      }
    },
  });
}
