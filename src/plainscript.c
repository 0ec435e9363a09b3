/*-------------------------------------------------------------------------
 *
 * plainscript.c
 *		<service directory>/restore.sql: each service of a snapshot as a
 *		psql script that recreates the schema with its data on any
 *		PostgreSQL server, without pg_bac.
 *
 * A backup that needs the tool to be read is a hostage.  Next to the
 * pre-data and post-data scripts and the data files of a service, the
 * snapshot writes a plain psql script:
 *
 *	header		comments: what it is, how to run it, what it needs
 *	locate		the snapshot directory: -v bac_snapshot_dir=DIR if given,
 *				else found from the script's own open file (Linux
 *				/proc/<psql pid>/fd), checked to hold manifest.json and
 *				this script; psql's \cd then makes it the working
 *				directory (\copy reads files relative to it; \ir would
 *				not help: it resolves only include paths)
 *	settings	BEGIN; pg_dump's SET header with the snapshot's encoding as
 *				client_encoding (the data files are in it)
 *	schema		CREATE SCHEMA; search_path set to it
 *	pre-data	\i <dir>/pre-data.sql
 *	data		per table in the manifest's load order, per file:
 *				\copy <schema>.<table> (<columns>) FROM '<file>'
 *				or, compressed, FROM PROGRAM 'zstd -dcq <file>' / 'lz4 -dcq
 *				<file>' (the command-line tools read what pg_bac writes)
 *	post-data	SET row_security = on; \i <dir>/post-data.sql
 *	end			COMMIT; \cd back to where psql was
 *
 * Every path in the script is relative to the snapshot directory and made
 * of the safe names the snapshot gives its directories and files, so no
 * quoting of shell or psql arguments is involved.  The script is written
 * before the manifest and listed in it with its checksum, like every
 * other file.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/plainscript.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"

#include "manifest.h"
#include "pg_bac.h"
#include "plainscript.h"

/*
 * PlainComment
 *		Text for a "--" comment line: line breaks become spaces.
 */
static char *
PlainComment(const char *text)
{
	char	   *s = pstrdup(text ? text : "");
	char	   *p;

	for (p = s; *p; p++)
	{
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
	return s;
}

/*
 * PlainHeader
 *		The comments the script starts with.
 */
static void
PlainHeader(StringInfo s, BacManifest *m, BacManifestService *svc)
{
	ListCell   *lc;

	appendStringInfoString(s,
						   "--\n"
						   "-- pg_bac snapshot: plain restore script (needs psql only, not pg_bac)\n"
						   "--\n");
	appendStringInfo(s, "-- Service: %s\n", PlainComment(svc->service));
	appendStringInfo(s, "-- Schema: %s\n", PlainComment(svc->schema));
	appendStringInfo(s, "-- Snapshot: %s%s%s%s\n", m->snapshot_id,
					 m->label ? " (label " : "",
					 m->label ? PlainComment(m->label) : "",
					 m->label ? ")" : "");
	appendStringInfo(s, "-- Consistent at: %s\n", PlainComment(m->consistent_at));
	appendStringInfo(s, "-- Source database: %s, encoding %s, server version %s\n",
					 PlainComment(m->database), PlainComment(m->encoding),
					 PlainComment(m->server_version));
	appendStringInfo(s, "-- Written by pg_bac version %s, archive format %d\n",
					 PG_BAC_VERSION, m->format);
	foreach(lc, svc->extensions)
		appendStringInfo(s, "-- Needs extension: %s\n", PlainComment(lfirst(lc)));
	foreach(lc, svc->uncaptured)
		appendStringInfo(s, "-- Not captured: %s\n", PlainComment(lfirst(lc)));
	appendStringInfo(s,
					 "--\n"
					 "-- Run from any directory, into a database without schema %s:\n"
					 "--     psql -X -d DBNAME -f /path/to/%s/%s/%s\n"
					 "-- It runs in one transaction and stops at the first error.  On Linux\n"
					 "-- it finds its own directory; elsewhere name the snapshot directory:\n"
					 "--     psql -X -v bac_snapshot_dir=/path/to/%s -d DBNAME -f ...\n"
					 "-- The data files are read by psql (\\copy), compressed ones through the\n"
					 "-- zstd or lz4 command-line tool, which must then be on PATH.  The roles\n"
					 "-- named by OWNER TO and GRANT must exist (as for a pg_dump script).\n"
					 "--\n\n",
					 PlainComment(quote_identifier(svc->schema)),
					 m->snapshot_id, svc->directory, BAC_PLAIN_SCRIPT_NAME,
					 m->snapshot_id);
}

/*
 * PlainLocate
 *		The psql lines that find the snapshot directory and make it the
 *		working directory (see the file header).
 */
static void
PlainLocate(StringInfo s, BacManifestService *svc)
{
	appendStringInfoString(s,
						   "\\set ON_ERROR_STOP on\n"
						   "\\if :{?bac_snapshot_dir}\n"
						   "\\else\n");
	appendStringInfo(s,
					 "\\set bac_snapshot_dir `for f in /proc/$PPID/fd/*; do p=$(readlink \"$f\" 2>/dev/null) || continue; "
					 "case \"$p\" in */%s/%s) dirname \"$(dirname \"$p\")\"; exit 0;; esac; done`\n",
					 svc->directory, BAC_PLAIN_SCRIPT_NAME);
	appendStringInfoString(s,
						   "\\endif\n"
						   "\\setenv BAC_SNAPSHOT_DIR :bac_snapshot_dir\n");
	appendStringInfo(s,
					 "\\set bac_found `test -f \"$BAC_SNAPSHOT_DIR/manifest.json\" && test -f \"$BAC_SNAPSHOT_DIR/%s/%s\" && echo true || echo false`\n",
					 svc->directory, BAC_PLAIN_SCRIPT_NAME);
	appendStringInfoString(s,
						   "\\if :bac_found\n"
						   "\\else\n"
						   "\\echo 'restore.sql: the snapshot directory was not found; name it: psql -v bac_snapshot_dir=/path/to/the/snapshot -f ...'\n"
						   "DO $bac$BEGIN RAISE EXCEPTION 'snapshot directory not found'; END$bac$;\n"
						   "\\endif\n"
						   "\\set bac_previous_dir `pwd`\n"
						   "\\cd :bac_snapshot_dir\n\n");
}

/*
 * PlainSettings
 *		BEGIN and pg_dump's settings, the snapshot's encoding for the data.
 */
static void
PlainSettings(StringInfo s, BacManifest *m)
{
	appendStringInfoString(s, "BEGIN;\n");
	BacExportSettings(s, m->encoding);
}

/*
 * PlainData
 *		One \copy per data file, in the manifest's load order.
 */
static void
PlainData(StringInfo s, BacManifest *m, BacManifestService *svc,
		  const char *pre_data)
{
	List	   *tables = BacExportScriptTables(pre_data);
	ListCell   *lc;

	foreach(lc, svc->tables)
	{
		BacManifestTable *t = lfirst(lc);
		char	   *target = BacExportCopyTarget(svc->schema, t->name, tables);
		ListCell   *lf;

		appendStringInfo(s, "\n-- table %s: " INT64_FORMAT " rows\n",
						 PlainComment(quote_identifier(t->name)), t->rows);
		foreach(lf, t->files)
		{
			const char *path = lfirst(lf);

			switch (m->compression)
			{
				case BAC_COMPRESSION_NONE:
					appendStringInfo(s, "\\copy %s FROM '%s'\n", target, path);
					break;
				case BAC_COMPRESSION_ZSTD:
					appendStringInfo(s, "\\copy %s FROM PROGRAM 'zstd -dcq %s'\n",
									 target, path);
					break;
				case BAC_COMPRESSION_LZ4:
					appendStringInfo(s, "\\copy %s FROM PROGRAM 'lz4 -dcq %s'\n",
									 target, path);
					break;
			}
		}
	}
}

/*
 * BacPlainScriptText
 *		The restore.sql of one service; pre_data is the text of its
 *		pre-data script (for the tables' column lists).
 */
char *
BacPlainScriptText(BacManifest *m, BacManifestService *svc,
				   const char *pre_data)
{
	StringInfoData s;

	initStringInfo(&s);
	PlainHeader(&s, m, svc);
	PlainLocate(&s, svc);
	PlainSettings(&s, m);
	appendStringInfo(&s, "CREATE SCHEMA %s;\n", quote_identifier(svc->schema));
	appendStringInfo(&s, "SELECT pg_catalog.set_config('search_path', %s, false);\n\n",
					 quote_literal_cstr(quote_identifier(svc->schema)));
	appendStringInfo(&s, "\\i %s\n", svc->pre_data);
	PlainData(&s, m, svc, pre_data);
	appendStringInfoString(&s, "\nSET row_security = on;\n");
	appendStringInfo(&s, "\\i %s\n\n", svc->post_data);
	appendStringInfoString(&s, "COMMIT;\n\\cd :bac_previous_dir\n");
	return s.data;
}

/*
 * BacWritePlainScripts
 *		Write every service's restore.sql into the snapshot being written
 *		in dir (the manifest's services and tables are filled in) and list
 *		them in the manifest's files with their checksums.
 */
void
BacWritePlainScripts(BacManifest *m, const char *dir)
{
	ListCell   *lc;

	foreach(lc, m->services)
	{
		BacManifestService *svc = lfirst(lc);
		BacManifestFile *f = palloc0(sizeof(BacManifestFile));
		size_t		len;
		char	   *pre = BacReadWholeFile(psprintf("%s/%s", dir, svc->pre_data),
									   "snapshot script", false, &len);
		char	   *text = BacPlainScriptText(m, svc, pre);
		char	   *abs;

		CHECK_FOR_INTERRUPTS();
		f->path = psprintf("%s/%s", svc->directory, BAC_PLAIN_SCRIPT_NAME);
		abs = psprintf("%s/%s", dir, f->path);
		BacWriteNewFile(abs, text, strlen(text));
		BacSha256File(abs, f->sha256, &f->bytes);
		m->files = lappend(m->files, f);
		m->bytes += f->bytes;
	}
}
