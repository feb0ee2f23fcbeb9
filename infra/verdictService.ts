// The operator, its prove worker or the relayer as a real child process (as in production), ready once it logs "<kind> ready".
import path from "node:path";
import { REPO_ROOT } from "../shared/paths.js";
import { startService, type LocalService } from "./service.js";

const ENTRY = { operator: "operator/main.ts", relayer: "relayer/main.ts", "prove-worker": "operator/proveWorker.ts" } as const;

export function startVerdictService(kind: keyof typeof ENTRY, env: Record<string, string>, logFile?: string): Promise<LocalService> {
  return startService({
    name: kind,
    // One process (node with tsx's loader), not the tsx wrapper: a signal then reaches the service itself, so a
    // SIGKILL in a fault test really kills it instead of orphaning the wrapper's child.
    command: process.execPath,
    args: ["--import", "tsx", path.join(REPO_ROOT, ENTRY[kind])],
    cwd: REPO_ROOT,
    port: 0,
    url: "",
    env: { ...process.env, ...env },
    logFile,
    ready: async (output) => {
      if (!output.includes(`"msg":"${kind} ready"`)) throw new Error(`${kind} not ready yet`);
    },
  });
}
