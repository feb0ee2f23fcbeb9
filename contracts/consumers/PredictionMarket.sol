// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";
import {IInferenceMarket} from "../interfaces/IInferenceMarket.sol";
import {Job, JobStatus} from "../types/Job.sol";
import {ModelStatus} from "../types/ModelVersion.sol";

/// @title PredictionMarket
/// @notice Binary markets settled by a verified inference: "will output[i] of model M on the input posted after
/// betting closes be >= threshold?". Bets close before the job exists, so nobody can compute the answer while
/// betting. The market resolves from the inference market's `resultOf` (permissionless `resolve`) or from its
/// callback, only on a final, verified result. If the job never settles, the market is cancelled (refunds) or,
/// after a safety delay, resolved by the admin.
contract PredictionMarket is IInferenceConsumer, AccessControl, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    enum Outcome {
        Unresolved,
        Yes,
        No,
        Cancelled
    }

    /// @dev Slot layout: [creator(20) modelId(4) outputIndex(2) outcome(1)] [bettingEnds(8)] [jobId] [threshold]
    /// [yesPool] [noPool]
    struct Market {
        address creator;
        uint32 modelId;
        uint16 outputIndex;
        Outcome outcome;
        uint64 bettingEnds;
        uint256 jobId;
        int256 threshold;
        uint256 yesPool;
        uint256 noPool;
    }

    event MarketCreated(
        uint256 indexed marketId, address indexed creator, uint32 modelId, uint16 outputIndex, int256 threshold, uint64 bettingEnds, string question
    );
    event JobAttached(uint256 indexed marketId, uint256 indexed jobId);
    event BetPlaced(uint256 indexed marketId, address indexed bettor, bool yes, uint256 amount);
    event MarketResolved(uint256 indexed marketId, Outcome outcome, int256 output);
    event MarketCancelled(uint256 indexed marketId);
    event Claimed(uint256 indexed marketId, address indexed bettor, uint256 amount);

    error UnknownMarket(uint256 marketId);
    error BettingClosed(uint256 marketId, uint64 bettingEnds);
    error BettingOpen(uint256 marketId, uint64 bettingEnds);
    error AlreadyResolved(uint256 marketId, Outcome outcome);
    error NotResolved(uint256 marketId);
    error NotCreator(address caller);
    error JobAlreadyAttached(uint256 marketId, uint256 jobId);
    error WrongModel(uint32 expected, uint32 actual);
    error JobNotPending(uint256 jobId, JobStatus status);
    error NoJob(uint256 marketId);
    error ResultPending(uint256 marketId);
    error SafetyDelayNotOver(uint256 marketId, uint256 availableAt);
    error NothingToClaim(uint256 marketId, address bettor);
    error ZeroAmount();
    error FeeOnTransferToken(uint256 expected, uint256 received);
    error OutputIndexOutOfRange(uint16 index, uint256 outputs);
    error InvalidOutcome();
    error ModelNotActive(uint32 modelId);
    error JobCreatedDuringBetting(uint256 jobId, uint64 createdAt, uint64 bettingEnds);
    error JobFinal(uint256 jobId);
    error JobCanStillSettle(uint256 jobId, uint64 deadline);
    error NotInferenceMarket(address caller);

    IInferenceMarket public immutable inference;
    IERC20 public immutable token;
    /// @notice Seconds after betting ends before the admin may resolve a market whose job never settled.
    uint64 public immutable safetyDelay;

    mapping(uint256 marketId => Market) private _markets;
    mapping(uint256 jobId => uint256 marketId) public marketOfJob;
    mapping(uint256 marketId => mapping(address bettor => uint256)) public yesStake;
    mapping(uint256 marketId => mapping(address bettor => uint256)) public noStake;
    uint256 public marketCount;

    constructor(address admin, IInferenceMarket inference_, IERC20 token_, uint64 safetyDelay_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        inference = inference_;
        token = token_;
        safetyDelay = safetyDelay_;
    }

    /// @notice Opens a market on output `outputIndex` of model `modelId` being >= `threshold` (raw fixed-point at
    /// the model's output scale).
    function createMarket(uint32 modelId, uint16 outputIndex, int256 threshold, uint64 bettingEnds, string calldata question)
        external
        whenNotPaused
        returns (uint256 marketId)
    {
        if (bettingEnds <= block.timestamp) revert BettingClosed(0, bettingEnds);
        // The question must be answerable: an active model version (immutable) with that output.
        (,, uint16 outputCount,, ModelStatus status,) = inference.registry().layout(modelId);
        if (status != ModelStatus.Active) revert ModelNotActive(modelId);
        if (outputIndex >= outputCount) revert OutputIndexOutOfRange(outputIndex, outputCount);
        marketId = ++marketCount;
        _markets[marketId] = Market({
            creator: msg.sender,
            modelId: modelId,
            outputIndex: outputIndex,
            outcome: Outcome.Unresolved,
            bettingEnds: bettingEnds,
            jobId: 0,
            threshold: threshold,
            yesPool: 0,
            noPool: 0
        });
        emit MarketCreated(marketId, msg.sender, modelId, outputIndex, threshold, bettingEnds, question);
    }

    /// @notice Stakes `amount` of the token on YES or NO while betting is open.
    function bet(uint256 marketId, bool yes, uint256 amount) external nonReentrant whenNotPaused {
        Market storage m = _unresolved(marketId);
        if (block.timestamp >= m.bettingEnds) revert BettingClosed(marketId, m.bettingEnds);
        if (amount == 0) revert ZeroAmount();
        if (yes) {
            m.yesPool += amount;
            yesStake[marketId][msg.sender] += amount;
        } else {
            m.noPool += amount;
            noStake[marketId][msg.sender] += amount;
        }
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert FeeOnTransferToken(amount, received);
        emit BetPlaced(marketId, msg.sender, yes, amount);
    }

    /// @notice Binds the job whose verified output settles the market. Creator only, after betting closed, for a
    /// job of the market's model that is still pending (so its result cannot be known yet).
    function attachJob(uint256 marketId, uint256 jobId) external {
        Market storage m = _unresolved(marketId);
        if (msg.sender != m.creator) revert NotCreator(msg.sender);
        if (block.timestamp < m.bettingEnds) revert BettingOpen(marketId, m.bettingEnds);
        if (m.jobId != 0) revert JobAlreadyAttached(marketId, m.jobId);
        if (marketOfJob[jobId] != 0) revert JobAlreadyAttached(marketOfJob[jobId], jobId);
        Job memory job = inference.jobOf(jobId);
        if (job.modelId != m.modelId) revert WrongModel(m.modelId, job.modelId);
        if (job.status != JobStatus.Open && job.status != JobStatus.Locked) revert JobNotPending(jobId, job.status);
        // A job posted while betting was open has a public input: bettors could have computed the answer.
        if (job.createdAt < m.bettingEnds) revert JobCreatedDuringBetting(jobId, job.createdAt, m.bettingEnds);
        m.jobId = jobId;
        marketOfJob[jobId] = marketId;
        emit JobAttached(marketId, jobId);
    }

    /// @notice Settles the market from the attached job's verified result. Anyone may call.
    function resolve(uint256 marketId) external {
        Market storage m = _unresolved(marketId);
        if (m.jobId == 0) revert NoJob(marketId);
        // resultOf reverts unless the job is Fulfilled: only final, verified results settle a market.
        (int256[] memory outputs,,) = inference.resultOf(m.jobId);
        _settle(marketId, m, outputs);
    }

    /// @inheritdoc IInferenceConsumer
    /// @dev Called by the inference market on fulfilment. Never reverts for an unknown job or a settled market, so
    /// it cannot fail a requester's callback for reasons outside its control.
    function onInferenceResult(uint256 jobId, int256[] calldata outputs) external {
        if (msg.sender != address(inference)) revert NotInferenceMarket(msg.sender);
        uint256 marketId = marketOfJob[jobId];
        if (marketId == 0) return;
        Market storage m = _markets[marketId];
        if (m.outcome != Outcome.Unresolved) return;
        _settle(marketId, m, outputs);
    }

    /// @notice Cancels (refunds everyone) a market whose job ended without a result (slashed or refunded), or
    /// that never got a job within the safety delay. Anyone may call.
    function cancel(uint256 marketId) external {
        Market storage m = _unresolved(marketId);
        if (m.jobId == 0) {
            uint256 availableAt = uint256(m.bettingEnds) + safetyDelay;
            if (block.timestamp < availableAt) revert SafetyDelayNotOver(marketId, availableAt);
        } else {
            Job memory job = inference.jobOf(m.jobId);
            if (job.status != JobStatus.Slashed && job.status != JobStatus.Refunded) revert ResultPending(marketId);
        }
        m.outcome = Outcome.Cancelled;
        emit MarketCancelled(marketId);
    }

    /// @notice Emergency path: after the safety delay, the admin settles a market whose job has not settled.
    function adminResolve(uint256 marketId, Outcome outcome) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Market storage m = _unresolved(marketId);
        if (outcome == Outcome.Unresolved) revert InvalidOutcome();
        uint256 availableAt = uint256(m.bettingEnds) + safetyDelay;
        if (block.timestamp < availableAt) revert SafetyDelayNotOver(marketId, availableAt);
        if (m.jobId != 0) {
            // A final job either has a result (use resolve) or allows cancel: the admin never overrides it, nor
            // pre-empts a job that can still be fulfilled.
            Job memory job = inference.jobOf(m.jobId);
            if (inference.isFinal(m.jobId)) revert JobFinal(m.jobId);
            if (block.timestamp <= job.deadline) revert JobCanStillSettle(m.jobId, job.deadline);
        }
        m.outcome = outcome;
        if (outcome == Outcome.Cancelled) emit MarketCancelled(marketId);
        else emit MarketResolved(marketId, outcome, 0);
    }

    /// @notice Pays the caller's winnings (pro rata to the winning pool), or the stakes back if the market was
    /// cancelled or nobody bet on the winning side.
    function claim(uint256 marketId) external nonReentrant {
        Market storage m = _known(marketId);
        if (m.outcome == Outcome.Unresolved) revert NotResolved(marketId);
        uint256 yes = yesStake[marketId][msg.sender];
        uint256 no = noStake[marketId][msg.sender];
        uint256 winningPool = m.outcome == Outcome.Yes ? m.yesPool : m.noPool;
        uint256 amount;
        if (m.outcome == Outcome.Cancelled || winningPool == 0) {
            amount = yes + no;
        } else {
            uint256 stake = m.outcome == Outcome.Yes ? yes : no;
            amount = stake * (m.yesPool + m.noPool) / winningPool;
        }
        if (amount == 0) revert NothingToClaim(marketId, msg.sender);
        yesStake[marketId][msg.sender] = 0;
        noStake[marketId][msg.sender] = 0;
        token.safeTransfer(msg.sender, amount);
        emit Claimed(marketId, msg.sender, amount);
    }

    /// @notice The market record.
    function marketOf(uint256 marketId) external view returns (Market memory) {
        return _known(marketId);
    }

    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    function _settle(uint256 marketId, Market storage m, int256[] memory outputs) private {
        if (m.outputIndex >= outputs.length) revert OutputIndexOutOfRange(m.outputIndex, outputs.length);
        int256 output = outputs[m.outputIndex];
        m.outcome = output >= m.threshold ? Outcome.Yes : Outcome.No;
        emit MarketResolved(marketId, m.outcome, output);
    }

    function _known(uint256 marketId) private view returns (Market storage m) {
        m = _markets[marketId];
        if (m.creator == address(0)) revert UnknownMarket(marketId);
    }

    function _unresolved(uint256 marketId) private view returns (Market storage m) {
        m = _known(marketId);
        if (m.outcome != Outcome.Unresolved) revert AlreadyResolved(marketId, m.outcome);
    }
}
