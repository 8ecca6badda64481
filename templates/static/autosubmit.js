// Submits the redirect page's form as soon as it is loaded; the visible
// button stays for browsers without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-autosubmit]") || document.forms[0];
  if (form) {
    form.submit();
  }
});
