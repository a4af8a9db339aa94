"""A Babel extractor for flow files: the English text of say/choice/text steps and labels."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

import yaml

# Keys whose string value is an English msgid (`prompt`: a pick's question). `note` beside
# them is the translator comment.
TRANSLATABLE = ("say", "choice", "text", "label", "prompt")
# How the Python code marks strings (see bot/engine/messages.py), for pybabel's -k options.
KEYWORDS: dict[str, Any] = {"msg": None, "plural_msg": (1, 2), "gettext": None, "ngettext": (1, 2)}
COMMENT_TAGS = ("Translators:",)
# Mappings whose keys are names, not text: `params: {text: "$fact ..."}` is no msgid.
NOT_TEXT = ("params", "remember", "set", "if")

Extracted = tuple[int, str | None, str | tuple[str, ...], list[str]]


def extract_flow(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[Extracted]:
    root = yaml.compose(fileobj.read().decode("utf-8"))
    if root is not None:
        yield from _walk(root)


def _walk(node: yaml.Node) -> Iterator[Extracted]:
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item)
    elif isinstance(node, yaml.MappingNode):
        pairs = {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}
        note = pairs.get("note")
        comments = [note.value] if isinstance(note, yaml.ScalarNode) else []
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value in NOT_TEXT:
                continue
            is_text = isinstance(key, yaml.ScalarNode) and key.value in TRANSLATABLE
            if is_text and isinstance(value, yaml.ScalarNode) and value.tag.endswith(":str"):
                yield value.start_mark.line + 1, None, value.value, comments
            else:
                yield from _walk(value)
