// What the operator hands the relayer: operator-signed lock and fulfilment messages. The relayer turns each
// into a transaction (lockWithSignature / fulfilWithSignature) on the named market. Numbers travel as decimal
// strings (BullMQ job data is JSON).
export interface LockRequest {
  kind: "lock";
  chainId: string;
  market: string;
  jobId: string;
  /** The job's terms digest (InferenceMarket.termsOf / JobCreated.terms) the signature names. */
  terms: string;
  operator: string;
  validUntil: string;
  signature: string;
}

export interface FulfilRequest {
  kind: "fulfil";
  chainId: string;
  market: string;
  auth: { jobId: string; proof: string; instances: string[]; relayerFee: string; relayer: string; signature: string };
}

export type RelayRequest = LockRequest | FulfilRequest;

/** The relay job's return value once its transaction is mined (and confirmed). */
export interface RelayResult {
  txHash: string;
  blockNumber: number;
  gasUsed: string;
  effectiveGasPrice: string;
  /** How many times the transaction was replaced with a higher fee before it was mined. */
  replacements: number;
}

/**
 * BullMQ job id of a relay request, so re-submitting the same request is a no-op: a fulfilment per on-chain job,
 * a lock per job, operator and validity (a lock re-signed later is another request: under the old id it would be
 * answered with the old, expired one; review S1-3).
 */
export function relayJobId(r: RelayRequest): string {
  return r.kind === "lock" ? `lock-${r.chainId}-${r.jobId}-${r.operator.toLowerCase()}-${r.validUntil}` : `fulfil-${r.chainId}-${r.auth.jobId}`;
}

/** Queue holding requests the relayer gave up on, with the reason (simulation revert, non-retryable error). */
export const DEAD_LETTER_QUEUE = "relay-dead";
export interface DeadLetter {
  request: RelayRequest;
  reason: string;
  at: string;
}
