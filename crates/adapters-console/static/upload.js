// Upload progress, a progressive enhancement of the files screen's plain multipart form:
// with this script the form is sent by XMLHttpRequest and a <progress> bar shows the bytes
// sent; the answer (the list with its message, or an error page) then replaces the page.
// Without it (or without XMLHttpRequest/FormData) the form posts as any form does.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  var bar = document.getElementById("upload-progress");
  if (!form || !bar || !window.XMLHttpRequest || !window.FormData) {
    return;
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    bar.hidden = false;
    bar.value = 0;
    if (button) {
      button.disabled = true;
    }
    request.upload.addEventListener("progress", function (progress) {
      if (progress.lengthComputable) {
        bar.value = Math.round((progress.loaded / progress.total) * 100);
        bar.textContent = bar.value + "%";
      }
    });
    request.addEventListener("load", function () {
      // The redirect after a stored upload was followed: this is the list with its message.
      document.open();
      document.write(request.responseText);
      document.close();
    });
    request.addEventListener("error", function () {
      bar.hidden = true;
      if (button) {
        button.disabled = false;
      }
      window.alert("The upload failed: the connection was lost. Try again.");
    });
    request.send(new FormData(form));
  });
})();
