// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BatchVersion, ModelStatus, ModelVersion, VerifierKind} from "../types/ModelVersion.sol";

/// @notice Governed registry of immutable model versions and the verifier each must be proven against.
interface IModelRegistry {
    event ModelRegistered(
        uint32 indexed modelId,
        address indexed verifier,
        VerifierKind verifierKind,
        bytes32 onnxHash,
        bytes32 circuitHash,
        bytes32 vkHash,
        string uri
    );
    event ModelDeprecated(uint32 indexed modelId);
    event ModelRevoked(uint32 indexed modelId);
    event BatchVerifierRegistered(
        uint32 indexed batchId, uint32 indexed baseModelId, uint16 slots, address indexed verifier, bytes32 circuitHash, bytes32 vkHash, string uri
    );
    event BatchVerifierRevoked(uint32 indexed batchId);

    error VerifierHasNoCode(address verifier);
    error EmptyLayout();
    error ZeroHash();
    error ScaleTooLarge(uint8 scale);
    error UnknownModel(uint32 modelId);
    error ModelNotActive(uint32 modelId);
    error VerifierIsDelegated(address verifier);
    error ModelAlreadyRevoked(uint32 modelId);
    error UnknownBatch(uint32 batchId);
    error BatchTooSmall(uint16 slots);

    /// @notice Registers a new immutable model version. Only MODEL_ADMIN_ROLE (meant to sit behind a timelock).
    /// @dev `status` in `version` is ignored: new versions are Active.
    /// @return modelId The new version's id (ids start at 1).
    function register(ModelVersion calldata version) external returns (uint32 modelId);

    /// @notice Marks a version Deprecated, for good: no new jobs; jobs already created still settle.
    function deprecate(uint32 modelId) external;

    /// @notice Marks a version Revoked, for good (review L-2): its verifier or circuit is unsound. No job of the
    /// model settles any more, and the market closes each open or locked one with a refund and no slash
    /// (`InferenceMarket.closeRevoked`). Only MODEL_ADMIN_ROLE.
    function revoke(uint32 modelId) external;

    /// @notice The version record; reverts UnknownModel for an id never registered.
    function model(uint32 modelId) external view returns (ModelVersion memory);

    /// @notice The fields the market needs on its hot paths, without copying the URI. `verifierCodehash` is the
    /// verifier's EXTCODEHASH pinned at registration: the market treats a verifier whose code changed (an
    /// upgrade, a re-delegation, a self-destruct) as rejecting every proof (review L-2).
    function layout(uint32 modelId)
        external
        view
        returns (
            address verifier,
            uint16 inputCount,
            uint16 outputCount,
            uint8 outputScale,
            ModelStatus status,
            bytes32 verifierCodehash
        );

    /// @notice Number of versions registered so far (the newest id).
    function modelCount() external view returns (uint32);

    /// @notice Registers a batch verifier for the Active base version `version.baseModelId` (issue 13): one proof
    /// settles up to `slots` (>= 2) of its jobs. `revoked` is ignored. Only MODEL_ADMIN_ROLE.
    /// @return batchId The new batch verifier's id (ids start at 1, separate from model ids).
    function registerBatch(BatchVersion calldata version) external returns (uint32 batchId);

    /// @notice Revokes a batch verifier for good (its circuit is unsound): the market refuses its proofs; the
    /// base version's jobs still settle one by one. Only MODEL_ADMIN_ROLE.
    function revokeBatch(uint32 batchId) external;

    /// @notice The batch verifier record; reverts UnknownBatch for an id never registered.
    function batch(uint32 batchId) external view returns (BatchVersion memory);

    /// @notice What the market needs to check a batch proof: its base version, slot count, verifier, the verifier's
    /// code hash pinned at registration, and whether the batch itself is revoked.
    function batchLayout(uint32 batchId)
        external
        view
        returns (uint32 baseModelId, uint16 slots, address verifier, bytes32 verifierCodehash, bool revoked);

    /// @notice Number of batch verifiers registered so far (the newest id).
    function batchCount() external view returns (uint32);
}
