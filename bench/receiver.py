"""A webhook receiver in a process of its own (so neither the dispatcher nor the baseline's
client shares its CPU time with the server): answers 204 to every POST and tells, on
``GET /stats``, how many it got and when the first and the last arrived.

    python -m bench.receiver <port>
"""

import sys
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

STATS: dict[str, float] = {"count": 0, "first": 0.0, "last": 0.0}


async def receive(request: Request) -> Response:
    await request.body()
    now = time.time()
    STATS["count"] += 1
    STATS["first"] = STATS["first"] or now
    STATS["last"] = now
    return Response(status_code=204)


async def stats(_request: Request) -> Response:
    return JSONResponse(STATS)


async def reset(_request: Request) -> Response:
    STATS.update(count=0, first=0.0, last=0.0)
    return Response(status_code=204)


app = Starlette(
    routes=[
        Route("/hooks", receive, methods=["POST"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/reset", reset, methods=["POST"]),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
