// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {BatchVersion, ModelStatus, ModelVersion} from "./types/ModelVersion.sol";

/// @title ModelRegistry
/// @notice Governed, append-only registry of model versions. A version binds an ONNX model, its ezkl circuit and
/// verifying key (by content hash) to the verifier every job of that version is checked against: requesters and
/// operators never choose a verifier, and the verifier's code hash is pinned too (an EIP-7702-delegated EOA is
/// refused). Versions are immutable; deprecation and revocation are the only changes, and are final.
/// @dev Grant MODEL_ADMIN_ROLE (and DEFAULT_ADMIN_ROLE) to a TimelockController in production.
contract ModelRegistry is IModelRegistry, AccessControl {
    bytes32 public constant MODEL_ADMIN_ROLE = keccak256("MODEL_ADMIN_ROLE");
    /// @dev Values are decoded as int / 2^scale; beyond 2^64 a felt's precision is meaningless for models.
    uint8 public constant MAX_SCALE = 64;

    /// @dev An EIP-7702 delegation designator (0xef0100 ++ address): an EOA whose owner can re-delegate at will.
    bytes3 private constant DELEGATION_PREFIX = 0xef0100;

    mapping(uint32 modelId => ModelVersion) private _models;
    mapping(uint32 modelId => bytes32) private _verifierCodehash;
    uint32 public override modelCount;
    mapping(uint32 batchId => BatchVersion) private _batches;
    mapping(uint32 batchId => bytes32) private _batchCodehash;
    uint32 public override batchCount;

    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MODEL_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IModelRegistry
    function register(ModelVersion calldata v) external onlyRole(MODEL_ADMIN_ROLE) returns (uint32 modelId) {
        if (v.inputCount == 0 || v.outputCount == 0) revert EmptyLayout();
        if (v.onnxHash == 0) revert ZeroHash();
        if (v.inputScale > MAX_SCALE) revert ScaleTooLarge(v.inputScale);
        if (v.outputScale > MAX_SCALE) revert ScaleTooLarge(v.outputScale);
        modelId = ++modelCount;
        _verifierCodehash[modelId] = _pinnedCodehash(v.verifier, v.circuitHash, v.vkHash);
        _models[modelId] = v;
        // whatever status was passed: a new version starts Active
        _models[modelId].status = ModelStatus.Active;
        emit ModelRegistered(modelId, v.verifier, v.verifierKind, v.onnxHash, v.circuitHash, v.vkHash, v.uri);
    }

    /// @inheritdoc IModelRegistry
    function registerBatch(BatchVersion calldata b) external onlyRole(MODEL_ADMIN_ROLE) returns (uint32 batchId) {
        if (_known(b.baseModelId).status != ModelStatus.Active) revert ModelNotActive(b.baseModelId);
        if (b.slots < 2) revert BatchTooSmall(b.slots);
        batchId = ++batchCount;
        _batchCodehash[batchId] = _pinnedCodehash(b.verifier, b.circuitHash, b.vkHash);
        _batches[batchId] = b;
        // whatever was passed: a new batch verifier starts unrevoked
        _batches[batchId].revoked = false;
        emit BatchVerifierRegistered(batchId, b.baseModelId, b.slots, b.verifier, b.circuitHash, b.vkHash, b.uri);
    }

    /// @inheritdoc IModelRegistry
    function revokeBatch(uint32 batchId) external onlyRole(MODEL_ADMIN_ROLE) {
        BatchVersion storage b = _knownBatch(batchId);
        if (b.revoked) revert ModelAlreadyRevoked(batchId);
        b.revoked = true;
        emit BatchVerifierRevoked(batchId);
    }

    /// @inheritdoc IModelRegistry
    function batch(uint32 batchId) external view returns (BatchVersion memory) {
        return _knownBatch(batchId);
    }

    /// @inheritdoc IModelRegistry
    function batchLayout(uint32 batchId)
        external
        view
        returns (uint32 baseModelId, uint16 slots, address verifier, bytes32 verifierCodehash, bool revoked)
    {
        BatchVersion storage b = _knownBatch(batchId);
        return (b.baseModelId, b.slots, b.verifier, _batchCodehash[batchId], b.revoked);
    }

    /// @inheritdoc IModelRegistry
    function deprecate(uint32 modelId) external onlyRole(MODEL_ADMIN_ROLE) {
        ModelVersion storage m = _known(modelId);
        if (m.status != ModelStatus.Active) revert ModelNotActive(modelId);
        m.status = ModelStatus.Deprecated;
        emit ModelDeprecated(modelId);
    }

    /// @inheritdoc IModelRegistry
    function revoke(uint32 modelId) external onlyRole(MODEL_ADMIN_ROLE) {
        ModelVersion storage m = _known(modelId);
        if (m.status == ModelStatus.Revoked) revert ModelAlreadyRevoked(modelId);
        m.status = ModelStatus.Revoked;
        emit ModelRevoked(modelId);
    }

    /// @inheritdoc IModelRegistry
    function model(uint32 modelId) external view returns (ModelVersion memory) {
        return _known(modelId);
    }

    /// @inheritdoc IModelRegistry
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
        )
    {
        ModelVersion storage m = _known(modelId);
        return (m.verifier, m.inputCount, m.outputCount, m.outputScale, m.status, _verifierCodehash[modelId]);
    }

    /// @dev What a model version and a batch verifier are both checked for: a verifier with code of its own (not
    /// an EIP-7702-delegated EOA, whose owner can re-delegate at will) and non-zero circuit and key hashes. Returns
    /// the verifier's code hash, pinned at registration.
    function _pinnedCodehash(address verifier, bytes32 circuitHash, bytes32 vkHash) private view returns (bytes32) {
        if (verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        if (_isDelegated(verifier)) revert VerifierIsDelegated(verifier);
        if (circuitHash == 0 || vkHash == 0) revert ZeroHash();
        return verifier.codehash;
    }

    function _isDelegated(address account) private view returns (bool) {
        if (account.code.length != 23) return false;
        bytes3 head;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            extcodecopy(account, ptr, 0, 3)
            head := mload(ptr)
        }
        return head == DELEGATION_PREFIX;
    }

    function _known(uint32 modelId) private view returns (ModelVersion storage m) {
        m = _models[modelId];
        if (m.status == ModelStatus.None) revert UnknownModel(modelId);
    }

    function _knownBatch(uint32 batchId) private view returns (BatchVersion storage b) {
        b = _batches[batchId];
        if (b.verifier == address(0)) revert UnknownBatch(batchId);
    }
}
