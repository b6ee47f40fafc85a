"""The key bar: one line of the keys that work here, paged so it always fits the width.

Textual's Footer cuts keys off at 80 columns. This bar lays the screen's keys out in
pages that fit, keeps `? help` and `^p palette` pinned at the right (help lists every
key), and shows `f2 more` when there is more than one page.
"""

from __future__ import annotations

from textual.app import RenderResult
from textual.content import Content
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget

# Always visible, at the right: the way to every other key.
PINNED: tuple[tuple[str, str], ...] = (("?", "help"), ("^p", "palette"))
PAGE_KEY = "f2"


def _width(items: list[tuple[str, str]]) -> int:
    return sum(len(key) + len(text) + 3 for key, text in items)


def paginate(items: list[tuple[str, str]], width: int) -> list[list[tuple[str, str]]]:
    """Split (key, description) items into pages no wider than `width` cells."""
    pages: list[list[tuple[str, str]]] = [[]]
    for item in items:
        if pages[-1] and _width([*pages[-1], item]) > width:
            pages.append([])
        pages[-1].append(item)
    return pages


class KeyBar(Widget):
    """The keys of the focused screen, paged to fit; `?` is always visible."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-foreground;
    }
    """

    page: reactive[int] = reactive(0)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        self.page = 0
        self.refresh()

    def items(self) -> list[tuple[str, str]]:
        """(key, description) of every shown binding active here, screen keys first."""
        own: list[tuple[str, str]] = []
        app_keys: list[tuple[str, str]] = []
        seen: set[str] = set()
        for node, binding, _enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            # The number keys are on the screen bar at the top; help is pinned.
            if node is self.app and binding.key.isdigit():
                continue
            if binding.key in ("question_mark", "f1") or binding.action == "command_palette":
                continue
            entry = (self.app.get_key_display(binding), binding.description)
            (app_keys if node is self.app else own).append(entry)
        return own + app_keys

    def pages(self) -> list[list[tuple[str, str]]]:
        """The items split into pages that leave room for the pinned keys."""
        room = self.size.width - _width(list(PINNED)) - 1
        items = self.items()
        if _width(items) <= room:
            return [items]
        return paginate(items, room - _width([(PAGE_KEY, "more 9/9")]))

    def next_page(self) -> None:
        """Show the next page of keys (wrapping)."""
        self.page = (self.page + 1) % max(1, len(self.pages()))

    def render(self) -> RenderResult:
        pages = self.pages()
        page = pages[min(self.page, len(pages) - 1)]
        shown = list(page)
        if len(pages) > 1:
            shown.append((PAGE_KEY, f"more {self.page + 1}/{len(pages)}"))
        left = self._assemble(shown)
        right = self._assemble(list(PINNED))
        gap = max(1, self.size.width - left.cell_length - right.cell_length)
        return Content.assemble(left, " " * gap, right)

    @staticmethod
    def _assemble(items: list[tuple[str, str]]) -> Content:
        parts: list[str | tuple[str, str]] = []
        for key, text in items:
            parts += [(f" {key} ", "bold $footer-key-foreground"), (f"{text} ", "")]
        return Content.assemble(*parts)
