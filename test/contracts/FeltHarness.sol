// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Felt} from "../../contracts/libraries/Felt.sol";

/// @notice TEST ONLY. Exposes the Felt library so tests can compare it with zk/runtime/felt.ts.
contract FeltHarness {
    function toSigned(uint256 felt) external pure returns (int256) {
        return Felt.toSigned(felt);
    }
}
