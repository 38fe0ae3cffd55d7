// Gradio's own English, in French on every page of poleqa (the chat, the staff area): run once
// per page by Gradio as the page's custom script (`js` of each mount, poleqa.web._mount).
// Gradio's client writes a few notices in English whatever the page's language (a full queue, a
// lost connection, a file over the upload limit), and its progress text (« processing | 1.5s »,
// « queue: 2/5 | ») is hard-coded in its frontend: in its notices and its progress text, and
// only there, they are shown in French; so are the names of the buttons it hard-codes (« Scroll
// down »). Text is only ever set on text nodes and those names.
const NOTICES = new Map([
  ["This application is currently busy. Please try again.",
    "Le service reçoit beaucoup de questions en ce moment : réessayez dans un instant."],
  ["Connection to the server was lost. Attempting reconnection...",
    "La connexion au serveur a été perdue. Nouvelle tentative en cours…"],
  ["Connection Lost", "Connexion perdue"],
  ["Connection errored out.", "La connexion au serveur a échoué."],
  ["Error", "Erreur"],
]);

// Gradio's size as its client writes it (« 20.0 Mb », powers of 1024): « 20 Mo ».
const UNITS = { b: "octets", Kb: "Ko", Mb: "Mo", Gb: "Go", Tb: "To" };

function frenchSize(size) {
  const m = size.match(/^(\d+(?:\.\d+)?) (\w+)$/);
  if (!m || !UNITS[m[2]]) return size;
  return decimalComma(String(Number(m[1]))) + " " + UNITS[m[2]];
}

// French writes decimals with a comma (« 1,5 Mo », « 2,1 s »), as the staff pages' figures do.
function decimalComma(text) {
  return text.replace(/(\d)\.(\d)/g, "$1,$2");
}

// Notices with a part of their own (a file's name, a size): [English, its French].
const NOTICE_PATTERNS = [
  [
    /^File\(s\) exceed the maximum allowed size of (.+?): (.*)$/s,
    (m) =>
      "Fichier trop volumineux : " + m[2].replace(/"([^"]*)"/g, "« $1 »") +
      " (" + frenchSize(m[1]) + " au plus).",
  ],
];

function frenchNotice(text) {
  const french = NOTICES.get(text.trim());
  if (french) return french;
  for (const [english, said] of NOTICE_PATTERNS) {
    const m = text.trim().match(english);
    if (m) return said(m);
  }
  return null;
}

function frenchNotices() {
  document.querySelectorAll(".toast-wrap").forEach((wrap) => {
    const walker = document.createTreeWalker(wrap, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const french = frenchNotice(node.nodeValue);
      if (french) node.nodeValue = french;
    }
  });
}

// Gradio's progress text (« processing | 1.5/2.0s », « queue: 2/5 | »): said in French, each
// time Gradio writes it again, its times as the staff pages write theirs (« 1,5/2,0 s »).
const PROGRESS = [
  [/^(\s*)processing\b/, "$1en cours"],
  [/^(\s*)queue:/, "$1file d'attente :"],
  [/(\d)s$/, "$1 s"],
];
const progressSeen = new WeakSet();
const progressObserver = new MutationObserver(() => frenchProgress());

function frenchProgress() {
  document.querySelectorAll(".meta-text, .meta-text-center").forEach((el) => {
    if (!progressSeen.has(el)) {
      progressSeen.add(el);
      progressObserver.observe(el, { characterData: true, childList: true, subtree: true });
    }
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      let text = node.nodeValue;
      for (const [english, french] of PROGRESS) text = text.replace(english, french);
      text = decimalComma(text);
      // set only when changed: setting it would call the observer again, and again
      if (text !== node.nodeValue) node.nodeValue = text;
    }
  });
}

// Names of Gradio's buttons, read by screen readers and shown as tooltips: the chat's
// « Scroll down » (its label is hard-coded in Gradio's frontend).
const LABELS = new Map([["Scroll down", "Aller à la fin de la conversation"]]);

function frenchLabels() {
  document.querySelectorAll("button[aria-label], button[title]").forEach((button) => {
    for (const name of ["aria-label", "title"]) {
      const french = LABELS.get(button.getAttribute(name));
      if (french) button.setAttribute(name, french);
    }
  });
}

const observer = new MutationObserver(() => {
  frenchNotices();
  frenchProgress();
  frenchLabels();
});

// Installed once per page: should Gradio run this again, the earlier observers go.
if (window.poleqaFrench) {
  window.poleqaFrench.observer.disconnect();
  window.poleqaFrench.progressObserver.disconnect();
}
window.poleqaFrench = { observer: observer, progressObserver: progressObserver };
observer.observe(document.body, { childList: true, subtree: true });
frenchNotices();
frenchProgress();
frenchLabels();
