// Where a bench ran, written into each results file so figures from different machines are not compared blindly.
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { round } from "../infra/stats.js";

export interface MachineInfo {
  cores: number;
  memoryGb: number;
  cpuModel: string;
  platform: string;
  node: string;
  /** 1-minute load average when the bench started: a busy shared machine makes every timing noisier. */
  loadAverage1m: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    memoryGb: round(os.totalmem() / 2 ** 30, 1),
    cpuModel: cpus[0]?.model ?? "unknown",
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverage1m: round(os.loadavg()[0] ?? 0, 2),
  };
}

/** True when `moduleUrl` is the script node was started with (tsx bench/<file>.ts), not an import. */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && fileURLToPath(moduleUrl) === path.resolve(script);
}
