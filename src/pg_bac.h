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

/* snapshot.c */

/* restore.c */

/* export.c */

#endif							/* PG_BAC_H */
