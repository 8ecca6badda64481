// Posts the otp-sidecar request form as soon as the page is shown. Served by Keycloak from the
// provider jar (script-src 'self' allows it where an inline script would be blocked); the form's
// button does the same for browsers without JavaScript.
(function () {
  "use strict";
  var form = document.getElementById("otp-sidecar-request");
  if (!form || form.getAttribute("data-submitted") === "true") {
    return;
  }
  // Coming back here with Back or Reload must not bounce the user forward again (a Back-button
  // trap) or start a new challenge on its own: then the Continue button is left to the user.
  var navigation = window.performance && performance.getEntriesByType
    ? performance.getEntriesByType("navigation")[0] : null;
  if (navigation && (navigation.type === "back_forward" || navigation.type === "reload")) {
    return;
  }
  form.setAttribute("data-submitted", "true");
  form.submit();
})();
