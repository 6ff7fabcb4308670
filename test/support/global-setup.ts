/** Says once per run which database the suite uses, so a run without PostgreSQL says so. */
export default function setup(): void {
  const url = process.env.DATABASE_URL;
  process.stdout.write(
    url
      ? `Database: PostgreSQL (${url.replace(/\/\/[^@/]*@/, '//***@')})\n`
      : 'Database: embedded PGlite in memory. PostgreSQL runs skipped: set DATABASE_URL to run the suite against PostgreSQL.\n',
  );
}
