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
  ) {
    super("EZKL_FAILED", `ezkl ${command} failed: ${message}`, hint);
  }
}

function pythonPath(): string {
  const python = process.env.VERDICT_PYTHON ?? path.join(REPO_ROOT, ".venv", "bin", "python");
  if (!existsSync(python)) {
    throw new EzklError("bridge", `no Python at ${python}`, "`make setup` (it creates .venv with the pinned ezkl)");
  }
  return python;
}

const errorLine = z.object({ error: z.string() });

export async function runBridge<T>(command: string, args: Record<string, string | number>, schema: z.ZodType<T>): Promise<T> {
  const argv = [BRIDGE, command, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)])];
  const child = spawn(pythonPath(), argv, { stdio: ["ignore", "pipe", process.env.VERDICT_QUIET ? "ignore" : "inherit"] });
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
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
