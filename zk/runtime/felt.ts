// Field-element encoding shared by the prover, the market and the CLI: ezkl public instances are BN254 scalars,
// a value v at fixed-point scale s is stored as round(v * 2^s) mod r, so negatives are r - |v|.

/** The BN254 scalar field modulus: every public instance must be strictly below it. */
export const BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const HALF_R = BN254_R / 2n;

/** A felt as ezkl writes it in proof.json: 32-byte little-endian hex (the inverse of feltFromLeHex). */
export function feltToLeHex(felt: bigint): string {
  return Buffer.from(felt.toString(16).padStart(64, "0"), "hex").reverse().toString("hex");
}

/** ezkl writes instances in proof.json as 32-byte little-endian hex; the EVM wants big-endian uint256. */
export function feltFromLeHex(hex: string): bigint {
  const clean = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (!/^[0-9a-fA-F]{64}$/.test(clean)) throw new Error(`not a 32-byte hex felt: ${hex}`);
  const bytes = clean.match(/../g)!.reverse().join("");
  const felt = BigInt(`0x${bytes}`);
  if (felt >= BN254_R) throw new Error(`felt ${felt} is not below the BN254 modulus`);
  return felt;
}

/** Signed integer behind a felt: values above r/2 stand for negatives. */
export function feltToSigned(felt: bigint): bigint {
  if (felt < 0n || felt >= BN254_R) throw new RangeError(`felt out of field: ${felt}`);
  return felt > HALF_R ? felt - BN254_R : felt;
}

/** Decode a fixed-point felt at `scale` (value = signed / 2^scale). */
export function feltToFloat(felt: bigint, scale: number): number {
  return Number(feltToSigned(felt)) / 2 ** scale;
}

/** Quantize a float the way ezkl does for public inputs (round half away from zero) and map it into the field. */
export function floatToFelt(value: number, scale: number): bigint {
  if (!Number.isFinite(value)) throw new RangeError(`cannot quantize ${value}`);
  const q = BigInt(Math.sign(value) * Math.round(Math.abs(value) * 2 ** scale));
  return q < 0n ? BN254_R + q : q;
}
