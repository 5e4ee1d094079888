"""Bilingual text: Korean first (the course language), English for `--lang en`."""

from __future__ import annotations

from dataclasses import dataclass

LANGS = ("ko", "en")


@dataclass(frozen=True)
class Text:
    """A message in both languages; `render` picks one."""

    ko: str
    en: str

    def render(self, lang: str = "ko") -> str:
        return self.en if lang == "en" else self.ko

    def format(self, **params: object) -> Text:
        return Text(self.ko.format(**params), self.en.format(**params))


def t(ko: str, en: str, **params: object) -> Text:
    """Shorthand for a formatted bilingual text."""
    return Text(ko, en).format(**params) if params else Text(ko, en)
