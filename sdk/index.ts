// The Verdict requester SDK: `VerdictClient.connect()` and everything a protocol posting inference jobs needs.
//   const verdict = await VerdictClient.connect({ rpcUrl, privateKey });
//   const { jobId } = await verdict.createJob({ modelId: 1, input: [0.1, 2.3], price, collateral, lockTimeout: 600, timeout: 1800 });
//   const { outputs } = await verdict.waitForResult(jobId);
export { FINAL_STATUSES, VerdictClient, type ConnectOptions, type CreatedJob, type CreateJobRequest, type Fulfilment, type JobInfo, type JobResult, type JobStatusName, type ModelInfo, type OperatorStats, type WaitOptions } from "./client.js";
export { DEFAULT_LOG_RANGE, DEFAULT_LOOKBACK_BLOCKS, inRanges, type BlockRange } from "./logs.js";
export { BN254_R, feltToFloat, feltToSigned, floatToFelt } from "../zk/runtime/felt.js";
export { VerdictError } from "../shared/errors.js";
