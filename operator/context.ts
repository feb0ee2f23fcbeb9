// Building an operator's context: the chain, its contracts, the models it serves (installed bundles), its
// queues and metrics. Shared by the operator service and its prove workers (operator/proveWorker.ts), which run
// on other machines with the same Redis and bundles but never hold the operator's key.
import { VoidSigner } from "ethers";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { connect, connectProvider, deployment, type Chain } from "../shared/chain.js";
import type { Config } from "../shared/config.js";
import { VerdictError } from "../shared/errors.js";
import { signerKey } from "../shared/keys.js";
import { attributeCalls, instrumentProvider, rpcMetrics } from "../shared/rpcMetrics.js";
import { RELAYER_QUEUE, queue, redisConnection } from "../shared/queues.js";
import { RelayStore } from "../relayer/store.js";
import { InferenceMarket__factory, ModelRegistry__factory, OperatorStaking__factory } from "../types/ethers-contracts/index.js";
import { WarmBridgePool } from "../zk/runtime/bridge.js";
import { WitnessChecker } from "../zk/runtime/checker.js";
import { ModelCatalog } from "./catalog.js";
import { operatorMetrics, queueName, STAGES, type JobData, type OperatorContext, type Stage } from "./pipeline.js";
import { ChainHead, ChainSnapshot } from "./snapshot.js";

/**
 * `signing`: the operator itself (its key signs locks and fulfilments); otherwise a prove worker for the operator
 * at `config.operator.address`, holding no key (its signer cannot sign).
 */
export async function operatorContext(config: Config, log: Logger, metrics: Registry, signing: boolean): Promise<{ ctx: OperatorContext; close: () => Promise<void> }> {
  let chain: Chain;
  if (signing) {
    const key = (await signerKey("operator", process.env, (m) => log.warn(m)))?.privateKey ?? config.operator.privateKey;
    chain = await connect(config.rpcUrl, key);
    if (!key) log.warn("no VERDICT_KEY: signing with the node's account 0 (local development chains only)");
  } else {
    const address = config.operator.address;
    if (!address) throw new VerdictError("NO_OPERATOR_ADDRESS", "a prove worker needs the address of the operator it proves for", "set operator.address (VERDICT_OPERATOR_ADDRESS)");
    const { provider, chainId } = await connectProvider(config.rpcUrl);
    chain = { provider, chainId, signer: new VoidSigner(address, provider) };
  }
  instrumentProvider(chain.provider, rpcMetrics(metrics));
  attributeCalls(chain.provider, metrics);
  const address = await chain.signer.getAddress();
  const addresses = await deployment(chain.chainId, config.deploymentsDir);
  const registry = ModelRegistry__factory.connect(addresses.registry, chain.signer);
  const redis = redisConnection(config.redisUrl);
  const qctx = { connection: redis, prefix: config.queuePrefix };
  const relayRedis = config.operator.relayRedisUrl ? redisConnection(config.operator.relayRedisUrl) : redis;
  const relayCtx = { connection: relayRedis, prefix: config.operator.relayQueuePrefix ?? config.queuePrefix };
  const ctx: OperatorContext = {
    config,
    log,
    chain,
    address,
    market: InferenceMarket__factory.connect(addresses.market, chain.signer),
    registry,
    staking: OperatorStaking__factory.connect(addresses.staking, chain.signer),
    catalog: await ModelCatalog.load(config.operator.models, config.home, registry, redis, config.queuePrefix, log),
    redis,
    queues: Object.fromEntries(STAGES.map((s) => [s, queue<JobData>(qctx, queueName(s, address))])) as Record<Stage, ReturnType<typeof queue<JobData>>>,
    relay: queue(relayCtx, RELAYER_QUEUE),
    relayStore: new RelayStore(relayRedis, relayCtx.prefix),
    metrics: operatorMetrics(metrics),
    provers: new WarmBridgePool(config.operator.proveConcurrency),
    checker: new WitnessChecker(),
    // The operator service starts the head poller (operator/main.ts); a prove worker reads the chain when it must.
    snapshot: new ChainSnapshot(new ChainHead(chain.provider, config.operator.pollIntervalMs)),
  };
  if (ctx.catalog.ids().length === 0) throw new VerdictError("NO_MODELS", "no active model to serve: set operator.models (or VERDICT_MODELS) to registry model ids", "`verdict model list`, then `verdict model pull <id>` for each");
  const close = async () => {
    ctx.snapshot.head.stop();
    await Promise.all([...Object.values(ctx.queues).map((q) => q.close()), ctx.relay.close()]);
    await Promise.all([ctx.provers.close(), ctx.checker.close()]);
    redis.disconnect();
    if (relayRedis !== redis) relayRedis.disconnect();
    chain.provider.destroy();
  };
  return { ctx, close };
}
