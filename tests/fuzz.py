"""Schemathesis (from PyPI) run as its own process against an API served on 127.0.0.1."""

import asyncio
import sys
from pathlib import Path


async def schemathesis(
    address: str,
    config: Path,
    bearer: str,
    include_path_regex: str,
    *,
    seed: int,
    within: float,
) -> tuple[int, str]:
    """Run schemathesis over the operations matching ``include_path_regex``, checking only that
    no answer is a server error; returns its exit code and report.

    One worker: with several, Hypothesis describes filter lambdas with ``ast.parse`` in
    concurrent threads, which CPython 3.11.7 can fail with "SystemError: AST constructor
    recursion depth mismatch" (python/cpython#106905), half of the runs here. The runs are
    small, and took as long with one worker as with four."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"http://{address}/openapi.json",
        "--header",
        f"Authorization: Bearer {bearer}",
        "--include-path-regex",
        include_path_regex,
        "--checks",
        "not_a_server_error",
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--suppress-health-check",
        "all",
        "--no-color",
        cwd=config.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), within)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")
