"""The price of an LLM call whose event carries no ``estimated_cost``, from a maintained table.

The table is genai-prices (PyPI; kept up to date by the Pydantic team, with a snapshot bundled
in the package, so it works offline). Chosen over LiteLLM's ``model_prices`` JSON (the whole
LiteLLM dependency, or a copied file that goes stale) and over a table of our own (nobody would
keep it current). A lookup costs ~0.2 ms, too slow for every event at ingest rates, so each
model's price per input and output token is looked up once (at 1,000 tokens each) and cached;
tiered prices (Claude above 200k tokens of context) are therefore the first tier's. A model the
table does not know costs 0, as before. An event's own cost always wins.
"""

from __future__ import annotations

import logging
from decimal import Decimal

log = logging.getLogger(__name__)

_REFERENCE = 1000


class PriceTable:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._rates: dict[str, tuple[float, float] | None] = {}

    def cost(self, model: str, tokens_in: int, tokens_out: int) -> float:
        if not self.enabled or (tokens_in == 0 and tokens_out == 0):
            return 0.0
        rates = self._rates.get(model, ...)
        if rates is ...:
            rates = self._rates[model] = _lookup(model)
        if rates is None:
            return 0.0
        return tokens_in * rates[0] + tokens_out * rates[1]


def _lookup(model: str) -> tuple[float, float] | None:
    from genai_prices import Usage, calc_price

    try:
        per_in = calc_price(Usage(input_tokens=_REFERENCE, output_tokens=0), model).total_price
        per_out = calc_price(Usage(input_tokens=0, output_tokens=_REFERENCE), model).total_price
    except LookupError:
        log.info("no price known for model %r; its usage without a cost counts 0", model)
        return None
    return float(Decimal(per_in) / _REFERENCE), float(Decimal(per_out) / _REFERENCE)
