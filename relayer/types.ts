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

/**
 * One proof settling several jobs of one model (InferenceMarket.fulfilBatchProof): slot k's job is `jobIds[k]`
 * (0: padding, as is every slot past its length), signed by their lock holder `operator` (EIP-712 FulfilBatch).
 */
export interface FulfilBatchRequest {
  kind: "fulfilBatch";
  chainId: string;
  market: string;
  auth: { batchId: string; jobIds: string[]; proof: string; instances: string[]; relayerFee: string; relayer: string; operator: string; signature: string };
}

export type RelayRequest = LockRequest | FulfilRequest | FulfilBatchRequest;

/**
 * The relay job's return value: the request is on its way (broadcast, alone or in a batch). A relay job completes at
 * broadcast so that no worker slot waits for a block; what became of the transaction is a RelayOutcome, published
 * by the key's inclusion tracker (relayer/tracker.ts) once, in Redis (relayer/store.ts).
 */
export interface RelaySent {
  /** The relayer key that sent it; only that key's tracker replaces or watches the transaction. */
  from: string;
  nonce: number;
  txHash: string;
  /** Requests in the transaction (1: sent alone). */
  batchSize: number;
}

/** The receipt's figures of a request that took effect; gas is the request's share of its transaction's. */
export interface RelayResult {
  txHash: string;
  blockNumber: number;
  gasUsed: string;
  effectiveGasPrice: string;
  /** How many times the transaction was replaced with a higher fee before it was mined. */
  replacements: number;
  batchSize: number;
  /** fulfilBatch: the jobs the market skipped (its FulfilmentFailed events), with the decoded reason. */
  failed?: { jobId: string; reason: string }[];
}

/**
 * What became of a request, published once: mined (at the confirmation depth), reverted (on chain, or its item
 * failed in a batch), replaced (its nonce went to a transaction this relayer did not send), or failed (dropped
 * before sending: simulation revert, malformed, retries spent). Anything but mined means "not done": the
 * operator's stage reconciles with the chain and may send the request again.
 */
/** The `dropped` reason of a lock whose job is no longer open (another lock was mined first): nothing to read. */
export const JOB_NOT_OPEN = "job-not-open";

export type RelayOutcome =
  | ({ status: "mined" } & RelayResult)
  | {
      status: "reverted" | "replaced" | "failed";
      reason: string;
      txHash?: string;
      /** Why a failed request was dropped (its verdict_relayer_tx_dropped_total reason), when it was. */
      dropped?: string;
    };

/**
 * BullMQ job id of a relay request, so re-submitting the same request is a no-op: a fulfilment per on-chain job,
 * a lock per job, operator and validity (a lock re-signed later is another request: under the old id it would be
 * answered with the old, expired one; review S1-3).
 */
export function relayJobId(r: RelayRequest): string {
  if (r.kind === "lock") return `lock-${r.chainId}-${r.jobId}-${r.operator.toLowerCase()}-${r.validUntil}`;
  // A batch per set of slots: the same proof sent again for fewer jobs (one slot skipped) is another request.
  if (r.kind === "fulfilBatch") return `fulfilbatch-${r.chainId}-${r.auth.batchId}-${r.auth.jobIds.join("_")}`;
  // Per signer too: operators proving while their locks land each send one for a job only one of them will lock.
  return `fulfil-${r.chainId}-${r.auth.jobId}-${String(r.auth.signature).slice(2, 18).toLowerCase()}`;
}

/** The on-chain job(s) a request is about, for logs and per-job ordering: a batch names its jobs, comma-separated. */
export function relayedJobs(r: RelayRequest): string {
  // Job data arrives from Redis unvalidated: read defensively so a malformed request is still logged.
  if (r.kind === "lock") return String(r.jobId);
  if (r.kind === "fulfilBatch") return (r.auth?.jobIds ?? []).filter((id) => id !== "0").join(",");
  return String(r.auth?.jobId);
}

/** Queue holding requests the relayer gave up on, with the reason (simulation revert, non-retryable error). */
export const DEAD_LETTER_QUEUE = "relay-dead";
export interface DeadLetter {
  request: RelayRequest;
  reason: string;
  at: string;
}
