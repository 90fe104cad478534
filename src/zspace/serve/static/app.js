// The page: list the runs the server was started with and open the view of the chosen one.
"use strict";
(async function main() {
  const nav = document.getElementById("runs");
  const view = document.getElementById("view");
  const runs = await zs.api("/api/runs");
  const open = (run, button) => {
    for (const b of nav.querySelectorAll("button")) b.classList.remove("active");
    button.classList.add("active");
    // A fresh container per opening: a slower view still loading draws into its own, detached one.
    const container = zs.el("div", { class: "view", "data-family": run.family });
    view.replaceChildren(container);
    if (zs.views[run.family]) zs.views[run.family](container, run);
    else container.append(zs.el("p", { class: "hint" }, `no view for ${run.family} runs`));
  };
  const buttons = runs.map((run) => {
    const button = zs.el("button", { "data-run": run.id }, run.name, zs.el("span", { class: "family" }, run.family));
    button.addEventListener("click", () => open(run, button));
    nav.append(button);
    return button;
  });
  const wanted = Number(new URLSearchParams(location.search).get("run") ?? 0);
  const first = Number.isInteger(wanted) && buttons[wanted] ? wanted : 0;
  if (buttons.length) open(runs[first], buttons[first]);
})();
