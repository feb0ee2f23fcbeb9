// A throw-away redis-server on a free loopback port: in memory by default, append-only file when `dataDir` is given.
import getPort from "get-port";
import { Redis } from "ioredis";
import { startService, type LocalService } from "./service.js";

export async function startLocalRedis(opts: { dataDir?: string; port?: number } = {}): Promise<LocalService> {
  // A fixed port lets a test restart Redis where the services expect it.
  const port = opts.port ?? (await getPort({ host: "127.0.0.1" }));
  const persistence = opts.dataDir ? ["--appendonly", "yes", "--dir", opts.dataDir] : ["--appendonly", "no"];
  return startService({
    name: "redis",
    command: "redis-server",
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--daemonize", "no", ...persistence],
    port,
    url: `redis://127.0.0.1:${port}`,
    installHint: "sudo apt-get install -y redis-server",
    ready: async () => {
      const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on("error", () => undefined); // refusals while the server starts are expected; connect() rejects
      try {
        await client.connect();
        if ((await client.ping()) !== "PONG") throw new Error("redis did not answer PING");
      } finally {
        client.disconnect();
      }
    },
  });
}
