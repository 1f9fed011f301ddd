"""Delivery: everything the bot sends in bulk, exactly once, paced, with refusals sorted.

- :mod:`bot.delivery.pace` — the pace, one per token: under the global limit as Discord counts it.
- :mod:`bot.delivery.rest` — Discord's REST calls for bulk sends, one attempt each, refusals sorted.
- :mod:`bot.delivery.sender` — the exactly-once ledger delivery of one mailing to one target.
- :mod:`bot.delivery.service` — the digest service: one tick over the due index, for every audience.
- :mod:`bot.delivery.channels`, :mod:`bot.delivery.dms` — its two audiences: channel digests and DMs.
"""

from __future__ import annotations

from bot.delivery.channels import ChannelAudience, NextDigest
from bot.delivery.dms import DmAudience
from bot.delivery.pace import Pace
from bot.delivery.rest import DiscordRest, Refused, RetryLater
from bot.delivery.sender import Deliverer, Outcome, Target, jump_url, make_nonce
from bot.delivery.service import DigestService, TickReport

__all__ = ["ChannelAudience", "Deliverer", "DigestService", "DiscordRest", "DmAudience", "NextDigest",
           "Outcome", "Pace", "Refused", "RetryLater", "Target", "TickReport", "jump_url",
           "make_nonce"]
