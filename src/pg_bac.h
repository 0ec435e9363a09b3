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

#define PG_BAC_VERSION			"0.1"
#define PG_BAC_ARCHIVE_FORMAT	1

/* pg_bac.c: settings and helpers every subsystem uses */
extern char *bac_archive_directory;

extern void BacCheckSchemaPrivilege(Oid nspoid, const char *action);
extern Oid	BacSchemaOid(const char *nspname, bool missing_ok);

/*
 * registry.c: the registry lives in table bac.service
 *   (service name PRIMARY KEY, schema_name name NOT NULL UNIQUE,
 *    owner regrole, service_group name, registered_at timestamptz)
 * and links in bac.link; views bac.services and bac.links show them.
 */

/* links.c */

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

/* archive.c */

/* snapshot.c */

/* restore.c, copy_in.c: restore services from a snapshot */
typedef enum BacCompression
{
	BAC_COMPRESSION_NONE,
	BAC_COMPRESSION_ZSTD,
	BAC_COMPRESSION_LZ4
} BacCompression;

extern uint64 BacCopyIn(Oid relid, const char *path, BacCompression compression,
						const char *encoding, bool freeze, bool *frozen);

/* export.c */

#endif							/* PG_BAC_H */
