// The JSON-RPC provider every service uses. Hosted providers answer a share of reads with transient errors (rate
// limits, `header not found` from a back end that lags, node-side timeouts); each such item of a request is asked
// again a few times with backoff before its error reaches the caller, so a 10% error rate costs latency, not
// failed work. Only reads are repeated (a send's error may hide a send that happened), and never an answer that
// is a revert or a refusal a smaller request would avoid (a log range too large).
import { setTimeout as sleep } from "node:timers/promises";
import { JsonRpcProvider, type JsonRpcError, type JsonRpcPayload, type JsonRpcResult } from "ethers";
import { classifySendError, isRangeRefusal } from "./rpcErrors.js";

/** Methods without effects: asking again is safe. */
const READS = new Set([
  "eth_blockNumber",
  "eth_call",
  "eth_chainId",
  "eth_estimateGas",
  "eth_feeHistory",
  "eth_gasPrice",
  "eth_getBalance",
  "eth_getBlockByHash",
  "eth_getBlockByNumber",
  "eth_getCode",
  "eth_getLogs",
  "eth_getStorageAt",
  "eth_getTransactionByHash",
  "eth_getTransactionCount",
  "eth_getTransactionReceipt",
  "eth_maxPriorityFeePerGas",
  "net_version",
]);
const ATTEMPTS = 4;
const FIRST_BACKOFF_MS = 200;

/** Whether a JSON-RPC error item is transient: the classifier's network case (load, lag, timeouts), not a range refusal. */
export function transientRpcError(error: JsonRpcError["error"]): boolean {
  return classifySendError({ error }).reason === "network" && !isRangeRefusal({ error });
}

type Answer = JsonRpcResult | JsonRpcError;

export class RetryingJsonRpcProvider extends JsonRpcProvider {
  // ethers types the answers as results, but error items come back through the same array.
  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const requests = Array.isArray(payload) ? payload : [payload];
    const ask = async (batch: JsonRpcPayload[]) => (await super._send(batch.length === 1 ? batch[0]! : batch)) as Answer[];
    const results = new Map((await ask(requests)).map((r) => [r.id, r]));
    for (let attempt = 1; attempt < ATTEMPTS; attempt++) {
      const again = requests.filter((p) => {
        const r = results.get(p.id);
        return r !== undefined && "error" in r && READS.has(p.method) && transientRpcError(r.error);
      });
      if (again.length === 0) break;
      await sleep(FIRST_BACKOFF_MS * 2 ** (attempt - 1));
      for (const r of await ask(again)) results.set(r.id, r);
    }
    return requests.map((p) => results.get(p.id)).filter((r): r is Answer => r !== undefined) as JsonRpcResult[];
  }
}
