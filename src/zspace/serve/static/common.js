// Helpers shared by every view: JSON requests, element building, painting decoded images.
"use strict";
const zs = {
  views: {},

  status(message, isError = false) {
    const el = document.getElementById("status");
    el.textContent = message;
    el.className = isError ? "error" : "";
  },

  async api(path, body) {
    const options = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    let response;
    try {
      response = await fetch(path, options);
    } catch (err) {
      zs.status(`the server did not answer (${err.message}); is zspace serve still running?`, true);
      throw err;
    }
    const data = await response.json().catch(() => ({ detail: response.statusText }));
    if (!response.ok) {
      zs.status(`${response.status}: ${data.detail}`, true);
      throw new Error(data.detail);
    }
    zs.status("");
    return data;
  },

  el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "on") for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  },

  panel(title, ...children) {
    return zs.el("section", { class: "panel" }, zs.el("h2", {}, title), ...children);
  },

  slider(attrs, onInput) {
    const input = zs.el("input", { type: "range", ...attrs });
    input.addEventListener("input", () => onInput(Number(input.value)));
    return input;
  },

  // values: flat (C*H*W) decoder means in [0, 1]; shape [C, H, W]. Scaled up without smoothing.
  paintImage(canvas, values, shape) {
    const [c, h, w] = shape;
    const small = new ImageData(w, h);
    for (let i = 0; i < h * w; i++) {
      // One channel: ink (1) dark on white paper; three channels: the colours themselves.
      const rgb = c === 3 ? [values[i], values[h * w + i], values[2 * h * w + i]] : Array(3).fill(1 - values[i]);
      small.data.set([...rgb.map((v) => Math.round(255 * v)), 255], 4 * i);
    }
    const scratch = new OffscreenCanvas(w, h);
    scratch.getContext("2d").putImageData(small, 0, 0);
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
  },

  imageCanvas(values, shape, size = 56) {
    const canvas = zs.el("canvas", { width: size, height: size });
    zs.paintImage(canvas, values, shape);
    return canvas;
  },

  // One request in flight at a time; while it runs only the latest request waits (hover stays live, not queued).
  latest(fn) {
    let running = false, pending = null;
    return async function run(...args) {
      if (running) { pending = args; return; }
      running = true;
      try { await fn(...args); } catch (err) { /* shown in the status line */ }
      running = false;
      if (pending) { const next = pending; pending = null; run(...next); }
    };
  },

  colors: ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"],
};
