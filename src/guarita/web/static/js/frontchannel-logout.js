// Front-Channel Logout 1.0 §4: once every app's logout frame has loaded (or after 3 s, so a
// slow app cannot keep the person here), go on to the app that asked to sign out. Without
// JavaScript the "Continuar" link does the same.
(function () {
  "use strict";
  var next = document.querySelector("[data-continue]");
  if (!next) { return; }
  var frames = Array.prototype.slice.call(document.querySelectorAll("iframe.frontchannel-logout"));
  var waiting = frames.length;
  var gone = false;
  function go() {
    if (gone) { return; }
    gone = true;
    window.location.assign(next.getAttribute("href"));
  }
  frames.forEach(function (frame) {
    frame.addEventListener("load", function () { waiting -= 1; if (waiting <= 0) { go(); } });
  });
  if (waiting === 0) { go(); }
  window.setTimeout(go, 3000);
})();
