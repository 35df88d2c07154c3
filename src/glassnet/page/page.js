// glassnet's interactive page: the model computed here, in float64, with glassnet's formulas.
// Every user string reaches the DOM through textContent, never as markup.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("glassnet-data").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const MAP_UNITS = 100; // wider layers get no small maps, as in glassnet.pictures
  const GRAPH_MAX_UNITS = 50; // wider layers are shown as heatmaps only, as in glassnet.pictures
  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- the embedded numbers
  function decode(text, Type) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return new Type(bytes.buffer); // little-endian, as written
  }
  const layers = D.layers;
  const nLayers = layers.length;
  const nInputs = layers[0].inputs;
  const offsets = [];
  let nParams = 0;
  for (const layer of layers) {
    offsets.push(nParams);
    nParams += (layer.inputs + 1) * layer.units;
  }
  const params = decode(D.parameters, Float64Array);
  // the maps' resolutions: glassnet.pictures' 48 (and 120 enlarged), coarser for big networks so
  // that a frame stays quick to compute (about 2e7 and 6e7 multiply-adds)
  const GRID = Math.max(16, Math.min(48, Math.floor(Math.sqrt(2e7 / nParams))));
  const FOCUS = Math.max(32, Math.min(120, Math.floor(Math.sqrt(6e7 / nParams))));
  const epochs = D.epochs;
  const history = {};
  for (const name of Object.keys(D.history)) history[name] = decode(D.history[name], Float64Array);
  const monitor = D.monitor;
  const statistics = {};
  if (monitor) {
    for (const name of Object.keys(monitor.statistics)) {
      statistics[name] = decode(monitor.statistics[name], Float32Array);
    }
  }
  const points = {};
  if (D.points) {
    for (const name of Object.keys(D.points)) {
      const part = D.points[name];
      points[name] = { x: decode(part.x, Float64Array), n: part.n, labels: part.labels };
    }
  }

  // ---------------------------------------------------------------- glassnet's formulas
  // model/activations.py, element by element, in the same order of operations
  const FLOOR = D.expFloor;
  const CEILING = D.expCeiling;
  const nanOr = (z, value) => (z !== z ? z : value); // np.maximum propagates NaN
  const ACTIVATIONS = {
    identity: (z) => z,
    relu: (z) => nanOr(z, z > 0 ? z : 0),
    leaky_relu: (z, alpha) => nanOr(z, Math.max(z, z * alpha)),
    sigmoid: (z) => Math.tanh(z * 0.5) * 0.5 + 0.5,
    tanh: (z) => Math.tanh(z),
    softplus: (z) => {
      const tail = Math.log1p(Math.exp(nanOr(z, Math.max(-Math.abs(z), FLOOR))));
      return nanOr(z, z > 0 ? z : 0) + tail;
    },
    exp: (z) => Math.exp(nanOr(z, Math.min(Math.max(z, FLOOR), CEILING))),
  };
  function softmaxInPlace(a, start, n) {
    let peak = a[start];
    if (n === 2) peak = nanOr(a[start + 1], Math.max(a[start], a[start + 1]));
    else for (let j = 1; j < n; j++) peak = nanOr(a[start + j], Math.max(peak, a[start + j]));
    for (let j = 0; j < n; j++) {
      const shifted = a[start + j] - peak;
      a[start + j] = Math.exp(nanOr(shifted, Math.max(shifted, FLOOR)));
    }
    let sum = 0;
    if (n === 2) sum = a[start] + a[start + 1];
    else for (let j = 0; j < n; j++) sum += a[start + j];
    for (let j = 0; j < n; j++) a[start + j] /= sum;
  }
  function activate(layer, z, a, rows) {
    const n = layer.units;
    if (layer.activation === "softmax") {
      a.set(z);
      for (let r = 0; r < rows; r++) softmaxInPlace(a, r * n, n);
      return;
    }
    const f = ACTIVATIONS[layer.activation];
    if (!f) throw new Error("unknown activation " + layer.activation);
    const alpha = layer.alpha;
    for (let k = 0; k < rows * n; k++) a[k] = f(z[k], alpha);
  }
  // Scaling.apply of glassnet.cli.modelinfo: (v / p - mean / p) / (scale / p)
  function standardise(raw) {
    const x = new Float64Array(nInputs);
    const s = D.scaling;
    for (let i = 0; i < nInputs; i++) {
      x[i] = s ? (raw[i] / s.power[i] - s.mean[i] / s.power[i]) / (s.scale[i] / s.power[i]) : raw[i];
    }
    return x;
  }
  // z = x @ W + b then a = f(z), layer after layer, for `rows` inputs at once (plan.infer)
  function forwardRows(x, rows, frame, upTo) {
    const base = frame * nParams;
    const out = [];
    let input = x;
    const last = upTo === undefined ? nLayers - 1 : upTo;
    for (let l = 0; l <= last; l++) {
      const layer = layers[l];
      const nIn = layer.inputs;
      const nOut = layer.units;
      const w = base + offsets[l];
      const bias = w + nIn * nOut;
      const z = new Float64Array(rows * nOut);
      for (let r = 0; r < rows; r++) {
        const row = r * nIn;
        const zr = r * nOut;
        for (let i = 0; i < nIn; i++) {
          const v = input[row + i];
          const wi = w + i * nOut;
          for (let j = 0; j < nOut; j++) z[zr + j] += v * params[wi + j];
        }
        for (let j = 0; j < nOut; j++) z[zr + j] += params[bias + j];
      }
      const a = new Float64Array(rows * nOut);
      activate(layer, z, a, rows);
      out.push({ z: z, a: a });
      input = a;
    }
    return out;
  }
  // model/probabilities.py: class_probabilities of the output
  function normaliseRow(scores) {
    let peak = 0;
    for (let j = 0; j < scores.length; j++) {
      scores[j] = Math.max(scores[j], 0);
      peak = Math.max(peak, scores[j]);
    }
    if (peak === 0) {
      scores.fill(1);
      peak = 1;
    }
    let sum = 0;
    for (let j = 0; j < scores.length; j++) {
      scores[j] /= peak;
      sum += scores[j];
    }
    return scores.map((v) => v / sum);
  }
  function probabilities(zOut, aOut) {
    const name = layers[nLayers - 1].activation;
    const n = aOut.length;
    const finite = Array.from(zOut).every(Number.isFinite);
    if (!finite) return robustProbabilities(Array.from(name === "softmax" || name === "sigmoid" ? zOut : aOut), name);
    if (name === "softmax") return Array.from(aOut);
    if (n === 1) {
      const p = Math.min(Math.max(aOut[0], 0), 1);
      return [1 - p, p];
    }
    return normaliseRow(Array.from(aOut));
  }
  function robustProbabilities(raw, name) {
    const sig = ACTIVATIONS.sigmoid;
    if (raw.length === 1) {
      let v = raw[0];
      if (name === "sigmoid") v = v === Infinity ? 1 : v === -Infinity ? 0 : v;
      let p = v !== v ? 0.5 : Math.min(Math.max(v, 0), 1);
      if (name === "sigmoid" && Number.isFinite(v)) p = sig(v);
      return [1 - p, p];
    }
    if (name === "softmax") {
      const r = raw.map((v) => (v !== v ? -Infinity : v));
      const peak = Math.max.apply(null, r);
      const scores = Number.isFinite(peak)
        ? r.map((v) => Math.exp(Math.max(v - peak, FLOOR)))
        : r.map((v) => (v === Infinity ? 1 : 0));
      return normaliseRow(scores);
    }
    let r = name === "sigmoid" ? raw.map((v) => (v !== v ? 0 : sig(v))) : raw.map((v) => (v !== v ? 0 : v));
    if (r.some((v) => v === Infinity)) r = r.map((v) => (v === Infinity ? 1 : 0));
    return normaliseRow(r);
  }
  // the output of a regression, its standardisation undone (Scaling.undo)
  function predictions(aOut) {
    const s = D.targetScaling;
    return Array.from(aOut, (v, j) =>
      s ? (v * (s.scale[j] / s.power[j]) + s.mean[j] / s.power[j]) * s.power[j] : v
    );
  }
  function forward(raw, frame) {
    const f = frame === undefined ? state.frame : frame;
    const x = standardise(raw);
    const passes = forwardRows(x, 1, f);
    const out = passes[nLayers - 1];
    const result = {
      epoch: epochs[f],
      inputs: Array.from(x),
      z: passes.map((p) => Array.from(p.z)),
      a: passes.map((p) => Array.from(p.a)),
    };
    if (D.task === "classification") result.probabilities = probabilities(out.z, out.a);
    else result.predictions = predictions(out.a);
    return result;
  }

  // ---------------------------------------------------------------- the view's state
  const state = { frame: epochs.length - 1, unit: null, point: null, playing: false };
  const plane = D.plane;
  const fmt = (v) => (v === 0 ? "0" : Number.isFinite(v) ? (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? v.toPrecision(6) : v.toExponential(4)) : String(v));
  const tooltip = $("tooltip");
  function showTip(event, text) {
    tooltip.textContent = text;
    tooltip.hidden = false;
    tooltip.style.left = event.clientX + 14 + "px";
    tooltip.style.top = event.clientY + 12 + "px";
  }
  const hideTip = () => (tooltip.hidden = true);
  function unitName(l, j) {
    if (l < 0) return "input " + (j + 1) + " (" + D.features[j] + ")";
    const kind = l === nLayers - 1 ? "output" : "hidden";
    let name = "layer " + (l + 1) + " (" + kind + ", " + layers[l].activation + ") unit " + (j + 1);
    if (l === nLayers - 1 && D.classes && layers[l].units === D.classes.length) name += " (class " + D.classes[j] + ")";
    return name;
  }
  function weight(frame, l, i, j) {
    return params[frame * nParams + offsets[l] + i * layers[l].units + j];
  }

  // ---------------------------------------------------------------- colours
  // matplotlib's RdBu_r, as glassnet.pictures colours its maps and heatmaps
  const RDBU_R = ["#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f"].map((h) => [
    parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16),
  ]);
  function rdbu(t) {
    if (!(t >= 0)) t = 0;
    if (t > 1) t = 1;
    const x = t * (RDBU_R.length - 1);
    const k = Math.min(Math.floor(x), RDBU_R.length - 2);
    const f = x - k;
    const a = RDBU_R[k];
    const b = RDBU_R[k + 1];
    return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
  }
  // the seed's colours for two classes (glassnet.pictures), tab10 for more
  const TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const classColour = (k) => (D.classes && D.classes.length <= 2 ? (k === 1 ? "#4b0082" : "#b8860b") : TAB10[k % 10]);

  // ---------------------------------------------------------------- header
  $("title").textContent = "glassnet: " + D.title;
  const sizes = [nInputs].concat(layers.map((l) => l.units)).join("-");
  $("subtitle").textContent =
    "network " + sizes + " (" + layers.map((l) => l.activation).join(", ") + "), " + D.task +
    (D.target ? " of " + D.target : "") + "; inputs: " + D.features.join(", ") +
    (D.scaling ? " (standardised inside the page as glassnet does)" : "") +
    "; computed here in float64 from the embedded parameters";
  for (const text of D.notes) {
    const item = document.createElement("li");
    item.textContent = text;
    $("notes").appendChild(item);
  }

  // ---------------------------------------------------------------- the graph
  const graphUnits = [nInputs].concat(layers.map((l) => l.units));
  const drawGraph = Math.max.apply(null, graphUnits) <= GRAPH_MAX_UNITS;
  const lines = [];
  const nodes = [];
  if (drawGraph) {
    const width = 130 * graphUnits.length + 40;
    const height = Math.max(260, 11 * Math.max.apply(null, graphUnits) + 60);
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    const hits = [];
    const position = (col, k) => {
      const n = graphUnits[col];
      const x = 30 + col * 130;
      const y = n === 1 ? height / 2 : 35 + (k * (height - 60)) / (n - 1);
      return [x, y];
    };
    for (let l = 0; l < nLayers; l++) {
      for (let i = 0; i < layers[l].inputs; i++) {
        for (let j = 0; j < layers[l].units; j++) {
          const [x1, y1] = position(l, i);
          const [x2, y2] = position(l + 1, j);
          const line = document.createElementNS(SVG, "line");
          line.setAttribute("x1", x1);
          line.setAttribute("y1", y1);
          line.setAttribute("x2", x2);
          line.setAttribute("y2", y2);
          svg.appendChild(line);
          lines.push({ line: line, l: l, i: i, j: j });
          // a wider invisible line over each weight, so that thin ones can be hovered too
          const hit = line.cloneNode();
          hit.setAttribute("class", "hit");
          hit.setAttribute("stroke", "transparent");
          hit.setAttribute("stroke-width", "4");
          hit.addEventListener("mousemove", (e) =>
            showTip(e, "weight from " + unitName(l - 1, i) + "\nto " + unitName(l, j) + "\n= " + weight(state.frame, l, i, j))
          );
          hit.addEventListener("mouseleave", hideTip);
          hits.push(hit);
        }
      }
    }
    for (const hit of hits) svg.appendChild(hit);
    for (let col = 0; col < graphUnits.length; col++) {
      const label = document.createElementNS(SVG, "text");
      const [x] = position(col, 0);
      label.setAttribute("x", x);
      label.setAttribute("y", 16);
      label.setAttribute("text-anchor", "middle");
      label.setAttribute("font-size", "11");
      label.textContent = col === 0 ? "inputs" : "layer " + col + " " + layers[col - 1].activation;
      svg.appendChild(label);
      for (let k = 0; k < graphUnits[col]; k++) {
        const [x, y] = position(col, k);
        const circle = document.createElementNS(SVG, "circle");
        circle.setAttribute("cx", x);
        circle.setAttribute("cy", y);
        circle.setAttribute("r", graphUnits[col] > 30 ? 4 : 6);
        const l = col - 1;
        circle.addEventListener("mousemove", (e) => showTip(e, unitText(l, k)));
        circle.addEventListener("mouseleave", hideTip);
        if (l >= 0) circle.addEventListener("click", () => selectUnit(l, k));
        svg.appendChild(circle);
        nodes.push({ circle: circle, l: l, k: k });
      }
    }
    $("graph").appendChild(svg);
  } else {
    $("graph").textContent = "Layers wider than " + GRAPH_MAX_UNITS + " units: the weights are shown as heatmaps below.";
  }
  function unitText(l, k) {
    let text = unitName(l, k);
    if (l >= 0) text += "\nbias " + params[state.frame * nParams + offsets[l] + layers[l].inputs * layers[l].units + k];
    if (state.pass) {
      if (l < 0) text += "\ninput value " + state.pass.inputs[k];
      else text += "\nz " + state.pass.z[l][k] + "\na " + state.pass.a[l][k];
    }
    return text;
  }
  function updateGraph() {
    if (!drawGraph) return;
    let largest = 0;
    for (const item of lines) largest = Math.max(largest, Math.abs(weight(state.frame, item.l, item.i, item.j)));
    largest = largest || 1;
    for (const item of lines) {
      const w = weight(state.frame, item.l, item.i, item.j);
      const strength = Math.abs(w) / largest;
      item.line.setAttribute("stroke", w >= 0 ? "rgb(217,38,26)" : "rgb(26,77,217)");
      item.line.setAttribute("stroke-opacity", (0.15 + 0.85 * strength).toFixed(4));
      item.line.setAttribute("stroke-width", (0.2 + 3 * strength).toFixed(4));
    }
    for (const node of nodes) {
      node.circle.classList.toggle("selected", state.unit !== null && node.l === state.unit[0] && node.k === state.unit[1]);
    }
  }

  // ---------------------------------------------------------------- the weight heatmaps
  const heatmaps = [];
  layers.forEach((layer, l) => {
    const figure = document.createElement("figure");
    const canvas = document.createElement("canvas");
    canvas.width = layer.units;
    canvas.height = layer.inputs + 1;
    const cell = Math.max(1, Math.min(12, Math.floor(240 / Math.max(layer.units, layer.inputs + 1))));
    canvas.style.width = cell * layer.units + "px";
    canvas.style.height = cell * (layer.inputs + 1) + "px";
    canvas.addEventListener("mousemove", (e) => {
      const box = canvas.getBoundingClientRect();
      const j = Math.min(layer.units - 1, Math.floor(((e.clientX - box.left) / box.width) * layer.units));
      const i = Math.min(layer.inputs, Math.floor(((e.clientY - box.top) / box.height) * (layer.inputs + 1)));
      const what = i === layer.inputs ? "bias of " + unitName(l, j) : "weight from " + unitName(l - 1, i) + "\nto " + unitName(l, j);
      showTip(e, what + "\n= " + weight(state.frame, l, i, j));
    });
    canvas.addEventListener("mouseleave", hideTip);
    canvas.addEventListener("click", (e) => {
      const box = canvas.getBoundingClientRect();
      selectUnit(l, Math.min(layer.units - 1, Math.floor(((e.clientX - box.left) / box.width) * layer.units)));
    });
    const caption = document.createElement("figcaption");
    caption.textContent = "layer " + (l + 1) + " (" + layer.activation + "): " + (layer.inputs + 1) + " × " + layer.units;
    figure.appendChild(canvas);
    figure.appendChild(caption);
    $("heatmaps").appendChild(figure);
    heatmaps.push(canvas);
  });
  function updateHeatmaps() {
    layers.forEach((layer, l) => {
      const canvas = heatmaps[l];
      const context = canvas.getContext("2d");
      const image = context.createImageData(layer.units, layer.inputs + 1);
      let limit = 0;
      for (let i = 0; i <= layer.inputs; i++)
        for (let j = 0; j < layer.units; j++) limit = Math.max(limit, Math.abs(weight(state.frame, l, i, j)));
      limit = limit || 1;
      for (let i = 0; i <= layer.inputs; i++) {
        for (let j = 0; j < layer.units; j++) {
          const c = rdbu((weight(state.frame, l, i, j) / limit + 1) / 2);
          const k = 4 * (i * layer.units + j);
          image.data[k] = c[0];
          image.data[k + 1] = c[1];
          image.data[k + 2] = c[2];
          image.data[k + 3] = 255;
        }
      }
      context.putImageData(image, 0, 0);
    });
  }

  // ---------------------------------------------------------------- the maps over the plane
  const mapCanvases = [];
  let grid = null;
  if (plane) {
    const [x0, x1, y0, y1] = plane.extent;
    grid = new Float64Array(GRID * GRID * 2);
    for (let r = 0; r < GRID; r++) {
      for (let c = 0; c < GRID; c++) {
        const k = 2 * (r * GRID + c);
        grid[k] = x0 + ((x1 - x0) * c) / (GRID - 1);
        grid[k + 1] = y0 + ((y1 - y0) * r) / (GRID - 1); // row 0 at the bottom, as origin="lower"
      }
    }
    layers.forEach((layer, l) => {
      const block = document.createElement("div");
      block.className = "layer-maps";
      const caption = document.createElement("figcaption");
      caption.textContent = "layer " + (l + 1) + " (" + (l === nLayers - 1 ? "output" : "hidden") + ", " + layer.activation + ", " + layer.units + " units)";
      const row = document.createElement("div");
      row.className = "grid";
      const canvases = [];
      if (layer.units > MAP_UNITS) {
        caption.textContent += ": wider than " + MAP_UNITS + " units, no small maps; click a unit in the heatmaps or the forward pass to see its map";
      }
      for (let j = 0; j < (layer.units > MAP_UNITS ? 0 : layer.units); j++) {
        const canvas = document.createElement("canvas");
        canvas.width = GRID;
        canvas.height = GRID;
        canvas.title = unitName(l, j);
        canvas.addEventListener("click", () => selectUnit(l, j));
        row.appendChild(canvas);
        canvases.push(canvas);
      }
      block.appendChild(caption);
      block.appendChild(row);
      $("maps").appendChild(block);
      mapCanvases.push(canvases);
    });
  } else {
    $("plane-section").hidden = true;
    $("focus-section").hidden = true;
  }
  function planeInputs(raw, rows) {
    const x = new Float64Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      const v = standardise([raw[2 * r], raw[2 * r + 1]]);
      x[2 * r] = v[0];
      x[2 * r + 1] = v[1];
    }
    return x;
  }
  let gridInputs = null;
  function paint(canvas, values, stride, unit, size, low, high) {
    const context = canvas.getContext("2d");
    const image = context.createImageData(size, size);
    const span = high > low ? high - low : 1e-9;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const v = values[(r * size + c) * stride + unit];
        const colour = rdbu((v - low) / span);
        const k = 4 * ((size - 1 - r) * size + c);
        image.data[k] = colour[0];
        image.data[k + 1] = colour[1];
        image.data[k + 2] = colour[2];
        image.data[k + 3] = 255;
      }
    }
    context.putImageData(image, 0, 0);
  }
  function range(values) {
    let low = Infinity;
    let high = -Infinity;
    for (const v of values) {
      if (v < low) low = v;
      if (v > high) high = v;
    }
    return [low, high];
  }
  // training points filled, test points hollow; the small maps get every `step`-th point
  function drawPoints(canvas, size, radius, step) {
    if (!plane) return;
    const [x0, x1, y0, y1] = plane.extent;
    const context = canvas.getContext("2d");
    context.save();
    context.globalAlpha = 0.85;
    for (const name of ["train", "test"]) {
      const part = points[name];
      if (!part) continue;
      for (let k = 0; k < part.n; k += step) {
        const px = ((part.x[2 * k] - x0) / (x1 - x0)) * size;
        const py = (1 - (part.x[2 * k + 1] - y0) / (y1 - y0)) * size;
        const colour = part.labels && part.labels[k] >= 0 ? classColour(part.labels[k]) : "#000";
        context.beginPath();
        context.arc(px, py, name === "train" ? radius : radius * 1.4, 0, 2 * Math.PI);
        if (name === "train") {
          context.fillStyle = colour;
          context.fill();
        } else {
          context.strokeStyle = colour;
          context.lineWidth = Math.max(0.5, radius * 0.6);
          context.stroke();
        }
      }
    }
    context.restore();
  }
  function updateMaps() {
    if (!plane) return;
    if (!gridInputs) gridInputs = planeInputs(grid, GRID * GRID);
    const passes = forwardRows(gridInputs, GRID * GRID, state.frame);
    passes.forEach((pass, l) => {
      const [low, high] = range(pass.a);
      for (let j = 0; j < mapCanvases[l].length; j++) {
        const canvas = mapCanvases[l][j];
        paint(canvas, pass.a, layers[l].units, j, GRID, low, high);
        if (l === nLayers - 1) drawPoints(canvas, GRID, 0.45, 8);
        canvas.classList.toggle("selected", state.unit !== null && state.unit[0] === l && state.unit[1] === j);
      }
    });
    updateFocus();
  }
  function focusedUnit() {
    return state.unit || [nLayers - 1, layers[nLayers - 1].units - 1];
  }
  function updateFocus() {
    if (!plane) return;
    const [l, j] = focusedUnit();
    const [x0, x1, y0, y1] = plane.extent;
    const raw = new Float64Array(FOCUS * FOCUS * 2);
    for (let r = 0; r < FOCUS; r++) {
      for (let c = 0; c < FOCUS; c++) {
        raw[2 * (r * FOCUS + c)] = x0 + ((x1 - x0) * c) / (FOCUS - 1);
        raw[2 * (r * FOCUS + c) + 1] = y0 + ((y1 - y0) * r) / (FOCUS - 1);
      }
    }
    const pass = forwardRows(planeInputs(raw, FOCUS * FOCUS), FOCUS * FOCUS, state.frame, l)[l];
    const values = new Float64Array(FOCUS * FOCUS);
    for (let k = 0; k < values.length; k++) values[k] = pass.a[k * layers[l].units + j];
    const [low, high] = range(values);
    const small = document.createElement("canvas");
    small.width = FOCUS;
    small.height = FOCUS;
    paint(small, values, 1, 0, FOCUS, low, high);
    const canvas = $("focus");
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = true;
    context.drawImage(small, 0, 0, canvas.width, canvas.height);
    drawPoints(canvas, canvas.width, 1.6, 1);
    if (state.point && state.point.length === 2) {
      const px = ((state.point[0] - x0) / (x1 - x0)) * canvas.width;
      const py = (1 - (state.point[1] - y0) / (y1 - y0)) * canvas.height;
      for (const [colour, width] of [["#fff", 5], ["#000", 2]]) {
        context.strokeStyle = colour;
        context.lineWidth = width;
        context.beginPath();
        context.moveTo(px - 10, py);
        context.lineTo(px + 10, py);
        context.moveTo(px, py - 10);
        context.lineTo(px, py + 10);
        context.stroke();
      }
    }
    $("focus-title").textContent = unitName(l, j) + " at epoch " + epochs[state.frame];
    $("focus-legend").textContent =
      "activation from " + fmt(low) + " (blue) to " + fmt(high) + " (red) over " +
      D.features[0] + " ∈ [" + fmt(x0) + ", " + fmt(x1) + "], " + D.features[1] + " ∈ [" + fmt(y0) + ", " + fmt(y1) + "]" +
      (points.train || points.test ? "; training points filled, test points hollow" : "") + "; click to pass a point forward";
  }
  $("focus").addEventListener("click", (e) => {
    const canvas = $("focus");
    const box = canvas.getBoundingClientRect();
    const [x0, x1, y0, y1] = plane.extent;
    const u = (e.clientX - box.left) / box.width;
    const v = 1 - (e.clientY - box.top) / box.height;
    setPoint([x0 + u * (x1 - x0), y0 + v * (y1 - y0)]);
  });

  // ---------------------------------------------------------------- the forward pass
  function cell(row, text, header) {
    const element = document.createElement(header ? "th" : "td");
    element.textContent = text;
    row.appendChild(element);
  }
  function updatePass() {
    const target = $("pass");
    target.replaceChildren();
    state.pass = null;
    if (!state.point) {
      target.textContent = plane ? "Click the enlarged map to pass a point forward." : "Enter a row above.";
      return;
    }
    const result = forward(state.point);
    state.pass = result;
    $("pass-title").textContent =
      "Forward pass of (" + state.point.map(fmt).join(", ") + ") at epoch " + result.epoch;
    const outputs = document.createElement("p");
    if (result.probabilities) {
      outputs.textContent = "class probabilities: " + result.probabilities.map((p, k) => D.classes[k] + ": " + fmt(p)).join(", ");
    } else {
      outputs.textContent = "prediction: " + result.predictions.map(fmt).join(", ");
    }
    target.appendChild(outputs);
    const inputBlock = document.createElement("div");
    inputBlock.className = "layer-block";
    const inputTable = document.createElement("table");
    const head = document.createElement("tr");
    cell(head, "input", true);
    cell(head, "value", true);
    cell(head, "to the network", true);
    inputTable.appendChild(head);
    state.point.forEach((v, i) => {
      const row = document.createElement("tr");
      cell(row, D.features[i]);
      cell(row, fmt(v));
      cell(row, fmt(result.inputs[i]));
      inputTable.appendChild(row);
    });
    inputBlock.appendChild(inputTable);
    target.appendChild(inputBlock);
    layers.forEach((layer, l) => {
      const block = document.createElement("div");
      block.className = "layer-block";
      const table = document.createElement("table");
      const header = document.createElement("tr");
      cell(header, "layer " + (l + 1) + " unit", true);
      cell(header, "z", true);
      cell(header, "a = " + layer.activation + "(z)", true);
      table.appendChild(header);
      for (let j = 0; j < layer.units; j++) {
        const row = document.createElement("tr");
        if (state.unit && state.unit[0] === l && state.unit[1] === j) row.className = "selected";
        cell(row, String(j + 1));
        cell(row, fmt(result.z[l][j]));
        cell(row, fmt(result.a[l][j]));
        row.title = "z = " + result.z[l][j] + "\na = " + result.a[l][j];
        row.addEventListener("click", () => selectUnit(l, j));
        table.appendChild(row);
      }
      block.appendChild(table);
      target.appendChild(block);
    });
  }
  if (plane) {
    $("row-section").hidden = true;
  } else {
    $("row-features").textContent = "Comma-separated values of: " + D.features.join(", ");
    $("row").value = D.defaultRow.join(", ");
    const run = () => {
      const values = $("row").value.split(/[,;\s]+/).filter((t) => t.length).map(Number);
      if (values.length !== nInputs || values.some((v) => !Number.isFinite(v))) {
        $("row-error").textContent = "give " + nInputs + " finite numbers, got: " + $("row").value.slice(0, 120);
        return;
      }
      $("row-error").textContent = "";
      setPoint(values);
    };
    $("row-go").addEventListener("click", run);
    $("row").addEventListener("keydown", (e) => {
      if (e.key === "Enter") run();
    });
  }

  // ---------------------------------------------------------------- the curves
  const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
  function plot(canvas, series, xMax, log, title) {
    const context = canvas.getContext("2d");
    const w = canvas.width;
    const h = canvas.height;
    const left = 52;
    const right = 10;
    const top = 20;
    const bottom = 24;
    context.clearRect(0, 0, w, h);
    context.font = "11px sans-serif";
    let low = Infinity;
    let high = -Infinity;
    const t = (v) => (log ? Math.log10(v) : v);
    for (const s of series)
      for (let k = 0; k < s.y.length; k++) {
        const v = s.y[k];
        if (Number.isFinite(v) && (!log || v > 0)) {
          low = Math.min(low, t(v));
          high = Math.max(high, t(v));
        }
      }
    if (!Number.isFinite(low)) {
      context.fillStyle = "#777";
      context.fillText("nothing recorded", left, h / 2);
      return;
    }
    if (high === low) high = low + 1;
    const px = (x) => left + ((x - 1) / Math.max(xMax - 1, 1)) * (w - left - right);
    const py = (v) => top + (1 - (t(v) - low) / (high - low)) * (h - top - bottom);
    context.strokeStyle = "#ccc";
    context.strokeRect(left, top, w - left - right, h - top - bottom);
    context.fillStyle = "#333";
    context.fillText(title, left, 12);
    context.fillText((log ? Math.pow(10, high) : high).toPrecision(3), 2, top + 8);
    context.fillText((log ? Math.pow(10, low) : low).toPrecision(3), 2, h - bottom);
    context.fillText("epoch " + xMax, w - right - 60, h - 6);
    series.forEach((s, index) => {
      context.strokeStyle = s.colour || COLOURS[index % COLOURS.length];
      context.lineWidth = 1.4;
      context.beginPath();
      let drawing = false;
      for (let k = 0; k < s.y.length; k++) {
        const v = s.y[k];
        if (!Number.isFinite(v) || (log && v <= 0)) {
          drawing = false;
          continue;
        }
        const x = px(s.x ? s.x[k] : k + 1);
        if (drawing) context.lineTo(x, py(v));
        else context.moveTo(x, py(v));
        drawing = true;
      }
      context.stroke();
      context.fillStyle = context.strokeStyle;
      context.fillText(s.name, left + 8 + 150 * (index % 3), top + 14 + 12 * Math.floor(index / 3));
    });
    const epoch = epochs[state.frame];
    if (epoch >= 1) {
      context.strokeStyle = "#e67e00";
      context.lineWidth = 2;
      context.beginPath();
      context.moveTo(px(epoch), top);
      context.lineTo(px(epoch), h - bottom);
      context.stroke();
    }
  }
  const totalEpochs = Math.max(1, (history.loss || []).length, epochs[epochs.length - 1]);
  const statisticSelect = $("statistic");
  if (monitor && Object.keys(statistics).length) {
    for (const name of Object.keys(statistics)) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      statisticSelect.appendChild(option);
    }
    statisticSelect.value = statistics.grad_norm ? "grad_norm" : Object.keys(statistics)[0];
    statisticSelect.addEventListener("change", updateCurves);
  } else {
    $("stats-controls").hidden = true;
    $("stats").hidden = true;
  }
  function recordIndex(epoch) {
    let found = -1;
    monitor.epochs.forEach((e, k) => {
      if (e <= epoch) found = k;
    });
    return found;
  }
  function updateCurves() {
    const losses = [];
    if (history.loss) losses.push({ name: "training loss", y: history.loss });
    if (history.val_loss) losses.push({ name: "validation loss", y: history.val_loss });
    const scores = [];
    if (history.val_accuracy) scores.push({ name: "validation accuracy", y: history.val_accuracy, colour: "#2ca02c" });
    if (history.val_r2) scores.push({ name: "validation R²", y: history.val_r2, colour: "#2ca02c" });
    const curves = $("curves");
    if (scores.length) {
      curves.height = 320;
      const context = curves.getContext("2d");
      context.clearRect(0, 0, curves.width, curves.height);
      const top = document.createElement("canvas");
      top.width = curves.width;
      top.height = 180;
      plot(top, losses, totalEpochs, true, "loss (log scale)");
      const bottom = document.createElement("canvas");
      bottom.width = curves.width;
      bottom.height = 140;
      plot(bottom, scores, totalEpochs, false, scores.map((s) => s.name).join(", "));
      context.drawImage(top, 0, 0);
      context.drawImage(bottom, 0, 180);
    } else {
      plot(curves, losses, totalEpochs, true, "loss (log scale)");
    }
    const epoch = epochs[state.frame];
    const parts = ["epoch " + epoch];
    for (const [name, label] of [["loss", "loss"], ["val_loss", "validation loss"], ["val_accuracy", "validation accuracy"], ["val_r2", "validation R²"]]) {
      if (history[name] && epoch >= 1 && epoch <= history[name].length) parts.push(label + " " + fmt(history[name][epoch - 1]));
    }
    $("readout").textContent = parts.join(" · ");
    if (!monitor || !Object.keys(statistics).length) return;
    const name = statisticSelect.value;
    const values = statistics[name];
    const nl = monitor.layers.length;
    const series = monitor.layers.map((layer, l) => ({
      name: layer,
      x: monitor.epochs,
      y: Array.from({ length: monitor.epochs.length }, (_, k) => values[k * nl + l]),
    }));
    const log = name.endsWith("norm") || name === "update_ratio";
    plot($("stats"), series, totalEpochs, log, "monitor: " + name + (log ? " (log scale)" : ""));
    const k = recordIndex(epoch);
    $("stats-readout").textContent =
      k < 0 ? "no record at this epoch" : name + " at epoch " + monitor.epochs[k] + ": " + monitor.layers.map((layer, l) => layer + " " + fmt(values[k * nl + l])).join("; ");
  }

  // ---------------------------------------------------------------- state, URL, controls
  const slider = $("epoch");
  slider.max = String(epochs.length - 1);
  if (!D.replay) {
    slider.disabled = true;
    $("play").disabled = true;
  }
  function frameOf(epoch) {
    let best = 0;
    epochs.forEach((e, k) => {
      if (Math.abs(e - epoch) < Math.abs(epochs[best] - epoch)) best = k;
    });
    return best;
  }
  function writeHash() {
    const parts = ["epoch=" + epochs[state.frame]];
    if (state.unit) parts.push("unit=" + (state.unit[0] + 1) + "." + (state.unit[1] + 1));
    if (state.point) parts.push("point=" + state.point.map(String).join(","));
    const hash = "#" + parts.join("&");
    if (location.hash !== hash) {
      try {
        history_.replaceState(null, "", hash);
      } catch (error) {
        location.hash = hash;
      }
    }
  }
  const history_ = window.history;
  function render() {
    slider.value = String(state.frame);
    $("epoch-label").textContent =
      "epoch " + epochs[state.frame] + (D.replay ? " (" + (state.frame + 1) + " of " + epochs.length + " snapshots)" : " (no replay available)");
    updateGraph();
    updateHeatmaps();
    updateMaps();
    updatePass();
    updateCurves();
    writeHash();
  }
  function setFrame(frame) {
    state.frame = Math.max(0, Math.min(epochs.length - 1, frame));
    render();
  }
  function selectUnit(l, j) {
    state.unit = [l, j];
    render();
  }
  function setPoint(row) {
    state.point = Array.from(row, Number);
    render();
  }
  function readHash() {
    const found = {};
    for (const part of location.hash.replace(/^#/, "").split("&")) {
      const [key, value] = part.split("=");
      if (key) found[decodeURIComponent(key)] = decodeURIComponent(value || "");
    }
    if (found.epoch !== undefined && Number.isFinite(Number(found.epoch))) state.frame = frameOf(Number(found.epoch));
    if (found.unit) {
      const [l, j] = found.unit.split(".").map(Number);
      if (l >= 1 && l <= nLayers && j >= 1 && j <= layers[l - 1].units) state.unit = [l - 1, j - 1];
    }
    if (found.point) {
      const values = found.point.split(",").map(Number);
      if (values.length === nInputs && values.every(Number.isFinite)) state.point = values;
    }
  }
  slider.addEventListener("input", () => setFrame(Number(slider.value)));
  let timer = null;
  function pause() {
    state.playing = false;
    if (timer !== null) clearInterval(timer);
    timer = null;
    $("play").textContent = "▶ play";
  }
  function play() {
    if (!D.replay) return;
    if (state.frame === epochs.length - 1) setFrame(0);
    state.playing = true;
    $("play").textContent = "❚❚ pause";
    timer = setInterval(() => {
      if (state.frame >= epochs.length - 1) pause();
      else setFrame(state.frame + 1);
    }, 150);
  }
  $("play").addEventListener("click", () => (state.playing ? pause() : play()));
  window.addEventListener("hashchange", () => {
    readHash();
    render();
  });
  if (!plane) state.point = D.defaultRow.slice();
  readHash();
  render();

  // ---------------------------------------------------------------- for tests and scripts
  window.glassnet = {
    forward: (row, epoch) => forward(row, epoch === undefined ? state.frame : frameOf(epoch)),
    forwardMany: (rows, epoch) => rows.map((row) => forward(row, epoch === undefined ? state.frame : frameOf(epoch))),
    state: () => ({
      epoch: epochs[state.frame],
      frame: state.frame,
      unit: state.unit ? [state.unit[0] + 1, state.unit[1] + 1] : null,
      point: state.point ? state.point.slice() : null,
      playing: state.playing,
    }),
    setEpoch: (epoch) => setFrame(frameOf(epoch)),
    selectUnit: (layer, unit) => selectUnit(layer - 1, unit - 1),
    setPoint: setPoint,
    play: play,
    pause: pause,
    epochs: epochs.slice(),
    replay: D.replay,
    ready: false,
    readyAt: null,
  };
  // ready once the first drawing has been laid out for the screen (the next animation frame)
  requestAnimationFrame(() => {
    window.glassnet.readyAt = performance.now();
    window.glassnet.ready = true;
    document.body.dataset.ready = "1";
  });
})();
