"""WhatsApp templates in the Graph API's shapes: an approved one read from the list, one to send as its components."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from frontdesk.backends.httpchannel import clip
from frontdesk.model import MessageTemplate, TemplateExtra, TemplateSend

log = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MEDIA_HEADERS = frozenset({"IMAGE", "VIDEO", "DOCUMENT"})
#: parts whose values the picker cannot ask for (a map pin, a product list): not offered
UNFILLABLE_HEADERS = frozenset({"LOCATION", "PRODUCT"})
UNFILLABLE_BUTTONS = frozenset({"MPM", "CATALOG", "SPM"})


class Unfillable(ValueError):
    """The template has a part whose value frontdesk cannot ask for."""


def template_of(raw: Any) -> MessageTemplate | None:
    """An approved template from Graph's list (None for another status, a malformed one, or one
    with a part the picker cannot fill)."""
    if not isinstance(raw, dict) or raw.get("status", "APPROVED") != "APPROVED":
        return None
    name, language = raw.get("name"), raw.get("language")
    if not isinstance(name, str) or not isinstance(language, str) or not name or not language:
        return None
    found = raw.get("components") if isinstance(raw.get("components"), list) else []
    components = [c for c in found if isinstance(c, dict)]
    body = _text(next((c for c in components if c.get("type") == "BODY"), {}))
    try:
        extras = (*_header(components), *_buttons(components))
    except Unfillable as exc:
        log.info("template %s (%s) left out of the picker: %s", clip(name, 80), language, exc)
        return None
    category = raw.get("category") if isinstance(raw.get("category"), str) else ""
    return MessageTemplate(
        clip(name, 512),
        clip(language, 20),
        clip(category, 40),
        clip(body, 2000),
        _placeholders(body),
        extras,
    )


def _text(component: Mapping[str, Any], key: str = "text") -> str:
    value = component.get(key)
    return value if isinstance(value, str) else ""


def _placeholders(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(PLACEHOLDER.findall(text)))


def _header(components: list[dict[str, Any]]) -> list[TemplateExtra]:
    header = next((c for c in components if c.get("type") == "HEADER"), None)
    if header is None:
        return []
    kind = _text(header, "format").upper() or "TEXT"
    if kind in MEDIA_HEADERS:
        return [TemplateExtra("header", kind.lower(), kind.lower())]
    if kind in UNFILLABLE_HEADERS:
        raise Unfillable(f"a {kind.lower()} header")
    text = clip(_text(header), 200)
    return [TemplateExtra("header", "text", label, text=text) for label in _placeholders(text)[:1]]


def _buttons(components: list[dict[str, Any]]) -> list[TemplateExtra]:
    group = next((c for c in components if c.get("type") == "BUTTONS"), {})
    buttons = group.get("buttons") if isinstance(group.get("buttons"), list) else []
    extras = []
    for index, button in enumerate(buttons[:10]):
        if not isinstance(button, dict):
            continue
        kind, label = _text(button, "type").upper(), clip(_text(button), 40)
        if kind in UNFILLABLE_BUTTONS:
            raise Unfillable(f"a {kind.lower()} button")
        url = clip(_text(button, "url"), 2000)
        if kind == "URL" and PLACEHOLDER.search(url):
            extras.append(TemplateExtra("button", "url", label or "link", index, url))
        elif kind == "COPY_CODE":
            extras.append(TemplateExtra("button", "copy_code", label or "Copy code", index))
    return extras


def template_payload(send: TemplateSend, names: tuple[str, ...]) -> dict[str, Any]:
    """The `template` message to POST: name, language and the components its values fill
    (`names`: the body's placeholders as listed, sent with named values)."""
    body: dict[str, Any] = {"name": send.name, "language": {"code": send.language}}
    components = [
        *(_header_component(e) for e in send.extras if e.part == "header"),
        *([_body_component(send.parameters, names)] if send.parameters else []),
        *(_button_component(e) for e in send.extras if e.part == "button"),
    ]
    if components:
        body["components"] = components
    return {"type": "template", "template": body}


def _text_parameter(value: str, name: str) -> dict[str, Any]:
    parameter = {"type": "text", "text": value}
    if name and not name.isdigit():
        parameter["parameter_name"] = name  # a template with named parameters
    return parameter


def _body_component(values: list[str], names: tuple[str, ...]) -> dict[str, Any]:
    parameters = [
        _text_parameter(value, names[i] if i < len(names) else "") for i, value in enumerate(values)
    ]
    return {"type": "body", "parameters": parameters}


def _header_component(extra: TemplateExtra) -> dict[str, Any]:
    if extra.kind == "text":
        parameter = _text_parameter(extra.value, extra.label)
    else:
        parameter = {"type": extra.kind, extra.kind: {"link": extra.value}}
    return {"type": "header", "parameters": [parameter]}


def _button_component(extra: TemplateExtra) -> dict[str, Any]:
    if extra.kind == "copy_code":
        parameter = {"type": "coupon_code", "coupon_code": extra.value}
    else:
        parameter = {"type": "text", "text": extra.value}
    return {
        "type": "button",
        "sub_type": extra.kind,
        "index": str(extra.index),
        "parameters": [parameter],
    }
