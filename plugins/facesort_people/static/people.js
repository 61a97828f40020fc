// facesort people page: keyboard-friendly rename, merge, reference photos, split, undo.
// Actions are JSON posts to ./api/...; each is one journaled action (undo with "u").
(() => {
  "use strict";
  const { base, $, $$, post, withModifier } = window.facesort;  // facesort.js
  const cards = () => $$("main .card");
  const head = $(".person-head");
  const person = head ? head.dataset.person : null;
  let current = 0;
  let picked = []; // people list: the names selected for a merge, oldest first
  const { say, keep } = window.facesort.messages("facesort-people-message");

  // Do an action, then show the page that reflects it (``next``: where to go after).
  async function act(path, body, next = null) {
    say("working…");
    try {
      keep(await post(path, body));
      if (next) location.href = next; else location.reload();
    } catch (error) {
      say(error.message, true);
    }
  }

  // ---------------------------------------------------------------- cards
  function focusCard(index) {
    const at = window.facesort.focusCard(cards(), index);
    if (at !== null) current = at;
  }
  cards().forEach((card, i) => {
    card.addEventListener("focus", () => { current = i; cards().forEach((c, j) => c.classList.toggle("current", j === i)); });
    card.addEventListener("click", event => { if (!event.target.closest("a, button")) focusCard(i); });
  });

  function showSelection() {
    const count = person ? $$(".card.file.selected").length : picked.length;
    const label = $("#selection");
    if (label) label.textContent = `${count} selected`;
  }

  function toggle(card) {
    if (!card) return;
    if (card.classList.contains("person")) {
      const name = card.dataset.name;
      if (picked.includes(name)) picked = picked.filter(n => n !== name);
      else { picked.push(name); if (picked.length > 2) picked.shift(); }
      $$(".card.person").forEach(c => c.classList.toggle("selected", picked.includes(c.dataset.name)));
    } else if (card.classList.contains("file")) {
      card.classList.toggle("selected");
    }
    showSelection();
  }

  function chosenFiles() {
    const selected = $$(".card.file.selected").map(c => Number(c.dataset.id));
    if (selected.length) return selected;
    const card = cards()[current];
    return card && card.classList.contains("file") ? [Number(card.dataset.id)] : [];
  }

  // ---------------------------------------------------------------- actions
  function merge() {
    if (picked.length !== 2) { say("Select two people (x) to merge.", true); return; }
    const card = cards()[current];
    const keep = card && picked.includes(card.dataset.name) ? card.dataset.name : picked[0];
    act("api/merge", { people: picked, keep });
  }

  function sendToReview() {
    const ids = chosenFiles();
    if (!ids.length) { say("Select files (x) first.", true); return; }
    act("api/split", { person, file_ids: ids, to: null });
  }

  function moveToPerson() {
    const ids = chosenFiles();
    const to = $("#to-person").value.trim();
    if (!ids.length || !to) { say("Select files (x) and type a person.", true); return; }
    act("api/split", { person, file_ids: ids, to });
  }

  function removeReference(photo) {
    act("api/remove-reference", { person, photo });
  }

  function forgetLearnt(photo) {
    act("api/forget-learnt", { person, photo });
  }

  // A photo's own removal: a learnt one is forgotten (its copy undone), others trashed.
  function removePhoto(card) {
    if (card.dataset.learnt) forgetLearnt(card.dataset.photo); else removeReference(card.dataset.photo);
  }

  function distance(input) {
    const text = input.value.trim();
    return text === "" ? null : Number(text);
  }

  function undo(group = null) {
    // A rename's undo takes the person's page away: show the list after it.
    act("api/undo", { group_id: group }, person ? base : null);
  }

  const known = $$("#known-people option").map(o => o.value);
  const renameForm = $("#rename");
  if (renameForm) {
    const input = $("#new-name");
    input.addEventListener("input", () => {
      const typed = input.value.trim().toLowerCase();
      const other = known.find(p => p.toLowerCase() === typed);
      $("#merge-note").textContent = other ? `${other} is someone already: this is a merge into ${other}` : "";
    });
    renameForm.addEventListener("submit", event => {
      event.preventDefault();
      const name = input.value.trim();
      if (!name) return;
      act("api/rename", { person, new_name: name }, base + "person/" + encodeURIComponent(name));
    });
  }
  const thresholdsForm = $("#thresholds");
  if (thresholdsForm) {
    thresholdsForm.addEventListener("submit", event => {
      event.preventDefault();
      act("api/thresholds", { person, sure_distance: distance($("#own-sure")), review_distance: distance($("#own-review")) });
    });
    const clear = $("#clear-thresholds");
    if (clear) clear.addEventListener("click", () => act("api/thresholds", { person, sure_distance: null, review_distance: null }));
  }
  const toPerson = $("#to-person");
  if (toPerson) toPerson.addEventListener("keydown", e => { if (e.key === "Enter") { e.preventDefault(); moveToPerson(); } });
  const buttons = { "#merge": merge, "#to-review": sendToReview, "#move-to-person": moveToPerson };
  for (const [sel, fn] of Object.entries(buttons)) { const b = $(sel); if (b) b.addEventListener("click", fn); }
  $$(".remove-reference").forEach(b => b.addEventListener("click", () => removeReference(b.dataset.photo)));
  $$(".forget-learnt").forEach(b => b.addEventListener("click", () => forgetLearnt(b.dataset.photo)));
  $$("button.undo").forEach(b => b.addEventListener("click", () => undo(b.dataset.group)));

  document.addEventListener("keydown", event => {
    const typing = event.target.matches("input, textarea, select");
    if (typing) {
      if (event.key === "Escape") { event.target.blur(); focusCard(current); }
      return;
    }
    if (withModifier(event)) return;
    const card = cards()[current];
    switch (event.key) {
      case "j": case "ArrowRight": focusCard(current + 1); break;
      case "k": case "ArrowLeft": focusCard(current - 1); break;
      case "x": case " ": toggle(card); break;
      case "Enter": if (card && card.dataset.href) location.href = card.dataset.href; else return; break;
      case "m": if (!person) merge(); break;
      case "n": if (renameForm) $("#new-name").focus(); break;
      case "b": if (person) sendToReview(); break;
      case "p": if (toPerson) toPerson.focus(); break;
      case "Delete": if (card && card.dataset.photo) removePhoto(card); break;
      case "t": if (thresholdsForm) $("#own-sure").focus(); break;
      case "u": undo(); break;
      case "?": $("#help").showModal(); break;
      default: return;
    }
    event.preventDefault();
  });
  if (cards().length) focusCard(0);
})();
