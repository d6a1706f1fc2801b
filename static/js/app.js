// Keyward: progressive enhancement for the dashboard.
//
// Every page works without this file. It is loaded with <script src defer>
// because the Content-Security-Policy forbids inline script.
(function () {
  "use strict";

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

  // Show-once token dialog: <dialog open class="token-reveal">. Once it is
  // closed the token text is removed from the page, so it cannot be read
  // back from the DOM or an open inspector.
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
    dialog.addEventListener("close", function () {
      forgetToken(dialog);
    });
    dialog.addEventListener("click", function (event) {
      if (event.target instanceof Element && event.target.closest("[data-close-dialog]")) {
        event.preventDefault();
        closeDialog(dialog);
      }
    });
    // A dialog opened with the open attribute is not modal, so the browser
    // does not close it on Escape by itself.
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

  // Usage bars: exact height from data-h; the stylesheet covers multiples of 5.
  function sizeBars(root) {
    root.querySelectorAll(".bars .bar[data-h]").forEach(function (bar) {
      var h = parseFloat(bar.getAttribute("data-h"));
      if (!isNaN(h)) {
        bar.style.setProperty("--h", Math.max(0, Math.min(100, h)) + "%");
      }
    });
  }

  // A workspace switcher submits as soon as a workspace is picked; its
  // button stays for those without script.
  function setUpAutoSubmit(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) {
          if (typeof select.form.requestSubmit === "function") {
            select.form.requestSubmit();
          } else {
            select.form.submit();
          }
        }
      });
    });
  }

  function init() {
    document.querySelectorAll("dialog.token-reveal").forEach(setUpReveal);
    sizeBars(document);
    setUpAutoSubmit(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
