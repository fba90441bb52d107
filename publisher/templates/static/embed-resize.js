// Tells the page that frames this embed how tall it is, so a host script may resize the
// frame (see the README). Without it, or without JavaScript, the frame scrolls inside.
(function () {
  if (window.parent === window) return;
  function tell() {
    window.parent.postMessage(
      { type: "publisher:height", height: document.documentElement.scrollHeight },
      "*"
    );
  }
  window.addEventListener("load", tell);
  window.addEventListener("resize", tell);
})();
