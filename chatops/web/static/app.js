// chatops dashboard: live regions. Each element with data-live="topic" is fetched again from its
// data-src (server-rendered HTML) when the server says that topic changed, and once more when
// the event stream reconnects (to catch up on what happened while it was away). A region with
// data-every="N" is also fetched every N seconds: what changes without an event (a disk
// filling, a quota's burn rate) stays current too.
"use strict";

(function () {
  const topics = (document.body.dataset.topics || "").split(" ").filter(Boolean);
  const inFlight = new Map();

  async function refresh(region) {
    if (inFlight.get(region)) {
      inFlight.set(region, "again");
      return;
    }
    inFlight.set(region, true);
    try {
      const response = await fetch(region.dataset.src, {
        credentials: "same-origin",
        headers: { "Accept": "text/html" },
      });
      if (response.ok) {
        region.innerHTML = await response.text();
      } else if (response.status === 401) {
        window.location.reload();
      }
    } catch (error) {
      // The next event or reconnect tries again.
    } finally {
      const again = inFlight.get(region) === "again";
      inFlight.delete(region);
      if (again) {
        refresh(region);
      }
    }
  }

  function refreshTopics(changed) {
    document.querySelectorAll("[data-live]").forEach(function (region) {
      if (changed.includes(region.dataset.live)) {
        refresh(region);
      }
    });
  }

  document.querySelectorAll("[data-every]").forEach(function (region) {
    const seconds = Number(region.dataset.every);
    if (seconds >= 1) {
      window.setInterval(function () {
        if (!document.hidden) {
          refresh(region);
        }
      }, seconds * 1000);
    }
  });

  if (topics.length === 0 || !window.EventSource) {
    return;
  }
  let opened = false;
  const stream = new EventSource("/events?topics=" + encodeURIComponent(topics.join(" ")));
  stream.onopen = function () {
    if (opened) {
      refreshTopics(topics); // a reconnect: catch up
    }
    opened = true;
    document.body.dataset.live = "on";
  };
  stream.onmessage = function (event) {
    refreshTopics(event.data.split(" "));
  };
  stream.onerror = function () {
    document.body.dataset.live = "off";
    // A stream refused or ended because the session is over: show the sign-in page rather
    // than a page that says "reconnecting" forever.
    fetch(window.location.href, { credentials: "same-origin", method: "HEAD" })
      .then(function (response) {
        if (response.status === 401) {
          window.location.reload();
        }
      })
      .catch(function () {});
  };
})();
