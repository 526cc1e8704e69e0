"""The backend API. OpenAPI at /docs. Each feature is a router of its own, included here."""

from __future__ import annotations

from fastapi import FastAPI

from app import notes  # the sample

app = FastAPI(title="Backend API", description="The Python API beside the Next.js app, for its signed-in users.")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


app.include_router(notes.router)  # the sample
