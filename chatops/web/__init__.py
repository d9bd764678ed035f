"""The controller's HTTP door: one aiohttp listener (``http.listen``) in the controller's loop,
serving ``/metrics`` and ``/healthz`` (and the web dashboard, next)."""
