// The operator, its prove worker or the relayer as a real child process (as in production), ready once it logs
// "<kind> ready"; and the one way a local stack starts its relayer and operators.
import path from "node:path";
import getPort from "get-port";
import { REPO_ROOT } from "../shared/paths.js";
import { DEV_KEYS, operatorEnv, type StackRun } from "./localStack.js";
import { startService, type LocalService } from "./service.js";

const ENTRY = { operator: "operator/main.ts", relayer: "relayer/main.ts", "prove-worker": "operator/proveWorker.ts" } as const;
export type ServiceKind = keyof typeof ENTRY;

/** A service's `url` is its HTTP endpoint (/metrics, /healthz) when `env` names a VERDICT_HTTP_PORT, else empty. */
export function startVerdictService(kind: ServiceKind, env: Record<string, string>, logFile?: string): Promise<LocalService> {
  const port = Number(env.VERDICT_HTTP_PORT ?? 0);
  return startService({
    name: kind,
    // One process (node with tsx's loader), not the tsx wrapper: a signal then reaches the service itself, so a
    // SIGKILL in a fault test really kills it instead of orphaning the wrapper's child.
    command: process.execPath,
    args: ["--import", "tsx", path.join(REPO_ROOT, ENTRY[kind])],
    cwd: REPO_ROOT,
    port,
    url: port ? `http://127.0.0.1:${port}` : "",
    env: { ...process.env, ...env },
    logFile,
    ready: async (output) => {
      if (!output.includes(`"msg":"${kind} ready"`)) throw new Error(`${kind} not ready yet`);
    },
  });
}

/**
 * What every service of a local stack is given: the chain (or `rpcUrl`, e.g. a proxy in front of it), Redis, the
 * deployment, every demo model's bundle and a queue prefix. Each service adds its own key (VERDICT_KEY).
 */
export function stackEnv(run: StackRun, prefix: string, rpcUrl = run.chain.url): Record<string, string> {
  return {
    VERDICT_RPC_URL: rpcUrl,
    VERDICT_REDIS_URL: run.redis.url,
    VERDICT_DEPLOYMENTS_DIR: run.stack.deploymentsDir,
    ...operatorEnv(run.stack),
    VERDICT_QUEUE_PREFIX: prefix,
  };
}

/** Starts `kind` with `env`, logging to <work>/<name>.log, and stops it with the stack. */
export async function startInStack(run: Pick<StackRun, "work" | "services">, kind: ServiceKind, env: Record<string, string>, name: string = kind): Promise<LocalService> {
  const service = await startVerdictService(kind, env, path.join(run.work, `${name}.log`));
  run.services.push(service);
  return service;
}

export interface OperatorSpec {
  key: string;
  /** Log file name (<work>/<name>.log); default operator-a, operator-b, ... */
  name?: string;
  /** Added to (or overriding) the shared environment for this operator only. */
  env?: Record<string, string>;
}

export interface RelayerAndOperators {
  /** Serves /metrics, /healthz and bull-board (/queues) at its `url`. */
  relayer: LocalService;
  /** Each serves /metrics and /healthz at its `url`. */
  operators: LocalService[];
}

const freePort = async () => String(await getPort({ host: "127.0.0.1" }));

/**
 * The relayer (key DEV_KEYS.relayer) and one operator per spec, each with `env` plus its own key and an HTTP
 * endpoint on a free loopback port, as separate processes that stop with the stack. Default: the stack's staked
 * operators.
 */
export async function startRelayerAndOperators(
  run: StackRun,
  env: Record<string, string>,
  operators: OperatorSpec[] = run.stack.operatorKeys.map((key) => ({ key })),
): Promise<RelayerAndOperators> {
  const relayer = await startInStack(run, "relayer", { ...env, VERDICT_KEY: DEV_KEYS.relayer, VERDICT_HTTP_PORT: await freePort() });
  const started: LocalService[] = [];
  for (const [i, op] of operators.entries()) {
    const opEnv = { ...env, VERDICT_KEY: op.key, VERDICT_HTTP_PORT: await freePort(), ...op.env };
    started.push(await startInStack(run, "operator", opEnv, op.name ?? `operator-${"abcdefgh"[i]}`));
  }
  return { relayer, operators: started };
}
