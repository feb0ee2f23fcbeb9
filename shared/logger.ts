// pino logger: JSON lines (one object per event, with stage and job id fields) and keys always redacted.
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(service: string, level = "info"): Logger {
  return pino({
    name: service,
    level,
    redact: { paths: ["privateKey", "*.privateKey", "*.*.privateKey", "signature", "*.signature"], censor: "[redacted]" },
    base: { service, pid: process.pid },
  });
}
