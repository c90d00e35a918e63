// The desk's reference photo (console/pessoa.html, docs/face.md › Reference photos): the
// supervisor opens the agency's camera, takes one photo of the person, and the photo goes into
// the form's file field, so the form posts the same multipart body as the upload fallback
// (a chosen file). Without JavaScript, or without a camera, the file field alone works.
// Plain ES5 with promises; no inline script (CSP). Texts come from data-* attributes (already
// in the page's language).
(function () {
  "use strict";
  var root = document.querySelector("[data-desk-face]");
  if (!root || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia ||
      typeof DataTransfer === "undefined") {
    return;
  }
  var open = root.querySelector("[data-desk-face-open]");
  var take = root.querySelector("[data-desk-face-take]");
  var stage = root.querySelector("[data-desk-face-stage]");
  var video = root.querySelector("[data-desk-face-video]");
  var preview = root.querySelector("[data-desk-face-preview]");
  var status = root.querySelector("[data-desk-face-status]");
  var file = root.querySelector("input[type=file][name=photo]");
  var stream = null;

  function say(text) { status.textContent = text; }
  function stop() {
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
    }
  }

  open.hidden = false;
  open.addEventListener("click", function () {
    open.disabled = true;
    say(root.getAttribute("data-text-opening"));
    navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 960 } },
                                          audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        stage.hidden = false;
        take.hidden = false;
        take.disabled = false;
        return video.play();
      })
      .then(function () {
        say(root.getAttribute("data-text-ready"));
        take.focus();
      })
      .catch(function () {
        stop();
        open.disabled = false;
        say(root.getAttribute("data-text-no-camera"));
      });
  });

  take.addEventListener("click", function () {
    var width = video.videoWidth;
    var height = video.videoHeight;
    if (!width || !height) {
      say(root.getAttribute("data-text-no-camera"));
      return;
    }
    preview.width = width;
    preview.height = height;
    preview.getContext("2d").drawImage(video, 0, 0, width, height);
    take.disabled = true;
    preview.toBlob(function (blob) {
      var picked = new DataTransfer();
      picked.items.add(new File([blob], "foto-referencia.jpg", { type: "image/jpeg" }));
      file.files = picked.files;
      stop();
      stage.hidden = true;
      preview.hidden = false;
      take.hidden = true;
      open.disabled = false;
      open.textContent = root.getAttribute("data-text-again");
      say(root.getAttribute("data-text-taken"));
    }, "image/jpeg", 0.92);
  });

  window.addEventListener("pagehide", stop);
}());
