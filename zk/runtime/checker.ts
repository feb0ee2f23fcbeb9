// The operator's test of a job's input before it locks the job (operator/stages/evaluate.ts): the witness of the
// circuit that will prove it. Rows asked for while the warm ezkl process is busy go to it together in its next
// request (checkRows: one witness of a batch-shaped network for many rows), so a burst of jobs pays ~0.5-1 ms a
// row instead of ~5, and a lone job waits for nothing but its own check.
import { z } from "zod";
import type { VerdictError } from "../../shared/errors.js";
import type { CircuitArtifacts } from "./artifacts.js";
import { WarmBridge } from "./bridge.js";
import { checkRows } from "./prover.js";

const preparedSchema = z.object({ slots: z.array(z.number().int()) });

/** Rows in one request at most, so that a row's wait behind others stays a few tens of milliseconds. */
const MAX_ROWS = 256;
/** A witness takes milliseconds; a warm process that hangs longer is stopped and the rows retried. */
const CHECK_TIMEOUT_MS = 30_000;

interface Asked {
  circuit: CircuitArtifacts;
  row: readonly number[];
  what: string;
  resolve(outputs: number[]): void;
  reject(e: unknown): void;
}

export class WitnessChecker {
  readonly #bridge = new WarmBridge();
  #asked: Asked[] = [];
  #draining = false;
  /** Requests made to the warm process, rows checked, and rows of them answered by a batch-shaped network. */
  readonly stats = { requests: 0, rows: 0, batchedRows: 0 };

  /** The outputs a proof of `row` would carry; rejects with the circuit's refusal (VerdictError) if it has one. */
  outputs(circuit: CircuitArtifacts, row: readonly number[], what: string): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.#asked.push({ circuit, row, what, resolve, reject });
      if (!this.#draining) void this.#drain();
    });
  }

  /** Starts the warm process and builds the check networks of `circuits` now, so that the first jobs do not wait
   * for either (~1 s). */
  async start(circuits: readonly CircuitArtifacts[]): Promise<void> {
    await this.#bridge.start();
    for (const c of circuits) await this.#bridge.request("prepare", { dir: c.dir, onnx: c.onnx }, preparedSchema, { timeoutMs: CHECK_TIMEOUT_MS });
  }

  close(): Promise<void> {
    return this.#bridge.close();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      // Rows asked for in the same turn of the event loop (jobs evaluated together) make the first request.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.#asked.length) {
        const dir = this.#asked[0]!.circuit.dir;
        const group = this.#asked.filter((a) => a.circuit.dir === dir).slice(0, MAX_ROWS);
        this.#asked = this.#asked.filter((a) => !group.includes(a));
        try {
          this.stats.requests++;
          this.stats.rows += group.length;
          const { results, batched } = await checkRows(group[0]!.circuit, group.map((a) => a.row), group.map((a) => a.what), { bridge: this.#bridge.request, timeoutMs: CHECK_TIMEOUT_MS });
          this.stats.batchedRows += batched;
          results.forEach((r, i) => (Array.isArray(r) ? group[i]!.resolve(r) : group[i]!.reject(r satisfies VerdictError)));
        } catch (e) {
          for (const a of group) a.reject(e);
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}
