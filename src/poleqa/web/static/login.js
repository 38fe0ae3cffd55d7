// The staff login page's additions, put into Gradio's login page by sessions.FrenchPages. Gradio's
// form shows « Identifiants incorrects » after a 400 but tells screen readers nothing, and shows
// nothing at all for any other answer (the throttle's 429 after five failures). Each failed POST
// to …/login is said in a live region (role="alert"), with the server's French « detail »:
// for screen readers only after a 400 (Gradio shows its own), visible otherwise. The user name
// stays in its field after a refusal.
(() => {
  const FAILED = "La connexion au serveur a échoué : réessayez dans une minute.";
  const send = window.fetch.bind(window);

  function isLogin(resource, options) {
    const request = resource instanceof Request ? resource : null;
    const method = (options && options.method) || (request ? request.method : "GET");
    const url = new URL(request ? request.url : String(resource), location.href);
    return method.toUpperCase() === "POST" && /\/login\/?$/.test(url.pathname);
  }

  // Put in the page before the answer comes: a live region is read out when its text changes.
  function region() {
    let alert = document.getElementById("pq-login-alert");
    if (!alert) {
      alert = document.createElement("p");
      alert.id = "pq-login-alert";
      alert.setAttribute("role", "alert");
      const form = document.querySelector("gradio-app input[type=password]");
      const place = form && form.closest(".form");
      if (place) place.before(alert);
      else document.body.prepend(alert);
    }
    return alert;
  }

  function say(alert, text, visible) {
    alert.textContent = text;
    alert.classList.toggle("pq-sr", !visible);
    // Gradio's « Identifiants incorrects » of an earlier try must not stand beside it.
    document.documentElement.classList.toggle("pq-login-refused", visible);
  }

  window.fetch = async (resource, options) => {
    if (!isLogin(resource, options)) return send(resource, options);
    const alert = region();
    alert.textContent = "";
    let response;
    try {
      response = await send(resource, options);
    } catch (error) {
      say(alert, FAILED, true);
      throw error;
    }
    if (!response.ok) {
      let detail = null;
      try {
        detail = (await response.clone().json()).detail;
      } catch {
        // not JSON (a proxy's page): the generic message
      }
      const text = typeof detail === "string" && detail ? detail : FAILED;
      say(alert, text, response.status !== 400);
      keepUser(options && options.body);
    }
    return response;
  };

  // Gradio empties both fields after a refusal: typed again, the password alone was sent
  // with an empty user name. The user name comes back, the password field takes the focus.
  function keepUser(body) {
    const user = body instanceof FormData ? body.get("username") : null;
    if (typeof user !== "string" || !user) return;
    setTimeout(() => {
      const field = document.querySelector("gradio-app input[type=text]");
      if (field && !field.value) {
        field.value = user;
        field.dispatchEvent(new Event("input", { bubbles: true }));
      }
      const password = document.querySelector("gradio-app input[type=password]");
      if (password) password.focus();
    }, 0);
  }

  const style = document.createElement("style");
  style.textContent =
    "#pq-login-alert{color:var(--error-text-color,#b91c1c);font-weight:600;margin:0 0 .75rem}" +
    "#pq-login-alert.pq-sr{position:absolute;width:1px;height:1px;margin:0;overflow:hidden;" +
    "clip-path:inset(50%);white-space:nowrap}" +
    ".pq-login-refused gradio-app .creds{display:none}";
  document.head.append(style);
})();
