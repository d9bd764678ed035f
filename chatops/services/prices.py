"""The price of an LLM call whose event carries no ``estimated_cost``, from a maintained table.

The table is genai-prices (PyPI; kept up to date by the Pydantic team, with a snapshot bundled
in the package, so it works offline). Chosen over LiteLLM's ``model_prices`` JSON (the whole
LiteLLM dependency, or a copied file that goes stale) and over a table of our own (nobody would
keep it current). A lookup costs ~0.2 ms, too slow for every event at ingest rates, so each
model's price per input and output token is looked up once (at 1,000 tokens each) and cached;
tiered prices (Claude above 200k tokens of context) are therefore the first tier's. A model the
table does not know costs 0, as before. An event's own cost always wins.

The same lookup names the model's provider, under the OpenTelemetry GenAI convention's
``gen_ai.provider.name`` values (``openai``, ``anthropic``, ``gcp.gemini``…) for ``/metrics``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

log = logging.getLogger(__name__)

_REFERENCE = 1000

UNKNOWN_PROVIDER = "unknown"
OTEL_PROVIDER_NAMES = {
    "google": "gcp.gemini",
    "mistral": "mistral_ai",
    "x-ai": "x_ai",
    "aws": "aws.bedrock",
    "azure": "azure.ai.openai",
}
"""genai-prices' provider ids that the GenAI convention spells otherwise (semantic conventions
1.37, ``gen_ai.provider.name``); the rest (openai, anthropic, deepseek, groq…) are the same."""


class PriceTable:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._known: dict[str, _Known | None] = {}

    def cost(self, model: str, tokens_in: int, tokens_out: int) -> float:
        if not self.enabled or (tokens_in == 0 and tokens_out == 0):
            return 0.0
        known = self._lookup(model)
        if known is None:
            return 0.0
        return tokens_in * known.per_in + tokens_out * known.per_out

    def provider(self, model: str) -> str:
        """The model's provider as ``gen_ai.provider.name`` says it; ``unknown`` when the table
        does not know the model (looked up whether prices are enabled or not)."""
        known = self._lookup(model)
        return UNKNOWN_PROVIDER if known is None else known.provider

    def _lookup(self, model: str) -> _Known | None:
        known = self._known.get(model, ...)
        if known is ...:
            known = self._known[model] = _look_up(model)
        return known


@dataclass(frozen=True, slots=True)
class _Known:
    per_in: float
    per_out: float
    provider: str


def _look_up(model: str) -> _Known | None:
    from genai_prices import Usage, calc_price

    try:
        first = calc_price(Usage(input_tokens=_REFERENCE, output_tokens=0), model)
        per_out = calc_price(Usage(input_tokens=0, output_tokens=_REFERENCE), model).total_price
    except LookupError:
        log.info("no price known for model %r; its usage without a cost counts 0", model)
        return None
    provider = OTEL_PROVIDER_NAMES.get(first.provider.id, first.provider.id)
    return _Known(
        float(Decimal(first.total_price) / _REFERENCE),
        float(Decimal(per_out) / _REFERENCE),
        provider,
    )
