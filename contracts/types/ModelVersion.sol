// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Lifecycle of a registered model version. Versions are never edited; deprecation and revocation are
/// final. Deprecated: no new jobs, open ones still settle. Revoked (the verifier or circuit is found unsound): no
/// job of the model settles any more; each open or locked one can be closed with a refund and no slash.
enum ModelStatus {
    None,
    Active,
    Deprecated,
    Revoked
}

/// @notice Which kind of verifier a version names: an ezkl single-model verifier (key baked in), or a
/// VkaVerifier over ezkl's shared reusable verifier (for circuits whose single verifier exceeds 24 KB). Both
/// expose `verifyProof(bytes, uint256[])`.
enum VerifierKind {
    Single,
    Reusable
}

/// @notice One immutable model version: what was proven (content hashes), who verifies it, and how its public
/// instances are laid out: `inputCount` input felts at index 0, then `outputCount` output felts.
/// @dev Slot layout: [verifier(20) inputCount(2) outputCount(2) inputScale(1) outputScale(1) status(1) kind(1)] then the
/// three hashes; the URI is a hint to fetch artifacts, the hashes are what bind them.
struct ModelVersion {
    address verifier;
    uint16 inputCount;
    uint16 outputCount;
    uint8 inputScale;
    uint8 outputScale;
    ModelStatus status;
    VerifierKind verifierKind;
    bytes32 onnxHash;
    bytes32 circuitHash;
    bytes32 vkHash;
    string uri;
}

/// @notice A batch verifier linked to a base model version (issue 13): the same model proven for `slots` jobs at
/// once. Public instances: the inputs of every slot (slot k's `inputCount` felts at k * inputCount), then the
/// outputs of every slot (slot k's at slots * inputCount + k * outputCount). Jobs are posted against the base
/// version; the batch is only another way to settle them, and is unusable once its base is revoked or it is.
/// @dev Slot layout: [verifier(20) baseModelId(4) slots(2) kind(1) revoked(1)] then the two hashes and the URI.
struct BatchVersion {
    address verifier;
    uint32 baseModelId;
    uint16 slots;
    VerifierKind verifierKind;
    bool revoked;
    bytes32 circuitHash;
    bytes32 vkHash;
    string uri;
}
