// MusicVAE view: sample with a temperature, piano rolls, Web Audio playback, slerp between two melodies
// (samples or uploaded MIDI) with a slider over the path, attribute sliders, MIDI download.
"use strict";

// Plays notes ({pitch, start, end, drum} in 16th-note steps) with oscillators: no plugin, no samples.
zs.play = function play(notes, qpm) {
  zs.audio = zs.audio || new AudioContext();
  const ctx = zs.audio;
  ctx.resume();
  const secondsPerStep = 60 / qpm / 4;
  const t0 = ctx.currentTime + 0.05;
  for (const note of notes) {
    const start = t0 + note.start * secondsPerStep, end = t0 + note.end * secondsPerStep;
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.type = note.drum ? "square" : "triangle";
    osc.frequency.value = note.drum ? 60 + note.pitch : 440 * 2 ** ((note.pitch - 69) / 12);
    const stop = note.drum ? start + 0.08 : end;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, Math.max(stop, start + 0.03));
    osc.connect(gain).connect(ctx.destination);
    osc.start(start);
    osc.stop(stop + 0.05);
  }
  return ctx;
};

zs.pianoRoll = function pianoRoll(notes, nSteps, width = 256, height = 96) {
  const canvas = zs.el("canvas", { width, height, class: "roll" });
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  const pitches = notes.filter((n) => !n.drum).map((n) => n.pitch);
  const lo = Math.min(60, ...pitches) - 2, hi = Math.max(72, ...pitches) + 2;
  const dx = width / nSteps, dy = height / (hi - lo + 1);
  ctx.strokeStyle = "#ddd";
  for (let s = 0; s <= nSteps; s += 4) {
    ctx.lineWidth = s % 16 === 0 ? 1.5 : 0.5;
    ctx.beginPath();
    ctx.moveTo(s * dx, 0);
    ctx.lineTo(s * dx, height);
    ctx.stroke();
  }
  for (const n of notes) {
    const row = n.drum ? (n.pitch % (hi - lo)) : hi - n.pitch;
    ctx.fillStyle = n.drum ? "#d62728" : "#2a6fdb";
    ctx.fillRect(n.start * dx + 0.5, row * dy, (n.end - n.start) * dx - 1, Math.max(dy, 2));
  }
  return canvas;
};

zs.views.music = async function musicView(root, run) {
  const base = `/api/runs/${run.id}/music`;
  const info = run.info;
  const chosen = { a: null, b: null };
  const decoding = () => ({ temperature: 1.0, greedy: true, seed: 0 });

  async function downloadMidi(windows, qpm, name) {
    const response = await fetch(`${base}/midi`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ windows, qpm }) });
    if (!response.ok) return zs.status(`${response.status}: ${(await response.json()).detail}`, true);
    const link = zs.el("a", { href: URL.createObjectURL(await response.blob()), download: name });
    link.click();
  }

  function card(item, title) {
    const play = zs.el("button", { class: "play" }, "▶ play");
    play.addEventListener("click", () => zs.play(item.notes, item.qpm));
    const midi = zs.el("button", {}, "MIDI");
    midi.addEventListener("click", () => downloadMidi([item.tokens], item.qpm, `${title.replace(/\W+/g, "_")}.mid`));
    const pick = (key) => {
      const b = zs.el("button", { class: `pick-${key}` }, `as ${key.toUpperCase()}`);
      b.addEventListener("click", () => choose(key, item, title));
      return b;
    };
    return zs.el("div", { class: "card" }, zs.el("div", { class: "hint" }, title), zs.pianoRoll(item.notes, info.n_steps), zs.el("div", { class: "controls" }, play, midi, pick("a"), pick("b")));
  }

  const chosenText = zs.el("p", { class: "hint", id: "music-chosen" }, "Pick two melodies (samples or uploads) as A and B.");
  function choose(key, item, title) {
    chosen[key] = { item, title };
    chosenText.textContent = `A: ${chosen.a ? chosen.a.title : "-"}   B: ${chosen.b ? chosen.b.title : "-"}`;
    if (key === "a") showAttributes();
  }

  // Samples.
  const sampleBox = zs.el("div", { class: "row", id: "music-samples" });
  let temperatureValue = 1;
  const temperatureOut = zs.el("output", {}, "1.00");
  const seed = zs.el("input", { type: "number", min: 0, value: 0, style: "width:5em" });
  const sample = async () => {
    const out = await zs.api(`${base}/sample`, { n: 4, temperature: temperatureValue, seed: Number(seed.value) });
    sampleBox.replaceChildren(...out.items.map((item, i) => card(item, `sample ${seed.value}.${i}`)));
    if (!chosen.a) choose("a", out.items[0], `sample ${seed.value}.0`);
    if (!chosen.b) choose("b", out.items[1] || out.items[0], `sample ${seed.value}.1`);
  };
  const temperature = zs.slider({ min: 0.1, max: 2, step: 0.05, value: 1, id: "music-temperature" }, (v) => {
    temperatureValue = v;
    temperatureOut.textContent = v.toFixed(2);
  });
  const sampleButton = zs.el("button", { id: "music-sample" }, "sample");
  sampleButton.addEventListener("click", sample);

  // Uploads: the file itself is the request body.
  const upload = (key) => {
    const input = zs.el("input", { type: "file", accept: ".mid,.midi,audio/midi", id: `music-upload-${key}` });
    input.addEventListener("change", async () => {
      const file = input.files[0];
      if (!file) return;
      const response = await fetch(`${base}/encode`, { method: "POST", headers: { "Content-Type": "audio/midi" }, body: file });
      const data = await response.json();
      if (!response.ok) return zs.status(`${response.status}: ${data.detail}`, true);
      zs.status("");
      uploads.append(card(data, file.name));
      choose(key, data, file.name);
    });
    return zs.el("label", {}, `upload ${key.toUpperCase()} `, input);
  };
  const uploads = zs.el("div", { class: "row" });

  // Interpolation with a slider over the path.
  const steps = zs.el("input", { type: "number", min: 2, max: 32, value: 7, style: "width:4em" });
  const pathRoll = zs.el("div", { id: "music-path" });
  const pathSlider = zs.el("input", { type: "range", min: 0, max: 0, value: 0, id: "music-path-slider" });
  let path = [];
  const showStep = () => {
    const item = path[Number(pathSlider.value)];
    if (item) pathRoll.replaceChildren(card(item, `step ${Number(pathSlider.value) + 1} of ${path.length}`));
  };
  pathSlider.addEventListener("input", showStep);
  const interpolateButton = zs.el("button", { id: "music-interpolate" }, "slerp A → B");
  interpolateButton.addEventListener("click", async () => {
    if (!chosen.a || !chosen.b) return zs.status("pick A and B first", true);
    const out = await zs.api(`${base}/interpolate`, { a: chosen.a.item.z, b: chosen.b.item.z, steps: Number(steps.value), ...decoding() });
    path = out.items;
    pathSlider.max = path.length - 1;
    pathSlider.value = 0;
    showStep();
  });
  const playPath = zs.el("button", {}, "▶ whole path");
  playPath.addEventListener("click", () => {
    const notes = path.flatMap((item, k) => item.notes.map((n) => ({ ...n, start: n.start + k * info.n_steps, end: n.end + k * info.n_steps })));
    zs.play(notes, info.qpm);
  });
  const pathMidi = zs.el("button", {}, "path MIDI");
  pathMidi.addEventListener("click", () => path.length && downloadMidi(path.map((p) => p.tokens), info.qpm, "interpolation.mid"));

  // Attribute sliders move A by strength x vector.
  const attributeBox = zs.el("div", { id: "music-attributes" });
  const strengths = Object.fromEntries(info.attributes.map((name) => [name, 0]));
  const applyAttributes = zs.latest(async () => {
    if (!chosen.a) return;
    const out = await zs.api(`${base}/attributes`, { z: chosen.a.item.z, strengths, ...decoding() });
    attributeResult.replaceChildren(card(out.items[0], `A + ${Object.entries(strengths).filter(([, v]) => v).map(([k, v]) => `${v.toFixed(1)} × ${k}`).join(" + ") || "nothing"}`));
  });
  const attributeResult = zs.el("div");
  function showAttributes() {
    if (!info.attributes.length) return;
    attributeBox.replaceChildren(
      zs.el("div", { class: "sliders" }, ...info.attributes.flatMap((name) => {
        const out = zs.el("span", {}, strengths[name].toFixed(1));
        const slider = zs.slider({ min: -3, max: 3, step: 0.1, value: strengths[name], "data-attribute": name }, (v) => {
          strengths[name] = v;
          out.textContent = v.toFixed(1);
          applyAttributes();
        });
        return [zs.el("span", {}, name), slider, out];
      })),
      attributeResult,
    );
  }

  root.append(
    zs.panel(`samples (${info.encoding}, ${info.n_steps} steps, z ${info.z_size})`,
      zs.el("div", { class: "controls" }, "temperature", temperature, temperatureOut, "seed", seed, sampleButton), sampleBox,
      zs.el("div", { class: "controls" }, upload("a"), upload("b")), uploads),
    zs.panel("interpolation (slerp of the codes, as MusicVAE)", chosenText,
      zs.el("div", { class: "controls" }, "steps", steps, interpolateButton, "path", pathSlider, playPath, pathMidi), pathRoll),
    zs.panel("attribute vectors", info.attributes.length ? attributeBox : zs.el("p", { class: "hint" }, "This run has no attribute vectors: fit them with `zspace music attributes RUN --data DATA.npz --out RUN/attributes`.")),
  );
  await sample();
  showAttributes();
};
