// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IOperatorStaking} from "./interfaces/IOperatorStaking.sol";

/// @notice The one thing staking needs to know of the market: its longest possible job.
interface IMaxJobDuration {
    function maxJobDuration() external view returns (uint64);
}

/// @title OperatorStaking
/// @notice Operators stake an ERC20; the market reserves part of it as collateral for each locked job and slashes
/// it when a job misses its deadline. Unstaking waits an unbonding delay that is always longer than the market's
/// longest job, so no stake can leave while it could still be owed.
contract OperatorStaking is IOperatorStaking, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    /// @dev The burned part of a slash is credited to this keyless address and so never leaves the contract.
    /// Crediting instead of transferring keeps slashing independent of the token's transfer rules: a token that
    /// refused the transfer would otherwise block the slash and with it the requester's refund.
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;
    uint256 private constant BPS = 10_000;
    /// @dev Longest unbonding delay governance may set (review I-3): a longer one would freeze every exit.
    uint64 public constant MAX_UNBONDING_DELAY = 90 days;
    /// @dev Bounds the loop of one withdraw; the rest waits for the next call.
    uint256 public constant MAX_WITHDRAW_REQUESTS = 64;

    /// @dev One unbonding request: [amount(16) endsAt(8)].
    struct UnbondingRequest {
        uint128 amount;
        uint64 endsAt;
    }

    IERC20 private immutable _token;
    address public market;
    uint256 public minStake;
    uint64 public override unbondingDelay;

    mapping(address operator => Operator) private _operators;
    mapping(address beneficiary => uint256) public slashCredits;
    /// Per operator, its unbonding requests in order, and the index of the oldest not yet paid out.
    mapping(address operator => UnbondingRequest[]) public unbondingRequests;
    mapping(address operator => uint256) public unbondingHead;
    /// Solvency counters: the token balance always equals totalStaked + totalUnbonding + totalSlashCredits.
    uint256 public totalStaked;
    uint256 public totalUnbonding;
    uint256 public totalSlashCredits;

    modifier onlyMarket() {
        if (msg.sender != market) revert OnlyMarket(msg.sender);
        _;
    }

    constructor(address admin, IERC20 token_, uint256 minStake_, uint64 unbondingDelay_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNOR_ROLE, admin);
        if (unbondingDelay_ > MAX_UNBONDING_DELAY) revert UnbondingTooLong(unbondingDelay_, MAX_UNBONDING_DELAY);
        _token = token_;
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        emit MinStakeSet(minStake_);
        emit UnbondingDelaySet(unbondingDelay_);
    }

    // ----------------------------------------------------------------------------------------------- operators

    /// @inheritdoc IOperatorStaking
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - before;
        if (received != amount) revert FeeOnTransferToken(amount, received);
        _operators[msg.sender].staked += SafeCast.toUint128(amount);
        totalStaked += amount;
        emit Staked(msg.sender, amount);
    }

    /// @inheritdoc IOperatorStaking
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Operator storage op = _operators[msg.sender];
        uint256 free = op.staked - op.locked;
        if (amount > free) revert InsufficientFreeStake(msg.sender, free, amount);
        // amount <= free < 2^128, so the casts below cannot truncate. Each request keeps its own end; ends never
        // decrease (a shortened delay does not let a new request overtake an older one, so the queue stays sorted).
        uint64 endsAt = uint64(block.timestamp) + unbondingDelay;
        if (endsAt < op.unbondingEnds) endsAt = op.unbondingEnds;
        op.staked -= uint128(amount);
        op.unbonding += uint128(amount);
        op.unbondingEnds = endsAt;
        unbondingRequests[msg.sender].push(UnbondingRequest({amount: uint128(amount), endsAt: endsAt}));
        totalStaked -= amount;
        totalUnbonding += amount;
        emit UnstakeRequested(msg.sender, amount, endsAt);
    }

    /// @inheritdoc IOperatorStaking
    function withdraw() external nonReentrant {
        Operator storage op = _operators[msg.sender];
        if (op.unbonding == 0) revert NothingToWithdraw(msg.sender);
        UnbondingRequest[] storage requests = unbondingRequests[msg.sender];
        uint256 head = unbondingHead[msg.sender];
        uint256 end = requests.length;
        if (end > head + MAX_WITHDRAW_REQUESTS) end = head + MAX_WITHDRAW_REQUESTS;
        uint256 amount;
        // sorted by end: stop at the first request still unbonding
        while (head < end && requests[head].endsAt <= block.timestamp) {
            amount += requests[head].amount;
            delete requests[head];
            ++head;
        }
        if (amount == 0) revert UnbondingNotOver(msg.sender, requests[head].endsAt);
        unbondingHead[msg.sender] = head;
        // amount <= op.unbonding < 2^128
        op.unbonding -= uint128(amount);
        totalUnbonding -= amount;
        _token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// @inheritdoc IOperatorStaking
    function claimSlashed() external nonReentrant {
        _claimSlashed(msg.sender);
    }

    /// @inheritdoc IOperatorStaking
    function claimSlashedTo(address to) external nonReentrant {
        uint256 amount = _claimSlashed(to);
        if (to != msg.sender) emit SlashClaimedTo(msg.sender, to, amount);
    }

    function _claimSlashed(address to) private returns (uint256 amount) {
        amount = slashCredits[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        slashCredits[msg.sender] = 0;
        totalSlashCredits -= amount;
        _token.safeTransfer(to, amount);
        emit SlashClaimed(msg.sender, amount);
    }

    // ----------------------------------------------------------------------------------------------- market

    /// @inheritdoc IOperatorStaking
    function reserve(address operator, uint256 amount) external onlyMarket {
        Operator storage op = _operators[operator];
        if (op.jailed) revert OperatorJailed(operator);
        if (op.staked < minStake) revert BelowMinStake(operator, op.staked, minStake);
        uint256 free = op.staked - op.locked;
        if (amount > free) revert InsufficientFreeStake(operator, free, amount);
        op.locked += uint128(amount);
        emit CollateralReserved(operator, amount);
    }

    /// @inheritdoc IOperatorStaking
    function release(address operator, uint256 amount) external onlyMarket {
        _operators[operator].locked -= uint128(amount);
        emit CollateralReleased(operator, amount);
    }

    /// @inheritdoc IOperatorStaking
    function slash(address operator, uint256 amount, uint256 burnBps, address beneficiary) external onlyMarket {
        // Only reserved collateral can be slashed (the market reserved it at lock time); no external call.
        Operator storage op = _operators[operator];
        op.locked -= uint128(amount);
        op.staked -= uint128(amount);
        totalStaked -= amount;
        uint256 burned = amount * burnBps / BPS;
        slashCredits[beneficiary] += amount - burned;
        slashCredits[BURN_ADDRESS] += burned;
        totalSlashCredits += amount;
        emit Slashed(operator, amount, burned, beneficiary);
    }

    // ----------------------------------------------------------------------------------------------- governance

    /// @notice Connects the market, once. Its longest job must be shorter than the unbonding delay.
    function setMarket(address market_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (market != address(0)) revert MarketAlreadySet(market);
        uint64 maxJob = IMaxJobDuration(market_).maxJobDuration();
        if (unbondingDelay <= maxJob) revert UnbondingTooShort(unbondingDelay, maxJob);
        market = market_;
        emit MarketSet(market_);
    }

    /// @notice Changes the unbonding delay; it must stay longer than the market's longest job.
    function setUnbondingDelay(uint64 delay) external onlyRole(GOVERNOR_ROLE) {
        uint64 maxJob = market == address(0) ? 0 : IMaxJobDuration(market).maxJobDuration();
        if (delay <= maxJob) revert UnbondingTooShort(delay, maxJob);
        if (delay > MAX_UNBONDING_DELAY) revert UnbondingTooLong(delay, MAX_UNBONDING_DELAY);
        unbondingDelay = delay;
        emit UnbondingDelaySet(delay);
    }

    function setMinStake(uint256 minStake_) external onlyRole(GOVERNOR_ROLE) {
        minStake = minStake_;
        emit MinStakeSet(minStake_);
    }

    /// @notice A jailed operator cannot lock new jobs; its stake can still unbond (exit).
    function setJailed(address operator, bool jailed) external onlyRole(GOVERNOR_ROLE) {
        _operators[operator].jailed = jailed;
        emit Jailed(operator, jailed);
    }

    // ----------------------------------------------------------------------------------------------- views

    /// @inheritdoc IOperatorStaking
    function operatorOf(address operator) external view returns (Operator memory) {
        return _operators[operator];
    }

    /// @inheritdoc IOperatorStaking
    function freeStake(address operator) external view returns (uint256) {
        Operator storage op = _operators[operator];
        if (op.jailed || op.staked < minStake) return 0;
        return op.staked - op.locked;
    }

    /// @inheritdoc IOperatorStaking
    function stakeToken() external view returns (address) {
        return address(_token);
    }
}
