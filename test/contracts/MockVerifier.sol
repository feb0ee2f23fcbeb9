// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IHalo2Verifier} from "../../contracts/interfaces/IHalo2Verifier.sol";

/// @notice TEST ONLY. A verifier whose answer the test sets, for unit tests of market logic; integration tests use
/// the real ezkl-generated verifier.
contract MockVerifier is IHalo2Verifier {
    enum Mode {
        Accept,
        ReturnFalse,
        Revert
    }

    Mode public mode;
    uint256 public calls;

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function verifyProof(bytes calldata, uint256[] calldata) external returns (bool) {
        calls++;
        if (mode == Mode.Revert) revert("mock: bad proof");
        return mode == Mode.Accept;
    }
}
