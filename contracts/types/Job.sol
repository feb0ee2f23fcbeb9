// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Lifecycle of an inference job. Fulfilled, Slashed and Refunded are final.
enum JobStatus {
    None,
    Open,
    Locked,
    Fulfilled,
    Slashed,
    Refunded
}

/// @notice An escrowed inference request and its lock, as `jobOf` returns it (stored as a `JobRecord`).
struct Job {
    address requester;
    uint32 modelId;
    uint64 lockDeadline;
    address operator;
    uint64 deadline;
    JobStatus status;
    uint24 callbackGasLimit;
    address token;
    uint64 finalizedAt;
    uint128 price;
    uint128 collateral;
    address callback;
    uint64 createdAt;
    bytes32 inputHash;
}

/// @notice How a job is kept in storage: the fields of `Job`, ordered so that settlement reads five slots and
/// writes one (issue 13). `jobOf` returns it as a `Job`, whose ABI is unchanged.
/// @dev Slot layout:
///   0: operator(20) status(1) callbackGasLimit(3) finalizedAt(8)   written by lock and every final transition
///   1: token(20) modelId(4) deadline(8)                              read by settlement
///   2: price(16) collateral(16)                                      read by settlement
///   3: callback(20) lockDeadline(8)                                  read by settlement and lock
///   4: requester(20) createdAt(8)                                    read by refunds and slashes
///   5: inputHash(32)                                                 read by settlement, then overwritten
///      with the first word of the job's outputs once it is Fulfilled (the input is proven by then; see
///      InferenceMarket._storeOutputs): a Fulfilled job's input hash reads as 0 (`inputHashOf`).
struct JobRecord {
    address operator;
    JobStatus status;
    uint24 callbackGasLimit;
    uint64 finalizedAt;
    address token;
    uint32 modelId;
    uint64 deadline;
    uint128 price;
    uint128 collateral;
    address callback;
    uint64 lockDeadline;
    address requester;
    uint64 createdAt;
    bytes32 inputHash;
}

/// @notice A stored job as the `Job` the market's views return.
function toJob(JobRecord storage r) view returns (Job memory) {
    return Job({
        requester: r.requester,
        modelId: r.modelId,
        lockDeadline: r.lockDeadline,
        operator: r.operator,
        deadline: r.deadline,
        status: r.status,
        callbackGasLimit: r.callbackGasLimit,
        token: r.token,
        finalizedAt: r.finalizedAt,
        price: r.price,
        collateral: r.collateral,
        callback: r.callback,
        createdAt: r.createdAt,
        inputHash: inputHashOf(r)
    });
}

/// @notice A job's input hash, or 0 once it is Fulfilled (its slot then holds outputs; the input stays in
/// `JobCreated`).
function inputHashOf(JobRecord storage r) view returns (bytes32) {
    return r.status == JobStatus.Fulfilled ? bytes32(0) : r.inputHash;
}

/// @notice The digest of a job's terms, which a lock must name (review M-2): job ids are a counter, and after a
/// reorg an id can belong to another job; a lock (or a signed one) that names the terms it was decided on can
/// never attach its operator to terms it did not check. Covers every field an operator prices or risks. Only
/// meaningful until the job is Fulfilled: settlement reuses the input hash's slot.
function termsHash(uint256 jobId, JobRecord storage job) view returns (bytes32) {
    return keccak256(
        abi.encode(
            jobId,
            job.requester,
            job.modelId,
            job.inputHash,
            job.token,
            job.price,
            job.collateral,
            job.lockDeadline,
            job.deadline,
            job.callback,
            job.callbackGasLimit
        )
    );
}

/// @notice What a requester supplies to `createJob`. Durations are seconds from creation.
struct JobRequest {
    uint32 modelId;
    /// Input felts in the model's registered input layout (each < the BN254 modulus).
    uint256[] input;
    /// address(0) for ETH, else an allow-listed ERC20.
    address token;
    uint128 price;
    /// Operator stake reserved while the job is locked; slashed if the job is not fulfilled by its deadline.
    uint128 collateral;
    uint64 lockTimeout;
    uint64 timeout;
    /// Contract told of the result (IInferenceConsumer), or address(0) (the job then stores a gas limit of 0).
    address callback;
    uint24 callbackGasLimit;
}

/// @notice An operator's signed consent to a fulfilment relayed by someone else (EIP-712).
struct FulfilmentAuth {
    uint256 jobId;
    bytes proof;
    uint256[] instances;
    /// Paid to the relayer out of the job price; the rest goes to the operator.
    uint128 relayerFee;
    /// The only account that may submit this fulfilment and collect the fee; address(0) lets anyone submit it
    /// without a fee.
    address relayer;
    bytes signature;
}


/// @notice One proof for several jobs of one model (issue 13): the batch verifier `batchId` registered for the
/// jobs' model proves `slots` runs at once. Slot k's input instances must be job `jobIds[k]`'s input; a slot whose
/// job id is 0 (and every slot past `jobIds.length`) is padding, bound to no job. Signed by `operator` with EIP-712
/// `FulfilBatch(uint32 batchId,uint256[] jobIds,bytes proof,uint256[] instances,uint128 relayerFee,address relayer)`,
/// or sent by it with an empty signature.
struct BatchFulfilment {
    uint32 batchId;
    uint256[] jobIds;
    bytes proof;
    uint256[] instances;
    /// Paid to the relayer out of each settled job's price.
    uint128 relayerFee;
    /// As in `FulfilmentAuth`: the only account that may submit and collect the fee, or address(0).
    address relayer;
    /// The lock holder vouching for the proof; only jobs it locked settle, and only it is paid.
    address operator;
    bytes signature;
}
