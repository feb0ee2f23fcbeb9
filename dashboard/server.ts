// The dashboard's HTTP server: the static page from dashboard/public and GET /api/state, the chain's state read
// afresh on each call. Read-only: it needs no key and binds to loopback only.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL, fileURLToPath } from "node:url";
import { Command } from "commander";
import express from "express";
import { JsonRpcProvider } from "ethers";
import { DEFAULT_RPC_URL, deployment } from "../shared/chain.js";
import { dashboardState, type DashboardState } from "./state.js";

const PUBLIC_DIR = fileURLToPath(new URL("./public/", import.meta.url));

export interface DashboardOptions {
  rpcUrl: string;
  /** Folder with chain-<id>/deployed_addresses.json; shared/chain.ts's default when omitted. */
  deploymentsDir?: string;
  /** 0 for any free port. */
  port: number;
}

export interface Dashboard {
  url: string;
  close(): Promise<void>;
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  // A bare provider rather than shared/chain.ts's connect(): that one also opens a signer, which a read-only
  // dashboard does not need and which fails on nodes without unlocked accounts.
  const provider = new JsonRpcProvider(opts.rpcUrl, undefined, { staticNetwork: true, pollingInterval: 1000 });
  const addresses = await provider
    .getNetwork()
    .then((n) => deployment(n.chainId, opts.deploymentsDir))
    .catch((e: unknown) => {
      provider.destroy();
      throw e;
    });

  // Every open tab polls; concurrent requests share one chain read instead of each scanning the logs.
  let inFlight: Promise<DashboardState> | undefined;
  const current = () => (inFlight ??= dashboardState(provider, addresses).finally(() => (inFlight = undefined)));

  const app = express();
  app.get("/", (_req, res) => res.sendFile("index.html", { root: PUBLIC_DIR }));
  app.get("/api/state", async (_req, res) => {
    try {
      res.type("application/json").send(JSON.stringify(await current(), (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
    } catch (e) {
      res.status(502).json({ error: (e as Error).message.split("\n")[0] });
    }
  });
  app.use(express.static(PUBLIC_DIR));

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(opts.port, "127.0.0.1", (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      // Browsers keep polling connections alive; without this, close() would wait for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      provider.destroy();
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const opts = new Command("dashboard")
    .description("Verdict dashboard: jobs, operators, models, prediction markets and decentralisation, read from the chain")
    .option("--rpc <url>", "JSON-RPC endpoint", process.env.VERDICT_RPC_URL ?? DEFAULT_RPC_URL)
    .option("--port <n>", "port on 127.0.0.1", (v) => Number.parseInt(v, 10), 8080)
    .option("--deployments <dir>", "folder with chain-<id>/deployed_addresses.json (default: VERDICT_DEPLOYMENTS_DIR or deploy/deployments)")
    .parse()
    .opts<{ rpc: string; port: number; deployments?: string }>();
  try {
    const dashboard = await startDashboard({ rpcUrl: opts.rpc, port: opts.port, deploymentsDir: opts.deployments });
    console.log(`Verdict dashboard on ${dashboard.url} (chain ${opts.rpc})`);
    const stop = () => void dashboard.close().then(() => process.exit(0));
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  } catch (e) {
    // An unreachable RPC or a missing deployment is an operator mistake: one line, not a stack trace.
    console.error(`dashboard: ${(e as Error).message.split("\n")[0]}`);
    process.exitCode = 1;
  }
}
