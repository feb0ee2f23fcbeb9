// Reading chain events in bounded block ranges: public RPC nodes refuse eth_getLogs over wide ranges (often
// 1,000 to 10,000 blocks), so every event scan of the SDK walks [from, to] in steps of at most `step` blocks.

/** Default width of one eth_getLogs request, in blocks (VERDICT_LOG_RANGE overrides it). */
export const DEFAULT_LOG_RANGE = Number(process.env.VERDICT_LOG_RANGE ?? 10_000);
/** Default look-back of scans that name no first block: ~1 week of 12 s blocks. */
export const DEFAULT_LOOKBACK_BLOCKS = 50_000;

export interface BlockRange {
  /** First block scanned (default: head - DEFAULT_LOOKBACK_BLOCKS). */
  fromBlock?: number;
  /** Last block scanned (default: the head). */
  toBlock?: number;
  /** Blocks per eth_getLogs request (default DEFAULT_LOG_RANGE). */
  step?: number;
}

/** Runs `fetch` over [from, to] in consecutive windows of `step` blocks and concatenates the results in order. */
export async function inRanges<E>(from: number, to: number, step: number, fetch: (from: number, to: number) => Promise<E[]>): Promise<E[]> {
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`log range step must be a positive integer, got ${step}`);
  const out: E[] = [];
  for (let start = from; start <= to; start += step) out.push(...(await fetch(start, Math.min(to, start + step - 1))));
  return out;
}

/** The concrete [from, to] of a range against the current head. */
export function resolveRange(r: BlockRange, head: number): { from: number; to: number; step: number } {
  const to = r.toBlock ?? head;
  return { from: r.fromBlock ?? Math.max(0, to - DEFAULT_LOOKBACK_BLOCKS), to, step: r.step ?? DEFAULT_LOG_RANGE };
}
