"""Rendering notifications from the Jinja2 templates in ``tandem_notifications/templates``.

Each kind has one file, ``email/<kind>.j2``, with three blocks: ``subject``, ``text`` and ``html``
(the inbox uses subject and text). Subject and text render without escaping, HTML with it.
Webhook messages come from ``webhook.j2``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup

__all__ = ["Rendered", "Renderer"]


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def _environment(*, autoescape: bool) -> Environment:
    return Environment(
        loader=PackageLoader("tandem_notifications", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def _block(template: Template, name: str, context: Mapping[str, Any]) -> str:
    return "".join(template.blocks[name](template.new_context(dict(context)))).strip()


class Renderer:
    def __init__(self, *, app_url: str) -> None:
        self._plain = _environment(autoescape=False)
        self._html = _environment(autoescape=True)
        self._globals = {"app_url": app_url.rstrip("/")}

    def render(self, kind: str, context: Mapping[str, Any]) -> Rendered:
        values = {**self._globals, **context}
        name = f"email/{kind}.j2"
        plain = self._plain.get_template(name)
        subject = " ".join(_block(plain, "subject", values).split())
        text = _block(plain, "text", values)
        body = _block(self._html.get_template(name), "html", values)
        layout = self._html.get_template("email/_layout.html.j2")
        html = layout.render(subject=subject, body=Markup(body), **values)
        return Rendered(subject=subject, text=text + "\n", html=html)

    def webhook_text(self, event_type: str, context: Mapping[str, Any]) -> str:
        values = {**self._globals, **context, "event_type": event_type}
        return self._plain.get_template("webhook.j2").render(values).strip()
