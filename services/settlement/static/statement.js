// The statement's Print button (no inline handler: the gateway's Content-Security-Policy forbids them).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print");
  if (!button) return;
  button.hidden = false;  // without JavaScript the button stays hidden; the browser's own Print still works
  button.addEventListener("click", function () { window.print(); });
});
