// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";
import {IInferenceMarket} from "../interfaces/IInferenceMarket.sol";
import {JobRequest, JobStatus} from "../types/Job.sol";
import {ModelStatus} from "../types/ModelVersion.sol";

/// @title PredictionMarket
/// @notice Binary markets settled by a verified inference: "will output[i] of model M, on the sample the named
/// input provider publishes after betting closes, be >= threshold?".
/// @dev Nobody in the market can steer the outcome (review H-1, M-3, L-4, L-5):
/// - At creation a market commits to everything that decides it: the model, the output rule (index, threshold),
///   the input source (a `provider` address that must publish the sample between `bettingEnds` and
///   `inputDeadline`, else the market is cancelled), and the job's price, collateral and timeouts. All of it is
///   in `MarketCreated`/`MarketTermsSet`, visible to every bettor before they bet.
/// - The sample does not exist while betting is open: the provider can post it only after `bettingEnds`, so no
///   bettor (the creator included) can compute the answer while betting. The provider is the trusted party, named
///   up front: an oracle (a data feed adapter, a lab publishing a measurement) that does not bet. Choosing the
///   provider is choosing whom to trust; the creator cannot swap it later, nor choose the input.
///   (Option rejected: deriving the input from block.prevrandao — validators can bias it, and a sample of real
///   data is what makes the question meaningful.)
/// - The market creates its own job when the sample arrives (it is the job's requester and callback), so no one
///   else's job can be attached to it (no squatting), and the creator picks nothing after seeing the bets.
/// - A job that ends Slashed or Refunded is re-posted with the same input (`repost`, anyone, up to MAX_REPOSTS):
///   withholding a proof delays the market and costs the withholder its collateral, but cannot cancel it.
///   Together with the inference market's secondary fulfilment, a locker holds no free "cancel" option.
/// - The admin can only cancel, and only before the sample is posted (when nobody can know the outcome); it can
///   never choose Yes or No.
contract PredictionMarket is IInferenceConsumer, AccessControl, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    enum Outcome {
        Unresolved,
        Yes,
        No,
        Cancelled
    }

    /// @notice Everything a market commits to at creation.
    struct MarketParams {
        uint32 modelId;
        uint16 outputIndex;
        /// Raw fixed-point at the model's output scale.
        int256 threshold;
        uint64 bettingEnds;
        /// The only account that may publish the market's input, after betting ends.
        address provider;
        /// Seconds after bettingEnds the provider has to publish; past them the market can be cancelled.
        uint64 inputWindow;
        /// The job's terms (ETH price escrowed with createMarket, operator collateral, timeouts).
        uint128 jobPrice;
        uint128 jobCollateral;
        uint64 lockTimeout;
        uint64 timeout;
    }

    /// @dev Slot layout: [creator(20) modelId(4) outputIndex(2) outcome(1) reposts(1)]
    /// [provider(20) bettingEnds(8)] [inputDeadline(8) lockTimeout(8) timeout(8)] [jobPrice(16) jobCollateral(16)]
    /// [jobId] [threshold] [yesPool] [noPool]
    struct Market {
        address creator;
        uint32 modelId;
        uint16 outputIndex;
        Outcome outcome;
        uint8 reposts;
        address provider;
        uint64 bettingEnds;
        uint64 inputDeadline;
        uint64 lockTimeout;
        uint64 timeout;
        uint128 jobPrice;
        uint128 jobCollateral;
        uint256 jobId;
        int256 threshold;
        uint256 yesPool;
        uint256 noPool;
    }

    event MarketCreated(
        uint256 indexed marketId, address indexed creator, uint32 modelId, uint16 outputIndex, int256 threshold, uint64 bettingEnds, string question
    );
    event MarketTermsSet(
        uint256 indexed marketId,
        address indexed provider,
        uint64 inputDeadline,
        uint128 jobPrice,
        uint128 jobCollateral,
        uint64 lockTimeout,
        uint64 timeout
    );
    event InputPosted(uint256 indexed marketId, address indexed provider, uint256[] input);
    event JobPosted(uint256 indexed marketId, uint256 indexed jobId, uint8 attempt);
    event BetPlaced(uint256 indexed marketId, address indexed bettor, bool yes, uint256 amount);
    event MarketResolved(uint256 indexed marketId, Outcome outcome, int256 output);
    event MarketCancelled(uint256 indexed marketId);
    event Claimed(uint256 indexed marketId, address indexed bettor, uint256 amount);
    event JobFundsClaimed(address indexed creator, uint256 amount);

    error UnknownMarket(uint256 marketId);
    error BettingClosed(uint256 marketId, uint64 bettingEnds);
    error BettingOpen(uint256 marketId, uint64 bettingEnds);
    error AlreadyResolved(uint256 marketId, Outcome outcome);
    error NotResolved(uint256 marketId);
    error NotProvider(address caller, address provider);
    error InputAlreadyPosted(uint256 marketId);
    error InputWindowClosed(uint256 marketId, uint64 inputDeadline);
    error InputWindowOpen(uint256 marketId, uint64 inputDeadline);
    error NoJob(uint256 marketId);
    error JobNotRepostable(uint256 jobId, JobStatus status);
    error RepostsExhausted(uint256 marketId, uint8 reposts);
    error ResultPending(uint256 marketId);
    error NothingToClaim(uint256 marketId, address bettor);
    error ZeroAmount();
    error FeeOnTransferToken(uint256 expected, uint256 received);
    error OutputIndexOutOfRange(uint16 index, uint256 outputs);
    error ModelNotActive(uint32 modelId);
    error InvalidMarketParams();
    error WrongEthValue(uint256 expected, uint256 sent);
    error NotInferenceMarket(address caller);
    error EthTransferFailed(address to, uint256 amount);

    /// @notice Gas the inference market gives this contract's callback: settling writes one slot and an event.
    uint24 public constant CALLBACK_GAS = 200_000;
    /// @notice How many times a market's job may be re-posted after ending without a result.
    uint8 public constant MAX_REPOSTS = 3;

    IInferenceMarket public immutable inference;
    IERC20 public immutable token;

    mapping(uint256 marketId => Market) private _markets;
    mapping(uint256 marketId => uint256[]) private _inputs;
    mapping(uint256 jobId => uint256 marketId) public marketOfJob;
    mapping(uint256 marketId => mapping(address bettor => uint256)) public yesStake;
    mapping(uint256 marketId => mapping(address bettor => uint256)) public noStake;
    /// ETH job prices owed back to market creators (cancelled markets).
    mapping(address creator => uint256) public jobFunds;
    uint256 public marketCount;

    constructor(address admin, IInferenceMarket inference_, IERC20 token_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        inference = inference_;
        token = token_;
    }

    /// @notice Refunded job prices come back from the inference market (withdraw); nothing else sends ETH here.
    receive() external payable {
        if (msg.sender != address(inference)) revert NotInferenceMarket(msg.sender);
    }

    /// @notice Opens a market committed to `p` (see the contract's notes); `msg.value` escrows the job's price.
    function createMarket(MarketParams calldata p, string calldata question)
        external
        payable
        whenNotPaused
        returns (uint256 marketId)
    {
        if (p.bettingEnds <= block.timestamp) revert BettingClosed(0, p.bettingEnds);
        if (
            p.provider == address(0) || p.inputWindow == 0 || p.jobPrice == 0 || p.jobCollateral == 0
                || p.lockTimeout == 0 || p.timeout <= p.lockTimeout || p.timeout > inference.maxJobDuration()
        ) revert InvalidMarketParams();
        if (msg.value != p.jobPrice) revert WrongEthValue(p.jobPrice, msg.value);
        // The question must be answerable: an active model version (immutable) with that output.
        (,, uint16 outputCount,, ModelStatus status,) = inference.registry().layout(p.modelId);
        if (status != ModelStatus.Active) revert ModelNotActive(p.modelId);
        if (p.outputIndex >= outputCount) revert OutputIndexOutOfRange(p.outputIndex, outputCount);
        marketId = ++marketCount;
        Market storage m = _markets[marketId];
        m.creator = msg.sender;
        m.modelId = p.modelId;
        m.outputIndex = p.outputIndex;
        m.provider = p.provider;
        m.bettingEnds = p.bettingEnds;
        m.inputDeadline = p.bettingEnds + p.inputWindow;
        m.lockTimeout = p.lockTimeout;
        m.timeout = p.timeout;
        m.jobPrice = p.jobPrice;
        m.jobCollateral = p.jobCollateral;
        m.threshold = p.threshold;
        emit MarketCreated(marketId, msg.sender, p.modelId, p.outputIndex, p.threshold, p.bettingEnds, question);
        emit MarketTermsSet(
            marketId, p.provider, m.inputDeadline, p.jobPrice, p.jobCollateral, p.lockTimeout, p.timeout
        );
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

    /// @notice The named provider publishes the market's input, after betting closed and within its window; the
    /// market posts its own job on it, on the terms fixed at creation.
    function postInput(uint256 marketId, uint256[] calldata input) external nonReentrant {
        Market storage m = _unresolved(marketId);
        if (msg.sender != m.provider) revert NotProvider(msg.sender, m.provider);
        if (block.timestamp < m.bettingEnds) revert BettingOpen(marketId, m.bettingEnds);
        if (block.timestamp > m.inputDeadline) revert InputWindowClosed(marketId, m.inputDeadline);
        if (m.jobId != 0) revert InputAlreadyPosted(marketId);
        _inputs[marketId] = input;
        emit InputPosted(marketId, msg.sender, input);
        _postJob(marketId, m, m.jobPrice);
    }

    /// @notice Re-posts the market's job, with the same input and terms, after it ended Slashed or Refunded.
    /// Anyone may call; the price the inference market refunded pays for the new job.
    function repost(uint256 marketId) external nonReentrant {
        Market storage m = _unresolved(marketId);
        JobStatus status = _failedJob(marketId, m);
        if (m.reposts >= MAX_REPOSTS) revert RepostsExhausted(marketId, m.reposts);
        if (status != JobStatus.Slashed && status != JobStatus.Refunded) revert JobNotRepostable(m.jobId, status);
        m.reposts += 1;
        _postJob(marketId, m, _reclaimRefunds(m.jobPrice));
    }

    /// @notice Settles the market from its job's verified result. Anyone may call.
    function resolve(uint256 marketId) external {
        Market storage m = _unresolved(marketId);
        if (m.jobId == 0) revert NoJob(marketId);
        // resultOf reverts unless the job is Fulfilled: only final, verified results settle a market.
        (int256[] memory outputs,,) = inference.resultOf(m.jobId);
        _settle(marketId, m, outputs);
    }

    /// @inheritdoc IInferenceConsumer
    /// @dev Called by the inference market on fulfilment. Never reverts for an unknown job or a settled market, so
    /// it cannot fail a callback for reasons outside its control.
    function onInferenceResult(uint256 jobId, int256[] calldata outputs) external {
        if (msg.sender != address(inference)) revert NotInferenceMarket(msg.sender);
        uint256 marketId = marketOfJob[jobId];
        if (marketId == 0) return;
        Market storage m = _markets[marketId];
        if (m.outcome != Outcome.Unresolved || m.jobId != jobId) return;
        _settle(marketId, m, outputs);
    }

    /// @notice Cancels (refunds every bet) a market that can no longer be settled: the provider published nothing
    /// within its window, or the job ended without a result and cannot be re-posted (MAX_REPOSTS reached, or the
    /// model is no longer Active). Anyone may call. The job's price goes back to the creator (`claimJobFunds`).
    function cancel(uint256 marketId) external nonReentrant {
        Market storage m = _unresolved(marketId);
        uint256 refund = m.jobPrice;
        if (m.jobId == 0) {
            if (block.timestamp <= m.inputDeadline) revert InputWindowOpen(marketId, m.inputDeadline);
        } else {
            _failedJob(marketId, m);
            (,,,, ModelStatus status,) = inference.registry().layout(m.modelId);
            if (m.reposts < MAX_REPOSTS && status == ModelStatus.Active) revert ResultPending(marketId);
            refund = _reclaimRefunds(refund);
        }
        _cancel(marketId, m, refund);
    }

    /// @notice The admin's only power: cancel a market before its input is published, while nobody can know the
    /// outcome. It can never choose Yes or No, nor cancel once the answer is computable (review L-5).
    function adminCancel(uint256 marketId) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        Market storage m = _unresolved(marketId);
        if (m.jobId != 0) revert InputAlreadyPosted(marketId);
        _cancel(marketId, m, m.jobPrice);
    }

    /// @notice Pays the caller's winnings (pro rata to the winning pool), or the stakes back if the market was
    /// cancelled or nobody bet on the winning side.
    /// @dev Each winner's share is floored: at most (winners - 1) wei per market stays here (review I-5).
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

    /// @notice Pays the caller the job prices of its cancelled markets (ETH).
    function claimJobFunds() external nonReentrant {
        uint256 amount = jobFunds[msg.sender];
        if (amount == 0) revert NothingToClaim(0, msg.sender);
        jobFunds[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert EthTransferFailed(msg.sender, amount);
        emit JobFundsClaimed(msg.sender, amount);
    }

    /// @notice The market record.
    function marketOf(uint256 marketId) external view returns (Market memory) {
        return _known(marketId);
    }

    /// @notice The input the provider published (empty until then).
    function inputOf(uint256 marketId) external view returns (uint256[] memory) {
        return _inputs[marketId];
    }

    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /// @dev Creates the market's job on its committed input and terms, this contract as requester and callback.
    function _postJob(uint256 marketId, Market storage m, uint256 price) private {
        uint256 jobId = inference.createJob{value: price}(
            JobRequest({
                modelId: m.modelId,
                input: _inputs[marketId],
                token: address(0),
                price: m.jobPrice,
                collateral: m.jobCollateral,
                lockTimeout: m.lockTimeout,
                timeout: m.timeout,
                callback: address(this),
                callbackGasLimit: CALLBACK_GAS
            })
        );
        m.jobId = jobId;
        marketOfJob[jobId] = marketId;
        emit JobPosted(marketId, jobId, m.reposts);
    }

    /// @dev The market's job must have ended without a result; returns its status.
    function _failedJob(uint256 marketId, Market storage m) private view returns (JobStatus status) {
        if (m.jobId == 0) revert NoJob(marketId);
        status = inference.jobOf(m.jobId).status;
        if (status != JobStatus.Slashed && status != JobStatus.Refunded) revert ResultPending(marketId);
    }

    /// @dev Pulls the refunded job prices the inference market holds for this contract (all markets' together),
    /// and returns `amount`, the part this market uses.
    function _reclaimRefunds(uint256 amount) private returns (uint256) {
        if (inference.balanceOf(address(this), address(0)) != 0) inference.withdraw(address(0));
        return amount;
    }

    function _cancel(uint256 marketId, Market storage m, uint256 refund) private {
        m.outcome = Outcome.Cancelled;
        jobFunds[m.creator] += refund;
        emit MarketCancelled(marketId);
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
