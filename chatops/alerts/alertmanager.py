"""The Alertmanager sink: the open incidents, posted to every Alertmanager as Prometheus posts
its firing alerts.

Why a publisher that keeps a state in step, and not one outbox row per alert: Alertmanager
wants the *current set* of firing alerts, sent again and again; an alert it is not told about
again by its ``endsAt`` it resolves by itself. So each instance gets, in one POST of a JSON list
to ``/api/v2/alerts``:

* every open incident the router does not hold back (:meth:`AlertRouter.held`: a silence, a
  pause), firing, with ``startsAt`` its opening and ``endsAt`` :data:`ENDS_AHEAD` resends ahead;
* every incident resolved since that instance last accepted a post, with ``endsAt`` its
  resolution. A changed label (a quota's severity going from warning to critical) makes another
  alert, so the old labels are sent resolved beside the new ones, firing.

``ENDS_AHEAD`` is 4, as Prometheus has it: three resends in a row may be lost (an instance
restarting, a network blip) before Alertmanager resolves an alert that is still open, and a
controller that is gone for good has its alerts resolved a few minutes later, not never.

Labels: ``alertname`` (the incident kind: ``down``, ``quota``…), ``subject``, ``severity``,
``host`` (the host a bot the fleet knows runs on, else this machine's) and, only when
``alerts.alertmanager_controller_label`` is set, ``controller``. Nothing that differs between two
controllers watching the same bots is a label, so they post the same alert and Alertmanager
notifies once. ``startsAt`` is whole seconds, as the store keeps an incident's opening: the post
after a restart carries the very value the one before it did. Annotations: ``summary`` (the
title a human reads in the channel) and ``description`` (the detail).

When: as soon as a change to the set is committed (the router tells
:meth:`AlertmanagerPublisher.changed`; the store has it first, so a crash never leaves an
instance told of something the restarted controller would contradict), then every
``alerts.alertmanager_resend`` seconds, an empty list included: an instance that stopped
answering shows in the diagnostics before an incident needs it. Every instance has its own timer
on the shared :class:`~chatops.runtime.timers.Timers` (the injected clock) and its own backoff
after a failure (the outbox's :func:`~chatops.alerts.delivery.retry_delay`): one that is down
never holds another back, and a change while it backs off goes with its retry.

After a restart the router has the open incidents back from the store; they are posted with the
same labels and ``startsAt``, so Alertmanager recognises its alerts and notifies nothing new. The
incidents resolved within the last ``ENDS_AHEAD`` resends are posted resolved once more (the
crash may have come before an instance took the resolution; an older one has expired there by
its own ``endsAt`` already).
"""

from __future__ import annotations

import logging
import math
import socket
from collections.abc import Callable
from dataclasses import replace

import aiohttp

from chatops.alerts.alertmanager_instance import AlertmanagerInstance, PostedAlert
from chatops.alerts.delivery import retry_delay
from chatops.alerts.router import AlertRouter
from chatops.config import AlertsConfig
from chatops.presentation.formatting import plural
from chatops.records.alerts import Incident
from chatops.runtime.timers import Timers
from chatops.services.recovery.probes import Check
from chatops.store import Store
from chatops.timeutil import Clock, wall_clock

log = logging.getLogger(__name__)

ENDS_AHEAD = 4
"""A firing alert's ``endsAt`` is this many resend intervals after its post."""

HostOf = Callable[[str], str | None]
"""The host a subject runs on, when it is a bot the fleet knows with one; else None."""


def ended(alert: PostedAlert, incident: Incident) -> PostedAlert:
    """``alert`` as it is posted once ``incident`` is resolved: ``endsAt`` its resolution."""
    return replace(alert, ends_at=incident.resolved_at or alert.starts_at)


class AlertmanagerPublisher:
    """Keeps every configured Alertmanager told of the open incidents (see the module)."""

    def __init__(
        self,
        config: AlertsConfig,
        router: AlertRouter,
        store: Store,
        *,
        session: Callable[[], aiohttp.ClientSession],
        timers: Timers,
        clock: Clock = wall_clock,
        hostname: str | None = None,
    ) -> None:
        self._config = config
        self._router = router
        self._tables = store.alerts
        self._db = store.db
        self._session = session
        self._timers = timers
        self._clock = clock
        self._hostname = hostname or socket.gethostname()
        self._host_of: HostOf = lambda subject: None
        self.instances = [
            AlertmanagerInstance(url.get_secret_value()) for url in config.alertmanager_urls
        ]
        self._firing: dict[tuple[str, str], PostedAlert] = {}
        """What the latest look at the router found open and not held, by incident key."""
        self._early: list[Incident] = []
        """Incidents resolved before :meth:`start` (the labels need the fleet)."""
        self._started = False
        self._closed = False
        router.on_change(self.changed)

    @property
    def resend(self) -> float:
        return self._config.alertmanager_resend

    async def start(self, *, host_of: HostOf | None = None) -> None:
        """Post to every instance now: the open incidents the router restored, and those
        resolved lately (see the module). ``host_of``: the fleet's bots' hosts."""
        if host_of is not None:
            self._host_of = host_of
        since = self._clock() - ENDS_AHEAD * self.resend
        early = [incident for incident in self._early if incident.last_notified_at is not None]
        known = {incident.id for incident in early}
        lately = [i for i in await self._tables.announced_since(since) if i.id not in known]
        for incident in [*lately, *early]:
            self._owe(ended(self._alert(incident), incident))
        self._early.clear()
        self._started = True
        self._sync()
        for instance in self.instances:
            self._schedule(instance, self._clock())

    async def close(self) -> None:
        """No more posts (an alert still open expires at its ``endsAt`` unless a controller
        posts it again by then)."""
        self._closed = True
        for instance in self.instances:
            self._timers.cancel(("alertmanager", instance.name))

    # -- told by the router ----------------------------------------------------------------------

    def changed(self, incident: Incident) -> None:
        """The router's listener: an incident opened, changed, resolved or was held or let go.
        What the set now holds is posted at once if it differs from what was posted."""
        if incident.resolved_at is not None:
            if not self._started:
                self._early.append(incident)
                return
            posted = self._firing.pop(incident.key, None)
            if posted is not None or incident.last_notified_at is not None:
                # Announced (and so maybe posted, before a silence or a restart): take it back.
                self._owe(ended(posted or self._alert(incident), incident))
                self._sync()
                self._push_all()
                return
        if self._started and self._sync():
            self._push_all()

    # -- what is posted --------------------------------------------------------------------------

    def _alert(self, incident: Incident) -> PostedAlert:
        labels = {
            "alertname": incident.kind,
            "subject": incident.subject,
            "severity": str(incident.severity),
            "host": self._host_of(incident.subject) or self._hostname,
        }
        if self._config.alertmanager_controller_label is not None:
            labels["controller"] = self._config.alertmanager_controller_label
        told = self._router.style(incident.kind).opened(incident, incident.opened_at)
        return PostedAlert(
            labels=tuple(sorted(labels.items())),
            summary=told.title,
            description=incident.detail,
            starts_at=math.floor(incident.opened_at),
        )

    def _sync(self) -> bool:
        """Look at the router's open incidents again; True when one is new or changed (an
        incident now held is dropped: it expires at the ``endsAt`` it was posted with)."""
        now = self._clock()
        wanted = {
            key: self._alert(incident)
            for key, incident in self._router.incidents.items()
            if not self._router.held(incident)
        }
        news = False
        for key, alert in wanted.items():
            before = self._firing.get(key)
            if before == alert:
                continue
            news = True
            if before is not None and before.labels != alert.labels:
                self._owe(replace(before, ends_at=now))  # another alert now: end the old one
        self._firing = wanted
        return news

    def _owe(self, alert: PostedAlert) -> None:
        for instance in self.instances:
            instance.owed[alert.labels] = alert

    # -- posting ---------------------------------------------------------------------------------

    def _push_all(self) -> None:
        """Post to every instance once what changed is committed: a crash never leaves an
        instance told of an opening or an end the store forgot (after the restart it would be
        told the contrary, and notify again). A commit that fails posts all the same:
        Alertmanager is how someone hears that something is wrong."""
        self._db.after_commit(lambda error: self._push_now())

    def _push_now(self) -> None:
        for instance in self.instances:
            if instance.in_flight:
                instance.again = True
            elif not instance.failing:  # else its retry, already set, carries the change
                self._schedule(instance, self._clock())

    def _schedule(self, instance: AlertmanagerInstance, when: float) -> None:
        if self._closed:
            return
        instance.next_post_at = when
        self._timers.schedule(("alertmanager", instance.name), when, lambda: self._post(instance))

    async def _post(self, instance: AlertmanagerInstance) -> None:
        """One post to ``instance``, then its next: the resend, at once if something changed
        meanwhile, or a retry with the backoff."""
        if instance.in_flight:
            instance.again = True
            return
        instance.in_flight, instance.again = True, False
        try:
            error = await self._send(instance)
        finally:
            instance.in_flight = False
        now = self._clock()
        if error is None:
            self._schedule(instance, now if instance.again else now + self.resend)
            return
        delay = retry_delay(self._config, instance.failures)
        log.warning(
            "%s: post failed (%s in a row, retry in %.1fs): %s",
            instance.name,
            plural(instance.failures, "failure"),
            delay,
            error,
        )
        self._schedule(instance, now + delay)

    async def _send(self, instance: AlertmanagerInstance) -> str | None:
        now = self._clock()
        self._sync()  # a silence may have begun since the last look
        stale = now - ENDS_AHEAD * self.resend  # expired there already, by its own endsAt
        for labels, owed in list(instance.owed.items()):
            if owed.ends_at is not None and owed.ends_at < stale:
                del instance.owed[labels]
        resolved = list(instance.owed.values())
        firing = list(self._firing.values())
        ends_at = now + ENDS_AHEAD * self.resend
        body = [alert.body(ends_at) for alert in [*resolved, *firing]]
        try:
            error = await instance.post(self._session(), body, self._config.http_timeout)
        except Exception as exc:  # a bug must not end the resends: counted as a failure
            log.exception("%s: post crashed", instance.name)
            error = instance.clean(f"{type(exc).__name__}: {exc}")
        done = self._clock()
        if error is not None:
            instance.refused(done, error)
            return error
        if instance.failures:
            log.info("%s accepts posts again", instance.name)
        instance.accepted(done, resolved, len(firing))
        return None

    # -- diagnostics -----------------------------------------------------------------------------

    async def probe(self) -> Check:
        """``ok`` when every instance accepted the latest post, ``warning`` (the controller's
        health: degraded) naming each that fails and why."""
        failing = [i for i in self.instances if i.failing]
        if failing:
            detail = "; ".join(
                f"{i.name}: {plural(i.failures, 'failed post')} in a row, last: {i.last_error}"
                for i in failing
            )
            return Check("alertmanager", "warning", None, detail[:900])
        parts = [
            f"{i.name}: accepted {plural(i.last_firing, 'firing alert')}"
            if i.last_success_at is not None
            else f"{i.name}: first post pending"
            for i in self.instances
        ]
        return Check("alertmanager", "ok", None, "; ".join(parts)[:900])
