// Graceful shutdown: on SIGINT/SIGTERM stop intake, let in-flight work finish (or hand it back to the queue),
// close connections, then exit. A second signal exits at once.
import type { Logger } from "pino";

export function onShutdown(log: Logger, close: () => Promise<void>): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    closing = true;
    log.info({ signal }, "shutting down: draining in-flight work");
    close()
      .then(() => {
        log.info("stopped cleanly");
        process.exit(0);
      })
      .catch((e: unknown) => {
        log.error({ err: e }, "error during shutdown");
        process.exit(1);
      });
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}
