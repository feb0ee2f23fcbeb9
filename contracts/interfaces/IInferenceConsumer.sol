// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Implemented by contracts that want to be told of a verified result. The market calls it after the job
/// is settled, with the requester's gas limit, and ignores a revert: settlement never depends on the consumer.
/// Implementations must check that `msg.sender` is the market.
interface IInferenceConsumer {
    /// @param jobId The fulfilled job.
    /// @param outputs The verified outputs as signed fixed-point integers (value = output / 2^outputScale).
    function onInferenceResult(uint256 jobId, int256[] calldata outputs) external;
}
