// VAE view: latent map (hover decodes live, clicks pick examples), interpolation, traversal sliders, prior samples.
"use strict";
zs.views.vae = async function vaeView(root, run) {
  const base = `/api/runs/${run.id}/vae`;
  const map = await zs.api(`${base}/map`);
  const shape = map.image_shape;
  const size = 420, pad = 16;
  const xs = map.points.map((p) => p[0]), ys = map.points.map((p) => p[1]);
  const lo = [Math.min(...xs), Math.min(...ys)], hi = [Math.max(...xs), Math.max(...ys)];
  const span = [Math.max(hi[0] - lo[0], 1e-6), Math.max(hi[1] - lo[1], 1e-6)];
  const toPixel = (p) => [pad + ((p[0] - lo[0]) / span[0]) * (size - 2 * pad), size - pad - ((p[1] - lo[1]) / span[1]) * (size - 2 * pad)];
  const toPoint = (x, y) => [lo[0] + ((x - pad) / (size - 2 * pad)) * span[0], lo[1] + ((size - pad - y) / (size - 2 * pad)) * span[1]];

  const mapCanvas = zs.el("canvas", { id: "vae-map", width: size, height: size });
  const decoded = zs.el("canvas", { id: "vae-decoded", width: 168, height: 168 });
  const picked = { a: null, b: null, next: "a" };
  const pickText = zs.el("p", { class: "hint" }, "Hover to decode; click to pick examples A and B.");
  const labelOf = (i) => (map.labels ? (map.label_names ? map.label_names[map.labels[i]] : map.labels[i]) : "");

  function drawMap(cursor) {
    const ctx = mapCanvas.getContext("2d");
    ctx.clearRect(0, 0, size, size);
    map.points.forEach((p, i) => {
      const [x, y] = toPixel(p);
      ctx.fillStyle = map.labels ? zs.colors[map.labels[i] % zs.colors.length] : "#555";
      ctx.globalAlpha = 0.6;
      ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
    });
    ctx.globalAlpha = 1;
    for (const key of ["a", "b"]) {
      if (picked[key] === null) continue;
      const [x, y] = toPixel(map.points[picked[key]]);
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 2;
      ctx.strokeRect(x - 6, y - 6, 12, 12);
      ctx.fillStyle = "#000";
      ctx.fillText(key.toUpperCase(), x + 8, y - 8);
    }
    if (cursor) {
      ctx.strokeStyle = "#d00";
      ctx.beginPath();
      ctx.arc(cursor[0], cursor[1], 5, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }

  const decodePoint = zs.latest(async (point) => {
    const out = await zs.api(`${base}/decode`, { points: [point] });
    zs.paintImage(decoded, out.images[0], shape);
    setSliders(out.z[0]);
  });
  const decodeCode = zs.latest(async (z) => {
    const out = await zs.api(`${base}/decode`, { z: [z] });
    zs.paintImage(decoded, out.images[0], shape);
  });

  mapCanvas.addEventListener("mousemove", (event) => {
    const r = mapCanvas.getBoundingClientRect();
    const x = event.clientX - r.left, y = event.clientY - r.top;
    drawMap([x, y]);
    decodePoint(toPoint(x, y));
  });
  mapCanvas.addEventListener("click", (event) => {
    const r = mapCanvas.getBoundingClientRect();
    const x = event.clientX - r.left, y = event.clientY - r.top;
    let best = 0, bestDistance = Infinity;
    map.points.forEach((p, i) => {
      const [px, py] = toPixel(p);
      const d = (px - x) ** 2 + (py - y) ** 2;
      if (d < bestDistance) { best = i; bestDistance = d; }
    });
    picked[picked.next] = best;
    picked.next = picked.next === "a" ? "b" : "a";
    setSliders(map.codes[best]);
    decodeCode(map.codes[best]);
    pickText.textContent = `A: ${picked.a === null ? "-" : `#${picked.a} ${labelOf(picked.a)}`}   B: ${picked.b === null ? "-" : `#${picked.b} ${labelOf(picked.b)}`}`;
    drawMap();
  });

  // Traversal: one slider per latent dimension (most active first), starting at the picked or hovered code.
  const order = map.activity.map((v, d) => [v, d]).sort((p, q) => q[0] - p[0]).map((p) => p[1]).slice(0, 64);
  let current = new Array(map.latent_dim).fill(0);
  const sliders = {}, readouts = {};
  const sliderBox = zs.el("div", { class: "sliders", id: "vae-sliders" });
  for (const d of order) {
    readouts[d] = zs.el("span", {}, "0.00");
    sliders[d] = zs.slider({ min: -3, max: 3, step: 0.05, value: 0, "data-dim": d }, (v) => {
      current[d] = v;
      readouts[d].textContent = v.toFixed(2);
      decodeCode(current.slice());
    });
    sliderBox.append(zs.el("span", {}, `z${d + 1}`), sliders[d], readouts[d]);
  }
  function setSliders(z) {
    current = z.slice();
    for (const d of order) {
      sliders[d].value = z[d];
      readouts[d].textContent = Number(z[d]).toFixed(2);
    }
  }

  const pathBox = zs.el("div", { id: "vae-paths" });
  const steps = zs.el("input", { type: "number", min: 2, max: 32, value: 8, style: "width:4em" });
  const interpolateButton = zs.el("button", { id: "vae-interpolate" }, "interpolate A → B");
  interpolateButton.addEventListener("click", async () => {
    if (picked.a === null || picked.b === null) return zs.status("click two examples on the map first", true);
    const out = await zs.api(`${base}/interpolate`, { a: picked.a, b: picked.b, steps: Number(steps.value) });
    pathBox.replaceChildren(
      ...["lerp", "slerp"].map((kind) => zs.el("div", { class: "row" }, zs.el("span", { class: "label" }, kind), ...out[kind].images.map((v) => zs.imageCanvas(v, shape)))),
    );
  });

  const samples = zs.el("div", { class: "row", id: "vae-samples" });
  const temperature = zs.el("output", {}, "1.00");
  let temperatureValue = 1;
  const seed = zs.el("input", { type: "number", min: 0, value: 0, style: "width:5em" });
  const sample = async () => {
    const out = await zs.api(`${base}/sample`, { n: 16, temperature: temperatureValue, seed: Number(seed.value) });
    samples.replaceChildren(...out.images.map((v) => zs.imageCanvas(v, shape)));
  };
  const temperatureSlider = zs.slider({ min: 0.1, max: 2, step: 0.05, value: 1, id: "vae-temperature" }, (v) => {
    temperatureValue = v;
    temperature.textContent = v.toFixed(2);
    sample();
  });
  const sampleButton = zs.el("button", { id: "vae-sample" }, "sample");
  sampleButton.addEventListener("click", sample);

  const legend = zs.el("div", { class: "row" });
  if (map.labels) {
    const classes = [...new Set(map.labels)].sort((p, q) => p - q);
    for (const k of classes) {
      const name = map.label_names ? map.label_names[k] : k;
      legend.append(zs.el("span", { style: `color:${zs.colors[k % zs.colors.length]}; font-size:0.85em` }, `■ ${name} `));
    }
  }
  const how = map.method === "none" ? "the codes themselves" : `PCA of the ${map.latent_dim}-D codes`;
  root.append(
    zs.panel(`latent map: ${map.points.length} test posterior means (${how})`, mapCanvas, legend, pickText),
    zs.panel("decoded under the cursor", decoded, zs.el("h2", {}, "traversal (one slider per dimension)"), sliderBox),
    zs.panel("interpolation", zs.el("div", { class: "controls" }, "steps", steps, interpolateButton), pathBox),
    zs.panel("prior samples", zs.el("div", { class: "controls" }, "temperature", temperatureSlider, temperature, "seed", seed, sampleButton), samples),
  );
  drawMap();
  sample();
};
