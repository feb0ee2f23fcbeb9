// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BatchFulfilment, FulfilmentAuth, Job, JobRequest, JobStatus} from "../types/Job.sol";
import {IModelRegistry} from "./IModelRegistry.sol";

/// @notice The inference market: escrowed jobs, exclusive locks backed by operator stake, fulfilment by a proof
/// checked by the model's registered verifier, slashing of missed deadlines, pull payments.
interface IInferenceMarket {
    event JobCreated(
        uint256 indexed jobId,
        address indexed requester,
        uint32 indexed modelId,
        address token,
        uint256 price,
        uint256 collateral,
        uint64 lockDeadline,
        uint64 deadline,
        uint256[] input,
        bytes32 terms
    );
    event JobLocked(uint256 indexed jobId, address indexed operator, uint256 collateral);
    event FulfilmentCommitted(uint256 indexed jobId, address indexed operator, bytes32 commitment);
    event LockSignatureCancelled(address indexed operator, uint256 indexed jobId, bytes32 digest);
    event JobFulfilled(
        uint256 indexed jobId, address indexed operator, address indexed relayer, uint256 payment, uint256 relayerFee, int256[] outputs
    );
    event FulfilmentFailed(uint256 indexed jobId, bytes reason);
    event JobSlashed(uint256 indexed jobId, address indexed operator, uint256 collateral, uint256 refund);
    event JobRefunded(uint256 indexed jobId, address indexed requester, uint256 amount);
    event CallbackCalled(uint256 indexed jobId, address indexed callback, bool success);
    event Withdrawal(address indexed account, address indexed token, uint256 amount);
    event WithdrawalTo(address indexed account, address indexed to, address indexed token, uint256 amount);
    event TokenAllowed(address indexed token, bool allowed);
    event MaxJobDurationSet(uint64 maxJobDuration);

    error UnknownJob(uint256 jobId);
    error JobNotInStatus(uint256 jobId, JobStatus status, JobStatus required);
    error ModelNotActive(uint32 modelId);
    error InputLengthMismatch(uint256 expected, uint256 actual);
    error InstanceCountMismatch(uint256 expected, uint256 actual);
    error InstanceOutOfField(uint256 index, uint256 value);
    error InputMismatch(uint256 jobId);
    error ProofRejected(uint256 jobId);
    error NotLockOperator(uint256 jobId, address account, address operator);
    error LockExpired(uint256 jobId, uint64 lockDeadline);
    error LockNotExpired(uint256 jobId, uint64 lockDeadline);
    error DeadlinePassed(uint256 jobId, uint64 deadline);
    error DeadlineNotReached(uint256 jobId, uint64 deadline);
    error InvalidTimeouts(uint64 lockTimeout, uint64 timeout, uint64 maxJobDuration);
    error ZeroPrice();
    error ZeroCollateral();
    error TokenNotAllowed(address token);
    error WrongEthValue(uint256 expected, uint256 sent);
    error FeeOnTransferToken(uint256 expected, uint256 received);
    error CallbackGasTooHigh(uint256 limit, uint256 max);
    error CallbackNotContract(address callback);
    error InsufficientGasForCallback(uint256 available, uint256 required);
    error SignatureExpired(uint64 validUntil);
    error InvalidSignature(address signer, address operator);
    error TermsMismatch(uint256 jobId, bytes32 terms, bytes32 named);
    error LockSignatureIsCancelled(bytes32 digest);
    error NotStakedOperator(address account);
    error FulfilmentNotCommitted(uint256 jobId, bytes32 commitment);
    error RelayerFeeTooHigh(uint256 fee, uint256 price);
    error NotDesignatedRelayer(address caller, address relayer);
    error BatchTooLarge(uint256 size, uint256 max);
    error NothingToWithdraw(address account, address token);
    error EthTransferFailed(address to, uint256 amount);
    error OnlySelf();
    error MaxJobDurationTooLong(uint64 maxJobDuration, uint64 unbondingDelay);
    error MaxJobDurationTooShort(uint64 maxJobDuration, uint64 minimum);
    error ZeroCallbackGas(address callback);
    error ModelRevoked(uint32 modelId);
    error ModelNotRevoked(uint32 modelId);
    error BatchProofRejected(uint32 batchId);
    error BatchRevoked(uint32 batchId);
    /// @notice Why a batch slot's job was skipped (in `FulfilmentFailed`): 1 not Locked (already settled, or
    /// never locked), 2 locked by another operator, 3 of another model, 4 past its deadline, 5 relayer fee above
    /// its price, 6 the slot's input instances are not its input.
    error BatchSlotRejected(uint256 jobId, uint8 reason);

    /// @notice Posts a job and escrows its price now (ETH as msg.value, or an allow-listed ERC20 pulled with
    /// transferFrom). The input must match the model's registered input layout.
    /// @return jobId The new job's id (ids start at 1).
    function createJob(JobRequest calldata request) external payable returns (uint256 jobId);

    /// @notice Locks an open job for the caller until its deadline, reserving `collateral` of the caller's stake.
    /// @param terms The job's `termsOf` digest as the caller saw it when it decided to lock: a lock binds the
    /// job's terms, not only its id, so after a reorg that gives the id to another job the lock reverts
    /// `TermsMismatch` instead of attaching the operator to terms it never checked (review M-2).
    function lock(uint256 jobId, bytes32 terms) external;

    /// @notice Locks a job for `operator` on the strength of its EIP-712
    /// `Lock(uint256 jobId,bytes32 terms,address operator,uint64 validUntil)` signature (relayed lock). The
    /// signature names the terms digest too; it can be cancelled before it is used (`cancelLockSignature`).
    /// A signature that does not recover to `operator` (tampered, malformed) reverts `InvalidSignature`.
    function lockWithSignature(uint256 jobId, bytes32 terms, address operator, uint64 validUntil, bytes calldata signature)
        external;

    /// @notice Cancels the caller's own signed lock before anyone submits it (review M-4): an operator that stops
    /// waiting for a relayed lock cancels it, so a late relay can no longer lock a job nobody will prove.
    function cancelLockSignature(uint256 jobId, bytes32 terms, uint64 validUntil) external;

    /// @notice The digest of a job's terms (job id, requester, model, input hash, token, price, collateral, lock
    /// deadline, deadline, callback and its gas limit) that `lock` and `Lock` signatures must name. Also emitted
    /// in `JobCreated`. Meaningful until the job is Fulfilled (settlement reuses the input hash's slot).
    function termsOf(uint256 jobId) external view returns (bytes32);

    /// @notice Settles a locked job: the caller must be the operator that locked it. The proof and instances are
    /// checked against the model's registered verifier; outputs are decoded from the instances.
    function fulfil(uint256 jobId, bytes calldata proof, uint256[] calldata instances) external;

    /// @notice Settles a job with the locking operator's EIP-712 `Fulfil` signature; anyone (or the named
    /// relayer) may send it. Payment still goes to the operator, less the signed relayer fee.
    function fulfilWithSignature(FulfilmentAuth calldata auth) external;

    /// @notice Settles up to MAX_BATCH signed fulfilments; a failing item emits FulfilmentFailed instead of
    /// reverting the batch. Settled items' collateral is released once per run of consecutive items of one
    /// operator, after those items' callbacks.
    /// @return ok Per item, whether it settled.
    function fulfilBatch(FulfilmentAuth[] calldata auths) external returns (bool[] memory ok);

    /// @notice Settles up to `slots` locked jobs of one model with one proof of its batch verifier `f.batchId`
    /// (issue 13): one verifier call for all of them. Slot k is bound to job `f.jobIds[k]` by its input
    /// instances; a job id of 0 (and every slot past the list) is padding, bound to no job. A rejected proof, a
    /// revoked batch or base model, or a wrong instance count reverts the whole call. A job that cannot settle
    /// (not locked by `f.operator`, of another model, past its deadline, a fee above its price, its slot's
    /// inputs not its input, already settled) is skipped with `FulfilmentFailed(jobId, reason)`; the others are
    /// paid to `f.operator` (less `f.relayerFee` each to the relayer), their collateral released and their
    /// callbacks called, as `fulfilWithSignature` does. Signed by `f.operator` (EIP-712 `FulfilBatch`), or sent
    /// by it with an empty signature.
    /// @return ok Per listed slot, whether its job settled (false for padding).
    function fulfilBatchProof(BatchFulfilment calldata f) external returns (bool[] memory ok);

    /// @notice Secondary fulfilment, step 1: any staked operator commits to the proof it will reveal with
    /// `fulfilSecondary`. `commitment` is `fulfilmentCommitment(jobId, operator, proof, instances)`: it names the
    /// committing operator, so a copied commitment is worthless to the copier.
    function commitFulfilment(uint256 jobId, bytes32 commitment) external;

    /// @notice Secondary fulfilment, step 2 (liveness, as in Boundless): after the lock holder's deadline and until
    /// `expiryOf(jobId)`, any staked operator other than the lock holder may settle the job with a proof it
    /// committed to in an earlier block. The requester gets its result and pays its price, to this fulfiller;
    /// the lock holder's collateral is slashed, SECONDARY_REWARD_BPS of it to this fulfiller, the rest burned.
    /// The commit-reveal makes a fulfilment seen in the mempool worthless to copy: a copier's own commitment
    /// could at best be mined in the same block as the original reveal, which settles the job first.
    function fulfilSecondary(uint256 jobId, bytes calldata proof, uint256[] calldata instances) external;

    /// @notice The commitment `commitFulfilment` takes: keccak256(abi.encode(jobId, operator, keccak256(proof),
    /// keccak256(abi.encodePacked(instances)))).
    function fulfilmentCommitment(uint256 jobId, address operator, bytes calldata proof, uint256[] calldata instances)
        external
        pure
        returns (bytes32);

    /// @notice After the secondary window of a locked job nobody delivered (`expiryOf`): refunds the requester its
    /// price and burns the lock holder's whole collateral (SLASH_BURN_BPS): no requester profits from making an
    /// honest operator fail (review I-1). Anyone may call.
    function slash(uint256 jobId) external;

    /// @notice The end of a job's secondary window: deadline + (deadline - lockDeadline). Between the deadline
    /// and this time another operator may deliver (`fulfilSecondary`); after it the job can be slashed.
    function expiryOf(uint256 jobId) external view returns (uint64);

    /// @notice Refunds a job nobody locked before its lock deadline. Anyone may call; funds go to the requester.
    function refund(uint256 jobId) external;

    /// @notice Pays out the caller's balance in `token` (address(0) for ETH).
    function withdraw(address token) external;

    /// @notice Pays out the caller's balance in `token` to `to` (review L-6): a requester contract whose
    /// `receive` reverts, or a consumer that wants its refunds elsewhere, names the recipient.
    function withdrawTo(address token, address to) external;

    /// @notice Closes an open or locked job of a Revoked model (review L-2): the price back to the requester, the
    /// lock holder's collateral released, no slash. Anyone may call.
    function closeRevoked(uint256 jobId) external;

    /// @notice The job record. A Fulfilled job's `inputHash` reads 0: settlement stores its outputs' first word in
    /// that slot (issue 13: 2.9k gas instead of a fresh slot's 22.1k); the input stays in `JobCreated`.
    function jobOf(uint256 jobId) external view returns (Job memory);

    /// @notice Verified outputs of a fulfilled job (value = output / 2^scale); reverts unless Fulfilled.
    function resultOf(uint256 jobId) external view returns (int256[] memory outputs, uint8 scale, uint64 finalizedAt);

    /// @notice Price of jobs not final yet, held in escrow, in `token` (address(0) = ETH).
    function escrowed(address token) external view returns (uint256);

    /// @notice Sum of withdrawable balances in `token`: the market holds exactly escrowed + owed.
    function owed(address token) external view returns (uint256);

    /// @notice True once the job can no longer change: Fulfilled, Slashed or Refunded.
    function isFinal(uint256 jobId) external view returns (bool);

    /// @notice Withdrawable balance of `account` in `token`.
    function balanceOf(address account, address token) external view returns (uint256);

    /// @notice The registry whose verifiers and layouts the market trusts.
    function registry() external view returns (IModelRegistry);

    /// @notice The longest lifetime (creation to deadline) a job may have.
    function maxJobDuration() external view returns (uint64);
}
