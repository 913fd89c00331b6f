// The explorer page's behaviour: walk the recorded backward pass, show a node's panel, collapse
// Module clusters, search, zoom and pan. Plain DOM and SVG; every number shown comes from the
// data the engine recorded (the <script id="explorer-data"> element), none is computed here.
"use strict";

const data = JSON.parse(document.getElementById("explorer-data").textContent);
const svg = document.querySelector("#graph svg");
const layer = svg.querySelector("g.graph");
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

// ---- the drawn graph: DOT names to SVG groups ------------------------------------------------

const nodes = {}; // DOT name -> <g class="node">
const edgesInto = {}; // DOT name of an edge's head -> [[tail name, <g class="edge">], ...]
const clusters = {}; // cluster name -> <g class="cluster">
for (const group of layer.querySelectorAll("g.node, g.edge, g.cluster")) {
  const title = group.querySelector("title").textContent;
  if (group.classList.contains("node")) {
    nodes[title] = group;
    group.dataset.name = title;
  } else if (group.classList.contains("edge")) {
    const [tail, head] = title.split("->");
    (edgesInto[head] = edgesInto[head] || []).push([tail, group]);
  } else {
    clusters[title] = group;
  }
}
const moduleOf = {}; // DOT name -> the cluster holding it
for (const [cluster, module] of Object.entries(data.modules)) {
  for (const member of module.members) moduleOf[member] = cluster;
}

function labelLines(name) {
  return Array.from(nodes[name].querySelectorAll("text"), (text) => text.textContent);
}

// ---- numbers and tensors -------------------------------------------------------------------

function formatNumber(value) {
  if (typeof value === "string") return value; // nan, inf, -inf
  return String(Number(value.toPrecision(6)));
}

// Nested lists as NumPy prints them: the last axis on one line, one line per row.
function formatNested(values, indent = "") {
  if (!Array.isArray(values)) return formatNumber(values);
  if (!values.length || !Array.isArray(values[0])) {
    return "[" + values.map((value) => formatNested(value)).join(", ") + "]";
  }
  const rows = values.map((row) => formatNested(row, indent + " "));
  return "[" + rows.join(",\n" + indent + " ") + "]";
}

function shapeText(shape) {
  return "(" + shape.join(", ") + (shape.length === 1 ? ",)" : ")");
}

function element(tag, attributes, ...children) {
  const made = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) made.setAttribute(key, value);
  for (const child of children) made.append(child);
  return made;
}

function histogram(summary) {
  const counts = summary.histogram.counts;
  const tallest = Math.max(...counts, 1);
  const picture = document.createElementNS(SVG_NS, "svg");
  picture.setAttribute("class", "histogram");
  picture.setAttribute("width", 4 * 40);
  picture.setAttribute("height", 40);
  counts.forEach((count, k) => {
    const bar = document.createElementNS(SVG_NS, "rect");
    const height = (38 * count) / tallest;
    bar.setAttribute("x", 10 * k);
    bar.setAttribute("y", 40 - height);
    bar.setAttribute("width", 9);
    bar.setAttribute("height", height);
    picture.append(bar);
  });
  const edges = summary.histogram.edges;
  const range = formatNumber(edges[0]) + " to " + formatNumber(edges[edges.length - 1]);
  return element("div", {}, picture, element("div", { class: "hint" }, range));
}

// A tensor as text: every value when small, else its statistics (and a histogram beside).
function tensorText(summary) {
  if (summary.values !== undefined) return formatNested(summary.values);
  if (summary.stats === undefined) return shapeText(summary.shape) + " " + summary.dtype;
  const stat = (key) => key + " " + formatNumber(summary.stats[key]);
  const nonfinite = summary.nonfinite ? ", " + summary.nonfinite + " values not finite" : "";
  return shapeText(summary.shape) + nonfinite + "\n" + ["mean", "std"].map(stat).join(", ") +
    "\n" + ["min", "max", "norm"].map(stat).join(", ");
}

function tensorView(summary, id) {
  const view = element("div", { class: "tensor-values" }, tensorText(summary));
  if (id) view.id = id;
  if (summary.histogram === undefined) return view;
  return element("div", {}, view, histogram(summary));
}

function nameOf(name) {
  return labelLines(name)[0] + " (" + name + ")";
}

// ---- the backward walk -----------------------------------------------------------------------

const steps = data.steps;
const slider = $("slider");
let current = 0;
let decorated = []; // [element, class] pairs set by the last step drawn
const firstGradient = {}; // DOT name -> the first step that handed it a gradient
steps.forEach((step, k) => {
  if (step.output && firstGradient[step.output] === undefined) firstGradient[step.output] = k;
  for (const sent of step.sent) {
    if (firstGradient[sent.to] === undefined) firstGradient[sent.to] = k;
  }
});
const ranAt = {}; // DOT name of an op -> its step
steps.forEach((step, k) => (ranAt[step.node] = k));

function shown(name) {
  // A node inside a collapsed module is stood for by the module's box.
  const cluster = moduleOf[name];
  if (cluster && collapsed.has(cluster)) return boxes[cluster];
  return nodes[name];
}

function decorate(target, className) {
  if (!target) return;
  target.classList.add(className);
  decorated.push([target, className]);
}

function drawStep(k) {
  for (const [target, className] of decorated) target.classList.remove(className);
  decorated = [];
  current = Math.max(0, Math.min(k, steps.length - 1));
  slider.value = current;
  for (const [name, first] of Object.entries(firstGradient)) {
    nodes[name].classList.toggle("has-grad", first <= current);
  }
  for (const [name, step] of Object.entries(ranAt)) {
    nodes[name].classList.toggle("done", step < current);
  }
  const step = steps[current];
  decorate(shown(step.node), "current");
  decorate(shown(step.output), "arrived");
  for (const sent of step.sent) {
    decorate(shown(sent.to), "receives");
    for (const [tail, edge] of edgesInto[step.node] || []) {
      if (tail === sent.to) decorate(edge, "flowing");
    }
  }
  $("step-label").textContent = "step " + (current + 1) + " of " + steps.length;
  showStep(step);
  const focus = shown(step.node);
  if (focus && !inView(focus)) reveal(focus);
}

function showStep(step) {
  const panel = $("step-panel");
  panel.dataset.node = step.node;
  panel.replaceChildren(
    element("h2", {}, "backward step " + (current + 1) + " of " + steps.length + ": ",
      element("span", { id: "step-op" }, step.op)),
    element("div", {}, "gradient that arrived at its output " + nameOf(step.output) + ":"),
    tensorView(step.grad, "step-grad"),
  );
  if (step.sent.length === 0) {
    const note = "its VJP sent nothing on (no input needs a gradient)";
    panel.append(element("p", { class: "hint" }, note));
    return;
  }
  const list = element("ul", { class: "sent", id: "step-sent" });
  for (const sent of step.sent) list.append(sentItem(sent));
  panel.append(element("div", {}, "what its VJP sent to each input:"), list);
}

function sentItem(sent) {
  const item = element("li", { "data-to": sent.to },
    "input " + sent.input + ", " + nameOf(sent.to) + ":", tensorView(sent.grad));
  if (sent.from_shape) {
    item.append(element("div", { class: "hint" },
      "reduced from shape " + shapeText(sent.from_shape) + ", undoing the broadcast"));
  }
  if (sent.before) {
    item.append(element("div", { class: "sum" }, "accumulates: the sum so far ",
      element("span", { class: "tensor-values" }, tensorText(sent.before)),
      " plus this share gives ",
      element("span", { class: "tensor-values total" }, tensorText(sent.total))));
  }
  return item;
}

let playing = null;
function play() {
  if (playing !== null) return pause();
  if (current >= steps.length - 1) drawStep(0);
  $("play").textContent = "pause";
  playing = setInterval(() => {
    if (current >= steps.length - 1) return pause();
    drawStep(current + 1);
  }, 700);
}
function pause() {
  clearInterval(playing);
  playing = null;
  $("play").textContent = "play";
}

// ---- a node's panel ------------------------------------------------------------------------

let selected = null;

function facts(rows) {
  const table = element("table", { class: "facts" });
  for (const [key, value] of rows) {
    if (value === null || value === undefined) continue;
    table.append(element("tr", {}, element("td", {}, key), element("td", {}, String(value))));
  }
  return table;
}

function flops(count, matmul) {
  if (count === null) return "unknown (an op without a cost formula)";
  const part = matmul ? " (" + matmul.toLocaleString("en") + " in matmuls)" : "";
  return count.toLocaleString("en") + part;
}

function showDetails(name) {
  const panel = $("details");
  panel.dataset.element = name;
  if (data.modules[name]) return showModule(name);
  const item = data.elements[name];
  panel.replaceChildren(element("h2", { id: "details-title" }, labelLines(name).join(" \u00b7 ")));
  if (item.kind === "op") {
    panel.append(facts([
      ["op", item.op], ["output", shapeText(item.shape) + " " + item.dtype],
      ["forward flops", flops(item.forward_flops, item.forward_matmul_flops)],
      ["backward flops", flops(item.backward_flops, item.backward_matmul_flops)],
      ["backward step", item.step === null ? "not run (no gradient reached it)" : item.step + 1],
    ]));
    if (item.step !== null) {
      const go = element("button", {}, "show this step");
      go.addEventListener("click", () => drawStep(item.step));
      panel.append(go);
    }
    for (const [j, text] of (item.neurons || []).entries()) {
      const summary = element("summary", {}, "neuron " + j + " of the first example, step by step");
      panel.append(element("details", {}, summary, element("pre", { class: "neuron" }, text)));
    }
    return;
  }
  const shape = shapeText(item.shape);
  panel.append(facts([["kind", item.kind], ["shape", shape], ["dtype", item.dtype]]));
  panel.append(element("div", {}, "values:"),
    item.values ? tensorView(item.values, "details-values") : element("div", { class: "hint" },
      "not kept by the graph (name the tensor in names= to see them)"));
  if (item.grad) {
    panel.append(element("div", {}, "gradient, summed over the whole backward:"),
      tensorView(item.grad, "details-grad"));
  } else if (item.kind !== "constant") {
    panel.append(element("div", { class: "hint" }, "no gradient reached it"));
  }
}

function showModule(cluster) {
  const module = data.modules[cluster];
  const ops = module.members.filter((name) => data.elements[name].kind === "op");
  // A sum with an op of unknown cost is unknown.
  const sum = (key) => ops.reduce((total, name) => {
    const count = data.elements[name][key];
    return total === null || count === null ? null : total + count;
  }, 0);
  $("details").replaceChildren(element("h2", { id: "details-title" }, module.label),
    facts([["ops", ops.map((name) => data.elements[name].op).join(" > ")],
      ["forward flops", flops(sum("forward_flops"), sum("forward_matmul_flops"))],
      ["backward flops", flops(sum("backward_flops"), sum("backward_matmul_flops"))]]));
}

function select(name) {
  if (selected) shown(selected)?.classList.remove("selected");
  selected = name;
  shown(name)?.classList.add("selected");
  showDetails(name);
}

// ---- module clusters -----------------------------------------------------------------------

const collapsed = new Set();
const boxes = {}; // cluster name -> the box drawn over it while collapsed

function makeBox(cluster) {
  const frame = clusters[cluster].getBBox();
  const box = document.createElementNS(SVG_NS, "g");
  box.setAttribute("class", "module-box hidden");
  box.dataset.module = cluster;
  const rect = document.createElementNS(SVG_NS, "rect");
  const { x, y, width, height } = frame;
  for (const [key, value] of Object.entries({ x, y, width, height, rx: 6 })) {
    rect.setAttribute(key, value);
  }
  const text = document.createElementNS(SVG_NS, "text");
  text.setAttribute("x", frame.x + frame.width / 2);
  text.setAttribute("y", frame.y + frame.height / 2);
  text.textContent = data.modules[cluster].label + " (collapsed)";
  box.append(rect, text);
  box.addEventListener("click", (event) => {
    event.stopPropagation();
    toggleModule(cluster);
    select(cluster);
  });
  layer.append(box);
  return box;
}

function setCollapsed(cluster, collapse) {
  boxes[cluster] = boxes[cluster] || makeBox(cluster);
  if (collapse) collapsed.add(cluster);
  else collapsed.delete(cluster);
  const members = new Set(data.modules[cluster].members);
  for (const name of members) {
    nodes[name].classList.toggle("hidden", collapse);
    for (const [tail, edge] of edgesInto[name] || []) {
      if (members.has(tail)) edge.classList.toggle("hidden", collapse);
    }
  }
  boxes[cluster].classList.toggle("hidden", !collapse);
}

// The current step is drawn again, on the boxes that now stand for their ops.
function redrawStep() {
  if (steps.length) drawStep(current);
}

function toggleModule(cluster) {
  setCollapsed(cluster, !collapsed.has(cluster));
  redrawStep();
}

function setAllCollapsed(collapse) {
  for (const cluster in clusters) setCollapsed(cluster, collapse);
  redrawStep();
}

// ---- search --------------------------------------------------------------------------------

let matches = [];
let matchIndex = -1;

function search(text) {
  for (const name of matches) nodes[name].classList.remove("match");
  const wanted = text.trim().toLowerCase();
  const holds = (name) => labelLines(name).join(" ").toLowerCase().includes(wanted);
  matches = wanted ? Object.keys(nodes).filter(holds) : [];
  for (const name of matches) nodes[name].classList.add("match");
  matchIndex = -1;
  $("search-count").textContent = wanted ? matches.length + " found" : "";
}

function nextMatch() {
  if (!matches.length) return;
  matchIndex = (matchIndex + 1) % matches.length;
  const name = matches[matchIndex];
  if (moduleOf[name] && collapsed.has(moduleOf[name])) setCollapsed(moduleOf[name], false);
  reveal(nodes[name]);
  select(name);
}

// ---- zoom and pan --------------------------------------------------------------------------

const whole = svg.viewBox.baseVal;
let view = { x: whole.x, y: whole.y, width: whole.width, height: whole.height };
const fitted = { ...view };
svg.removeAttribute("width");
svg.removeAttribute("height");

function setView(next) {
  view = next;
  svg.setAttribute("viewBox", [view.x, view.y, view.width, view.height].join(" "));
}

function toGraph(clientX, clientY) {
  const point = svg.createSVGPoint();
  point.x = clientX;
  point.y = clientY;
  return point.matrixTransform(svg.getScreenCTM().inverse());
}

function zoom(factor, clientX, clientY) {
  const box = svg.getBoundingClientRect();
  const at = toGraph(clientX ?? box.left + box.width / 2, clientY ?? box.top + box.height / 2);
  setView({
    x: at.x - (at.x - view.x) / factor, y: at.y - (at.y - view.y) / factor,
    width: view.width / factor, height: view.height / factor,
  });
}

// An element's box in the coordinates of the viewBox (Graphviz shifts its layer by a translation).
function frameOf(target) {
  const frame = target.getBBox();
  const matrix = layer.transform.baseVal.consolidate()?.matrix;
  const [dx, dy] = matrix ? [matrix.e, matrix.f] : [0, 0];
  return { x: frame.x + dx, y: frame.y + dy, width: frame.width, height: frame.height };
}

function inView(target) {
  const frame = frameOf(target);
  return frame.x >= view.x && frame.y >= view.y && frame.x + frame.width <= view.x + view.width &&
    frame.y + frame.height <= view.y + view.height;
}

function reveal(target) {
  const frame = frameOf(target);
  const width = Math.min(view.width, Math.max(frame.width * 4, 400));
  const height = (view.height * width) / view.width;
  const x = frame.x + frame.width / 2 - width / 2;
  const y = frame.y + frame.height / 2 - height / 2;
  setView({ x, y, width, height });
}

let drag = null;
let dragged = false; // the last press moved the view: its click selects nothing
$("graph").addEventListener("mousedown", (event) => {
  const start = toGraph(event.clientX, event.clientY);
  drag = { start, x: event.clientX, y: event.clientY, moved: false };
  $("graph").classList.add("panning");
});
window.addEventListener("mousemove", (event) => {
  if (!drag) return;
  const at = toGraph(event.clientX, event.clientY);
  const distance = Math.abs(event.clientX - drag.x) + Math.abs(event.clientY - drag.y);
  drag.moved = drag.moved || distance > 3;
  setView({ ...view, x: view.x - (at.x - drag.start.x), y: view.y - (at.y - drag.start.y) });
});
window.addEventListener("mouseup", () => {
  dragged = drag !== null && drag.moved;
  drag = null;
  $("graph").classList.remove("panning");
});
$("graph").addEventListener("wheel", (event) => {
  event.preventDefault();
  zoom(event.deltaY < 0 ? 1.2 : 1 / 1.2, event.clientX, event.clientY);
}, { passive: false });

// ---- wiring --------------------------------------------------------------------------------

for (const [name, group] of Object.entries(nodes)) {
  group.addEventListener("mouseenter", () => showDetails(name));
  group.addEventListener("mouseleave", () => (selected ? showDetails(selected) : null));
  group.addEventListener("click", (event) => {
    event.stopPropagation();
    if (!dragged) select(name);
  });
}
for (const [cluster, group] of Object.entries(clusters)) {
  group.querySelector("text")?.addEventListener("click", (event) => {
    event.stopPropagation();
    toggleModule(cluster);
  });
}
$("collapse-all").addEventListener("click", () => setAllCollapsed(true));
$("expand-all").addEventListener("click", () => setAllCollapsed(false));
if (!Object.keys(clusters).length) $("modules").classList.add("hidden");
$("zoom-in").addEventListener("click", () => zoom(1.25));
$("zoom-out").addEventListener("click", () => zoom(0.8));
$("fit").addEventListener("click", () => setView({ ...fitted }));
$("search").addEventListener("input", (event) => search(event.target.value));
$("search").addEventListener("keydown", (event) => { if (event.key === "Enter") nextMatch(); });
slider.addEventListener("input", () => drawStep(Number(slider.value)));
$("first").addEventListener("click", () => drawStep(0));
$("back").addEventListener("click", () => drawStep(current - 1));
$("step").addEventListener("click", () => drawStep(current + 1));
$("last").addEventListener("click", () => drawStep(steps.length - 1));
$("play").addEventListener("click", play);
document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT" && event.target.type !== "range") return;
  if (event.target.tagName === "BUTTON" && (event.key === " " || event.key === "Enter")) return;
  const keys = {
    ArrowRight: () => drawStep(current + 1), ArrowLeft: () => drawStep(current - 1),
    Home: () => drawStep(0), End: () => drawStep(steps.length - 1), " ": play,
    "+": () => zoom(1.25), "-": () => zoom(0.8), 0: () => setView({ ...fitted }),
  };
  if (keys[event.key] && (steps.length || !event.key.startsWith("Arrow"))) {
    event.preventDefault();
    keys[event.key]();
  }
});

$("title").textContent = data.title;
$("count").textContent = data.ops + " ops";
$("count").dataset.ops = data.ops;
if (steps.length) {
  slider.max = steps.length - 1;
  drawStep(0);
} else {
  for (const id of ["first", "back", "play", "step", "last", "slider"]) $(id).disabled = true;
  const note = "no backward pass was recorded: this is the forward graph alone";
  $("step-panel").replaceChildren(element("p", { class: "hint" }, note));
}
document.body.dataset.readyMs = performance.now().toFixed(0);
document.body.dataset.ready = "true";
