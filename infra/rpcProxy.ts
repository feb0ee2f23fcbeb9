// A TCP proxy in front of a JSON-RPC node, for fault injection: the services talk to the proxy, and a test cuts
// the endpoint (every open connection reset, new ones refused: the port has no listener) and later restores it on
// the same port, without touching the node or the services.
import getPort from "get-port";
import net from "node:net";

export interface RpcProxy {
  /** http://127.0.0.1:<port> of the proxy (give this to the services). */
  url: string;
  port: number;
  /** Whether connections are being refused. */
  readonly down: boolean;
  /** Connections accepted so far (a restored endpoint that nobody uses shows here). */
  readonly accepted: number;
  /** Resets every open connection and stops listening: clients get ECONNRESET, then ECONNREFUSED. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startRpcProxy(targetUrl: string): Promise<RpcProxy> {
  const target = new URL(targetUrl);
  const port = await getPort({ host: "127.0.0.1" });
  const open = new Set<net.Socket>();
  let down = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect({ host: target.hostname, port: Number(target.port) });
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      // close() stops accepting at once; its callback waits for the open connections, reset just below.
      server.close(() => resolve());
      for (const s of open) s.resetAndDestroy();
      open.clear();
    });
  await listen();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get down() {
      return down;
    },
    get accepted() {
      return accepted;
    },
    async cut() {
      down = true;
      await stopListening();
    },
    async restore() {
      if (!down) return;
      await listen();
      down = false;
    },
    async close() {
      down = true;
      await stopListening();
    },
  };
}
