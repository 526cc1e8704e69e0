"use client";

import { useRouter } from "next/navigation";
import { type FormEvent, useCallback, useEffect, useState } from "react";

import { authClient } from "../../lib/auth-client";

type Note = { id: number; title: string; body: string; created_at: string };

export default function NotesPage() {
  const router = useRouter();
  const { data: session, isPending } = authClient.useSession();
  const [notes, setNotes] = useState<Note[]>([]);
  const [error, setError] = useState<string | null>(null);

  // The backend API, under this origin (next.config.ts): the session cookie goes along.
  const load = useCallback(async () => {
    const response = await fetch("/api/notes");
    if (response.ok) {
      setNotes(await response.json());
    } else {
      setError(`The API answered ${response.status}`);
    }
  }, []);

  useEffect(() => {
    if (!isPending && !session) router.replace("/");
    if (session) void load();
  }, [isPending, session, router, load]);

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const response = await fetch("/api/notes", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: data.get("title"), body: data.get("body") }),
    });
    if (!response.ok) {
      setError(`The API answered ${response.status}`);
      return;
    }
    form.reset();
    await load();
  }

  if (!session) return <p>Loading…</p>;
  return (
    <>
      <h1>Notes of {session.user.name}</h1>
      <form onSubmit={create}>
        <input name="title" placeholder="Title" aria-label="Title" required maxLength={200} />
        <textarea name="body" placeholder="Note" aria-label="Note" rows={3} />
        <button type="submit">Add note</button>
      </form>
      {error && <p className="error">{error}</p>}
      <ul aria-label="Notes">
        {notes.map((note) => (
          <li key={note.id}>
            <strong>{note.title}</strong> {note.body}
          </li>
        ))}
      </ul>
      <p>
        <a href="/account">Back to your account</a>
      </p>
    </>
  );
}
