// The chat's behaviour, run once by Gradio as the `js_on_load` of the hidden #pq-controller
// (arguments: element, trigger, props, server, upload, watch). No network request of its own:
// feedback goes through `trigger("feedback", ...)`, an event of the page's Gradio app.
// Citations: a click on [n] opens that passage's source card and scrolls it into view.
// Feedback: a thumb sends the rating at once and offers a comment box (a comment re-sends the
// rating with it; the store keeps the latest per answer); the server's reply (props.value, JSON)
// is shown under that answer. Text is only ever set with textContent. rememberPending (the
// tab keeps each question sent until its answer comes) is declared before this text by app.py.
// Gradio's notices and progress text are said in French by gradio_fr.js, on every page.
const MAX_COMMENT = 2000;

// Names Gradio gives its elements for screen readers, in English (a message's name was its
// whole HTML): French ones. Its live region also says an untranslated « common.complete ».
const GRADIO_LABELS = [
  [/^bot's message/, () => "Réponse de poleqa"],
  [/^user's message/, () => "Votre question"],
  [/^Select example (\d+): (.*)$/s, (m) => "Exemple " + m[1] + " : " + m[2]],
  [/^chatbot conversation$/, () => "Conversation"],
  [/^Loading content$/, () => "Chargement"],
];

function frenchLabels() {
  document.querySelectorAll("#pq-chat [aria-label]").forEach((el) => {
    const label = el.getAttribute("aria-label");
    for (const [pattern, french] of GRADIO_LABELS) {
      const m = label.match(pattern);
      if (m) {
        el.setAttribute("aria-label", french(m));
        break;
      }
    }
  });
  document.querySelectorAll(".sr-only[role=status]").forEach((el) => {
    if (el.textContent.trim() === "common.complete") el.textContent = "Réponse reçue.";
  });
  // the pending answer's hidden text, read out in the conversation's live region
  document.querySelectorAll("#pq-chat .sr-only").forEach((el) => {
    if (el.textContent.trim() === "Loading content") el.textContent = "Chargement";
  });
}

// The thumbs of each answer: toggle buttons (not pressed until clicked, or as stored), each
// named after its answer's number, not « Oui » / « Non » alike under every answer. Set here:
// Gradio's sanitizer drops aria- attributes from the answers' HTML.
function labelThumbs() {
  document.querySelectorAll("#pq-chat .pq-feedback").forEach((bar, i) => {
    bar.querySelectorAll(".pq-rate").forEach((b) => {
      const yes = b.classList.contains("pq-up");
      const label = "Réponse " + (i + 1) + " utile : " + (yes ? "oui" : "non");
      if (b.getAttribute("aria-label") !== label) b.setAttribute("aria-label", label);
      if (!b.hasAttribute("aria-pressed")) b.setAttribute("aria-pressed", "false");
    });
  });
}

function openPassage(link) {
  const target = document.getElementById(link.getAttribute("href").slice(1));
  if (!target) return false;
  const card = target.closest("details");
  if (card) card.open = true;
  document.querySelectorAll(".pq-target").forEach((el) => el.classList.remove("pq-target"));
  target.classList.add("pq-target");
  target.scrollIntoView({ block: "nearest", behavior: "smooth" });
  target.focus({ preventScroll: true });
  return true;
}

function commentBox(bar, key) {
  let box = bar.querySelector(".pq-comment");
  if (box) return box;
  box = document.createElement("div");
  box.className = "pq-comment";
  const label = document.createElement("label");
  label.textContent = "Un commentaire ? (facultatif)";
  label.htmlFor = "pq-text-" + key;
  const area = document.createElement("textarea");
  area.id = "pq-text-" + key;
  area.rows = 2;
  area.maxLength = MAX_COMMENT;
  area.placeholder = "Ce qui manque, ce qui est faux, ce qui vous a aidé…";
  const send = document.createElement("button");
  send.type = "button";
  send.className = "pq-send-comment";
  send.textContent = "Envoyer le commentaire";
  box.append(label, area, send);
  bar.append(box);
  return box;
}

function statusLine(bar) {
  let line = bar.querySelector(".pq-fb-status");
  if (!line) {
    line = document.createElement("div");
    line.className = "pq-fb-status";
    line.setAttribute("role", "status");
    bar.append(line);
  }
  return line;
}

function rate(button) {
  const bar = button.closest(".pq-feedback");
  if (!bar) return;
  const key = bar.id.slice("pq-f-".length);
  const rating = button.classList.contains("pq-up") ? "up" : "down";
  bar.dataset.rating = rating;
  bar.querySelectorAll(".pq-rate").forEach((b) => {
    b.setAttribute("aria-pressed", b === button ? "true" : "false");
  });
  commentBox(bar, key);
  statusLine(bar).textContent = "Envoi…";
  // a later event replaces the earlier one: the comment already sent goes with the new thumb
  trigger("feedback", { answer: key, rating: rating, comment: bar.dataset.comment || "" });
}

function sendComment(button) {
  const bar = button.closest(".pq-feedback");
  if (!bar || !bar.dataset.rating) return;
  const key = bar.id.slice("pq-f-".length);
  const area = bar.querySelector("textarea");
  const comment = area ? area.value : "";
  if (!comment.trim()) {
    statusLine(bar).textContent = "Écrivez d'abord votre commentaire.";
    return;
  }
  statusLine(bar).textContent = "Envoi…";
  bar.dataset.comment = comment;
  trigger("feedback", { answer: key, rating: bar.dataset.rating, comment: comment });
}

function onClick(event) {
  const target = event.target instanceof Element ? event.target : null;
  if (!target) return;
  const cite = target.closest("a.pq-cite");
  if (cite && openPassage(cite)) {
    event.preventDefault();
    return;
  }
  const thumb = target.closest("button.pq-rate");
  if (thumb) {
    rate(thumb);
    return;
  }
  const send = target.closest("button.pq-send-comment");
  if (send) sendComment(send);
  const example = target.closest("#pq-chat .examples button, #pq-chat .example");
  if (example) {
    // sent as a question typed is: kept in the tab until answered, for a reload to put it
    // back (poleqa.web.kept)
    rememberPending(example.innerText.trim());
    // its button disappears with the examples: the keyboard goes on from the question box
    setTimeout(() => document.querySelector("#pq-question textarea")?.focus(), 0);
  }
}

// A page reloaded draws the opinion given before as a class (Gradio's sanitizer drops the
// aria- and data- attributes): shown pressed, as a thumb clicked in the page is.
function pressStored(bar) {
  if (bar.dataset.stored) return;
  const stored = bar.classList.contains("pq-stored-up") ? "up" : "down";
  bar.dataset.stored = stored;
  bar.querySelectorAll(".pq-rate").forEach((b) => {
    const rating = b.classList.contains("pq-up") ? "up" : "down";
    b.setAttribute("aria-pressed", rating === stored ? "true" : "false");
  });
}

// The chat's own autoscroll is off (it would keep pulling a long answer to its end): while a
// question waits, the chat shows its end; a new answer is shown from its beginning.
const seen = new Set();
let waiting = false;
const observer = new MutationObserver(() => {
  frenchLabels();
  const pending = document.querySelector("#pq-chat .pending, #pq-chat .pq-pending") !== null;
  if (pending && !waiting) {
    const scroller = document.querySelector("#pq-chat .bubble-wrap");
    if (scroller) scroller.scrollTo({ top: scroller.scrollHeight });
  }
  waiting = pending;
  document.querySelectorAll("#pq-chat .pq-feedback.pq-stored-up, #pq-chat .pq-feedback.pq-stored-down")
    .forEach(pressStored);
  labelThumbs();
  let fresh = null;
  document.querySelectorAll("#pq-chat .pq-answer").forEach((a) => {
    if (!seen.has(a.id)) {
      seen.add(a.id);
      fresh = a;
    }
  });
  if (fresh) fresh.scrollIntoView({ block: "start" });
});

// Installed once per page: should Gradio run this again, the earlier listeners go.
if (window.poleqaChat) {
  document.removeEventListener("click", window.poleqaChat.onClick);
  window.poleqaChat.observer.disconnect();
}
window.poleqaChat = { onClick: onClick, observer: observer };
document.addEventListener("click", onClick);
observer.observe(document.body, { childList: true, subtree: true });

watch("value", () => {
  let reply;
  try {
    reply = JSON.parse(props.value || "{}");
  } catch (e) {
    return;
  }
  const bar = document.getElementById("pq-f-" + reply.answer);
  if (!bar || typeof reply.text !== "string") return;
  const line = statusLine(bar);
  line.textContent = reply.text;
  const kind = ["ok", "info", "error"].includes(reply.kind) ? reply.kind : "error";
  line.className = "pq-fb-status pq-" + kind;
  // the thumb shown pressed is the opinion stored: a refused one (too many, a comment too
  // long) leaves the one stored before, if any, pressed
  if (kind === "ok") bar.dataset.stored = bar.dataset.rating;
  bar.querySelectorAll(".pq-rate").forEach((b) => {
    const rating = b.classList.contains("pq-up") ? "up" : "down";
    b.setAttribute("aria-pressed", rating === bar.dataset.stored ? "true" : "false");
  });
  const box = bar.querySelector(".pq-comment");
  if (reply.kind === "ok" && reply.comment && box) {
    const focused = box.contains(document.activeElement);
    box.remove();  // stored: nothing left to send
    if (focused) {  // the keyboard goes on from the reply, not from the page's top
      line.tabIndex = -1;
      line.focus();
    }
  }
});
