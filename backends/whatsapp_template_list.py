"""WhatsApp's approved templates read from the account (every page), and a template send's body."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from frontdesk.backends.base import BackendError, ConfigError
from frontdesk.backends.httpchannel import scrub
from frontdesk.backends.whatsapp_templates import template_of, template_payload
from frontdesk.model import MessageTemplate, TemplateSend

log = logging.getLogger("frontdesk.backends.whatsapp")  # the channel's records keep one logger

TEMPLATE_PAGES = 50


class WhatsAppTemplates:
    """WhatsAppBackend's templates (uses its `_graph`, `_path`, `business_account_id`, `base_url`
    and `_named`, the parameter names learnt per template)."""

    async def templates(self) -> list[MessageTemplate]:
        """The account's APPROVED templates, every page (`paging.next`), with their body parameters."""
        if not self.business_account_id:
            raise ConfigError(
                f"channel {self.name!r}: setting business_account_id is missing, so the templates "
                'cannot be listed; add business_account_id = "1029…" (WhatsApp Manager → '
                "Account tools → WhatsApp Business Account ID)"
            )
        path = self._path(self.business_account_id, "message_templates")
        params: dict[str, Any] | None = {
            "fields": "name,language,category,status,components",
            "status": "APPROVED",
            "limit": 100,
        }
        found: list[MessageTemplate] = []
        for _ in range(TEMPLATE_PAGES):
            answer = await self._graph("GET", path, label="templates", params=params)
            for raw in answer.get("data") if isinstance(answer.get("data"), list) else []:
                template = template_of(raw)
                if template is not None:
                    found.append(template)
                    self._named[(template.name, template.language)] = template.parameters
            following = self._next_page(answer.get("paging"))
            if following is None:
                break
            path, params = following, None
        return sorted(found, key=lambda t: (t.name, t.language))

    def _next_page(self, paging: Any) -> str | None:
        """The path of `paging.next` when it is on base_url (the token never goes elsewhere)."""
        following = paging.get("next") if isinstance(paging, dict) else None
        if not isinstance(following, str) or not following:
            return None
        parts, ours = urlsplit(following), urlsplit(self.base_url)
        if (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc):
            log.warning("channel %s: ignoring a template page on another host", self.name)
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

    async def _learn_parameter_names(self, template: TemplateSend) -> None:
        """List the templates once when this one's parameters are not known yet (a template
        queued before a restart): named parameters must be sent with their names."""
        key = (template.name, template.language)
        if not template.parameters or key in self._named or not self.business_account_id:
            return
        try:
            await self.templates()
        except BackendError as exc:  # the send itself will say what is wrong
            log.info("channel %s: template list unavailable (%s)", self.name, scrub(str(exc)))
        self._named.setdefault(key, ())

    def _template(self, template: TemplateSend) -> dict[str, Any]:
        return template_payload(template, self._named.get((template.name, template.language), ()))


__all__ = ["WhatsAppTemplates"]
