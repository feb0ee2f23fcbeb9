// Structured reference strings for KZG. Development SRS files are made locally with ezkl's gen_srs (random,
// insecure, never for production) and cached per logrows; a deployment passes a ceremony SRS file instead.
import { existsSync } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { REPO_ROOT } from "../../shared/paths.js";
import { runBridge, timingsSchema } from "../runtime/bridge.js";

const SRS_DIR = path.join(REPO_ROOT, ".cache", "srs");

export async function ensureDevSrs(logrows: number): Promise<string> {
  const file = path.join(SRS_DIR, `dev-k${logrows}.srs`);
  if (!existsSync(file)) {
    await mkdir(SRS_DIR, { recursive: true });
    const scratch = `${file}.tmp-${process.pid}`;
    await runBridge("srs", { out: scratch, logrows }, z.object({ timings: timingsSchema }));
    await rename(scratch, file);
  }
  return file;
}
