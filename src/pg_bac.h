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

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/relcache.h"
#include "storage/block.h"
#include "storage/itemptr.h"

#define PG_BAC_VERSION			"0.2"
#define PG_BAC_ARCHIVE_FORMAT	1

/* pg_bac.c: settings and helpers every subsystem uses */
extern char *bac_archive_directory;
extern int	bac_restore_maintenance_work_mem;

/* bac.restore_maintenance_work_mem's default, kB: 0 leaves maintenance_work_mem */
#define BAC_RESTORE_MWM_DEFAULT		0

extern bool BacMayActOnSchema(Oid nspoid);
extern void BacRequireSuperuser(const char *function, const char *what);
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
 * Registry reads go through BacRegistryQuery, which runs one statement as
 * the owner of the registry tables (the extension owner, BacExtensionOwner):
 * callers must have checked the caller's rights first.  registry.c alone
 * writes the registry, serializing every change (register, unregister,
 * add_link, drop_link) with a lock.
 */
extern int	BacPinSearchPath(void);
extern Oid	BacExtensionOwner(void);
extern int	BacRegistryQuery(const char *sql, int nargs, Oid *argtypes,
							 Datum *values, const char *nulls);
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
	bool		lost;			/* BacCheckLinksRemapped, one side of the
								 * link replaced: broken (the referenced side
								 * replaced) or orphaned (the referencing
								 * side) counts only the rows of the other
								 * side that matched the replaced table and
								 * match nothing in its replacement */
	char	   *from_schema;	/* the tables checked (after remapping): */
	char	   *from_table;		/* schema and name, NULL when the table */
	char	   *to_schema;		/* does not exist */
	char	   *to_table;
} BacLinkCheck;

/*
 * BacCheckLinksRemapped is BacCheckLinks with the tables of some schemas
 * replaced by the tables of the same names in other schemas (the restore's
 * report checks the restored copy in place of the live tables); quiet
 * gives no WARNING and no samples.  For a link with only one side
 * replaced, the counts over the other side's rows are the rows the
 * replacement breaks or orphans (lost): see BacLinkCheck.lost.
 */
typedef struct BacSchemaRemap
{
	char	   *from;			/* a link's table in this schema ... */
	char	   *to;				/* ... is checked as the same-named table of
								 * this one */
} BacSchemaRemap;

/*
 * How a link compares its columns, as a foreign key between them would
 * (BacLinkComparison): the referencing column OPERATOR(opno) the key
 * column, both cast to cast_to when it is valid.  bac.add_link accepts
 * exactly the column types a foreign key accepts.
 */
typedef struct BacLinkCompare
{
	Oid			opno;			/* btree equality operator */
	Oid			cast_to;		/* InvalidOid: no cast */
} BacLinkCompare;

extern List *BacCheckLinks(List *service_names);
/*
 * BacLinksKnownChanges tells BacCheckLinksRemapped which rows of a
 * replaced table (relid, in a schema a remap replaces) are not, unchanged,
 * in its replacement: every other row is (report_xmin.c found them older
 * than the snapshot).  The keys the replacement lacks are then looked for
 * among those rows only.  Remembered (copied) until BacLinksForgetChanges.
 */
extern void BacLinksKnownChanges(Oid relid, ItemPointerData *tids, int64 n);
extern void BacLinksForgetChanges(void);
extern List *BacCheckLinksRemapped(List *service_names, List *remaps,
								   bool quiet);
extern bool BacLinkComparison(Oid ftype, Oid ttype, BacLinkCompare *cmp);

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
/* an extension the captured scripts need or create */
typedef struct BacExtensionInfo
{
	char	   *name;
	char	   *version;		/* installed version at capture time */
	char	   *schema;			/* the schema it is installed in */
	bool		in_service_schema;	/* that schema is the captured one */
	bool		relocatable;	/* ALTER EXTENSION ... SET SCHEMA works */
} BacExtensionInfo;

typedef struct BacSchemaDDL
{
	char	   *pre_data;		/* types, tables, sequences, functions, views */
	char	   *post_data;		/* indexes, constraints, triggers, policies,
								 * setval, matview refresh, grants */
	List	   *tables;			/* Oids of the relations whose rows are data,
								 * in the order to load them */
	List	   *extensions;		/* char * names of extensions the scripts
								 * need */
	List	   *extension_info; /* BacExtensionInfo * of the same, in the
								 * same order */
	char	   *extension_sql;	/* the statements that create them (part of
								 * pre_data) */
	char	   *nspname;		/* the captured schema */
	List	   *uncaptured;		/* char * descriptions of objects that could
								 * not be captured */
	List	   *pre_order;		/* where each item of pre_data begins and its
								 * place in the capture's one order: ints,
								 * byte offset then position, per item */
	List	   *post_order;		/* the same for post_data */
} BacSchemaDDL;

/* several schemas captured in one dependency order */
typedef struct BacGroupDDL
{
	List	   *schemas;		/* BacSchemaDDL *, in the order given */
	char	   *pre_data;		/* every schema's pre-data in one order, with
								 * search_path switches (the real names) */
	char	   *post_data;		/* the same for post-data */
} BacGroupDDL;

extern BacSchemaDDL *BacCaptureSchemaDDL(Oid nspoid);
extern BacGroupDDL *BacCaptureGroupDDL(List *nspoids);

/*
 * The contract between the DDL capture (ddl_catalog.c writes it) and the
 * restore (restore_script.c reads it): a statement about the schema itself
 * (owner, comment, grants, default privileges) is captured as
 *
 *	DO $bac$BEGIN EXECUTE pg_catalog.format('<statement>',
 *		pg_catalog.current_schema()); END$bac$;
 *
 * on one line, <statement> naming the schema as %I or %1$I (and writing a
 * literal % as %%), so that it follows the script into whatever schema it
 * is run in.  The restore takes <statement> back out of the DO block's
 * body (BAC_SCHEMA_DO_BODY_START, the literal, BAC_SCHEMA_DO_BODY_END) to
 * find the roles it names.
 */
#define BAC_SCHEMA_DO_QUOTE			"$bac$"
#define BAC_SCHEMA_DO_BODY_START	"BEGIN EXECUTE pg_catalog.format("
#define BAC_SCHEMA_DO_BODY_END		", pg_catalog.current_schema()); END"

/* ddl_catalog.c: the catalog queries behind BacCaptureSchemaDDL */
extern const char *const bac_ddl_item_queries[];
extern const char bac_ddl_alias_query[];
extern const char bac_ddl_extension_query[];
extern const char bac_ddl_server_query[];
extern const char bac_ddl_uncaptured_query[];

/*
 * archive.c: the archive directory.  Paths in a manifest are relative to
 * the snapshot directory; snapshot ids match BAC_SNAPSHOT_ID_PATTERN and
 * are the only user input that ever becomes a path component (after
 * validation).  The manifest itself: manifest.h.
 */
#define BAC_SNAPSHOT_ID_PATTERN "YYYYMMDDTHHMMSS.ffffffZ"
#define BAC_SNAPSHOT_ID_LEN		23

extern char *BacArchiveDirectory(bool create);
extern bool BacValidSnapshotId(const char *snapshot_id);
extern char *BacSnapshotIdAt(TimestampTz ts);
extern char *BacSchemaDirName(const char *schema, int n);
extern char *BacSnapshotDirectory(const char *snapshot_id);
extern void BacFsyncPath(const char *path, bool isdir);
extern void BacMakeDir(const char *path);
extern void BacWriteNewFile(const char *path, const char *data, size_t len);
extern char *BacReadWholeFile(const char *path, const char *what,
							  bool missing_ok, size_t *len);

/*
 * datafile.c: the data files.  A data file is read back (decompressed when
 * needed) through a BacDataReader; restore feeds BeginCopyFrom's
 * data_source_cb from it, export its lines.  A compressed file that ends
 * inside a frame, or has bytes after its last frame that are not a frame,
 * is an ERROR naming the file.  BacDataReaderCheckEnd errors if a consumer
 * that stopped early (COPY's end-of-data marker) left compressed bytes
 * unread.
 */
typedef enum BacCompression
{
	BAC_COMPRESSION_NONE,
	BAC_COMPRESSION_ZSTD,
	BAC_COMPRESSION_LZ4
} BacCompression;

typedef struct BacDataReader BacDataReader;

extern const char *BacCompressionName(BacCompression c);
extern BacCompression BacCompressionFromName(const char *name);
extern bool BacCompressionKnown(const char *name, BacCompression *c);
extern const char *BacCompressionExtension(BacCompression c);
extern void BacWriteAll(int fd, const char *path, const void *buf, size_t len);
extern void BacDataFileFinish(const char *rawpath, const char *path,
							  BacCompression comp, char *hex, int64 *bytes,
							  int64 *raw_bytes);
extern BacDataReader *BacDataReaderOpen(const char *path,
										BacCompression compression);
extern size_t BacDataReaderRead(BacDataReader *reader, void *buf, size_t len);
extern void BacDataReaderCheckEnd(BacDataReader *reader);
extern void BacDataReaderClose(BacDataReader *reader);

/* copy_out.c: parallel COPY TO of a snapshot's tables and slices */

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
extern char *BacCopySliceQuery(Relation rel, BlockNumber nblocks, int k,
							   int nslices);

/* copy_in.c: load one data file into a table (restore) */
extern uint64 BacCopyIn(Oid relid, const char *path, BacCompression compression,
						const char *encoding, bool freeze, bool *frozen);

/* export.c: bac.export(), a snapshot's service as a plain SQL script */
extern List *BacExportScriptTables(const char *pre_data);
extern void BacExportSettings(StringInfo s, const char *client_encoding);
extern char *BacExportCopyTarget(const char *schema, const char *table,
								 List *tables);

#endif							/* PG_BAC_H */
