/*-------------------------------------------------------------------------
 *
 * manifest.h
 *		A snapshot's manifest.json: its one writer and its one reader, the
 *		header checks, the lookups on it and the checksums of the files it
 *		lists.  The archive format itself is documented at the top of
 *		src/manifest.c.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/manifest.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BAC_MANIFEST_H
#define BAC_MANIFEST_H

#include "pg_bac.h"

#define BAC_MANIFEST_NAME		"manifest.json"
/* each service directory's plain psql script (see plainscript.c) */
#define BAC_PLAIN_SCRIPT_NAME	"restore.sql"

/* one file of a snapshot, as the manifest lists it */
typedef struct BacManifestFile
{
	char	   *path;			/* relative to the snapshot directory */
	int64		bytes;			/* size on disk */
	char		sha256[65];		/* hex */
} BacManifestFile;

/* one table's data: the files are loaded in list order */
typedef struct BacManifestTable
{
	char	   *name;			/* table name inside its schema */
	int64		rows;
	int64		bytes;			/* on disk, all files */
	int64		raw_bytes;		/* uncompressed COPY text */
	List	   *files;			/* char * paths (relative), in load order */
} BacManifestTable;

typedef struct BacManifestService
{
	char	   *service;
	char	   *schema;
	char	   *directory;		/* relative directory of its files */
	char	   *owner;			/* NULL if none */
	char	   *service_group;	/* NULL if none */
	char	   *pre_data;		/* relative path of pre-data.sql */
	char	   *post_data;		/* relative path of post-data.sql */
	List	   *tables;			/* BacManifestTable *, in load order */
	List	   *extensions;		/* char * */
	List	   *extension_info; /* BacExtensionInfo *, same order; NIL in
								 * older snapshots */
	List	   *uncaptured;		/* char * */
	List	   *pre_order;		/* ints: byte offset in pre-data.sql where an
								 * item begins, then its position in the
								 * snapshot-wide order, per item; NIL in
								 * older snapshots */
	List	   *post_order;		/* the same for post-data.sql */
} BacManifestService;

typedef struct BacManifest
{
	char	   *directory;		/* absolute path of the snapshot directory */
	int			format;
	char	   *snapshot_id;
	char	   *label;			/* NULL if none */
	char	   *consistent_at;	/* timestamptz text, ISO 8601 */
	char	   *txid_snapshot;	/* pg_current_snapshot() of the instant */
	char	   *wal_lsn;
	char	   *wal_insert_lsn; /* pg_current_wal_insert_lsn() under the
								 * snapshot; NULL on a standby or in
								 * manifests of pg_bac 0.1 */
	bool		in_recovery;
	uint32		timeline;		/* WAL timeline at the instant, 0 if not
								 * recorded (older snapshots, standbys) */
	char	   *system_identifier;
	char	   *server_version;
	int			server_version_num;
	char	   *database;
	char	   *encoding;		/* of the COPY text in the data files */
	char	   *extension_version;
	BacCompression compression;
	int			workers;
	int64		duration_us;
	int			tables;
	int64		rows;
	int64		bytes;
	List	   *services;		/* BacManifestService * */
	char	   *links;			/* writer only: JSON array of bac.links rows */
	List	   *files;			/* BacManifestFile *: every file but the
								 * manifest */
} BacManifest;

/* result of checking one file against the manifest */
typedef struct BacVerifyResult
{
	char	   *file;
	bool		ok;
	char	   *detail;
} BacVerifyResult;

/* BacReadManifest flags */
#define BAC_MANIFEST_SAME_MAJOR	0x01	/* refuse another server major version */

/* reading and writing */
extern BacManifest *BacReadManifest(const char *snapshot_id, int flags);
extern BacManifest *BacParseManifest(const char *directory, const char *json,
									 bool missing_ok);
extern bool BacManifestChecksumOk(const char *text, size_t len, char **detail);
extern char *BacManifestText(BacManifest *m);

/* the WAL position of the instant: wal_insert_lsn, else wal_lsn */
extern XLogRecPtr BacManifestInstantLsn(BacManifest *m);

/* lookups */
extern BacManifestService *BacManifestFindService(BacManifest *m,
												  const char *name);
extern List *BacManifestServiceFiles(BacManifest *m, BacManifestService *svc);

/* checksums */
extern void BacSha256Hex(const uint8 *digest, char *hex);
extern void BacSha256File(const char *path, char *hex, int64 *bytes);
extern List *BacVerifyFiles(BacManifest *manifest, List *paths);
extern void BacVerifyFilesOrError(BacManifest *manifest, List *paths);

/* archive.c: the snapshots of this database */
extern List *BacListManifests(const char *archive, bool *complete);

/* archive.c: who may act on a snapshot */
extern void BacCheckSnapshotDatabase(BacManifest *manifest, const char *action);
extern void BacCheckSnapshotPrivilege(BacManifest *manifest,
									  const char *action);

#endif							/* BAC_MANIFEST_H */
