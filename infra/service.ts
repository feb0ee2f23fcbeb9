// A child process that is a local service (chain, Redis): started on a free loopback port, polled until it
// answers, and stopped with SIGTERM (SIGKILL after a grace period) so nothing is left running.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import pRetry from "p-retry";

export interface LocalService {
  name: string;
  port: number;
  url: string;
  stop(): Promise<void>;
  /** Sends a signal without waiting (fault injection: SIGKILL a service mid-work). */
  kill?(signal: NodeJS.Signals): void;
}

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  port: number;
  url: string;
  /** Resolves once the service answers; throws while it does not. Gets the output so far. */
  ready: (output: string) => Promise<void>;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Appends everything the process prints to this file (for post-mortems of test runs). */
  logFile?: string;
  /** Hint printed when the command is missing. */
  installHint?: string;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()));
}

export async function startService(spec: ServiceSpec): Promise<LocalService> {
  const child = spawn(spec.command, spec.args, { stdio: ["ignore", "pipe", "pipe"], env: spec.env ?? process.env, cwd: spec.cwd });
  let output = "";
  const file = spec.logFile ? createWriteStream(spec.logFile, { flags: "a" }) : undefined;
  const keep = (chunk: Buffer) => {
    file?.write(chunk);
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const spawnError = new Promise<never>((_, reject) =>
    child.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          e.code === "ENOENT"
            ? `${spec.name}: '${spec.command}' not found.${spec.installHint ? ` Try: ${spec.installHint}` : ""}`
            : `${spec.name}: ${e.message}`,
        ),
      ),
    ),
  );
  const earlyExit = exited(child).then(() => {
    throw new Error(`${spec.name} exited during start-up (code ${child.exitCode}):\n${output}`);
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await exited(child);
    clearTimeout(timer);
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    await Promise.race([
      spawnError,
      earlyExit,
      pRetry(() => spec.ready(output), { retries: 600, minTimeout: 100, maxTimeout: 250, maxRetryTime: READY_TIMEOUT_MS }),
    ]);
  } catch (e) {
    await stop();
    throw Date.now() > deadline ? new Error(`${spec.name} did not answer within ${READY_TIMEOUT_MS / 1000}s:\n${output}`) : e;
  }
  earlyExit.catch(() => undefined);
  return { name: spec.name, port: spec.port, url: spec.url, stop, kill: (signal) => child.kill(signal) };
}
