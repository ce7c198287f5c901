"""The HTTP API: the pipeline for other tools, under `/v1`.

    POST /v1/transcriptions   multipart upload (`file`, optional `recap`) -> 202 {id}
    POST /v1/recaps           a conversation or a transcript (JSON) -> 200 the recap
    GET  /v1/jobs/{id}        status, progress and, once done, the result
    GET  /v1/openapi.json     the OpenAPI 3.1 description of all this

Every error under `/v1` is JSON `{"error", "message"}`: unknown paths too (404), methods a
path does not take (405, with `Allow`), and a crash (500).

One module per concept: `schemas` (bodies), `openapi` (the document), `routing` (JSON
404/405/500), `routes` (`HttpApi` and its endpoints), `transcriptions` (the job: queue,
run, poll, expiry). The bounded-body helpers the playground shares are in bot/http.py.
"""

from bot.api.openapi import openapi_document
from bot.api.routes import MAX_JSON_BYTES, HttpApi
from bot.api.transcriptions import JOB_KIND

__all__ = ["JOB_KIND", "MAX_JSON_BYTES", "HttpApi", "openapi_document"]
