// What the operator hands the relayer: operator-signed lock and fulfilment messages. The relayer turns each
// into a transaction (lockWithSignature / fulfilWithSignature) on the named market. Numbers travel as decimal
// strings (BullMQ job data is JSON).
export interface LockRequest {
  kind: "lock";
  chainId: string;
  market: string;
  jobId: string;
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

/** BullMQ job id of a relay request: one lock and one fulfilment per on-chain job, so re-submission is a no-op. */
export function relayJobId(r: RelayRequest): string {
  return `${r.kind}-${r.chainId}-${r.kind === "lock" ? r.jobId : r.auth.jobId}`;
}

/** Queue holding requests the relayer gave up on, with the reason (simulation revert, non-retryable error). */
export const DEAD_LETTER_QUEUE = "relay-dead";
export interface DeadLetter {
  request: RelayRequest;
  reason: string;
  at: string;
}
