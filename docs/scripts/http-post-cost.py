"""CPU per POST of the outbox worker's HTTP clients: httpx (16 clients of 4 connections, as the
worker had them until session 7) against aiohttp (one session of 64), 64 requests in flight to a
minimal HTTP/1.1 server on loopback. Run from the repository root with the project's venv:

    .venv/bin/python docs/scripts/http-post-cost.py     # prints one line per client, twice each

Session 7 (docs/performance.md): httpx 1,763 / 1,945 us of CPU per request, aiohttp 229 / 208.
"""

import asyncio
import json
import multiprocessing
import sys
import time

import uvloop

N, C = 4000, 64
PORT = 18555
URL = f"http://127.0.0.1:{PORT}/hook"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"
BODY = json.dumps({"type": "payout.instruction", "data": {"id": "po_x" * 5, "note": "y" * 600}}).encode()
HEADERS = {"webhook-id": "msg_abc", "webhook-timestamp": "1764151200", "content-type": "application/json"}


class Answer(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""

    def data_received(self, data):
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].decode()
            length = next(
                (int(x.split(":")[1]) for x in head.split("\r\n") if x.lower().startswith("content-length:")),
                0,
            )
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(RESPONSE)


def serve():
    async def main():
        server = await asyncio.get_running_loop().create_server(Answer, "127.0.0.1", PORT)
        await server.serve_forever()

    uvloop.run(main())


async def measure(kind):
    if kind == "httpx":
        import itertools

        import httpx

        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        clients = [httpx.AsyncClient(limits=limits) for _ in range(C // 4)]
        turns = itertools.cycle(clients)

        async def one():
            assert (await next(turns).post(URL, content=BODY, headers=HEADERS)).status_code == 200

        async def close():
            for client in clients:
                await client.aclose()
    else:
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=C))

        async def one():
            async with session.post(URL, data=BODY, headers=HEADERS) as response:
                await response.read()
                assert response.status == 200

        close = session.close
    gate = asyncio.Semaphore(C)

    async def go():
        async with gate:
            await one()

    await asyncio.gather(*(go() for _ in range(500)))  # warm the connections
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(go() for _ in range(N)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await close()
    print(f"{kind}: {cpu / N * 1e6:.0f} us of CPU per request, {N / wall:.0f} requests/s")


if __name__ == "__main__":
    server = multiprocessing.Process(target=serve, daemon=True)
    server.start()
    time.sleep(1)
    for kind in ("httpx", "aiohttp", "httpx", "aiohttp"):
        uvloop.run(measure(kind))
    server.terminate()
    sys.exit(0)
