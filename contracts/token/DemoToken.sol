// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title DemoToken
/// @notice A plain ERC20 for local chains and tests (stake, payment and bets); deployments on a public network
/// configure an existing token instead. The owner mints.
contract DemoToken is ERC20, Ownable {
    constructor(address owner_) ERC20("Verdict Demo Token", "VDT") Ownable(owner_) {}

    /// @notice Mints `amount` to `to`. Owner only.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
