// SeCTAR view: the task plane, a latent's decoder-predicted segment beside the policy's executed one,
// and a recorded planning episode replayed segment by segment (planned vs executed).
"use strict";
zs.drawPlane = function drawPlane(canvas, scene, paths) {
  const ctx = canvas.getContext("2d"), size = canvas.width, half = scene.half_width + 0.2;
  const px = (p) => [((p[0] + half) / (2 * half)) * size, size - ((p[1] + half) / (2 * half)) * size];
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, size, size);
  ctx.strokeStyle = "#888";
  const [x0, y0] = px([-scene.half_width, scene.half_width]), [x1, y1] = px([scene.half_width, -scene.half_width]);
  ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
  ctx.strokeStyle = "#ccc";
  ctx.beginPath();
  scene.targets.forEach((t, i) => (i ? ctx.lineTo(...px(t)) : ctx.moveTo(...px(t))));
  ctx.stroke();
  scene.targets.forEach((t, i) => {
    ctx.fillStyle = i < scene.stage ? "#2ca02c" : i === scene.stage ? "#ff7f0e" : "#aaa";
    ctx.beginPath();
    ctx.arc(...px(t), i === scene.stage ? 6 : 3.5, 0, 2 * Math.PI);
    ctx.fill();
  });
  for (const { points, color, dash = [], width = 2 } of paths) {
    if (!points || !points.length) continue;
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.setLineDash(dash);
    ctx.beginPath();
    points.forEach((p, i) => (i ? ctx.lineTo(...px(p)) : ctx.moveTo(...px(p))));
    ctx.stroke();
  }
  ctx.setLineDash([]);
};

zs.views.sectar = async function sectarView(root, run) {
  const base = `/api/runs/${run.id}/sectar`;
  const zSize = run.info.z_size;
  const z = new Array(zSize).fill(0);
  const plane = zs.el("canvas", { id: "sectar-plane", width: 360, height: 360 });
  const gap = zs.el("p", { class: "hint", id: "sectar-gap" });
  const seed = zs.el("input", { type: "number", min: 0, value: 0, style: "width:5em", id: "sectar-seed" });
  const show = zs.latest(async () => {
    const out = await zs.api(`${base}/segment`, { seed: Number(seed.value), z });
    zs.drawPlane(plane, out, [
      { points: [out.start, ...out.predicted], color: "#d62728", dash: [6, 4] },
      { points: out.executed, color: "#1f77b4" },
    ]);
    gap.textContent = `mean gap between predicted and executed: ${out.mean_gap_m.toFixed(3)} m per step`;
  });
  seed.addEventListener("change", show);
  const sliders = zs.el("div", { class: "sliders", id: "sectar-sliders" });
  const inputs = z.map((_, d) => {
    const out = zs.el("span", {}, "0.00");
    const input = zs.slider({ min: -3, max: 3, step: 0.05, value: 0, "data-dim": d }, (v) => {
      z[d] = v;
      out.textContent = v.toFixed(2);
      show();
    });
    sliders.append(zs.el("span", {}, `z${d + 1}`), input, out);
    return [input, out];
  });
  const random = zs.el("button", { id: "sectar-random" }, "random z ~ N(0, I)");
  random.addEventListener("click", () => {
    z.forEach((_, d) => {  // Box-Muller
      z[d] = Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
      inputs[d][0].value = z[d];
      inputs[d][1].textContent = z[d].toFixed(2);
    });
    show();
  });

  // Replay: one recorded episode, a slider over its segments.
  const episodePlane = zs.el("canvas", { id: "sectar-episode", width: 360, height: 360 });
  const episodeSeed = zs.el("input", { type: "number", min: 0, value: 0, style: "width:5em" });
  const stepSlider = zs.el("input", { type: "range", min: 0, max: 0, value: 0, id: "sectar-step" });
  const episodeText = zs.el("p", { class: "hint", id: "sectar-episode-text" });
  let episode = null;
  const drawStep = () => {
    if (!episode) return;
    const k = Number(stepSlider.value), segment = episode.segments[k];
    const executed = episode.segments.slice(0, k + 1).flatMap((s, i) => (i ? s.executed.slice(1) : s.executed));
    zs.drawPlane(episodePlane, { ...episode, stage: segment.stage }, [
      { points: executed, color: "#1f77b4" },
      { points: [segment.executed[0], ...segment.planned], color: "#d62728", dash: [6, 4] },
      { points: segment.planned_rest.length ? [segment.planned.at(-1), ...segment.planned_rest] : [], color: "#d6272866", dash: [2, 4], width: 1 },
    ]);
    episodeText.textContent = `segment ${k + 1} of ${episode.segments.length}, stage ${segment.stage}; episode return ${episode.return.toFixed(2)}${episode.success ? " (success)" : ""}`;
  };
  stepSlider.addEventListener("input", drawStep);
  const record = zs.el("button", { id: "sectar-record" }, "plan an episode");
  record.addEventListener("click", async () => {
    episodeText.textContent = "planning…";
    episode = await zs.api(`${base}/episode`, { seed: Number(episodeSeed.value) });
    stepSlider.max = episode.segments.length - 1;
    stepSlider.value = 0;
    drawStep();
  });
  const play = zs.el("button", {}, "▶ replay");
  play.addEventListener("click", async () => {
    if (!episode) return;
    for (let k = 0; k < episode.segments.length; k++) {
      stepSlider.value = k;
      drawStep();
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
  });

  root.append(
    zs.panel(`one latent from a start state (${run.info.env_id})`,
      zs.el("div", { class: "controls" }, "start: reset seed", seed, random), plane,
      zs.el("p", { class: "hint" }, "red dashed: the state decoder's prediction; blue: what the policy does with the same z"), gap, sliders),
    zs.panel("planning episode (latent MPC)",
      zs.el("div", { class: "controls" }, "seed", episodeSeed, record, play, "segment", stepSlider), episodePlane, episodeText,
      zs.el("p", { class: "hint" }, "blue: executed so far; red dashed: the plan's first latent (executed next); faint: the rest of the horizon")),
  );
  await show();
};
