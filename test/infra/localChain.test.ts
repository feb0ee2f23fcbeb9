// startLocalChain: by default automine (a transaction is mined as it is sent) plus a block a second; with
// blockTimeMs a real chain's cadence: a transaction waits in the mempool for the next block, and blocks come
// every blockTimeMs whether or not there is anything to mine.
import { expect } from "chai";
import { JsonRpcProvider, Wallet } from "ethers";
import { setTimeout as sleep } from "node:timers/promises";
import { startLocalChain } from "../../infra/localChain.js";
import { DEV_KEYS } from "../../infra/localStack.js";

const HARDHAT_CHAIN_ID = 31337;

/** Sends 1 wei to itself from a dev account and returns the hash and whether it was mined as the send returned. */
async function sendAndLook(url: string): Promise<{ minedAtOnce: boolean; hash: string; provider: JsonRpcProvider }> {
  const provider = new JsonRpcProvider(url, HARDHAT_CHAIN_ID, { staticNetwork: true, pollingInterval: 100 });
  const wallet = new Wallet(DEV_KEYS.operators[2]!, provider);
  const tx = await wallet.sendTransaction({ to: wallet.address, value: 1n });
  return { minedAtOnce: (await provider.getTransactionReceipt(tx.hash)) !== null, hash: tx.hash, provider };
}

describe("infra: local chain", function () {
  this.timeout(60_000);

  it("mines on demand by default", async () => {
    const chain = await startLocalChain();
    try {
      const { minedAtOnce, provider } = await sendAndLook(chain.url);
      provider.destroy();
      expect(minedAtOnce).to.equal(true);
    } finally {
      await chain.stop();
    }
  });

  it("with blockTimeMs, mines only on its interval: a send waits for the next block, and blocks come without transactions", async () => {
    const blockTimeMs = 1500;
    const chain = await startLocalChain({ blockTimeMs });
    try {
      const { minedAtOnce, hash, provider } = await sendAndLook(chain.url);
      try {
        expect(minedAtOnce, "mined as it was sent").to.equal(false);
        const receipt = await provider.waitForTransaction(hash, 1, 2 * blockTimeMs + 1000);
        expect(receipt?.status).to.equal(1);
        const first = await provider.getBlock("latest");
        await sleep(3 * blockTimeMs + 500);
        const later = await provider.getBlock("latest");
        const blocks = later!.number - first!.number;
        expect(blocks, "empty blocks mined meanwhile").to.be.within(2, 4);
        // Timestamps have a 1 s resolution.
        expect((later!.timestamp - first!.timestamp) / blocks).to.be.within(1, 2);
      } finally {
        provider.destroy();
      }
    } finally {
      await chain.stop();
    }
  });
});
