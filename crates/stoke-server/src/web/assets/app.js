// Stoke's dashboard: small enhancements only. Every page and form works without this file.
"use strict";

// Remember the browser's time zone, so that the server writes times in the reader's zone.
(function rememberZone() {
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const value = encodeURIComponent(zone);
    if (zone && !document.cookie.split("; ").includes("stoke_tz=" + value)) {
      document.cookie = "stoke_tz=" + value + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (_) { /* an old browser: times stay in UTC */ }
})();

document.addEventListener("DOMContentLoaded", () => {
  // Selects that apply themselves (the language picker, the agent whose queue is shown).
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }

  // A conversation opens at its latest message, next to the reply box.
  const messages = document.getElementById("messages");
  if (messages && messages.lastElementChild) {
    messages.lastElementChild.scrollIntoView({ block: "end" });
  }

  // A reply form sends its own key, so that a double click queues one reply.
  for (const input of document.querySelectorAll("input[data-once]")) {
    input.value = Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // The segment box counts as you type.
  const expr = document.getElementById("segment-expr");
  const preview = document.getElementById("segment-preview");
  if (expr && preview) {
    let timer = null;
    let asked = 0;
    expr.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const ask = ++asked;
        const url = expr.dataset.preview + "?expr=" + encodeURIComponent(expr.value);
        try {
          const response = await fetch(url, { credentials: "same-origin" });
          if (ask === asked) preview.innerHTML = await response.text();
        } catch (_) { /* offline: the button still works */ }
      }, 250);
    });
  }

  // A running broadcast's progress refreshes itself.
  const progress = document.getElementById("progress");
  if (progress && progress.dataset.refresh) {
    const refresh = async () => {
      try {
        const response = await fetch(progress.dataset.refresh, { credentials: "same-origin" });
        if (!response.ok) return;
        const holder = document.createElement("div");
        holder.innerHTML = await response.text();
        const fresh = holder.querySelector("#progress");
        if (fresh) {
          progress.replaceChildren(...fresh.childNodes);
          if (!fresh.dataset.refresh) return;
        }
      } catch (_) { /* try again later */ }
      setTimeout(refresh, 2000);
    };
    setTimeout(refresh, 2000);
  }
});
