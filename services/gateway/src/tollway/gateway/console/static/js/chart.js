// Bar and line charts as inline SVG, each with a text alternative (a summary and the same numbers as a table).

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
export function barChart(title, points, { empty = "No data in this period yet.", maxLabels = 8 } = {}) {
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
  const labelEvery = Math.ceil(points.length / maxLabels);
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
  figure.append(chart, asTable(["value"], points.map((p) => [p.label, p.text])));
  return figure;
}

// The chart's numbers as a table, folded away under the picture.
function asTable(names, rows) {
  return h("details", {}, h("summary", {}, "Show as a table"),
    h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "period"), names.map((n) => h("th", { scope: "col", class: "num" }, n)))),
      h("tbody", {}, rows.map(([label, ...cells]) => h("tr", {}, h("th", { scope: "row" }, label), cells.map((c) => h("td", { class: "num" }, c)))))));
}

// One polyline per series over shared periods; a null value is a gap (no data then), not a zero.
// series: [{name, values: [number | null], text: number -> string}]; lines differ by dash as well as colour.
export function lineChart(title, labels, series, { empty = "No data in this period yet.", maxLabels = 8 } = {}) {
  const id = uid("chart");
  const figure = h("figure", { class: "chart panel" }, h("figcaption", { id }, title));
  const known = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
  if (known.length === 0) {
    figure.append(h("p", { class: "muted" }, empty));
    return figure;
  }
  const top = Math.max(...known, 0) || 1;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const inset = 22; // room for the first and last period's label, centred under its point
  const step = labels.length > 1 ? (WIDTH - PAD.left - PAD.right - 2 * inset) / (labels.length - 1) : 0;
  const x = (i) => PAD.left + (labels.length > 1 ? inset + i * step : (WIDTH - PAD.left - PAD.right) / 2);
  const y = (v) => HEIGHT - PAD.bottom - (v / top) * plotHeight;
  const peaks = series.map((s) => {
    const at = s.values.reduce((best, v, i) => (v !== null && (best < 0 || v > s.values[best]) ? i : best), -1);
    return at < 0 ? `${s.name} has no data` : `${s.name} peaks at ${s.text(s.values[at])} (${labels[at]})`;
  });
  const chart = svg(
    "svg",
    { class: "lines", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-labelledby": id, "aria-describedby": `${id}-d` },
    svg("desc", { id: `${id}-d` }, `${labels.length} periods; ${peaks.join("; ")}.`),
    svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: HEIGHT - PAD.bottom, y2: HEIGHT - PAD.bottom }),
  );
  series.forEach((s, n) => {
    let path = "";
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      const gap = i === 0 || s.values[i - 1] === null || s.values[i - 1] === undefined;
      path += `${gap ? "M" : "L"}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
      const alone = gap && (s.values[i + 1] === null || s.values[i + 1] === undefined);
      if (alone || labels.length <= 48) {
        chart.append(svg("circle", { class: `dot s${n}`, cx: x(i), cy: y(v), r: 3 }, svg("title", {}, `${labels[i]} ${s.name}: ${s.text(v)}`)));
      }
    });
    chart.append(svg("path", { class: `line s${n}`, d: path.trim() }));
  });
  const every = Math.ceil(labels.length / maxLabels);
  labels.forEach((label, i) => {
    if (i % every === 0) chart.append(svg("text", { x: x(i), y: HEIGHT - PAD.bottom + 16, "text-anchor": "middle" }, label));
  });
  chart.append(svg("text", { x: PAD.left + 2, y: 14, "text-anchor": "start" }, `max ${series[0].text(top)}`));
  const legend = h("ul", { class: "legend", "aria-hidden": "true" }, series.map((s, n) => h("li", {}, h("span", { class: `swatch s${n}` }), s.name)));
  const rows = labels.map((label, i) => [label, ...series.map((s) => (s.values[i] === null || s.values[i] === undefined ? "—" : s.text(s.values[i])))]);
  figure.append(chart, legend, asTable(series.map((s) => s.name), rows));
  return figure;
}
