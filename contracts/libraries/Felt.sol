// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Felt
/// @notice Encoding of ezkl public instances: BN254 scalars, where a fixed-point value v at scale s is stored as
/// round(v * 2^s) mod r and negatives as r - |v|. Mirrors zk/runtime/felt.ts.
library Felt {
    /// @dev The BN254 scalar field modulus. Every public instance must be strictly below it: a value >= r would
    /// be a second encoding of the same residue.
    uint256 internal constant MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant HALF_MODULUS = MODULUS / 2;

    error FeltOutOfField(uint256 value);

    /// @notice Signed integer behind a felt (values above r/2 stand for negatives).
    function toSigned(uint256 felt) internal pure returns (int256) {
        if (felt >= MODULUS) revert FeltOutOfField(felt);
        // Both branches fit int256: felt < r < 2^254.
        return felt > HALF_MODULUS ? -int256(MODULUS - felt) : int256(felt);
    }

    /// @notice Index of the first felt >= r, or `felts.length` when all are canonical.
    function firstOutOfField(uint256[] calldata felts) internal pure returns (uint256) {
        for (uint256 i; i < felts.length; ++i) {
            if (felts[i] >= MODULUS) return i;
        }
        return felts.length;
    }
}
