// Everything the dashboard shows, read straight from the chain (event logs + views) on every call: no indexer,
// so what it shows is exactly what any node can check. Fine for a local or young deployment; a long-lived one
// would want an indexer, since every call scans logs from block 0.
import { dataLength, type Provider } from "ethers";
import type { Deployment } from "../shared/chain.js";
import {
  IInferenceMarket__factory,
  IModelRegistry__factory,
  IOperatorStaking__factory,
  PredictionMarket__factory,
} from "../types/ethers-contracts/index.js";
import { hhi, nakamoto, shares } from "./concentration.js";
import { JOB_STATUSES, MARKET_OUTCOMES, MODEL_STATUSES, VERIFIER_KINDS } from "../shared/enums.js";
import { decodeFulfilment } from "../sdk/fulfilment.js";

const FULFILLED = 3n;

export interface JobView {
  id: bigint;
  status: (typeof JOB_STATUSES)[number];
  modelId: number;
  requester: string;
  /** Zero address while nobody locked the job. */
  operator: string;
  /** Zero address for ETH. */
  token: string;
  price: bigint;
  /** Seconds from the creation block to the fulfilment block; null unless fulfilled. */
  latencySeconds: number | null;
  fulfilment: FulfilmentView | null;
}

export interface FulfilmentView {
  txHash: string;
  /** Gas of the whole fulfilling transaction (shared by every job of a batch). */
  gasUsed: bigint;
  /** Jobs settled by that transaction (1 unless fulfilBatch). */
  batchSize: number;
  /** Bytes of the proof in the calldata; null when the transaction did not call the market directly. */
  proofBytes: number | null;
}

export interface OperatorView {
  address: string;
  staked: bigint;
  locked: bigint;
  jailed: boolean;
  jobsFulfilled: number;
  slashes: number;
}

export interface ModelView {
  id: number;
  status: (typeof MODEL_STATUSES)[number];
  verifierKind: (typeof VERIFIER_KINDS)[number];
  verifier: string;
  inputCount: number;
  outputCount: number;
  uri: string;
}

export interface PredictionMarketView {
  id: bigint;
  question: string;
  modelId: number;
  jobId: bigint;
  yesPool: bigint;
  noPool: bigint;
  bets: number;
  outcome: (typeof MARKET_OUTCOMES)[number];
  /** The model output the market resolved on; null until resolved from a result. */
  resolvedOutput: bigint | null;
}

export interface LayerConcentration {
  /** One entry per operator, same order as `operators`. */
  shares: { operator: string; value: bigint; share: number }[];
  hhi: number;
  nakamoto: number;
}

export interface DashboardState {
  chainId: bigint;
  blockNumber: number;
  addresses: Deployment;
  jobs: JobView[];
  operators: OperatorView[];
  models: ModelView[];
  predictionMarkets: PredictionMarketView[];
  decentralisation: {
    /** Who executes: share of fulfilled jobs per operator. */
    execution: LayerConcentration;
    /** Who backs the locks: share of stake per operator. */
    stake: LayerConcentration;
    /** Every fulfilment's proof was re-verified by every node that executed its transaction. */
    independentVerifications: number;
  };
}

export async function dashboardState(provider: Provider, addresses: Deployment): Promise<DashboardState> {
  const market = IInferenceMarket__factory.connect(addresses.market, provider);
  const staking = IOperatorStaking__factory.connect(addresses.staking, provider);
  const registry = IModelRegistry__factory.connect(addresses.registry, provider);
  const pm = PredictionMarket__factory.connect(addresses.predictionMarket, provider);
  // Pin every read to one block so that events and views agree even while new blocks arrive.
  const blockTag = await provider.getBlockNumber();
  const range = [0, blockTag] as const;
  const [network, created, fulfilled, slashed, staked, modelCount, marketsCreated, bets, resolved] = await Promise.all([
    provider.getNetwork(),
    market.queryFilter(market.filters.JobCreated(), ...range),
    market.queryFilter(market.filters.JobFulfilled(), ...range),
    market.queryFilter(market.filters.JobSlashed(), ...range),
    staking.queryFilter(staking.filters.Staked(), ...range),
    registry.modelCount({ blockTag }),
    pm.queryFilter(pm.filters.MarketCreated(), ...range),
    pm.queryFilter(pm.filters.BetPlaced(), ...range),
    pm.queryFilter(pm.filters.MarketResolved(), ...range),
  ]);

  const fulfilmentTx = new Map(fulfilled.map((e) => [e.args.jobId, e.transactionHash]));
  const jobs = await Promise.all(
    created.map(async ({ args: { jobId } }): Promise<JobView> => {
      const job = await market.jobOf(jobId, { blockTag });
      const txHash = fulfilmentTx.get(jobId);
      const isFulfilled = job.status === FULFILLED;
      return {
        id: jobId,
        status: JOB_STATUSES[Number(job.status)] ?? "None",
        modelId: Number(job.modelId),
        requester: job.requester,
        operator: job.operator,
        token: job.token,
        price: job.price,
        // finalizedAt and createdAt are the timestamps of the fulfilment and creation blocks.
        latencySeconds: isFulfilled ? Number(job.finalizedAt - job.createdAt) : null,
        fulfilment: isFulfilled && txHash ? await fulfilmentOf(provider, txHash, jobId) : null,
      };
    }),
  );

  const operatorAddresses = [...new Set(staked.map((e) => e.args.operator))];
  const countBy = (addresses: string[], who: string) => addresses.filter((a) => a === who).length;
  const operators = await Promise.all(
    operatorAddresses.map(async (address): Promise<OperatorView> => {
      const o = await staking.operatorOf(address, { blockTag });
      return {
        address,
        staked: o.staked,
        locked: o.locked,
        jailed: o.jailed,
        jobsFulfilled: countBy(fulfilled.map((e) => e.args.operator), address),
        slashes: countBy(slashed.map((e) => e.args.operator), address),
      };
    }),
  );

  const models = await Promise.all(
    Array.from({ length: Number(modelCount) }, async (_, i): Promise<ModelView> => {
      const m = await registry.model(i + 1, { blockTag });
      return {
        id: i + 1,
        status: MODEL_STATUSES[Number(m.status)] ?? "None",
        verifierKind: VERIFIER_KINDS[Number(m.verifierKind)] ?? "Single",
        verifier: m.verifier,
        inputCount: Number(m.inputCount),
        outputCount: Number(m.outputCount),
        uri: m.uri,
      };
    }),
  );

  const resolvedOutput = new Map(resolved.map((e) => [e.args.marketId, e.args.output]));
  const predictionMarkets = await Promise.all(
    marketsCreated.map(async ({ args: { marketId, question } }): Promise<PredictionMarketView> => {
      const m = await pm.marketOf(marketId, { blockTag });
      return {
        id: marketId,
        question,
        modelId: Number(m.modelId),
        jobId: m.jobId,
        yesPool: m.yesPool,
        noPool: m.noPool,
        bets: bets.filter((b) => b.args.marketId === marketId).length,
        outcome: MARKET_OUTCOMES[Number(m.outcome)] ?? "Unresolved",
        resolvedOutput: resolvedOutput.get(marketId) ?? null,
      };
    }),
  );

  return {
    chainId: network.chainId,
    blockNumber: blockTag,
    addresses,
    jobs,
    operators,
    models,
    predictionMarkets,
    decentralisation: {
      execution: concentration(operators.map((o) => [o.address, BigInt(o.jobsFulfilled)])),
      stake: concentration(operators.map((o) => [o.address, o.staked])),
      independentVerifications: fulfilled.length,
    },
  };
}

function concentration(entries: [operator: string, value: bigint][]): LayerConcentration {
  const values = entries.map(([, v]) => v);
  const s = shares(values);
  return {
    shares: entries.map(([operator, value], i) => ({ operator, value, share: s[i]! })),
    hhi: hhi(values),
    nakamoto: nakamoto(values),
  };
}

/** Gas and proof size of the transaction that fulfilled `jobId`, from its receipt and its decoded calldata. */
async function fulfilmentOf(provider: Provider, txHash: string, jobId: bigint): Promise<FulfilmentView> {
  const [tx, receipt] = await Promise.all([provider.getTransaction(txHash), provider.getTransactionReceipt(txHash)]);
  // A fulfilment sent through another contract (a multisig, a batcher) has calldata the market cannot decode.
  const delivered = tx ? decodeFulfilment(tx.data, jobId) : undefined;
  return { txHash, gasUsed: receipt?.gasUsed ?? 0n, batchSize: delivered?.batchSize ?? 1, proofBytes: delivered ? dataLength(delivered.proof) : null };
}
