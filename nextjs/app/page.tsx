"use client";

import { type FormEvent, useState } from "react";

import { authClient } from "../lib/auth-client";

export default function SignInPage() {
  const [mode, setMode] = useState<"sign-in" | "sign-up">("sign-in");
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email"));
    const password = String(form.get("password"));
    const { error } =
      mode === "sign-up"
        ? await authClient.signUp.email({ email, password, name: String(form.get("name")) })
        : await authClient.signIn.email({ email, password });
    if (error) {
      setError(error.message ?? "Something went wrong");
    } else {
      // A full load: the next page must not see the session store of before signing in.
      window.location.assign("/account");
    }
  }

  return (
    <>
      <h1>{mode === "sign-up" ? "Create an account" : "Sign in"}</h1>
      <form onSubmit={submit}>
        {mode === "sign-up" && <input name="name" placeholder="Name" aria-label="Name" required />}
        <input name="email" type="email" placeholder="Email" aria-label="Email" required />
        <input name="password" type="password" placeholder="Password" aria-label="Password" minLength={8} required />
        <button type="submit">{mode === "sign-up" ? "Sign up" : "Sign in"}</button>
      </form>
      {error && <p className="error">{error}</p>}
      <button type="button" className="link" onClick={() => setMode(mode === "sign-up" ? "sign-in" : "sign-up")}>
        {mode === "sign-up" ? "I have an account: sign in" : "No account yet? Sign up"}
      </button>
    </>
  );
}
