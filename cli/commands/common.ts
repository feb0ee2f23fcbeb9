// Shared plumbing of the chain-facing `verdict` command groups (operator, market, model list/show/deprecate):
// the --rpc/--json options, one connection with every deployed contract bound to the signer, output as aligned
// rows or JSON, token amounts, argument parsing, exit codes, and the approve-then-spend step that staking and
// betting share. Job commands go through the SDK client (sdk/) that withVerdict also hands out.
import type { Command } from "commander";
import { formatEther, NonceManager, parseEther, type ContractTransactionReceipt, type ContractTransactionResponse, type Interface, type LogDescription } from "ethers";
import { connect, DEFAULT_RPC_URL, deployment, type Chain, type Deployment } from "../../shared/chain.js";
import { VerdictError } from "../../shared/errors.js";
import { signerKey } from "../../shared/keys.js";
import { DEFAULT_HOME } from "../../shared/paths.js";
import { VerdictClient } from "../../sdk/client.js";
import {
  DemoToken__factory,
  InferenceMarket__factory,
  ModelRegistry__factory,
  OperatorStaking__factory,
  PredictionMarket__factory,
  type InferenceMarket,
  type ModelRegistry,
  type OperatorStaking,
  type PredictionMarket,
} from "../../types/ethers-contracts/index.js";

export interface ChainOptions {
  rpc: string;
  json?: boolean;
}

/** Adds --rpc (default VERDICT_RPC_URL, else the local node) and --json to a command. */
export function chainOpts(c: Command): Command {
  return c.option("--rpc <url>", "JSON-RPC URL of the chain", process.env.VERDICT_RPC_URL ?? DEFAULT_RPC_URL).option("--json", "machine-readable output");
}

/** Adds --home: the data directory model bundles are installed in (default VERDICT_HOME, else ~/.verdict). */
export function homeOpt(c: Command): Command {
  return c.option("--home <dir>", "data directory of installed model bundles (VERDICT_HOME)", process.env.VERDICT_HOME ?? DEFAULT_HOME);
}

export interface Verdict {
  chain: Chain;
  /** The signer every contract below sends with. */
  signer: NonceManager;
  addresses: Deployment;
  registry: ModelRegistry;
  staking: OperatorStaking;
  market: InferenceMarket;
  prediction: PredictionMarket;
  /** The SDK client over the same connection and signer. */
  client: VerdictClient;
}

/** Exit codes scripts can rely on (listed in `verdict --help` and the README). */
export const EXIT = { OK: 0, ERROR: 1, INVALID_PROOF: 2, SLASHED: 3, REFUNDED: 4, TIMEOUT: 124 } as const;
export const EXIT_HELP = `
Exit codes:
  0    success (job wait: the job was Fulfilled)
  1    error (bad argument, RPC failure, contract revert, ...)
  2    verify: the proof is INVALID
  3    job wait: the job ended Slashed (no result; escrow refunded)
  4    job wait: the job ended Refunded (nobody locked it)
  124  job wait: timed out before the job was final`;

/** Connects (signing with VERDICT_KEY or VERDICT_KEYSTORE, else the node's account 0: see shared/keys.ts), runs
 * `fn` with the deployed contracts, and always closes the provider so the process can exit. */
export async function withVerdict<T>(o: ChainOptions, fn: (v: Verdict) => Promise<T>): Promise<T> {
  const chain = await connect(o.rpc, (await signerKey("cli"))?.privateKey);
  try {
    const addresses = await deployment(chain.chainId);
    // Counts nonces locally: back-to-back sends (approve, then stake) would otherwise both read the same
    // "pending" nonce, since ethers' provider answers an identical request within 250 ms from its cache.
    const signer = new NonceManager(chain.signer);
    return await fn({
      client: new VerdictClient(chain.provider, signer, chain.chainId, addresses),
      chain,
      signer,
      addresses,
      registry: ModelRegistry__factory.connect(addresses.registry, signer),
      staking: OperatorStaking__factory.connect(addresses.staking, signer),
      market: InferenceMarket__factory.connect(addresses.market, signer),
      prediction: PredictionMarket__factory.connect(addresses.predictionMarket, signer),
    });
  } finally {
    chain.provider.destroy();
  }
}

const plain = (v: unknown): unknown => (typeof v === "bigint" ? v.toString() : Array.isArray(v) ? v.map(plain) : v);

/** One record: aligned `key value` rows, or a JSON object with --json (bigints as decimal strings). */
export function print(o: { json?: boolean }, value: Record<string, unknown>): void {
  const rows = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  if (o.json) console.log(JSON.stringify(rows, null, 2));
  else for (const [k, v] of Object.entries(rows)) console.log(`${k.padEnd(16)} ${Array.isArray(v) ? v.join(", ") : String(v)}`);
}

/** Many records: a table, or a JSON array with --json. */
export function printTable(o: { json?: boolean }, records: Record<string, unknown>[]): void {
  const rows = records.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])));
  if (o.json) console.log(JSON.stringify(rows, null, 2));
  else if (rows.length === 0) console.log("(none)");
  else console.table(rows);
}

/** A token amount given in whole tokens ("5", "0.25") as base units (18 decimals, like the stake token). */
export function parseTokens(amount: string, what = "amount"): bigint {
  let value: bigint;
  try {
    value = parseEther(amount);
  } catch {
    throw new VerdictError("BAD_AMOUNT", `${what} '${amount}' is not a token amount`, "give a decimal number of tokens, e.g. 5 or 0.25");
  }
  if (value <= 0n) throw new VerdictError("BAD_AMOUNT", `${what} must be positive, got '${amount}'`);
  return value;
}

export const tokens = (amount: bigint): string => `${formatEther(amount)} tokens`;

/** A non-negative integer argument (market, job or model id). */
export function parseId(raw: string, what: string): bigint {
  if (!/^\d+$/.test(raw)) throw new VerdictError("BAD_ARGUMENT", `${what} must be a non-negative integer, got '${raw}'`);
  return BigInt(raw);
}

/** A positive whole number of seconds (or gas, or blocks). */
export function parsePositive(raw: string, what: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) <= 0 || !Number.isSafeInteger(Number(raw))) throw new VerdictError("BAD_ARGUMENT", `${what} must be a positive integer, got '${raw}'`);
  return Number(raw);
}

/** Lets `spender` pull `amount` of `token` from the signer, approving only when the allowance is short (an
 * approve costs a transaction). The token is any ERC20: DemoToken's binding is used for its ERC20 subset only. */
export async function ensureAllowance(v: Verdict, token: string, spender: string, amount: bigint): Promise<void> {
  const erc20 = DemoToken__factory.connect(token, v.signer);
  const owner = await v.signer.getAddress();
  const balance = await erc20.balanceOf(owner);
  if (balance < amount) {
    throw new VerdictError("INSUFFICIENT_TOKENS", `${owner} holds ${tokens(balance)}, needs ${tokens(amount)}`, `fund it with the token at ${token}`);
  }
  if ((await erc20.allowance(owner, spender)) < amount) await (await erc20.approve(spender, amount)).wait();
}

/** Sends, waits for the receipt, and returns it with the named event the transaction emitted (if any). */
export async function sent(tx: Promise<ContractTransactionResponse>, iface: Interface, event?: string): Promise<{ receipt: ContractTransactionReceipt; event?: LogDescription }> {
  const receipt = (await (await tx).wait())!;
  const parsed = event ? receipt.logs.map((l) => iface.parseLog(l)).find((l) => l?.name === event) : undefined;
  return { receipt, event: parsed ?? undefined };
}

/** The chain's clock (not the wall clock: a local chain may have been moved forward). */
export async function chainNow(v: Verdict): Promise<bigint> {
  const block = await v.chain.provider.getBlock("latest");
  if (!block) throw new VerdictError("RPC_ERROR", "the node returned no latest block", undefined, true);
  return BigInt(block.timestamp);
}

export const isoTime = (seconds: bigint | number): string => new Date(Number(seconds) * 1000).toISOString();
