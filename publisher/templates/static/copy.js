// Copy buttons on the subscribe pages. Without JavaScript the addresses stay visible to copy.
var buttons = document.querySelectorAll("button.copy");
buttons.forEach(function (button) {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = document.getElementById(button.dataset.copy).textContent;
    var status = document.querySelector(".status");
    status.textContent = "";  // so copying the same address again is announced again
    navigator.clipboard.writeText(text).then(
      function () {
        buttons.forEach(function (other) { other.textContent = "Copy"; });
        button.textContent = "Copied";
        status.textContent = "Copied: " + text;
      },
      function () { status.textContent = "Could not copy. Select the address and copy it."; }
    );
  });
});
