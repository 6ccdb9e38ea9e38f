"""A small OCI distribution client: resolve an image reference to its manifest digest.

``HEAD /v2/<repository>/manifests/<tag>`` with an Accept header listing the OCI index, the
Docker manifest list, the OCI manifest and the Docker v2 manifest returns, in
``Docker-Content-Digest``, the digest of what ``docker pull`` would fetch first: for a
multi-platform image the digest of its index. When the header is missing (or with
``platforms=True``) the manifest is fetched and hashed, and a header that disagrees with the
body is an error.

Authentication follows the distribution token flow: ask anonymously; on 401 read
``WWW-Authenticate``; for ``Basic`` send the configured credentials, for ``Bearer`` get a token
from the realm (with credentials when configured, as an OAuth2 refresh-token grant for an
identity token, anonymously otherwise) and retry once. Credentials are only looked up when a
registry asks for them.

Loopback registries (``localhost``, ``127.0.0.0/8``, ``[::1]``) and the ones named insecure are
spoken to over plain HTTP, every other one over verified HTTPS. Redirects are followed (at most
five) and ``Authorization`` is never forwarded to another host. Responses are read with a size
bound. Every failure is a :class:`RegistryError` whose message names the registry and the
reference and never holds a secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import ssl
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import quote

import httpx

from keelhaul.registry.auth import Credentials, DockerConfig
from keelhaul.registry.errors import Problem, RegistryError
from keelhaul.registry.pacing import answer_within
from keelhaul.registry.reference import (
    DIGEST_HEX_LENGTHS,
    InvalidReference,
    Reference,
    is_loopback,
    parse_digest,
    parse_reference,
)

__all__ = [
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "INDEX_MEDIA_TYPES",
    "MANIFEST_MEDIA_TYPES",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Manifest",
    "Platform",
    "RegistryClient",
    "Resolved",
    "parse_challenges",
    "resolve_digest",
    "resolve_digest_from_engine",
]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
#: What we accept, best first; a registry answers for a multi-platform tag with its index.
MANIFEST_MEDIA_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})

DEFAULT_TIMEOUT = 30.0
#: The distribution spec lets registries refuse manifests above 4 MiB; we do not read more.
MANIFEST_MAX_BYTES = 4 * 1024 * 1024
TOKEN_MAX_BYTES = 1024 * 1024
ERROR_BODY_MAX_BYTES = 64 * 1024
ENGINE_MAX_BYTES = 16 * 1024 * 1024
MAX_REDIRECTS = 5
DEFAULT_ENGINE_HOST = "unix:///var/run/docker.sock"
USER_AGENT = "keelhaul"


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@dataclass(frozen=True)
class Resolved:
    """What a reference points at now.

    ``media_type`` is None when the local engine answered (it does not say);
    ``platforms`` is None unless the index itself was read (``platforms=True``, or a
    registry that sent no digest header).
    """

    reference: Reference
    digest: str
    media_type: str | None
    platforms: tuple[Platform, ...] | None = None
    source: str = "registry"

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES

    @property
    def pinned(self) -> Reference:
        """The reference with its digest set to the resolved one (tag kept)."""
        return self.reference.with_digest(self.digest)


@dataclass(frozen=True)
class Manifest:
    """A manifest or index as the registry sent it, checked against its digest."""

    reference: Reference
    digest: str
    media_type: str
    body: bytes = field(repr=False)

    @property
    def platforms(self) -> tuple[Platform, ...] | None:
        """The platforms an index lists, in its order; None for a single-platform manifest."""
        if self.media_type not in INDEX_MEDIA_TYPES:
            return None
        return _platforms(_json(self.body, self.reference), self.reference)


class RegistryClient:
    """Talks to registries for one command; reuses connections and tokens between calls."""

    def __init__(
        self,
        *,
        config: DockerConfig | None = None,
        insecure_registries: Iterable[str] = (),
        https_registries: Iterable[str] = (),
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``insecure_registries`` (host[:port]) are spoken to over plain HTTP, like loopback
        ones; ``https_registries`` over verified HTTPS even on loopback."""
        self._config = config
        self._insecure = frozenset(insecure_registries)
        self._https = frozenset(https_registries)
        self._timeout = timeout
        self._http = httpx.Client(
            timeout=timeout,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": USER_AGENT},
            transport=transport,
        )
        # Authorization header values by (api host, scope); Basic ones under scope "".
        self._authorizations: dict[tuple[str, str], str] = {}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the operations -------------------------------------------------------------------

    def resolve_digest(self, reference: str | Reference, *, platforms: bool = False) -> Resolved:
        """The digest ``reference`` names now (its tag, else its digest, else ``latest``).

        With ``platforms=True`` the manifest is read and hashed (and its platforms listed)
        instead of trusting the HEAD answer.
        """
        ref = _as_reference(reference)
        if not platforms:
            response, _ = self._request("HEAD", ref, _manifest_path(ref), MANIFEST_MEDIA_TYPES)
            header = response.headers.get("Docker-Content-Digest", "")
            if response.is_success and _valid_digest(header):
                return Resolved(ref, header, _media_type(response) or None)
            if response.status_code not in (404, 405) and not response.is_success:
                _raise_for_status(response, b"", ref)
        # No usable header, HEAD refused, or 404 (a GET tells which part is unknown).
        manifest = self.fetch_manifest(ref)
        return Resolved(ref, manifest.digest, manifest.media_type, manifest.platforms)

    def fetch_manifest(
        self, reference: str | Reference, accept: Iterable[str] = MANIFEST_MEDIA_TYPES
    ) -> Manifest:
        """GET the manifest (or index) and check it against its digest."""
        ref = _as_reference(reference)
        response, body = self._request("GET", ref, _manifest_path(ref), tuple(accept))
        _raise_for_status(response, body, ref)
        document = _json(body, ref)
        media_type = _media_type(response) or str(document.get("mediaType") or "")
        header = response.headers.get("Docker-Content-Digest", "")
        algorithm = "sha256"
        if header:
            if not _valid_digest(header):
                raise _malformed(ref, f"invalid Docker-Content-Digest {header[:80]!r}")
            algorithm = header.partition(":")[0]
        digest = _digest(body, algorithm)
        if header and header != digest:
            raise _malformed(ref, f"the manifest hashes to {digest}, the registry said {header}")
        asked = ref.manifest_reference
        if asked.startswith(tuple(f"{a}:" for a in DIGEST_HEX_LENGTHS)):
            expected = _digest(body, asked.partition(":")[0])
            if expected != asked:
                raise _malformed(ref, f"asked for {asked}, the manifest hashes to {expected}")
            digest = asked
        return Manifest(ref, digest, media_type, body)

    def fetch_blob(self, reference: str | Reference, digest: str, limit: int) -> bytes:
        """GET a small blob (a config) of at most ``limit`` bytes, checked against ``digest``."""
        ref = _as_reference(reference)
        with self.open_blob(ref, digest) as response:
            body = _read_bounded(response, limit)
        if body is None:
            raise _malformed(ref, f"blob {digest} is more than {limit} bytes")
        got = _digest(body, digest.partition(":")[0])
        if got != digest:
            raise _malformed(ref, f"blob {digest} hashes to {got}")
        return body

    @contextmanager
    def open_blob(self, reference: str | Reference, digest: str) -> Iterator[httpx.Response]:
        """GET a blob as a streaming response (the caller reads it, and checks its digest).

        Redirects to blob storage are followed; httpx drops ``Authorization`` when a redirect
        leaves the registry's origin. Errors while reading the body are the caller's to map.
        """
        ref = _as_reference(reference)
        parse_digest(digest)
        url = f"{self._base_url(ref)}/v2/{ref.repository}/blobs/{digest}"
        scope = f"repository:{ref.repository}:pull"
        credentials: Credentials | None = None
        for attempt in range(2):
            authorization = self._authorizations.get(
                (ref.api_host, scope)
            ) or self._authorizations.get((ref.api_host, ""))
            # identity: the blob is the bytes as stored; a transport encoding would change
            # them (and blob stores do label .tar.gz objects Content-Encoding: gzip).
            headers = {"Accept": "*/*", "Accept-Encoding": "identity"}
            if authorization:
                headers["Authorization"] = authorization
            try:
                response = self._http.send(
                    self._http.build_request("GET", url, headers=headers), stream=True
                )
            except httpx.HTTPError as err:
                raise _transport_error(err, ref.api_host, ref, self._timeout) from None
            try:
                if response.status_code == 401:
                    if attempt:
                        raise _unauthorized(ref, credentials)
                    credentials, _ = self._authenticate(ref, response, scope)
                    continue
                if not response.is_success:
                    body = _read_bounded(response, ERROR_BODY_MAX_BYTES, truncate=True) or b""
                    if response.status_code == 404:
                        raise RegistryError(
                            Problem.NOT_FOUND,
                            f"registry {ref.registry} has no blob {digest} in {ref.repository}",
                        )
                    _raise_for_status(response, body, ref)
                yield response
                return
            except httpx.HTTPError as err:
                raise _transport_error(err, ref.api_host, ref, self._timeout) from None
            finally:
                response.close()
        raise _unauthorized(ref, credentials)  # pragma: no cover - the loop returns or raises

    def repositories(self, registry: str) -> list[str]:
        """Every repository ``registry`` (host[:port]) lists in its catalog
        (``GET /v2/_catalog``, following ``Link: <...>; rel="next"`` pages)."""
        ref = parse_reference(f"{registry}/catalog")
        return self._listing(ref, "/v2/_catalog?n=1000", "registry:catalog:*", "repositories")

    def tags(self, reference: str | Reference) -> list[str]:
        """The tags of ``reference``'s repository (``GET /v2/<name>/tags/list``, paged)."""
        ref = _as_reference(reference)
        return self._listing(
            ref, f"/v2/{ref.repository}/tags/list?n=1000", f"repository:{ref.repository}:pull",
            "tags",
        )  # fmt: skip

    def _listing(self, ref: Reference, path: str, scope: str, key: str) -> list[str]:
        out: list[str] = []
        seen: set[str] = set()
        while path and path not in seen:
            seen.add(path)
            url = f"{self._base_url(ref)}{path}"
            authorization = self._authorizations.get(
                (ref.api_host, scope)
            ) or self._authorizations.get((ref.api_host, ""))
            headers = {"Accept": "application/json"}
            response, body = self._send("GET", url, headers, authorization, ref)
            if response.status_code == 401:
                credentials, authorization = self._authenticate(ref, response, scope)
                response, body = self._send("GET", url, headers, authorization, ref)
                if response.status_code == 401:
                    raise _unauthorized(ref, credentials)
            _raise_for_status(response, body, ref)
            document = _json(body, ref, f"the {key} list")
            names = document.get(key) or []
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise _malformed(ref, f"{key} is not a list of names")
            out += names
            path = _next_page(response.headers.get("Link", ""))
        return out

    # -- pushing (keelhaul slim --output registry:) ---------------------------------------

    def push_blob(self, reference: str | Reference, digest: str, path: Path) -> bool:
        """Upload the blob at ``path`` (named ``digest``) to the reference's repository, in one
        monolithic PUT; False when the registry already has it."""
        ref = _as_reference(reference)
        parse_digest(digest)
        base = f"{self._base_url(ref)}/v2/{ref.repository}"
        head = self._push("HEAD", ref, f"{base}/blobs/{digest}")
        if head.is_success:
            return False
        started = self._push("POST", ref, f"{base}/blobs/uploads/")
        if started.status_code != 202 or not started.headers.get("Location"):
            raise RegistryError(Problem.SERVER, f"registry {ref.registry} did not start an upload "
                                f"to {ref.repository} (HTTP {started.status_code})")  # fmt: skip
        location = (
            httpx.URL(base).join(started.headers["Location"]).copy_merge_params({"digest": digest})
        )
        with path.open("rb") as handle:
            done = self._push("PUT", ref, str(location), handle,
                              {"Content-Type": "application/octet-stream"})  # fmt: skip
        if done.status_code != 201:
            raise RegistryError(Problem.SERVER, f"registry {ref.registry} refused blob {digest} "
                                f"for {ref.repository} (HTTP {done.status_code})")  # fmt: skip
        return True

    def push_manifest(self, reference: str | Reference, body: bytes, media_type: str) -> str:
        """PUT the manifest under the reference's tag (else its digest); its digest."""
        ref = _as_reference(reference)
        url = f"{self._base_url(ref)}/v2/{ref.repository}/{_manifest_path(ref)}"
        done = self._push("PUT", ref, url, body, {"Content-Type": media_type})
        if done.status_code != 201:
            raise RegistryError(Problem.SERVER, f"registry {ref.registry} refused the manifest "
                                f"for {ref.familiar()} (HTTP {done.status_code})")  # fmt: skip
        digest = _digest(body, "sha256")
        header = done.headers.get("Docker-Content-Digest", "")
        if header and header != digest:
            raise _malformed(ref, f"the pushed manifest is {digest}, the registry said {header}")
        return digest

    def _push(
        self,
        method: str,
        ref: Reference,
        url: str,
        content: bytes | IO[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request with push rights: on a 401 (before any body is sent, the HEAD or
        POST of an upload comes first), authenticate for ``pull,push`` and send again."""
        scope = f"repository:{ref.repository}:pull,push"
        credentials: Credentials | None = None
        for attempt in range(2):
            authorization = self._authorizations.get(
                (ref.api_host, scope)
            ) or self._authorizations.get((ref.api_host, ""))
            all_headers = dict(headers or {})
            if authorization:
                all_headers["Authorization"] = authorization
            try:
                response = self._http.request(method, url, headers=all_headers, content=content)
            except httpx.HTTPError as err:
                raise _transport_error(err, ref.api_host, ref, self._timeout) from None
            if response.status_code != 401:
                if response.status_code == 403 or response.status_code >= 500:
                    _raise_for_status(response, response.content[:ERROR_BODY_MAX_BYTES], ref)
                return response
            if attempt or (content is not None and not isinstance(content, bytes)):
                break
            credentials, _ = self._authenticate(ref, response, scope)
        raise _unauthorized(ref, credentials)

    # -- HTTP and authentication -----------------------------------------------------------

    def _base_url(self, ref: Reference) -> str:
        host = ref.api_host
        plain = is_loopback(host) or host in self._insecure or ref.registry in self._insecure
        plain = plain and host not in self._https and ref.registry not in self._https
        return f"{'http' if plain else 'https'}://{host}"

    def _request(
        self, method: str, ref: Reference, path: str, accept: tuple[str, ...]
    ) -> tuple[httpx.Response, bytes]:
        url = f"{self._base_url(ref)}/v2/{ref.repository}/{path}"
        headers = {"Accept": ", ".join(accept)}
        scope = f"repository:{ref.repository}:pull"
        authorization = self._authorizations.get((ref.api_host, scope)) or self._authorizations.get(
            (ref.api_host, "")
        )
        response, body = self._send(method, url, headers, authorization, ref)
        if response.status_code != 401:
            return response, body
        credentials, authorization = self._authenticate(ref, response, scope)
        response, body = self._send(method, url, headers, authorization, ref)
        if response.status_code == 401:
            raise _unauthorized(ref, credentials)
        return response, body

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        authorization: str | None,
        ref: Reference,
        *,
        data: Mapping[str, str] | None = None,
        limit: int = MANIFEST_MAX_BYTES,
        credentials: bool = False,
    ) -> tuple[httpx.Response, bytes]:
        """One request, its body read within ``limit``.

        With ``credentials`` (a login: Basic credentials or a refresh token in the body),
        redirects are followed only to the same scheme, host and port: httpx strips the
        ``Authorization`` header when a redirect leaves the origin, but re-sends a POST body on
        307/308, to any host and over plain HTTP too.
        """
        all_headers = dict(headers)
        if authorization:
            all_headers["Authorization"] = authorization
        try:
            request = self._http.build_request(method, url, headers=all_headers, data=data)
            if credentials:
                response = self._send_login(request, ref)
            else:
                response = self._http.send(request, stream=True)
            try:
                if response.is_success:
                    body = _read_bounded(response, limit)
                else:  # an error body only serves the message: keep its start
                    body = _read_bounded(response, ERROR_BODY_MAX_BYTES, truncate=True)
            finally:
                response.close()
        except httpx.HTTPError as err:
            raise _transport_error(
                err, httpx.URL(url).netloc.decode(), ref, self._timeout
            ) from None
        if body is None:
            raise _malformed(
                ref, f"{method} {httpx.URL(url).path} answered more than {limit} bytes"
            )
        return response, body

    def _send_login(self, request: httpx.Request, ref: Reference) -> httpx.Response:
        """Send a request that carries credentials, following redirects only within its origin."""
        origin = (request.url.scheme, request.url.host, request.url.port)
        for _ in range(MAX_REDIRECTS + 1):
            response = self._http.send(request, stream=True, follow_redirects=False)
            following = response.next_request
            if not response.is_redirect or following is None:
                return response
            response.close()
            there = (following.url.scheme, following.url.host, following.url.port)
            if there != origin:
                where = following.url.copy_with(query=None, fragment=None)
                raise RegistryError(
                    Problem.UNAUTHORIZED,
                    f"token server {request.url.netloc.decode()} for registry {ref.registry} "
                    f"redirected the login to {where} (another "
                    f"{'scheme' if there[1:] == origin[1:] else 'host'}); refusing to send "
                    "credentials there",
                )
            request = following
        raise RegistryError(
            Problem.MALFORMED,
            f"token server {request.url.netloc.decode()} redirected more than {MAX_REDIRECTS} "
            f"times ({ref.familiar()})",
        )

    def _authenticate(
        self, ref: Reference, response: httpx.Response, scope: str
    ) -> tuple[Credentials | None, str]:
        challenges = parse_challenges(response.headers.get_list("WWW-Authenticate"))
        schemes = {scheme for scheme, _ in challenges}
        if "bearer" in schemes:
            params = next(p for s, p in challenges if s == "bearer")
            credentials = self._credentials(ref)
            token = self._fetch_token(ref, params, scope, credentials)
            authorization = f"Bearer {token}"
            self._authorizations[(ref.api_host, scope)] = authorization
            return credentials, authorization
        if "basic" in schemes:
            credentials = self._credentials(ref)
            if credentials is None or not credentials.has_password:
                raise _unauthorized(ref, None)
            pair = f"{credentials.username}:{credentials.password}".encode()
            authorization = f"Basic {base64.b64encode(pair).decode()}"
            self._authorizations[(ref.api_host, "")] = authorization
            return credentials, authorization
        offered = ", ".join(sorted(schemes)) or "none"
        raise RegistryError(
            Problem.UNAUTHORIZED,
            f"registry {ref.registry} asks for authentication for {ref.familiar()} with a "
            f"scheme keelhaul does not speak ({offered})",
        )

    def _credentials(self, ref: Reference) -> Credentials | None:
        if self._config is None:
            self._config = DockerConfig.load()
        return self._config.credentials(ref.auth_key)

    def _fetch_token(
        self,
        ref: Reference,
        params: Mapping[str, str],
        scope: str,
        credentials: Credentials | None,
    ) -> str:
        realm = params.get("realm", "")
        try:
            url = httpx.URL(realm)
        except httpx.InvalidURL:
            url = httpx.URL("")
        if url.scheme not in ("http", "https") or not url.host:
            raise _malformed(ref, f"the registry's Bearer realm {realm[:100]!r} is not a URL")
        realm_host = url.netloc.decode()
        plain = url.scheme == "http" and not (
            is_loopback(realm_host) or realm_host in self._insecure
        )
        if plain and credentials is not None:
            raise RegistryError(
                Problem.UNAUTHORIZED,
                f"registry {ref.registry} sends logins to {realm_host} over plain HTTP; "
                "refusing to send credentials there",
            )
        query: dict[str, str] = {}
        if params.get("service"):
            query["service"] = params["service"]
        query["scope"] = params.get("scope") or scope
        headers: dict[str, str] = {"Accept": "application/json"}
        authorization = None
        data = None
        method = "GET"
        if credentials is not None and credentials.identity_token:
            method = "POST"
            data = {
                **query,
                "grant_type": "refresh_token",
                "refresh_token": credentials.identity_token,
                "client_id": USER_AGENT,
            }
            query = {}
        elif credentials is not None and credentials.has_password:
            pair = f"{credentials.username}:{credentials.password}".encode()
            authorization = f"Basic {base64.b64encode(pair).decode()}"
        token_url = str(url.copy_merge_params(query)) if query else str(url)
        response, body = self._send(
            method, token_url, headers, authorization, ref, data=data, limit=TOKEN_MAX_BYTES,
            credentials=credentials is not None,
        )  # fmt: skip
        if response.status_code in (401, 403):
            raise _unauthorized(ref, credentials)
        if not response.is_success:
            raise RegistryError(
                Problem.SERVER,
                f"token server {realm_host} for registry {ref.registry} answered HTTP "
                f"{response.status_code} for {ref.familiar()}",
            )
        answer = _json(body, ref, what=f"token server {realm_host}'s answer")
        token = answer.get("token") or answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise _malformed(ref, f"token server {realm_host} gave no token")
        return token


def resolve_digest(
    reference: str | Reference,
    *,
    config: DockerConfig | None = None,
    insecure_registries: Iterable[str] = (),
    https_registries: Iterable[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    platforms: bool = False,
) -> Resolved:
    """Resolve one reference over the distribution API (see :meth:`RegistryClient.resolve_digest`)."""
    with RegistryClient(
        config=config,
        insecure_registries=insecure_registries,
        https_registries=https_registries,
        timeout=timeout,
    ) as client:
        return client.resolve_digest(reference, platforms=platforms)


def resolve_digest_from_engine(
    reference: str | Reference,
    *,
    docker_host: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Resolved:
    """The registry digest the local Docker Engine recorded for an image it holds.

    Asks ``GET /images/<name>/json`` over ``DOCKER_HOST`` (default the unix socket
    ``/var/run/docker.sock``; ``tcp://`` without TLS also works) and picks the RepoDigest of
    the reference's repository. An image built locally and never pushed has none.
    """
    ref = _as_reference(reference)
    host = docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_ENGINE_HOST
    transport: httpx.BaseTransport | None = None
    if host.startswith("unix://"):
        transport = httpx.HTTPTransport(uds=host.removeprefix("unix://"))
        base = "http://docker"
    elif host.startswith("tcp://") and not os.environ.get("DOCKER_TLS_VERIFY"):
        base = "http://" + host.removeprefix("tcp://").rstrip("/")
    else:
        raise RegistryError(
            Problem.ENGINE,
            f"cannot reach a Docker Engine at {host} (only unix:// and plain tcp://)",
        )
    name = ref.familiar_name
    if ref.tag is not None:
        name += f":{ref.tag}"
    elif ref.digest is not None:
        name += f"@{ref.digest}"
    url = f"{base}/images/{quote(name, safe='/:@')}/json"
    try:
        with (
            httpx.Client(transport=transport, timeout=timeout) as http,
            http.stream("GET", url) as response,
        ):
            body = _read_bounded(response, ENGINE_MAX_BYTES)
    except httpx.HTTPError as err:
        raise RegistryError(
            Problem.ENGINE, f"no Docker Engine answers at {host}: {_reason(err)}"
        ) from None
    if response.status_code == 404:
        raise RegistryError(Problem.NOT_FOUND, f"{name} is not in the local Docker Engine")
    if not response.is_success or body is None:
        raise RegistryError(
            Problem.ENGINE,
            f"the Docker Engine at {host} answered HTTP {response.status_code} for {name}",
        )
    document = _json(body, ref, what="the Docker Engine's answer")
    repo_digests = document.get("RepoDigests") or []
    if not isinstance(repo_digests, list):
        raise RegistryError(
            Problem.ENGINE, f"the Docker Engine gave malformed RepoDigests for {name}"
        )
    for entry in repo_digests:
        if not isinstance(entry, str):
            continue
        try:
            recorded = parse_reference(entry)
        except InvalidReference:
            continue
        if recorded.name == ref.name and recorded.digest is not None:
            return Resolved(ref, recorded.digest, None, None, source="engine")
    raise RegistryError(
        Problem.NOT_FOUND,
        f"{name} is in the local Docker Engine but has no digest from {ref.registry} "
        "(built locally, or never pushed or pulled)",
    )


# -- helpers ---------------------------------------------------------------------------------


def parse_challenges(values: Iterable[str]) -> list[tuple[str, dict[str, str]]]:
    """``WWW-Authenticate`` values as (lower-case scheme, parameters), in order."""
    found: list[tuple[str, dict[str, str]]] = []
    for value in values:
        found.extend(_challenges(value))
    return found


def _challenges(value: str) -> Iterator[tuple[str, dict[str, str]]]:
    i, n = 0, len(value)
    scheme: str | None = None
    params: dict[str, str] = {}
    while i < n:
        while i < n and value[i] in " \t,":
            i += 1
        start = i
        while i < n and value[i] not in " \t,=":
            i += 1
        word = value[start:i]
        if not word:
            break
        j = i
        while j < n and value[j] in " \t":
            j += 1
        if j < n and value[j] == "=" and scheme is not None:
            i = j + 1
            while i < n and value[i] in " \t":
                i += 1
            if i < n and value[i] == '"':
                i += 1
                chars: list[str] = []
                while i < n and value[i] != '"':
                    if value[i] == "\\" and i + 1 < n:
                        i += 1
                    chars.append(value[i])
                    i += 1
                i += 1
                params[word.lower()] = "".join(chars)
            else:
                start = i
                while i < n and value[i] not in " \t,":
                    i += 1
                params[word.lower()] = value[start:i]
        else:
            if scheme is not None:
                yield scheme, params
            scheme, params = word.lower(), {}
    if scheme is not None:
        yield scheme, params


def _next_page(link: str) -> str:
    """The path of the ``rel="next"`` page in a ``Link`` header, or ``""``."""
    for part in link.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            url = httpx.URL(target.strip().strip("<>"))
            return url.raw_path.decode("ascii")
    return ""


def _as_reference(reference: str | Reference) -> Reference:
    return reference if isinstance(reference, Reference) else parse_reference(reference)


def _manifest_path(ref: Reference) -> str:
    return f"manifests/{ref.manifest_reference}"


def _valid_digest(text: str) -> bool:
    try:
        parse_digest(text)
    except InvalidReference:
        return False
    return True


def _digest(body: bytes, algorithm: str) -> str:
    return f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}"


def _media_type(response: httpx.Response) -> str:
    value: str = response.headers.get("Content-Type", "")
    return value.partition(";")[0].strip()


def _read_bounded(response: httpx.Response, limit: int, *, truncate: bool = False) -> bytes | None:
    """The body, or None when it is longer than ``limit`` bytes (its start with ``truncate``);
    a body that takes longer than a small answer may is refused (:mod:`.pacing`)."""
    declared = response.headers.get("Content-Length", "")
    if not truncate and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    timeout = response.request.extensions.get("timeout", {}).get("read") or DEFAULT_TIMEOUT
    what = f"{response.request.url.netloc.decode()}'s answer to {response.request.url.path}"
    for chunk in answer_within(response.iter_bytes(), float(timeout), what):
        size += len(chunk)
        if size > limit:
            if truncate:
                chunks.append(chunk[: limit - (size - len(chunk))])
                break
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _json(body: bytes, ref: Reference, what: str = "the manifest") -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise _malformed(ref, f"{what} is not a JSON object")
    return document


def _platforms(document: Mapping[str, Any], ref: Reference) -> tuple[Platform, ...]:
    manifests = document.get("manifests")
    if not isinstance(manifests, list):
        raise _malformed(ref, "the index has no 'manifests' list")
    found: list[Platform] = []
    for entry in manifests:
        platform = entry.get("platform") if isinstance(entry, dict) else None
        if not isinstance(platform, dict):
            continue
        os_name, arch = platform.get("os"), platform.get("architecture")
        variant = platform.get("variant") or ""
        if isinstance(os_name, str) and isinstance(arch, str) and isinstance(variant, str):
            found.append(Platform(os_name, arch, variant))
    return tuple(found)


def _error_detail(body: bytes) -> tuple[set[str], str]:
    """The distribution error codes and first message in an error body, if it has them."""
    try:
        document = json.loads(body)
    except ValueError:
        return set(), ""
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return set(), ""
    codes = {e["code"] for e in errors if isinstance(e, dict) and isinstance(e.get("code"), str)}
    messages = [e.get("message") for e in errors if isinstance(e, dict)]
    first = next((m for m in messages if isinstance(m, str) and m), "")
    return codes, first[:200]


def _raise_for_status(response: httpx.Response, body: bytes, ref: Reference) -> None:
    status = response.status_code
    if response.is_success:
        return
    codes, message = _error_detail(body)
    where = f"registry {ref.registry}"
    if status == 404 or codes & {"NAME_UNKNOWN", "MANIFEST_UNKNOWN"}:
        if "NAME_UNKNOWN" in codes:
            raise RegistryError(
                Problem.NOT_FOUND, f"{where} has no repository {ref.repository} ({ref.familiar()})"
            )
        what = f"tag {ref.tag}" if ref.tag else f"digest {ref.manifest_reference}"
        raise RegistryError(
            Problem.NOT_FOUND,
            f"{where} has no {what} in {ref.repository} ({ref.familiar()}: unknown tag or repository)",
        )
    if status == 403:
        raise RegistryError(Problem.UNAUTHORIZED, f"{where} denied access to {ref.familiar()}")
    detail = f": {message}" if message else ""
    if status == 429:
        raise RegistryError(
            Problem.SERVER, f"{where} is rate-limiting requests for {ref.familiar()}{detail}"
        )
    raise RegistryError(
        Problem.SERVER, f"{where} answered HTTP {status} for {ref.familiar()}{detail}"
    )


def _unauthorized(ref: Reference, credentials: Credentials | None) -> RegistryError:
    if credentials is not None:
        return RegistryError(
            Problem.UNAUTHORIZED,
            f"wrong credentials for {ref.registry} (from {credentials.source}), or no access "
            f"to {ref.familiar()}",
        )
    key = "" if ref.registry == "docker.io" else f" {ref.registry}"
    return RegistryError(
        Problem.UNAUTHORIZED,
        f"registry {ref.registry} asks for credentials for {ref.familiar()} and none are "
        f"configured (docker login{key})",
    )


def _malformed(ref: Reference, reason: str) -> RegistryError:
    return RegistryError(
        Problem.MALFORMED, f"registry {ref.registry} for {ref.familiar()}: {reason}"
    )


def _causes(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _reason(err: BaseException) -> str:
    for cause in _causes(err):
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
    text = str(err).strip()
    return text[:200] or type(err).__name__


def _transport_error(
    err: httpx.HTTPError, host: str, ref: Reference, timeout: float
) -> RegistryError:
    where = f"registry {ref.registry}" if host == ref.api_host else f"{host} (for {ref.registry})"
    subject = f"{ref.familiar()}"
    if isinstance(err, httpx.TimeoutException):
        return RegistryError(
            Problem.UNREACHABLE, f"{where} did not answer within {timeout:g}s ({subject})"
        )
    if isinstance(err, httpx.TooManyRedirects):
        return RegistryError(
            Problem.MALFORMED, f"{where} redirected more than {MAX_REDIRECTS} times ({subject})"
        )
    causes = list(_causes(err))
    text = " ".join(str(c) for c in causes)
    if any(isinstance(c, socket.gaierror) for c in causes) or any(
        s in text for s in ("Name or service not known", "nodename nor servname", "name resolution")
    ):
        return RegistryError(Problem.DNS, f"cannot resolve the host of {where} ({subject})")
    if any(isinstance(c, ssl.SSLError) for c in causes) or "CERTIFICATE_VERIFY_FAILED" in text:
        detail = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
        reason = (detail.reason or str(detail))[:120] if detail is not None else "TLS failure"
        return RegistryError(
            Problem.TLS,
            f"TLS with {where} failed: {reason} ({subject}; a registry without a valid "
            "certificate must be named insecure)",
        )
    if isinstance(err, httpx.ConnectError | httpx.NetworkError):
        return RegistryError(
            Problem.UNREACHABLE, f"cannot reach {where}: {_reason(err)} ({subject})"
        )
    if isinstance(err, httpx.RemoteProtocolError | httpx.DecodingError):
        return RegistryError(
            Problem.MALFORMED, f"{where} broke the HTTP protocol: {_reason(err)} ({subject})"
        )
    return RegistryError(Problem.UNREACHABLE, f"cannot talk to {where}: {_reason(err)} ({subject})")
