// Polls /api/state every 2 s and redraws. Plain DOM (no framework, no CDN) so the page works offline; every
// chain-supplied string goes through textContent, since market questions and URIs are written by anyone.
"use strict";

const POLL_MS = 2000;
const ZERO = "0x0000000000000000000000000000000000000000";
const SVG_NS = "http://www.w3.org/2000/svg";

/** Amount in base units (a decimal string) as a number of whole 18-decimal units, 4 decimals kept. */
function units(amount) {
  const v = BigInt(amount);
  const whole = v / 10n ** 18n;
  const frac = (v % 10n ** 18n).toString().padStart(18, "0").slice(0, 4).replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : `${whole}`;
}

const short = (addr) => (addr === ZERO ? "–" : `${addr.slice(0, 6)}…${addr.slice(-4)}`);

/** A table cell; `cls` styles it, `title` shows the full value on hover. */
function cell(text, cls, title) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  if (title) td.title = title;
  return td;
}

/** Replaces the rows of tbody#id: one <tr data-testid=testid> per item, or a placeholder row when empty. */
function fillTable(id, testid, items, columns, cellsOf) {
  const body = document.getElementById(id);
  const rows = items.map((item) => {
    const tr = document.createElement("tr");
    tr.dataset.testid = testid;
    tr.dataset.id = String(item.id ?? item.address);
    for (const td of cellsOf(item)) tr.append(td);
    return tr;
  });
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = cell("none yet", "empty");
    td.colSpan = columns;
    tr.append(td);
    rows.push(tr);
  }
  body.replaceChildren(...rows);
}

/** Horizontal bar chart of shares in [0, 1], one labelled bar per entry. */
function barChart(entries) {
  const rowH = 22, labelW = 110, barW = 200, pctW = 60;
  const svg = document.createElementNS(SVG_NS, "svg");
  const height = Math.max(entries.length, 1) * rowH;
  svg.setAttribute("viewBox", `0 0 ${labelW + barW + pctW} ${height}`);
  svg.setAttribute("role", "img");
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    svg.append(el);
    return el;
  };
  if (entries.length === 0) add("text", { x: 0, y: 15 }, "no operators yet");
  entries.forEach(({ label, share }, i) => {
    const y = i * rowH;
    add("text", { x: 0, y: y + 15 }, label);
    add("rect", { class: "track", x: labelW, y: y + 4, width: barW, height: rowH - 8, rx: 3 });
    add("rect", { class: "bar", x: labelW, y: y + 4, width: barW * share, height: rowH - 8, rx: 3 });
    add("text", { x: labelW + barW + 6, y: y + 15 }, `${(share * 100).toFixed(1)}%`);
  });
  return svg;
}

function renderLayer(key, layer) {
  document.getElementById(`hhi-${key}`).textContent = String(layer.hhi);
  document.getElementById(`nakamoto-${key}`).textContent = String(layer.nakamoto);
  document.getElementById(`chart-${key}`).replaceChildren(barChart(layer.shares.map((s) => ({ label: short(s.operator), share: s.share }))));
}

function render(state) {
  document.getElementById("chain").textContent = `chain ${state.chainId} · block ${state.blockNumber} · market ${state.addresses.market}`;
  const d = state.decentralisation;
  document.getElementById("verifications").textContent = String(d.independentVerifications);
  renderLayer("jobs", d.execution);
  renderLayer("stake", d.stake);

  document.getElementById("job-count").textContent = `(${state.jobs.length})`;
  // Newest first: the jobs worth watching are the ones still moving.
  fillTable("jobs", "job-row", [...state.jobs].reverse(), 8, (j) => [
    cell(`#${j.id}`),
    cell(j.status, `status-${j.status}`),
    cell(`#${j.modelId}`),
    cell(short(j.operator), "addr", j.operator),
    cell(`${units(j.price)} ${j.token === ZERO ? "ETH" : short(j.token)}`),
    cell(j.latencySeconds === null ? "–" : `${j.latencySeconds} s`),
    cell(j.fulfilment ? `${Number(j.fulfilment.gasUsed).toLocaleString("en")}${j.fulfilment.batchSize > 1 ? ` (batch of ${j.fulfilment.batchSize})` : ""}` : "–", "", j.fulfilment?.txHash),
    cell(j.fulfilment?.proofBytes == null ? "–" : `${j.fulfilment.proofBytes.toLocaleString("en")} B`),
  ]);

  document.getElementById("operator-count").textContent = `(${state.operators.length})`;
  fillTable("operators", "operator-row", state.operators, 5, (o) => [
    cell(o.address, "addr"),
    cell(units(o.staked)),
    cell(units(o.locked)),
    cell(String(o.jobsFulfilled)),
    cell(String(o.slashes)),
  ]);

  document.getElementById("model-count").textContent = `(${state.models.length})`;
  fillTable("models", "model-row", state.models, 6, (m) => [
    cell(`#${m.id}`),
    cell(m.status, `status-${m.status}`),
    cell(`${m.verifierKind} ${short(m.verifier)}`, "addr", m.verifier),
    cell(String(m.inputCount)),
    cell(String(m.outputCount)),
    cell(m.uri),
  ]);

  document.getElementById("market-count").textContent = `(${state.predictionMarkets.length})`;
  fillTable("markets", "market-row", state.predictionMarkets, 7, (m) => [
    cell(`#${m.id}`),
    cell(m.question),
    cell(m.jobId === "0" ? "–" : `#${m.jobId}`),
    cell(units(m.yesPool)),
    cell(units(m.noPool)),
    cell(String(m.bets)),
    cell(m.outcome, `status-${m.outcome}`),
  ]);
}

async function poll() {
  const error = document.getElementById("error");
  try {
    const res = await fetch("api/state", { cache: "no-store" });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error ?? res.statusText);
    render(body);
    error.hidden = true;
  } catch (e) {
    // Keep the last good state on screen; just say the chain is not answering.
    error.textContent = `cannot read the chain: ${e.message}`;
    error.hidden = false;
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
