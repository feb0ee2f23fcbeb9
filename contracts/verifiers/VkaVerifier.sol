// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IHalo2Verifier} from "../interfaces/IHalo2Verifier.sol";
import {IHalo2VerifierReusable} from "../interfaces/IHalo2VerifierReusable.sol";

/// @title VkaVerifier
/// @notice One model's verifier on top of ezkl's shared reusable verifier: it holds the model's verifying-key
/// artifact (vka) and presents the same `verifyProof(proof, instances)` as a single-model verifier, so the
/// registry and the market treat both kinds alike. Used for circuits whose single verifier exceeds 24 KB.
/// @dev The vka words are stored as the code of a data contract (read with extcodecopy): far cheaper per proof
/// than reading ~150 storage slots. The data contract's code starts with a STOP byte, so calling it runs nothing.
contract VkaVerifier is IHalo2Verifier {
    IHalo2VerifierReusable public immutable reusable;
    address public immutable vkaData;
    uint256 private immutable _words;
    bytes32 public immutable vkaDigest;

    /// @dev EIP-170: the most code a contract may have.
    uint256 private constant MAX_CODE_SIZE = 24_576;

    error VkaDataDeployFailed();
    error VkaTooLarge(uint256 bytesLength);

    constructor(IHalo2VerifierReusable reusable_, bytes32[] memory vka) {
        reusable = reusable_;
        _words = vka.length;
        // Init code that returns 0x00 ++ vka as runtime code (SSTORE2 layout, review L-3): PUSH2 len+1, DUP1,
        // PUSH1 0x0c (this prefix's length), PUSH1 0, CODECOPY, PUSH1 0, RETURN, then a STOP byte and the data.
        // The leading STOP makes the data contract do nothing when called (no byte of the vka can ever run as
        // code) and keeps the code from starting with 0xEF (EIP-3541).
        bytes memory data = abi.encodePacked(vka);
        if (data.length + 1 > MAX_CODE_SIZE) revert VkaTooLarge(data.length);
        bytes memory init = abi.encodePacked(hex"61", uint16(data.length + 1), hex"80600c6000396000f3", hex"00", data);
        address deployed;
        assembly ("memory-safe") {
            deployed := create(0, add(init, 0x20), mload(init))
        }
        if (deployed == address(0)) revert VkaDataDeployFailed();
        vkaData = deployed;
        vkaDigest = reusable_.registerVka(vka);
    }

    /// @inheritdoc IHalo2Verifier
    function verifyProof(bytes calldata proof, uint256[] calldata instances) external returns (bool) {
        bytes32[] memory vka = new bytes32[](_words);
        address data = vkaData;
        uint256 size = _words * 32;
        assembly ("memory-safe") {
            extcodecopy(data, add(vka, 0x20), 1, size) // past the leading STOP
        }
        // Read only the leading `success` word: ezkl's reusable verifier returns its rescaled instances in an
        // encoding that Solidity's ABI decoder rejects (checked against ezkl 23.0.5).
        (bool called, bytes memory ret) = address(reusable).call(abi.encodeCall(IHalo2VerifierReusable.verifyProof, (proof, instances, vka)));
        return called && ret.length >= 32 && abi.decode(ret, (bool));
    }
}
