// EIP-1559 fees: the node's suggestion capped by the configured maximum, and the bump a replacement at the same
// nonce needs (nodes accept a replacement only if both fee fields rise by >= 10%).
import { parseUnits, type FeeData, type Provider } from "ethers";
import type { Config } from "../shared/config.js";
import { VerdictError } from "../shared/errors.js";

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export type FeePolicy = Pick<Config["relayer"], "maxFeePerGasGwei" | "feeBumpPercent">;

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

function capped(f: Fees, policy: FeePolicy): Fees {
  // toFixed: parseUnits rejects the exponent form String() gives very large or small numbers.
  const cap = parseUnits(policy.maxFeePerGasGwei.toFixed(9), "gwei");
  const maxFeePerGas = min(f.maxFeePerGas, cap);
  return { maxFeePerGas, maxPriorityFeePerGas: min(f.maxPriorityFeePerGas, maxFeePerGas) };
}

/** The node's priority fee suggestion moves slowly: it is asked for at most this often. */
const SUGGESTION_MAX_AGE_MS = 60_000;

/**
 * The node's current fees, capped: ethers' getFeeData (maxFeePerGas = 2 × the latest base fee + the node's priority
 * fee; on a chain without a base fee, its gas price in both fields) in one request a call, the latest block, once
 * the suggestion is known. getFeeData itself (block, gas price and priority fee: three requests) is asked at most
 * once a minute, and every time on a chain without a base fee (where the gas price is the fee).
 */
export class FeeOracle {
  #suggestion?: { at: number; data: Promise<FeeData> };

  constructor(
    private readonly provider: Provider,
    private readonly policy: FeePolicy,
  ) {}

  async current(): Promise<Fees> {
    const s = this.#suggestion;
    const priority = s && Date.now() - s.at < SUGGESTION_MAX_AGE_MS ? (await s.data).maxPriorityFeePerGas : null;
    if (priority !== null) {
      const baseFee = (await this.provider.getBlock("latest"))?.baseFeePerGas;
      if (baseFee != null) return capped({ maxFeePerGas: baseFee * 2n + priority, maxPriorityFeePerGas: priority }, this.policy);
    }
    const data = this.provider.getFeeData();
    const suggestion = { at: Date.now(), data };
    this.#suggestion = suggestion;
    data.catch(() => this.#suggestion === suggestion && (this.#suggestion = undefined));
    return fromFeeData(await data, this.policy);
  }
}

function fromFeeData(data: FeeData, policy: FeePolicy): Fees {
  // A chain without a base fee reports only gasPrice: a type-2 tx with both fields at gasPrice pays exactly that.
  const maxFeePerGas = data.maxFeePerGas ?? data.gasPrice;
  if (maxFeePerGas === null) throw new VerdictError("NO_FEE_DATA", "the node reported no gas price", undefined, true);
  return capped({ maxFeePerGas, maxPriorityFeePerGas: data.maxPriorityFeePerGas ?? maxFeePerGas }, policy);
}

/**
 * Fees for replacing a transaction sent with `previous`: each field raised by feeBumpPercent (rounded up: nodes
 * compare against the exact +10% and refuse a bump rounded down), or to the market's if that is higher; capped.
 * At the cap the result may not be a valid bump: `isBump` tells.
 */
export function bumpFees(previous: Fees, market: Fees, policy: FeePolicy): Fees {
  const up = (v: bigint) => (v * BigInt(100 + policy.feeBumpPercent) + 99n) / 100n;
  return capped(
    {
      maxFeePerGas: max(up(previous.maxFeePerGas), market.maxFeePerGas),
      maxPriorityFeePerGas: max(up(previous.maxPriorityFeePerGas), market.maxPriorityFeePerGas),
    },
    policy,
  );
}

/** Geth's and EDR's minimum raise of each fee field for a replacement to be accepted. */
const NODE_MIN_BUMP_PERCENT = 10;

/** Whether a node would accept `next` as a replacement of a tx sent with `previous`. */
export function isBump(previous: Fees, next: Fees): boolean {
  const enough = (a: bigint, b: bigint) => b * 100n >= a * BigInt(100 + NODE_MIN_BUMP_PERCENT);
  return enough(previous.maxFeePerGas, next.maxFeePerGas) && enough(previous.maxPriorityFeePerGas, next.maxPriorityFeePerGas);
}
