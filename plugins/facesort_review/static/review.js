// facesort review page: keyboard-friendly single and batch actions.
// Actions are JSON posts to ./api/...; the server journals each one (undo with "u").
(() => {
  "use strict";
  const { base, $, $$, post, withModifier } = window.facesort;  // facesort.js
  const cards = () => $$("#gallery .card");
  let current = 0;
  const chosenFace = new Map(); // file id -> face number

  // A message survives the reload that shows the new state of the queue; one that is not
  // an error goes after 6 s.
  const { say, keep } = window.facesort.messages("facesort-message", 6000);

  // A new person whose name is close to a known one ("obma" beside "obama"): the server
  // refuses (409) until asked; ask, and send the same action again, confirmed.
  async function postConfirmingNewPerson(path, body) {
    try {
      return await post(path, body);
    } catch (error) {
      const data = error.data || {};
      if (!data.confirm_new_person) throw error;
      const known = (data.did_you_mean || []).map(n => `'${n}'`).join(" or ");
      if (!window.confirm(`New person '${data.person}'? Did you mean ${known}?\n\nOK: make the new person '${data.person}'. Cancel: change the name.`)) {
        throw new Error(`nothing was changed: did you mean ${known}?`);
      }
      return await post(path, { ...body, confirm_new_person: true });
    }
  }

  async function act(path, body, doneCards = []) {
    try {
      doneCards.forEach(c => c.classList.add("done"));
      keep(await postConfirmingNewPerson(path, body));
      sessionStorage.setItem("facesort-position", String(current));
      location.reload();
    } catch (error) {
      doneCards.forEach(c => c.classList.remove("done"));
      say(error.message, true);
    }
  }

  // ---------------------------------------------------------------- selection
  function focusCard(index) {
    const at = window.facesort.focusCard(cards(), index);
    if (at !== null) current = at;
  }
  function selected() { return cards().filter(c => $(".select", c).checked); }
  // "Select all N": every file matching the search, on this page and the others.
  let everyId = null;
  async function selectEvery() {
    const data = await fetch(`${base}api/queue/${document.body.dataset.category}/ids${location.search}`, {
      headers: { "Accept": "application/json" }, credentials: "same-origin",
    }).then(r => r.json());
    everyId = data.file_ids;
    cards().forEach(c => { $(".select", c).checked = true; });
    refreshSelection();
  }
  function targetIds(chosen) {
    return everyId ? everyId.slice() : chosen.map(c => Number(c.dataset.id));
  }
  function targets() {
    const chosen = selected();
    if (chosen.length) return chosen;
    const all = cards();
    return all.length ? [all[current]] : [];
  }
  function refreshSelection() {
    if (everyId && selected().length !== cards().length) everyId = null;  // a card unselected
    const n = everyId ? everyId.length : selected().length;
    const label = $("#selection");
    if (label) {
      label.textContent = everyId ? `all ${n} selected (every page)` : `${n} selected`;
      label.classList.toggle("all", Boolean(everyId));
    }
    cards().forEach(c => c.classList.toggle("selected", $(".select", c).checked));
  }
  function toggle(card) { const box = $(".select", card); box.checked = !box.checked; refreshSelection(); }
  // ``key``: the number on a face's box (a video's boxes, of one frame, are 1..n);
  // the action names the face by its number among all the file's faces (data-face).
  function chooseFace(card, key) {
    const shown = $(`.box[data-key="${key}"], .faces li[data-key="${key}"]`, card);
    if (!shown) { say(`this file has no face ${key}`, true); return; }
    const number = Number(shown.dataset.face);
    chosenFace.set(card.dataset.id, number);
    $$(".box, .faces li", card).forEach(el => el.classList.toggle("chosen", Number(el.dataset.face) === number));
  }
  const offered = name => Boolean($(`#toolbar [data-action="${name}"]`));

  // A face the detector missed: "m", then drag a box on the photo; the name typed next
  // (a, Enter) approves the file with that face as the person's.
  const drawnBox = new Map(); // file id -> [left, top, right, bottom] fractions
  let justDrew = false;
  function startDrawing(card) {
    const frame = $(".frame", card);
    if (!frame || card.dataset.kind !== "image") { say("faces can be drawn on photos only", true); return; }
    say("drag a box around the face the detector missed");
    frame.classList.add("drawing");
    let start = null, box = null;
    const at = event => {
      const r = frame.getBoundingClientRect();
      return [Math.min(1, Math.max(0, (event.clientX - r.left) / r.width)), Math.min(1, Math.max(0, (event.clientY - r.top) / r.height))];
    };
    const draw = (a, b) => {
      const [l, t, r, bt] = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];
      if (!box) { box = document.createElement("span"); box.className = "box manual chosen"; box.textContent = "new"; frame.appendChild(box); }
      Object.assign(box.style, { left: `${l * 100}%`, top: `${t * 100}%`, width: `${(r - l) * 100}%`, height: `${(bt - t) * 100}%` });
      return [l, t, r, bt];
    };
    const down = event => { event.preventDefault(); start = at(event); };
    const move = event => { if (start) draw(start, at(event)); };
    const up = event => {
      if (!start) return;
      const drawn = draw(start, at(event));
      frame.removeEventListener("mousedown", down); window.removeEventListener("mousemove", move); window.removeEventListener("mouseup", up);
      frame.classList.remove("drawing");
      drawnBox.set(card.dataset.id, drawn);
      justDrew = true;  // the click that ends the drag must not take the focus back
      setTimeout(() => { justDrew = false; }, 0);
      $$(".box:not(.manual), .faces li", card).forEach(el => el.classList.remove("chosen"));
      say("face drawn: type the person's name (a) and press Enter to name it");
      const p = $("#person"); if (p) p.focus();
    };
    frame.addEventListener("mousedown", down);
    window.addEventListener("mousemove", move);
    window.addEventListener("mouseup", up);
  }

  // ---------------------------------------------------------------- actions
  function person() { return ($("#person") || {}).value ? $("#person").value.trim() : ""; }
  function needPerson(what) {
    if (person()) return true;
    say(`type the person's name first (a), then ${what}`, true);
    $("#person") && $("#person").focus();
    return false;
  }
  const actions = {
    approve() {
      const chosen = targets();
      if (!chosen.length || !needPerson("approve")) return;
      const ids = targetIds(chosen);
      const body = { file_ids: ids, person: person(), add_reference: Boolean($("#as-reference") && $("#as-reference").checked) };
      if (ids.length === 1 && drawnBox.has(String(ids[0]))) body.manual_box = drawnBox.get(String(ids[0]));
      else if (ids.length === 1 && chosenFace.has(String(ids[0]))) body.face = chosenFace.get(String(ids[0]));
      act("api/approve", body, chosen);
    },
    "add-reference"() {
      const chosen = targets();
      if (!chosen.length || !needPerson("add the face as a reference")) return;
      const ids = targetIds(chosen);
      const body = { file_ids: ids, person: person() };
      if (ids.length === 1 && chosenFace.has(String(ids[0]))) body.face = chosenFace.get(String(ids[0]));
      act("api/add-reference", body, []);
    },
    reject() {
      const chosen = targets();
      if (chosen.length) act("api/reject", { file_ids: targetIds(chosen) }, chosen);
    },
    "not-duplicate"() {
      const chosen = targets();
      if (chosen.length) act("api/not-duplicate", { file_ids: targetIds(chosen) }, chosen);
    },
    "keep-instead"(button) {
      const card = button ? button.closest(".card") : cards()[current];
      if (card && $("[data-action=keep-instead]", card)) {
        act("api/keep-instead", { file_id: Number(card.dataset.id) }, [card]);
      }
    },
    undo() { act("api/undo", {}); },
    "select-all"() { selectEvery().catch(error => say(error.message, true)); },
    help() { $("#help").showModal(); },
  };

  document.addEventListener("click", event => {
    const button = event.target.closest("button[data-action]");
    if (button) {
      const name = button.dataset.action;
      if (name === "undo-group") { act("api/undo", { group_id: button.dataset.group }); return; }
      if (name === "name-cluster") { nameCluster(button.closest("form")); return; }
      if (actions[name]) { event.preventDefault(); actions[name](button); }
      return;
    }
    if (justDrew) { justDrew = false; return; }
    const box = event.target.closest(".box");
    const card = event.target.closest("#gallery .card");
    if (card) {
      current = cards().indexOf(card);
      focusCard(current);
      if (box) chooseFace(card, Number(box.dataset.key));
    }
  });
  document.addEventListener("change", event => { if (event.target.matches(".select")) refreshSelection(); });

  function nameCluster(form) {
    const name = $("input[name=person]", form).value.trim();
    if (!name) { say("type who this is first", true); return; }
    act(`api/clusters/${form.dataset.cluster}/name`, { person: name }, [form.closest(".card")]);
  }

  // ---------------------------------------------------------------- "is this X?"
  // One question at a time; an answer is posted, and its card gives way to the next.
  const asking = $("#is-this");
  const questions = () => $$("#is-this .question");
  function showNext(after) {
    const all = questions();
    const next = all[all.indexOf(after) + 1];
    if (after && after.dataset.answered) after.remove(); else if (after) after.hidden = true;
    if (next) { next.hidden = false; next.focus({ preventScroll: true }); return; }
    asking.insertAdjacentHTML("beforeend", '<p class="empty-queue done-asking">No more questions here: reload to see the skipped ones again.</p>');
    $$("#answers [data-answer]").forEach(b => { b.disabled = true; });
  }
  async function answer(kind) {
    const card = questions().find(q => !q.hidden);
    if (!card) return;
    if (kind === "skip") { showNext(card); return; }
    const id = Number(card.dataset.id), face = Number(card.dataset.face), who = card.dataset.person;
    card.classList.add("done");
    try {
      const result = kind === "yes"
        ? await post("api/approve", { file_ids: [id], person: who, face, add_reference: $("#as-reference").checked })
        : await post("api/not-person", { file_id: id, face, person: who });
      say(result.summary);
      if (kind === "yes") {
        const count = $(`.tab[data-category="${document.body.dataset.category}"] .count`);
        if (count) count.textContent = String(Math.max(0, Number(count.textContent) - 1));
      }
      card.dataset.answered = kind;
      showNext(card);
    } catch (error) {
      card.classList.remove("done");
      say(error.message, true);
    }
  }
  document.addEventListener("click", event => {
    const button = event.target.closest("button[data-answer]");
    if (button) answer(button.dataset.answer);
  });

  document.addEventListener("keydown", event => {
    if (asking && !event.target.matches("input, textarea") && !withModifier(event)) {
      const kinds = { y: "yes", n: "no", s: "skip" };
      if (kinds[event.key]) { event.preventDefault(); answer(kinds[event.key]); return; }
      if (event.key === "f") { event.preventDefault(); const box = $("#as-reference"); box.checked = !box.checked; return; }
    }
    const typing = event.target.matches("input, textarea");
    if (typing) {
      if (event.key === "Enter") {
        event.preventDefault();
        const clusterForm = event.target.closest(".name-cluster");
        if (clusterForm) nameCluster(clusterForm);
        else if (event.target.id === "person" && offered("approve")) actions.approve();
      } else if (event.key === "Escape") {
        event.target.blur();
        focusCard(current);
      }
      return;
    }
    if (withModifier(event)) return;
    const key = event.key;
    if (key === "j" || key === "ArrowRight") { focusCard(current + 1); }
    else if (key === "k" || key === "ArrowLeft") { focusCard(current - 1); }
    else if (key === "x" || key === " ") { const c = cards()[current]; if (c) toggle(c); }
    else if (key === "*") {
      const all = cards(); const on = selected().length !== all.length;
      everyId = null;
      all.forEach(c => { $(".select", c).checked = on; }); refreshSelection();
    }
    else if (key === "A" && offered("select-all")) { actions["select-all"](); }
    else if (/^[1-9]$/.test(key)) { const c = cards()[current]; if (c) chooseFace(c, Number(key)); }
    else if (key === "a") { const p = $("#person"); if (p) p.focus(); }
    else if (key === "f" && offered("add-reference")) { actions["add-reference"](); }
    else if (key === "r" && offered("reject")) { actions.reject(); }
    else if (key === "d" && offered("not-duplicate")) { actions["not-duplicate"](); }
    else if (key === "i") { actions["keep-instead"](); }
    else if (key === "m" && offered("approve")) { const c = cards()[current]; if (c) startDrawing(c); }
    else if (key === "u") { actions.undo(); }
    else if (key === "?") { actions.help(); }
    else return;
    event.preventDefault();
  });

  const position = Number(sessionStorage.getItem("facesort-position") || 0);
  sessionStorage.removeItem("facesort-position");
  if (cards().length) focusCard(position);
  if (asking && questions().length) questions()[0].focus({ preventScroll: true });
})();
