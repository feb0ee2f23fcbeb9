// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IInferenceConsumer} from "../../contracts/interfaces/IInferenceConsumer.sol";
import {IInferenceMarket} from "../../contracts/interfaces/IInferenceMarket.sol";

/// @notice TEST ONLY. Callbacks that misbehave in each way a consumer can, to show settlement never depends on them.
contract HostileConsumer is IInferenceConsumer {
    enum Behaviour {
        Record,
        Revert,
        BurnAllGas,
        ReturnBomb,
        Reenter,
        GasProbe
    }

    Behaviour public behaviour;
    IInferenceMarket public immutable market;
    uint256 public lastJobId;
    int256[] public lastOutputs;
    bool public reentryFailed;
    /// Gas left when the callback started (GasProbe): what the market really forwarded.
    uint256 public gasAtEntry;

    constructor(IInferenceMarket market_) {
        market = market_;
    }

    function setBehaviour(Behaviour b) external {
        behaviour = b;
    }

    function onInferenceResult(uint256 jobId, int256[] calldata outputs) external {
        uint256 g = gasleft();
        Behaviour b = behaviour;
        if (b == Behaviour.GasProbe) {
            gasAtEntry = g;
            lastJobId = jobId;
            return;
        }
        if (b == Behaviour.Revert) revert("consumer: no");
        if (b == Behaviour.BurnAllGas) {
            while (true) {}
        }
        if (b == Behaviour.ReturnBomb) {
            assembly {
                return(0, 1000000)
            }
        }
        if (b == Behaviour.Reenter) {
            // Try to settle again / slash / withdraw from inside the callback: the market's guard must refuse.
            bool slashFailed;
            bool withdrawFailed;
            try market.slash(jobId) {} catch { slashFailed = true; }
            try market.withdraw(address(0)) {} catch { withdrawFailed = true; }
            reentryFailed = slashFailed && withdrawFailed;
        }
        lastJobId = jobId;
        lastOutputs = outputs;
    }

    function lastOutputsLength() external view returns (uint256) {
        return lastOutputs.length;
    }
}

/// @notice TEST ONLY. Receives ETH withdrawals and tries to re-enter the market from `receive`.
contract ReentrantRecipient {
    IInferenceMarket public immutable market;
    bool public reentered;
    bool public reentryReverted;

    constructor(IInferenceMarket market_) {
        market = market_;
    }

    function withdrawFromMarket() external {
        market.withdraw(address(0));
    }

    receive() external payable {
        if (reentered) return;
        reentered = true;
        try market.withdraw(address(0)) {} catch { reentryReverted = true; }
    }

    /// Lets the test create jobs from this contract so it is the requester that gets refunds.
    function call(address target, uint256 value, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        if (!ok) assembly { revert(add(ret, 0x20), mload(ret)) }
        return ret;
    }
}
