// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ModelStatus, ModelVersion, VerifierKind} from "../types/ModelVersion.sol";

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

    error VerifierHasNoCode(address verifier);
    error EmptyLayout();
    error ZeroHash();
    error ScaleTooLarge(uint8 scale);
    error UnknownModel(uint32 modelId);
    error ModelNotActive(uint32 modelId);

    /// @notice Registers a new immutable model version. Only MODEL_ADMIN_ROLE (meant to sit behind a timelock).
    /// @dev `status` in `version` is ignored: new versions are Active.
    /// @return modelId The new version's id (ids start at 1).
    function register(ModelVersion calldata version) external returns (uint32 modelId);

    /// @notice Marks a version Deprecated, for good: no new jobs; jobs already created still settle.
    function deprecate(uint32 modelId) external;

    /// @notice The version record; reverts UnknownModel for an id never registered.
    function model(uint32 modelId) external view returns (ModelVersion memory);

    /// @notice The fields the market needs on its hot paths, without copying the URI.
    function layout(uint32 modelId)
        external
        view
        returns (address verifier, uint16 inputCount, uint16 outputCount, uint8 outputScale, ModelStatus status);

    /// @notice Number of versions registered so far (the newest id).
    function modelCount() external view returns (uint32);
}
