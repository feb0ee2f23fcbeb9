// The relayer's head poller: waiters wake on a new block (or at their timeout), one poll serves every waiter, and
// nothing is polled while nobody waits.
import { expect } from "chai";
import type { Provider } from "ethers";
import { mock } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BlockClock } from "../../relayer/blockClock.js";

describe("relayer block clock", () => {
  let head = 100;
  let polls = 0;
  const provider = { getBlockNumber: async () => (polls++, head) } as unknown as Provider;

  it("wakes every waiter on a new block with one poll per interval, and at the timeout when no block comes", async () => {
    const clock = new BlockClock(provider, 20);
    await clock.next(1_000); // the first poll learns the head
    expect(clock.head).to.equal(100);
    polls = 0;
    const t0 = Date.now();
    const waiting = Promise.all(Array.from({ length: 50 }, () => clock.next(5_000)));
    await sleep(100);
    head = 101;
    await waiting;
    const waited = Date.now() - t0;
    expect(waited, "woken by the block, not the timeout").to.be.below(1_000);
    expect(polls, "polls shared by the 50 waiters").to.be.below(waited / 20 + 3);
    const t1 = Date.now();
    await clock.next(150);
    expect(Date.now() - t1, "no new block: the timeout").to.be.at.least(140);
  });

  /** Blocks `gaps` ms apart, each waited for (so polled for) by the clock. */
  async function blocks(clock: BlockClock, gaps: number[]): Promise<void> {
    for (const gap of gaps) {
      const woken = clock.next(5_000);
      await sleep(gap);
      head++;
      await woken;
    }
  }

  it("expects the next block a block time after the last change it saw (moved on by whole blocks), only once three blocks came at a steady cadence, and not once that is two blocks old", async () => {
    const clock = new BlockClock(provider, 5);
    await clock.next(1_000);
    await blocks(clock, [100, 100]);
    expect(clock.nextBlockAt(), "two blocks: no cadence yet").to.equal(undefined);
    await blocks(clock, [100]);
    const seen = Date.now();
    expect(clock.blockMs).to.be.within(80, 130);
    const due = clock.nextBlockAt(seen)!;
    expect(due - seen).to.be.within(0, clock.blockMs);
    expect(clock.nextBlockAt(due + 1)! - due, "one block later").to.be.closeTo(clock.blockMs, 1);
    expect(clock.nextBlockAt(seen + 3 * clock.blockMs), "stale").to.equal(undefined);
  });

  it("predicts no block on a chain whose blocks come unevenly (as on automine, when transactions are sent)", async () => {
    const clock = new BlockClock(provider, 5);
    await clock.next(1_000);
    await blocks(clock, [40, 200, 90]);
    expect(clock.blockMs).to.be.above(0);
    expect(clock.nextBlockAt()).to.equal(undefined);
  });

  it("on a chain with steady 2 s blocks it polls about twice a block and sees each block within one interval of it, with no drift over 60 blocks (mock clock)", async () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
    try {
      const T = 2_000;
      const start = Date.now();
      let chainPolls = 0;
      const chain = { getBlockNumber: async () => (chainPolls++, Math.floor((Date.now() - start) / T)) } as unknown as Provider;
      const clock = new BlockClock(chain, 50);
      let waiting = true;
      const waiter = (async () => {
        while (waiting) await clock.next(60_000);
      })();
      const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
      const late: number[] = [];
      let seen = -1;
      let pollsAt20 = 0;
      for (let t = 0; t < 60 * T; t += 10) {
        mock.timers.tick(10);
        await flush();
        if (clock.head !== seen) {
          seen = clock.head;
          late.push(Date.now() - start - seen * T);
        }
        if (t === 20 * T) pollsAt20 = chainPolls;
      }
      waiting = false;
      mock.timers.tick(60_000);
      await flush();
      await waiter;
      const settled = late.slice(20);
      expect(settled, "every block seen").to.have.length.at.least(39);
      expect(Math.max(...settled), "seen within one interval (T/8) of the block, however long it runs").to.be.at.most(T / 8 + 10);
      expect((chainPolls - pollsAt20) / 40, "polls per block").to.be.at.most(2.5);
    } finally {
      mock.timers.reset();
    }
  });

  it("on a chain with steady 12 s blocks a new clock knows the cadence from the last blocks' timestamps: it sees the next block with 3 polls, not one every pollMs (mock clock)", async () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
    try {
      const T = 12_000;
      const start = Date.now() - 100 * T - 5_000; // block 100 came 5 s ago
      let chainPolls = 0;
      const chain = {
        getBlockNumber: async () => (chainPolls++, Math.floor((Date.now() - start) / T)),
        getBlock: async (n: number) => ({ number: n, timestamp: (start + n * T) / 1000 }),
      } as unknown as Provider;
      const clock = new BlockClock(chain, 50);
      const woken = clock.next(60_000);
      const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
      await flush();
      await flush();
      expect(clock.head).to.equal(100);
      expect(clock.blockMs).to.equal(T);
      expect(clock.nextBlockAt(), "the next block, from block 100's timestamp").to.equal(start + 101 * T);
      await woken; // woken by the first poll (the head was unknown)
      const polls = chainPolls;
      const next = clock.next(60_000);
      for (let t = 0; t < 8_000 && clock.head === 100; t += 10) {
        mock.timers.tick(10);
        await flush();
      }
      await next;
      expect(clock.head).to.equal(101);
      expect(chainPolls - polls, "polls until block 101 was seen").to.be.at.most(3);
    } finally {
      mock.timers.reset();
    }
  });

  it("does not take blocks a second apart for a cadence (automine stamps blocks sent fast a second apart)", async () => {
    const chain = { getBlockNumber: async () => 50, getBlock: async (n: number) => ({ number: n, timestamp: 1_000 + n }) } as unknown as Provider;
    const clock = new BlockClock(chain, 5);
    await clock.next(1_000);
    expect(clock.blockMs).to.equal(0);
    expect(clock.nextBlockAt()).to.equal(undefined);
  });

  it("stops polling while nobody waits", async () => {
    const clock = new BlockClock(provider, 10);
    await clock.next(50);
    await sleep(30);
    polls = 0;
    await sleep(200);
    expect(polls).to.equal(0);
  });
});
