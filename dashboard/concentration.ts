// Concentration of a layer (jobs fulfilled, stake) across operators. Inputs are bigints so that token amounts
// (18 decimals) are summed and compared exactly; only the final index is converted to a number.

/** Each value's share of the total, in [0, 1]; all zeros when the total is 0. */
export function shares(values: readonly bigint[]): number[] {
  const total = sum(values);
  // Parts per billion keep the division in bigints, so 10^20-sized stakes lose no precision before scaling.
  return values.map((v) => (total === 0n ? 0 : Number((v * 1_000_000_000n) / total) / 1e9));
}

/** Herfindahl–Hirschman index: sum of squared percentage shares, 10,000 for a monopoly, 0 for no data. */
export function hhi(values: readonly bigint[]): number {
  const total = sum(values);
  if (total === 0n) return 0;
  // sum((v/total)^2) * 10,000, rounded to two decimals, computed on integers: squares of 10^20 overflow doubles' precision.
  const squares = values.reduce((acc, v) => acc + v * v, 0n);
  return Number((squares * 1_000_000n) / (total * total)) / 100;
}

/** Nakamoto coefficient: the fewest operators that together hold more than half of the total (0 for no data). */
export function nakamoto(values: readonly bigint[]): number {
  const total = sum(values);
  if (total === 0n) return 0;
  const sorted = [...values].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  let held = 0n;
  for (const [i, v] of sorted.entries()) {
    held += v;
    if (held * 2n > total) return i + 1;
  }
  // Unreachable: the running sum reaches the total, which is more than half of a positive total.
  return sorted.length;
}

function sum(values: readonly bigint[]): bigint {
  return values.reduce((a, b) => a + b, 0n);
}
