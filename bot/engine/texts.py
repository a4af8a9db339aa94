"""The engine's own sentences: what it says when a flow cannot (bad input, keywords)."""

from __future__ import annotations

from bot.engine.messages import Msg, msg


def not_understood(count: int) -> Msg:
    if count == 1:
        return msg("Sorry, I did not understand. Please reply %(first)s.", first=1)
    return msg(
        "Sorry, I did not understand. Please reply with a number from %(first)s to %(last)s.",
        first=1,
        last=count,
    )


def too_long(length: int, limit: int) -> Msg:
    return msg(
        "Sorry, your message is too long (%(length)s characters). "
        "Please send at most %(limit)s characters.",
        length=length,
        limit=limit,
    )


def media_received() -> Msg:
    return msg("Thank you! I can only read text, not photos, voice or files. Please reply in text.")


def edited() -> Msg:
    return msg(
        "I cannot see changes to a message already sent. Please send it again as a new message."
    )


def help_text() -> Msg:
    # Translators: MENU, LANGUAGE and STOP are keywords; write the word people should send in
    # your language (it must be one of the keywords in flows/keywords.yaml).
    return msg(
        "Reply with the number of your choice. You can send these words any time: "
        "MENU for the menu, LANGUAGE to change language, STOP to stop messages. "
        "Your Country Champion can also help you."
    )


def stopped() -> Msg:
    return msg("You will get no more messages from GPSNR. To start again, send START.")


def stopped_help() -> Msg:
    return msg("You stopped messages from GPSNR. To start again, send START.")


def welcome_back() -> Msg:
    return msg("Welcome back! You will get GPSNR messages again.")


def continue_question() -> Msg:
    return msg("Last time you stopped in the middle. Do you want to continue?")


def continue_option() -> Msg:
    return msg("Continue where I stopped")


def restart_option() -> Msg:
    return msg("Start again")


def something_went_wrong() -> Msg:
    return msg("Sorry, something went wrong on our side. Please send MENU to go on.")


def reminders_off() -> Msg:
    # Translators: REMIND ON is a keyword: use the words listed for it in flows/keywords.yaml.
    return msg("OK, no more call reminders. To get them again, send REMIND ON.")


def reminders_on() -> Msg:
    # Translators: REMIND OFF is a keyword: use the words listed for it in flows/keywords.yaml.
    return msg("OK, I will remind you before every call. To stop, send REMIND OFF.")


def no_longer_yours() -> Msg:
    # Translators: said to someone whose staff role (Country Champion, Secretariat) was taken
    # away while they were in a staff list or form; the menu follows.
    return msg("Sorry, this is no longer available to you.")


def no_longer_listed() -> Msg:
    # Translators: someone picked an entry of a list (a person, a call) that has left it since
    # the list was shown (another champion helped them, the call ended); the list follows.
    return msg("Sorry, that entry is no longer on the list.")


def stop_check() -> Msg:
    # Translators: asked when someone answers a question (their name, a challenge) with a word
    # that also means STOP: was it meant as the answer? Both options follow.
    return msg("Stop all messages from GPSNR?")


def stop_yes() -> Msg:
    return msg("Yes, stop")


def stop_was_answer() -> Msg:
    return msg("No, this was my answer")
