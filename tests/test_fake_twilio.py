"""The fake Twilio API, exercised with the real twilio SDK (sync and async clients)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import httpx
import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance

from tests.fakes.twilio_api import CreateRecord, FakeTwilio, Fault
from tests.waiting import wait_until, wait_until_async

SMS_FROM = "+15005550006"
WA_FROM = "whatsapp:+15005550006"
ALICE = "+6591234567"
BOB = "+6598765432"
CONTENT_SID = "HX" + "ab" * 16
SID = re.compile(r"^SM[0-9a-f]{32}$")


class HeaderAuthAsyncHttpClient(AsyncTwilioHttpClient):
    """AsyncTwilioHttpClient without aiohttp 3.14's deprecated BasicAuth, honouring `timeout`.

    The stock client builds ``aiohttp.BasicAuth`` and passes ``auth=`` (two DeprecationWarnings
    per request) and never applies the timeout given to its constructor.
    """

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = aiohttp.encode_basic_auth(*auth)
        return await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )


def make_client(fake: FakeTwilio, http: TwilioHttpClient | AsyncTwilioHttpClient) -> Client:
    client = Client(fake.account_sid, fake.auth_token, http_client=http)
    client.api.base_url = fake.url
    return client


@pytest.fixture(scope="module")
def served() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def fake(served: FakeTwilio) -> FakeTwilio:
    served.reset()
    return served


@pytest.fixture
def sync_client(fake: FakeTwilio) -> Iterator[Client]:
    http = TwilioHttpClient(timeout=5)
    yield make_client(fake, http)
    if http.session is not None:
        http.session.close()


@pytest.fixture
async def async_client(fake: FakeTwilio) -> AsyncIterator[Client]:
    http = HeaderAuthAsyncHttpClient(timeout=5)  # an aiohttp session: needs the running loop
    yield make_client(fake, http)
    await http.close()


def send(client: Client, to: str = ALICE, body: str = "Mingalaba") -> MessageInstance:
    return client.messages.create(to=to, from_=SMS_FROM, body=body)


# -- success -------------------------------------------------------------------------------------


def test_sync_create_returns_a_message_instance(fake: FakeTwilio, sync_client: Client) -> None:
    message = sync_client.messages.create(to=ALICE, from_=SMS_FROM, body="Mingalaba")

    assert message.sid is not None and SID.match(message.sid)
    assert (message.status, message.to, message.from_) == ("queued", ALICE, SMS_FROM)
    assert (message.body, message.num_segments, message.error_code) == ("Mingalaba", "1", None)
    assert message.account_sid == fake.account_sid
    assert isinstance(message.date_created, datetime)
    assert message.uri == f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{message.sid}.json"
    [record] = fake.created
    assert (record.sid, record.http_status, record.to) == (message.sid, 201, ALICE)
    assert record.form == {"To": ALICE, "From": SMS_FROM, "Body": "Mingalaba"}


async def test_async_create_returns_a_message_instance(
    fake: FakeTwilio, async_client: Client
) -> None:
    message = await async_client.messages.create_async(to=ALICE, from_=SMS_FROM, body="hi")

    assert message.sid is not None and SID.match(message.sid)
    assert message.status == "queued"
    assert [record.sid for record in fake.created] == [message.sid]


async def test_concurrent_async_creates_get_distinct_sids(
    fake: FakeTwilio, async_client: Client
) -> None:
    sends = [
        async_client.messages.create_async(to=ALICE, from_=SMS_FROM, body=str(n)) for n in range(20)
    ]
    messages = await asyncio.gather(*sends)

    assert len({message.sid for message in messages}) == 20
    assert sorted(record.form["Body"] for record in fake.created) == sorted(map(str, range(20)))


def test_messaging_service_create_is_accepted(sync_client: Client) -> None:
    service = "MG" + "cd" * 16
    message = sync_client.messages.create(to=ALICE, messaging_service_sid=service, body="hi")

    assert (message.status, message.from_, message.messaging_service_sid) == (
        "accepted",
        None,
        service,
    )


def test_segments_follow_the_encoding(sync_client: Client) -> None:
    assert send(sync_client, body="a" * 160).num_segments == "1"
    assert send(sync_client, body="a" * 161).num_segments == "2"
    burmese = "မင်္ဂလာပါ" * 8  # UCS-2: 72 code units
    assert send(sync_client, body=burmese).num_segments == "2"


def test_content_template_fields_are_recorded(fake: FakeTwilio, sync_client: Client) -> None:
    variables = json.dumps({"1": "Ko Aung", "2": "14 Sep"})
    sync_client.messages.create(
        to="whatsapp:" + ALICE,
        from_=WA_FROM,
        content_sid=CONTENT_SID,
        content_variables=variables,
        status_callback="https://bot.example/twilio/status",
    )

    [record] = fake.created
    assert record.form["ContentSid"] == CONTENT_SID
    assert json.loads(record.form["ContentVariables"]) == {"1": "Ko Aung", "2": "14 Sep"}
    assert record.form["StatusCallback"] == "https://bot.example/twilio/status"
    assert "Body" not in record.form


def test_repeated_media_urls_are_all_recorded(fake: FakeTwilio, sync_client: Client) -> None:
    urls = ["https://bot.example/a.jpg", "https://bot.example/b.jpg"]
    message = sync_client.messages.create(to=ALICE, from_=SMS_FROM, media_url=urls)

    assert message.num_media == "2"
    assert fake.created[0].form_lists["MediaUrl"] == urls


# -- list and fetch ------------------------------------------------------------------------------


def test_list_filters_and_pages_newest_first(sync_client: Client) -> None:
    for body in ("one", "two", "three"):
        send(sync_client, to=ALICE, body=body)
    send(sync_client, to=BOB, body="other")

    assert [m.body for m in sync_client.messages.list(to=ALICE)] == ["three", "two", "one"]
    paged = sync_client.messages.list(to=ALICE, page_size=2)  # follows next_page_uri
    assert [m.body for m in paged] == ["three", "two", "one"]
    assert [m.body for m in sync_client.messages.list(from_=SMS_FROM, limit=1)] == ["other"]


def test_list_filters_by_date_sent(sync_client: Client) -> None:
    send(sync_client)
    yesterday = datetime.now(UTC) - timedelta(days=1)

    assert len(sync_client.messages.list(date_sent_after=yesterday)) == 1
    assert sync_client.messages.list(date_sent_before=yesterday) == []


def test_fetch_by_sid_and_unknown_sid(fake: FakeTwilio, sync_client: Client) -> None:
    sid = sync_client.messages.create(to=ALICE, from_=SMS_FROM, body="hi").sid
    assert sid is not None
    fake.set_status(sid, "delivered")

    fetched = sync_client.messages(sid).fetch()
    assert (fetched.body, fetched.status) == ("hi", "delivered")
    assert isinstance(fetched.date_sent, datetime)
    with pytest.raises(TwilioRestException) as caught:
        sync_client.messages("SM" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


# -- authentication and validation ---------------------------------------------------------------


def test_wrong_token_is_a_401(fake: FakeTwilio) -> None:
    http = TwilioHttpClient()
    client = Client(fake.account_sid, "not-the-token", http_client=http)
    client.api.base_url = fake.url
    with pytest.raises(TwilioRestException) as caught:
        send(client)
    assert (caught.value.status, caught.value.code) == (401, 20003)
    # A list that fails is a plain TwilioException from the SDK's Page, not a TwilioRestException.
    with pytest.raises(TwilioException) as listing:
        client.messages.list()
    assert not isinstance(listing.value, TwilioRestException)
    [record] = fake.requests
    assert (record.sid, record.http_status) == (None, 401)
    assert fake.created == []
    if http.session is not None:
        http.session.close()


def test_missing_credentials_get_a_basic_challenge(fake: FakeTwilio) -> None:
    response = httpx.get(f"{fake.url}{fake.messages_path}")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json()["code"] == 20003


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": "", "body": "hi"}, 21604),
        ({"to": "12345", "body": "hi"}, 21211),
        ({"to": ALICE}, 21602),
        ({"to": ALICE, "body": "x" * 1601}, 21617),
        ({"to": "whatsapp:" + ALICE, "body": "hi"}, 21910),
        ({"to": ALICE, "content_sid": "HXnope"}, 21655),
        ({"to": ALICE, "content_sid": CONTENT_SID, "content_variables": "{bad"}, 21656),
    ],
)
def test_invalid_creates_are_400s(
    fake: FakeTwilio, sync_client: Client, kwargs: dict[str, str], code: int
) -> None:
    with pytest.raises(TwilioRestException) as caught:
        sync_client.messages.create(from_=SMS_FROM, **kwargs)
    assert (caught.value.status, caught.value.code) == (400, code)
    assert fake.created == []


# -- scripted faults -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inject", "status", "code"),
    [
        (lambda fake: fake.inject_rate_limit(), 429, 20429),
        (lambda fake: fake.inject_server_error(500), 500, 20500),
        (lambda fake: fake.inject_server_error(503), 503, 20503),
        (lambda fake: fake.inject_api_error(21610), 400, 21610),
        (lambda fake: fake.inject_api_error(21211), 400, 21211),
        (lambda fake: fake.inject_api_error(63016), 400, 63016),
        (lambda fake: fake.inject_api_error(63018), 400, 63018),
        (lambda fake: fake.inject_api_error(21608), 400, 21608),
        (lambda fake: fake.inject(Fault(status=418, code=12345, message="teapot")), 418, 12345),
    ],
)
def test_injected_errors_raise_with_status_and_code(
    fake: FakeTwilio,
    sync_client: Client,
    inject: Callable[[FakeTwilio], None],
    status: int,
    code: int,
) -> None:
    inject(fake)
    with pytest.raises(TwilioRestException) as caught:
        send(sync_client)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert fake.created == []
    assert SID.match(send(sync_client).sid)  # the script is used up


async def test_injected_error_reaches_the_async_client(
    fake: FakeTwilio, async_client: Client
) -> None:
    fake.inject_api_error(63016)
    with pytest.raises(TwilioRestException) as caught:
        await async_client.messages.create_async(to=ALICE, from_=SMS_FROM, body="late")
    assert (caught.value.status, caught.value.code) == (400, 63016)
    assert "outside the allowed window" in caught.value.msg


def test_faults_are_consumed_in_order(fake: FakeTwilio, sync_client: Client) -> None:
    fake.inject_rate_limit()
    fake.inject_server_error(503)

    statuses = []
    for _ in range(3):
        try:
            send(sync_client)
            statuses.append(201)
        except TwilioRestException as error:
            statuses.append(error.status)
    assert statuses == [429, 503, 201]
    assert [record.http_status for record in fake.requests] == [429, 503, 201]
    assert fake.count_429 == 1


def test_a_fault_for_one_number_spares_the_others(fake: FakeTwilio, sync_client: Client) -> None:
    fake.inject_api_error(21610, to=BOB)

    send(sync_client, to=ALICE)
    with pytest.raises(TwilioRestException) as caught:
        send(sync_client, to=BOB)
    assert caught.value.code == 21610
    send(sync_client, to=BOB)
    assert [(r.to, r.http_status) for r in fake.requests] == [(ALICE, 201), (BOB, 400), (BOB, 201)]
    assert fake.pending_faults == []


def test_accepted_then_error_still_lists_the_message(fake: FakeTwilio, sync_client: Client) -> None:
    fake.inject_accepted_then_error()

    with pytest.raises(TwilioRestException) as caught:
        send(sync_client, to=BOB, body="did it go?")
    assert caught.value.status == 500
    [listed] = sync_client.messages.list(to=BOB)
    assert listed.body == "did it go?"
    [record] = fake.created
    assert (record.sid, record.http_status) == (listed.sid, 500)


async def test_accepted_then_error_async(fake: FakeTwilio, async_client: Client) -> None:
    fake.inject_accepted_then_error(503)

    with pytest.raises(TwilioRestException):
        await async_client.messages.create_async(to=BOB, from_=SMS_FROM, body="again?")
    listed = await async_client.messages.list_async(to=BOB)
    assert [message.body for message in listed] == ["again?"]


# -- timeouts ------------------------------------------------------------------------------------


def wait_for_created(fake: FakeTwilio, count: int) -> list[CreateRecord]:
    wait_until(
        lambda: len(fake.created) >= count,
        interval=0.01,
        message=lambda: f"{count} message(s) created at the fake ({len(fake.created)} so far)",
    )
    return fake.created


async def settle(fake: FakeTwilio, count: int) -> list[CreateRecord]:
    """Wait for a request the client gave up on, so it cannot land in the next test."""
    await wait_until_async(
        lambda: len(fake.requests) >= count,
        interval=0.01,
        message=lambda: f"{count} request(s) at the fake ({len(fake.requests)} so far)",
    )
    return fake.requests


def test_sync_client_times_out_and_the_message_still_lands(fake: FakeTwilio) -> None:
    fake.inject_delay(2.0)
    http = TwilioHttpClient(timeout=0.2)
    client = make_client(fake, http)

    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):  # not wrapped in a TwilioException
        send(client, to=BOB, body="slow")
    assert time.monotonic() - started < 1.0
    # The fake notices the hang-up, then creates the message as Twilio might have.
    assert [record.to for record in wait_for_created(fake, 1)] == [BOB]
    assert [message.body for message in client.messages.list(to=BOB)] == ["slow"]
    if http.session is not None:
        http.session.close()


def test_a_delay_can_also_lose_the_message(fake: FakeTwilio) -> None:
    fake.inject_delay(0.1, created=False)
    http = TwilioHttpClient(timeout=5)
    with pytest.raises(TwilioRestException) as caught:
        send(make_client(fake, http))
    assert caught.value.status == 500
    assert fake.created == []
    if http.session is not None:
        http.session.close()


async def test_async_client_timeout(fake: FakeTwilio) -> None:
    fake.inject_delay(2.0)
    http = HeaderAuthAsyncHttpClient(timeout=0.2)
    client = make_client(fake, http)
    with pytest.raises(TimeoutError):
        await client.messages.create_async(to=ALICE, from_=SMS_FROM, body="slow")
    await http.close()
    assert [record.form["Body"] for record in await settle(fake, 1)] == ["slow"]


async def test_asyncio_timeout_around_create_async(fake: FakeTwilio, async_client: Client) -> None:
    fake.inject_delay(2.0)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await async_client.messages.create_async(to=ALICE, from_=SMS_FROM, body="slow")
    assert [record.http_status for record in await settle(fake, 1)] == [201]


async def test_stock_async_client_warns_and_ignores_its_timeout(fake: FakeTwilio) -> None:
    """Why HeaderAuthAsyncHttpClient exists; if this fails, twilio or aiohttp changed."""
    fake.inject_delay(0.3)
    http = AsyncTwilioHttpClient(timeout=0.05)
    client = make_client(fake, http)
    with pytest.warns(DeprecationWarning, match="deprecated and will be removed"):
        message = await client.messages.create_async(to=ALICE, from_=SMS_FROM, body="slow")
    assert message.status == "queued"  # 0.3 s later, despite timeout=0.05
    await http.close()


# -- rate-limit mode -----------------------------------------------------------------------------


def test_rate_limit_mode_counts_429s() -> None:
    with FakeTwilio(rate_limit_per_second=5) as fake:
        http = TwilioHttpClient(timeout=5)
        client = make_client(fake, http)
        outcomes = []
        for n in range(8):
            try:
                send(client, body=str(n))
                outcomes.append(201)
            except TwilioRestException as error:
                outcomes.append(error.code)
        if http.session is not None:
            http.session.close()

    assert outcomes == [201] * 5 + [20429] * 3
    assert fake.count_429 == 3
    assert len(fake.created) == 5
