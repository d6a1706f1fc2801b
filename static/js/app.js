// Keyward: progressive enhancement for the dashboard.
//
// Every page works without this file. It is loaded with <script src defer>
// because the Content-Security-Policy forbids inline script.
(function () {
  "use strict";

  // Lets the stylesheet show controls that need script, such as Copy.
  document.documentElement.classList.add("js");

  // Copy buttons: <button type="button" data-copy-target="#token-value">Copy</button>
  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  function flashLabel(button, text) {
    if (!button.dataset.label) {
      button.dataset.label = button.textContent;
    }
    button.textContent = text;
    clearTimeout(button._kwTimer);
    button._kwTimer = setTimeout(function () {
      button.textContent = button.dataset.label;
    }, 2000);
  }

  function copyFrom(button) {
    var target = document.querySelector(button.getAttribute("data-copy-target"));
    if (!target) {
      return;
    }
    var text = ("value" in target ? target.value : target.textContent).trim();
    if (!text) {
      return;
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () {
          flashLabel(button, "Copied");
        },
        function () {
          selectText(target);
          flashLabel(button, "Press Ctrl+C");
        }
      );
    } else {
      selectText(target);
      flashLabel(button, "Press Ctrl+C");
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element && event.target.closest("[data-copy-target]");
    if (button) {
      event.preventDefault();
      copyFrom(button);
    }
  });

  // Show-once dialogs: <dialog open class="token-reveal">. The server renders
  // them open, so they show without script. With script the dialog becomes
  // modal (focus stays inside, Escape closes it), and once it is closed the
  // secret is removed from the page so it cannot be read back from the DOM.
  function forgetToken(dialog) {
    dialog.querySelectorAll(".token-value").forEach(function (el) {
      if (el.tagName === "INPUT" || el.tagName === "TEXTAREA") {
        el.value = "";
        el.removeAttribute("value");
      }
      el.textContent = "";
    });
    dialog.querySelectorAll("[data-copy-target]").forEach(function (el) {
      el.disabled = true;
    });
  }

  function closeDialog(dialog) {
    if (typeof dialog.close === "function") {
      dialog.close();
    } else {
      dialog.removeAttribute("open");
    }
    // The close event comes a task later; forget the token now.
    forgetToken(dialog);
  }

  function setUpReveal(dialog) {
    // The page holding the secret answers a POST. Point this history entry at
    // the close link's page (a GET), so reloading or coming back shows that
    // page instead of posting the form again, which would make a new secret.
    var done = dialog.querySelector("a[data-close-dialog][href]");
    if (done && window.history && typeof window.history.replaceState === "function") {
      window.history.replaceState(null, "", done.href);
    }
    if (dialog.open && typeof dialog.showModal === "function") {
      dialog.removeAttribute("open");
      try {
        dialog.showModal();
      } catch (e) {
        dialog.setAttribute("open", "");
      }
    }
    dialog.addEventListener("close", function () {
      // A close event queued while the dialog was switched to modal finds it open.
      if (!dialog.open) {
        forgetToken(dialog);
      }
    });
    dialog.addEventListener("click", function (event) {
      if (event.target instanceof Element && event.target.closest("[data-close-dialog]")) {
        event.preventDefault();
        closeDialog(dialog);
      }
    });
    // A dialog that could not become modal does not close on Escape by itself.
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && dialog.open) {
        closeDialog(dialog);
      }
    });
    var copy = dialog.querySelector("[data-copy-target]");
    if (copy) {
      copy.focus();
    }
  }

  // Forms that need a second thought: <form data-confirm="Revoke this token?">
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // Usage bars: the stylesheet maps every whole data-h (0–100) to a height;
  // this covers any other value.
  function sizeBars(root) {
    root.querySelectorAll("figure.bars [data-h]").forEach(function (bar) {
      var h = parseFloat(bar.getAttribute("data-h"));
      if (!isNaN(h)) {
        bar.style.setProperty("--h", Math.max(0, Math.min(100, h)) + "%");
      }
    });
  }

  // The token type picker submits as soon as a type is picked with the
  // mouse; its button stays for those without script. A keyboard user moving
  // through the options with the arrow keys changes the value at each press,
  // so then the page waits for the button (or Enter) instead of leaving.
  function setUpAutoSubmit(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      var byKeyboard = false;
      select.addEventListener("keydown", function () {
        byKeyboard = true;
      });
      select.addEventListener("pointerdown", function () {
        byKeyboard = false;
      });
      select.addEventListener("change", function () {
        if (select.form && !byKeyboard) {
          if (typeof select.form.requestSubmit === "function") {
            select.form.requestSubmit();
          } else {
            select.form.submit();
          }
        }
      });
    });
  }

  // Typing in the Custom linking-attribute search picks the "Custom" choice,
  // so the typed value is the one that counts.
  function setUpCustomLinking(root) {
    root.querySelectorAll("input[name=linking_custom]").forEach(function (input) {
      input.addEventListener("input", function () {
        var custom = input.form && input.form.querySelector("input[name=linking_choice][value=custom]");
        if (custom && input.value.trim() !== "") {
          custom.checked = true;
        }
      });
    });
  }

  function init() {
    document.querySelectorAll("dialog.token-reveal").forEach(setUpReveal);
    sizeBars(document);
    setUpAutoSubmit(document);
    setUpCustomLinking(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
