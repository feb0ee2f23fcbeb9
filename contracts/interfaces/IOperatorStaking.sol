// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Operators stake an ERC20 to back their locks. The market reserves part of a stake as collateral while
/// a job is locked, releases it on fulfilment and slashes it when the job misses its deadline.
interface IOperatorStaking {
    /// @dev Packed into two slots: [staked(16) locked(16)] [unbonding(16) unbondingEnds(8) jailed(1)].
    /// `unbonding` is the total of the operator's pending unbonding requests and `unbondingEnds` the end of the
    /// latest one; each request keeps its own end (`unbondingRequests`, review I-3).
    struct Operator {
        uint128 staked;
        uint128 locked;
        uint128 unbonding;
        uint64 unbondingEnds;
        bool jailed;
    }

    event Staked(address indexed operator, uint256 amount);
    event UnstakeRequested(address indexed operator, uint256 amount, uint64 unbondingEnds);
    event Withdrawn(address indexed operator, uint256 amount);
    event CollateralReserved(address indexed operator, uint256 amount);
    event CollateralReleased(address indexed operator, uint256 amount);
    event Slashed(address indexed operator, uint256 amount, uint256 burned, address indexed beneficiary);
    event SlashClaimed(address indexed beneficiary, uint256 amount);
    event SlashClaimedTo(address indexed beneficiary, address indexed to, uint256 amount);
    event Jailed(address indexed operator, bool jailed);
    event MarketSet(address indexed market);
    event MinStakeSet(uint256 minStake);
    event UnbondingDelaySet(uint64 delay);

    error ZeroAmount();
    error FeeOnTransferToken(uint256 expected, uint256 received);
    error InsufficientFreeStake(address operator, uint256 free, uint256 requested);
    error BelowMinStake(address operator, uint256 staked, uint256 minStake);
    error OperatorJailed(address operator);
    error UnbondingNotOver(address operator, uint64 unbondingEnds);
    error NothingToWithdraw(address account);
    error OnlyMarket(address caller);
    error MarketAlreadySet(address market);
    error UnbondingTooShort(uint64 delay, uint64 maxJobDuration);
    error UnbondingTooLong(uint64 delay, uint64 maximum);

    /// @notice Adds `amount` of the stake token to the caller's stake (pulled with transferFrom).
    function stake(uint256 amount) external;

    /// @notice Moves `amount` of free (unreserved) stake into unbonding; withdrawable after the unbonding delay.
    function requestUnstake(uint256 amount) external;

    /// @notice Pays out the caller's unbonding requests whose delay is over (oldest first, at most
    /// MAX_WITHDRAW_REQUESTS per call). Each request has its own end: unstaking in several steps never delays an
    /// earlier request (review I-3).
    function withdraw() external;

    /// @notice Pays out what slashes credited to the caller.
    function claimSlashed() external;

    /// @notice Pays out what slashes credited to the caller, to `to` (review L-6).
    function claimSlashedTo(address to) external;

    /// @notice Reserves `amount` of `operator`'s free stake as job collateral. Market only.
    function reserve(address operator, uint256 amount) external;

    /// @notice Returns reserved collateral to `operator`'s free stake. Market only.
    function release(address operator, uint256 amount) external;

    /// @notice Takes `amount` of reserved collateral: `burnBps` of it is burned, the rest credited to
    /// `beneficiary`. Market only.
    function slash(address operator, uint256 amount, uint256 burnBps, address beneficiary) external;

    /// @notice The operator's stake record.
    function operatorOf(address operator) external view returns (Operator memory);

    /// @notice Stake not reserved as collateral (0 for a jailed operator or one below the minimum stake).
    function freeStake(address operator) external view returns (uint256);

    /// @notice Seconds between requestUnstake and withdraw; always longer than the market's longest job.
    function unbondingDelay() external view returns (uint64);

    /// @notice The ERC20 staked.
    function stakeToken() external view returns (address);
}
