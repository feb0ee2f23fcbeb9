// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IInferenceMarket} from "../interfaces/IInferenceMarket.sol";
import {JobRequest} from "../types/Job.sol";
import {VerdictConsumer} from "./VerdictConsumer.sol";

/// @title ExampleConsumer
/// @notice The smallest useful VerdictConsumer: its owner asks for an inference paid in ETH, and the verified
/// outputs are stored per job and announced. Escrow of jobs that were refunded or slashed comes back with
/// `reclaim`. A template for an integration; see docs/integration.md.
contract ExampleConsumer is VerdictConsumer {
    address public immutable owner;

    /// @notice Verified outputs per job (raw fixed-point; value = output / 2^outputScale).
    mapping(uint256 jobId => int256[] outputs) private _results;

    event InferenceRequested(uint256 indexed jobId, uint32 indexed modelId);
    event InferenceReceived(uint256 indexed jobId, int256[] outputs);

    error NotOwner(address caller);
    error EthTransferFailed(address to, uint256 amount);

    constructor(IInferenceMarket market_) VerdictConsumer(market_) {
        owner = msg.sender;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Posts a job for `modelId` on `input` (felts in the model's layout), escrowing msg.value as its price.
    function request(uint32 modelId, uint256[] calldata input, uint128 collateral, uint64 lockTimeout, uint64 timeout)
        external
        payable
        onlyOwner
        returns (uint256 jobId)
    {
        jobId = _requestInference(
            JobRequest({
                modelId: modelId,
                input: input,
                token: address(0),
                price: uint128(msg.value),
                collateral: collateral,
                lockTimeout: lockTimeout,
                timeout: timeout,
                callback: address(this),
                callbackGasLimit: 200_000
            }),
            msg.value
        );
        emit InferenceRequested(jobId, modelId);
    }

    /// @notice The verified outputs of `jobId` (empty until its callback arrived).
    function resultOf(uint256 jobId) external view returns (int256[] memory) {
        return _results[jobId];
    }

    /// @notice Pulls this contract's ETH balance in the market (refunds, slash compensation) and sends it to the owner.
    function reclaim() external onlyOwner {
        // interactions only: the market pays this contract, which forwards everything it holds
        verdictMarket.withdraw(address(0));
        uint256 amount = address(this).balance;
        (bool ok,) = owner.call{value: amount}("");
        if (!ok) revert EthTransferFailed(owner, amount);
    }

    receive() external payable {}

    function _onInferenceResult(uint256 jobId, int256[] calldata outputs) internal override {
        _results[jobId] = outputs;
        emit InferenceReceived(jobId, outputs);
    }
}
