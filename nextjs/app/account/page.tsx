"use client";

import { useRouter } from "next/navigation";
import { useEffect } from "react";

import { authClient } from "../../lib/auth-client";

// The app's pages, linked from here.
const PAGES: { href: string; label: string }[] = [
  // Your pages here, e.g. { href: "/projects", label: "Projects" },
  { href: "/notes", label: "Notes" }, // the sample
];

// Where a person lands after signing in: the template's own page, which stays when you remove the Note sample.
export default function AccountPage() {
  const router = useRouter();
  const { data: session, isPending } = authClient.useSession();

  useEffect(() => {
    if (!isPending && !session) router.replace("/");
  }, [isPending, session, router]);

  async function signOut() {
    await authClient.signOut();
    router.replace("/");
  }

  if (!session) return <p>Loading…</p>;
  return (
    <>
      <h1>Signed in as {session.user.name}</h1>
      <p>{session.user.email}</p>
      <nav aria-label="Pages">
        <ul>
          {PAGES.map((page) => (
            <li key={page.href}>
              <a href={page.href}>{page.label}</a>
            </li>
          ))}
        </ul>
      </nav>
      <button type="button" className="link" onClick={signOut}>
        Sign out
      </button>
    </>
  );
}
