"""Requests the OP makes to URLs a client registered (jwks_uri, backchannel_logout_uri): server-side
request forgery, slow and endless answers, huge bodies, redirects. Only loopback listeners are
ever connected to: the attacks on other addresses must be refused before any connection."""

import ipaddress
import socket
import threading
import time

import pytest
from cryptojwt.jwk.ec import new_ec_key
from django.db import transaction

from oidc_provider import outbound
from oidc_provider.backchannel import ThreadDispatcher, deliver
from oidc_provider.models import BackchannelLogoutFailure
from oidc_provider.storage.client_keys import ClientKeys, JWKSFetchError, fetch_jwks
from tests.jwks_server import JWKSServer, tls_certificates


@pytest.fixture
def server(settings):
    settings.DEBUG = True  # the listener is http://127.0.0.1
    server = JWKSServer()
    yield server
    server.close()


@pytest.fixture
def internal(settings):
    """Another loopback listener: a service on the OP's network that no client may reach."""
    server = JWKSServer()
    yield server
    server.close()


@pytest.fixture
def no_allowed_hosts(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "OUTBOUND_ALLOWED_HOSTS": []}


@pytest.fixture
def no_connections(monkeypatch):
    """Any connection attempt fails the test: refusals must come before connecting."""

    def connect(*args):
        raise AssertionError("connected")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)


def jwks_error(url):
    with pytest.raises(JWKSFetchError) as caught:
        fetch_jwks(url)
    return str(caught.value)


def delivery(uri):
    return {"client_id": "rp1", "uri": uri, "logout_token": "a.logout.token"}


# --- addresses -------------------------------------------------------------------------------------


def test_jwks_uri_on_loopback_is_refused_without_the_allow_list(db, server, no_allowed_hosts):
    assert jwks_error(server.url) == "127.0.0.1, which is not a public address"
    assert server.fetches == 0


def test_jwks_uri_on_loopback_is_fetched_when_allowed(db, server, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "OUTBOUND_ALLOWED_HOSTS": ["127.0.0.1"]}
    assert fetch_jwks(server.url)["keys"] == [] and server.fetches == 1


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # cloud metadata (link-local)
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",  # private
        "100.64.0.1",  # shared address space (CGNAT)
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",  # unspecified, multicast, reserved
        "[::1]",
        "[::]",
        "[fe80::1]",
        "[fc00::1]",
        "[ff02::1]",
        "[::ffff:169.254.169.254]",
        "[2002:a9fe:a9fe::]",
        "[64:ff9b::a9fe:a9fe]",  # metadata, mapped/6to4/NAT64
    ],
)
def test_internal_addresses_are_refused_before_connecting(db, settings, no_allowed_hosts, no_connections, address):
    settings.DEBUG = False
    shown = address.strip("[]")
    expected = f"{ipaddress.ip_address(shown)}, which is not a public address"
    assert jwks_error(f"https://{address}/latest/meta-data/") == expected


@pytest.mark.parametrize(
    "address",
    [
        "192.0.0.192",
        "192.0.0.8",  # IETF protocol assignments (192.0.0.192: a cloud's metadata service)
        "[3fff::1]",
        "[2001:db8::1]",  # IPv6 documentation prefixes
        "192.31.196.1",
        "192.52.193.1",
        "192.175.48.1",
        "[2620:4f:8000::1]",
        "[5f00::1]",
        "[fec0::1]",
        "[2002:808:808::]",
        "[64:ff9b:1::808:808]",  # 6to4 and local-use NAT64, whatever they embed
    ],
)
def test_special_purpose_addresses_are_refused_on_every_python(db, settings, no_allowed_hosts, no_connections, address):
    """Python 3.11's ``is_global`` calls these global; the IANA special-purpose registries do not."""
    settings.DEBUG = False
    expected = f"{ipaddress.ip_address(address.strip('[]'))}, which is not a public address"
    assert jwks_error(f"https://{address}/latest/meta-data/") == expected


def test_nat64_is_judged_by_the_ipv4_address_it_embeds():
    """An IPv6-only OP behind DNS64 reaches IPv4 servers at 64:ff9b::/96 (RFC 6052)."""
    from oidc_provider.outbound import public

    assert public(ipaddress.ip_address("64:ff9b::808:808"))  # 8.8.8.8
    assert not public(ipaddress.ip_address("64:ff9b::c000:c0"))  # 192.0.0.192


def test_a_name_resolving_to_cloud_metadata_is_refused_before_connecting(db, settings, monkeypatch, no_connections):
    settings.DEBUG = False
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))],
    )
    assert (
        jwks_error("https://keys.rp.example/jwks")
        == "keys.rp.example resolves to 169.254.169.254, which is not a public address"
    )


def test_the_host_is_resolved_once_and_that_address_connected_to(db, server, settings, monkeypatch):
    """DNS rebinding: the address checked is the address connected to; no second lookup."""
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "OUTBOUND_ALLOWED_HOSTS": ["keys.rp.test"]}
    port = server.httpd.server_address[1]
    lookups = []

    def getaddrinfo(host, *args, **kwargs):
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "127.0.0.2"  # a second answer would differ
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert fetch_jwks(f"http://keys.rp.test:{port}/jwks")["keys"] == []
    assert lookups == ["keys.rp.test"]
    assert server.requests[0][2]["Host"] == f"keys.rp.test:{port}"


def test_tls_is_verified_for_the_host_name_at_the_checked_address(db, settings, monkeypatch, tmp_path):
    """Connecting to the checked address keeps TLS as strict as connecting by name: the certificate
    must be valid for the URL's host (sent as SNI) and chain to a trusted CA."""
    ca_file, cert_file, key_file = tls_certificates(tmp_path, "keys.rp.test")
    server = JWKSServer(tls=(cert_file, key_file))
    port = server.httpd.server_address[1]
    settings.DEBUG = False
    settings.OIDC_PROVIDER = {
        **settings.OIDC_PROVIDER,
        "OUTBOUND_ALLOWED_HOSTS": ["keys.rp.test", "other.rp.test"],
        "OUTBOUND_CA_FILE": ca_file,
    }
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda host, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
    )
    try:
        assert fetch_jwks(f"https://keys.rp.test:{port}/jwks")["keys"] == []
        assert jwks_error(f"https://other.rp.test:{port}/jwks") == (
            "other.rp.test: TLS certificate not accepted "
            "(Hostname mismatch, certificate is not valid for 'other.rp.test'.)"
        )
        settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "OUTBOUND_CA_FILE": None}  # certifi's CAs
        assert jwks_error(f"https://keys.rp.test:{port}/jwks") == (
            "keys.rp.test: TLS certificate not accepted (unable to get local issuer certificate)"
        )
        assert server.fetches == 1
    finally:
        server.close()


def test_http_jwks_uri_is_refused_outside_debug(db, server, settings):
    settings.DEBUG = False
    assert jwks_error(server.url) == "only https URLs are fetched" and server.fetches == 0


def test_a_url_with_credentials_is_refused(db, server):
    assert (
        jwks_error(server.url.replace("http://", "http://user:secret@")) == "a URL with user information is not fetched"
    )


# --- name lookups ----------------------------------------------------------------------------------


@pytest.fixture
def slow_dns(settings, monkeypatch):
    """A DNS zone an attacker controls answers ``*.slow.example`` slowly (until the test ends);
    ``keys.rp.test``, a real client's key server, is the loopback listener (allowed by name)."""
    server = JWKSServer({"keys": [new_ec_key("P-256", kid="rp-key").serialize()]})
    port = server.httpd.server_address[1]
    settings.DEBUG = True
    settings.OIDC_PROVIDER = {
        **settings.OIDC_PROVIDER,
        "OUTBOUND_ALLOWED_HOSTS": ["keys.rp.test"],
        "CLIENT_JWKS_TIMEOUT": 0.5,
    }
    release, lookups, hanging = threading.Event(), [], set()

    def getaddrinfo(host, *args, **kwargs):
        lookups.append(host)
        if host.endswith(".slow.example"):
            hanging.add(host)
            release.wait(30)
            hanging.discard(host)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        assert host == "keys.rp.test"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    server.slow_lookups, server.hanging, server.rp_url = lookups, hanging, f"http://keys.rp.test:{port}/jwks"
    server.release = lambda: release.set() or wait_for(lambda: not hanging and not outbound._lookups)
    yield server
    server.release()
    server.close()


def wait_for(condition, seconds=5):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def fetch_in_background(urls):
    """Client assertions naming the attacker's clients: each fetches its jwks_uri, in its own thread."""
    errors = []
    threads = [threading.Thread(target=lambda u=url: errors.append(jwks_error(u))) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_slow_name_lookups_of_an_attacker_cannot_make_a_real_clients_fetch_fail(db, slow_dns):
    """Eight lookups of four attacker's hosts hang (past their callers' deadlines): they take four
    lookup slots, one per host, and a real client's key fetch still resolves and succeeds."""
    urls = [f"http://h{i % 4}.slow.example/jwks" for i in range(8)]
    assert sorted(fetch_in_background(urls)) == sorted(
        f"h{i % 4}.slow.example: name lookup took too long" for i in range(8)
    )
    assert sorted(slow_dns.slow_lookups) == [f"h{i}.slow.example" for i in range(4)]  # one lookup per host
    assert slow_dns.hanging == {f"h{i}.slow.example" for i in range(4)}  # past their callers' deadlines
    keys = ClientKeys().bundle({"jwks_uri": slow_dns.rp_url})
    assert keys is not None, "the real client's keys were not fetched"
    assert [key.kid for key in keys.keys()] == ["rp-key"] and slow_dns.fetches == 1


def test_a_fetch_refused_for_lack_of_lookup_slots_is_not_remembered_as_the_clients_failure(db, slow_dns, monkeypatch):
    """With every lookup slot held by hung lookups, a real client's fetch fails at once, as busy, and
    its next request, once a slot is free, fetches its keys: no 30 s lockout."""
    monkeypatch.setattr(outbound, "RESOLVER_THREADS", 3)
    assert sorted(fetch_in_background([f"http://h{i}.slow.example/jwks" for i in range(3)])) == [
        f"h{i}.slow.example: name lookup took too long" for i in range(3)
    ]
    started = time.monotonic()
    assert jwks_error(slow_dns.rp_url) == "keys.rp.test: not looked up, every name lookup slot is taken"
    assert time.monotonic() - started < 0.4  # at once: not after waiting for a slot (CLIENT_JWKS_TIMEOUT, 0.5 s)
    keys = ClientKeys()
    assert keys.bundle({"jwks_uri": slow_dns.rp_url}) is None and slow_dns.fetches == 0
    slow_dns.release()
    assert [key.kid for key in keys.bundle({"jwks_uri": slow_dns.rp_url}).keys()] == ["rp-key"]
    assert slow_dns.fetches == 1


# --- redirects, size, time ---------------------------------------------------------------------------


def test_a_redirect_to_an_internal_port_is_not_followed(db, server, internal):
    server.status, server.location = 302, internal.url
    assert jwks_error(server.url) == "HTTP 302 (redirects are not followed)"
    assert internal.fetches == 0


@pytest.mark.parametrize("chunked", [True, False])
def test_a_huge_jwks_is_cut_at_the_cap(db, server, chunked):
    if chunked:  # no Content-Length: cut while reading
        server.offer = 20 * 2**20
    else:  # refused from its Content-Length
        server.padding = 20 * 2**20
    started = time.monotonic()
    assert jwks_error(server.url) == "127.0.0.1: response larger than 65536 bytes"
    assert time.monotonic() - started < 2
    if chunked:
        time.sleep(0.2)
        assert server.sent < 10 * 2**20  # the rest was never read


@pytest.mark.parametrize("where", ["body", "headers"])
def test_a_dripping_jwks_uri_cannot_outlast_the_deadline(db, server, settings, where):
    """A byte every 0.1 s for 5 s: each read is quick, their sum is not. Cut at the deadline (1 s)."""
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "CLIENT_JWKS_TIMEOUT": 1}
    server.drip, server.drip_headers = 0.1, where == "headers"
    started = time.monotonic()
    assert jwks_error(server.url) == "127.0.0.1: no complete answer within 1 s"
    assert 0.9 < time.monotonic() - started < 3  # well short of the 5 s the drip lasts


def test_nothing_is_sent_inside_a_database_transaction(db, server):
    """A transaction held open while a remote server takes its time holds locks (SQLite: the whole
    database) for that long."""
    with transaction.atomic():
        assert jwks_error(server.url) == "not sent inside a database transaction"
    assert server.fetches == 0


# --- back-channel logout ------------------------------------------------------------------------------


def test_backchannel_logout_to_http_is_refused_outside_debug(db, server, settings):
    settings.DEBUG = False
    assert deliver(delivery(server.url), attempts=3, backoff=0) is False
    failure = BackchannelLogoutFailure.objects.get()
    assert (failure.attempts, failure.error) == (1, "only https URLs are fetched")  # not retried
    assert server.fetches == 0


def test_backchannel_logout_to_cloud_metadata_is_refused(db, settings, no_connections):
    settings.DEBUG = False
    assert deliver(delivery("https://169.254.169.254/latest/api/token"), attempts=3, backoff=0) is False
    failure = BackchannelLogoutFailure.objects.get()
    assert (failure.attempts, failure.error) == (1, "169.254.169.254, which is not a public address")


def test_backchannel_logout_to_loopback_is_refused_without_the_allow_list(db, server, no_allowed_hosts):
    assert deliver(delivery(server.url), attempts=1) is False
    assert BackchannelLogoutFailure.objects.get().error == "127.0.0.1, which is not a public address"
    assert server.fetches == 0


def test_backchannel_logout_redirect_to_an_internal_port_is_not_followed(db, server, internal):
    server.status, server.location = 307, internal.url
    assert deliver(delivery(server.url), attempts=3, backoff=0) is False
    assert BackchannelLogoutFailure.objects.get().error == "HTTP 307" and internal.fetches == 0


def test_backchannel_logout_reads_no_huge_answer(db, server):
    """Only the status matters: a 20 MiB answer is not read (it was, whole)."""
    server.offer = 20 * 2**20
    started = time.monotonic()
    assert deliver(delivery(server.url), attempts=1) is True
    assert time.monotonic() - started < 2
    time.sleep(0.2)
    assert server.sent < 10 * 2**20


def test_a_dripping_backchannel_logout_uri_cannot_outlast_the_deadline(db, server):
    server.drip, server.drip_headers = 0.1, True
    started = time.monotonic()
    assert deliver(delivery(server.url), timeout=1, attempts=1) is False
    assert 0.9 < time.monotonic() - started < 3  # well short of the 5 s the drip lasts
    assert BackchannelLogoutFailure.objects.get().error == "127.0.0.1: no complete answer within 1 s"


def test_a_flood_of_logouts_gets_a_bounded_pool_not_a_thread_each(transactional_db, server, settings):
    """Deliveries beyond the workers and their queue are recorded as failed at once; dispatch never
    blocks, and the threads never outnumber BACKCHANNEL_LOGOUT_WORKERS."""
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "BACKCHANNEL_LOGOUT_WORKERS": 2, "BACKCHANNEL_LOGOUT_QUEUE": 3}
    server.delay = 0.5
    started = time.monotonic()
    ThreadDispatcher().dispatch([delivery(server.url) for _ in range(20)])
    assert time.monotonic() - started < 0.5
    threads = [t for t in threading.enumerate() if t.name.startswith("oidc-backchannel-logout")]
    assert len(threads) <= 2
    full = BackchannelLogoutFailure.objects.filter(error="not sent: the delivery queue was full")
    assert full.count() == 15 and {f.attempts for f in full} == {0}
    deadline = time.monotonic() + 10
    while server.fetches < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.6)
    assert server.fetches == 5 and BackchannelLogoutFailure.objects.count() == 15


def test_idpyoidc_cannot_send_requests_of_its_own(db, server):
    """Defect 67: idpyoidc's own HTTP client (``context.httpc``: request_uri, sector_identifier_uri, its
    back-channel logout) was ``requests.request``, bound by none of the rules above; it refuses now, even
    a host the allow-list names."""
    from oidc_provider.outbound import OutboundRefused
    from oidc_provider.server import get_server

    with pytest.raises(
        OutboundRefused, match=r"^http://127\.0\.0\.1:\d+/jwks: idpyoidc does not send requests of its own$"
    ):
        get_server().context.httpc("GET", server.url, timeout=1)
    assert server.fetches == 0


@pytest.mark.parametrize(
    "answer",
    [
        lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))],
        lambda host, port, *a, **k: (_ for _ in ()).throw(socket.gaierror("Name or service not known")),
    ],
    ids=["private", "unknown"],
)
def test_a_client_naming_urls_cannot_map_the_internal_network(
    db, client, settings, monkeypatch, no_connections, answer
):
    """Open registration lets anyone name a sector_identifier_uri (and a client's request_uri): the error
    they get back must not say what an internal name resolves to, nor whether it exists here. The log
    keeps the detail."""
    from tests.protocol.test_pairwise import register

    settings.DEBUG = False
    monkeypatch.setattr(socket, "getaddrinfo", answer)
    response = register(client, sector_identifier_uri="https://intranet.corp/sector.json")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_client_metadata",
        "error_description": "sector_identifier_uri could not be fetched: "
        "intranet.corp: not a public host reachable from this server",
    }


def test_a_request_uri_on_an_internal_name_tells_nothing_of_it(db, settings, monkeypatch, no_connections):
    from oidc_provider.idpy.request_object import fetch_request_uri
    from oidc_provider.models import Client
    from tests import flows

    settings.DEBUG = False
    flows.make_client("rp1", "s3cret")
    Client.objects.filter(client_id="rp1").update(request_uris=["https://intranet.corp/r.jwt"])
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))],
    )
    fetched = fetch_request_uri("rp1", "https://intranet.corp/r.jwt")
    assert (fetched.error.error, fetched.error.description) == (
        "invalid_request_uri",
        "request_uri could not be fetched: intranet.corp: not a public host reachable from this server",
    )
