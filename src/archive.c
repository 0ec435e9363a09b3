/*-------------------------------------------------------------------------
 *
 * archive.c
 *		The archive directory: where it is, snapshot ids, temporary
 *		directories and their cleanup, fsync, the whole-file reader, who may
 *		act on a snapshot, and the catalogue functions bac.snapshots(),
 *		bac.verify_snapshot(), bac.drop_snapshot(), bac.prune_snapshots().
 *
 * The archive format (the files of a snapshot and its manifest.json) is
 * documented at the top of src/manifest.c.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/archive.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands/dbcommands.h"
#include "common/cryptohash.h"
#include "common/jsonapi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/pg_lsn.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "manifest.h"
#include "pitr.h"
#include "progress.h"

#define BAC_WHOLE_FILE_MAX_SIZE	(256 * 1024 * 1024)
#define TEMP_PREFIX			".tmp-"

static void ArchiveCleanStaleTempDirs(const char *archive);

/*
 * BacArchiveDirectory
 *		The absolute path of the archive directory (bac.archive_directory,
 *		relative to the data directory unless absolute).  With create, make
 *		it (0700) when it is missing and clean stale temporary directories.
 */
char *
BacArchiveDirectory(bool create)
{
	char	   *path;
	struct stat st;

	if (bac_archive_directory == NULL || bac_archive_directory[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bac.archive_directory is not set"),
				 errdetail("Snapshots are written under the directory this setting names."),
				 errhint("Set bac.archive_directory in postgresql.conf and reload.")));
	if (is_absolute_path(bac_archive_directory))
		path = pstrdup(bac_archive_directory);
	else
		path = psprintf("%s/%s", DataDir, bac_archive_directory);
	canonicalize_path(path);

	if (stat(path, &st) != 0)
	{
		if (errno != ENOENT || !create)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not access archive directory \"%s\": %m", path),
					 errdetail("bac.archive_directory names a directory that cannot be used."),
					 errhint("Create the directory for the server's operating system user, or change bac.archive_directory.")));
		if (pg_mkdir_p(path, S_IRWXU) != 0 && errno != EEXIST)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create archive directory \"%s\": %m", path),
					 errdetail("bac.archive_directory names a directory that does not exist and cannot be created."),
					 errhint("Create the directory for the server's operating system user, or change bac.archive_directory.")));
	}
	else if (!S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("archive directory \"%s\" is not a directory", path),
				 errdetail("bac.archive_directory must name a directory."),
				 errhint("Change bac.archive_directory.")));
	if (create)
		ArchiveCleanStaleTempDirs(path);
	return path;
}

/*
 * BacValidSnapshotId
 *		True if the string has exactly the shape of a snapshot id,
 *		YYYYMMDDTHHMMSS.ffffffZ.  Nothing else ever becomes a path component.
 */
bool
BacValidSnapshotId(const char *snapshot_id)
{
	const char *shape = "ddddddddTdddddd.ddddddZ";
	int			i;

	if (snapshot_id == NULL || strlen(snapshot_id) != BAC_SNAPSHOT_ID_LEN)
		return false;
	for (i = 0; i < BAC_SNAPSHOT_ID_LEN; i++)
	{
		if (shape[i] == 'd')
		{
			if (snapshot_id[i] < '0' || snapshot_id[i] > '9')
				return false;
		}
		else if (snapshot_id[i] != shape[i])
			return false;
	}
	return true;
}

/*
 * BacSnapshotIdAt
 *		The id of a snapshot consistent at ts: YYYYMMDDTHHMMSS.ffffffZ in UTC
 *		(ids sort by time).
 */
char *
BacSnapshotIdAt(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		elog(ERROR, "timestamp out of range");
	return psprintf("%04d%02d%02dT%02d%02d%02d.%06dZ",
					tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
}

/*
 * BacSchemaDirName
 *		The directory name of a schema inside the snapshot: the schema name
 *		when it is plain lower-case letters, digits and underscores, else
 *		"schema-N".
 */
char *
BacSchemaDirName(const char *schema, int n)
{
	const char *p;

	if (strlen(schema) > 0 && strlen(schema) < NAMEDATALEN)
	{
		for (p = schema; *p; p++)
		{
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
				break;
		}
		if (*p == '\0')
			return pstrdup(schema);
	}
	return psprintf("schema-%d", n);
}

/*
 * BacSnapshotDirectory
 *		The absolute directory of an existing snapshot; errors for an id of
 *		the wrong shape or a snapshot that does not exist.
 */
char *
BacSnapshotDirectory(const char *snapshot_id)
{
	char	   *archive;
	char	   *dir;
	struct stat st;

	if (!BacValidSnapshotId(snapshot_id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid snapshot id \"%s\"", snapshot_id),
				 errdetail("A snapshot id has the form %s.", BAC_SNAPSHOT_ID_PATTERN),
				 errhint("Use a snapshot_id listed by bac.snapshots().")));
	archive = BacArchiveDirectory(true);
	dir = psprintf("%s/%s", archive, snapshot_id);
	if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("snapshot \"%s\" is a symbolic link", snapshot_id),
				 errdetail("pg_bac reads and writes only inside the archive directory and follows no link out of it."),
				 errhint("Move the snapshot directory itself into the archive directory, or remove the link.")));
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("snapshot \"%s\" does not exist", snapshot_id),
				 errdetail("The archive directory has no snapshot with this id."),
				 errhint("Use a snapshot_id listed by bac.snapshots().")));
	return dir;
}

/*
 * ArchiveCleanStaleTempDirs
 *		Remove ".tmp-<id>.<pid>" directories whose backend is gone: leftovers
 *		of a crash or of a server stop in the middle of a snapshot.  A live
 *		backend's temporary directory is left alone.
 */
static void
ArchiveCleanStaleTempDirs(const char *archive)
{
	DIR		   *dir;
	struct dirent *de;

	dir = AllocateDir(archive);
	while ((de = ReadDir(dir, archive)) != NULL)
	{
		char	   *dot;
		long		pid;

		CHECK_FOR_INTERRUPTS();
		if (strncmp(de->d_name, TEMP_PREFIX, strlen(TEMP_PREFIX)) != 0)
			continue;
		dot = strrchr(de->d_name, '.');
		pid = dot ? strtol(dot + 1, NULL, 10) : 0;
		if (pid > 0 && pid != MyProcPid && BackendPidGetProc((int) pid) != NULL)
			continue;
		if (pid == MyProcPid)
			continue;			/* ours, in use or cleaned by our caller */
		{
			char	   *path = psprintf("%s/%s", archive, de->d_name);
			struct stat st;

			/* a link (or file) is removed itself, never what it points to */
			if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode))
			{
				if (unlink(path) != 0)
					ereport(WARNING,
							(errcode_for_file_access(),
							 errmsg("could not remove stale temporary entry \"%s\": %m", path)));
			}
			else if (!rmtree(path, true))
				ereport(WARNING,
						(errcode_for_file_access(),
						 errmsg("could not remove stale temporary directory \"%s\"", path)));
			else
				ereport(DEBUG1,
						(errmsg("removed stale temporary directory \"%s\"", path)));
			pfree(path);
		}
	}
	FreeDir(dir);
}

/*
 * BacFsyncPath
 *		fsync a file or a directory; any failure is an ERROR (the snapshot
 *		is then abandoned, so PANIC as for the server's own files is not
 *		needed).
 */
void
BacFsyncPath(const char *path, bool isdir)
{
	if (fsync_fname_ext(path, isdir, false, ERROR) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync \"%s\": %m", path)));
}

/*
 * BacMakeDir
 *		mkdir 0700 or error.
 */
void
BacMakeDir(const char *path)
{
	if (mkdir(path, S_IRWXU) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", path),
				 errdetail("Snapshots are written under bac.archive_directory."),
				 errhint("Check that the archive directory is writable by the server and not full.")));
}

/*
 * BacWriteNewFile
 *		Create a file 0600, write a buffer, fsync it.
 */
void
BacWriteNewFile(const char *path, const char *data, size_t len)
{
	int			fd = OpenTransientFilePerm(path, O_CREAT | O_EXCL | O_WRONLY | PG_BINARY,
										   S_IRUSR | S_IWUSR);

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", path)));
	BacWriteAll(fd, path, data, len);
	if (pg_fsync(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", path)));
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", path)));
}

/*
 * BacReadWholeFile
 *		Read a small file of a snapshot (the manifest, a script) into a
 *		NUL-terminated palloc'd buffer, its length in *len when len is not
 *		NULL; NULL if it does not exist and missing_ok.  what names the file
 *		in messages ("file", "snapshot script").
 */
char *
BacReadWholeFile(const char *path, const char *what, bool missing_ok,
				 size_t *len)
{
	int			fd;
	struct stat st;
	char	   *buf;
	size_t		done = 0;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		if (missing_ok && errno == ENOENT)
			return NULL;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open %s \"%s\": %m", what, path)));
	}
	if (fstat(fd, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat %s \"%s\": %m", what, path)));
	if (st.st_size > BAC_WHOLE_FILE_MAX_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s \"%s\" is too large", what, path)));
	buf = palloc(st.st_size + 1);
	while (done < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + done, st.st_size - done);

		CHECK_FOR_INTERRUPTS();
		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read %s \"%s\": %m", what, path)));
		if (n == 0)
			break;
		done += n;
	}
	CloseTransientFile(fd);
	buf[done] = '\0';
	if (len)
		*len = done;
	return buf;
}

/*
 * ArchiveOfThisDatabase
 *		True if the snapshot was taken in the current database.  Schema
 *		ownership proves nothing about a snapshot of another database (a
 *		role may own a schema of the same name there).
 */
static bool
ArchiveOfThisDatabase(BacManifest *m)
{
	return m->database != NULL &&
		strcmp(m->database, get_database_name(MyDatabaseId)) == 0;
}

/*
 * BacCheckSnapshotDatabase
 *		Error unless the caller is a superuser or the snapshot was taken in
 *		the current database.  Restore and export call this before they
 *		check the ownership of a single service's schema.
 */
void
BacCheckSnapshotDatabase(BacManifest *m, const char *action)
{
	if (!superuser() && !ArchiveOfThisDatabase(m))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s snapshot \"%s\"",
						action, m->snapshot_id),
				 errdetail("The snapshot was taken in another database; only a superuser may use it here."),
				 errhint("Connect to the database the snapshot was taken in, or ask a superuser.")));
}

/*
 * ArchiveMaySeeSnapshot
 *		A superuser may act on every snapshot; another role only on
 *		snapshots of the current database whose every schema exists and is
 *		owned by it.
 */
static bool
ArchiveMaySeeSnapshot(BacManifest *m)
{
	ListCell   *lc;

	if (superuser())
		return true;
	if (!ArchiveOfThisDatabase(m))
		return false;
	foreach(lc, m->services)
	{
		BacManifestService *s = lfirst(lc);
		Oid			nspoid = BacSchemaOid(s->schema, true);

		if (!OidIsValid(nspoid) || !BacMayActOnSchema(nspoid))
			return false;
	}
	return true;
}

/*
 * BacCheckSnapshotPrivilege
 *		Error unless the caller may act on every service of the snapshot.
 */
void
BacCheckSnapshotPrivilege(BacManifest *m, const char *action)
{
	if (!ArchiveMaySeeSnapshot(m))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s snapshot \"%s\"",
						action, m->snapshot_id),
				 errdetail("Only a superuser, or the owner of every schema in the snapshot, may %s it.",
						   action),
				 errhint("Run this as a superuser or as the role that owns the schemas.")));
}

/*
 * ArchiveStrcmpList
 *		list_sort comparator for a List of char *.
 */
static int
ArchiveStrcmpList(const ListCell *a, const ListCell *b)
{
	return strcmp((const char *) lfirst(a), (const char *) lfirst(b));
}

/*
 * BacListManifests
 *		The manifests of every valid snapshot of the current database in
 *		the archive, sorted by id.
 *		Directories without a readable manifest, or whose manifest's own
 *		checksum line does not match (every reader would reject it), are
 *		skipped with a WARNING (and *complete set false when complete is not
 *		NULL: such a snapshot may be of this database); temporary
 *		directories are never listed.
 */
List *
BacListManifests(const char *archive, bool *complete)
{
	DIR		   *dir;
	struct dirent *de;
	List	   *ids = NIL;
	List	   *result = NIL;
	ListCell   *lc;

	dir = AllocateDir(archive);
	while ((de = ReadDir(dir, archive)) != NULL)
	{
		CHECK_FOR_INTERRUPTS();
		if (BacValidSnapshotId(de->d_name))
			ids = lappend(ids, pstrdup(de->d_name));
	}
	FreeDir(dir);
	list_sort(ids, ArchiveStrcmpList);

	foreach(lc, ids)
	{
		char	   *id = lfirst(lc);
		char	   *sdir = psprintf("%s/%s", archive, id);
		char	   *path = psprintf("%s/%s", sdir, BAC_MANIFEST_NAME);
		size_t		len;
		char	   *mtext;
		BacManifest *m;
		struct stat st;
		char	   *detail;

		CHECK_FOR_INTERRUPTS();
		if (lstat(sdir, &st) != 0 || !S_ISDIR(st.st_mode))
		{
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("skipping \"%s\": not a directory (a symbolic link is never followed)", sdir)));
			continue;
		}
		mtext = BacReadWholeFile(path, "file", true, &len);
		m = mtext ? BacParseManifest(sdir, mtext, true) : NULL;
		if (m == NULL || strcmp(m->snapshot_id, id) != 0)
		{
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("skipping snapshot directory \"%s\": no valid manifest", sdir)));
			if (complete)
				*complete = false;
			continue;
		}
		/* a manifest every reader would reject is not listed either */
		if (!BacManifestChecksumOk(mtext, len, &detail))
		{
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("skipping snapshot directory \"%s\": the manifest is damaged", sdir),
					 errdetail("%s.", detail),
					 errhint("Check the snapshot with bac.verify_snapshot().")));
			if (complete)
				*complete = false;
			continue;
		}
		/* the archive directory is per cluster; list this database's */
		if (strcmp(m->database, get_database_name(MyDatabaseId)) != 0)
			continue;
		result = lappend(result, m);
	}
	return result;
}

/*
 * ArchiveServicesArray
 *		The service names of a manifest as a name[] datum.
 */
static Datum
ArchiveServicesArray(BacManifest *m)
{
	int			n = list_length(m->services);
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	ListCell   *lc;
	int			i = 0;

	foreach(lc, m->services)
	{
		BacManifestService *s = lfirst(lc);
		Name		nm = palloc0(NAMEDATALEN);

		namestrcpy(nm, s->service);
		elems[i++] = NameGetDatum(nm);
	}
	return PointerGetDatum(construct_array(elems, n, NAMEOID, NAMEDATALEN,
										   false, TYPALIGN_CHAR));
}

/*
 * bac.snapshots() RETURNS TABLE (snapshot_id text, label text,
 *		consistent_at timestamptz, services name[], tables int, rows bigint,
 *		bytes bigint, compression text, workers int, duration interval,
 *		txid_snapshot text, wal_lsn pg_lsn, in_recovery boolean,
 *		server_version text, format int)
 *
 *		Every valid snapshot in the archive, read from the manifests on disk
 *		(the directory is the source of truth), oldest first.  A role that
 *		is not superuser sees only snapshots of schemas it owns.  Stale
 *		temporary directories are cleaned on the way.
 */
PG_FUNCTION_INFO_V1(bac_snapshots);
Datum
bac_snapshots(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *archive;
	List	   *manifests;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	archive = BacArchiveDirectory(true);
	manifests = BacListManifests(archive, NULL);
	foreach(lc, manifests)
	{
		BacManifest *m = lfirst(lc);
		Datum		values[15];
		bool		nulls[15] = {0};

		if (!ArchiveMaySeeSnapshot(m))
			continue;
		values[0] = CStringGetTextDatum(m->snapshot_id);
		if (m->label)
			values[1] = CStringGetTextDatum(m->label);
		else
			nulls[1] = true;
		values[2] = DirectFunctionCall3(timestamptz_in,
										CStringGetDatum(m->consistent_at),
										ObjectIdGetDatum(InvalidOid),
										Int32GetDatum(-1));
		values[3] = ArchiveServicesArray(m);
		values[4] = Int32GetDatum(m->tables);
		values[5] = Int64GetDatum(m->rows);
		values[6] = Int64GetDatum(m->bytes);
		values[7] = CStringGetTextDatum(BacCompressionName(m->compression));
		values[8] = Int32GetDatum(m->workers);
		{
			Interval   *iv = palloc0(sizeof(Interval));

			iv->time = m->duration_us;
			values[9] = IntervalPGetDatum(iv);
		}
		values[10] = CStringGetTextDatum(m->txid_snapshot);
		values[11] = DirectFunctionCall1(pg_lsn_in, CStringGetDatum(m->wal_lsn));
		values[12] = BoolGetDatum(m->in_recovery);
		values[13] = CStringGetTextDatum(m->server_version);
		values[14] = Int32GetDatum(m->format);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * bac.verify_snapshot(snapshot_id text) RETURNS TABLE (file text,
 *		ok boolean, detail text)
 *
 *		Recompute the checksum of every file of the snapshot, the manifest
 *		included, and report each.  Files in the snapshot directory that the
 *		manifest does not list are reported too.
 */
PG_FUNCTION_INFO_V1(bac_verify_snapshot);
Datum
bac_verify_snapshot(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *id;
	char	   *dir;
	char	   *path;
	char	   *mtext;
	size_t		len;
	char	   *detail = NULL;
	bool		manifest_ok;
	BacManifest *m;
	List	   *results;
	ListCell   *lc;
	Datum		values[3];
	bool		nulls[3] = {0};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("snapshot_id must not be null"),
				 errdetail("bac.verify_snapshot() checks one snapshot."),
				 errhint("Use a snapshot_id listed by bac.snapshots().")));
	id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	InitMaterializedSRF(fcinfo, 0);
	dir = BacSnapshotDirectory(id);
	path = psprintf("%s/%s", dir, BAC_MANIFEST_NAME);
	mtext = BacReadWholeFile(path, "file", true, &len);
	if (mtext == NULL)
	{
		manifest_ok = false;
		detail = pstrdup("missing");
	}
	else
		manifest_ok = BacManifestChecksumOk(mtext, len, &detail);
	m = mtext ? BacParseManifest(dir, mtext, true) : NULL;
	if (m == NULL && manifest_ok)
	{
		manifest_ok = false;
		detail = pstrdup("not a valid manifest");
	}
	if (m != NULL && manifest_ok && strcmp(m->snapshot_id, id) != 0)
	{
		/* a manifest copied from another snapshot: intact, but not ours */
		manifest_ok = false;
		detail = psprintf("names snapshot \"%s\", not this one", m->snapshot_id);
	}
	if (m != NULL)
		BacCheckSnapshotPrivilege(m, "verify");
	else if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to verify snapshot \"%s\"", id),
				 errdetail("The manifest is damaged, so the snapshot's owners are unknown."),
				 errhint("Ask a superuser to check it.")));

	values[0] = CStringGetTextDatum(BAC_MANIFEST_NAME);
	values[1] = BoolGetDatum(manifest_ok);
	values[2] = CStringGetTextDatum(manifest_ok ? "manifest checksum ok" : detail);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	if (m == NULL)
		return (Datum) 0;

	BacProgressBegin(BAC_PROGRESS_VERIFY, m->snapshot_id, NULL);
	BacProgressTotals(list_length(m->files), -1);
	BacProgressPhase("verifying");
	results = BacVerifyFiles(m, NIL);
	BacProgressEnd();
	foreach(lc, results)
	{
		BacVerifyResult *r = lfirst(lc);

		values[0] = CStringGetTextDatum(r->file);
		values[1] = BoolGetDatum(r->ok);
		values[2] = CStringGetTextDatum(r->detail);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * ArchiveRemoveSnapshotDir
 *		Remove a snapshot directory so that no crash leaves it half-listed:
 *		first rename it to a temporary name (it stops being a snapshot at
 *		once), fsync the archive, then delete the files.
 */
static void
ArchiveRemoveSnapshotDir(const char *archive, const char *snapshot_id)
{
	char	   *from = psprintf("%s/%s", archive, snapshot_id);
	char	   *to = psprintf("%s/%s%s.%d", archive, TEMP_PREFIX, snapshot_id, MyProcPid);
	struct stat st;

	/* never delete through a link: what it points to is not ours */
	if (lstat(from, &st) != 0 || !S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("snapshot \"%s\" is not a directory", snapshot_id),
				 errdetail("pg_bac deletes only directories inside the archive directory and follows no link out of it."),
				 errhint("Remove \"%s\" by hand.", from)));
	if (rename(from, to) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rename \"%s\" to \"%s\": %m", from, to)));
	BacFsyncPath(archive, true);
	if (!rmtree(to, true))
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not remove directory \"%s\"", to),
				 errhint("It is removed the next time a pg_bac function reads the archive.")));
}

/*
 * bac.drop_snapshot(snapshot_id text) RETURNS void
 *		Delete a snapshot from the archive, then the change segments no
 *		kept snapshot needs any more (retention.c).
 */
PG_FUNCTION_INFO_V1(bac_drop_snapshot);
Datum
bac_drop_snapshot(PG_FUNCTION_ARGS)
{
	char	   *id;
	BacManifest *m;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("snapshot_id must not be null"),
				 errdetail("bac.drop_snapshot() drops one snapshot."),
				 errhint("Use a snapshot_id listed by bac.snapshots().")));
	id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!superuser())
	{
		m = BacReadManifest(id, 0);
		BacCheckSnapshotPrivilege(m, "drop");
	}
	else
		(void) BacSnapshotDirectory(id);	/* validates id and existence */
	ArchiveRemoveSnapshotDir(BacArchiveDirectory(true), id);
	BacPitrPruneNotice();
	PG_RETURN_VOID();
}

/*
 * bac.prune_snapshots(keep_last int DEFAULT NULL,
 *		older_than interval DEFAULT NULL) RETURNS int
 *
 *		Drop snapshots that are not among the newest keep_last and (when
 *		given) are older than older_than; with only one argument given, that
 *		one decides.  Only snapshots the caller may act on are considered.
 *		Returns how many were dropped.  The change segments no kept
 *		snapshot needs any more go with them (retention.c).
 */
PG_FUNCTION_INFO_V1(bac_prune_snapshots);
Datum
bac_prune_snapshots(PG_FUNCTION_ARGS)
{
	bool		have_keep = !PG_ARGISNULL(0);
	bool		have_older = !PG_ARGISNULL(1);
	int32		keep_last = have_keep ? PG_GETARG_INT32(0) : 0;
	TimestampTz cutoff = 0;
	char	   *archive;
	List	   *manifests;
	List	   *mine = NIL;
	ListCell   *lc;
	int			n;
	int			i = 0;
	int			dropped = 0;

	if (!have_keep && !have_older)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("keep_last and older_than must not both be null"),
				 errdetail("Without either, bac.prune_snapshots() would not know what to keep."),
				 errhint("Give keep_last => N, older_than => interval, or both.")));
	if (have_keep && keep_last < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("keep_last must not be negative"),
				 errdetail("keep_last is how many of the newest snapshots to keep."),
				 errhint("Use 0 or a positive number.")));
	if (have_older)
	{
		Interval   *iv = PG_GETARG_INTERVAL_P(1);

		cutoff = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
														 TimestampTzGetDatum(GetCurrentTimestamp()),
														 IntervalPGetDatum(iv)));
	}

	archive = BacArchiveDirectory(true);
	manifests = BacListManifests(archive, NULL);
	foreach(lc, manifests)
	{
		if (ArchiveMaySeeSnapshot(lfirst(lc)))
			mine = lappend(mine, lfirst(lc));
	}
	n = list_length(mine);
	foreach(lc, mine)
	{
		BacManifest *m = lfirst(lc);
		bool		drop = true;

		CHECK_FOR_INTERRUPTS();
		/* oldest first: position from the newest is n - i */
		if (have_keep && n - i <= keep_last)
			drop = false;
		if (have_older)
		{
			TimestampTz at = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
																	 CStringGetDatum(m->consistent_at),
																	 ObjectIdGetDatum(InvalidOid),
																	 Int32GetDatum(-1)));

			if (at >= cutoff)
				drop = false;
		}
		if (drop)
		{
			ArchiveRemoveSnapshotDir(archive, m->snapshot_id);
			dropped++;
		}
		i++;
	}
	if (dropped > 0)
		BacPitrPruneNotice();
	PG_RETURN_INT32(dropped);
}
