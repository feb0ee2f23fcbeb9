// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";
import {IInferenceMarket} from "../interfaces/IInferenceMarket.sol";
import {Job, JobRequest, JobStatus} from "../types/Job.sol";

/// @title VerdictConsumer
/// @notice Base contract for protocols that act on verified inference results. Inherit it, post jobs with
/// `_requestInference` (the callback is set to this contract) and implement `_onInferenceResult`. The guard in
/// `onInferenceResult` lets only the market call back, only for a final (Fulfilled) job, and by default only for
/// a job this contract posted itself: anyone can name any contract as a job's callback.
/// @dev Outputs are signed fixed-point integers: value = output / 2^outputScale (the model's registered scale).
/// A failing callback never blocks settlement (the market ignores it); the result can then be read with
/// `market.resultOf(jobId)`. A job that is refunded or slashed credits its escrow to this contract as the
/// requester: withdraw it with `market.withdraw(token)` (see ExampleConsumer.reclaim).
abstract contract VerdictConsumer is IInferenceConsumer {
    /// @notice The inference market whose callbacks this contract accepts.
    IInferenceMarket public immutable verdictMarket;

    error NotInferenceMarket(address caller);
    error ResultNotFinal(uint256 jobId, JobStatus status);
    error NotRequestedHere(uint256 jobId, address requester);

    constructor(IInferenceMarket market_) {
        verdictMarket = market_;
    }

    /// @inheritdoc IInferenceConsumer
    function onInferenceResult(uint256 jobId, int256[] calldata outputs) external {
        // checks: the caller is the market, the job is settled with a verified proof, and it is one we accept
        if (msg.sender != address(verdictMarket)) revert NotInferenceMarket(msg.sender);
        Job memory job = verdictMarket.jobOf(jobId);
        if (job.status != JobStatus.Fulfilled) revert ResultNotFinal(jobId, job.status);
        if (!_acceptsJob(jobId, job)) revert NotRequestedHere(jobId, job.requester);
        _onInferenceResult(jobId, outputs);
    }

    /// @notice Posts `request` with this contract as its callback; `value` is the ETH escrow (0 for an ERC20 job,
    /// whose price this contract must have approved to the market).
    function _requestInference(JobRequest memory request, uint256 value) internal returns (uint256 jobId) {
        request.callback = address(this);
        jobId = verdictMarket.createJob{value: value}(request);
    }

    /// @notice Which jobs' results this contract acts on. Default: only jobs it posted itself.
    function _acceptsJob(uint256, Job memory job) internal view virtual returns (bool) {
        return job.requester == address(this);
    }

    /// @notice Called with the verified outputs of an accepted, fulfilled job. Keep it within the job's
    /// callbackGasLimit.
    function _onInferenceResult(uint256 jobId, int256[] calldata outputs) internal virtual;
}
