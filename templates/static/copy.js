// Copy buttons on the subscribe pages. Without JavaScript the addresses stay visible to copy.
document.querySelectorAll("button.copy").forEach(function (button) {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = document.getElementById(button.dataset.copy).textContent;
    var status = document.querySelector(".status");
    navigator.clipboard.writeText(text).then(
      function () { status.textContent = "Copied: " + text; },
      function () { status.textContent = "Could not copy. Select the address and copy it."; }
    );
  });
});
