import type { ReactNode } from "react";

import "./globals.css";

export const metadata = { title: "App", description: "Full-stack template: Next.js, Better Auth, Python API" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <main>{children}</main>
      </body>
    </html>
  );
}
