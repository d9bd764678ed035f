"""The runtime: the composition root (``controller``), the scheduler, the typed event bus and
owned background tasks. Everything here is wiring; the logic lives in the services."""
