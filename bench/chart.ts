// A small hand-rolled SVG line chart (no dependency): panels side by side, each with one or two y axes (left,
// right), linear or log scales, labelled points. Enough for the bench figures; not a general plotting library.

export interface Series {
  label: string;
  color: string;
  /** Which y axis the series is drawn against. */
  axis: "left" | "right";
  points: { x: number; y: number; label?: string }[];
  dashed?: boolean;
}

export interface Axis {
  title: string;
  log?: boolean;
  /** Tick values to label instead of the automatic ones (e.g. exactly the measured x values). */
  ticks?: number[];
}

export interface Panel {
  title: string;
  x: Axis;
  left: Axis;
  right?: Axis;
  series: Series[];
}

const W = 520;
const H = 380;
const M = { top: 44, right: 78, bottom: 56, left: 78 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

interface Scale {
  at(v: number): number;
  ticks: number[];
}

function scale(values: number[], axis: Axis, from: number, to: number): Scale {
  const auto = autoScale(values, axis, from, to);
  return axis.ticks ? { at: auto.at, ticks: axis.ticks } : auto;
}

function autoScale(values: number[], axis: Axis, from: number, to: number): Scale {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (axis.log) {
    // Whole decades plus the 2 and 5 steps, so a figure spanning 100x still gets a handful of labels.
    const a = Math.floor(Math.log10(lo));
    const b = Math.ceil(Math.log10(hi));
    const ticks: number[] = [];
    for (let e = a; e <= b; e++) for (const m of [1, 2, 5]) ticks.push(m * 10 ** e);
    lo = 10 ** Math.log10(lo) * 0.8;
    hi = hi * 1.25;
    const t = (v: number) => (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
    return { at: (v) => from + (to - from) * t(v), ticks: ticks.filter((v) => v >= lo && v <= hi) };
  }
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.08;
  // Non-negative data keeps a non-negative axis.
  lo = lo >= 0 ? Math.max(0, lo - pad) : lo - pad;
  hi += pad;
  const step = 10 ** Math.floor(Math.log10((hi - lo) / 5));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (hi - lo) / s <= 6) ?? step * 10;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / nice) * nice; v <= hi; v += nice) ticks.push(+v.toPrecision(12));
  return { at: (v) => from + ((to - from) * (v - lo)) / (hi - lo), ticks };
}

function panelSvg(p: Panel, ox: number): string {
  const x0 = ox + M.left;
  const x1 = ox + W - M.right;
  const y0 = H - M.bottom;
  const y1 = M.top;
  const all = (axis: "left" | "right") => p.series.filter((s) => s.axis === axis).flatMap((s) => s.points.map((q) => q.y));
  const xs = scale(p.series.flatMap((s) => s.points.map((q) => q.x)), p.x, x0, x1);
  const ys = { left: scale(all("left"), p.left, y0, y1), right: p.right && all("right").length ? scale(all("right"), p.right, y0, y1) : undefined };
  const out: string[] = [];
  out.push(`<text x="${ox + W / 2}" y="22" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#888"/>`);
  for (const t of xs.ticks) {
    const x = xs.at(t);
    out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + 5}" stroke="#888"/><text x="${x}" y="${y0 + 18}" text-anchor="middle">${fmt(t)}</text>`);
  }
  out.push(`<text x="${(x0 + x1) / 2}" y="${H - 14}" text-anchor="middle">${esc(p.x.title)}</text>`);
  for (const side of ["left", "right"] as const) {
    const s = ys[side];
    const axis = side === "left" ? p.left : p.right;
    if (!s || !axis) continue;
    const x = side === "left" ? x0 : x1;
    const d = side === "left" ? -1 : 1;
    for (const t of s.ticks) {
      const y = s.at(t);
      if (side === "left") out.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#eee"/>`);
      out.push(`<text x="${x + d * 8}" y="${y + 4}" text-anchor="${side === "left" ? "end" : "start"}">${fmt(t)}</text>`);
    }
    const cx = x + d * 58;
    out.push(`<text x="${cx}" y="${(y0 + y1) / 2}" text-anchor="middle" transform="rotate(${-90 * -d} ${cx} ${(y0 + y1) / 2})">${esc(axis.title)}</text>`);
  }
  p.series.forEach((s, i) => {
    const sy = ys[s.axis] ?? ys.left;
    const pts = s.points.map((q) => [xs.at(q.x), sy.at(q.y), q.label] as const);
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""} points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ")}"/>`);
    for (const [x, y, label] of pts) {
      out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${s.color}"/>`);
      if (label) out.push(`<text x="${(x + 5).toFixed(1)}" y="${(y - 7).toFixed(1)}" font-size="10" fill="${s.color}">${esc(label)}</text>`);
    }
    const ly = y1 + 16 + i * 16;
    out.push(`<line x1="${x0 + 10}" y1="${ly - 4}" x2="${x0 + 30}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    out.push(`<text x="${x0 + 36}" y="${ly}">${esc(s.label)}</text>`);
  });
  return out.join("\n");
}

/** Panels side by side in one SVG document, with a caption line under them. */
export function chartSvg(panels: Panel[], caption: string): string {
  const width = W * panels.length;
  const height = H + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...panels.map((p, i) => panelSvg(p, i * W)),
    `<text x="10" y="${height - 8}" font-size="10" fill="#555">${esc(caption)}</text>`,
    `</svg>`,
    "",
  ].join("\n");
}
