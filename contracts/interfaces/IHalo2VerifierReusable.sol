// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The interface of ezkl's reusable Halo2 verifier: one deployed contract verifies proofs of any circuit
/// whose verifying-key artifact (vka) was registered with it.
interface IHalo2VerifierReusable {
    function registerVka(bytes32[] memory vka) external returns (bytes32 vkaDigest);

    function verifyProof(bytes calldata proof, uint256[] calldata instances, bytes32[] memory vka)
        external
        returns (bool success, bytes32 vkaDigest, int256[] memory rescaledInstances);
}
