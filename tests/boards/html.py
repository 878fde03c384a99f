"""Read the HTML a view answers as elements and attributes, not as strings in a fixed attribute order.

    find(body, "article", id=f"ticket-{pk}")       -> the first <article id="ticket-12" …>'s attributes
    find_all(body, "span", class_="countdown")      -> every <span> whose class list has "countdown"

Each element is a dict of its attributes (``class`` as given) plus ``_text``:
the text inside it, tags stripped, whitespace collapsed.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.open: list[dict] = []

    def handle_starttag(self, tag, attrs):
        element = {"_tag": tag, **{name: value if value is not None else "" for name, value in attrs}, "_text": ""}
        self.elements.append((tag, element))
        if tag not in VOID:
            self.open.append(element)

    def handle_endtag(self, tag):
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i]["_tag"] == tag:
                del self.open[i:]
                break

    def handle_data(self, data):
        for element in self.open:
            element["_text"] += data


def _matches(element: dict, attrs: dict) -> bool:
    for name, wanted in attrs.items():
        name = name.rstrip("_").replace("_", "-") if name != "class_" else "class"
        if name == "class":
            if wanted not in element.get("class", "").split():
                return False
        elif element.get(name) != wanted:
            return False
    return True


def find_all(body: str, tag: str, **attrs) -> list[dict]:
    parser = _Parser()
    parser.feed(body)
    found = [element for name, element in parser.elements if name == tag and _matches(element, attrs)]
    for element in found:
        element["_text"] = re.sub(r"\s+", " ", element["_text"]).strip()
    return found


def find(body: str, tag: str, **attrs) -> dict | None:
    found = find_all(body, tag, **attrs)
    return found[0] if found else None
