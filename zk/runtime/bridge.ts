// Runs zk/runtime/bridge.py (the thin Python bridge to ezkl) and parses the one JSON line it prints.
// ezkl's own progress goes to our stderr so long steps (setup, proving) show as they happen.
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { existsSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";
import { VerdictError } from "../../shared/errors.js";
import { REPO_ROOT } from "../../shared/paths.js";
const BRIDGE = path.join(REPO_ROOT, "zk", "runtime", "bridge.py");

export class EzklError extends VerdictError {
  constructor(
    readonly command: string,
    message: string,
    hint?: string,
    retryable = false,
  ) {
    super("EZKL_FAILED", `ezkl ${command} failed: ${message}`, hint, retryable);
  }
}

export interface BridgeOptions {
  /** The bridge is killed after this long and the call fails (retryably): a hung prover must not hold on forever. */
  timeoutMs?: number;
}

export function pythonPath(): string {
  const python = process.env.VERDICT_PYTHON ?? path.join(REPO_ROOT, ".venv", "bin", "python");
  if (!existsSync(python)) {
    throw new EzklError("bridge", `no Python at ${python}`, "`make setup` (it creates .venv with the pinned ezkl)");
  }
  return python;
}

const errorLine = z.object({ error: z.string() });

export async function runBridge<T>(command: string, args: Record<string, string | number>, schema: z.ZodType<T>, opts: BridgeOptions = {}): Promise<T> {
  const argv = [BRIDGE, command, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)])];
  const child = spawn(pythonPath(), argv, { stdio: ["ignore", "pipe", process.env.VERDICT_QUIET ? "ignore" : "inherit"] });
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  let timedOut = false;
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), child.kill("SIGKILL")), opts.timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (c, s) => resolve([c, s]));
  }).finally(() => clearTimeout(timer));
  if (timedOut) throw new EzklError(command, `no result within ${opts.timeoutMs} ms: stopped`, undefined, true);
  // Killed from outside (the OOM killer, an operator's kill): the input was not at fault, another try may pass.
  if (signal) throw new EzklError(command, `bridge killed by ${signal} (out of memory?)`, "lower proveConcurrency or add memory", true);
  const last = stdout.trim().split("\n").at(-1) ?? "";
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    throw new EzklError(command, `bridge exited ${code} without a result${last ? `: ${last.slice(0, 300)}` : ""}`);
  }
  const failure = errorLine.safeParse(parsed);
  if (code !== 0 || failure.success) throw new EzklError(command, failure.success ? failure.data.error : `exit ${code}`);
  return schema.parse(parsed);
}

export const timingsSchema = z.record(z.string(), z.number());

/** runBridge's signature: what the prover calls, a fresh process per call or a warm one (WarmBridge.request). */
export type BridgeCall = <T>(command: string, args: Record<string, string | number>, schema: z.ZodType<T>, opts?: BridgeOptions) => Promise<T>;

interface Served {
  child: ChildProcessByStdio<Writable, Readable, null>;
  lines: AsyncIterator<string>;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/**
 * A long-lived `bridge.py serve` (a warm prover): requests are answered one at a time, in order, by one Python
 * process, so a proof no longer pays interpreter start-up and `import ezkl` (~0.06-0.08 s per proof measured by
 * the bench). A request that outlives its timeout kills the process, and one that dies (the OOM killer) fails
 * retryably; the next request starts a fresh process. The process dies with its parent (bridge.py).
 */
export class WarmBridge {
  #served?: Served;
  #tail: Promise<unknown> = Promise.resolve();

  /** Process id of the serving Python process, once started (tests check that it is reused). */
  get pid(): number | undefined {
    return this.#served?.child.pid;
  }

  readonly request: BridgeCall = (command, args, schema, opts = {}) => this.#inTurn(() => this.#ask(command, args, schema, opts));

  /** Starts the process now (interpreter and `import ezkl`, ~1 s) rather than on the first request. */
  async start(): Promise<void> {
    await this.#inTurn(() => this.#process());
  }

  /** Runs `step` after everything asked before it: one request at a time on the one process. */
  #inTurn<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(step);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    const served = this.#served;
    if (!served) return;
    served.child.stdin.end();
    const timer = setTimeout(() => served.child.kill("SIGKILL"), 2000);
    await served.exited;
    clearTimeout(timer);
  }

  async #process(): Promise<Served> {
    if (this.#served) return this.#served;
    const child = spawn(pythonPath(), [BRIDGE, "serve"], { stdio: ["pipe", "pipe", process.env.VERDICT_QUIET ? "ignore" : "inherit"] });
    child.stdin.on("error", () => undefined); // a write to a process that just died: its exit is reported below
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("close", (c, s) => resolve([c, s])));
    const served: Served = { child, lines: createInterface({ input: child.stdout })[Symbol.asyncIterator](), exited };
    this.#served = served;
    void exited.then(() => {
      if (this.#served === served) this.#served = undefined;
    });
    await this.#next(served, "serve");
    return served;
  }

  async #next(served: Served, command: string, timeoutMs?: number): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      if (timeoutMs !== undefined) timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      const r = await Promise.race([served.lines.next(), served.exited.then(() => "exited" as const), timedOut]);
      if (r === "timeout") {
        served.child.kill("SIGKILL");
        throw new EzklError(command, `no result within ${timeoutMs} ms: stopped`, undefined, true);
      }
      if (r === "exited" || r.done) {
        const [code, signal] = await served.exited;
        throw new EzklError(command, signal ? `prover killed by ${signal} (out of memory?)` : `prover exited ${code}`, "lower proveConcurrency or add memory", true);
      }
      return JSON.parse(r.value) as unknown;
    } finally {
      clearTimeout(timer);
    }
  }

  async #ask<T>(command: string, args: Record<string, string | number>, schema: z.ZodType<T>, opts: BridgeOptions): Promise<T> {
    const served = await this.#process();
    served.child.stdin.write(`${JSON.stringify({ cmd: command, args })}\n`);
    const res = await this.#next(served, command, opts.timeoutMs);
    const failure = errorLine.safeParse(res);
    if (failure.success) throw new EzklError(command, failure.data.error);
    return schema.parse(res);
  }
}

/** `size` warm bridges, one per proof run in parallel. */
export class WarmBridgePool {
  readonly #idle: WarmBridge[];
  readonly #all: WarmBridge[];
  readonly #waiting: ((b: WarmBridge) => void)[] = [];

  constructor(size: number) {
    this.#all = Array.from({ length: size }, () => new WarmBridge());
    this.#idle = [...this.#all];
  }

  /** Runs `fn` with a bridge of its own for its duration. */
  async use<T>(fn: (call: BridgeCall) => Promise<T>): Promise<T> {
    const bridge = this.#idle.pop() ?? (await new Promise<WarmBridge>((resolve) => this.#waiting.push(resolve)));
    try {
      return await fn(bridge.request);
    } finally {
      const next = this.#waiting.shift();
      if (next) next(bridge);
      else this.#idle.push(bridge);
    }
  }

  close(): Promise<void[]> {
    return Promise.all(this.#all.map((b) => b.close()));
  }
}
