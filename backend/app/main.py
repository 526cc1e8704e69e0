"""The backend API. OpenAPI at /docs. Each feature is a router of its own, included here."""

from __future__ import annotations

from fastapi import FastAPI

from app import limits, notes  # notes: the sample
from app.auth import refuse_insecure_secret

refuse_insecure_secret()

app = FastAPI(title="Backend API", description="The Python API beside the Next.js app, for its signed-in users.")
# A body limit (413) before anything reads the body; no 500 for text PostgreSQL cannot store.
limits.install(app)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


app.include_router(notes.router)  # the sample
