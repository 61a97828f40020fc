// What facesort's two pages (review, people) share, loaded before each page's own script:
// the message line (and a message kept for the reload after an action), JSON posts to the
// page's own API, and moving the current card. The pages use it as ``window.facesort``.
window.facesort = (() => {
  "use strict";
  const base = document.body.dataset.base;
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  // The page's message line, and its message kept under ``key`` (sessionStorage) for the
  // reload that shows what an action did (shown now, if one was kept). ``fadeAfter`` (ms):
  // a message that is not an error goes after that long (0: it stays).
  function messages(key, fadeAfter = 0) {
    function say(text, isError = false) {
      const box = $("#message");
      box.textContent = text;
      box.classList.toggle("error", isError);
      if (!isError && fadeAfter) setTimeout(() => { if (box.textContent === text) box.textContent = ""; }, fadeAfter);
    }
    // An action's result, for after the reload: its summary and what it skipped.
    function keep(result) {
      let text = result.summary;
      if (result.skipped && result.skipped.length) text += " — " + result.skipped.join("; ");
      sessionStorage.setItem(key, text);
    }
    const pending = sessionStorage.getItem(key);
    if (pending) { sessionStorage.removeItem(key); say(pending); }
    return { say, keep };
  }

  // A JSON post to ``path`` below the page's base, from its own origin (the server refuses
  // others); an answer that is not ok throws its detail, with its JSON as ``error.data``.
  async function post(path, body) {
    const response = await fetch(base + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) {
      const detail = Array.isArray(data.detail) ? data.detail.map(d => d.msg).join("; ") : data.detail;
      const error = new Error(detail || `${response.status} ${response.statusText}`);
      error.data = data;
      throw error;
    }
    return data;
  }

  // Card ``index`` of ``all`` (kept in range) becomes the current one: marked, focused and
  // scrolled into view. Returns its index; null when there are no cards.
  function focusCard(all, index) {
    if (!all.length) return null;
    const current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((c, i) => c.classList.toggle("current", i === current));
    all[current].focus({ preventScroll: true });
    all[current].scrollIntoView({ block: "nearest" });
    return current;
  }

  // A key pressed with Ctrl, Cmd or Alt: the browser's, not the page's.
  const withModifier = event => event.ctrlKey || event.metaKey || event.altKey;

  return { base, $, $$, messages, post, focusCard, withModifier };
})();
