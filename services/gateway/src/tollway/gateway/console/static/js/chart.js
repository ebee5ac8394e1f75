// Bar charts as inline SVG, each with a text alternative (a summary and the same numbers as a table).

import { h, uid } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 420;
const HEIGHT = 170;
const PAD = { top: 22, right: 6, bottom: 26, left: 6 };

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// points: [{label, value (a number, for the bar's height only), text (the value as shown)}]
export function barChart(title, points, { empty = "No data in this period yet." } = {}) {
  const id = uid("chart");
  const figure = h("figure", { class: "chart panel" }, h("figcaption", { id }, title));
  if (points.length === 0) {
    figure.append(h("p", { class: "muted" }, empty));
    return figure;
  }
  const top = Math.max(...points.map((p) => p.value), 0) || 1;
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotWidth / points.length;
  const barWidth = Math.max(2, Math.min(48, slot * 0.7));
  const labelEvery = Math.ceil(points.length / 8);
  const peak = points.reduce((best, p) => (p.value > best.value ? p : best), points[0]);
  const chart = svg(
    "svg",
    { class: "bars", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-labelledby": id, "aria-describedby": `${id}-d` },
    svg("desc", { id: `${id}-d` }, `${points.length} bars; highest ${peak.label}: ${peak.text}.`),
    svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: HEIGHT - PAD.bottom, y2: HEIGHT - PAD.bottom }),
  );
  points.forEach((point, index) => {
    const height = Math.max(point.value > 0 ? 1 : 0, (point.value / top) * plotHeight);
    const x = PAD.left + index * slot + (slot - barWidth) / 2;
    const y = HEIGHT - PAD.bottom - height;
    chart.append(svg("rect", { class: "bar", x, y, width: barWidth, height }, svg("title", {}, `${point.label}: ${point.text}`)));
    if (index % labelEvery === 0) {
      chart.append(svg("text", { x: x + barWidth / 2, y: HEIGHT - PAD.bottom + 16, "text-anchor": "middle" }, point.label));
    }
  });
  chart.append(svg("text", { x: PAD.left + 2, y: 14, "text-anchor": "start" }, `max ${peak.text}`));
  const rows = points.map((p) => h("tr", {}, h("th", { scope: "row" }, p.label), h("td", { class: "num" }, p.text)));
  figure.append(
    chart,
    h("details", {}, h("summary", {}, "Show as a table"),
      h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "period"), h("th", { scope: "col", class: "num" }, "value"))), h("tbody", {}, rows))),
  );
  return figure;
}
