"""The composition root: builds every service once, hands the doors one record (``Services``)
and tears down in reverse."""
