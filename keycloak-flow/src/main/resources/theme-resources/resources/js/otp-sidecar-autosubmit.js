// Posts the otp-sidecar request form as soon as the page is shown. Served by Keycloak from the
// provider jar (script-src 'self' allows it where an inline script would be blocked); the form's
// button does the same for browsers without JavaScript.
(function () {
  "use strict";
  var form = document.getElementById("otp-sidecar-request");
  if (!form || form.getAttribute("data-submitted") === "true") {
    return;
  }
  form.setAttribute("data-submitted", "true");
  form.submit();
})();
