// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IHalo2Verifier} from "../../contracts/interfaces/IHalo2Verifier.sol";

/// @notice TEST ONLY. A verifier whose answer the test sets, for unit tests of market logic; integration tests use
/// the real ezkl-generated verifier.
contract MockVerifier is IHalo2Verifier {
    enum Mode {
        Accept,
        ReturnFalse,
        Revert,
        BurnAllGas
    }

    Mode public mode;
    uint256 public calls;

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function verifyProof(bytes calldata, uint256[] calldata) external returns (bool) {
        calls++;
        if (mode == Mode.Revert) revert("mock: bad proof");
        if (mode == Mode.BurnAllGas) {
            // What a failing ecPairing precompile does to a malformed proof: it uses up all the gas it was given.
            assembly {
                invalid()
            }
        }
        return mode == Mode.Accept;
    }
}

/// @notice TEST ONLY. Stands in for ezkl's reusable verifier behind a VkaVerifier: registers any vka, accepts any proof.
contract MockReusableVerifier {
    function registerVka(bytes32[] memory vka) external pure returns (bytes32) {
        return keccak256(abi.encodePacked(vka));
    }

    function verifyProof(bytes calldata, uint256[] calldata, bytes32[] memory vka)
        external
        pure
        returns (bool success, bytes32 vkaDigest, int256[] memory rescaledInstances)
    {
        return (true, keccak256(abi.encodePacked(vka)), rescaledInstances);
    }
}

/// @notice TEST ONLY. Accepts every proof; its code differs from MockVerifier's (a verifier swapped in after
/// registration must be refused by its code hash).
contract AcceptingVerifier {
    function verifyProof(bytes calldata, uint256[] calldata) external pure returns (bool) {
        return true;
    }
}
