// Apply the frontend's pending Drizzle migrations, each in a transaction of its own.
//
//   node scripts/drizzle_migrate.mjs [--to TAG]
//
// `drizzle-kit migrate` applies every pending migration in ONE transaction: a value that one
// migration adds to an enum cannot be used by the next (55P04, drizzle-orm#3249), and one
// failure undoes them all. This runner calls the same function drizzle-kit migrate calls,
// drizzle-orm's node-postgres migrate(), from the frontend's own node_modules, once per
// pending migration, on a staged folder whose journal holds only that migration: the rows in
// the bookkeeping table are exactly drizzle-kit's, so the raw tool stays usable beside it.
//
// Everything runs on ONE session. MIGRATION_BOUNDS ("lock_timeout=50ms statement_timeout=15min",
// set by scripts/database/applying.py) is SET on it first: a SET reaches the server through every pooler,
// where the startup parameter `options` does not.
//
// Reads systems.env (the frontend's folder, migrations and bookkeeping table) and
// DIRECT_DATABASE_URL, else DATABASE_URL, from the environment (make passes both).
// Prints one line per applied migration; a failure prints "✗ FILE: ERROR" and exits 1, with
// the migrations before it applied. Exit 2: wrong usage.
//
// A migration holding statements PostgreSQL refuses inside a transaction block (CREATE INDEX
// CONCURRENTLY and the like, NO_TRANSACTION below) is applied without one, statement by statement,
// and recorded as drizzle's migrator records it only after its last statement
// (docs/migrations.md, "A concurrent index in each system").

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));

// What went wrong, said in one line; the exit code says whose fault (1: the migration or the
// database, 2: how the runner was called).
class Stop extends Error {
  constructor(message, code = 1) {
    super(message);
    this.code = code;
  }
}

function fail(message, code = 1) {
  throw new Stop(message, code);
}

// systems.env: plain NAME=value lines (the format make, python-dotenv and dotenv all read).
function readSystems() {
  const values = {};
  for (const line of readFileSync(join(repoRoot, "systems.env"), "utf8").split("\n")) {
    const match = line.match(/^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(.*?)\s*$/);
    if (match) values[match[1]] = match[2].replace(/^(["'])(.*)\1$/, "$2");
  }
  return values;
}

function parseArguments(argv) {
  const options = { to: null };
  for (let index = 0; index < argv.length; index += 1) {
    if (argv[index] === "--to" && index + 1 < argv.length) options.to = argv[++index];
    else fail(`unknown argument ${JSON.stringify(argv[index])}: usage: drizzle_migrate.mjs [--to TAG]`, 2);
  }
  return options;
}

// "lock_timeout=50ms statement_timeout=15min": each NAME=VALUE becomes a session setting.
function bounds(text) {
  return (text ?? "")
    .split(/\s+/)
    .filter(Boolean)
    .map((setting) => {
      const at = setting.indexOf("=");
      if (at < 1) fail(`MIGRATION_BOUNDS: ${JSON.stringify(setting)} is not NAME=VALUE`, 2);
      return [setting.slice(0, at), setting.slice(at + 1)];
    });
}

// The migrations drizzle's migrator would apply: those newer than the newest applied one
// (its own rule, dialect.migrate), up to and including `to`.
function pending(journal, newestApplied, to) {
  const entries = journal.entries.filter((entry) => newestApplied === null || newestApplied < entry.when);
  if (to === null) return entries;
  if (!journal.entries.some((entry) => entry.tag === to)) {
    fail(`--to ${to}: the journal has no migration of that tag`, 2);
  }
  const last = entries.findIndex((entry) => entry.tag === to);
  return last === -1 ? [] : entries.slice(0, last + 1);
}

async function newestApplied(client, schema, table) {
  const qualified = `"${schema}"."${table}"`;
  const exists = await client.query("SELECT to_regclass($1) IS NOT NULL AS found", [qualified]);
  if (!exists.rows[0].found) return null;
  const newest = await client.query(`SELECT max(created_at) AS newest FROM ${qualified}`);
  return newest.rows[0].newest === null ? null : Number(newest.rows[0].newest);
}

// Statements PostgreSQL refuses inside a transaction block (SQLSTATE 25001): a migration holding
// one is applied without a transaction. Recognised from the statement itself, so that what
// drizzle-kit generate writes for an index declared .concurrently() needs no marker; the same
// list is in scripts/checks/lint_migrations.py (NO_TRANSACTION), which squawks such files accordingly.
const NO_TRANSACTION =
  /^\s*(create\s+(unique\s+)?index\s+concurrently|drop\s+index\s+concurrently|reindex\b[^;]*\bconcurrently|alter\s+table\b[^;]*\bdetach\s+partition\b[^;]*\bconcurrently|vacuum\b|alter\s+system\b|(create|drop)\s+(database|tablespace)\b)/i;

function withoutComments(statement) {
  return statement.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/--[^\n]*/g, " ");
}

// A migration's statements as drizzle's migrator splits them (at "--> statement-breakpoint"),
// without those that are only comments or blank; null when all of them may run in a transaction.
function outsideTransaction(sqlText) {
  const statements = sqlText.split("--> statement-breakpoint").filter((s) => withoutComments(s).trim() !== "");
  return statements.some((s) => NO_TRANSACTION.test(withoutComments(s))) ? statements : null;
}

// One line of a statement, to name it in a message.
function firstLine(statement) {
  return withoutComments(statement).trim().split("\n")[0].slice(0, 120);
}

// The index a failed CREATE INDEX CONCURRENTLY left behind INVALID, schema-qualified, if there is one.
async function invalidIndexLeft(client, statement) {
  const named = withoutComments(statement).match(
    /^\s*create\s+(?:unique\s+)?index\s+concurrently\s+(?:if\s+not\s+exists\s+)?(?:"((?:[^"]|"")+)"|([\w$]+))/i,
  );
  if (!named) return null;
  const name = named[1] !== undefined ? named[1].replaceAll('""', '"') : named[2].toLowerCase();
  try {
    const found = await client.query(
      "SELECT format('%I.%I', n.nspname, c.relname) AS index FROM pg_index i " +
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace " +
        "WHERE NOT i.indisvalid AND c.relname = $1",
      [name],
    );
    return found.rows.map((row) => row.index);
  } catch {
    return null; // the session is gone: the message says to look
  }
}

// A migration applied without a transaction: its statements one by one on the session (autocommit),
// then its row in the bookkeeping table, with the hash and created_at drizzle's migrator computes
// (readMigrationFiles: sha256 of the whole file, the journal's "when"), in the table it creates.
// Every statement must be one that cannot run in a transaction: mixed with others, a failure half-way
// would leave a migration neither applied nor undone, and PostgreSQL could not roll its part back.
async function applyOutsideTransaction(client, stage, shown, statements, bookkeeping, readMigrationFiles) {
  const others = statements.filter((s) => !NO_TRANSACTION.test(withoutComments(s)));
  if (others.length > 0) {
    fail(
      `${shown}: nothing applied: it runs outside a transaction (it holds ${firstLine(
        statements.find((s) => NO_TRANSACTION.test(withoutComments(s))),
      )}), so it may hold only such statements, not ${JSON.stringify(firstLine(others[0]))}: move the others ` +
        "to a migration of their own (docs/migrations.md, 'A concurrent index in each system')",
    );
  }
  const [migration] = readMigrationFiles({ migrationsFolder: stage });
  const { schema, table } = bookkeeping;
  const qualified = `"${schema.replaceAll('"', '""')}"."${table.replaceAll('"', '""')}"`;
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replaceAll('"', '""')}"`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${qualified} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`,
    );
  } catch (error) {
    fail(`${shown}: nothing applied: the bookkeeping table ${qualified} cannot be made: ${describe(error)}`);
  }
  for (const [index, statement] of statements.entries()) {
    try {
      await client.query(statement);
    } catch (error) {
      // Two statements sent as one are an implicit transaction block, which CONCURRENTLY refuses.
      const split = error?.code === "25001" ? " (one statement between two '--> statement-breakpoint' lines)" : "";
      const done = index === 0 ? "no statement before it was applied" : `statements 1-${index} stay applied`;
      const invalid = await invalidIndexLeft(client, statement);
      const cleanup =
        invalid === null
          ? "drop an index it was building, left INVALID (pg_index.indisvalid), with DROP INDEX CONCURRENTLY; fix the cause;"
          : invalid.length > 0
            ? `drop the INVALID index it left: DROP INDEX CONCURRENTLY ${invalid.join(", ")}; fix the cause;`
            : "fix the cause;";
      fail(
        `${shown}: statement ${index + 1} of ${statements.length} failed, outside a transaction: ` +
          `${describe(error)}${split} [${firstLine(statement)}]; ${done}, the migration is not recorded. To finish: ` +
          `${cleanup} then make migrate runs the file again from its first statement ` +
          "(write IF NOT EXISTS / IF EXISTS so that statements already applied pass)",
      );
    }
  }
  try {
    await client.query(`INSERT INTO ${qualified} ("hash", "created_at") VALUES ($1, $2)`, [
      migration.hash,
      migration.folderMillis,
    ]);
  } catch (error) {
    fail(
      `${shown}: its ${statements.length} statement(s) were applied, outside a transaction, but recording it ` +
        `in ${qualified} failed: ${describe(error)}; make migrate runs the file again from its first statement ` +
        "(write IF NOT EXISTS / IF EXISTS so that statements already applied pass)",
    );
  }
}

function describe(error) {
  // drizzle-orm wraps the database's error ("Failed query: ..."): its cause says what went wrong.
  const cause = error?.cause ?? error;
  const message = String(cause?.message ?? cause).split("\n")[0];
  return cause?.code ? `${message} (SQLSTATE ${cause.code})` : message;
}

// "retries=20 first_wait=0.5 max_wait=2" (MIGRATION_LOCK_RETRIES, from make migrate; none when unset).
function lockRetries(text) {
  const given = Object.fromEntries(bounds(text));
  return {
    retries: Number(given.retries ?? 0),
    firstWait: Number(given.first_wait ?? 0.5),
    maxWait: Number(given.max_wait ?? 2),
  };
}

// A migration whose lock wait times out (lock_timeout: short, so that the app's queries never
// queue long behind it) has been rolled back whole: wait, with backoff and jitter, and apply it again.
async function withLockRetries(apply, shown, { retries, firstWait, maxWait }) {
  let wait = firstWait;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await apply();
    } catch (error) {
      if ((error?.cause ?? error)?.code !== "55P03" || attempt > retries) throw error;
      const pause = wait / 2 + (Math.random() * wait) / 2;
      const next = `attempt ${attempt + 1} of ${retries + 1} in ${pause.toFixed(1)} s`;
      console.log(`lock timeout on ${shown} (${describe(error)}): ${next}`);
      await new Promise((resolve) => setTimeout(resolve, pause * 1000));
      wait = Math.min(wait * 2, maxWait);
    }
  }
}

// A dead connection (the server stopped, the session terminated) is an 'error' event on the client
// and its connection: unhandled, Node would crash before saying which migration it was applying.
// The query in flight fails with it too, and that failure names the file.
function watchConnection(client) {
  const seen = { error: null };
  const note = (error) => {
    seen.error ??= error;
  };
  client.on("error", note);
  client.connection?.on("error", note);
  return seen;
}

// The database's own words when it said why (e.g. 57P01, the session terminated), else what
// the dead connection said ("Connection terminated unexpectedly").
function describeFailure(error, connection) {
  return (error?.cause ?? error)?.code || !connection.error ? describe(error) : describe(connection.error);
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const systems = readSystems();
  const frontend = join(repoRoot, systems.FRONTEND_DIR);
  const migrations = join(frontend, systems.FRONTEND_MIGRATIONS_DIR);
  const schema = systems.FRONTEND_BOOKKEEPING_SCHEMA;
  const table = systems.FRONTEND_BOOKKEEPING_TABLE;
  const url = process.env.DIRECT_DATABASE_URL || process.env.DATABASE_URL;
  if (!url) fail("DATABASE_URL is not set: run make migrate-frontend, which sets it", 2);

  // The frontend's own packages: the drizzle-orm and pg that drizzle-kit migrate would use.
  const require = createRequire(join(frontend, "package.json"));
  const pg = require("pg");
  const { drizzle } = require("drizzle-orm/node-postgres");
  const { migrate } = require("drizzle-orm/node-postgres/migrator");
  const { readMigrationFiles } = require("drizzle-orm/migrator");

  const retries = lockRetries(process.env.MIGRATION_LOCK_RETRIES);
  const journal = JSON.parse(readFileSync(join(migrations, "meta", "_journal.json"), "utf8"));
  const client = new pg.Client({ connectionString: url });
  const connection = watchConnection(client);
  const stage = mkdtempSync(join(tmpdir(), "drizzle-migrate-"));
  try {
    try {
      await client.connect();
    } catch (error) {
      fail(`cannot connect to the database: ${describe(error)}`);
    }
    // The run's name for this session and its client check too (MIGRATION_SESSION, from make migrate).
    const session = [...bounds(process.env.MIGRATION_BOUNDS), ...bounds(process.env.MIGRATION_SESSION)];
    for (const [name, value] of session) {
      await client.query("SELECT set_config($1, $2, false)", [name, value]);
    }
    const newest = await newestApplied(client, schema, table);
    const todo = pending(journal, newest, options.to);
    // One at a time, each must be newer than the one before, or the migrator would skip it.
    for (let index = 1; index < todo.length; index += 1) {
      if (todo[index].when <= todo[index - 1].when) {
        fail(
          `${todo[index].tag} is not newer than ${todo[index - 1].tag} in the journal ("when"): ` +
            "nothing was applied; make migrate-check says how to fix it",
          2,
        );
      }
    }
    mkdirSync(join(stage, "meta"));
    const db = drizzle(client);
    for (const entry of todo) {
      const file = join(migrations, `${entry.tag}.sql`);
      const shown = relative(repoRoot, file);
      writeFileSync(join(stage, "meta", "_journal.json"), JSON.stringify({ ...journal, entries: [entry] }));
      copyFileSync(file, join(stage, `${entry.tag}.sql`));
      const started = performance.now();
      const statements = outsideTransaction(readFileSync(file, "utf8"));
      if (statements) {
        await applyOutsideTransaction(client, stage, shown, statements, { schema, table }, readMigrationFiles);
      } else {
        try {
          await withLockRetries(
            () => migrate(db, { migrationsFolder: stage, migrationsSchema: schema, migrationsTable: table }),
            shown,
            retries,
          );
        } catch (error) {
          fail(`${shown}: ${describeFailure(error, connection)}`);
        }
      }
      rmSync(join(stage, `${entry.tag}.sql`));
      console.log(`✓ applied ${shown} (${Math.round(performance.now() - started)} ms)`);
    }
    if (todo.length === 0) console.log(`nothing to apply: ${relative(repoRoot, migrations)} is applied`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
    await client.end().catch(() => {});
  }
}

try {
  await main();
} catch (error) {
  console.error(`✗ ${error instanceof Stop ? error.message : describe(error)}`);
  process.exitCode = error instanceof Stop ? error.code : 1;
}
