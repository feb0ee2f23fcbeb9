// Runs zk/bridge.py (the thin Python bridge to ezkl) and parses the one JSON line it prints.
// ezkl's own progress goes to our stderr so long steps (setup, proving) show as they happen.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { VerdictError } from "../shared/errors.js";
import { REPO_ROOT } from "../shared/paths.js";
const BRIDGE = path.join(REPO_ROOT, "zk", "bridge.py");

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

function pythonPath(): string {
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
