"""Discord's rules as the fake enforces them: payload validation (50035 error trees) and rate limits."""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# ---- errors ----------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer: HTTP status plus Discord's JSON body."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            data["errors"] = self.errors
        return data


def unauthorized() -> ApiError:
    return ApiError(401, 0, "401: Unauthorized")


def not_found() -> ApiError:
    return ApiError(404, 0, "404: Not Found")


def unknown(what: str) -> ApiError:
    codes = {
        "Channel": 10003,
        "Guild": 10004,
        "Member": 10007,
        "Message": 10008,
        "User": 10013,
        "Webhook": 10015,
        "Application Command": 10063,
        "interaction": 10062,
        "Role": 10011,
    }
    return ApiError(404, codes[what], f"Unknown {what}")


def missing_access() -> ApiError:
    return ApiError(403, 50001, "Missing Access")


def missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


def cannot_dm() -> ApiError:
    return ApiError(403, 50007, "Cannot send messages to this user")


def empty_message() -> ApiError:
    return ApiError(400, 50006, "Cannot send an empty message")


def already_acknowledged() -> ApiError:
    return ApiError(400, 40060, "Interaction has already been acknowledged.")


def invalid_webhook_token() -> ApiError:
    return ApiError(401, 50027, "Invalid Webhook Token")


# ---- 50035 Invalid Form Body -----------------------------------------------------------------------------


class FormErrors:
    """Collects errors into Discord's tree: ``{"embeds": {"0": {"title": {"_errors": [...]}}}}``."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def too_long(self, path: tuple[str | int, ...], limit: int) -> None:
        self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def required(self, path: tuple[str | int, ...]) -> None:
        self.add(path, "BASE_TYPE_REQUIRED", "This field is required")

    def check_str(
        self,
        obj: dict[str, Any],
        key: str,
        path: tuple[str | int, ...],
        limit: int,
        *,
        required: bool = False,
    ) -> int:
        """Validates ``obj[key]`` as a string of at most ``limit`` characters; returns its length."""
        value = obj.get(key)
        if value is None:
            if required:
                self.required((*path, key))
            return 0
        if not isinstance(value, str):
            self.add((*path, key), "BASE_TYPE_STRING", "Must be a string.")
            return 0
        if required and not value.strip():
            self.required((*path, key))
        if len(value) > limit:
            self.too_long((*path, key), limit)
        return len(value)

    def raise_if_any(self) -> None:
        if self.tree:
            raise ApiError(400, 50035, "Invalid Form Body", self.tree)


_URL_OK = re.compile(r"^(https?|attachment)://\S+$")


def _check_url(errs: FormErrors, obj: dict[str, Any] | None, key: str, path: tuple[str | int, ...]) -> None:
    if isinstance(obj, dict) and obj.get(key) is not None and not _URL_OK.match(str(obj[key])):
        errs.add((*path, key), "URL_TYPE_INVALID_URL", "Not a well formed URL.")


def embed_size(embed: dict[str, Any]) -> int:
    """Characters Discord counts toward the 6,000 total: title, description, field names and values,
    footer text, author name."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for f in embed.get("fields") or []:
        total += len(f.get("name") or "") + len(f.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def validate_embeds(errs: FormErrors, embeds: Any, path: tuple[str | int, ...] = ()) -> None:
    if embeds is None:
        return
    if not isinstance(embeds, list):
        errs.add((*path, "embeds"), "BASE_TYPE_ARRAY", "Must be an array.")
        return
    if len(embeds) > 10:
        errs.too_long((*path, "embeds"), 10)
        return
    total = 0
    for i, embed in enumerate(embeds):
        p = (*path, "embeds", i)
        if not isinstance(embed, dict):
            errs.add(p, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        errs.check_str(embed, "title", p, 256)
        errs.check_str(embed, "description", p, 4096)
        _check_url(errs, embed, "url", p)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            errs.too_long((*p, "fields"), 25)
        for j, f in enumerate(fields[:25]):
            errs.check_str(f, "name", (*p, "fields", j), 256, required=True)
            errs.check_str(f, "value", (*p, "fields", j), 1024, required=True)
        if embed.get("footer") is not None:
            errs.check_str(embed["footer"], "text", (*p, "footer"), 2048, required=True)
        if embed.get("author") is not None:
            errs.check_str(embed["author"], "name", (*p, "author"), 256, required=True)
            _check_url(errs, embed["author"], "url", (*p, "author"))
        for k in ("thumbnail", "image"):
            _check_url(errs, embed.get(k), "url", (*p, k))
        size = embed_size(embed)
        if size > 6000:
            errs.add(p, "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
        total += size
    if total > 6000 and not any(isinstance(e, dict) and embed_size(e) > 6000 for e in embeds):
        errs.add((*path, "embeds"), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")


def validate_components(errs: FormErrors, components: Any, path: tuple[str | int, ...] = ()) -> None:
    if components is None:
        return
    if not isinstance(components, list):
        errs.add((*path, "components"), "BASE_TYPE_ARRAY", "Must be an array.")
        return
    if len(components) > 5:
        errs.too_long((*path, "components"), 5)
    seen: set[str] = set()
    for i, row in enumerate(components):
        rp = (*path, "components", i)
        if row.get("type") != 1:
            continue  # layout components v2 are not modelled
        inner = row.get("components") or []
        if not inner:
            errs.add((*rp, "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
        if len(inner) > 5:
            errs.too_long((*rp, "components"), 5)
        for j, comp in enumerate(inner):
            cp = (*rp, "components", j)
            ctype = comp.get("type")
            if ctype == 2:
                errs.check_str(comp, "label", cp, 80)
                if comp.get("style") == 5:
                    _check_url(errs, comp, "url", cp)
                    if not comp.get("url"):
                        errs.required((*cp, "url"))
                    continue
            if "custom_id" in comp or ctype in (2, 3, 5, 6, 7, 8):
                errs.check_str(comp, "custom_id", cp, 100, required=True)
                cid = comp.get("custom_id")
                if isinstance(cid, str):
                    if cid in seen:
                        errs.add(
                            (*cp, "custom_id"),
                            "COMPONENT_CUSTOM_ID_DUPLICATED",
                            "Component custom id cannot be duplicated",
                        )
                    seen.add(cid)
            if ctype == 3:
                opts = comp.get("options") or []
                if not 1 <= len(opts) <= 25:
                    errs.add((*cp, "options"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 25 in length.")
                for k, o in enumerate(opts):
                    errs.check_str(o, "label", (*cp, "options", k), 100, required=True)
                    errs.check_str(o, "value", (*cp, "options", k), 100, required=True)
                    errs.check_str(o, "description", (*cp, "options", k), 100)
                errs.check_str(comp, "placeholder", cp, 150)


def validate_allowed_mentions(errs: FormErrors, am: Any, path: tuple[str | int, ...] = ()) -> None:
    if am is None:
        return
    p = (*path, "allowed_mentions")
    if not isinstance(am, dict):
        errs.add(p, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    unknown_keys = set(am) - {"parse", "roles", "users", "replied_user"}
    for k in sorted(unknown_keys):
        errs.add((*p, k), "BASE_TYPE_INVALID", "Unknown field.")
    parse = am.get("parse", [])
    if not isinstance(parse, list):
        errs.add((*p, "parse"), "BASE_TYPE_ARRAY", "Must be an array.")
        parse = []
    for i, v in enumerate(parse):
        if v not in ("roles", "users", "everyone"):
            errs.add(
                (*p, "parse", i), "BASE_TYPE_CHOICES", "Value must be one of {'roles', 'users', 'everyone'}."
            )
    for kind in ("users", "roles"):
        ids = am.get(kind)
        if ids is None:
            continue
        if not isinstance(ids, list):
            errs.add((*p, kind), "BASE_TYPE_ARRAY", "Must be an array.")
            continue
        if len(ids) > 100:
            errs.too_long((*p, kind), 100)
        for i, v in enumerate(ids):
            if not str(v).isdigit():
                errs.add((*p, kind, i), "NUMBER_TYPE_COERCE", f'Value "{v}" is not snowflake.')
        if ids and kind in parse:
            errs.add(
                (*p, kind),
                "ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )
    if "replied_user" in am and not isinstance(am["replied_user"], bool):
        errs.add((*p, "replied_user"), "BASE_TYPE_BOOLEAN", "Must be either true or false.")


def validate_message(
    data: dict[str, Any], path: tuple[str | int, ...] = (), *, has_files: bool = False
) -> None:
    """Validates a message body (channel message, interaction response data, follow-up, edit)."""
    errs = FormErrors()
    errs.check_str(data, "content", path, 2000)
    validate_embeds(errs, data.get("embeds"), path)
    validate_components(errs, data.get("components"), path)
    validate_allowed_mentions(errs, data.get("allowed_mentions"), path)
    nonce = data.get("nonce")
    if isinstance(nonce, str) and len(nonce) > 25:
        errs.too_long((*path, "nonce"), 25)
    errs.raise_if_any()


def is_empty(data: dict[str, Any], *, has_files: bool) -> bool:
    return not (
        data.get("content")
        or data.get("embeds")
        or data.get("components")
        or has_files
        or data.get("sticker_ids")
        or data.get("poll")
    )


def validate_choices(data: dict[str, Any]) -> None:
    errs = FormErrors()
    choices = data.get("choices")
    if not isinstance(choices, list):
        errs.required(("data", "choices"))
    else:
        if len(choices) > 25:
            errs.too_long(("data", "choices"), 25)
        for i, c in enumerate(choices[:25]):
            p = ("data", "choices", i)
            n = errs.check_str(c, "name", p, 100, required=True)
            if n == 0 and "name" in c:
                errs.add((*p, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            v = c.get("value")
            if isinstance(v, str) and len(v) > 100:
                errs.too_long((*p, "value"), 100)
            elif v is None:
                errs.required((*p, "value"))
    errs.raise_if_any()


_NAME = re.compile(r"^[-_\w]{1,32}$")


def validate_commands(commands: Any) -> None:
    errs = FormErrors()
    if not isinstance(commands, list):
        errs.add((), "BASE_TYPE_ARRAY", "Must be an array.")
        errs.raise_if_any()
        return
    if len(commands) > 100:
        errs.too_long((), 100)
    seen: set[tuple[str, int]] = set()
    for i, cmd in enumerate(commands):
        _validate_command(errs, cmd, (i,))
        key = (str(cmd.get("name")), int(cmd.get("type", 1)))
        if key in seen:
            errs.add(
                (i, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {key[0]}",
            )
        seen.add(key)
    errs.raise_if_any()


def _validate_command(errs: FormErrors, cmd: dict[str, Any], path: tuple[str | int, ...]) -> None:
    ctype = int(cmd.get("type", 1))
    name = cmd.get("name")
    if not isinstance(name, str) or not name:
        errs.required((*path, "name"))
    elif ctype == 1 and (not _NAME.match(name) or name != name.lower()):
        errs.add((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name}")
    if ctype == 1:
        errs.check_str(cmd, "description", path, 100, required=True)
        _validate_options(errs, cmd.get("options") or [], (*path, "options"), depth=0)


def _validate_options(
    errs: FormErrors, options: list[dict[str, Any]], path: tuple[str | int, ...], depth: int
) -> None:
    if len(options) > 25:
        errs.too_long(path, 25)
    seen_optional = False
    for i, opt in enumerate(options):
        p = (*path, i)
        name = opt.get("name")
        if not isinstance(name, str) or not _NAME.match(name) or name != name.lower():
            errs.add((*p, "name"), "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name}")
        errs.check_str(opt, "description", p, 100, required=True)
        otype = opt.get("type")
        if otype in (1, 2):
            if depth >= (2 if otype == 1 else 1):
                errs.add(
                    (*p, "type"), "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-command nested too deeply"
                )
            _validate_options(errs, opt.get("options") or [], (*p, "options"), depth + 1)
            continue
        if opt.get("required"):
            if seen_optional:
                errs.add(
                    (*p, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        choices = opt.get("choices") or []
        if len(choices) > 25:
            errs.too_long((*p, "choices"), 25)
        if choices and opt.get("autocomplete"):
            errs.add(
                (*p, "autocomplete"),
                "APPLICATION_COMMAND_OPTIONS_CHOICES_AUTOCOMPLETE",
                "Autocomplete cannot be set with choices",
            )


# ---- rate limits -----------------------------------------------------------------------------------------

Clock = Callable[[], float]


@dataclass
class Window:
    """A fixed window bucket, as Discord's route buckets behave: ``limit`` per ``period`` from a first hit."""

    limit: int
    period: float
    started: float = -1e18
    count: int = 0

    def _roll(self, now: float) -> None:
        if now >= self.started + self.period:
            self.started = now
            self.count = 0

    def try_take(self, now: float) -> bool:
        self._roll(now)
        if self.count >= self.limit:
            return False
        self.count += 1
        return True

    def remaining(self, now: float) -> int:
        self._roll(now)
        return max(0, self.limit - self.count)

    def reset_after(self, now: float) -> float:
        return max(0.0, self.started + self.period - now)


@dataclass
class SlidingWindow:
    """At most ``limit`` events in any ``period``-long window (the 50/s global limit)."""

    limit: int
    period: float
    events: deque[float] = field(default_factory=deque)

    def _trim(self, now: float) -> None:
        while self.events and self.events[0] <= now - self.period:
            self.events.popleft()

    def try_take(self, now: float) -> bool:
        self._trim(now)
        if len(self.events) >= self.limit:
            return False
        self.events.append(now)
        return True

    def retry_after(self, now: float) -> float:
        self._trim(now)
        if len(self.events) < self.limit:
            return 0.0
        return max(0.001, self.events[0] + self.period - now)


def bucket_hash(route_key: str) -> str:
    return hashlib.sha1(route_key.encode()).hexdigest()[:32]
