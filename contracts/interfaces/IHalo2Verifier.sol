// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The interface of an ezkl-generated single-model Halo2 verifier. It reverts or returns false on a bad
/// proof; callers treat both as rejection.
interface IHalo2Verifier {
    function verifyProof(bytes calldata proof, uint256[] calldata instances) external returns (bool);
}
