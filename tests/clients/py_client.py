"""The MCP Python SDK (PyPI `mcp`, on httpx2) against one server, as a real MCP
client uses it: `OAuthClientProvider(server_url, client_metadata, storage,
redirect_handler, callback_handler)` on an httpx2 client under
`streamable_http_client` and `ClientSession`.

    python py_client.py --url <server>/mcp [--cimd <https client_id URL>]

The redirect handler plays the browser headlessly (consent page, Approve, the
303's Location); the callback handler returns AuthorizationCodeResult(code,
state, iss), which the SDK checks against its own state and the issuer.
Steps: initialize (401 -> discovery -> DCR or CIMD -> consent -> token),
tools/list, tools/call whoami, then a forced refresh: the SDK refreshes only
a token it believes expired, so its recorded expiry is moved into the past
and the next request must go through grant_type=refresh_token. Every request
is logged by an httpx2 event hook, so the grants are checked from the wire.
"""

import argparse
import asyncio
import html
import http.cookies
import re
import sys
import time
import urllib.parse

import httpx2
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

REDIRECT_URI = "http://127.0.0.1:33420/callback"


class MemoryStorage(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def attribute(tag: str, name: str) -> str | None:
    match = re.search(r'\s' + name + r'="([^"]*)"', tag)
    return html.unescape(match.group(1)) if match else None


class HeadlessBrowser:
    """Shows the consent page of either server and presses Approve (see tests/lib/browser.mjs)."""

    def __init__(self, log) -> None:
        self.log = log
        self.consents = 0
        self.callback: str | None = None

    async def approve(self, authorize_url: str) -> str:
        async with httpx2.AsyncClient(follow_redirects=False, timeout=20) as http:
            page = await http.get(authorize_url, headers={"accept": "text/html"})
            if page.status_code in (302, 303):
                return urllib.parse.urljoin(authorize_url, page.headers["location"])
            if page.status_code != 200:
                raise RuntimeError(f"consent page: HTTP {page.status_code}: {page.text[:400]}")
            text = page.text
            form = re.search(r"<form\b[^>]*>", text, re.I)
            if not form:
                raise RuntimeError("consent page: no form")
            action = urllib.parse.urljoin(authorize_url, attribute(form.group(0), "action") or authorize_url)
            fields: list[tuple[str, str]] = []
            for tag in re.findall(r"<input\b[^>]*>", text, re.I):
                if attribute(tag, "type") == "hidden":
                    fields.append((attribute(tag, "name") or "", attribute(tag, "value") or ""))
            approve = next(
                (t for t in re.findall(r"<button\b[^>]*>", text, re.I) if attribute(t, "value") == "approve"), None
            )
            if approve is None:
                raise RuntimeError("consent page: no Approve button")
            fields.append((attribute(approve, "name") or "", "approve"))
            cookies = []
            for header in page.headers.get_list("set-cookie"):
                cookies.append(header.split(";", 1)[0])
            self.log(f"consent page: 200, {len(fields) - 1} form fields, {len(cookies)} cookie(s); approving")
            decision = await http.post(
                action,
                content=urllib.parse.urlencode(fields),
                headers={
                    "content-type": "application/x-www-form-urlencoded",
                    "cookie": "; ".join(cookies),
                    "origin": "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(action)),
                },
            )
            if decision.status_code not in (302, 303):
                raise RuntimeError(f"consent decision: HTTP {decision.status_code}: {decision.text[:400]}")
            self.consents += 1
            return decision.headers["location"]


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--cimd")
    parser.add_argument("--label", default="py-sdk")
    args = parser.parse_args()

    def log(*parts: object) -> None:
        print(f"[{args.label}]", *parts, flush=True)

    if args.cimd:
        async with httpx2.AsyncClient(timeout=20) as http:
            split = urllib.parse.urlsplit(args.url)
            prm = (await http.get(f"{split.scheme}://{split.netloc}/.well-known/oauth-protected-resource{split.path}")).json()
            issuer = str(prm["authorization_servers"][0]).rstrip("/")
            metadata = (await http.get(f"{issuer}/.well-known/oauth-authorization-server")).json()
        if metadata.get("client_id_metadata_document_supported") is not True:
            log(f"SKIP: the authorization server metadata of {issuer} lacks client_id_metadata_document_supported: true")
            return 77

    browser = HeadlessBrowser(log)
    registrations: list[int] = []
    token_requests: list[tuple[str | None, int]] = []
    mcp_path = urllib.parse.urlsplit(args.url).path

    async def on_response(response: httpx2.Response) -> None:
        request = response.request
        if request.method == "POST" and request.url.path.endswith("/token"):
            grant = urllib.parse.parse_qs(request.content.decode()).get("grant_type", [None])[0]
            token_requests.append((grant, response.status_code))
            log(f"POST {request.url.path} grant_type={grant} -> {response.status_code}")
        elif request.url.path != mcp_path:
            log(f"{request.method} {request.url.path} -> {response.status_code}")
            if request.method == "POST" and request.url.path.endswith("/register"):
                registrations.append(response.status_code)

    async def redirect_handler(authorization_url: str) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorization_url).query))
        log(f"authorize: client_id={query.get('client_id')} scope={query.get('scope')} resource={query.get('resource')}")
        browser.callback = await browser.approve(authorization_url)

    async def callback_handler() -> AuthorizationCodeResult:
        assert browser.callback, "the browser step ran"
        callback = urllib.parse.urlsplit(browser.callback)
        assert f"{callback.scheme}://{callback.netloc}{callback.path}" == REDIRECT_URI, browser.callback
        query = dict(urllib.parse.parse_qsl(callback.query))
        if "error" in query:
            raise RuntimeError(f"authorization error: {query['error']}: {query.get('error_description')}")
        log(f"callback: code received, iss={query.get('iss')}")
        return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))

    storage = MemoryStorage()
    provider = OAuthClientProvider(
        server_url=args.url,
        client_metadata=OAuthClientMetadata(
            client_name="simply-mcp-oauth Python SDK client test",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=args.cimd,
    )
    async with httpx2.AsyncClient(
        auth=provider, timeout=httpx2.Timeout(20, read=60), event_hooks={"response": [on_response]}
    ) as http:
        async with streamable_http_client(args.url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                log(f"initialized: server {init.server_info.name} {init.server_info.version}, protocol {init.protocol_version}")
                assert token_requests and token_requests[-1] == ("authorization_code", 200), token_requests
                assert storage.client_info is not None
                log(f"client_id: {storage.client_info.client_id}")
                if args.cimd:
                    assert storage.client_info.client_id == args.cimd, storage.client_info.client_id
                    assert registrations == [], f"no dynamic registration with CIMD: {registrations}"
                else:
                    assert registrations == [201], f"one dynamic registration: {registrations}"
                first = storage.tokens
                assert first is not None and first.refresh_token, "an access token and a refresh token"

                tools = await session.list_tools()
                names = [tool.name for tool in tools.tools]
                log(f"tools/list: {names}")
                assert names, "tools/list returns tools"
                if "whoami" in names:
                    who = await session.call_tool("whoami", {})
                    log(f"tools/call whoami: {who.content[0].text if who.content else who}")

                # Forced refresh: the SDK refreshes a token it believes expired.
                before = len(token_requests)
                provider.context.token_expiry_time = time.time() - 1
                log("forcing a refresh: the SDK's recorded expiry of the access token is now in the past")
                again = await session.list_tools()
                assert [tool.name for tool in again.tools] == names
                assert token_requests[before:] == [("refresh_token", 200)], token_requests[before:]
                assert storage.tokens is not None and storage.tokens.access_token != first.access_token
                assert storage.tokens.refresh_token != first.refresh_token, "the refresh token rotated"
                assert browser.consents == 1, "no second consent"
                log("refresh ok: refresh_token grant -> 200, new access token, rotated refresh token, tools/list ok, one consent in all")
    log("PASS")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(asyncio.wait_for(main(), 60)))
    except BaseException as error:  # noqa: BLE001 - report any failure, including groups
        if isinstance(error, SystemExit):
            raise
        import traceback

        traceback.print_exception(error)
        print("FAIL:", repr(error), flush=True)
        sys.exit(1)
