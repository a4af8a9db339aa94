"""Flow definitions: the data a flow file describes, parsed and checked.

A flow is a versioned list of steps with stable ids. Each step has one kind; code exists
only per kind (see `runner.py`), never per flow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class FlowError(ValueError):
    """A flow file that cannot run: unknown keys, missing targets, wrong types."""


@dataclass(frozen=True)
class ParamSpec:
    """Where a message parameter comes from at run time: `$country`, `$now_in Asia/Jakarta`."""

    source: str
    arg: str | None = None


@dataclass(frozen=True)
class TextSpec:
    msgid: str | None = None  # translated through the catalogs
    literal: str | None = None  # shown as written (language names in their own script)
    country: str | None = None  # a country's name from CLDR, in the reader's language
    params: Mapping[str, ParamSpec] = field(default_factory=dict)


@dataclass(frozen=True)
class Condition:
    """All listed person fields must match; a list means "one of", null means "not set"."""

    fields: Mapping[str, Any]


@dataclass(frozen=True)
class OptionSpec:
    id: str
    label: TextSpec
    next: str | None = None
    flow: str | None = None  # jump to another flow; the option is hidden if it is not loaded
    keyword: str | None = None  # act as if the user sent this keyword (HELP from a menu)
    set: Mapping[str, Any] = field(default_factory=dict)
    remember: Mapping[str, Any] = field(default_factory=dict)  # answers to note (flags)
    when: Condition | None = None  # shown only when the condition holds
    means: str | None = None  # "yes" or "no": what a typed "sim", "ใช่", "không" picks
    more: bool = False  # on a pick: show its next items (with `when: {more_items: true}`)


@dataclass(frozen=True)
class Step:
    id: str
    kind: str  # one of KINDS
    text: TextSpec | None = None  # say text, choice/pick prompt, text prompt
    options: tuple[OptionSpec, ...] = ()
    next: str | None = None
    save_as: str | None = None
    max_length: int = 0
    set: Mapping[str, Any] = field(default_factory=dict)
    cases: tuple[tuple[Condition, str], ...] = ()
    flow: str | None = None  # goto target
    collection: str | None = None  # pick: which data items to list
    label: TextSpec | None = None  # pick: how one item is labelled
    limit: int = 0  # pick: at most this many items
    empty: str | None = None  # pick: where to go when there is nothing to list
    value: str | None = None  # remind scope, document/request/recall/submit kind
    item: str | None = None  # remind/document: the answer holding the chosen item
    validate: str | None = None  # text: a named check of the answer (see validate.py)
    remember: Mapping[str, Any] = field(default_factory=dict)  # set: answers to note


@dataclass(frozen=True)
class Flow:
    id: str
    version: int
    steps: Mapping[str, Step]
    order: tuple[str, ...]
    resumable: bool = False  # MENU keeps the place; the next visit offers to continue
    needs_consent: bool = True
    roles: tuple[str, ...] = ()  # only people with one of these roles may enter (empty: all)

    @property
    def first(self) -> str:
        return self.order[0]

    def after(self, step_id: str) -> str | None:
        """The step written after `step_id`, the default `next`."""
        index = self.order.index(step_id) + 1
        return self.order[index] if index < len(self.order) else None


KINDS = (
    "say",
    "choice",
    "text",
    "set",
    "branch",
    "goto",
    "end",
    "pick",
    "remind",
    "document",
    "request",
    "recall",
    "submit",
    "show",
)
PARAM_SOURCES = {
    "country",
    "now",
    "now_in",
    "language",
    "answer",
    "item",
    "chosen",
    "fact",
    "statement",
    "ga",  # the next General Assembly among the listed events: `$ga start medium`
}
REMIND_SCOPES = {"event", "event_off", "all", "none"}
DOCUMENT_KINDS = {"ics"}
REQUEST_KINDS = {"practice_call"}
RECALL_KINDS = {"statement"}  # copy the person's last submitted statement into the answers
SUBMIT_KINDS = {"statement", "broadcast", "helped", "forget_me"}
SHOW_KINDS = {"broadcast_preview", "delivery_report", "my_data"}
VALIDATORS = {"farm"}
SETTABLE = {"language", "country", "timezone", "consent", "onboarded"}
STEP_KEYS = {
    *KINDS,
    "options",
    "next",
    "save_as",
    "max_length",
    "params",
    "note",
    "else",
    "prompt",
    "label",
    "limit",
    "empty",
    "item",
    "validate",
    "remember",
}
ANSWERS = ("yes", "no")
OPTION_KEYS = {
    "more",
    "means",
    "remember",
    "id",
    "label",
    "literal",
    "country",
    "next",
    "flow",
    "keyword",
    "set",
    "when",
    "params",
    "note",
}
OPTION_KEYWORDS = {"help", "language", "stop", "menu"}
FLOW_KEYS = {"id", "version", "steps", "resumable", "needs_consent", "roles"}
ROLES = {"smallholder", "champion", "secretariat"}


def parse_flow(data: Mapping[str, Any]) -> Flow:
    _no_unknown(data, FLOW_KEYS, "flow")
    flow_id = _str(data.get("id"), "flow id")
    where = f"flow {flow_id}"
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise FlowError(f"{where}: version must be a positive integer")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, Mapping) or not raw_steps:
        raise FlowError(f"{where}: steps must be a non-empty mapping")
    steps = {str(k): _parse_step(str(k), v, where) for k, v in raw_steps.items()}
    flow = Flow(
        id=flow_id,
        version=version,
        steps=steps,
        order=tuple(steps),
        resumable=bool(data.get("resumable", False)),
        needs_consent=bool(data.get("needs_consent", True)),
        roles=_roles(data.get("roles"), where),
    )
    _check_targets(flow)
    return flow


def _roles(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not set(raw) <= ROLES:
        raise FlowError(f"{where}: roles must be a list of {sorted(ROLES)}")
    return tuple(raw)


def _parse_step(step_id: str, raw: Any, where: str) -> Step:
    where = f"{where}, step {step_id}"
    if not isinstance(raw, Mapping):
        raise FlowError(f"{where}: a step must be a mapping")
    _no_unknown(raw, STEP_KEYS, where)
    kinds = [k for k in KINDS if k in raw]
    if len(kinds) != 1:
        raise FlowError(f"{where}: needs exactly one of {', '.join(KINDS)}")
    kind = kinds[0]
    params = _params(raw.get("params"), where)
    step = Step(id=step_id, kind=kind, next=_opt_str(raw.get("next"), where))
    if kind == "say":
        return _with(step, text=_text(raw["say"], params, where))
    if kind == "choice":
        options = tuple(_parse_option(o, where) for o in raw.get("options") or ())
        if not options:
            raise FlowError(f"{where}: a choice needs options")
        prompt = _text(raw["choice"], params, where) if raw["choice"] is not None else None
        return _with(step, text=prompt, options=options, save_as=raw.get("save_as"))
    if kind == "text":
        limit = raw.get("max_length")
        if not isinstance(limit, int) or limit < 1:
            raise FlowError(f"{where}: a text step needs max_length")
        check = _opt_str(raw.get("validate"), where)
        if check is not None and check not in VALIDATORS:
            raise FlowError(f"{where}: validate must be one of {sorted(VALIDATORS)}")
        text = _text(raw["text"], params, where)
        return _with(step, text=text, max_length=limit, save_as=raw.get("save_as"), validate=check)
    if kind == "set":
        fields = raw["set"] or {}
        return _with(
            step, set=_settable(fields, where), remember=_mapping(raw.get("remember") or {}, where)
        )
    if kind == "branch":
        return _with(
            step, cases=_cases(raw["branch"], where), next=_opt_str(raw.get("else"), where)
        )
    if kind == "goto":
        return _with(step, flow=_str(raw["goto"], where))
    if kind == "pick":
        return _parse_pick(step, raw, params, where)
    if kind in ("remind", "document", "request", "recall", "submit", "show"):
        return _parse_effect(step, kind, raw, where)
    return step


def _parse_pick(
    step: Step, raw: Mapping[str, Any], params: Mapping[str, ParamSpec], where: str
) -> Step:
    limit = raw.get("limit", 9)
    if not isinstance(limit, int) or not 1 <= limit <= 9:
        raise FlowError(f"{where}: limit must be 1 to 9 (one digit to answer)")
    if "prompt" not in raw or "label" not in raw or "save_as" not in raw:
        raise FlowError(f"{where}: a pick needs prompt, label and save_as")
    return _with(
        step,
        collection=_str(raw["pick"], where),
        text=_text(raw["prompt"], params, where),
        label=_text(raw["label"], params, where),
        limit=limit,
        save_as=_str(raw["save_as"], where),
        empty=_opt_str(raw.get("empty"), where),
        options=tuple(_parse_option(o, where) for o in raw.get("options") or ()),
    )


def _parse_effect(step: Step, kind: str, raw: Mapping[str, Any], where: str) -> Step:
    allowed = {
        "remind": REMIND_SCOPES,
        "document": DOCUMENT_KINDS,
        "request": REQUEST_KINDS,
        "recall": RECALL_KINDS,
        "submit": SUBMIT_KINDS,
        "show": SHOW_KINDS,
    }[kind]
    value = _str(raw[kind], where)
    if value not in allowed:
        raise FlowError(f"{where}: {kind} must be one of {sorted(allowed)}")
    item = _opt_str(raw.get("item"), where)
    needs_item = kind == "document" or value in ("event", "event_off", "helped")
    if needs_item and item is None:
        raise FlowError(f"{where}: {kind} {value} needs `item`, the answer holding the event")
    return _with(step, value=value, item=item)


def _parse_option(raw: Any, where: str) -> OptionSpec:
    if not isinstance(raw, Mapping):
        raise FlowError(f"{where}: an option must be a mapping")
    _no_unknown(raw, OPTION_KEYS, f"{where}, option")
    option_id = _str(raw.get("id"), f"{where}: option id")
    where = f"{where}, option {option_id}"
    if sum(k in raw for k in ("label", "literal", "country")) != 1:
        raise FlowError(f"{where}: needs exactly one of label, literal, country")
    params = _params(raw.get("params"), where)
    if "label" in raw:
        label = _text(raw["label"], params, where)
    elif "literal" in raw:
        label = TextSpec(literal=_str(raw["literal"], where))
    else:
        label = TextSpec(country=_str(raw["country"], where))
    when = Condition(_mapping(raw["when"], where)) if "when" in raw else None
    keyword = _opt_str(raw.get("keyword"), where)
    if keyword is not None and keyword not in OPTION_KEYWORDS:
        raise FlowError(f"{where}: keyword must be one of {sorted(OPTION_KEYWORDS)}")
    if sum(x is not None for x in (raw.get("next"), raw.get("flow"), keyword)) > 1:
        raise FlowError(f"{where}: use only one of next, flow, keyword")
    more = raw.get("more", False)
    if not isinstance(more, bool):
        raise FlowError(f"{where}: more must be true or false")
    if more and any(raw.get(k) is not None for k in ("next", "flow", "keyword")):
        raise FlowError(f"{where}: a more option shows the same pick's next items: no next")
    means = _opt_str(raw.get("means"), where)
    if means is not None and means not in ANSWERS:
        raise FlowError(f"{where}: means must be one of {', '.join(ANSWERS)}")
    return OptionSpec(
        id=option_id,
        label=label,
        next=_opt_str(raw.get("next"), where),
        flow=_opt_str(raw.get("flow"), where),
        keyword=keyword,
        set=_settable(raw.get("set") or {}, where),
        remember=_mapping(raw.get("remember") or {}, where),
        when=when,
        means=means,
        more=more,
    )


def _text(raw: Any, params: Mapping[str, ParamSpec], where: str) -> TextSpec:
    if isinstance(raw, Mapping) and set(raw) == {"literal"}:
        return TextSpec(literal=_str(raw["literal"], where))
    msgid = _str(raw, where)
    # A step's params serve all its texts (a pick's prompt and its label): keep those used.
    used = {name: spec for name, spec in params.items() if f"%({name})s" in msgid}
    missing = set(re.findall(r"%\((\w+)\)s", msgid)) - set(used)
    if missing:
        raise FlowError(f"{where}: no params for {sorted(missing)} in {msgid!r}")
    return TextSpec(msgid=msgid, params=used)


def _params(raw: Any, where: str) -> dict[str, ParamSpec]:
    if raw is None:
        return {}
    specs = {}
    for name, value in _mapping(raw, where).items():
        text = _str(value, f"{where}, param {name}")
        if not text.startswith("$"):
            raise FlowError(f"{where}: param {name} must name a source like $country")
        source, _, arg = text[1:].partition(" ")
        if source not in PARAM_SOURCES:
            raise FlowError(f"{where}: unknown param source ${source}")
        specs[str(name)] = ParamSpec(source, arg or None)
    return specs


def _cases(raw: Any, where: str) -> tuple[tuple[Condition, str], ...]:
    if not isinstance(raw, list) or not raw:
        raise FlowError(f"{where}: branch needs a list of cases")
    cases = []
    for case in raw:
        if not isinstance(case, Mapping) or set(case) != {"if", "next"}:
            raise FlowError(f"{where}: each case needs exactly `if` and `next`")
        cases.append((Condition(_mapping(case["if"], where)), _str(case["next"], where)))
    return tuple(cases)


def _check_targets(flow: Flow) -> None:
    for step in flow.steps.values():
        targets = [
            step.next,
            step.empty,
            *(o.next for o in step.options),
            *(n for _, n in step.cases),
        ]
        for target in targets:
            if target is not None and target not in flow.steps:
                raise FlowError(f"flow {flow.id}, step {step.id}: unknown next step {target!r}")


def _settable(raw: Any, where: str) -> dict[str, Any]:
    fields = _mapping(raw, where)
    unknown = set(fields) - SETTABLE
    if unknown:
        raise FlowError(f"{where}: cannot set {sorted(unknown)}; settable: {sorted(SETTABLE)}")
    return fields


def _with(step: Step, **changes: Any) -> Step:
    return Step(**{**step.__dict__, **changes})


def _no_unknown(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(map(str, raw)) - allowed
    if unknown:
        raise FlowError(f"{where}: unknown keys {sorted(unknown)}")


def _str(value: Any, where: str) -> str:
    # YAML reads a bare `yes` or `no` as a boolean: insist on real strings.
    if not isinstance(value, str) or not value.strip():
        raise FlowError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _opt_str(value: Any, where: str) -> str | None:
    return None if value is None else _str(value, where)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise FlowError(f"{where}: expected a mapping, got {value!r}")
    return {str(k): v for k, v in value.items()}
