// The page: list the runs the server was started with and open the view of the chosen one.
"use strict";
(async function main() {
  const nav = document.getElementById("runs");
  const view = document.getElementById("view");
  const runs = await zs.api("/api/runs");
  const open = (run, button) => {
    for (const b of nav.querySelectorAll("button")) b.classList.remove("active");
    button.classList.add("active");
    view.replaceChildren();
    document.body.dataset.family = run.family;
    if (zs.views[run.family]) zs.views[run.family](view, run);
    else view.append(zs.el("p", { class: "hint" }, `no view for ${run.family} runs yet`));
  };
  runs.forEach((run, i) => {
    const button = zs.el("button", { "data-run": run.id }, run.name, zs.el("span", { class: "family" }, run.family));
    button.addEventListener("click", () => open(run, button));
    nav.append(button);
    if (i === 0) open(run, button);
  });
  const wanted = new URLSearchParams(location.search).get("run");
  if (wanted !== null && nav.querySelector(`[data-run="${Number(wanted)}"]`)) nav.querySelector(`[data-run="${Number(wanted)}"]`).click();
})();
