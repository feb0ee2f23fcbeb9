// On-chain enums as the TypeScript side sees them (mirrors contracts/types/*.sol).
export const JobStatus = { None: 0, Open: 1, Locked: 2, Fulfilled: 3, Slashed: 4, Refunded: 5 } as const;
export const ModelStatus = { None: 0, Active: 1, Deprecated: 2 } as const;
