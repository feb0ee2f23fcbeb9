// Client of bench/ezkl_worker.py: one long-lived Python process answering one JSON line per request, so the
// benches can prove many times without paying interpreter start-up and `import ezkl` each time.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";
import { REPO_ROOT } from "../shared/paths.js";

export const WORKER_PY = path.join(REPO_ROOT, "bench", "ezkl_worker.py");
export const PROJECT_PYTHON = process.env.VERDICT_PYTHON ?? path.join(REPO_ROOT, ".venv", "bin", "python");

const readySchema = z.object({ ready: z.literal(true), ezkl: z.string(), maxRssMb: z.number() });
const errorSchema = z.object({ error: z.string() });

export const workerProveSchema = z.object({
  verified: z.boolean(),
  hexProof: z.string(),
  instances: z.array(z.string()),
  timings: z.record(z.string(), z.number()),
  maxRssMb: z.number(),
});
export type WorkerProof = z.infer<typeof workerProveSchema>;

export interface EzklWorker {
  /** ezkl version the worker imported. */
  ezkl: string;
  /** Peak RSS (MiB) right after start-up and `import ezkl`: the baseline under every later figure. */
  startRssMb: number;
  /** Seconds from spawn to ready (interpreter start + imports). */
  startS: number;
  request<T>(cmd: string, args: Record<string, unknown>, schema: z.ZodType<T>): Promise<T>;
  close(): Promise<void>;
}

export async function startWorker(python = PROJECT_PYTHON): Promise<EzklWorker> {
  const t0 = performance.now();
  const child: ChildProcessWithoutNullStreams = spawn(python, [WORKER_PY], { stdio: "pipe" });
  // ezkl's progress goes to stderr; shown only when asked for, as the bridge does.
  if (!process.env.VERDICT_QUIET) child.stderr.pipe(process.stderr);
  else child.stderr.resume();
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<never>((_, reject) => child.on("close", (code) => reject(new Error(`ezkl worker (${python}) exited ${code}`))));
  exited.catch(() => undefined);
  const next = async (): Promise<unknown> => {
    const r = await Promise.race([lines.next(), exited]);
    if (r.done) throw new Error("ezkl worker closed its output");
    return JSON.parse(r.value) as unknown;
  };
  const ready = readySchema.parse(await next());
  let queue: Promise<unknown> = Promise.resolve();
  return {
    ezkl: ready.ezkl,
    startRssMb: ready.maxRssMb,
    startS: (performance.now() - t0) / 1000,
    request<T>(cmd: string, args: Record<string, unknown>, schema: z.ZodType<T>): Promise<T> {
      // One request in flight at a time: answers come back in order on one pipe.
      const run = queue.then(async () => {
        child.stdin.write(`${JSON.stringify({ cmd, ...args })}\n`);
        const res = await next();
        const err = errorSchema.safeParse(res);
        if (err.success) throw new Error(`ezkl worker ${cmd}: ${err.data.error}`);
        return schema.parse(res);
      });
      queue = run.catch(() => undefined);
      return run;
    },
    async close() {
      child.stdin.end(`${JSON.stringify({ cmd: "quit" })}\n`);
      await exited.catch(() => undefined);
    },
  };
}
