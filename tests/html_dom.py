"""A small DOM for tests: HTML (ours, or Chromium's `--dump-dom`) parsed into a tree that can be
queried by tag, class and attributes. Standard library only; `strict` also reports tags that
are closed out of order, which a hand-written document must never do."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def descendants(self) -> list[Node]:
        found: list[Node] = []
        for child in self.children:
            if isinstance(child, Node):
                found.append(child)
                found.extend(child.descendants())
        return found

    def find_all(self, tag: str | None = None, cls: str | None = None,
                 attrs: dict[str, str] | None = None) -> list[Node]:
        return [
            n for n in self.descendants()
            if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)
            and all(n.attrs.get(k) == v for k, v in (attrs or {}).items())
        ]

    def find(self, tag: str | None = None, cls: str | None = None,
             attrs: dict[str, str] | None = None) -> Node:
        found = self.find_all(tag, cls, attrs)
        assert found, f"no <{tag or '*'}> with class {cls!r} and {attrs!r}"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.errors: list[str] = []

    def _node(self, tag: str, attrs: list[tuple[str, str | None]]) -> Node:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.stack[-1])
        self.stack[-1].children.append(node)
        return node

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = self._node(tag, attrs)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._node(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if self.stack[-1].tag != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1].tag}>")
        while len(self.stack) > 1:
            if self.stack.pop().tag == tag:
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str, *, strict: bool = False) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    if strict:
        unclosed = [n.tag for n in builder.stack[1:]]
        assert not builder.errors and not unclosed, (builder.errors, unclosed)
    return builder.root
