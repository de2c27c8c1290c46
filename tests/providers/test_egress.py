"""R-MEDIA's guard on inbound media URLs (providers/egress.py): nothing is fetched from loopback,
private, link-local, unspecified, multicast or reserved addresses, on any redirect hop. The fake
providers listen on 127.0.0.1, so the other tests lift the guard (FETCH_PRIVATE_ADDRESSES); here
it is on. No test resolver maps a name to a public-looking address: the address check is tested on
literal addresses and on `localhost`, the redirect against fake Twilio's real redirect."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from models import Provider
from providers.egress import PublicOnlyTransport, RefusedAddress, is_public, media_client, public_addresses
from providers.files import HttpMediaFetcher
from providers.sandbox.twilio import FakeTwilio
from resolvers.files import FetchFailed
from tests.files_support import PDF
from tests.provider_support import ACCOUNT_SID, AUTH_TOKEN

CREDENTIALS = {"accountSid": ACCOUNT_SID, "authToken": AUTH_TOKEN}
TIMEOUT = httpx.Timeout(5.0)

REFUSED = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "10.1.2.3",  # RFC 1918
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # carrier-grade NAT
    "169.254.169.254",  # link-local: the cloud metadata address
    "0.0.0.0",  # unspecified
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "::1",
    "::",
    "fc00::1",  # unique local
    "fd12:3456::1",
    "fe80::1",  # link-local
    "ff02::1",  # multicast
    "::ffff:127.0.0.1",  # IPv4 written as IPv6
    "::ffff:10.0.0.1",
]
PUBLIC = ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED)
def test_r_media_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_r_media_public_addresses_are_allowed(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "10.0.0.7", "169.254.169.254", "[::1]", "::1"])
async def test_r_media_a_host_resolving_to_a_non_public_address_is_refused(host: str) -> None:
    with pytest.raises(RefusedAddress):
        await public_addresses(host.strip("[]"), 80, within=5)


async def test_r_media_a_public_literal_address_is_kept_as_checked() -> None:
    # what is connected to is the address checked: no second lookup
    assert await public_addresses("93.184.215.14", 443, within=5) == ["93.184.215.14"]


@pytest.mark.parametrize(
    "url",
    [
        "{media_url}",  # fake Twilio's own media URL, on 127.0.0.1
        "http://localhost:{port}/media-content/{media}",
        "http://10.255.255.1:{port}/media",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_r_media_the_media_client_refuses_non_public_urls_before_any_request(
    fake_twilio: FakeTwilio, url: str
) -> None:
    # given a real media file on fake Twilio (127.0.0.1)
    media_url = fake_twilio.add_media(ACCOUNT_SID, PDF, "application/pdf")
    media = media_url.rsplit("/", 1)[1]
    fake_twilio.media_requests.clear()
    target = url.format(media_url=media_url, port=fake_twilio.port, media=media)

    # when the guarded client fetches it
    async with media_client(timeout=TIMEOUT, private_addresses=False) as http:
        with pytest.raises(FetchFailed) as failure:
            await HttpMediaFetcher(http).fetch(Provider.TWILIO_WHATSAPP, CREDENTIALS, target, 10_000_000)

    # then it is refused for good, and nothing reached the server
    assert failure.value.permanent and "refused" in str(failure.value)
    assert fake_twilio.media_requests == []


async def test_r_media_a_redirect_to_a_non_public_address_is_refused(fake_twilio: FakeTwilio) -> None:
    # given fake Twilio's media URL, which redirects to its storage on another origin (localhost)
    url = fake_twilio.add_media(ACCOUNT_SID, PDF, "application/pdf")
    fake_twilio.media_requests.clear()
    assert url.startswith(f"http://127.0.0.1:{fake_twilio.port}/") and fake_twilio.storage_url.startswith(
        "http://localhost:"
    )
    # and a client that lets the first hop (fake Twilio's origin) through, every other connection guarded
    first_hop = {f"http://127.0.0.1:{fake_twilio.port}": httpx.AsyncHTTPTransport()}

    # when it fetches the media
    async with httpx.AsyncClient(timeout=TIMEOUT, transport=PublicOnlyTransport(), mounts=first_hop) as http:
        with pytest.raises(FetchFailed) as failure:
            await HttpMediaFetcher(http).fetch(Provider.TWILIO_WHATSAPP, CREDENTIALS, url, 10_000_000)

    # then the first hop was answered, the redirect's connection refused: a permanent failure
    assert len(fake_twilio.media_requests) == 1
    assert failure.value.permanent and "localhost" in str(failure.value)

    # (without the guard on the second hop, the same fetch succeeds: what was refused is only the hop)
    async with media_client(timeout=TIMEOUT, private_addresses=True) as http:
        fetched = await HttpMediaFetcher(http).fetch(Provider.TWILIO_WHATSAPP, CREDENTIALS, url, 10_000_000)
    assert fetched.data == PDF
