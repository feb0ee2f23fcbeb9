// Whether this operator can take a job: a pure decision on numbers the evaluate stage gathers (chain time, block
// time, queued work, measured proving time and gas, fees, free stake), so every rule is unit-tested on a fake
// clock. A job is admitted only when its lock can land before the lock deadline and the work already committed
// ahead of it, its own proof and the fulfilment's inclusion all fit before the deadline (review S1-5); a job that
// fails only for reasons that can pass (fees, stake, backlog) is deferred, not dropped (review S2-5).

export interface AdmissionInput {
  /** Chain time (latest block timestamp), seconds. */
  now: number;
  lockDeadline: number;
  deadline: number;
  /** Seconds for a transaction to be included and confirmed (block time x (confirmations + 2)). */
  txSeconds: number;
  /** Proving seconds already committed ahead of this job (queued locked jobs / parallel provers). */
  backlogSeconds: number;
  /** Proving seconds this job's proof rarely exceeds. */
  proveSeconds: number;
  marginSeconds: number;
  /** Wei of the payment token, ETH jobs only (undefined: not priced). */
  price?: bigint;
  /** Expected cost of the lock and the fulfilment: measured gas x (base fee + priority fee). */
  gasCostWei?: bigint;
  minProfitWei: bigint;
  collateral: bigint;
  freeStake: bigint;
  /** How long before another look at a deferred job. */
  reevaluateSeconds: number;
}

export type Admission = { take: true } | { take: false; reason: string; retry: boolean };

export function admit(a: AdmissionInput): Admission {
  const skip = (reason: string): Admission => ({ take: false, reason, retry: false });
  // Deferring makes sense only while the job can still be locked after the next look.
  const later = (reason: string): Admission => ({ take: false, reason, retry: a.now + a.reevaluateSeconds + a.txSeconds <= a.lockDeadline });
  if (a.now + a.txSeconds > a.lockDeadline) return skip(`a lock sent now lands in ~${a.txSeconds} s, the lock deadline is in ${a.lockDeadline - a.now} s`);
  const own = a.txSeconds + a.proveSeconds + a.txSeconds + a.marginSeconds;
  if (a.now + own > a.deadline) {
    return skip(`needs ~${Math.ceil(own)} s (lock, prove ${a.proveSeconds.toFixed(1)} s, fulfil, margin ${a.marginSeconds} s), deadline in ${a.deadline - a.now} s`);
  }
  if (a.now + own + a.backlogSeconds > a.deadline) {
    return later(`${Math.ceil(a.backlogSeconds)} s of proving already committed ahead of it: needs ~${Math.ceil(own + a.backlogSeconds)} s, deadline in ${a.deadline - a.now} s`);
  }
  if (a.price !== undefined && a.gasCostWei !== undefined && a.price - a.gasCostWei < a.minProfitWei) {
    return later(`price ${a.price} wei minus expected gas ${a.gasCostWei} wei is below the minimum profit ${a.minProfitWei} wei`);
  }
  if (a.freeStake < a.collateral) return later(`collateral ${a.collateral} exceeds free stake ${a.freeStake}`);
  return { take: true };
}
