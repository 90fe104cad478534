// Latent SSVM view: test examples with their predicted label and latent; one example's top alternatives by score.
"use strict";
zs.views.structured = async function ssvmView(root, run) {
  const base = `/api/runs/${run.id}/structured`;
  const data = await zs.api(`${base}/examples`);
  const show = (v) => (Array.isArray(v) ? v.join(" ") : String(v));
  const detail = zs.el("div", { id: "ssvm-detail" }, zs.el("p", { class: "hint" }, "Click an example."));
  const rows = data.examples.map((e) => {
    const row = zs.el("tr", { "data-index": e.index },
      zs.el("td", {}, String(e.index)), zs.el("td", {}, show(e.label)), zs.el("td", {}, show(e.predicted)),
      zs.el("td", {}, show(e.latent)), zs.el("td", {}, e.loss.toFixed(2)));
    row.addEventListener("click", () => open(e.index, row));
    return row;
  });
  const table = zs.el("table", { id: "ssvm-examples" },
    zs.el("tr", {}, ...["#", "label", "predicted", "latent", "loss"].map((h) => zs.el("th", {}, h))), ...rows);

  async function open(index, row) {
    for (const r of rows) r.classList.remove("selected");
    row.classList.add("selected");
    const e = await zs.api(`${base}/examples/${index}`);
    const parts = [zs.el("p", {}, `example ${e.index}: label ${show(e.label)}, predicted ${show(e.predicted)} with latent ${show(e.latent)}`)];
    if (e.image) {  // the canvas, and the window the latent shift places
      const values = e.image.values, h = values.length, w = values[0].length, [r0, c0, wh, ww] = e.image.window;
      const scale = 12, canvas = zs.el("canvas", { width: w * scale, height: h * scale, id: "ssvm-image" });
      const max = Math.max(...values.flat(), 1e-9);
      zs.paintImage(canvas, values.flat().map((v) => v / max), [1, h, w]);
      const ctx = canvas.getContext("2d");
      ctx.strokeStyle = "#d62728";
      ctx.lineWidth = 2;
      ctx.strokeRect(c0 * scale, r0 * scale, ww * scale, wh * scale);
      parts.push(canvas, zs.el("p", { class: "hint" }, `red: the ${wh}x${ww} window at the predicted shift (row ${r0}, column ${c0})`));
    }
    parts.push(zs.el("p", { class: "hint" }, `top alternatives, ranked over ${e.ranked_over}:`),
      zs.el("table", { id: "ssvm-alternatives" },
        zs.el("tr", {}, ...["label", "latent", "score w·φ(x, y, h)"].map((t) => zs.el("th", {}, t))),
        ...e.alternatives.map((a) => zs.el("tr", {}, zs.el("td", {}, show(a.label)), zs.el("td", {}, show(a.latent)), zs.el("td", {}, a.score.toFixed(3))))));
    detail.replaceChildren(...parts);
  }

  root.append(
    zs.panel(`${data.problem} on ${data.dataset}: ${data.n_test} test examples, mean task loss ${data.test_loss.toFixed(3)}`,
      zs.el("div", { style: "max-height: 600px; overflow-y: auto" }, table)),
    zs.panel("prediction and alternatives", detail),
  );
  if (rows.length) await open(0, rows[0]);
};
