"""The request messages of the features built on the core protocol (register, heartbeat,
usage, status): quotas, approvals, the task cache, recovery and diagnostics, silences, and the
web dashboard's sign-in. Part of the wire format defined in :mod:`chatops.wire.protocol`, which
gathers every request into one union.

"Feature" here means one of these controller features, not a bot's ``features`` (the free-form
map a bot sends with ``register``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from chatops.wire.fields import (
    PRINTABLE_PATTERN,
    EpochSeconds,
    IdemKey,
    Name,
    RequestBase,
    Text,
    cap_encoded,
)

Credits = Annotated[float, msgspec.Meta(ge=0, le=1e15)]
WindowLabel = Annotated[str, msgspec.Meta(min_length=1, max_length=16, pattern=PRINTABLE_PATTERN)]


class PoolReport(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """One credit pool as the provider reports it: absolute values, so a repeat changes
    nothing."""

    name: Name
    used: Credits
    limit: Annotated[float, msgspec.Meta(gt=0, le=1e15)]
    resets_at: EpochSeconds | None = None
    window: WindowLabel | None = None


class ModelUsage(RequestBase, tag="model_usage"):
    """What the provider says is left for one model (``MonitoringDashboard.update_model_usage``).
    ``thinking_credits`` and ``flow_credits`` (used, out of ``thinking_limit`` and ``flow_limit``)
    become the pools ``<model> thinking`` and ``<model> flow``; any other pool (a 5-hour window,
    a weekly one) is named in ``pools``."""

    model_name: Name
    family: Literal["gemini", "claude", "openai", "other"] = "other"
    thinking_credits: Credits | None = None
    flow_credits: Credits | None = None
    thinking_limit: Credits | None = None
    flow_limit: Credits | None = None
    pools: list[PoolReport] = msgspec.field(default_factory=list)
    channel: Name | None = None
    """The registered bot that reports; may be left out by a connection that registered one."""

    def __post_init__(self) -> None:
        if len(self.pools) > 16:
            raise ValueError("at most 16 pools per report - at `$.pools`")


class GetQuotaSummary(RequestBase, tag="get_quota_summary"):
    pass


class GetUsageTrends(RequestBase, tag="get_usage_trends"):
    minutes: Annotated[int, msgspec.Meta(ge=1, le=7 * 24 * 60)] = 90


MAX_ACTION_DATA_BYTES = 48 * 1024
"""An approval's ``data`` (a command, a path, the start of a file's content) is capped; a large
file is described by ``file_size`` with only its start in ``content``."""
ApprovalTimeout = Annotated[float, msgspec.Meta(gt=0, le=86400)]


class ApprovalRequest(RequestBase, tag="approval_request"):
    """An agent asks before it acts. Answered at once when the policy decides, else when a
    human does (or the request times out). ``key`` is the agent's own id for the request: asked
    again with the same key (after a reconnect or a controller restart), it re-attaches to the
    pending request instead of opening another. ``wait: false`` asks the policy only (what
    ``should_accept_action`` sends)."""

    agent: Name
    action_type: Name
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    timeout: ApprovalTimeout | None = None
    key: IdemKey | None = None
    wait: bool = True

    def __post_init__(self) -> None:
        hint = "; send file_size and the start of the content"
        cap_encoded("data", self.data, MAX_ACTION_DATA_BYTES, hint)


class ListApprovals(RequestBase, tag="list_approvals"):
    pending_only: bool = True
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50


class DecideApproval(RequestBase, tag="decide_approval"):
    """An operator's decision from a shell (``chatops approvals approve|deny``); ``grant``
    (with ``approve`` only) also lets the agent's requests of that type through, as the
    prompt's grant buttons do (``chatops approvals grant``). ``edit`` (with ``approve`` only,
    no grant) approves the action with these fields of its data changed, once the policy has
    judged the result (``chatops approvals approve ID --edit JSON``); ``comment`` goes back to
    the agent with it."""

    request: Annotated[int, msgspec.Meta(ge=1)]
    decision: Literal["approve", "deny"]
    reason: Text | None = None
    grant: Literal["session", "always"] | None = None
    edit: dict[str, Any] | None = None
    comment: Text | None = None

    def __post_init__(self) -> None:
        if self.grant is not None and self.decision != "approve":
            raise ValueError("a grant goes with an approval - at `$.grant`")
        if self.edit is not None:
            if self.decision != "approve" or self.grant is not None:
                raise ValueError("an edit goes with a plain approval - at `$.edit`")
            cap_encoded("edit", self.edit, MAX_ACTION_DATA_BYTES, "")


class RevokeGrant(RequestBase, tag="revoke_grant"):
    """An operator ends a grant from a shell (``chatops approvals revoke``)."""

    grant: Annotated[int, msgspec.Meta(ge=1)]


class ApprovalStatsRequest(RequestBase, tag="approval_stats"):
    """Counts by outcome and type and the median time to decide (``chatops approvals stats``,
    as ``/autoaccept stats``), over the last ``days`` or all."""

    days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None


class PolicyToggle(RequestBase, tag="policy_toggle"):
    """An operator turns auto-accept on or off (flips it when ``enabled`` is left out) from a
    shell (``chatops policy toggle``), as ``/autoaccept toggle``."""

    enabled: bool | None = None


class PolicyRule(RequestBase, tag="policy_rule"):
    """An operator changes one action type's rule (``chatops policy rule``), as ``/autoaccept
    rule``: ``changes`` (a rule's fields) are merged over the current rule and validated by the
    service, which answers ``invalid_message`` and changes nothing when they do not hold."""

    action_type: Name
    changes: dict[str, Any]


class SilenceBot(RequestBase, tag="silence"):
    """An operator holds one bot's alerts from a shell (``chatops silence``), as ``/silence``
    does: the bot must be one the fleet knows, and ``seconds`` within the silences' cap (the
    service's rules, answered ``not_found`` and ``invalid_message``)."""

    channel: Name
    seconds: float
    kind: Name | None = None
    """Only this incident kind of its alerts (``down``, ``quota``, …); every kind when left out."""
    reason: Text | None = None


class Maintenance(RequestBase, tag="maintenance"):
    """An operator holds every alert from a shell (``chatops maintenance``), as
    ``/maintenance`` does."""

    seconds: float
    reason: Text | None = None


class Unsilence(RequestBase, tag="unsilence"):
    """An operator ends a silence early (``chatops unsilence``)."""

    silence: Annotated[int, msgspec.Meta(ge=1)]


class ListSilences(RequestBase, tag="list_silences"):
    """The active silences (``chatops silences``), soonest to end first."""


WebRole = Literal["viewer", "approver", "admin"]


class WebLogin(RequestBase, tag="web_login"):
    """A one-time link to the web dashboard for the operator at the shell (``chatops web
    login``), answered with its URL. ``admin`` unless asked otherwise: the shell's operator is
    the controller's owner, who may change anything there already."""

    role: WebRole = "admin"


class ListWebSessions(RequestBase, tag="web_sessions"):
    """The live web sessions (``chatops web sessions``), oldest first."""


class RevokeWebSession(RequestBase, tag="web_revoke"):
    """End a web session now (``chatops web sessions revoke ID``)."""

    session: Annotated[int, msgspec.Meta(ge=1)]


TaskId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")
]
CleanKind = Literal[
    "clean", "auto_clean", "cleanup_old_entries", "clear_all_cache", "delete_cache_entry"
]


class CacheCreate(RequestBase, tag="cache_create"):
    """A cache entry's files sent over the socket (``create_cache_entry``): text in ``files``,
    bytes base64-encoded in ``files_b64``, under the upload cap."""

    task_id: TaskId
    agent_type: Name
    agent: Name | None = None
    files: dict[str, str] = msgspec.field(default_factory=dict)
    files_b64: dict[str, str] = msgspec.field(default_factory=dict)
    preview: Text | None = None

    def __post_init__(self) -> None:
        cap_encoded("files", [self.files, self.files_b64], MAX_ACTION_DATA_BYTES)


class CacheRegister(RequestBase, tag="cache_register"):
    """An entry the agent wrote in place, at ``<cache root>/<task_id>`` (same host)."""

    task_id: TaskId
    agent_type: Name
    agent: Name | None = None
    path: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    """Where the agent wrote it; must be the cache root's ``<task_id>`` folder."""
    preview: Text | None = None


class CacheFinish(RequestBase, tag="cache_finish"):
    task_id: TaskId
    agent: Name | None = None


class GetCacheSummary(RequestBase, tag="get_cache_summary"):
    pass


class CacheList(RequestBase, tag="cache_list"):
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100


class CachePreview(RequestBase, tag="cache_preview"):
    task_id: TaskId
    lines: Annotated[int, msgspec.Meta(ge=1, le=50)] = 5


class PlannedEntry(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    task_id: TaskId
    inode: int


class CachePlan(RequestBase, tag="cache_plan"):
    """What a clean would remove, without removing anything."""

    kind: CleanKind
    task_id: TaskId | None = None
    max_age_days: Annotated[float, msgspec.Meta(gt=0, le=36500)] | None = None
    force: bool = False
    host: Name | None = None
    """On a hub: the plan of that edge's cache (its folders are there)."""


class CacheExecute(RequestBase, tag="cache_execute"):
    """Remove exactly the entries of a plan shown before (each checked again)."""

    kind: CleanKind
    items: list[PlannedEntry]
    force: bool = False
    host: Name | None = None
    """On a hub: that edge removes them."""

    def __post_init__(self) -> None:
        if len(self.items) > 2000:
            raise ValueError("at most 2000 items per request; send a long plan in parts")


class RunDiagnostics(RequestBase, tag="run_diagnostics"):
    pass


class HealthCheck(RequestBase, tag="health_check"):
    pass


class GetSystemMetrics(RequestBase, tag="get_system_metrics"):
    pass


class RestartBot(RequestBase, tag="restart_bot"):
    """``chatops restart BOT``, through the operator's narrow door."""

    channel: Name


class HostRevoked(RequestBase, tag="host_revoked"):
    """``chatops edge credentials revoke HOST`` tells the running hub: that host is down now,
    not after its silence (the operator's narrow door)."""

    host: Name


class ResetStatusCache(RequestBase, tag="reset_status_cache"):
    pass


class CleanupStale(RequestBase, tag="cleanup_stale_resources"):
    dry_run: bool = True


class CleanupExecute(RequestBase, tag="cleanup_execute"):
    """Carry out exactly the plan a ``cleanup_stale_resources`` dry run showed (``chatops
    recover cleanup``): each item is checked again, whatever became stale since waits."""

    stale_bots: dict[str, float] = msgspec.field(default_factory=dict)
    """Each bot with its status time from the dry run's ``stale_since`` (a changed one stays)."""
    dead_sockets: list[Annotated[str, msgspec.Meta(max_length=4096)]] = msgspec.field(
        default_factory=list
    )
    orphan_cache_folders: list[TaskId] = msgspec.field(default_factory=list)
    vacuum: bool = False

    def __post_init__(self) -> None:
        if len(self.stale_bots) + len(self.dead_sockets) + len(self.orphan_cache_folders) > 2000:
            raise ValueError("at most 2000 items per cleanup plan")


class SetBudget(RequestBase, tag="set_budget"):
    """An operator changes a budget's limit or thresholds (``chatops quota set``), as
    ``/quota set`` does; validated by the service like the config."""

    name: Name
    limit: Annotated[float, msgspec.Meta(gt=0, le=1e15)] | None = None
    thresholds: Annotated[list[float], msgspec.Meta(max_length=16)] | None = None


OrchestratorCall = Literal[
    "get_dashboard_data",
    "get_auto_accept_stats",
    "auto_clean_cache",
    "clear_cache",
    "toggle_auto_accept",
]
ADMIN_CALLS = frozenset({"auto_clean_cache", "clear_cache", "toggle_auto_accept"})


class Orchestrate(RequestBase, tag="orchestrate"):
    """The calls of an orchestrating agent (its ``MonitoringDashboard``: the dashboard, auto-accept
    stats and toggle, cleaning the cache) that have no request of their own. The admin ones
    (``ADMIN_CALLS``) are refused unless ``agent`` is a bot this connection registered and
    ``recovery.admin_agents`` names it."""

    call: OrchestratorCall
    agent: Name | None = None
    args: dict[str, Any] = msgspec.field(default_factory=dict)
