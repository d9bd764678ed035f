"""The ``cache`` config section: when entries are cleaned (over a size, keeping the newest, past
an age), when the size warns and what an agent may upload; plus the root, the repeat of the size
warning and what to do with folders nobody registered."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CacheConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: Path | None = None
    """One folder per entry (``<root>/<task_id>/…``); beside the database when unset."""
    auto_clean_enabled: bool = True
    auto_clean_threshold_mb: float = Field(500, gt=0)
    """Over this, auto-clean deletes the oldest finished entries until it is under it."""
    auto_clean_keep_count: int = Field(5, ge=0)
    """The newest entries are never auto-cleaned, whatever their size."""
    max_age_days: float = Field(30, gt=0)
    warning_threshold_mb: float = Field(500, gt=0)
    check_interval_seconds: float = Field(120, gt=0)
    warning_repeat: float = Field(24 * 3600, ge=0)
    """While over the warning threshold, the alert is repeated this often (0: never)."""
    orphans: Literal["adopt", "report"] = "adopt"
    """A folder under the root that the index does not know: index it, or only log it."""
    max_upload_bytes: int = Field(48 * 1024, ge=1024, le=48 * 1024)
    """What ``create_cache_entry`` may send over the socket; larger outputs are written in
    place by the agent and registered (``register_cache_entry``)."""
    max_upload_files: int = Field(64, ge=1, le=1000)
    max_total_mb: float = Field(5000, gt=0)
    """Over this, new entries are refused (running ones are never cleaned by themselves, so
    without a ceiling a flood of them could fill the disk)."""
