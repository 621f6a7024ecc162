// changecast portal behaviour: timezone cookie, customer grid, meeting toggle, form autosave.
// No inline handlers anywhere: everything is wired here from data-* attributes.
(function () {
  "use strict";

  var TZ_COOKIE = "changecast_tz";

  function browserTimezone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }

  function rememberTimezone() {
    var tz = browserTimezone();
    if (!tz) return;
    var current = document.cookie.split("; ").find(function (c) {
      return c.indexOf(TZ_COOKIE + "=") === 0;
    });
    if (current !== TZ_COOKIE + "=" + encodeURIComponent(tz)) {
      document.cookie = TZ_COOKIE + "=" + encodeURIComponent(tz) +
        "; path=/; max-age=31536000; SameSite=Lax";
    }
  }

  function defaultTimezoneSelect() {
    var select = document.querySelector("select[data-default-browser-tz]");
    var tz = browserTimezone();
    if (!select || !tz || document.body.dataset.tz !== "UTC") return;
    var match = Array.prototype.some.call(select.options, function (o) { return o.value === tz; });
    if (match) select.value = tz;
  }

  function customerGrid() {
    var grid = document.querySelector("[data-customer-grid]");
    if (!grid) return;
    var boxes = function () {
      return Array.prototype.slice.call(grid.querySelectorAll("input[type=checkbox]"));
    };
    var counter = document.querySelector("[data-selected-count]");
    var update = function () {
      if (counter) {
        var n = boxes().filter(function (b) { return b.checked; }).length;
        counter.textContent = n + " selected";
      }
    };
    var filter = document.querySelector("[data-customer-filter]");
    if (filter) {
      filter.addEventListener("input", function () {
        var needle = filter.value.trim().toLowerCase();
        grid.querySelectorAll("[data-filter-text]").forEach(function (card) {
          card.hidden = needle !== "" && card.dataset.filterText.indexOf(needle) === -1;
        });
      });
    }
    var setAll = function (checked) {
      boxes().forEach(function (box) {
        var card = box.closest("[data-filter-text]");
        if (!box.disabled && !(card && card.hidden)) box.checked = checked;
      });
      update();
      grid.dispatchEvent(new Event("change", { bubbles: true }));
    };
    var all = document.querySelector("[data-select-all]");
    var none = document.querySelector("[data-clear-all]");
    if (all) all.addEventListener("click", function () { setAll(true); });
    if (none) none.addEventListener("click", function () { setAll(false); });
    grid.addEventListener("change", update);
    update();
  }

  function meetingToggle() {
    var toggle = document.querySelector("[data-meeting-toggle]");
    var options = document.querySelector("[data-meeting-options]");
    if (!toggle || !options) return;
    var sync = function () { options.hidden = !toggle.checked; };
    toggle.addEventListener("change", sync);
    sync();
  }

  function serialize(form) {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "hidden" || el.type === "submit" || el.type === "button") return;
      if (el.type === "checkbox") {
        if (el.name === "customers") {
          data.customers = data.customers || [];
          if (el.checked) data.customers.push(el.value);
        } else {
          data[el.name] = el.checked;
        }
      } else {
        data[el.name] = el.value;
      }
    });
    return data;
  }

  function restore(form, data) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || !(el.name in data) || el.type === "hidden") return;
      if (el.type === "checkbox") {
        el.checked = el.name === "customers"
          ? data.customers.indexOf(el.value) !== -1
          : Boolean(data[el.name]);
      } else {
        el.value = data[el.name];
      }
      el.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  function autosave() {
    var form = document.querySelector("form[data-autosave]");
    if (!form || !window.localStorage) return;
    var key = form.dataset.autosave;
    var initial = JSON.stringify(serialize(form));
    var banner = document.querySelector("[data-restore-banner]");
    var saved = null;
    try {
      saved = JSON.parse(localStorage.getItem(key) || "null");
    } catch (e) {
      saved = null;
    }
    if (saved && saved.data && JSON.stringify(saved.data) !== initial && banner) {
      banner.hidden = false;
      banner.querySelector("[data-restore-time]").textContent =
        new Date(saved.at).toLocaleString();
      banner.querySelector("[data-restore]").addEventListener("click", function () {
        restore(form, saved.data);
        banner.hidden = true;
      });
      banner.querySelector("[data-discard]").addEventListener("click", function () {
        localStorage.removeItem(key);
        banner.hidden = true;
      });
    }
    var timer = null;
    var store = function () {
      var now = JSON.stringify(serialize(form));
      if (now === initial) return;
      localStorage.setItem(key, JSON.stringify({ at: Date.now(), data: JSON.parse(now) }));
    };
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(store, 400);
    });
    form.addEventListener("change", function () {
      clearTimeout(timer);
      timer = setTimeout(store, 400);
    });
    form.addEventListener("submit", function () {
      clearTimeout(timer);
      localStorage.removeItem(key);
    });
  }

  // An action's page (a POST answer, streamed) becomes its result page, a GET: reloading it
  // shows the outcome again instead of posting the form a second time.
  function settleResult() {
    var done = document.querySelector("[data-result-url]");
    if (done && window.history && window.history.replaceState) {
      window.history.replaceState(null, "", done.dataset.resultUrl);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    settleResult();
    rememberTimezone();
    defaultTimezoneSelect();
    customerGrid();
    meetingToggle();
    autosave();
  });
})();
