// `verdict operator ...` (stake, unstake, withdraw, status, register, run) and `verdict relayer run`: an
// operator's stake in OperatorStaking and its record in the market, and the two long-running services.
import { spawn } from "node:child_process";
import path from "node:path";
import type { Command } from "commander";
import { getAddress, isAddress, ZeroAddress } from "ethers";
import { VerdictError } from "../../shared/errors.js";
import { REPO_ROOT } from "../../shared/paths.js";
import { chainOpts, chainNow, ensureAllowance, isoTime, parseTokens, print, sent, tokens, withVerdict, type ChainOptions, type Verdict } from "./common.js";

interface StatusOptions extends ChainOptions {
  fromBlock: string;
}

/** Everything known about one operator: its stake record and its job history in the market. */
async function operatorStatus(v: Verdict, address: string, fromBlock: number): Promise<Record<string, unknown>> {
  const { staking, market } = v;
  const [op, free, minStake, ethOwed, locked, fulfilled, slashed, now] = await Promise.all([
    staking.operatorOf(address),
    staking.freeStake(address),
    staking.minStake(),
    market.balanceOf(address, ZeroAddress),
    market.queryFilter(market.filters.JobLocked(undefined, address), fromBlock),
    market.queryFilter(market.filters.JobFulfilled(undefined, address), fromBlock),
    market.queryFilter(market.filters.JobSlashed(undefined, address), fromBlock),
    chainNow(v),
  ]);
  return {
    operator: address,
    // Staking is the only registration: an operator that can back a lock is one with free stake >= minStake.
    registered: op.staked >= minStake && op.staked > 0n && !op.jailed,
    staked: tokens(op.staked),
    locked: tokens(op.locked),
    freeStake: tokens(free),
    minStake: tokens(minStake),
    unbonding: tokens(op.unbonding),
    unbondingEnds: op.unbonding === 0n ? "-" : `${isoTime(op.unbondingEnds)}${op.unbondingEnds <= now ? " (withdrawable)" : ""}`,
    jailed: op.jailed,
    marketBalance: `${ethOwed} wei (ETH owed by the market, withdraw with: verdict withdraw)`,
    jobsLocked: locked.length,
    jobsFulfilled: fulfilled.length,
    jobsSlashed: slashed.length,
  };
}

/** Runs `tsx <script>` as a child writing to the terminal, passing SIGINT/SIGTERM on so the service shuts down
 * gracefully, and exits with the child's code. Resolves only after the child has exited. */
function runService(script: string, config: string | undefined): Promise<void> {
  // node with tsx's loader resolved from this package (not a node_modules/.bin that a global or hoisted install
  // may not have). detached: its own process group, so a Ctrl-C reaches it once (forwarded by us) rather than
  // twice (from the terminal and from us), which the services take as "exit now" instead of draining in-flight work.
  const args = ["--import", import.meta.resolve("tsx"), path.join(REPO_ROOT, script), ...(config ? ["--config", path.resolve(config)] : [])];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"], detached: true });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt).on("SIGTERM", onTerm);
  return new Promise((resolve, reject) => {
    child.once("error", (e) => reject(new VerdictError("SPAWN_FAILED", `cannot start ${script}: ${e.message}`, "npm ci --omit=dev (tsx is a runtime dependency)")));
    child.once("exit", (code, signal) => {
      process.off("SIGINT", onInt).off("SIGTERM", onTerm);
      // A child killed by a signal has no code: report it the shell's way (128 + signal number).
      process.exitCode = code ?? (signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 1);
      resolve();
    });
  });
}

function serviceRun(group: Command, script: string, what: string): void {
  group
    .command("run")
    .description(`start the ${what} service in the foreground (Ctrl-C stops it gracefully)`)
    .option("--config <file>", "JSON config file (VERDICT_* environment variables override it; see config/example.json)")
    .addHelpText("after", `\nExample:\n  verdict ${group.name()} run --config config/example.json`)
    .action(async (o: { config?: string }) => runService(script, o.config));
}

export function operatorCommands(program: Command): void {
  const operator = program
    .command("operator")
    .description("operators: stake to back job locks, inspect an operator, run the operator service")
    .addHelpText("after", "\nExamples:\n  verdict operator stake 100\n  verdict operator status 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --json\nSigning key: VERDICT_KEY or VERDICT_KEYSTORE (see README, Keys).");

  const stakeCommand = (name: string, description: string) =>
    chainOpts(operator.command(name).description(description).argument("<amount>", "stake tokens, e.g. 100 or 2.5").addHelpText("after", `\nExample:\n  verdict operator ${name} 100`)).action(
      async (amount: string, o: ChainOptions) => {
        const value = parseTokens(amount);
        await withVerdict(o, async (v) => {
          await ensureAllowance(v, await v.staking.stakeToken(), v.addresses.staking, value);
          const { receipt } = await sent(v.staking.stake(value), v.staking.interface);
          const address = await v.signer.getAddress();
          const op = await v.staking.operatorOf(address);
          print(o, { operator: address, added: tokens(value), staked: tokens(op.staked), freeStake: tokens(await v.staking.freeStake(address)), tx: receipt.hash });
        });
      },
    );
  stakeCommand("stake", "approve the stake token and add <amount> to your stake");
  // There is no separate on-chain registration: the market accepts locks from any address with enough free
  // stake, so `register` is `stake` under the name operators look for.
  stakeCommand("register", "register as an operator: the same as `stake` (staking at least the minimum stake is what registers you)");

  chainOpts(
    operator
      .command("unstake")
      .description("start unbonding <amount> of free stake; withdraw it with `operator withdraw` after the unbonding delay")
      .argument("<amount>", "stake tokens")
      .addHelpText("after", "\nExample:\n  verdict operator unstake 10"),
  ).action(async (amount: string, o: ChainOptions) => {
    const value = parseTokens(amount);
    await withVerdict(o, async (v) => {
      const { receipt, event } = await sent(v.staking.requestUnstake(value), v.staking.interface, "UnstakeRequested");
      const ends = event!.args.unbondingEnds as bigint;
      print(o, { unbonding: tokens(value), withdrawableAt: isoTime(ends), withdrawableAtUnix: ends, tx: receipt.hash });
    });
  });

  chainOpts(operator.command("withdraw").description("pay out your unbonded stake once the unbonding delay is over").addHelpText("after", "\nExample:\n  verdict operator withdraw")).action(
    async (o: ChainOptions) => {
      await withVerdict(o, async (v) => {
        const { receipt, event } = await sent(v.staking.withdraw(), v.staking.interface, "Withdrawn");
        print(o, { withdrawn: tokens(event!.args.amount as bigint), tx: receipt.hash });
      });
    },
  );

  chainOpts(
    operator
      .command("status")
      .description("an operator's stake (staked, locked, free, unbonding), jail flag, ETH owed by the market and job counts")
      .argument("[address]", "operator address (default: the signer's)")
      .option("--from-block <n>", "first block searched for job events (public RPCs may limit log ranges)", "0")
      .addHelpText("after", "\nExample:\n  verdict operator status 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --json"),
  ).action(async (address: string | undefined, o: StatusOptions) => {
    if (address !== undefined && !isAddress(address)) throw new VerdictError("BAD_ADDRESS", `'${address}' is not an address`);
    await withVerdict(o, async (v) => {
      print(o, await operatorStatus(v, address ? getAddress(address) : await v.signer.getAddress(), Number(o.fromBlock)));
    });
  });

  serviceRun(operator, "operator/main.ts", "operator");

  // The relayer is a separate service, but it has no on-chain setup of its own: `run` is all its group needs.
  const relayer = program.command("relayer").description("the relayer service: submits operators' signed fulfilments and pays the gas");
  relayer.addHelpText("after", "\nExample:\n  verdict relayer run --config config/example.json");
  serviceRun(relayer, "relayer/main.ts", "relayer");
}
