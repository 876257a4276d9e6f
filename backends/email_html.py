"""An HTML mail part turned into readable plain text (paragraphs, lists, quotes, link targets)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser


class _Text(HTMLParser):
    BLOCK = {
        "p",
        "div",
        "section",
        "article",
        "header",
        "footer",
        "table",
        "tr",
        "ul",
        "ol",
        "blockquote",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "hr",
        "form",
        "dl",
        "dd",
        "dt",
        "center",
    }
    SKIP = {"script", "style", "head", "title", "template", "noscript", "svg"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.pre = 0
        self.quote = 0
        self.href: list[str | None] = []
        self.list_stack: list[list[int]] = []

    def _newline(self, n: int = 1) -> None:
        text = "".join(self.out)
        have = len(text) - len(text.rstrip("\n")) if text.strip() else n
        self.out.append("\n" * max(0, n - have))
        if self.quote:
            self.out.append("> " * self.quote)

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "br":
            self.out.append("\n" + "> " * self.quote)
        elif tag == "blockquote":
            self._newline(2)
            self.quote += 1
            self.out.append("> ")
        elif tag in ("ul", "ol"):
            self.list_stack.append([0 if tag == "ol" else -1])
            self._newline(1)
        elif tag == "li":
            self._newline(1)
            marker = "- "
            if self.list_stack and self.list_stack[-1][0] >= 0:
                self.list_stack[-1][0] += 1
                marker = f"{self.list_stack[-1][0]}. "
            self.out.append("  " * max(0, len(self.list_stack) - 1) + marker)
        elif tag == "a":
            self.href.append(dict(attrs).get("href"))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.out.append(f"[{alt}]")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "pre":
            self.pre += 1
            self._newline(2)
        elif tag in self.BLOCK:
            self._newline(2 if tag in ("p", "h1", "h2", "h3", "table") else 1)

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
            self._newline(2)
        elif tag in ("ul", "ol"):
            if self.list_stack:
                self.list_stack.pop()
            self._newline(1)
        elif tag == "a":
            href = self.href.pop() if self.href else None
            if href and href.startswith(("http://", "https://")):
                text = "".join(self.out[-3:])
                if href not in text:
                    self.out.append(f" <{href}>")
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self._newline(2)
        elif tag in self.BLOCK:
            self._newline(2 if tag in ("p", "h1", "h2", "h3", "table") else 1)

    def handle_data(self, data):
        if self.skip:
            return
        if not self.pre:
            data = re.sub(r"[ \t\r\n\f]+", " ", data)
            text = "".join(self.out[-1:])
            if text.endswith(("\n", " ")) or not text:
                data = data.lstrip(" ")
        if self.quote and "\n" in data:
            data = data.replace("\n", "\n" + "> " * self.quote)
        self.out.append(data)


def html_to_text(markup: str) -> str:
    """Readable plain text of an HTML mail part: paragraphs, lists, quotes, link targets; no tags."""
    parser = _Text()
    try:
        parser.feed(markup)
        parser.close()
        text = "".join(parser.out)
    except Exception:
        text = re.sub(r"<[^>]*>", " ", markup)
        text = html.unescape(text)
    lines = [line.rstrip() for line in text.replace("\xa0", " ").split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
