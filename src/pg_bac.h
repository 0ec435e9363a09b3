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

/* registry.c */

/* links.c */

/* ddl.c */

/* archive.c */

/* snapshot.c */

/* restore.c */

/* export.c */

#endif							/* PG_BAC_H */
