// Progressive enhancement only: every page works without this file.
// Served from 'self' (the pages' CSP forbids inline script).
(function () {
  "use strict";

  // Redirect page: submit the form at once (its button stays for no-script).
  var auto = document.querySelector("form[data-auto-submit]");
  if (auto) {
    window.setTimeout(function () { auto.submit(); }, 0);
  }

  // Code field: accept a pasted or autofilled code with spaces or dashes.
  var input = document.getElementById("code");
  if (input) {
    var length = parseInt(input.getAttribute("data-code-length") || "0", 10);
    var clean = function (value) {
      var digits = value.replace(/[^0-9]/g, "");
      return length > 0 ? digits.slice(0, length) : digits;
    };
    input.addEventListener("paste", function (event) {
      var data = event.clipboardData && event.clipboardData.getData("text");
      if (!data) { return; }
      event.preventDefault();
      input.value = clean(data);
      if (length > 0 && input.value.length === length && input.form) {
        input.form.requestSubmit ? input.form.requestSubmit() : input.form.submit();
      }
    });
    input.addEventListener("input", function () {
      var cleaned = clean(input.value);
      if (cleaned !== input.value) { input.value = cleaned; }
    });
  }

  // Code mail still being sent: ask the server until it is sent or failed,
  // then show the page again (a GET of the code page never sends mail).
  var delivery = document.querySelector("[data-delivery='sending'][data-status-url]");
  if (delivery) {
    var statusUrl = delivery.getAttribute("data-status-url");
    var polls = 0;
    var poll = function () {
      polls += 1;
      if (polls > 300) { return; }
      fetch(statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (s && s.delivery && s.delivery !== "sending") {
            window.location.reload();
          } else {
            window.setTimeout(poll, 1000);
          }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    };
    window.setTimeout(poll, 500);
  }

  // Resend button: wait out the cooldown with a visible countdown.
  var resend = document.querySelector("button[data-resend-at]");
  if (resend) {
    var at = parseInt(resend.getAttribute("data-resend-at") || "0", 10);
    var serverNow = parseInt(resend.getAttribute("data-now") || "0", 10);
    // Trust the server's clock, not the device's.
    var readyAt = Date.now() + Math.max(0, at - serverNow) * 1000;
    var label = resend.querySelector(".countdown");
    // The button counts down; the sentence for browsers without script would
    // only fall behind it.
    var wait = document.querySelector("[data-resend-wait]");
    if (wait) { wait.hidden = true; }
    var tick = function () {
      var left = Math.ceil((readyAt - Date.now()) / 1000);
      if (left > 0) {
        resend.disabled = true;
        if (label) {
          label.textContent = "(" + Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0") + ")";
        }
        window.setTimeout(tick, 1000 - ((readyAt - Date.now()) % 1000 || 0));
      } else {
        resend.disabled = false;
        if (label) { label.textContent = ""; }
      }
    };
    tick();
  }

  // "The code expires in 4 minutes": kept true as time passes, with the
  // page's own sentences (one <template> per minute count, 0 = under a
  // minute). When the code lapses the page is asked for again: the server
  // then shows the expired state and offers a new code.
  var expiry = document.querySelector("[data-expires-in]");
  if (expiry) {
    var endsAt = Date.now() + parseInt(expiry.getAttribute("data-expires-in") || "0", 10) * 1000;
    var update = function () {
      var left = Math.ceil((endsAt - Date.now()) / 1000);
      if (left < 0) {
        window.location.reload();
        return;
      }
      var minutes = left < 60 ? 0 : Math.ceil(left / 60);
      var text = document.querySelector("template[data-expiry-minutes='" + minutes + "']");
      if (text && expiry.textContent !== text.content.textContent) {
        expiry.textContent = text.content.textContent;
      }
      window.setTimeout(update, 1000 - ((endsAt - Date.now()) % 1000 || 0));
    };
    update();
  }
})();
