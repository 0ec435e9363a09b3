/*-------------------------------------------------------------------------
 *
 * pg_bac.h
 *		Declarations shared by the subsystems of pg_bac.
 *
 * Copyright (c) 2026, pg_bac developers
 *
 * IDENTIFICATION
 *		src/pg_bac.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_BAC_H
#define PG_BAC_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#define PG_BAC_VERSION			"0.2"
#define PG_BAC_ARCHIVE_FORMAT	1

/* pg_bac.c: settings and helpers every subsystem uses */
extern char *bac_archive_directory;

extern void BacCheckSchemaPrivilege(Oid nspoid, const char *action);
extern Oid	BacSchemaOid(const char *nspname, bool missing_ok);
extern int	BacNameArrayElements(ArrayType *arr, const char *argname,
								 const char *flat_hint, Datum **elems,
								 bool **nulls);

/*
 * registry.c: the registry lives in table bac.service
 *   (service name PRIMARY KEY, schema_name name NOT NULL UNIQUE,
 *    owner regrole, service_group name, registered_at timestamptz)
 * and links in bac.link
 *   (link name PRIMARY KEY, from_schema name, from_table name,
 *    from_columns name[], to_schema name, to_table name, to_columns name[],
 *    orphans_matter bool, created_at timestamptz);
 * views bac.services and bac.links show them (bac.links adds the
 * discovered cross-service foreign keys, declared = false).
 *
 * Registry reads and writes go through BacRegistryQuery/BacRegistryExecute,
 * which run one statement as the owner of the registry tables (the
 * extension owner): callers must have checked the caller's rights first.  BacLockRegistry serializes every
 * change of the registry (register, unregister, add_link, drop_link).
 */
extern Oid	BacRegistryRelid(const char *relname);
extern void BacLockRegistry(void);
extern int	BacPinSearchPath(void);
extern int	BacRegistryQuery(const char *sql, int nargs, Oid *argtypes,
							 Datum *values, const char *nulls);
extern void BacRegistryExecute(const char *sql, int nargs, Oid *argtypes,
							   Datum *values, const char *nulls,
							   int expected_rows);
extern char *BacServiceOfSchema(const char *nspname);
extern char *BacSchemaOfService(const char *service);
extern void BacCheckServicePrivilege(const char *service, const char *action);

/*
 * links.c: checking links.
 *
 * BacCheckLinks(service_names) checks every link of bac.links (declared
 * and discovered) whose from_service or to_service is in service_names
 * (a List of char *; NIL means every link) and returns a List of
 * BacLinkCheck *, in the order of bac.check_links: declared links first,
 * then by link name.  All counts are read under one fresh snapshot taken
 * after a CommandCounterIncrement, so the caller's own earlier changes in
 * its transaction are seen.  It checks no privilege of its own beyond the
 * SELECT privileges the counting queries need (the caller must have done
 * BacCheckServicePrivilege or equivalent).  It must be called inside a
 * transaction; it connects to SPI itself and allocates the results in the
 * caller's memory context.
 *
 *   broken:   referencing rows with no NULL in the referencing columns
 *             whose key is not found in the target table.
 *   orphaned: target rows (with no NULL key column) that no row refers to;
 *             computed only when orphans_matter, else orphans_checked is
 *             false and orphaned is 0 (SQL shows NULL).
 *   sample:   up to BAC_LINK_SAMPLES smallest distinct broken keys, then up to as
 *             many orphaned keys ("broken: 7, 9; orphaned: 3"), NULL if
 *             nothing was found; when the link cannot be checked (a table
 *             or column no longer exists, no equality operator) counts
 *             are unknown (checked = false) and sample says why.
 */
#define BAC_LINK_SAMPLES 5

typedef struct BacLinkCheck
{
	char	   *link;
	char	   *from_service;
	char	   *to_service;
	bool		declared;		/* false: discovered foreign key */
	bool		checked;		/* false: could not be checked, see sample */
	int64		broken;
	bool		orphans_checked;
	int64		orphaned;
	char	   *sample;			/* NULL when nothing to show */
} BacLinkCheck;

extern List *BacCheckLinks(List *service_names);

/*
 * ddl.c: a schema's definition as SQL scripts, captured from the catalogs.
 *
 * The scripts are relocatable: they are deparsed with search_path set to
 * the schema alone, so the schema's own objects come out unqualified and
 * objects of other schemas qualified.  They are run with search_path set to
 * the target schema (which must exist; CREATE SCHEMA is not in them).
 * Statements about the schema itself (owner, comment, grants, default
 * privileges) name it through current_schema(), so they follow the
 * scripts to whatever schema they are run in.
 */
typedef struct BacSchemaDDL
{
	char	   *pre_data;		/* types, tables, sequences, functions, views */
	char	   *post_data;		/* indexes, constraints, triggers, policies,
								 * setval, matview refresh, grants */
	List	   *tables;			/* Oids of the relations whose rows are data,
								 * in the order to load them */
	List	   *extensions;		/* char * names of extensions the scripts
								 * need */
	List	   *uncaptured;		/* char * descriptions of objects that could
								 * not be captured */
} BacSchemaDDL;

extern BacSchemaDDL *BacCaptureSchemaDDL(Oid nspoid);

/* ddl_catalog.c: the catalog queries behind BacCaptureSchemaDDL */
extern const char *const bac_ddl_item_queries[];
extern const char bac_ddl_alias_query[];
extern const char bac_ddl_extension_query[];
extern const char bac_ddl_uncaptured_query[];

/* archive.c */

/*
 * The archive format v1 contract (manifest.json) is documented at the top of
 * src/archive.c.  Paths in a manifest are relative to the snapshot
 * directory; snapshot ids match BAC_SNAPSHOT_ID_PATTERN and are the only
 * user input that ever becomes a path component (after validation).
 */
#define BAC_SNAPSHOT_ID_PATTERN "YYYYMMDDTHHMMSS.ffffffZ"
#define BAC_SNAPSHOT_ID_LEN		23

typedef enum BacCompression
{
	BAC_COMPRESSION_NONE,
	BAC_COMPRESSION_ZSTD,
	BAC_COMPRESSION_LZ4
} BacCompression;

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
	char	   *owner;			/* NULL if none */
	char	   *service_group;	/* NULL if none */
	char	   *pre_data;		/* relative path of pre-data.sql */
	char	   *post_data;		/* relative path of post-data.sql */
	List	   *tables;			/* BacManifestTable *, in load order */
	List	   *extensions;		/* char * */
	List	   *uncaptured;		/* char * */
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
	bool		in_recovery;
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
	List	   *files;			/* BacManifestFile *: every file but the
								 * manifest */
	Jsonb	   *json;			/* the whole manifest (links are in "links") */
} BacManifest;

/* result of checking one file against the manifest */
typedef struct BacVerifyResult
{
	char	   *file;
	bool		ok;
	char	   *detail;
} BacVerifyResult;

extern char *BacArchiveDirectory(bool create);
extern void BacCleanStaleTempDirs(const char *archive);
extern bool BacValidSnapshotId(const char *snapshot_id);
extern char *BacSnapshotDirectory(const char *snapshot_id);
extern BacManifest *BacReadManifest(const char *snapshot_id);
extern BacManifest *BacParseManifest(const char *directory, const char *json,
									 bool missing_ok);
extern List *BacVerifyFiles(BacManifest *manifest, List *paths);
extern void BacVerifyFilesOrError(BacManifest *manifest, List *paths);
extern void BacCheckSnapshotPrivilege(BacManifest *manifest,
									  const char *action);
extern bool BacMaySeeSnapshot(BacManifest *manifest);
extern const char *BacCompressionName(BacCompression c);
extern BacCompression BacCompressionFromName(const char *name);
extern void BacSha256Text(const char *data, size_t len, char *hex);
extern void BacSha256File(const char *path, char *hex, int64 *bytes);
extern void BacFsyncPath(const char *path, bool isdir);

/*
 * copy_out.c: the data path.  A data file is read back (decompressed when
 * needed) through a BacDataReader; restore feeds BeginCopyFrom's
 * data_source_cb from it.  A compressed file that ends inside a frame, or
 * has bytes after its last frame that are not a frame, is an ERROR naming
 * the file.  BacDataReaderCheckEnd errors if a consumer that stopped early
 * (COPY's end-of-data marker) left compressed bytes unread.
 */
typedef struct BacDataReader BacDataReader;

/* one unit of copying: a whole table, or a TID-range slice (sql != NULL) */
typedef struct BacCopyTask
{
	Oid			relid;
	int			table_index;	/* caller's table number */
	char	   *sql;			/* SELECT for a slice, NULL for the table */
	char	   *path;			/* absolute path of the output file */
	int64		size_hint;		/* blocks, to hand out big tasks first */
	/* results */
	bool		reported;
	uint64		rows;
	int64		bytes;
	int64		raw_bytes;
	char		sha256[65];
} BacCopyTask;

typedef void (*BacTableDoneCallback) (int table_index, void *arg);

extern void BacRunCopyTasks(BacCopyTask *tasks, int ntasks, int ntables,
							int workers, BacCompression compression,
							List *preheld,
							BacTableDoneCallback cb, void *arg);
extern void BacReleaseRelationLocks(Oid relid, List *preheld);
extern void BacWriteAll(int fd, const char *path, const void *buf, size_t len);

extern BacDataReader *BacDataReaderOpen(const char *path,
										BacCompression compression);
extern size_t BacDataReaderRead(BacDataReader *reader, void *buf, size_t len);
extern void BacDataReaderCheckEnd(BacDataReader *reader);
extern void BacDataReaderClose(BacDataReader *reader);

/* snapshot.c */

/* restore.c, copy_in.c: restore services from a snapshot */
extern uint64 BacCopyIn(Oid relid, const char *path, BacCompression compression,
						const char *encoding, bool freeze, bool *frozen);

/* export.c: bac.export(), a snapshot's service as a plain SQL script */
extern List *BacExportScriptTables(const char *pre_data);
extern char *BacExportCopyTarget(const char *schema, const char *table,
								 List *tables);

#endif							/* PG_BAC_H */
