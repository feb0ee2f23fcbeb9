// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IHalo2Verifier} from "./interfaces/IHalo2Verifier.sol";
import {IInferenceConsumer} from "./interfaces/IInferenceConsumer.sol";
import {IInferenceMarket} from "./interfaces/IInferenceMarket.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IOperatorStaking} from "./interfaces/IOperatorStaking.sol";
import {Felt} from "./libraries/Felt.sol";
import {BatchFulfilment, FulfilmentAuth, Job, JobRecord, JobRequest, JobStatus, termsHash, toJob} from "./types/Job.sol";
import {ModelStatus} from "./types/ModelVersion.sol";

/// @title InferenceMarket
/// @notice Requesters escrow payment for an inference of a registered model; a staked operator locks the job,
/// proves the run with ezkl and settles it here. The proof is checked by the verifier the model registry names,
/// the input instances must equal the job's input, and the outputs are decoded from the output instances.
contract InferenceMarket is IInferenceMarket, AccessControl, Pausable, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;

    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    bytes32 public constant LOCK_TYPEHASH = keccak256("Lock(uint256 jobId,bytes32 terms,address operator,uint64 validUntil)");
    bytes32 public constant FULFIL_TYPEHASH =
        keccak256("Fulfil(uint256 jobId,bytes proof,uint256[] instances,uint128 relayerFee,address relayer)");
    bytes32 public constant FULFIL_BATCH_TYPEHASH = keccak256(
        "FulfilBatch(uint32 batchId,uint256[] jobIds,bytes proof,uint256[] instances,uint128 relayerFee,address relayer)"
    );

    /// @dev A job nobody delivered: its lock holder's whole collateral is burned. None of it goes to the requester
    /// (review I-1): a requester paid for failing an honest operator (an unprovable input, a reorg, a griefed
    /// relay) would have a reason to make it fail. The requester gets its price back, no more.
    uint256 public constant SLASH_BURN_BPS = 10_000;
    /// @dev A job another operator delivered after the lock holder's deadline (secondary fulfilment, as in
    /// Boundless): this share of the lock holder's collateral rewards that fulfiller, the rest is burned. Half, so
    /// that a lock holder delivering late from a second address (sybil) still loses half its collateral.
    uint256 public constant SECONDARY_REWARD_BPS = 5_000;
    /// @dev Bounds a batch's gas so one call cannot exceed a block.
    uint256 public constant MAX_BATCH = 32;
    /// @dev Bounds what a requester can make a fulfiller pay for the callback.
    uint256 public constant MAX_CALLBACK_GAS = 3_000_000;
    /// @dev What the CALL to the callback costs on top of the gas it forwards, once the check has passed: cold
    /// account access (2,600) and a few opcodes; the calldata is already encoded when the check runs (review L-1).
    uint256 private constant CALLBACK_CALL_OVERHEAD = 3_000;
    /// @dev Shortest time a job may leave between its lock deadline and its deadline (review I-4): a lock taken at
    /// the last moment must still leave time to prove.
    uint64 public constant MIN_PROVING_WINDOW = 60;
    /// @dev Marks a job whose outputs are stored one word each (see `_storeOutputs`): as a packed word it would
    /// start with int64's minimum, which packing never stores.
    uint256 private constant WIDE_OUTPUTS = uint256(uint64(type(int64).min));
    /// @dev Bounds below what governance may set as the longest job: 0 would block every createJob (review I-3).
    uint64 public constant MIN_JOB_DURATION = 10 minutes;
    uint256 private constant BPS = 10_000;

    IModelRegistry public immutable override registry;
    IOperatorStaking public immutable staking;
    uint64 public override maxJobDuration;

    /// @dev Solvency counters of one token, in one slot: settlement moves a price from one to the other with a
    /// single write. uint128 holds any ETH amount; a token whose escrow exceeds 2^128 units reverts on overflow.
    struct Holdings {
        uint128 escrowed;
        uint128 owed;
    }

    mapping(uint256 jobId => JobRecord) private _jobs;
    /// Verified outputs of fulfilled jobs, packed (see `_storeOutputs`): word index => word, from word 1 (word 0
    /// lives in the job record).
    mapping(uint256 jobId => mapping(uint256 word => uint256)) private _results;
    mapping(address account => mapping(address token => uint256)) public override balanceOf;
    mapping(address token => bool) public tokenAllowed;
    /// Solvency counters per token (address(0) = ETH): the market's balance equals escrowed + owed.
    mapping(address token => Holdings) private _holdings;
    uint256 public jobCount;
    /// EIP-712 digests of `Lock` signatures their operator cancelled.
    mapping(bytes32 digest => bool) public lockSignatureCancelled;
    /// Block in which a secondary fulfilment commitment was made (commit-reveal; see `commitFulfilment`).
    mapping(bytes32 commitment => uint256 blockNumber) public committedAt;

    constructor(address admin, IModelRegistry registry_, IOperatorStaking staking_, uint64 maxJobDuration_)
        EIP712("Verdict InferenceMarket", "1")
    {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        registry = registry_;
        staking = staking_;
        _setMaxJobDuration(maxJobDuration_);
    }

    // ----------------------------------------------------------------------------------------------- create

    /// @inheritdoc IInferenceMarket
    function createJob(JobRequest calldata r) external payable nonReentrant whenNotPaused returns (uint256 jobId) {
        // checks
        Statement memory m = _model(r.modelId);
        if (m.status != ModelStatus.Active) revert ModelNotActive(r.modelId);
        if (r.input.length != m.inputCount) revert InputLengthMismatch(m.inputCount, r.input.length);
        uint256 bad = Felt.firstOutOfField(r.input);
        if (bad != r.input.length) revert InstanceOutOfField(bad, r.input[bad]);
        if (r.price == 0) revert ZeroPrice();
        if (r.collateral == 0) revert ZeroCollateral();
        // A lock taken at the lock deadline must still leave MIN_PROVING_WINDOW to prove (review I-4).
        if (r.lockTimeout == 0 || r.timeout < r.lockTimeout + MIN_PROVING_WINDOW || r.timeout > maxJobDuration) {
            revert InvalidTimeouts(r.lockTimeout, r.timeout, maxJobDuration);
        }
        if (r.callbackGasLimit > MAX_CALLBACK_GAS) revert CallbackGasTooHigh(r.callbackGasLimit, MAX_CALLBACK_GAS);
        if (r.callback != address(0)) {
            // A call to an address without code "succeeds" without running anything; refuse it up front. A
            // callback with no gas could never succeed (review I-4).
            if (r.callback.code.length == 0) revert CallbackNotContract(r.callback);
            if (r.callbackGasLimit == 0) revert ZeroCallbackGas(r.callback);
        }

        // effects
        jobId = ++jobCount;
        uint64 now_ = uint64(block.timestamp);
        _jobs[jobId] = JobRecord({
            operator: address(0),
            status: JobStatus.Open,
            // 0 without a callback, so settlement knows there is none without reading the callback's slot
            callbackGasLimit: r.callback == address(0) ? 0 : r.callbackGasLimit,
            finalizedAt: 0,
            token: r.token,
            modelId: r.modelId,
            deadline: now_ + r.timeout,
            price: r.price,
            collateral: r.collateral,
            callback: r.callback,
            lockDeadline: now_ + r.lockTimeout,
            requester: msg.sender,
            createdAt: now_,
            inputHash: keccak256(abi.encodePacked(r.input))
        });
        _holdings[r.token].escrowed += r.price;

        // interactions: escrow now, so no operator ever works for a job that is not paid for
        if (r.token == address(0)) {
            if (msg.value != r.price) revert WrongEthValue(r.price, msg.value);
        } else {
            if (msg.value != 0) revert WrongEthValue(0, msg.value);
            if (!tokenAllowed[r.token]) revert TokenNotAllowed(r.token);
            IERC20 token = IERC20(r.token);
            uint256 before = token.balanceOf(address(this));
            token.safeTransferFrom(msg.sender, address(this), r.price);
            uint256 received = token.balanceOf(address(this)) - before;
            if (received != r.price) revert FeeOnTransferToken(r.price, received);
        }
        _emitCreated(jobId, r.input);
    }

    /// @dev Split out of createJob for the stack: the event carries the terms digest a lock must name.
    function _emitCreated(uint256 jobId, uint256[] calldata input) private {
        JobRecord storage job = _jobs[jobId];
        emit JobCreated(
            jobId,
            job.requester,
            job.modelId,
            job.token,
            job.price,
            job.collateral,
            job.lockDeadline,
            job.deadline,
            input,
            termsHash(jobId, job)
        );
    }

    // ----------------------------------------------------------------------------------------------- lock

    /// @inheritdoc IInferenceMarket
    function lock(uint256 jobId, bytes32 terms) external nonReentrant whenNotPaused {
        _lock(jobId, terms, msg.sender);
    }

    /// @inheritdoc IInferenceMarket
    function lockWithSignature(uint256 jobId, bytes32 terms, address operator, uint64 validUntil, bytes calldata signature)
        external
        nonReentrant
        whenNotPaused
    {
        if (block.timestamp > validUntil) revert SignatureExpired(validUntil);
        bytes32 digest = _lockDigest(jobId, terms, operator, validUntil);
        if (lockSignatureCancelled[digest]) revert LockSignatureIsCancelled(digest);
        _requireSigner(digest, signature, operator);
        // A lock signature cannot be replayed: a job is locked at most once, and the terms pin which job.
        _lock(jobId, terms, operator);
    }

    /// @inheritdoc IInferenceMarket
    function cancelLockSignature(uint256 jobId, bytes32 terms, uint64 validUntil) external {
        bytes32 digest = _lockDigest(jobId, terms, msg.sender, validUntil);
        lockSignatureCancelled[digest] = true;
        emit LockSignatureCancelled(msg.sender, jobId, digest);
    }

    function _lock(uint256 jobId, bytes32 terms, address operator) private {
        JobRecord storage job = _requireStatus(jobId, JobStatus.Open);
        if (block.timestamp > job.lockDeadline) revert LockExpired(jobId, job.lockDeadline);
        bytes32 actual = termsHash(jobId, job);
        if (actual != terms) revert TermsMismatch(jobId, actual, terms);
        job.status = JobStatus.Locked;
        job.operator = operator;
        // The staking contract is trusted (set at deployment); it reverts if the stake cannot cover the collateral.
        staking.reserve(operator, job.collateral);
        emit JobLocked(jobId, operator, job.collateral);
    }

    function _lockDigest(uint256 jobId, bytes32 terms, address operator, uint64 validUntil) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(LOCK_TYPEHASH, jobId, terms, operator, validUntil)));
    }

    /// @dev A signature that does not recover to `expected` (another signer, a tampered or malformed signature)
    /// reverts `InvalidSignature(recovered, expected)`; recovered is address(0) when nothing can be recovered.
    function _requireSigner(bytes32 digest, bytes calldata signature, address expected) private pure {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        // err is checked too: a failed recovery yields address(0), which must not pass for an expected address(0).
        if (err != ECDSA.RecoverError.NoError || signer != expected) revert InvalidSignature(signer, expected);
    }

    // ----------------------------------------------------------------------------------------------- fulfil

    /// @inheritdoc IInferenceMarket
    function fulfil(uint256 jobId, bytes calldata proof, uint256[] calldata instances) external nonReentrant {
        _fulfil(jobId, _requireStatus(jobId, JobStatus.Locked), msg.sender, proof, instances, address(0), 0, true);
    }

    /// @inheritdoc IInferenceMarket
    function fulfilWithSignature(FulfilmentAuth calldata auth) external nonReentrant {
        _fulfilSigned(auth, msg.sender, true);
    }

    /// @inheritdoc IInferenceMarket
    function fulfilBatch(FulfilmentAuth[] calldata auths) external nonReentrant returns (bool[] memory ok) {
        if (auths.length > MAX_BATCH) revert BatchTooLarge(auths.length, MAX_BATCH);
        ok = new bool[](auths.length);
        // Collateral of settled items is released once per run of one operator's items, not once per item.
        address releaseFor = address(0);
        uint256 release = 0;
        for (uint256 i; i < auths.length; ++i) {
            // A self-call gives each item its own revert scope; the guard stays held by this outer call. Each item
            // gets at most an even share of the gas left (review L-7): a malformed proof that makes a precompile
            // burn all the gas it is given cannot starve the items after it.
            uint256 share = gasleft() / (auths.length - i);
            (bool success, bytes memory ret) = address(this).call{gas: share}(_itemCall(auths, i));
            if (!success) {
                emit FulfilmentFailed(auths[i].jobId, ret);
                continue;
            }
            ok[i] = true;
            (address operator, uint256 collateral) = abi.decode(ret, (address, uint256));
            if (operator != releaseFor) {
                if (release != 0) _release(releaseFor, release);
                (releaseFor, release) = (operator, 0);
            }
            release += collateral;
        }
        if (release != 0) _release(releaseFor, release);
    }

    /// @dev The calldata of `fulfilBatchItem(auths[i], msg.sender)`, made of item i's ABI encoding copied as it stands
    /// in this call's calldata (its offsets are relative to its own start) instead of re-encoding it: ~0.5k gas an
    /// item. Item i ends where item i + 1 starts, or at the end of the calldata. An item whose encoding does not fit
    /// that span cannot be decoded by `fulfilBatchItem` and fails; one that decodes is exactly `auths[i]`.
    function _itemCall(FulfilmentAuth[] calldata auths, uint256 i) private view returns (bytes memory) {
        FulfilmentAuth calldata item = auths[i];
        uint256 start;
        uint256 end = msg.data.length;
        assembly ("memory-safe") {
            start := item
        }
        if (i + 1 < auths.length) {
            FulfilmentAuth calldata next = auths[i + 1];
            uint256 nextStart;
            assembly ("memory-safe") {
                nextStart := next
            }
            if (nextStart > start) end = nextStart;
        }
        // head: the offset of the item's encoding (after the two head words), and the sender
        return abi.encodePacked(this.fulfilBatchItem.selector, uint256(0x40), uint256(uint160(msg.sender)), msg.data[start:end]);
    }

    /// @notice One item of `fulfilBatch`. Callable only by this contract. Settles the job and calls its callback;
    /// returns the lock holder and collateral for `fulfilBatch` to release.
    function fulfilBatchItem(FulfilmentAuth calldata auth, address sender)
        external
        returns (address operator, uint256 collateral)
    {
        if (msg.sender != address(this)) revert OnlySelf();
        JobRecord storage job = _fulfilSigned(auth, sender, false);
        return (job.operator, job.collateral);
    }

    function _fulfilSigned(FulfilmentAuth calldata a, address sender, bool release)
        private
        returns (JobRecord storage job)
    {
        // A fee needs a named relayer, and only that relayer may collect it: a copied transaction earns nothing.
        if (a.relayer != address(0) && sender != a.relayer) revert NotDesignatedRelayer(sender, a.relayer);
        if (a.relayer == address(0) && a.relayerFee != 0) revert NotDesignatedRelayer(sender, address(0));
        bytes32 structHash = keccak256(
            abi.encode(
                FULFIL_TYPEHASH,
                a.jobId,
                keccak256(a.proof),
                keccak256(abi.encodePacked(a.instances)),
                a.relayerFee,
                a.relayer
            )
        );
        // The signer must be the lock holder: a tampered signature recovers a random address, which is reported as
        // InvalidSignature rather than as a lock held by someone else.
        job = _requireStatus(a.jobId, JobStatus.Locked);
        address operator = job.operator;
        _requireSigner(_hashTypedDataV4(structHash), a.signature, operator);
        _fulfil(a.jobId, job, operator, a.proof, a.instances, a.relayer, a.relayerFee, release);
    }

    /// @dev Settles `job` (checked Locked by the caller). `operator` is who vouches for the fulfilment (the sender,
    /// or the signer of a relayed one); it must be the operator that locked the job, and only it is paid. Its
    /// collateral is released here unless `release` is false (a `fulfilBatch` item: the batch releases it).
    function _fulfil(
        uint256 jobId,
        JobRecord storage job,
        address operator,
        bytes calldata proof,
        uint256[] calldata instances,
        address relayer,
        uint128 relayerFee,
        bool release
    ) private {
        // lifecycle: the lock owner, before the deadline
        if (operator != job.operator) revert NotLockOperator(jobId, operator, job.operator);
        if (block.timestamp > job.deadline) revert DeadlinePassed(jobId, job.deadline);
        if (relayerFee > job.price) revert RelayerFeeTooHigh(relayerFee, job.price);
        int256[] memory outputs = _checkStatement(jobId, job, proof, instances);
        // effects: final status, payment credited (pulled later), fee to the named relayer
        _settle(jobId, job, operator, relayer, relayerFee, outputs);
        // interactions: trusted staking first, then the untrusted callback last
        if (release) _release(operator, job.collateral);
        _notify(jobId, job, outputs);
    }

    // ----------------------------------------------------------------------------------------------- batch proofs

    /// @dev What a proof's instances are laid out by: `slots` runs of a model (1 for a single job; see
    /// `BatchVersion` for a batch), and the verifier that checks them.
    struct Statement {
        uint32 modelId;
        ModelStatus status;
        uint8 outputScale;
        uint256 slots;
        uint256 inputCount;
        uint256 outputCount;
        address verifier;
        bytes32 codehash;
    }

    /// @inheritdoc IInferenceMarket
    function fulfilBatchProof(BatchFulfilment calldata f) external nonReentrant returns (bool[] memory ok) {
        // checks on the whole proof: who vouches for it, then one call to the batch verifier
        _checkBatchAuth(f);
        Statement memory b = _verifyBatch(f);
        // effects, slot by slot: a job that cannot settle any more is reported and skipped, the others settle
        uint256 n = f.jobIds.length;
        ok = new bool[](n);
        int256[][] memory outputs = new int256[][](n);
        uint256 collateral = 0;
        for (uint256 k; k < n; ++k) {
            uint256 jobId = f.jobIds[k];
            if (jobId == 0) continue; // a padded slot, bound to no job
            bytes memory reason = _batchSlotError(f, k, b);
            if (reason.length != 0) {
                emit FulfilmentFailed(jobId, reason);
                continue;
            }
            outputs[k] = _settleBatchSlot(f, k, b);
            collateral += _jobs[jobId].collateral;
            ok[k] = true;
        }
        // interactions: the operator's collateral released in one call (all settled jobs are its own), then each
        // job's callback, last
        if (collateral != 0) _release(f.operator, collateral);
        for (uint256 k; k < n; ++k) {
            if (ok[k]) _notify(f.jobIds[k], _jobs[f.jobIds[k]], outputs[k]);
        }
    }

    /// @dev Effects of settling slot k's job (checked by `_batchSlotError`): outputs stored, then `_settle`.
    function _settleBatchSlot(BatchFulfilment calldata f, uint256 k, Statement memory b)
        private
        returns (int256[] memory outputs)
    {
        uint256 jobId = f.jobIds[k];
        JobRecord storage job = _jobs[jobId];
        uint256 out0 = b.slots * b.inputCount + k * b.outputCount;
        outputs = _storeOutputs(jobId, job, f.instances[out0:out0 + b.outputCount]);
        _settle(jobId, job, f.operator, f.relayer, f.relayerFee, outputs);
    }

    /// @dev Effects of a fulfilment by its lock holder: final status, its price credited to the operator (pulled
    /// later) less the fee to the named relayer.
    function _settle(
        uint256 jobId,
        JobRecord storage job,
        address operator,
        address relayer,
        uint128 relayerFee,
        int256[] memory outputs
    ) private {
        (address token, uint128 price) = _finalise(job, JobStatus.Fulfilled);
        uint256 payment = price - relayerFee;
        _credit(operator, token, payment);
        if (relayerFee != 0) _credit(relayer, token, relayerFee);
        emit JobFulfilled(jobId, operator, relayer, payment, relayerFee, outputs);
    }

    /// @dev A batch is relayed like a single fulfilment (`_fulfilSigned`), or sent by its operator unsigned.
    function _checkBatchAuth(BatchFulfilment calldata f) private view {
        if (f.relayer != address(0) && msg.sender != f.relayer) revert NotDesignatedRelayer(msg.sender, f.relayer);
        if (f.relayer == address(0) && f.relayerFee != 0) revert NotDesignatedRelayer(msg.sender, address(0));
        if (f.signature.length == 0 && msg.sender == f.operator) return;
        bytes32 structHash = keccak256(
            abi.encode(
                FULFIL_BATCH_TYPEHASH,
                f.batchId,
                keccak256(abi.encodePacked(f.jobIds)),
                keccak256(f.proof),
                keccak256(abi.encodePacked(f.instances)),
                f.relayerFee,
                f.relayer
            )
        );
        _requireSigner(_hashTypedDataV4(structHash), f.signature, f.operator);
    }

    /// @dev The batch verifier (not revoked, its base model not revoked), the instance layout, canonical felts, and
    /// one verifier call. A rejected proof reverts the whole batch: it proves nothing about any slot.
    function _verifyBatch(BatchFulfilment calldata f) private returns (Statement memory b) {
        (uint32 modelId, uint16 slots, address verifier, bytes32 codehash, bool revoked) = registry.batchLayout(f.batchId);
        if (revoked) revert BatchRevoked(f.batchId);
        if (f.jobIds.length > slots) revert BatchTooLarge(f.jobIds.length, slots);
        b = _model(modelId);
        b.slots = slots;
        _checkLayout(b, f.instances);
        if (!_verifies(verifier, codehash, f.proof, f.instances)) revert BatchProofRejected(f.batchId);
    }

    /// @dev Why slot k's job cannot settle with this proof, as `BatchSlotRejected(jobId, reason)`, or empty when it
    /// can: locked (1) by the batch's operator (2), of the batch's model (3), before its deadline (4), a fee
    /// within its price (5), and slot k's input instances equal to its input (6).
    function _batchSlotError(BatchFulfilment calldata f, uint256 k, Statement memory b)
        private
        view
        returns (bytes memory)
    {
        uint256 jobId = f.jobIds[k];
        JobRecord storage job = _jobs[jobId];
        uint256 in0 = k * b.inputCount;
        uint8 reason;
        if (job.status != JobStatus.Locked) reason = 1;
        else if (job.operator != f.operator) reason = 2;
        else if (job.modelId != b.modelId) reason = 3;
        else if (block.timestamp > job.deadline) reason = 4;
        else if (f.relayerFee > job.price) reason = 5;
        else if (keccak256(abi.encodePacked(f.instances[in0:in0 + b.inputCount])) != job.inputHash) reason = 6;
        else return "";
        return abi.encodeWithSelector(BatchSlotRejected.selector, jobId, reason);
    }

    /// @inheritdoc IInferenceMarket
    function commitFulfilment(uint256 jobId, bytes32 commitment) external {
        _requireStatus(jobId, JobStatus.Locked);
        if (committedAt[commitment] == 0) committedAt[commitment] = block.number;
        emit FulfilmentCommitted(jobId, msg.sender, commitment);
    }

    /// @inheritdoc IInferenceMarket
    function fulfilSecondary(uint256 jobId, bytes calldata proof, uint256[] calldata instances) external nonReentrant {
        // checks: past the lock holder's deadline, inside the secondary window, a staked operator other than the
        // lock holder, revealing a commitment made in an earlier block (so a copy of this transaction seen in the
        // mempool cannot be committed and revealed ahead of it)
        JobRecord storage job = _requireStatus(jobId, JobStatus.Locked);
        if (block.timestamp <= job.deadline) revert DeadlineNotReached(jobId, job.deadline);
        uint64 expiry = _expiry(job);
        if (block.timestamp > expiry) revert DeadlinePassed(jobId, expiry);
        address lockHolder = job.operator;
        if (msg.sender == lockHolder) revert NotLockOperator(jobId, msg.sender, address(0));
        if (staking.freeStake(msg.sender) == 0) revert NotStakedOperator(msg.sender);
        bytes32 commitment = fulfilmentCommitment(jobId, msg.sender, proof, instances);
        uint256 at = committedAt[commitment];
        if (at == 0 || at >= block.number) revert FulfilmentNotCommitted(jobId, commitment);
        int256[] memory outputs = _checkStatement(jobId, job, proof, instances);
        // effects: the requester gets its result and pays its price, to the operator that delivered it
        _settle(jobId, job, msg.sender, address(0), 0, outputs);
        emit JobSlashed(jobId, lockHolder, job.collateral, 0);
        // interactions: the lock holder's collateral, part to this fulfiller and the rest burned; then the callback
        _slash(lockHolder, job.collateral, BPS - SECONDARY_REWARD_BPS, msg.sender);
        _notify(jobId, job, outputs);
    }

    /// @inheritdoc IInferenceMarket
    function fulfilmentCommitment(uint256 jobId, address operator, bytes calldata proof, uint256[] calldata instances)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(jobId, operator, keccak256(proof), keccak256(abi.encodePacked(instances))));
    }

    /// @dev Statement binding: layout, canonical felts, this job's input; then the model's registered verifier.
    /// Stores and returns the outputs decoded from the output instances.
    function _checkStatement(uint256 jobId, JobRecord storage job, bytes calldata proof, uint256[] calldata instances)
        private
        returns (int256[] memory outputs)
    {
        Statement memory m = _model(job.modelId);
        _checkLayout(m, instances);
        uint256 inputCount = m.inputCount;
        if (keccak256(abi.encodePacked(instances[:inputCount])) != job.inputHash) revert InputMismatch(jobId);
        if (!_verifies(m.verifier, m.codehash, proof, instances)) revert ProofRejected(jobId);
        outputs = _storeOutputs(jobId, job, instances[inputCount:]);
    }

    /// @dev A model version's statement shape, read once from the registry (one call site keeps the market small).
    function _model(uint32 modelId) private view returns (Statement memory m) {
        m.modelId = modelId;
        m.slots = 1;
        (m.verifier, m.inputCount, m.outputCount, m.outputScale, m.status, m.codehash) = registry.layout(modelId);
    }

    /// @dev The instance layout of a proof of `m`: not of a revoked model (its proofs prove nothing: its jobs close
    /// with refunds, never settle), `slots` x (inputs + outputs) instances, each output a canonical felt.
    function _checkLayout(Statement memory m, uint256[] calldata instances) private pure {
        if (m.status == ModelStatus.Revoked) revert ModelRevoked(m.modelId);
        uint256 expected = m.slots * (m.inputCount + m.outputCount);
        if (instances.length != expected) revert InstanceCountMismatch(expected, instances.length);
        // Only the outputs: an input instance must equal its job's input, which createJob checked canonical (a
        // non-canonical one is refused as InputMismatch); a padded slot's inputs bind no job.
        uint256 inputs = m.slots * m.inputCount;
        uint256 bad = inputs + Felt.firstOutOfField(instances[inputs:]);
        if (bad != expected) revert InstanceOutOfField(bad, instances[bad]);
    }

    /// @dev Decodes output felts and stores them packed, four int64 lanes to a word (outputs are fixed-point
    /// values the circuit's range checks keep far below 2^63). A job with an output that does not fit a lane (or
    /// is int64's minimum) is stored wide instead: word 0 holds WIDE_OUTPUTS, words 1..n the full values.
    /// Word 0 goes into the job's input-hash slot, checked just before and dead once the job is Fulfilled: a
    /// warm overwrite costs 2.9k gas where a fresh slot costs 22.1k (issue 13). Words 1.. go to `_results`.
    function _storeOutputs(uint256 jobId, JobRecord storage job, uint256[] calldata felts)
        private
        returns (int256[] memory outputs)
    {
        uint256 n = felts.length;
        outputs = new int256[](n);
        bool wide = false;
        for (uint256 i; i < n; ++i) {
            int256 v = Felt.toSigned(felts[i]);
            outputs[i] = v;
            if (v <= type(int64).min || v > type(int64).max) wide = true;
        }
        mapping(uint256 => uint256) storage words = _results[jobId];
        if (wide) {
            job.inputHash = bytes32(WIDE_OUTPUTS);
            for (uint256 i; i < n; ++i) {
                words[i + 1] = uint256(outputs[i]);
            }
            return outputs;
        }
        uint256 word = 0;
        for (uint256 i; i < n; ++i) {
            // The casts keep the low 64 bits of the two's complement: v fits int64 (checked above).
            word |= uint256(uint64(int64(outputs[i]))) << (64 * (i % 4));
            if (i % 4 == 3 || i == n - 1) {
                if (i < 4) job.inputHash = bytes32(word);
                else words[i / 4] = word;
                word = 0;
            }
        }
    }

    /// @dev The outputs `_storeOutputs` stored for a Fulfilled job of `n` outputs.
    function _loadOutputs(uint256 jobId, JobRecord storage job, uint256 n) private view returns (int256[] memory outputs) {
        mapping(uint256 => uint256) storage words = _results[jobId];
        uint256 first = uint256(job.inputHash);
        outputs = new int256[](n);
        if (first == WIDE_OUTPUTS) {
            for (uint256 i; i < n; ++i) {
                outputs[i] = int256(words[i + 1]);
            }
            return outputs;
        }
        for (uint256 i; i < n; ++i) {
            outputs[i] = int64(uint64((i < 4 ? first : words[i / 4]) >> (64 * (i % 4))));
        }
    }

    /// @dev The end of the secondary window: a second proving window as long as the one the lock holder was
    /// promised at least (deadline - lockDeadline). After it, the job can only be slashed.
    function _expiry(JobRecord storage job) private view returns (uint64) {
        return job.deadline + (job.deadline - job.lockDeadline);
    }

    /// @dev The one call site of `staking.release` (each high-level call site costs ~100 bytes of code). The
    /// staking contract is trusted (set at deployment).
    function _release(address operator, uint256 amount) private {
        staking.release(operator, amount);
    }

    /// @dev The one call site of `staking.slash`, as `_release`.
    function _slash(address operator, uint256 amount, uint256 burnBps, address beneficiary) private {
        staking.slash(operator, amount, burnBps, beneficiary);
    }

    /// @dev ezkl verifiers revert on some bad proofs and return false on others: both are a rejection. So are a
    /// verifier whose code is no longer the code pinned at registration (upgraded, re-delegated, emptied) and one
    /// that returns no word (a code-less account: a high-level call would revert in this contract instead, and
    /// fail every fulfilment of the model; review L-2).
    function _verifies(address verifier, bytes32 codehash, bytes calldata proof, uint256[] calldata instances)
        private
        returns (bool)
    {
        if (verifier.codehash != codehash) return false;
        (bool ok, bytes memory ret) = verifier.call(abi.encodeCall(IHalo2Verifier.verifyProof, (proof, instances)));
        return ok && ret.length >= 32 && abi.decode(ret, (uint256)) == 1;
    }

    /// @dev Calls the requester's callback with its own gas limit. Settlement is already done and never depends
    /// on the callee: no revert propagates and no return data is copied (a huge return cannot cost us gas).
    /// A job without a callback has a callback gas limit of 0 (createJob stores it so), which is read first: the
    /// callback's own slot is only read for a job that has one.
    function _notify(uint256 jobId, JobRecord storage job, int256[] memory outputs) private {
        uint256 gasLimit = job.callbackGasLimit;
        if (gasLimit == 0) return;
        address callback = job.callback;
        bytes memory data = abi.encodeCall(IInferenceConsumer.onInferenceResult, (jobId, outputs));
        // 63/64 rule, checked right before the CALL with the calldata already encoded (review L-1): a sender could
        // otherwise pass just enough gas for settlement and starve the callback. The CALL forwards at most 63/64 of
        // what is left after its own cost, so the callee gets its full limit exactly when this check passes.
        uint256 available = gasleft();
        uint256 required = gasLimit + gasLimit / 63 + CALLBACK_CALL_OVERHEAD + 1;
        if (available < required) revert InsufficientGasForCallback(available, required);
        bool success;
        assembly ("memory-safe") {
            success := call(gasLimit, callback, 0, add(data, 0x20), mload(data), 0, 0)
        }
        emit CallbackCalled(jobId, callback, success);
    }

    // ----------------------------------------------------------------------------------------------- slash, refund

    /// @inheritdoc IInferenceMarket
    function slash(uint256 jobId) external nonReentrant {
        // checks: locked, and past the secondary window too (until then another operator may still deliver)
        JobRecord storage job = _requireStatus(jobId, JobStatus.Locked);
        uint64 expiry = _expiry(job);
        if (block.timestamp <= expiry) revert DeadlineNotReached(jobId, expiry);
        // effects: final status, price back to the requester
        _closeWithRefund(job, JobStatus.Slashed);
        emit JobSlashed(jobId, job.operator, job.collateral, job.price);
        // interactions: the collateral is burned (nobody, the requester included, profits from a failure)
        _slash(job.operator, job.collateral, SLASH_BURN_BPS, address(0));
    }

    /// @inheritdoc IInferenceMarket
    function refund(uint256 jobId) external nonReentrant {
        JobRecord storage job = _requireStatus(jobId, JobStatus.Open);
        if (block.timestamp <= job.lockDeadline) revert LockNotExpired(jobId, job.lockDeadline);
        _closeWithRefund(job, JobStatus.Refunded);
        emit JobRefunded(jobId, job.requester, job.price);
    }

    /// @inheritdoc IInferenceMarket
    function closeRevoked(uint256 jobId) external nonReentrant {
        JobRecord storage job = _known(jobId);
        if (_model(job.modelId).status != ModelStatus.Revoked) revert ModelNotRevoked(job.modelId);
        JobStatus status = job.status;
        if (status != JobStatus.Open && status != JobStatus.Locked) revert JobNotInStatus(jobId, status, JobStatus.Locked);
        // effects: refunded, price back to the requester; interactions: the lock holder's collateral released,
        // never slashed (an unsound verifier is nobody's fault among the parties to the job)
        _closeWithRefund(job, JobStatus.Refunded);
        emit JobRefunded(jobId, job.requester, job.price);
        if (status == JobStatus.Locked) _release(job.operator, job.collateral);
    }

    /// @dev Ends a job without a result: final status, and its escrowed price credited back to the requester.
    function _closeWithRefund(JobRecord storage job, JobStatus status) private {
        (address token, uint128 price) = _finalise(job, status);
        _credit(job.requester, token, price);
    }

    /// @dev A final status; the escrowed price leaves escrow and becomes owed (the caller credits all of it to
    /// someone's balance). Returns the job's token and price.
    function _finalise(JobRecord storage job, JobStatus status) private returns (address token, uint128 price) {
        job.status = status;
        job.finalizedAt = uint64(block.timestamp);
        // one read and one write of the counters' slot
        token = job.token;
        price = job.price;
        Holdings memory h = _holdings[token];
        _holdings[token] = Holdings(h.escrowed - price, h.owed + price);
    }

    // ----------------------------------------------------------------------------------------------- payments

    /// @inheritdoc IInferenceMarket
    function withdraw(address token) external nonReentrant {
        _withdraw(token, msg.sender);
    }

    /// @inheritdoc IInferenceMarket
    function withdrawTo(address token, address to) external nonReentrant {
        _withdraw(token, to);
    }

    function _withdraw(address token, address to) private {
        uint256 amount = balanceOf[msg.sender][token];
        if (amount == 0) revert NothingToWithdraw(msg.sender, token);
        balanceOf[msg.sender][token] = 0;
        // amount <= owed (every balance was counted in owed when its job was finalised), so it fits uint128.
        _holdings[token].owed -= uint128(amount);
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert EthTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
        emit Withdrawal(msg.sender, token, amount);
        if (to != msg.sender) emit WithdrawalTo(msg.sender, to, token, amount);
    }

    /// @dev Credits a share of a finalised job's price (already counted in `owed` by `_finalise`).
    function _credit(address account, address token, uint256 amount) private {
        balanceOf[account][token] += amount;
    }

    // ----------------------------------------------------------------------------------------------- views

    /// @inheritdoc IInferenceMarket
    function jobOf(uint256 jobId) external view returns (Job memory) {
        return toJob(_known(jobId));
    }

    /// @inheritdoc IInferenceMarket
    function resultOf(uint256 jobId) external view returns (int256[] memory outputs, uint8 scale, uint64 finalizedAt) {
        JobRecord storage job = _requireStatus(jobId, JobStatus.Fulfilled);
        Statement memory m = _model(job.modelId);
        return (_loadOutputs(jobId, job, m.outputCount), m.outputScale, job.finalizedAt);
    }

    /// @inheritdoc IInferenceMarket
    function escrowed(address token) external view returns (uint256) {
        return _holdings[token].escrowed;
    }

    /// @inheritdoc IInferenceMarket
    function owed(address token) external view returns (uint256) {
        return _holdings[token].owed;
    }

    /// @inheritdoc IInferenceMarket
    function expiryOf(uint256 jobId) external view returns (uint64) {
        return _expiry(_known(jobId));
    }

    /// @inheritdoc IInferenceMarket
    function termsOf(uint256 jobId) external view returns (bytes32) {
        return termsHash(jobId, _known(jobId));
    }

    /// @inheritdoc IInferenceMarket
    function isFinal(uint256 jobId) external view returns (bool) {
        JobStatus s = _jobs[jobId].status;
        return s == JobStatus.Fulfilled || s == JobStatus.Slashed || s == JobStatus.Refunded;
    }

    function _known(uint256 jobId) private view returns (JobRecord storage job) {
        job = _jobs[jobId];
        if (job.status == JobStatus.None) revert UnknownJob(jobId);
    }

    /// @dev The single lifecycle guard: every transition starts here.
    function _requireStatus(uint256 jobId, JobStatus required) private view returns (JobRecord storage job) {
        job = _jobs[jobId];
        JobStatus status = job.status;
        if (status == required) return job;
        if (status == JobStatus.None) revert UnknownJob(jobId);
        revert JobNotInStatus(jobId, status, required);
    }

    // ----------------------------------------------------------------------------------------------- governance

    /// @notice Allows or forbids an ERC20 for payment. Fee-on-transfer and rebasing tokens must not be allowed
    /// (fee-on-transfer is also caught at deposit).
    function setTokenAllowed(address token, bool allowed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        tokenAllowed[token] = allowed;
        emit TokenAllowed(token, allowed);
    }

    /// @notice Changes the longest job lifetime; it must stay shorter than the staking unbonding delay.
    function setMaxJobDuration(uint64 maxJobDuration_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMaxJobDuration(maxJobDuration_);
    }

    function _setMaxJobDuration(uint64 d) private {
        if (d < MIN_JOB_DURATION) revert MaxJobDurationTooShort(d, MIN_JOB_DURATION);
        uint64 unbonding = staking.unbondingDelay();
        if (d >= unbonding) revert MaxJobDurationTooLong(d, unbonding);
        maxJobDuration = d;
        emit MaxJobDurationSet(d);
    }

    /// @notice Stops intake in an emergency: no new jobs and no new locks. Fulfilment, slashing, refunds and
    /// withdrawals stay open (review M-1, option b): a job already locked keeps the deadline its operator agreed
    /// to and can still be fulfilled, so a pause never runs out an honest operator's deadline and has it slashed
    /// at unpause; and no escrow or collateral is ever frozen by a pause, however long (a lost PAUSER key cannot
    /// lock funds). Options (a) (deadlines extended by the time paused) and (c) (an emergency refund path) were
    /// rejected: (a) makes every deadline depend on governance history and still freezes funds for the pause,
    /// (c) would let the pauser cancel work already done. A verifier found unsound is handled per model by
    /// revocation (ModelRegistry.revoke, `closeRevoked`), not by a global stop.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }
}
