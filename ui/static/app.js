// Live deployment progress: a page that lists a deployment's steps subscribes to its event
// stream and reloads the list as steps arrive. Without scripts the page still works (reload).
document.addEventListener("DOMContentLoaded", () => {
  const list = document.querySelector("[data-events]");
  if (!list || !window.EventSource) return;
  const state = document.querySelector("[data-state]");
  const cause = document.querySelector("[data-cause]");
  const src = new EventSource(list.dataset.events);
  src.addEventListener("step", (e) => {
    const d = JSON.parse(e.data);
    const li = document.createElement("li");
    li.textContent = d.time + " " + d.step + (d.message ? ": " + d.message : "");
    list.appendChild(li);
  });
  src.addEventListener("state", (e) => {
    const d = JSON.parse(e.data);
    if (state) { state.textContent = d.state; state.className = "state " + d.class; }
    if (cause && d.cause) { cause.textContent = d.cause; cause.hidden = false; }
    if (d.done) src.close();
  });
  // On a lost connection the browser reconnects by itself, sending the last step's id, and the
  // stream (from whichever server answers) resumes after it; a refused one stays closed.
});
