// The contracts' enums as the TypeScript side reads them: one list of names per enum, in declaration order (the
// ABI carries enums as uint8 only). test/shared/enums.test.ts checks each against its Solidity declaration.

/** contracts/types/Job.sol JobStatus. */
export const JOB_STATUSES = ["None", "Open", "Locked", "Fulfilled", "Slashed", "Refunded"] as const;
/** contracts/types/ModelVersion.sol ModelStatus. */
export const MODEL_STATUSES = ["None", "Active", "Deprecated", "Revoked"] as const;
/** contracts/types/ModelVersion.sol VerifierKind. */
export const VERIFIER_KINDS = ["Single", "Reusable"] as const;
/** contracts/consumers/PredictionMarket.sol Outcome. */
export const MARKET_OUTCOMES = ["Unresolved", "Yes", "No", "Cancelled"] as const;

export type JobStatusName = (typeof JOB_STATUSES)[number];
export type ModelStatusName = (typeof MODEL_STATUSES)[number];

type Values<T extends readonly string[]> = { readonly [K in T[number]]: number };
const values = <T extends readonly string[]>(names: T): Values<T> => Object.fromEntries(names.map((n, i) => [n, i])) as Values<T>;

/** Numeric values by name: `JobStatus.Locked === 2`. */
export const JobStatus = values(JOB_STATUSES);
export const ModelStatus = values(MODEL_STATUSES);

/** The name of an on-chain enum value (`"Unknown(7)"` for one this code does not know). */
export function enumName<T extends readonly string[]>(names: T, value: bigint | number): T[number] | `Unknown(${number})` {
  return names[Number(value)] ?? `Unknown(${Number(value)})`;
}
