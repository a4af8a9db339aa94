"""`start` and `resume`: one turn of a conversation, as a pure function.

A turn reads the state, the person's profile and the input, and returns the new state and
events. It runs steps until one waits for the user (a choice, a text answer) or the flow ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.engine import texts
from bot.engine.events import (
    AskChoice,
    AskText,
    Event,
    FlowEnded,
    FlowStarted,
    Option,
    Refused,
    RequestHelp,
    SendDocument,
    SendText,
    SetField,
    SetReminder,
    Show,
    Submit,
    SubmitStatement,
    is_visible,
)
from bot.engine.flow import Condition, Flow, OptionSpec, Step, TextSpec
from bot.engine.keywords import Keyword
from bot.engine.messages import Msg, Text
from bot.engine.params import Scope, chosen, next_ga, reads_of, resolve, without_params
from bot.engine.state import Bookmark, Context, Input, Item, State, Waiting
from bot.engine.statement import statement_msg
from bot.engine.validate import CHECKS

ITEM_PREFIX = "item:"  # option ids of listed items, apart from a pick's own options
PAGE = "_page"  # answers: where the list on screen started, for its "More" option
STOP_CHECK = "_stop_check"  # the answer held while a STOP word typed at a question is asked about

MENU_FLOW = "menu"
ONBOARDING_FLOW = "onboarding"
LANGUAGE_FLOW = "language"
REQUIRED_FLOWS = (MENU_FLOW, ONBOARDING_FLOW, LANGUAGE_FLOW)
# Keywords that open a flow (the flow's `roles` decide who may).
KEYWORD_FLOWS = {
    Keyword.MENU: MENU_FLOW,
    Keyword.LANGUAGE: LANGUAGE_FLOW,
    Keyword.START: MENU_FLOW,
    Keyword.MY_DATA: "my_data",
    Keyword.DELETE_MY_DATA: "forget_me",
    Keyword.BROADCAST: "broadcast",
    Keyword.FOLLOWUP: "followup",
    Keyword.REPORT: "report",
}

# A flow that runs this many steps without waiting for the user is looping.
MAX_STEPS_PER_TURN = 200


class FlowLoopError(RuntimeError):
    pass


@dataclass(frozen=True)
class Turn:
    state: State
    events: tuple[Event, ...]
    # What the turn read besides its state, input, profile and channel: "now", "data" (the
    # listed items), "facts". A turn that read none of them gives the same outcome to anyone
    # in that state sending that input, so callers may keep it (bot/turncache.py).
    reads: frozenset[str] = frozenset()

    @property
    def visible(self) -> tuple[Event, ...]:
        return tuple(e for e in self.events if is_visible(e))


def start(flow_id: str, ctx: Context, state: State | None = None) -> Turn:
    run = _Run(state or State(), ctx)
    run.enter(flow_id)
    return run.turn()


def resume(state: State, inp: Input, ctx: Context) -> Turn:
    run = _Run(state, ctx)
    run.handle(inp)
    return run.turn()


class _Run:
    def __init__(self, state: State, ctx: Context) -> None:
        self.ctx = ctx
        self.profile = ctx.profile
        self.state = state
        self.events: list[Event] = []
        self.steps_run = 0
        self.silent = False  # an opted-out person gets no answer
        self.reads: set[str] = set()
        self._more_items = False  # while a pick is asked: it has more items than it shows
        self._offset = 0  # where the pick about to be asked starts (after "More")

    def turn(self) -> Turn:
        return Turn(self.state, tuple(self.events), frozenset(self.reads))

    # -- input ---------------------------------------------------------------------------

    def handle(self, inp: Input) -> None:
        # A tapped button does what it says, even if its label happens to be a keyword.
        keyword = (
            self.ctx.keywords.match(inp.text) if inp.kind == "text" and not inp.tapped else None
        )
        if self.profile.opted_out:
            self._while_opted_out(keyword)
            return
        if keyword is not None and self._at_text_question():
            # What a person writes at a question is their answer: a name (Huy), a place
            # (Socorro), a challenge ("Language"). MENU alone still leaves; STOP asks first.
            if keyword is Keyword.STOP:
                self._ask_stop_check(inp.text)
                return
            if keyword is not Keyword.MENU:
                keyword = None
        if keyword is not None and not self.allowed(keyword):
            # Commands of other roles do not exist for this person: an ordinary unknown reply.
            self.events.append(Refused(keyword.value))
            keyword = None
        if keyword is not None:
            self.keyword(keyword)
        elif inp.kind == "media":
            self.say(texts.media_received())
            self.ask_again()
        elif inp.kind == "too_long":
            self.say(texts.too_long(inp.length, inp.limit))
            self.ask_again()
        elif inp.kind == "edited":
            self.say(texts.edited())
            self.ask_again(full=False)
        elif inp.kind == "empty":
            self.ask_again()
        else:
            self._answer(inp)
        if not any(is_visible(e) for e in self.events):
            # A flow that ended without a word still owes the user an answer: the menu.
            self._idle()

    def _while_opted_out(self, keyword: Keyword | None) -> None:
        if keyword is Keyword.START:
            self.set_field("opted_out", False)
            self.say(texts.welcome_back())
            self.enter(MENU_FLOW)
        elif keyword is Keyword.HELP:
            self.say(texts.stopped_help())
        else:
            self.silent = True

    def keyword(self, keyword: Keyword) -> None:
        if keyword is Keyword.HELP:
            self.say(texts.help_text())
            if self.state.waiting is not None:
                self.ask_again(full=False)
            return
        if keyword is Keyword.STOP:
            self.leave()
            self.set_field("opted_out", True)
            self.say(texts.stopped())
            return
        if keyword in (Keyword.REMIND_OFF, Keyword.REMIND_ON):
            on = keyword is Keyword.REMIND_ON
            self.events.append(SetReminder("all" if on else "none"))
            self.say(texts.reminders_on() if on else texts.reminders_off())
            if self.state.waiting is not None:
                self.ask_again(full=False)
            return
        in_onboarding = self.state.flow == ONBOARDING_FLOW and self.state.waiting is not None
        if keyword is Keyword.MENU and not self.profile.consent and in_onboarding:
            self.ask_again()  # no menu before consent: keep the person where they are
            return
        self.leave()
        self.enter(KEYWORD_FLOWS[keyword])

    def allowed(self, keyword: Keyword) -> bool:
        flow = self.ctx.flows.get(KEYWORD_FLOWS.get(keyword, ""))
        if keyword in KEYWORD_FLOWS and flow is None:
            return False  # a command whose flow is not installed
        return flow is None or not flow.roles or self.profile.role in flow.roles

    def _answer(self, inp: Input) -> None:
        flow = self.current_flow()
        waiting = self.state.waiting
        step = self.current_step(flow)
        if flow is None or waiting is None:
            self._idle()
        elif flow.roles and self.profile.role not in flow.roles:
            # Their role was taken away while they were in a staff flow: nothing of it is theirs.
            self.say(texts.no_longer_yours())
            self._idle()
        elif waiting.kind == "bookmark":
            self._answer_bookmark(flow, inp)
        elif waiting.kind == "stop_check":
            self._answer_stop_check(flow, inp)
        elif self.state.version != flow.version or step is None:
            self._restart_step(flow)
        elif waiting.kind == "choice":
            self._answer_choice(flow, step, waiting, inp)
        else:
            self._answer_text(flow, step, inp)

    def _answer_choice(self, flow: Flow, step: Step, waiting: Waiting, inp: Input) -> None:
        means = self.ctx.keywords.answer(inp.text) if inp.number is None else None
        number = inp.number if inp.number is not None else _meant(step, waiting, means)
        if number is None or not 1 <= number <= len(waiting.options):
            self.say(texts.not_understood(len(waiting.options)))
            self.ask_again(full=False)
            return
        option_id = waiting.options[number - 1]
        if option_id.startswith(ITEM_PREFIX) and step.kind == "pick":
            self._picked(flow, step, option_id.removeprefix(ITEM_PREFIX))
            return
        option = _option(step, option_id)
        if option is None:  # the flow changed under a stored question
            self._restart_step(flow)
            return
        if option.more and step.kind == "pick":
            shown = sum(1 for i in waiting.options if i.startswith(ITEM_PREFIX))
            self._offset = self.state.answers.get(PAGE, 0) + shown
            self.run(flow, step.id)
            return
        if step.save_as and step.kind == "choice":
            self.remember(step.save_as, option.id)
        for name, value in option.set.items():
            self.set_field(name, value)
        for key, value in option.remember.items():
            self.remember(key, value)
        if option.keyword is not None:
            self.keyword(Keyword(option.keyword))
        elif option.flow is not None:
            self.finish(flow)
            self.enter(option.flow)
        else:
            self.run(flow, option.next or step.next or flow.after(step.id))

    def _picked(self, flow: Flow, step: Step, item_id: str) -> None:
        assert step.save_as is not None and step.collection is not None
        if not any(item.id == item_id for item in self.data().get(step.collection, ())):
            self.say(texts.no_longer_listed())
            self.run(flow, step.id)  # the list as it is now
            return
        self.remember(step.save_as, {"collection": step.collection, "id": item_id})
        self.run(flow, step.next or flow.after(step.id))

    def _answer_text(self, flow: Flow, step: Step, inp: Input) -> None:
        if len(inp.text) > step.max_length:
            self.say(texts.too_long(len(inp.text), step.max_length))
            self.ask_again()
            return
        checked = CHECKS[step.validate](inp.text) if step.validate else {}
        if isinstance(checked, Msg):
            self.say(checked)
            self.ask_again()
            return
        if step.save_as:
            self.remember(step.save_as, inp.text)
        for key, value in checked.items():
            self.remember(key, value)
        self.run(flow, step.next or flow.after(step.id))

    def _at_text_question(self) -> bool:
        waiting = self.state.waiting
        return waiting is not None and waiting.kind == "text" and self.current_flow() is not None

    def _ask_stop_check(self, typed: str) -> None:
        answers = {**self.state.answers, STOP_CHECK: typed}
        self.state = self.state.evolve(
            answers=answers, waiting=Waiting("stop_check", ("stop", "answer"))
        )
        self._show_stop_check()

    def _show_stop_check(self) -> None:
        options = (Option("stop", texts.stop_yes()), Option("answer", texts.stop_was_answer()))
        self.events.append(AskChoice(texts.stop_check(), options))

    def _answer_stop_check(self, flow: Flow, inp: Input) -> None:
        typed = self.state.answers.get(STOP_CHECK)
        answers = {k: v for k, v in self.state.answers.items() if k != STOP_CHECK}
        means = self.ctx.keywords.answer(inp.text) if inp.number is None else None
        if means is not None:
            inp = replace(inp, number=1 if means == "yes" else 2)
        if inp.number not in (1, 2) or not isinstance(typed, str):
            self.say(texts.not_understood(2))
            self._show_stop_check()
            return
        self.state = self.state.evolve(answers=answers, waiting=Waiting("text"))
        step = self.current_step(flow)
        if inp.number == 1 or step is None or step.kind != "text":
            self.keyword(Keyword.STOP)
            return
        self._answer_text(flow, step, replace(inp, text=typed, number=None))

    def _answer_bookmark(self, flow: Flow, inp: Input) -> None:
        bookmark = self.state.bookmarks.get(flow.id)
        if inp.number not in (1, 2):
            self.say(texts.not_understood(2))
            self.ask_again(full=False)
            return
        self._drop_bookmark(flow.id)
        if inp.number == 1 and bookmark:
            # The answers given so far survive a flow update; only the place may be lost.
            self.state = self.state.evolve(answers=dict(bookmark.answers))
            same = bookmark.version == flow.version and bookmark.step in flow.steps
            self.run(flow, bookmark.step if same else flow.first)
            return
        self.run(flow, flow.first)

    # -- moving between flows -------------------------------------------------------------

    def current_flow(self) -> Flow | None:
        return self.ctx.flows.get(self.state.flow) if self.state.flow else None

    def current_step(self, flow: Flow | None) -> Step | None:
        if flow is None or self.state.step is None:
            return None
        return flow.steps.get(self.state.step)

    def enter(self, flow_id: str) -> None:
        flow = self.ctx.flows[flow_id]
        if flow.roles and self.profile.role not in flow.roles:
            flow = self.ctx.flows[MENU_FLOW]  # never: menus hide such entries; defence in depth
        if flow.needs_consent and not self.profile.consent:
            flow = self.ctx.flows[ONBOARDING_FLOW]
        self.events.append(FlowStarted(flow.id))
        self.state = State(flow=flow.id, version=flow.version, bookmarks=self.state.bookmarks)
        if flow.id in self.state.bookmarks:
            self._ask_bookmark()
        else:
            self.run(flow, flow.first)

    def leave(self) -> None:
        """Leave the current flow unfinished, keeping the place if the flow is resumable."""
        flow = self.current_flow()
        if flow is None:
            return
        bookmarks = dict(self.state.bookmarks)
        asked = self.state.waiting is not None and self.state.waiting.kind != "bookmark"
        if flow.resumable and asked and self.state.step:
            answers = {k: v for k, v in self.state.answers.items() if k != STOP_CHECK}
            bookmarks[flow.id] = Bookmark(self.state.step, flow.version, answers)
        self.events.append(FlowEnded(flow.id, completed=False))
        self.state = State(bookmarks=bookmarks)

    def finish(self, flow: Flow) -> None:
        self.events.append(FlowEnded(flow.id, completed=True))
        self.state = State(bookmarks=self.state.bookmarks)
        self._drop_bookmark(flow.id)

    def _idle(self) -> None:
        self.leave()
        self.enter(MENU_FLOW)

    def _restart_step(self, flow: Flow) -> None:
        step = self.current_step(flow)
        if step is not None and step.kind in ("choice", "text"):
            self.state = self.state.evolve(version=flow.version)
            self.run(flow, step.id)
        else:
            self.state = State(flow=flow.id, version=flow.version, bookmarks=self.state.bookmarks)
            self.run(flow, flow.first)

    # -- running steps ----------------------------------------------------------------------

    def run(self, flow: Flow, step_id: str | None) -> None:
        self.state = self.state.evolve(waiting=None)  # the question was answered
        while step_id is not None:
            self.steps_run += 1
            if self.steps_run > MAX_STEPS_PER_TURN:
                raise FlowLoopError(
                    f"flow {flow.id} ran {MAX_STEPS_PER_TURN} steps without waiting"
                )
            step = flow.steps[step_id]
            self.state = self.state.evolve(step=step.id, waiting=None)
            step_id = self._step(flow, step)
        if self.state.flow == flow.id and self.state.waiting is None:
            self.finish(flow)

    def _step(self, flow: Flow, step: Step) -> str | None:
        """Run one step; return the next step id, or None to stop (waiting, ended, jumped)."""
        following = step.next or flow.after(step.id)
        if step.kind == "say":
            assert step.text is not None
            self.say(self.text(step.text))
            return following
        if step.kind == "choice":
            self._ask_choice(step, self.visible_options(step), full=True)
            return None
        if step.kind == "text":
            assert step.text is not None
            self.events.append(AskText(self.text(step.text), step.max_length))
            self.state = self.state.evolve(waiting=Waiting("text"))
            return None
        if step.kind == "set":
            for name, value in step.set.items():
                self.set_field(name, value)
            for key, value in step.remember.items():
                self.remember(key, value)
            return following
        if step.kind == "branch":
            return next((t for c, t in step.cases if self.holds(c)), following)
        if step.kind == "goto":
            assert step.flow is not None
            self.finish(flow)
            self.enter(step.flow)
            return None
        if step.kind == "pick":
            every = list(self.data().get(step.collection or "", ()))
            if not every:
                return step.empty or following
            offset, self._offset = (self._offset if self._offset < len(every) else 0), 0
            page = every[offset : offset + step.limit]
            self._more_items = len(every) > offset + step.limit
            # Later pages go on from the first: its prompt ("...the next calls") is not repeated.
            self._ask_pick(step, page, self.visible_options(step), full=offset == 0)
            self._more_items = False
            self._note_page(offset)
            return None
        if step.kind in ("remind", "document", "request"):
            self._effect(step)
            return following
        if step.kind == "recall":  # the last submitted statement, to update it
            recalled = self.facts().get("statement_answers") or {}
            self.state = self.state.evolve(answers={**self.state.answers, **recalled})
            return following
        if step.kind == "submit":
            self._submit(step)
            return following
        if step.kind == "show":
            assert step.value is not None
            self.events.append(Show(step.value, dict(self.state.answers)))
            return following
        self.finish(flow)  # end
        return None

    def _submit(self, step: Step) -> None:
        answers = dict(self.state.answers)
        if step.value == "statement":
            self.events.append(SubmitStatement(answers, statement_msg(answers)))
            return
        picked = chosen(answers, step.item, self.data()) if step.item else None
        if step.item is not None and picked is None:
            return  # the item vanished since it was listed: nothing to do
        assert step.value is not None
        self.events.append(Submit(step.value, answers, picked.id if picked else None))

    def _effect(self, step: Step) -> None:
        assert step.value is not None
        picked = chosen(self.state.answers, step.item, self.data()) if step.item else None
        if step.kind == "request":
            self.events.append(RequestHelp(step.value))
        elif step.kind == "remind":
            self.events.append(SetReminder(step.value, picked.id if picked else None))
        elif picked is not None:  # a document about an item that still exists
            self.events.append(SendDocument(step.value, picked.id))

    def ask_again(self, full: bool = True) -> None:
        flow, waiting = self.current_flow(), self.state.waiting
        step = self.current_step(flow)
        if flow is not None and waiting is not None and waiting.kind == "bookmark":
            self._ask_bookmark()
        elif waiting is not None and waiting.kind == "stop_check":
            self._show_stop_check()
        elif waiting is None or step is None:
            self._idle()
        else:
            if step.kind == "text":
                assert step.text is not None
                self.events.append(AskText(self.text(step.text), step.max_length))
                return
            if step.kind == "pick":
                self._ask_again_pick(step, waiting, full)
                return
            options = [o for o in (_option(step, i) for i in waiting.options) if o is not None]
            self._ask_choice(step, options, full)

    def _ask_again_pick(self, step: Step, waiting: Waiting, full: bool) -> None:
        """The same numbers as before: items that vanished since are left out."""
        by_id = {i.id: i for i in self.data().get(step.collection or "", ())}
        items = [
            by_id[i.removeprefix(ITEM_PREFIX)]
            for i in waiting.options
            if i.removeprefix(ITEM_PREFIX) in by_id
        ]
        extra = [o for o in (_option(step, i) for i in waiting.options) if o is not None]
        self._ask_pick(step, items, extra, full)

    def _ask_choice(self, step: Step, options: list[OptionSpec], full: bool) -> None:
        prompt = self.text(step.text) if full and step.text is not None else None
        shown = tuple(Option(o.id, self.text(o.label)) for o in options)
        self.events.append(AskChoice(prompt, shown))
        self.state = self.state.evolve(waiting=Waiting("choice", tuple(o.id for o in options)))

    def _ask_pick(self, step: Step, items: list[Item], extra: list[OptionSpec], full: bool) -> None:
        assert step.label is not None
        listed = [Option(f"{ITEM_PREFIX}{i.id}", self.text(step.label, item=i)) for i in items]
        shown = (*listed, *(Option(o.id, self.text(o.label)) for o in extra))
        prompt = self.text(step.text) if full and step.text is not None else None
        self.events.append(AskChoice(prompt, tuple(shown)))
        self.state = self.state.evolve(waiting=Waiting("choice", tuple(o.id for o in shown)))

    def _ask_bookmark(self) -> None:
        options = (
            Option("continue", texts.continue_option()),
            Option("restart", texts.restart_option()),
        )
        self.events.append(AskChoice(texts.continue_question(), options))
        self.state = self.state.evolve(
            step=None, waiting=Waiting("bookmark", ("continue", "restart"))
        )

    def _drop_bookmark(self, flow_id: str) -> None:
        if flow_id in self.state.bookmarks:
            rest = {k: v for k, v in self.state.bookmarks.items() if k != flow_id}
            self.state = self.state.evolve(bookmarks=rest)

    # -- small effects ------------------------------------------------------------------------

    def say(self, text: Text) -> None:
        self.events.append(SendText(text))

    def set_field(self, name: str, value: Any) -> None:
        self.events.append(SetField(name, value))
        self.profile = self.profile.with_field(name, value)

    def _note_page(self, offset: int) -> None:
        """Where the list on screen starts, for its "More" (kept only past the first page)."""
        answers = {k: v for k, v in self.state.answers.items() if k != PAGE}
        if offset:
            answers[PAGE] = offset
        self.state = self.state.evolve(answers=answers)

    def remember(self, key: str, value: Any) -> None:
        self.state = self.state.evolve(answers={**self.state.answers, key: value})

    def visible_options(self, step: Step) -> list[OptionSpec]:
        return [
            o
            for o in step.options
            if (o.flow is None or o.flow in self.ctx.flows)
            and (o.when is None or self.holds(o.when))
        ]

    def holds(self, condition: Condition) -> bool:
        for name, expected in condition.fields.items():
            actual = self._condition_value(name)
            if isinstance(expected, list) and actual not in expected:
                return False
            if not isinstance(expected, list) and actual != expected:
                return False
        return True

    def _condition_value(self, name: str) -> Any:
        """`channel`, a fact (`statement_submitted`), an answer (`answer.in_group`), or a
        person field (`country`); `ga_scheduled` (a General Assembly is listed) and, on a
        pick's own options, `more_items` (more items than the pick shows)."""
        if name == "channel":
            return self.ctx.channel
        if name == "ga_scheduled":
            return next_ga(self.data()) is not None
        if name == "more_items":
            return self._more_items
        if name.startswith("answer."):
            return self.state.answers.get(name.removeprefix("answer."))
        if name in self.ctx.facts:
            return self.facts()[name]
        return self.profile.get(name)

    def text(self, spec: TextSpec, item: Item | None = None) -> Text:
        plain = without_params(spec)
        if plain is not None:
            return plain
        self.reads |= reads_of(spec)
        scope = Scope(
            self.profile, self.ctx.now, self.state.answers, self.ctx.data, item, self.ctx.facts
        )
        return resolve(spec, scope)

    def data(self) -> Mapping[str, Sequence[Item]]:
        self.reads.add("data")
        return self.ctx.data

    def facts(self) -> Mapping[str, Any]:
        self.reads.add("facts")
        return self.ctx.facts


def _meant(step: Step, waiting: Waiting, means: str | None) -> int | None:
    """The number of the one option shown that a plain "yes" or "no" answers, if any."""
    if means is None:
        return None
    numbers = [
        number
        for number, option_id in enumerate(waiting.options, 1)
        if (option := _option(step, option_id)) is not None and option.means == means
    ]
    return numbers[0] if len(numbers) == 1 else None


def _option(step: Step, option_id: str) -> OptionSpec | None:
    return next((o for o in step.options if o.id == option_id), None)
