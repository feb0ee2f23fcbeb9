// What to do about a failed RPC call or send. Nodes and providers word the same condition differently (geth,
// EDR/Hardhat, ethers' own wrapping), so an error is matched on the ethers code and on the messages of every
// nested error in it.
import type { Interface } from "ethers";

/**
 * retry: transient, try again later (network, rate limit, an empty wallet that can be topped up);
 * bump: the node wants a higher fee for a replacement; resync-nonce: the nonce is stale or the tx is already
 * in the pool; drop: will not succeed however often it is sent (it reverts, or the request is malformed).
 */
export type SendErrorAction = "retry" | "bump" | "resync-nonce" | "drop";

export interface ClassifiedError {
  action: SendErrorAction;
  /** Short, stable label (a metric label value). */
  reason: string;
}

interface Rule extends ClassifiedError {
  codes: readonly (string | number)[];
  pattern: RegExp;
  /** A rule that needs more than a code or a message (the revert rule). */
  test?: (chain: ErrorNode[]) => boolean;
}

// First match wins: the nonce and fee rules come before the revert rule because their messages never mention a
// revert, while a revert message may quote anything.
const RULES: readonly Rule[] = [
  { action: "resync-nonce", reason: "nonce-too-low", codes: ["NONCE_EXPIRED"], pattern: /nonce too low|nonce has already been used|nonce is too low/i },
  { action: "resync-nonce", reason: "nonce-too-high", codes: [], pattern: /nonce too high/i },
  { action: "resync-nonce", reason: "already-known", codes: [], pattern: /already known|known transaction|already imported|already exists/i },
  { action: "bump", reason: "replacement-underpriced", codes: ["REPLACEMENT_UNDERPRICED"], pattern: /replacement (transaction )?underpriced|replacement fee too low|transaction underpriced/i },
  { action: "retry", reason: "insufficient-funds", codes: ["INSUFFICIENT_FUNDS"], pattern: /insufficient funds|doesn't have enough funds/i },
  // Only evidence of a revert counts: revert data, JSON-RPC code 3 or a node's revert message. ethers reports every
  // JSON-RPC error answered for eth_call/eth_estimateGas as CALL_EXCEPTION, with `data: null` when there is no
  // revert data (a rate limit, `header not found`, a timeout), so that code alone proves nothing (review S1-1).
  { action: "drop", reason: "reverted", codes: [3], pattern: /execution reverted|reverted with|VM Exception/i, test: hasRevertData },
  { action: "drop", reason: "bad-request", codes: ["INVALID_ARGUMENT", "NUMERIC_FAULT"], pattern: /invalid (argument|address|signature length)/i },
  {
    action: "retry",
    reason: "network",
    codes: ["NETWORK_ERROR", "TIMEOUT", "SERVER_ERROR", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EAI_AGAIN", "EPIPE", "UND_ERR_SOCKET"],
    pattern: /network|timeout|timed out|socket hang up|fetch failed|ECONNREFUSED|ECONNRESET|rate limit|too many requests|header not found|missing trie node|execution aborted|limit exceeded|temporarily|unavailable|busy|try again/i,
  },
];

/** "0x" (a revert without reason) or a 4-byte selector and its ABI-encoded arguments. */
const REVERT_DATA = /^0x([0-9a-f]{8}([0-9a-f]{2})*)?$/i;

const UNKNOWN: ClassifiedError = { action: "retry", reason: "unknown" };

type ErrorNode = Record<string, unknown>;

function isObject(v: unknown): v is ErrorNode {
  return typeof v === "object" && v !== null;
}

/** The error and everything nested in it that ethers, Hardhat and fetch use: error, info.error, cause, data. */
function errorChain(e: unknown): ErrorNode[] {
  const out: ErrorNode[] = [];
  const visit = (v: unknown, depth: number) => {
    if (!isObject(v) || depth > 5 || out.includes(v)) return;
    out.push(v);
    visit(v.error, depth + 1);
    visit(isObject(v.info) ? v.info.error : undefined, depth + 1);
    visit(v.cause, depth + 1);
    visit(v.data, depth + 1);
  };
  visit(e, 0);
  return out;
}

function hasRevertData(chain: ErrorNode[]): boolean {
  return chain.some((n) => typeof n.data === "string" && REVERT_DATA.test(n.data));
}

export function classifySendError(e: unknown): ClassifiedError {
  const chain = errorChain(e);
  const codes = chain.map((n) => n.code).filter((c): c is string | number => typeof c === "string" || typeof c === "number");
  const text = chain
    // ethers' own wording for a CALL_EXCEPTION without data ("missing revert data") is not a node's revert message.
    .flatMap((n) => (n.code === "CALL_EXCEPTION" ? [] : [n.message, n.shortMessage]))
    .filter((m): m is string => typeof m === "string")
    .join("\n");
  const rule = RULES.find((r) => r.codes.some((c) => codes.includes(c)) || r.pattern.test(text) || r.test?.(chain));
  return rule ? { action: rule.action, reason: rule.reason } : UNKNOWN;
}

/** Whether a failed eth_call / eth_estimateGas / send was a revert (as opposed to the RPC failing to answer). */
export function isRevert(e: unknown): boolean {
  return classifySendError(e).reason === "reverted";
}

/** The revert data (selector and arguments) carried by a failed eth_call / eth_estimateGas / send, if any. */
export function revertData(e: unknown): string | undefined {
  for (const node of errorChain(e)) {
    if (typeof node.data === "string" && REVERT_DATA.test(node.data)) return node.data;
  }
  return undefined;
}

/** "Name(arg, …)" for a revert, decoded with `iface` (which also knows Error(string) and Panic(uint256)). */
export function describeRevert(e: unknown, iface: Interface): string {
  const data = revertData(e);
  if (data === undefined || data === "0x") return "no revert reason";
  const decoded = iface.parseError(data);
  if (!decoded) return `unknown error ${data.slice(0, 10)}`;
  const format = (v: unknown): string => (Array.isArray(v) ? `[${v.map(format).join(", ")}]` : String(v));
  return `${decoded.name}(${decoded.args.map(format).join(", ")})`;
}

/** A provider's refusal that a smaller request avoids: a log range too wide, too many results, too big a response. */
export function isRangeRefusal(e: unknown): boolean {
  return errorChain(e).some((n) => [n.message, n.shortMessage].some((m) => typeof m === "string" && RANGE_REFUSAL.test(m)));
}
const RANGE_REFUSAL = /range|more than \d+ results|response size|too large|query timeout/i;

/** First line of an error's message, for logs and dead letters. */
export function shortMessage(e: unknown): string {
  const node = isObject(e) ? e : {};
  const m = typeof node.shortMessage === "string" ? node.shortMessage : e instanceof Error ? e.message : String(e);
  return m.split("\n")[0] ?? m;
}
