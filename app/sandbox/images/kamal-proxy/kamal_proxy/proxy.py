"""The reverse proxy: HTTP/1.1 keep-alive on both sides, streamed bodies, X-Forwarded-* headers,
upgrades (websockets) tunnelled, 502/504 when a target fails, 404 when no service matches."""

from __future__ import annotations

import asyncio
import contextlib
import html
import time
import uuid
from pathlib import Path

from . import httpio, logs
from .httpio import BadMessage, Head
from .router import PAUSED, STOPPED, Router, Service, Target

KEEPALIVE_IDLE = 75.0
CONNECT_TIMEOUT = 5.0
MAX_IDLE_PER_TARGET = 32


class ClientGone(Exception):
    """The client went away or sent a broken body while we were forwarding it."""


def split_host(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0].lower()
    return host_header.rsplit(":", 1)[0].lower() if host_header.count(":") == 1 else host_header.lower()


def strip_prefix(request_target: str, prefix: str) -> str:
    if prefix in ("", "/"):
        return request_target
    path, question, query = request_target.partition("?")
    rest = path[len(prefix.rstrip("/")):] or "/"
    if not rest.startswith("/"):
        rest = "/" + rest
    return rest + question + query


def forwarded_headers(head: Head, *, trust: bool, client_ip: str, scheme: str, host: str) -> list[tuple[str, str]]:
    if trust:
        prior = ", ".join(head.get_all("X-Forwarded-For"))
        return [("X-Forwarded-For", f"{prior}, {client_ip}" if prior else client_ip),
                ("X-Forwarded-Proto", head.get("X-Forwarded-Proto") or scheme),
                ("X-Forwarded-Host", head.get("X-Forwarded-Host") or host)]
    return [("X-Forwarded-For", client_ip), ("X-Forwarded-Proto", scheme), ("X-Forwarded-Host", host)]


class ProxyServer:
    def __init__(self, router: Router) -> None:
        self.router = router
        self.requests_total = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, scheme: str) -> None:
        peer = writer.get_extra_info("peername") or ("", 0)
        client_ip = str(peer[0])
        try:
            while True:
                try:
                    head = await asyncio.wait_for(httpio.read_head(reader), KEEPALIVE_IDLE)
                except TimeoutError:
                    break
                except BadMessage as exc:
                    await self._simple(writer, 400, f"Bad Request: {exc}", keep=False)
                    break
                if head is None:
                    break
                if not await self._serve(head, reader, writer, scheme, client_ip):
                    break
        except (ConnectionError, OSError, ClientGone, BadMessage):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    # --- one request ---------------------------------------------------------------------------

    async def _serve(self, head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     scheme: str, client_ip: str) -> bool:
        """Answer one request; True when the client connection stays open for the next one."""
        began = time.monotonic()
        self.requests_total += 1
        if len(head.start) != 3 or not head.start[2].startswith("HTTP/1."):
            await self._simple(writer, 400, "Bad Request", keep=False)
            return False
        _, request_target, version = head.start
        http11 = version == "HTTP/1.1"
        connection = head.tokens("Connection")
        keep = "close" not in connection if http11 else "keep-alive" in connection
        framing, length = httpio.body_framing(head, is_response=False)
        if request_target.startswith(("http://", "https://")):  # absolute form
            request_target = "/" + request_target.split("://", 1)[1].partition("/")[2]
        host_header = head.get("Host") or ""
        host = split_host(host_header)
        path = request_target.split("?", 1)[0]
        unread_body = framing != "none"
        matched = self.router.match(host, path)
        if matched is None:
            await self._simple(writer, 404, "404 page not found", keep=keep and not unread_body)
            self._log(head, 404, began, client_ip, scheme, host, path, None, None)
            return keep and not unread_body
        service, prefix = matched
        options = service.options
        # Only services with a certificate can be reached over TLS here (no ACME), so only they redirect.
        if options.tls and options.tls_certificate_path and scheme == "http" and options.tls_redirect:
            return await self._redirect(writer, f"https://{host_header}{request_target}", keep and not unread_body)
        if options.canonical_host and host != options.canonical_host:
            return await self._redirect(writer, f"{scheme}://{options.canonical_host}{request_target}",
                                        keep and not unread_body)
        if service.state == PAUSED:
            try:
                await asyncio.wait_for(service.resumed.wait(), service.pause_limit)
            except TimeoutError:
                await self._error(writer, 504, service, keep=False)
                return False
            if self.router.services.get(service.name) is not service:
                await self._simple(writer, 404, "404 page not found", keep=False)
                return False
        if service.state == STOPPED:
            await self._error(writer, 503, service, keep=keep and not unread_body)
            self._log(head, 503, began, client_ip, scheme, host, path, service, None)
            return keep and not unread_body
        if (options.buffer_requests and options.max_request_body and framing == "length"
                and length > options.max_request_body):
            await self._error(writer, 413, service, keep=False)
            return False
        if "100-continue" in head.tokens("Expect") and framing != "none":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        target = service.pick()
        try:
            status, keep = await self._forward(head, reader, writer, scheme, client_ip, service, prefix,
                                               target, keep=keep, http11=http11)
        finally:
            target.end()
        self._log(head, status, began, client_ip, scheme, host, path, service, target)
        return keep

    async def _forward(self, head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       scheme: str, client_ip: str, service: Service, prefix: str, target: Target, *,
                       keep: bool, http11: bool) -> tuple[int, bool]:
        options = service.options
        method, request_target, _ = head.start
        framing, length = httpio.body_framing(head, is_response=False)
        connection = head.tokens("Connection")
        upgrade = head.get("Upgrade") if "upgrade" in connection else None
        drop = httpio.HOP_BY_HOP | connection | {"expect", "x-forwarded-for", "x-forwarded-proto",
                                                  "x-forwarded-host"}
        headers = [(k, v) for k, v in head.headers if k.lower() not in drop]
        headers += forwarded_headers(head, trust=options.forward_headers, client_ip=client_ip, scheme=scheme,
                                     host=head.get("Host") or "")
        if framing == "chunked":
            headers.append(("Transfer-Encoding", "chunked"))
        headers += [("Connection", "Upgrade"), ("Upgrade", upgrade)] if upgrade else [("Connection", "keep-alive")]
        upstream_target = strip_prefix(request_target, prefix) if options.strip_path_prefix else request_target
        encoded = httpio.encode_head(f"{method} {upstream_target} HTTP/1.1", headers)

        for attempt in (1, 2):
            fresh = framing != "none" or upgrade is not None or attempt == 2
            try:
                up_reader, up_writer, reused = await self._connect(target, fresh=fresh)
            except (OSError, TimeoutError) as exc:
                logs.info("Unable to connect to target", target=target.address, error=str(exc) or type(exc).__name__)
                return await self._error(writer, 502, service, keep=keep and framing == "none"), keep
            try:
                up_writer.write(encoded)
                if framing != "none":
                    await self._send_body(reader, up_writer, framing, length)
                await up_writer.drain()
                async with asyncio.timeout(options.target_timeout):
                    response = await self._read_response_head(up_reader)
            except ClientGone:
                up_writer.close()
                raise
            except TimeoutError:
                up_writer.close()
                logs.info("Target timed out", target=target.address)
                return await self._error(writer, 504, service, keep=False), False
            except (OSError, BadMessage) as exc:
                up_writer.close()
                if reused and framing == "none":
                    continue  # a stale keep-alive connection: try once more on a fresh one
                logs.info("Error while proxying", target=target.address, error=str(exc) or type(exc).__name__)
                return await self._error(writer, 502, service, keep=keep and framing == "none"), keep
            break
        else:  # pragma: no cover - the loop always breaks or returns
            return 502, False

        status = int(response.start[1])
        if status == 101 and upgrade:
            writer.write(httpio.encode_head(httpio.status_line(101), response.headers))
            await writer.drain()
            await _tunnel(reader, writer, up_reader, up_writer)
            return 101, False
        resp_framing, resp_length = httpio.body_framing(response, is_response=True, request_method=method)
        resp_connection = response.tokens("Connection")
        reusable = (resp_framing != "close" and "close" not in resp_connection
                    and response.start[0] == "HTTP/1.1")
        out = [(k, v) for k, v in response.headers if k.lower() not in httpio.HOP_BY_HOP | resp_connection]
        chunked_out = False
        if resp_framing in ("chunked", "close"):
            out = [(k, v) for k, v in out if k.lower() != "content-length"]
            if http11:
                out.append(("Transfer-Encoding", "chunked"))
                chunked_out = True
            else:
                keep = False
        if not keep:
            out.append(("Connection", "close"))
        elif not http11:
            out.append(("Connection", "keep-alive"))
        writer.write(httpio.encode_head(f"HTTP/1.1 {status} {response.start[2] if len(response.start) > 2 else ''}"
                                        .rstrip(), out))
        try:
            async for data in httpio.iter_body(up_reader, resp_framing, resp_length):
                writer.write(httpio.chunk(data) if chunked_out else data)
                await writer.drain()
        except (OSError, BadMessage):
            up_writer.close()
            return status, False
        if chunked_out:
            writer.write(httpio.LAST_CHUNK)
        await writer.drain()
        if reusable and not target.retired and len(target.idle) < MAX_IDLE_PER_TARGET:
            target.idle.append((up_reader, up_writer))
        else:
            up_writer.close()
        return status, keep

    async def _connect(self, target: Target, *, fresh: bool
                       ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        while not fresh and target.idle:
            up_reader, up_writer = target.idle.pop()
            if up_reader.at_eof() or up_writer.is_closing():
                up_writer.close()
                continue
            return up_reader, up_writer, True
        async with asyncio.timeout(CONNECT_TIMEOUT):
            up_reader, up_writer = await asyncio.open_connection(target.host, target.port, limit=httpio.MAX_HEAD)
        return up_reader, up_writer, False

    @staticmethod
    async def _send_body(reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter, framing: str,
                         length: int) -> None:
        body = httpio.iter_body(reader, framing, length)
        while True:
            try:
                data = await anext(body)
            except StopAsyncIteration:
                break
            except (BadMessage, OSError) as exc:
                raise ClientGone(str(exc)) from None
            up_writer.write(httpio.chunk(data) if framing == "chunked" else data)
            await up_writer.drain()
        if framing == "chunked":
            up_writer.write(httpio.LAST_CHUNK)

    @staticmethod
    async def _read_response_head(up_reader: asyncio.StreamReader) -> Head:
        while True:
            response = await httpio.read_head(up_reader)
            if response is None:
                raise BadMessage("target closed the connection without a response")
            if len(response.start) < 2 or not response.start[1].isdigit():
                raise BadMessage("malformed response from target")
            status = int(response.start[1])
            if 100 <= status < 200 and status != 101:
                continue  # 100 Continue / 103 Early Hints: not passed on
            return response

    # --- answers made by the proxy itself ------------------------------------------------------

    async def _simple(self, writer: asyncio.StreamWriter, status: int, text: str, *, keep: bool) -> int:
        await self._write(writer, status, (text + "\n").encode(), "text/plain; charset=utf-8", keep)
        return status

    async def _redirect(self, writer: asyncio.StreamWriter, location: str, keep: bool) -> bool:
        body = f'<a href="{html.escape(location)}">Moved Permanently</a>.\n'.encode()
        await self._write(writer, 301, body, "text/html; charset=utf-8", keep, [("Location", location)])
        return keep

    async def _error(self, writer: asyncio.StreamWriter, status: int, service: Service, *, keep: bool) -> int:
        message = service.stop_message if status == 503 else ""
        page = _error_page(service.options.error_pages, status, message)
        await self._write(writer, status, page.encode(), "text/html; charset=utf-8", keep)
        return status

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, status: int, body: bytes, content_type: str, keep: bool,
                     extra: list[tuple[str, str]] | None = None) -> None:
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *(extra or [])]
        if not keep:
            headers.append(("Connection", "close"))
        writer.write(httpio.encode_head(httpio.status_line(status), headers) + body)
        await writer.drain()

    def _log(self, head: Head, status: int, began: float, client_ip: str, scheme: str, host: str, path: str,
             service: Service | None, target: Target | None) -> None:
        attrs = {"request_id": head.get("X-Request-Id") or str(uuid.uuid4()), "status": status,
                 "service": service.name if service else "", "target": target.address if target else "",
                 "duration": round((time.monotonic() - began) * 1e9), "method": head.start[0], "host": host,
                 "port": 443 if scheme == "https" else 80, "path": path,
                 "query": head.start[1].partition("?")[2] if len(head.start) > 1 else "",
                 "req_content_length": int(head.get("Content-Length") or 0), "client_addr": client_ip,
                 "scheme": scheme, "proto": head.start[2] if len(head.start) > 2 else "",
                 "user_agent": head.get("User-Agent") or ""}
        if service:
            for name in service.options.log_request_headers:
                attrs[f"req_{name.lower().replace('-', '_')}"] = head.get(name) or ""
        logs.info("Request", **attrs)


def _error_page(directory: str, status: int, message: str) -> str:
    if directory:
        candidate = Path(directory) / f"{status}.html"
        with contextlib.suppress(OSError):
            text = candidate.read_text()
            for placeholder in ("{{ .Message }}", "{{.Message}}"):
                text = text.replace(placeholder, html.escape(message))
            return text
    titles = {404: "Not Found", 413: "Request Entity Too Large", 502: "Bad Gateway",
              503: "Service Unavailable", 504: "Gateway Timeout"}
    title = titles.get(status, "Error")
    detail = f"<p>{html.escape(message)}</p>" if message else ""
    return (f"<!DOCTYPE html><html><head><title>{status} {title}</title></head>"
            f"<body><h1>{status} {title}</h1>{detail}</body></html>\n")


async def _tunnel(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
    async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(httpio.CHUNK):
                sink.write(data)
                await sink.drain()
        with contextlib.suppress(OSError):
            if sink.can_write_eof():
                sink.write_eof()

    await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
    up_writer.close()
